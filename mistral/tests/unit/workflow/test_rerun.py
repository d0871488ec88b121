"""Rerun/skip preconditions and the env update (pure)."""

from __future__ import annotations

import pytest

from mistral import exceptions as exc
from mistral.workflow import rerun

TID = '8a2c4f0e-1b3d-4e5f-8a9b-0c1d2e3f4a5b'
WITH_ITEMS = {'with_items': {'capacity': 2}}


def test_env_must_be_an_object():
    rerun.check_env(None)
    rerun.check_env({})
    for bad in (5, 'x', [1], True):
        with pytest.raises(exc.InputException) as e:
            rerun.check_env(bad)
        assert str(e.value) == 'The env must be a JSON object.'


@pytest.mark.parametrize('state', ['IDLE', 'PAUSED', 'ERROR'])
def test_env_update_allowed(state):
    rerun.check_env_update(state)


@pytest.mark.parametrize('state', ['RUNNING', 'SUCCESS', 'CANCELLED'])
def test_env_update_refused(state):
    with pytest.raises(exc.NotAllowedException) as e:
        rerun.check_env_update(state)
    assert str(e.value) == (
        'Updating env to workflow execution is only permitted if it is in '
        'IDLE, PAUSED, or ERROR state.')


def test_params_with_env_merges_nested_and_copies():
    params = {'namespace': 'ns', 'env': {'a': {'x': 1, 'y': 2}, 'b': 1}}
    new = rerun.params_with_env(params, {'a': {'y': 3}, 'c': [1]})
    assert new == {'namespace': 'ns',
                   'env': {'a': {'x': 1, 'y': 3}, 'b': 1, 'c': [1]}}
    # Neither input changes.
    assert params == {'namespace': 'ns',
                      'env': {'a': {'x': 1, 'y': 2}, 'b': 1}}
    assert rerun.params_with_env(None, {'k': 1}) == {'env': {'k': 1}}
    assert rerun.params_with_env({'env': None}, {'k': 1}) == {
        'env': {'k': 1}}


def test_rerun_of_a_failed_task():
    rerun.check_rerun(TID, 'ERROR', None, True)
    rerun.check_rerun(TID, 'ERROR', WITH_ITEMS, False)
    rerun.check_rerun(TID, 'ERROR', None, None, skip=True)


def test_reset_is_mandatory_for_a_rerun():
    with pytest.raises(exc.InputException) as e:
        rerun.check_rerun(TID, 'ERROR', None, None)
    assert str(e.value) == 'Reset field is mandatory to rerun task.'


def test_only_with_items_tasks_rerun_without_reset():
    with pytest.raises(exc.InputException) as e:
        rerun.check_rerun(TID, 'ERROR', {'retry_no': 1}, False)
    assert str(e.value) == (
        'Only with-items tasks can be rerun without reset '
        '[task_ex_id=%s]' % TID)


def test_engine_raises_its_own_class_with_the_same_wording():
    with pytest.raises(exc.WorkflowException) as e:
        rerun.check_rerun(TID, 'ERROR', None, False,
                          invalid=exc.WorkflowException)
    assert not isinstance(e.value, exc.InputException)
    assert 'Only with-items tasks can be rerun without reset' in str(
        e.value)


@pytest.mark.parametrize('skip', [False, True])
@pytest.mark.parametrize('state', ['RUNNING', 'SUCCESS', 'IDLE'])
def test_only_failed_tasks(state, skip):
    with pytest.raises(exc.WorkflowException) as e:
        rerun.check_rerun(TID, state, WITH_ITEMS, True, skip=skip)
    assert str(e.value) == (
        'Only tasks in ERROR state can be rerun or skipped '
        '[task_ex_id=%s, state=%s]' % (TID, state))


def test_reset_is_checked_before_the_state():
    # The API's order: a missing reset is reported first.
    with pytest.raises(exc.InputException):
        rerun.check_rerun(TID, 'SUCCESS', None, None)
