"""How data flows between tasks (pure).

A task sees, first hit wins: its own execution (``__task_execution``), the
environment (``__env``), extra variables (with-items), its inbound context
(what upstream tasks published along the transitions that led to it), the
workflow context (vars, global publishes, ``__execution``) and finally the
workflow input. Views are chained, never copied, so a large workflow context
is not duplicated per task.
"""

from __future__ import annotations

import collections
import copy
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from mistral.utils import dicts

# Keys the engine puts into contexts that are not user data.
INTERNAL_KEYS = frozenset(('__task_execution', '__env', '__execution',
                           '__versions'))


class ContextView(collections.ChainMap[str, Any]):
    """Read-only chained view over several dicts (first hit wins)."""

    if TYPE_CHECKING:
        # ChainMap's own __init__ runs; unlike ChainMap, a read-only view
        # takes read-only maps.
        def __init__(self, *maps: Mapping[str, Any]) -> None: ...

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError('ContextView is read-only')

    def __delitem__(self, key: str) -> None:
        raise TypeError('ContextView is read-only')

    def to_dict(self) -> dict[str, Any]:
        """A flat copy (only for results that leave the engine)."""
        out: dict[str, Any] = {}
        for m in reversed(self.maps):
            out.update(m)
        return out


def task_view(*, task_ex: Mapping[str, Any] | None, env: Mapping[str, Any],
              in_context: Mapping[str, Any], wf_context: Mapping[str, Any],
              wf_input: Mapping[str, Any],
              extra: Mapping[str, Any] | None = None) -> ContextView:
    """Expression context of a task (input, publish, transitions)."""
    head: dict[str, Any] = {'__env': env}
    if task_ex is not None:
        head['__task_execution'] = dict(task_ex)
    maps: list[Mapping[str, Any]] = [head]
    if extra:
        maps.append(extra)
    maps += [in_context, wf_context, wf_input]
    return ContextView(*maps)


def workflow_view(*, final_context: Mapping[str, Any], env: Mapping[str, Any],
                  wf_context: Mapping[str, Any],
                  wf_input: Mapping[str, Any]) -> ContextView:
    """Expression context of a workflow's output."""
    return ContextView(final_context, {'__env': env}, wf_context, wf_input)


def merge_into(target: dict[str, Any], published: Mapping[str, Any],
               strategy: str = 'replace') -> dict[str, Any]:
    """Add published variables to a context.

    ``replace`` updates top-level keys; ``merge`` merges nested dicts.
    """
    if strategy == 'merge':
        dicts.deep_merge(target, published)
    else:
        target.update(published)
    return target


def outbound_context(in_context: Mapping[str, Any],
                     published: Mapping[str, Any] | None,
                     strategy: str = 'replace',
                     defaults: Mapping[str, Any] | None = None
                     ) -> dict[str, Any]:
    """What a task passes on: its inbound context plus what it published.

    With the ``merge`` strategy a published dict merges into the value it
    shadows — from the inbound context, or else from ``defaults`` (the
    workflow's input and variables).
    """
    out = dict(in_context)
    if published:
        if strategy == 'merge' and defaults:
            for key, value in published.items():
                if key not in out and isinstance(value, Mapping) and \
                        isinstance(defaults.get(key), Mapping):
                    out[key] = copy.deepcopy(dict(defaults[key]))
        merge_into(out, published, strategy)
    return out


def merge_end_contexts(contexts: Iterable[Mapping[str, Any]],
                       strategy: str = 'replace') -> dict[str, Any]:
    """The final context of a direct workflow: the merged outbound
    contexts of the tasks that ended their branches (later wins)."""
    final: dict[str, Any] = {}
    for ctx in contexts:
        merge_into(final, ctx, strategy)
    return strip_internal(final)


def strip_internal(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in INTERNAL_KEYS}


def with_published_global(context: Mapping[str, Any] | None,
                          runtime_context: Mapping[str, Any] | None,
                          published_global: Mapping[str, Any]
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A workflow's context and runtime context once a task published
    ``published_global``: the values replace those of the same names in
    its context, and are added to what its tasks published globally so
    far (``runtime_context['published_global']``). New dicts: a JSON
    column is written by assigning a new value."""
    rc = dict(runtime_context or {})
    rc['published_global'] = {**rc.get('published_global', {}),
                              **published_global}
    return {**(context or {}), **published_global}, rc
