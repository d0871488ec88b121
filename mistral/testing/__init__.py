"""Testing workflows without servers.

Run a workflow or workbook definition in memory, on the real engine, with
mocked action results and a fake clock, then look at what it did::

    from mistral.testing import rehearse, error

    out = rehearse(WF_TEXT, {'name': 'x'},
                   mocks={'fetch': {'id': 7}, 'notify': error('down')})
    assert out.task_names == ['fetch', 'notify', 'report']
    assert out.state == 'ERROR'

* :func:`rehearse` runs once and returns an :class:`Outcome`;
* :class:`Rehearsal` keeps the execution open for more steps (advance
  the clock, complete a pending action, pause, resume);
* mocks: a value, :func:`error`, :func:`sequence`, :data:`PENDING`,
  :data:`REAL`, or a function of an :class:`ActionCall`;
* the ``rehearsal`` pytest fixture and the ``mistral-rehearse`` command
  are built on the same API.

Guide: doc/source/user/testing-workflows.rst. :class:`Harness` is the
deterministic engine harness underneath (for engine tests).
"""

from mistral.testing._harness import ActionCall
from mistral.testing._harness import FakeClock
from mistral.testing._harness import Harness
from mistral.testing._harness import HarnessError
from mistral.testing._kit import PENDING
from mistral.testing._kit import REAL
from mistral.testing._kit import Outcome
from mistral.testing._kit import Rehearsal
from mistral.testing._kit import TaskRun
from mistral.testing._kit import error
from mistral.testing._kit import mock_answers
from mistral.testing._kit import rehearse
from mistral.testing._kit import sequence

__all__ = ['ActionCall', 'FakeClock', 'Harness', 'HarnessError', 'Outcome',
           'PENDING', 'REAL', 'Rehearsal', 'TaskRun', 'error',
           'mock_answers', 'rehearse', 'sequence']
