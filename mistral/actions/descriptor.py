"""Action descriptors: what the registry hands to the API and executor."""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from mistral_lib import actions as ml_actions
from mistral_lib import utils as ml_utils

from mistral import exceptions


def expected_from_spec(params_spec: str) -> dict[str, bool]:
    """{name: required} from a params spec string like ``a, b=1``.

    The string cannot hold defaults containing commas reliably; callers
    that know the real parameters should build the dict themselves.
    """
    return {str(name): default is ml_utils.NotDefined
            for name, default in ml_utils.get_dict_from_string(
                params_spec or '').items()}


def expected_from_signature(func: Any) -> tuple[dict[str, bool], bool]:
    """({name: required}, accepts_any) from a function's signature."""
    expected: dict[str, bool] = {}
    accepts_any = False
    params = list(inspect.signature(func).parameters.values())
    for param in params[1:]:  # skip self
        if param.kind is param.VAR_KEYWORD:
            accepts_any = True
        elif param.kind is not param.VAR_POSITIONAL:
            expected[param.name] = param.default is param.empty
    return expected, accepts_any


def check_params(name: str, class_name: str | None,
                 expected: dict[str, bool], given: dict[str, Any] | None,
                 accepts_any: bool = False) -> None:
    """Raise InputException if ``given`` does not fit ``expected``.

    ``expected`` maps parameter names to "required"; ``accepts_any``
    (a ``**kwargs`` parameter) turns the check off.
    """
    if accepts_any:
        return
    given = dict(given or {})
    missing = [n for n, required in expected.items()
               if required and n not in given]
    unexpected = [n for n in given if n not in expected]
    if not (missing or unexpected):
        return
    msg = 'Invalid input [name=%s, class=%s' % (name, class_name)
    if missing:
        msg += ', missing=%s' % missing
    if unexpected:
        msg += ', unexpected=%s' % unexpected
    raise exceptions.InputException(msg + ']')


class ActionDescriptor(Protocol):
    """What the engine, the executor and the API use of an action's
    descriptor: mistral-lib's ActionDescriptor interface, which the
    classes here, mistral.actions.adhoc and mistral.actions.dynamic
    implement. A Protocol because mistral-lib has no type information
    (its classes are Any to mypy)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str | None: ...

    @property
    def params_spec(self) -> str | None: ...

    @property
    def namespace(self) -> str | None: ...

    @property
    def project_id(self) -> str | None: ...

    @property
    def scope(self) -> str | None: ...

    def check_parameters(self, params: dict[str, Any] | None) -> None: ...

    def instantiate(self, input_dict: dict[str, Any],
                    wf_ctx: dict[str, Any]) -> Any: ...

    def post_process_result(self, result: Any) -> Any: ...


class PythonActionDescriptor(ml_actions.PythonActionDescriptor):
    """A descriptor for an action implemented by a Python class.

    On top of mistral-lib's descriptor: ``is_system`` (true for actions
    that come from code rather than from the database), ``action_class``
    as an import path string, ``action_cls`` for the class itself, and
    input validation that raises :class:`mistral.exceptions.InputException`.
    """

    def __init__(self, name: str, action_cls: type, namespace: str = '',
                 action_cls_attrs: dict[str, Any] | None = None,
                 is_system: bool = True, description: str | None = None,
                 params_spec: str | None = None) -> None:
        super().__init__(name, action_cls, action_cls_attrs,
                         namespace=namespace)
        self.is_system = is_system
        if description is not None:
            self._desc = description
        if params_spec is not None:
            self._params_spec = params_spec
            self._expected = expected_from_spec(params_spec)
            self._accepts_any = '**' in params_spec
        else:
            # The signature is exact where the spec string is not (a
            # default such as [1, 2] contains the separator).
            self._expected, self._accepts_any = expected_from_signature(
                action_cls.__init__)

    def __repr__(self) -> str:
        return 'PythonActionDescriptor[name=%s, class=%s]' % (
            self.name, self.action_class_name)

    @property
    def action_cls(self) -> type:
        return self._action_cls

    @property
    def action_class(self) -> str:  # type: ignore[override]
        return self.action_class_name

    @property
    def description(self) -> str:
        return self._desc or ''

    @property
    def params_spec(self) -> str:
        return self._params_spec or ''

    def check_parameters(self, params: dict[str, Any] | None) -> None:
        check_params(self.name, self.action_class_name, self._expected,
                     params, self._accepts_any)

    def instantiate(self, params: dict[str, Any] | None,
                    wf_ctx: dict[str, Any] | None) -> ml_actions.Action:
        return super().instantiate(dict(params or {}), wf_ctx)
