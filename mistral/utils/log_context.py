"""Execution, task and action ids in log lines.

The ids live in context variables, set for the duration of an engine
request or an action run with :func:`bind`. Every log record gets them as
attributes (a log record factory, so any handler and formatter sees them):

* ``%(execution_id)s``, ``%(task_id)s``, ``%(action_execution_id)s``
  (``-`` when unknown), for operators' own format strings;
* ``%(mistral_ids)s``: ``[wf=... task=... action=...] `` with the known
  ones, or nothing; oslo.log's default format strings show it before the
  message (see :func:`install`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from typing import Any, Callable, Iterator, TypeVar

from oslo_config import cfg

FIELDS = ('execution_id', 'task_id', 'action_execution_id')
_LABELS = (('execution_id', 'wf'), ('task_id', 'task'),
           ('action_execution_id', 'action'))

_VARS = {f: contextvars.ContextVar('mistral_log_' + f, default=None)
         for f in FIELDS}
# True inside bind(): setdefault() outside one would stick to the thread
# and label its later, unrelated lines.
_BOUND = contextvars.ContextVar('mistral_log_bound', default=False)

# oslo.log's defaults with the ids before the message.
CONTEXT_FORMAT = ('%(asctime)s.%(msecs)03d %(process)d %(levelname)s '
                  '%(name)s [%(global_request_id)s %(request_id)s '
                  '%(user_identity)s] %(instance)s%(mistral_ids)s'
                  '%(message)s')
DEFAULT_FORMAT = ('%(asctime)s.%(msecs)03d %(process)d %(levelname)s '
                  '%(name)s [-] %(instance)s%(mistral_ids)s%(message)s')


@contextlib.contextmanager
def bind(**ids: str | None) -> Iterator[None]:
    """Set the given ids (``execution_id``, ``task_id``,
    ``action_execution_id``) until the block ends; ``None`` ones are left
    as they are."""
    unknown = set(ids) - set(_VARS)
    if unknown:
        raise TypeError('unknown log context ids: %s' % sorted(unknown))
    # Every variable gets a token, the unchanged ones too: resetting them
    # all undoes whatever setdefault() added inside the block.
    tokens = [(var, var.set(ids[f] if ids.get(f) is not None
                            else var.get()))
              for f, var in _VARS.items()]
    tokens.append((_BOUND, _BOUND.set(True)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def setdefault(**ids: str | None) -> None:
    """Set ids that are not known yet (an engine request learns the
    execution id of a workflow it starts) until the enclosing :func:`bind`
    ends; outside one it does nothing."""
    if not _BOUND.get():
        return
    for k, v in ids.items():
        var = _VARS[k]
        if v is not None and var.get() is None:
            var.set(v)


def current() -> dict[str, str | None]:
    return {f: v.get() for f, v in _VARS.items()}


def prefix() -> str:
    """``[wf=... task=... action=...] `` with the known ids, or ''."""
    parts = ['%s=%s' % (label, _VARS[f].get()) for f, label in _LABELS
             if _VARS[f].get() is not None]
    return '[%s] ' % ' '.join(parts) if parts else ''


F = TypeVar('F', bound=Callable[..., Any])


def for_action(func: F) -> F:
    """Executor ``run_action(self, ctx, action_ex_id, ..., exec_ctx=...)``:
    its log lines carry the action's and, from ``exec_ctx``, its
    workflow's and task's ids."""
    @functools.wraps(func)
    def wrapper(self: Any, ctx: Any, action_ex_id: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        exec_ctx = kwargs.get('exec_ctx')
        if not isinstance(exec_ctx, dict):
            exec_ctx = {}
        with bind(execution_id=exec_ctx.get('workflow_execution_id'),
                  task_id=exec_ctx.get('task_execution_id'),
                  action_execution_id=action_ex_id):
            return func(self, ctx, action_ex_id, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


_installed = False


def install(conf: cfg.ConfigOpts | None = None) -> None:
    """Give every log record the ids, and make them part of oslo.log's
    default format strings (an operator's own strings win). Idempotent."""
    global _installed
    if not _installed:
        _installed = True
        base = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = base(*args, **kwargs)
            for f, var in _VARS.items():
                setattr(record, f, var.get() or '-')
            record.mistral_ids = prefix()
            return record

        logging.setLogRecordFactory(factory)
    if conf is not None:
        conf.set_default('logging_context_format_string', CONTEXT_FORMAT)
        conf.set_default('logging_default_format_string', DEFAULT_FORMAT)
