"""Execution/task/action ids in log lines."""

from __future__ import annotations

import logging
import threading

from oslo_config import cfg
from oslo_log import formatters

from mistral.utils import log_context

CONF = cfg.CONF


def _record(msg: str = 'hello') -> logging.LogRecord:
    return logging.getLogger('mistral.test').makeRecord(
        'mistral.test', logging.INFO, __file__, 1, msg, (), None)


def test_bind_sets_ids_for_the_block_only():
    with log_context.bind(execution_id='wf', task_id='t'):
        assert log_context.prefix() == '[wf=wf task=t] '
        with log_context.bind(action_execution_id='ax'):
            assert log_context.prefix() == '[wf=wf task=t action=ax] '
        assert log_context.current()['action_execution_id'] is None
    assert log_context.prefix() == ''


def test_setdefault_only_fills_unknown_ids_inside_a_bind():
    log_context.setdefault(execution_id='outside')
    assert log_context.current()['execution_id'] is None
    with log_context.bind(task_id='t'):
        log_context.setdefault(execution_id='wf', task_id='other')
        assert log_context.current() == {
            'execution_id': 'wf', 'task_id': 't',
            'action_execution_id': None}
    assert log_context.current()['execution_id'] is None


def test_ids_do_not_cross_threads():
    seen = []
    with log_context.bind(execution_id='wf'):
        t = threading.Thread(target=lambda: seen.append(log_context.prefix()))
        t.start()
        t.join()
    assert seen == ['']


def test_every_record_carries_the_ids():
    with log_context.bind(execution_id='wf-1', action_execution_id='ax-1'):
        rec = _record()
    assert rec.execution_id == 'wf-1'
    assert rec.task_id == '-'
    assert rec.action_execution_id == 'ax-1'
    assert rec.mistral_ids == '[wf=wf-1 action=ax-1] '
    assert _record().mistral_ids == ''


def test_oslo_log_default_formats_show_the_ids():
    assert '%(mistral_ids)s%(message)s' in (
        CONF.logging_default_format_string)
    assert '%(mistral_ids)s%(message)s' in (
        CONF.logging_context_format_string)
    fmt = formatters.ContextFormatter(config=CONF, project='mistral')
    with log_context.bind(execution_id='wf-2', task_id='t-2'):
        line = fmt.format(_record('task done'))
    # With or without a request context (another test may leave one).
    assert line.endswith('] [wf=wf-2 task=t-2] task done'), line
    assert fmt.format(_record('idle')).endswith('] idle')


def test_operators_format_strings_can_name_each_id(conf):
    for name in ('logging_default_format_string',
                 'logging_context_format_string'):
        conf(name, '%(execution_id)s/%(task_id)s %(message)s')
    fmt = formatters.ContextFormatter(config=CONF, project='mistral')
    with log_context.bind(execution_id='wf-3'):
        assert fmt.format(_record('x')) == 'wf-3/- x'
