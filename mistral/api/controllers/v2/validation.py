"""POST .../validate: parse a definition and tell whether it is valid."""

from __future__ import annotations

from typing import Any, Callable

from pecan import rest

from mistral import exceptions as exc
from mistral.api import errors
from mistral.api import expose
from mistral.api import hooks


class ValidationController(rest.RestController):
    def __init__(self, parse: Callable[[str], Any]) -> None:
        self._parse = parse

    @expose.json_only()
    @errors.text_errors
    def post(self, **_kw: Any) -> Any:
        text = hooks.request_text()
        result: dict[str, Any] = {'valid': True}
        try:
            if not text.strip():
                raise exc.InvalidModelException('Definition is empty.')
            self._parse(text)
        except exc.DSLParsingException as e:
            result = {'valid': False, 'error': str(e)}
        return errors.json_response(result, 200)
