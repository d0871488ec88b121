"""Execution states and the transition table (checklist rows 164-165)."""

from __future__ import annotations

import itertools

from mistral.workflow import states

# The table of the reference (section 5): from -> allowed targets.
TABLE = {
    'IDLE': {'RUNNING', 'ERROR', 'CANCELLED'},
    'WAITING': {'RUNNING'},
    'RUNNING': {'PAUSED', 'DELAYED', 'SUCCESS', 'ERROR', 'CANCELLED'},
    'DELAYED': {'RUNNING', 'ERROR', 'CANCELLED'},
    'PAUSED': {'RUNNING', 'ERROR', 'CANCELLED'},
    'SUCCESS': set(),
    'CANCELLED': {'RUNNING'},
    'ERROR': {'RUNNING', 'SKIPPED'},
    'SKIPPED': set(),
}


def test_state_values_are_the_wire_values():
    assert states.ALL == ('IDLE', 'WAITING', 'RUNNING', 'DELAYED', 'PAUSED',
                          'SUCCESS', 'CANCELLED', 'ERROR', 'SKIPPED')
    assert states.RUNNING_DELAYED == 'DELAYED'
    assert all(states.is_valid(s) for s in states.ALL)
    assert not states.is_valid('RUNNING_DELAYED')
    assert not states.is_valid('running')


def test_every_pair_follows_the_table():
    for src, dst in itertools.product(states.ALL, repeat=2):
        allowed = src == dst or dst in TABLE[src]
        assert states.is_valid_transition(src, dst) is allowed, (src, dst)


def test_completed_terminal_and_running_groups():
    assert states.COMPLETED == {'SUCCESS', 'ERROR', 'CANCELLED', 'SKIPPED'}
    assert states.TERMINAL == {'SUCCESS', 'ERROR', 'CANCELLED'}
    assert [s for s in states.ALL if states.is_running(s)] == [
        'RUNNING', 'DELAYED']
    assert [s for s in states.ALL if states.is_paused_or_completed(s)] == [
        'PAUSED', 'SUCCESS', 'CANCELLED', 'ERROR', 'SKIPPED']
