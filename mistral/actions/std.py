"""Standard actions (``std.*``) shipped with Mistral.

Each class is a plain ``mistral_lib.actions.Action``. The names and
defaults of ``__init__`` parameters are part of the public interface: the
API shows them as the action's ``input`` (for example ``output, delay=0``)
and the registry validates task input against them, so keep them stable.

The network actions live in their own modules and are re-exported here so
that every standard action can be addressed as ``mistral.actions.std:X``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from mistral_lib import actions

from mistral import exceptions
from mistral.actions.std_email import SendEmailAction
from mistral.actions.std_http import HTTPAction
from mistral.actions.std_http import MistralHTTPAction
from mistral.actions.std_js import JavaScriptAction
from mistral.actions.std_ssh import SSHAction
from mistral.actions.std_ssh import SSHProxiedAction

LOG = logging.getLogger(__name__)

__all__ = [
    'AsyncNoOpAction', 'EchoAction', 'FailAction', 'HTTPAction',
    'JavaScriptAction', 'MistralHTTPAction', 'NoOpAction', 'SSHAction',
    'SSHProxiedAction', 'SendEmailAction', 'SleepAction', 'TestDictAction',
    'BUILTIN_ACTIONS',
]


def _non_negative(value: Any, kind: type) -> Any:
    # Invalid or negative values mean "no wait" rather than an error, so a
    # typo in a test workflow does not fail it.
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return kind(0)
    return number if number > 0 else kind(0)


class NoOpAction(actions.Action):
    """Does nothing and returns no result.

    Handy as a placeholder task or as a join point in a workflow.
    """

    def run(self, context: Any) -> None:
        LOG.debug('Running std.noop')
        return None


class AsyncNoOpAction(NoOpAction):
    """Asynchronous no-operation action.

    Starts and stays RUNNING; its result is delivered later by updating
    the action execution through the API.
    """

    def is_sync(self) -> bool:
        return False


class EchoAction(actions.Action):
    """Returns the given output, optionally after a delay.

    Useful as a stub while designing a workflow and in tests.
    ``delay`` is in seconds; negative or invalid values mean no delay.
    """

    def __init__(self, output, delay=0):
        super().__init__()
        self.output = output
        self._delay = _non_negative(delay, float)

    def run(self, context: Any) -> Any:
        LOG.debug('Running std.echo [delay=%s]', self._delay)
        if self._delay:
            time.sleep(self._delay)
        return self.output


class FailAction(actions.Action):
    """Always fails.

    With ``error_data`` the action fails with that value as its error
    result, so workflows can inspect it in on-error handlers; without it
    the action raises an exception.
    """

    def __init__(self, error_data=None):
        super().__init__()
        self.error_data = error_data

    def __repr__(self) -> str:
        # This text appears in task state_info when the action raises.
        return 'Fail action'

    def run(self, context: Any) -> actions.Result:
        if self.error_data:
            return actions.Result(error=self.error_data)
        raise exceptions.ActionException('Fail action expected exception.')


class SleepAction(actions.Action):
    """Sleeps for the given number of whole seconds and returns nothing."""

    def __init__(self, seconds=1):
        super().__init__()
        self._seconds = _non_negative(seconds, int)

    def run(self, context: Any) -> None:
        if self._seconds:
            time.sleep(self._seconds)
        return None


class TestDictAction(actions.Action):
    """Builds a dictionary of ``size`` entries for testing.

    Keys are ``key_prefix`` followed by the index, every value is ``val``.
    """

    # Keep pytest from collecting this class as a test case.
    __test__ = False

    def __init__(self, size=0, key_prefix='', val=''):
        super().__init__()
        self.size = size
        self.key_prefix = key_prefix
        self.val = val

    def run(self, context: Any) -> dict[str, Any]:
        return {'%s%s' % (self.key_prefix, i): self.val
                for i in range(int(self.size))}


# Name -> class of the actions this package provides. It mirrors the
# "mistral.actions" section of setup.cfg (a unit test keeps them in sync)
# and is used when running from a source tree where the package's entry
# points are not installed.
BUILTIN_ACTIONS: dict[str, type[actions.Action]] = {
    'std.async_noop': AsyncNoOpAction,
    'std.echo': EchoAction,
    'std.email': SendEmailAction,
    'std.fail': FailAction,
    'std.http': HTTPAction,
    'std.javascript': JavaScriptAction,
    'std.js': JavaScriptAction,
    'std.mistral_http': MistralHTTPAction,
    'std.noop': NoOpAction,
    'std.sleep': SleepAction,
    'std.ssh': SSHAction,
    'std.ssh_proxied': SSHProxiedAction,
    'std.test_dict': TestDictAction,
}
