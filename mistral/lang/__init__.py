"""Workflow language v2: parsing, validation and spec objects (pure).

Deliberate differences from upstream (for the documentation):

* Inline parameters: a bare word (``output=A``) is the string ``'A'``
  (upstream drops the parameter); ``{json objects}``, floats, negative
  numbers and commas between parameters are understood; the call form
  ``fail(msg="x")`` is parsed even without spaces.
* A task's plain ``publish`` and an on-clause's advanced ``publish`` are
  merged (upstream loses the plain one when the clause has no
  ``branch``); on-complete's publish is merged in too.
* Expressions are syntax-checked everywhere inside nested values, not
  only at the first level of a mapping; workflow input defaults are not
  checked (they are never evaluated).
* YAML timestamps stay strings, so parsed documents are always
  JSON-serialisable; anchors and aliases are refused.
* Validation messages are our own wording and name the workflow, task and
  keyword. ``Task '<name>' not found.`` matches upstream exactly.
"""

from mistral.lang.action_spec import ActionSpec
from mistral.lang.input_spec import input_string
from mistral.lang.parser import action_spec_from_dict
from mistral.lang.parser import parse_actions
from mistral.lang.parser import parse_inline_params
from mistral.lang.parser import parse_workbook
from mistral.lang.parser import parse_workflows
from mistral.lang.parser import parse_yaml
from mistral.lang.parser import workflow_spec_from_dict
from mistral.lang.task_spec import OnClause
from mistral.lang.task_spec import Policies
from mistral.lang.task_spec import PublishSpec
from mistral.lang.task_spec import RetrySpec
from mistral.lang.task_spec import TaskSpec
from mistral.lang.task_spec import Transition
from mistral.lang.workbook_spec import WorkbookSpec
from mistral.lang.workflow_spec import WorkflowSpec

__all__ = [
    'ActionSpec',
    'OnClause',
    'Policies',
    'PublishSpec',
    'RetrySpec',
    'TaskSpec',
    'Transition',
    'WorkbookSpec',
    'WorkflowSpec',
    'action_spec_from_dict',
    'input_string',
    'parse_actions',
    'parse_inline_params',
    'parse_workbook',
    'parse_workflows',
    'parse_yaml',
    'workflow_spec_from_dict',
]
