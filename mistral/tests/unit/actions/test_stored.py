"""The lookup ad-hoc and dynamic actions share (mistral.actions.stored)."""

from __future__ import annotations

import types
from typing import Any

import pytest

from mistral import exceptions
from mistral.actions import stored


def _row(name: str, project_id: str | None, scope: str = 'private',
         namespace: str = '') -> Any:
    return types.SimpleNamespace(name=name, project_id=project_id,
                                 scope=scope, namespace=namespace)


class _Provider(stored.StoredActionProvider[str]):
    def __init__(self, rows: list[Any], broken: tuple[str, ...] = ()
                 ) -> None:
        super().__init__('test')
        self.rows, self.broken = rows, broken

    @staticmethod
    def _db_configured() -> bool:
        return True

    def _rows(self, name: str | None, namespace: str) -> list[Any]:
        return [r for r in self.rows if r.namespace == namespace and
                (name is None or r.name == name)]

    def _descriptor(self, row: Any) -> str:
        if row.name in self.broken:
            raise exceptions.InvalidActionException('broken %s' % row.name)
        return '%s/%s/%s' % (row.namespace, row.name, row.project_id)


def test_own_row_then_public_then_none():
    rows = [_row('a', 'p2', 'public'), _row('a', 'p1')]
    assert stored.visible(rows, 'p1').project_id == 'p1'
    assert stored.visible(rows, 'p3').project_id == 'p2'
    assert stored.visible([_row('a', 'p2')], 'p3') is None
    assert stored.visible([_row('a', 'p2'), _row('a', None)],
                          None).project_id is None


def test_find_falls_back_to_the_default_namespace():
    p = _Provider([_row('a', 'p1'), _row('b', 'p1', namespace='ns')])
    assert p.find('a', namespace='ns', project_id='p1') == '/a/p1'
    assert p.find('b', namespace='ns', project_id='p1') == 'ns/b/p1'
    assert p.find('b', project_id='p1') is None


def test_find_all_skips_broken_only_when_asked():
    rows = [_row('a', 'p1'), _row('b', 'p1')]
    with pytest.raises(exceptions.InvalidActionException):
        _Provider(rows, broken=('a',)).find_all(project_id='p1')
    tolerant = _Provider(rows, broken=('a',))
    tolerant.skip_broken = True
    assert tolerant.find_all(project_id='p1') == ['/b/p1']
