"""``.. mistral-rest-reference::``: the REST API reference, generated.

Built from the same OpenAPI description the API serves at
``/v2/openapi.json`` (``mistral.api.openapi``), which is generated from the
controllers: the reference cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def _schema_name(schema: dict[str, Any]) -> str:
    if not schema:
        return ''
    ref = schema.get('$ref')
    if ref:
        return ref.rsplit('/', 1)[-1]
    if schema.get('type') == 'array':
        return 'list of %s' % (_schema_name(schema.get('items') or {})
                               or 'values')
    if 'enum' in schema:
        return ' | '.join(str(v) for v in schema['enum'])
    return schema.get('type', '')


def _body(op: dict[str, Any]) -> str:
    content = (op.get('requestBody') or {}).get('content') or {}
    parts = []
    for media, spec in content.items():
        name = _schema_name(spec.get('schema') or {})
        parts.append('%s (%s)' % (name, media) if name else media)
    return ', '.join(parts)


def _success(op: dict[str, Any]) -> str:
    for code, spec in sorted((op.get('responses') or {}).items()):
        if code.startswith('2'):
            content = spec.get('content') or {}
            schema = next(iter(content.values()), {}).get('schema') or {}
            name = _schema_name(schema)
            return '%s %s' % (code, name) if name else code
    return ''


def rst_lines(doc: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for path in sorted(doc['paths']):
        for method, op in sorted(doc['paths'][path].items()):
            title = '%s %s' % (method.upper(), path)
            lines += [title, '~' * len(title), '']
            if op.get('description'):
                lines += [op['description'].strip(), '']
            params = op.get('parameters') or []
            for where in ('path', 'query'):
                found = [p for p in params if p.get('in') == where]
                if found:
                    lines.append('%s parameters:' % where.capitalize())
                    lines.append('')
                    for p in found:
                        kind = _schema_name(p.get('schema') or {})
                        req = ', required' if p.get('required') else ''
                        lines.append('* ``%s`` (%s%s)' % (p['name'], kind,
                                                          req))
                    lines.append('')
            body = _body(op)
            if body:
                lines += ['Body: %s' % body, '']
            success = _success(op)
            if success:
                lines += ['Answer: %s' % success, '']
    return lines


class RestReference(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from mistral import config
        from mistral.api import openapi

        config.parse_args([], default_config_files=[])
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(
            StringList(rst_lines(openapi.build()), source='openapi'),
            self.content_offset, node, match_titles=True)
        return node.children


def setup(app: Any) -> dict[str, Any]:
    app.add_directive('mistral-rest-reference', RestReference)
    return {'parallel_read_safe': True}
