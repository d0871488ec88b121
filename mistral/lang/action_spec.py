"""Ad-hoc action specifications."""

from __future__ import annotations

from typing import Any, cast

from mistral.lang import checks
from mistral.lang import inline_params
from mistral.lang import input_spec as inputs
from mistral.lang import safe_yaml
from mistral.lang import schemas
from mistral.utils import dicts


class ActionSpec:
    """An ad-hoc action: a base action with preset input and output."""

    def __init__(self, data: dict[str, Any], validate: bool = True,
                 definition: str | None = None) -> None:
        # A non-empty string once validated (stored specs are).
        name = cast(str, data.get('name'))
        place = checks.where(action=name)

        if validate:
            checks.check_name(name, 'Action', place)
            checks.check_schema(data, schemas.ACTION, place)

        self._data = data
        self._definition = definition
        self.name: str = name
        self.description: str | None = data.get('description')
        self.tags: list[str] = list(data.get('tags') or [])

        base, params = inline_params.parse_inline_params(data['base'])
        self.base: str = base
        # The base's inline parameters win over base-input (nested dicts
        # merged key by key), as upstream merges them.
        self.base_input: dict[str, Any] = dicts.deep_merged(
            data.get('base-input') or {}, params)
        self.input_spec: list[Any] = list(data.get('input') or [])
        self.required_input = inputs.required_input(self.input_spec)
        self.input_defaults = inputs.input_defaults(self.input_spec)
        self.input_string = inputs.input_string(self.input_spec)
        self.output: Any = data.get('output')

        if validate:
            checks.check_inline_params(data['base'],
                                       f"{place}, keyword 'base'")
            checks.check_expressions(params, f"{place}, keyword 'base'")
            checks.check_expressions(
                data.get('base-input'), f"{place}, keyword 'base-input'")
            checks.check_expressions(
                data.get('output'), f"{place}, keyword 'output'")

    @property
    def definition(self) -> str:
        if self._definition is None:
            raw = {k: v for k, v in self._data.items()
                   if k not in ('name', 'version')}
            self._definition = safe_yaml.dump({self.name: raw})
        return self._definition

    def to_dict(self) -> dict[str, Any]:
        return self._data

    def __repr__(self) -> str:
        return f'ActionSpec({self.name!r}, base={self.base!r})'
