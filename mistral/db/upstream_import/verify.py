"""``import-upstream --verify``: source and target compared row by row.

Every upstream row that the import copies is converted again exactly as a
pass converts it (:mod:`.convert`) and compared, column by column (JSON
compared parsed), with the row of the same id in the target. Rows missing
in the target, rows that differ and rows the target has beyond the
source's are counted per table, with a few examples. Trees still in
flight upstream are expected in ERROR (``--non-terminal=fail``) when the
target has them, and reported as not copied otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
import time
from typing import Any, TextIO

import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db.upstream_import import convert
from mistral.db.upstream_import import copier
from mistral.db.upstream_import import progress as progress_mod
from mistral.db.upstream_import import source as source_mod
from mistral.db.upstream_import import trees as trees_mod

_EXAMPLES = 5


@dataclasses.dataclass
class TableResult:
    compared: int = 0
    missing: int = 0
    different: int = 0
    extra: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < _EXAMPLES:
            self.examples.append(text)


@dataclasses.dataclass
class Result:
    source: str = ''
    tables: dict[str, TableResult] = dataclasses.field(default_factory=dict)
    in_flight_not_copied: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def table(self, name: str) -> TableResult:
        return self.tables.setdefault(name, TableResult())

    @property
    def ok(self) -> bool:
        return not self.in_flight_not_copied and all(
            not (t.missing or t.different or t.extra)
            for t in self.tables.values())


def diff_columns(table: str, want: dict[str, Any], have: dict[str, Any]
                 ) -> list[str]:
    json_cols = convert.json_columns(table)
    out = []
    for col, value in want.items():
        a = copier._norm(value, col in json_cols)
        b = copier._norm(have.get(col), col in json_cols)
        if isinstance(a, datetime.datetime) and isinstance(
                b, datetime.datetime):
            if a != b:
                out.append(col)
        elif isinstance(a, bool) or isinstance(b, bool):
            if (a is None) != (b is None) or bool(a) != bool(b):
                out.append(col)
        elif a != b:
            out.append(col)
    return out


def _compare(result: Result, table: str, key: str,
             want: dict[Any, dict[str, Any]],
             have: dict[Any, dict[str, Any]]) -> None:
    res = result.table(table)
    for k, row in want.items():
        res.compared += 1
        got = have.get(k)
        if got is None:
            res.missing += 1
            res.note('%s %s is missing' % (key, k))
            continue
        cols = diff_columns(table, row, got)
        if cols:
            res.different += 1
            res.note('%s %s differs in %s' % (key, k, ', '.join(cols)))


def _target_rows(conn: sa.Connection, table: str, key: str,
                 ids: list[Any]) -> dict[Any, dict[str, Any]]:
    t = convert.raw_table(table)
    out: dict[Any, dict[str, Any]] = {}
    for chunk in source_mod.chunks(ids, source_mod.IN_CHUNK):
        for r in conn.execute(sa.select(t).where(t.c[key].in_(chunk))
                              ).mappings():
            out[r[key]] = dict(r)
    return out


def run(source_url: str, out: TextIO | None = None,
        batch: int = copier.DEFAULT_BATCH) -> Result:
    out = out or sys.stdout
    started = time.monotonic()
    copier.check_target()
    engine = db_api.get_engine()
    result = Result(source=source_mod.redact(source_url))
    with source_mod.Source(source_url) as src, engine.connect() as conn:
        for (src_table, table, conv, skip, key) in convert.DEFINITION_TABLES:
            want = {}
            for row in src.rows(src_table):
                if skip(row) is None:
                    new = conv(row)
                    want[new[key]] = new
            if table == 'mistral_metrics':
                maint = want.get(copier.MAINTENANCE_KEY)
                if maint is not None and maint['value'] == 'PAUSING':
                    maint['value'] = 'PAUSED'
            t = convert.raw_table(table)
            have = {r[key]: dict(r) for r in
                    conn.execute(sa.select(t)).mappings()}
            _compare(result, table, key, want, have)
            extra = [k for k, r in have.items() if k not in want and
                     copier.Pass._deletable(table, r)]
            res = result.table(table)
            res.extra += len(extra)
            for k in extra[:_EXAMPLES]:
                res.note('%s %s is not upstream' % (key, k))

        forest = trees_mod.load_forest(src)
        present = copier._present_roots(conn, list(forest.trees))
        todo = []
        for tree in forest.trees.values():
            if tree.in_flight and tree.root not in present:
                result.in_flight_not_copied.append(tree.root)
            else:
                todo.append(tree)
        prog = progress_mod.Progress('trees compared', len(todo), out=out)
        seen = {name: 0 for name in (trees_mod.WF, trees_mod.TASK,
                                     trees_mod.ACTION)}
        for chunk in source_mod.chunks(todo, max(batch, 1)):
            rows = trees_mod.read_trees(src, chunk, fail=True)
            for table, want_rows in ((trees_mod.WF, rows.workflows),
                                     (trees_mod.TASK, rows.tasks),
                                     (trees_mod.ACTION, rows.actions)):
                want = {r['id']: r for r in want_rows}
                have = _target_rows(conn, table, 'id', list(want))
                _compare(result, table, 'id', want, have)
                seen[table] += len(have)
            prog.add(len(chunk), rows.count())
        for table, matched in seen.items():
            t = convert.raw_table(table)
            total = conn.execute(sa.select(sa.func.count()).select_from(t)
                                 ).scalar() or 0
            res = result.table(table)
            res.extra += max(int(total) - matched, 0)
            if total > matched:
                res.note('%d rows are not upstream' % (total - matched))
    result.seconds = time.monotonic() - started
    return result


def print_result(result: Result, out: TextIO) -> None:
    print('Compared %s with the configured database:' % result.source,
          file=out)
    print('  %-28s %10s %10s %10s %10s' % (
        'table', 'compared', 'missing', 'different', 'extra'), file=out)
    for table, res in result.tables.items():
        print('  %-28s %10d %10d %10d %10d' % (
            table, res.compared, res.missing, res.different, res.extra),
            file=out)
        for example in res.examples:
            print('      %s' % example, file=out)
    if result.in_flight_not_copied:
        print('  %d execution(s) in flight upstream are not here, e.g. %s'
              % (len(result.in_flight_not_copied),
                 result.in_flight_not_copied[0]), file=out)
    print('  %s (%.1f s)' % ('identical' if result.ok else 'DIFFERENT',
                             result.seconds), file=out)
