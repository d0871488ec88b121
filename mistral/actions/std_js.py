"""std.javascript / std.js: evaluate a JavaScript function body."""

from __future__ import annotations

import json
from typing import Any

from mistral_lib import actions

from mistral import config
from mistral import exceptions

CONF = config.CONF


def _evaluate_mini_racer(script: str, data: Any) -> Any:
    try:
        from py_mini_racer import MiniRacer
    except ImportError:
        raise exceptions.ActionException(
            'std.javascript needs the "mini-racer" package (module '
            'py_mini_racer), which is not installed') from None
    ctx = MiniRacer()
    # Values cross the V8 boundary as JSON so that nested objects come
    # back as plain Python data rather than proxy objects.
    ctx.eval('var $ = %s;' % json.dumps(data))
    raw = ctx.eval('JSON.stringify((function () {\n%s\n})())' % script)
    if raw is None or not isinstance(raw, str):
        # undefined (no return value, or a function) stringifies to
        # undefined.
        return None
    return json.loads(raw)


_ENGINES = {'py_mini_racer': _evaluate_mini_racer}


def evaluate(script: str, data: Any) -> Any:
    """Run ``script`` as the body of a function with ``$`` bound to data."""
    name = CONF.js_implementation
    engine = _ENGINES.get(name)
    if engine is None:
        raise exceptions.ActionException(
            'JavaScript implementation %r is not supported; set '
            '[DEFAULT] js_implementation = py_mini_racer' % name)
    return engine(script, data)


class JavaScriptAction(actions.Action):
    """Evaluates JavaScript and returns the value of its ``return``.

    ``script`` is the body of a function; ``context`` (any JSON data) is
    available to it as ``$``. The result must be JSON-serialisable.
    """

    def __init__(self, script, context=None):
        super().__init__()
        self.script = script
        # Named js_context: "context" would be confused with the action
        # context passed to run().
        self.js_context = context

    def run(self, context: Any) -> Any:
        try:
            return evaluate(self.script, self.js_context)
        except exceptions.ActionException:
            raise
        except Exception as e:
            raise exceptions.ActionException(
                'JavaScript evaluation failed: %s' % e) from e
