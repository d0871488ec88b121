"""Entry points: YAML text -> validated spec objects."""

from __future__ import annotations

from typing import Any

from mistral import exceptions as exc
from mistral.lang import checks
from mistral.lang import definition_cut
from mistral.lang import inline_params
from mistral.lang import safe_yaml
from mistral.lang import schemas
from mistral.lang.action_spec import ActionSpec
from mistral.lang.workbook_spec import WorkbookSpec
from mistral.lang.workflow_spec import WorkflowSpec


def parse_yaml(text: str) -> Any:
    """Hardened YAML parse (see :mod:`mistral.lang.safe_yaml`)."""
    return safe_yaml.load(text)


def parse_inline_params(text: str) -> tuple[str, dict[str, Any]]:
    return inline_params.parse_inline_params(text)


def _is_number(value: Any) -> bool:
    # bool is an int subclass; 'version: true' is no number.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_version_two(value: Any) -> bool:
    """Whether a workbook's ``version`` reads as 2.0: a number or a
    numeric string equal to 2 (``'2.0'``, ``2``, ``'2'``, ``'2e0'``), as
    upstream converts it with ``float``."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    try:
        return float(value) == 2.0
    except ValueError:
        return False


def _check_item_file_version(data: dict[str, Any], kind: str) -> None:
    """Workflow and action files: upstream requires the key and checks
    only its type (any non-empty string or number >= 0 is stored and
    runs as the one language version there is)."""
    version = data['version']
    if isinstance(version, str) and version:
        return
    if _is_number(version) and version >= 0:
        return
    raise exc.InvalidModelException(
        f"Invalid DSL: the {kind} definition's 'version' must be a "
        f'non-empty string or a number >= 0, got {version!r}.')


def _check_workbook_version(data: dict[str, Any]) -> None:
    version = data.get('version', '2.0')
    if not is_version_two(version):
        raise exc.DSLParsingException(
            f'Unsupported DSL version [version={version!r}]; a workbook '
            "must have version '2.0'.")


def _document(text: str, kind: str, validate: bool = True
              ) -> dict[str, Any]:
    data = parse_yaml(text)

    if not isinstance(data, dict):
        raise exc.DSLParsingException(
            f'Invalid DSL: a {kind} definition must be a YAML mapping, '
            f'got {type(data).__name__}.')

    # Upstream's schema makes the key mandatory in every validated
    # document (a parse without validation defaults it to 2.0).
    if validate and 'version' not in data:
        raise exc.InvalidModelException(
            f"Invalid DSL: the {kind} definition has no 'version' key "
            "(it is required; add version: '2.0').")

    if kind == 'workbook':
        _check_workbook_version(data)
    elif validate:
        _check_item_file_version(data, kind)

    return data


def _items(data: dict[str, Any], kind: str) -> dict[str, Any]:
    items = {k: v for k, v in data.items() if k != 'version'}

    if not items:
        raise exc.InvalidModelException(
            f'Invalid DSL: the document defines no {kind}.')

    for name, value in items.items():
        if not isinstance(value, dict) or not value:
            raise exc.InvalidModelException(
                f"Invalid DSL ({kind} '{name}'): the definition must be a "
                'non-empty mapping.')

    return items


def _named(name: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {**value, 'name': str(name), 'version': '2.0'}


def parse_workflows(text: str, validate: bool = True) -> list[WorkflowSpec]:
    """A workflow file: ``version`` plus one key per workflow."""
    data = _document(text, 'workflow', validate)
    items = _items(data, 'workflow')
    single = len(items) == 1

    return [
        WorkflowSpec(_named(name, raw), validate,
                     definition=text if single else None)
        for name, raw in items.items()
    ]


def parse_actions(text: str, validate: bool = True) -> list[ActionSpec]:
    """An ad-hoc action file: ``version`` plus one key per action."""
    data = _document(text, 'action', validate)
    items = _items(data, 'action')
    single = len(items) == 1

    return [
        ActionSpec(_named(name, raw), validate,
                   definition=text if single else None)
        for name, raw in items.items()
    ]


def parse_workbook(text: str, validate: bool = True) -> WorkbookSpec:
    data = _document(text, 'workbook', validate)

    if validate:
        checks.check_schema(data, schemas.WORKBOOK, 'workbook')

    name = data.get('name')

    if not isinstance(name, str) or not name:
        raise exc.InvalidModelException(
            "Invalid DSL (workbook): 'name' is required.")

    if validate:
        checks.check_name(name, 'Workbook', checks.where(workbook=name))

    for section in ('workflows', 'actions'):
        inner = data.get(section)
        # A section may repeat the version, which must then be 2.0.
        if isinstance(inner, dict) and 'version' in inner and not (
                inner['version'] == '2.0' or (
                    _is_number(inner['version'])
                    and inner['version'] == 2.0)):
            raise exc.InvalidModelException(
                f"Invalid DSL (workbook '{name}', keyword '{section}'): "
                f"'version' must be '2.0', got {inner['version']!r}.")

    workflows = {}
    for wf_name, raw in _without_version(data.get('workflows')).items():
        if not isinstance(raw, dict):
            raise exc.InvalidModelException(
                f"Invalid DSL (workbook '{name}', workflow '{wf_name}'): "
                'the definition must be a mapping.')
        workflows[wf_name] = WorkflowSpec(
            _named(wf_name, raw), validate,
            definition=definition_cut.cut(text, 'workflows', str(wf_name)))

    actions = {}
    for action_name, raw in _without_version(data.get('actions')).items():
        if not isinstance(raw, dict):
            raise exc.InvalidModelException(
                f"Invalid DSL (workbook '{name}', action '{action_name}'): "
                'the definition must be a mapping.')
        actions[action_name] = ActionSpec(
            _named(action_name, raw), validate,
            definition=definition_cut.cut(text, 'actions',
                                          str(action_name)))

    return WorkbookSpec(
        name=name,
        description=data.get('description'),
        tags=list(data.get('tags') or []),
        workflows=workflows,
        actions=actions,
        definition=text,
        data=data,
    )


def _without_version(section: Any) -> dict[str, Any]:
    return {k: v for k, v in (section or {}).items() if k != 'version'}


def workflow_spec_from_dict(data: dict[str, Any]) -> WorkflowSpec:
    """Rebuild from :meth:`WorkflowSpec.to_dict` without validation."""
    return WorkflowSpec(data, validate=False)


def action_spec_from_dict(data: dict[str, Any]) -> ActionSpec:
    """Rebuild from :meth:`ActionSpec.to_dict` without validation."""
    return ActionSpec(data, validate=False)
