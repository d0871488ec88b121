"""Hardened YAML loading, for DSL documents and ``yaml_parse()``.

* Anchors and aliases are refused: they allow "billion laughs" documents
  whose expansion exhausts memory.
* ``@`` may start a plain scalar (``key: @foo``), as upstream allows.
* Timestamps stay strings, so every parsed document is JSON-serialisable.
* An empty document is ``{}``.
* Hard limits, given by the caller (the ``[limits]`` options
  ``max_definition_size_kb`` and ``max_nesting_depth``): larger text and
  deeper nesting are refused. libyaml's composer recurses in C and crashes
  the process on deep flow nesting (``[[[[...``), so text whose brackets
  may nest too deeply never reaches it: the Python loader counts the depth
  and stops at the limit.

It lives here, below both the language (:mod:`mistral.lang.safe_yaml`
applies its limits) and the expressions (``yaml_parse()`` applies theirs),
with the measures of documents it uses.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml import events
from yaml import resolver as yaml_resolver

from mistral import exceptions as exc


class _Loader(yaml.SafeLoader):
    max_depth = 0  # set per load; 0: not checked
    _depth = 0

    def check_plain(self) -> bool:
        # PyYAML reserves '@' as an indicator; treat it as plain text.
        return self.peek() == '@' or super().check_plain()

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            return self._compose_node(parent, index)
        finally:
            self._depth -= 1

    def _compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]

        if self.max_depth and self._depth > self.max_depth:
            raise yaml.composer.ComposerError(
                None, None, 'nested deeper than the limit of %d levels '
                '([limits] max_nesting_depth)' % self.max_depth,
                event.start_mark)

        if isinstance(event, events.AliasEvent):
            # The stubs' Mark is not libyaml's (a different class, the
            # same fields).
            raise yaml.composer.ComposerError(
                None, None, 'YAML aliases are not allowed',
                event.start_mark)  # type: ignore[arg-type]

        if getattr(event, 'anchor', None) is not None:
            raise yaml.composer.ComposerError(
                None, None, 'YAML anchors are not allowed',
                event.start_mark)

        return super().compose_node(parent, index)


# Copy the resolvers without the timestamp one (dates remain strings).
_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag != 'tag:yaml.org,2002:timestamp']
    for first, resolvers in
    yaml_resolver.Resolver.yaml_implicit_resolvers.items()
}
_Loader.yaml_implicit_resolvers = _RESOLVERS

# libyaml is about ten times faster. Its composer cannot be hooked, so it
# is only used for text that cannot hold an anchor ('&') or an alias
# ('*'); anything it rejects is parsed again by the hardened loader above,
# which either accepts it (e.g. a plain scalar starting with '@') or gives
# the error message.
_CLoader: Any = None

if getattr(yaml, '__with_libyaml__', False):
    class _FastLoader(yaml.CSafeLoader):
        pass

    _FastLoader.yaml_implicit_resolvers = _RESOLVERS
    _CLoader = _FastLoader


def _describe(e: yaml.YAMLError) -> str:
    if isinstance(e, yaml.MarkedYAMLError):
        parts = [p for p in (e.context, e.problem) if p]
        text = ', '.join(parts) or str(e)
        mark = e.problem_mark or e.context_mark

        if mark is not None:
            text += f' (line {mark.line + 1}, column {mark.column + 1})'
        return text

    return str(e)


# The measures use no recursion: the point is to measure documents too
# deep to recurse on.

_BRACKETS = re.compile(r'[\[\]{}]')


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``text``, quotes ignored.

    An upper bound of the flow nesting of a YAML or JSON document (text in
    strings may count too), computed without parsing.
    """
    depth = deepest = 0
    for bracket in _BRACKETS.findall(text):
        if bracket in '[{':
            depth += 1
            if depth > deepest:
                deepest = depth
        elif depth:
            depth -= 1
    return deepest


def depth(value: Any, stop: int | None = None) -> int:
    """Nesting depth of lists and dicts in ``value`` (a scalar is 0).

    Stops counting once ``stop`` is exceeded (returns ``stop + 1``).
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if level > deepest:
            deepest = level
            if stop is not None and deepest > stop:
                return stop + 1
        stack.extend((c, level + 1) for c in children
                     if isinstance(c, (dict, list, tuple)))
    return deepest


_FAILED = object()


def _fast_load(text: str, max_depth: int) -> Any:
    if _CLoader is None or '&' in text or '*' in text:
        return _FAILED

    if bracket_depth(text) > max_depth:
        return _FAILED  # the Python loader checks the real depth

    try:
        return yaml.load(text, Loader=_CLoader)  # noqa: S506
    except yaml.YAMLError:
        return _FAILED


def load(text: str, max_kb: int, max_depth: int) -> Any:
    """Parse one YAML document of at most ``max_kb`` KiB nested at most
    ``max_depth`` levels; errors become DSLParsingException."""
    if not isinstance(text, str):
        raise exc.DSLParsingException(
            f'Definition must be a YAML string, got {type(text).__name__}.')

    size = len(text.encode('utf-8', 'surrogatepass'))

    if size > max_kb * 1024:
        raise exc.DSLParsingException(
            f'Definition size limit exceeded: {(size + 1023) // 1024} KiB '
            f'> {max_kb} KiB ([limits] max_definition_size_kb).')

    result = _fast_load(text, max_depth)

    if result is _FAILED:
        loader = None
        try:
            # The reader checks the characters already (ReaderError).
            loader = _Loader(text)
            loader.max_depth = max_depth
            result = loader.get_single_data()
        except yaml.YAMLError as e:
            raise exc.DSLParsingException(
                f'Definition could not be parsed as YAML: {_describe(e)}'
            ) from e
        finally:
            if loader is not None:
                loader.dispose()

    # Block nesting is bounded by indentation, not by brackets: check
    # what libyaml built too.
    if depth(result, max_depth) > max_depth:
        raise exc.DSLParsingException(
            f'Definition could not be parsed as YAML: nested deeper than '
            f'the limit of {max_depth} levels ([limits] '
            f'max_nesting_depth).')

    return {} if result is None else result


def dump(data: Any) -> str:
    """Block-style YAML that keeps key order."""
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False,
                          allow_unicode=True)
