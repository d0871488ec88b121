"""One import pass: what to copy, then the writes.

The first pass copies everything (into a database that holds nothing but
what ``upgrade head`` and ``populate`` put there). Every later pass copies
only what changed upstream since the previous pass began:

* definitions, triggers, environments, members and the maintenance status
  (small tables) are compared in full: rows added, changed or deleted
  upstream are added, changed or deleted here;
* execution trees (:mod:`.trees`) are compared by their roots: a tree that
  is new, whose root changed, or with any row stamped since the previous
  pass's snapshot (less an overlap, :data:`OVERLAP` by default: upstream
  stamps to the second, from hosts whose clocks may be behind the
  database's) is copied again whole; a tree deleted upstream is deleted
  here.

So the final pass, at the switch, costs what changed, not the size of the
history. The pass state (when its snapshot was taken) is kept in our
``mistral_metrics`` table under :data:`STATE_KEY`.

Trees still in flight upstream (:attr:`trees.Tree.in_flight`) are refused
(``refuse``: nothing is written, they are listed), left for a later pass
(``skip``) or copied with their unfinished rows in ERROR (``fail``).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from typing import Any, Callable, TextIO

import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.db.migration import schema_state
from mistral.db.upstream_import import convert
from mistral.db.upstream_import import progress as progress_mod
from mistral.db.upstream_import import source as source_mod
from mistral.db.upstream_import import trees as trees_mod
from mistral.utils import timeutils

STATE_KEY = 'upstream_import'
OVERLAP = datetime.timedelta(seconds=60)
MODES = ('refuse', 'skip', 'fail')
MAINTENANCE_KEY = 'maintenance_status'
# Most trees are a few rows; a batch is one target transaction.
DEFAULT_BATCH = 200
# A pass refuses to run when the target changed this long after the end of
# the previous pass (the service has been used on it since).
USED_SLACK = datetime.timedelta(minutes=5)


class ImportRefused(RuntimeError):
    """Nothing was written; the message says why and what to do."""


@dataclasses.dataclass
class TableCount:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Report:
    source: str = ''
    built_by: str = ''
    first_pass: bool = True
    dry_run: bool = False
    mode: str = 'refuse'
    tables: dict[str, TableCount] = dataclasses.field(default_factory=dict)
    trees_total: int = 0
    trees_copied: int = 0
    trees_unchanged: int = 0
    trees_deleted: int = 0
    in_flight: list[trees_mod.Tree] = dataclasses.field(default_factory=list)
    in_flight_copied: int = 0
    orphans: list[str] = dataclasses.field(default_factory=list)
    not_copied: dict[str, int] = dataclasses.field(default_factory=dict)
    source_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def table(self, name: str) -> TableCount:
        return self.tables.setdefault(name, TableCount())

    def rows_written(self) -> int:
        return sum(c.inserted + c.updated for c in self.tables.values())


@dataclasses.dataclass
class Options:
    source_url: str
    mode: str = 'refuse'
    dry_run: bool = False
    batch: int = DEFAULT_BATCH
    overlap: datetime.timedelta = OVERLAP
    out: TextIO | None = None
    # Tests: the clock of "now" for the pass state.
    now: Callable[[], datetime.datetime] = timeutils.utcnow


# --- the target --------------------------------------------------------------


def _target_engine() -> sa.engine.Engine:
    return db_api.get_engine()


def check_target() -> None:
    """The configured database is ours and at the newest revision."""
    status = schema_state.status()
    if status.kind in (schema_state.UPSTREAM, schema_state.MIXED):
        raise ImportRefused(
            'The configured database ([database] connection) is itself an '
            'upstream Mistral database. The import writes into a database '
            'of this service: create an empty one, run "mistral-db-manage '
            'upgrade head" on it and point [database] connection at it.')
    if status.kind != schema_state.OURS or status.behind:
        raise ImportRefused(
            'The configured database is not at this service\'s newest schema '
            '(found %s, want %s): run "mistral-db-manage upgrade head" first.'
            % (status.current or 'no schema', status.head))


def load_state(conn: sa.Connection) -> dict[str, Any] | None:
    t = convert.raw_table('mistral_metrics')
    value = conn.execute(sa.select(t.c.value).where(
        t.c.name == STATE_KEY)).scalar()
    if not value:
        return None
    try:
        state = json.loads(value)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def _parse_time(text: Any) -> datetime.datetime | None:
    if not text:
        return None
    return datetime.datetime.fromisoformat(str(text))


def save_state(conn: sa.Connection, state: dict[str, Any],
               now: datetime.datetime) -> None:
    t = convert.raw_table('mistral_metrics')
    value = json.dumps(state, separators=(',', ':'))
    conn.execute(t.delete().where(t.c.name == STATE_KEY))
    conn.execute(t.insert().values(name=STATE_KEY, value=value,
                                   updated_at=now))


def _user_rows(conn: sa.Connection) -> dict[str, int]:
    """Rows a first pass would find in its way (none of ours
    pre-installed ones: system definitions without a project)."""
    found = {}
    for table in ('workbooks_v2', 'environments_v2', 'code_sources',
                  'dynamic_action_definitions', 'resource_members_v2',
                  'cron_triggers_v2', 'event_triggers_v2',
                  'workflow_executions_v2', 'task_executions_v2',
                  'action_executions_v2'):
        t = convert.raw_table(table)
        n = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
        if n:
            found[table] = int(n)
    for table in ('workflow_definitions_v2', 'action_definitions_v2'):
        t = convert.raw_table(table)
        n = conn.execute(sa.select(sa.func.count()).select_from(t).where(
            sa.not_(sa.and_(t.c.is_system.is_(True),
                            t.c.project_id.is_(None))))).scalar()
        if n:
            found[table] = int(n)
    return found


def _used_since(conn: sa.Connection, since: datetime.datetime
                ) -> dict[str, int]:
    """Rows created or changed here after ``since`` (the service ran)."""
    found = {}
    for table in ('workflow_executions_v2', 'action_executions_v2',
                  'workflow_definitions_v2', 'action_definitions_v2',
                  'workbooks_v2', 'environments_v2', 'cron_triggers_v2',
                  'event_triggers_v2', 'code_sources',
                  'dynamic_action_definitions', 'resource_members_v2'):
        t = convert.raw_table(table)
        n = conn.execute(sa.select(sa.func.count()).select_from(t).where(
            sa.or_(t.c.created_at > since, t.c.updated_at > since))).scalar()
        if n:
            found[table] = int(n)
    return found


# --- comparing rows ----------------------------------------------------------


def _norm(value: Any, json_col: bool) -> Any:
    if json_col and isinstance(value, str):
        return convert.loads(value)
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    return value


def same_row(table: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    json_cols = convert.json_columns(table)
    for col in a:
        x, y = _norm(a[col], col in json_cols), _norm(b.get(col),
                                                      col in json_cols)
        if isinstance(x, bool) or isinstance(y, bool):
            if x is None or y is None:
                if x is not y:
                    return False
                continue
            if bool(x) != bool(y):
                return False
        elif x != y:
            return False
    return True


# --- the pass ----------------------------------------------------------------


class Pass:
    def __init__(self, opts: Options) -> None:
        if opts.mode not in MODES:
            raise ValueError('mode must be one of %s' % (MODES,))
        self.opts = opts
        self.out = opts.out
        self.report = Report(source=source_mod.redact(opts.source_url),
                             dry_run=opts.dry_run, mode=opts.mode)

    def say(self, text: str) -> None:
        import sys

        out = self.out or sys.stdout
        out.write(text + '\n')
        out.flush()

    def run(self) -> Report:
        started = time.monotonic()
        check_target()
        engine = _target_engine()
        with source_mod.Source(self.opts.source_url) as src:
            self.report.built_by = src.built_by
            with engine.connect() as conn:
                state = load_state(conn)
            self.report.first_pass = state is None
            # Rows of the target reflect the source as of this time at
            # least: what changed after it is looked at again.
            since = _parse_time((state or {}).get('snapshot'))
            self._check_target_rows(engine, state)
            self.say('Reading %s (upstream schema built by its %s)...' % (
                self.report.source, src.built_by))
            for table in source_mod.COPIED_TABLES:
                self.report.source_counts[table] = src.count(table)
            for table in source_mod.NOT_COPIED_TABLES:
                if src.has(table):
                    self.report.not_copied[table] = src.count(table)
            forest = trees_mod.load_forest(src)
            self.report.orphans = forest.orphans
            self.report.trees_total = len(forest.trees)
            in_flight = [t for t in forest.trees.values() if t.in_flight]
            self.report.in_flight = in_flight
            if in_flight and self.opts.mode == 'refuse':
                raise InFlight(self.report)
            definitions = self._plan_definitions(src, engine)
            todo, deleted = self._plan_trees(src, engine, forest, since)
            self.report.trees_deleted = len(deleted)
            if self.opts.dry_run:
                self.report.trees_copied = len(todo)
                self.report.in_flight_copied = sum(
                    1 for t in todo if t.in_flight)
                self.report.seconds = time.monotonic() - started
                return self.report
            assert src.snapshot_time is not None
            passes = int((state or {}).get('passes') or 0)
            # Until this pass completes, the target may hold rows as old as
            # the previous baseline (or this snapshot, on a first pass).
            with engine.begin() as conn:
                save_state(conn, {
                    'snapshot': (since or src.snapshot_time).isoformat(),
                    'complete': False, 'passes': passes,
                    'finished': (state or {}).get('finished')},
                    self.opts.now())
            self._write_definitions(engine, definitions, before_trees=True)
            self._delete_trees(engine, deleted)
            self._copy_trees(src, engine, todo)
            self._write_definitions(engine, definitions, before_trees=False)
            finished = self.opts.now()
            with engine.begin() as conn:
                save_state(conn, {
                    'snapshot': src.snapshot_time.isoformat(),
                    'complete': True, 'passes': passes + 1,
                    'finished': finished.isoformat()}, finished)
        self.report.seconds = time.monotonic() - started
        return self.report

    # -- checks

    def _check_target_rows(self, engine: sa.engine.Engine,
                           state: dict[str, Any] | None) -> None:
        with engine.connect() as conn:
            if state is None:
                found = _user_rows(conn)
                if found:
                    raise ImportRefused(
                        'The configured database already holds data (%s); '
                        'a first import needs a database that only '
                        '"mistral-db-manage upgrade head" (and "populate") '
                        'have written. Nothing was copied.'
                        % ', '.join('%s: %d rows' % kv
                                    for kv in sorted(found.items())))
                return
            finished = _parse_time(state.get('finished'))
            if finished is None or not state.get('complete'):
                # The previous pass did not finish: this one takes over.
                return
            used = _used_since(conn, finished + USED_SLACK)
            if used:
                raise ImportRefused(
                    'The configured database changed after the previous '
                    'import pass ended (%s UTC): %s. The service has run on '
                    'it since, and another pass would mix its history with '
                    'upstream\'s. Nothing was copied.' % (
                        finished.strftime('%Y-%m-%d %H:%M:%S'),
                        ', '.join('%s: %d rows' % kv
                                  for kv in sorted(used.items()))))

    # -- definitions

    def _plan_definitions(self, src: source_mod.Source,
                          engine: sa.engine.Engine) -> list[Any]:
        plans = []
        with engine.connect() as conn:
            for (src_table, table, conv, skip, key) in \
                    convert.DEFINITION_TABLES:
                counts = self.report.table(table)
                t = convert.raw_table(table)
                wanted: dict[Any, dict[str, Any]] = {}
                for row in src.rows(src_table):
                    why = skip(row)
                    if why:
                        counts.skipped.append('%s %s: %s' % (
                            src_table, row.get('id') or row.get('name'),
                            why))
                        continue
                    new = conv(row)
                    if table == 'mistral_metrics' and \
                            new['name'] == MAINTENANCE_KEY and \
                            new['value'] == 'PAUSING':
                        # Nothing is left to pause once the work is
                        # drained (or failed): the pausing is over.
                        new['value'] = 'PAUSED'
                        self.report.notes.append(
                            'The maintenance status was PAUSING upstream; '
                            'it is PAUSED here.')
                    wanted[new[key]] = new
                have = {r[key]: dict(r) for r in
                        conn.execute(sa.select(t)).mappings()}
                inserts = [r for k, r in wanted.items() if k not in have]
                updates = [r for k, r in wanted.items()
                           if k in have and not same_row(table, r, have[k])]
                deletes = [k for k, r in have.items() if k not in wanted
                           and self._deletable(table, r)]
                counts.inserted += len(inserts)
                counts.updated += len(updates)
                counts.deleted += len(deletes)
                plans.append((table, key, inserts, updates, deletes))
        return plans

    @staticmethod
    def _deletable(table: str, row: dict[str, Any]) -> bool:
        if table == 'mistral_metrics':
            return False      # ours (the import state) or our own status
        if table in ('workflow_definitions_v2', 'action_definitions_v2') \
                and row.get('is_system') and row.get('project_id') is None:
            return False      # pre-installed by our populate
        return True

    def _write_definitions(self, engine: sa.engine.Engine,
                           plans: list[Any], before_trees: bool) -> None:
        """Deletes (dependent tables first) and writes (referenced tables
        first) in one transaction; the maintenance status after the
        trees, so a half-done pass leaves it as it was."""
        with engine.begin() as conn:
            if before_trees:
                for table, key, _ins, _upd, deletes in reversed(plans):
                    t = convert.raw_table(table)
                    for chunk in source_mod.chunks(deletes,
                                                   source_mod.IN_CHUNK):
                        conn.execute(t.delete().where(t.c[key].in_(chunk)))
            for table, key, inserts, updates, _del in plans:
                if (table == 'mistral_metrics') == before_trees:
                    continue
                t = convert.raw_table(table)
                if inserts:
                    conn.execute(t.insert(), inserts)
                for row in updates:
                    conn.execute(t.update().where(t.c[key] == row[key])
                                 .values(**row))

    # -- trees

    def _plan_trees(self, src: source_mod.Source, engine: sa.engine.Engine,
                    forest: trees_mod.Forest,
                    since: datetime.datetime | None
                    ) -> tuple[list[trees_mod.Tree], list[str]]:
        fail = self.opts.mode == 'fail'
        candidates = [t for t in forest.trees.values()
                      if not t.in_flight or fail]
        wf = convert.raw_table('workflow_executions_v2')
        ae = convert.raw_table('action_executions_v2')
        with engine.connect() as conn:
            have: dict[str, tuple[Any, Any]] = {}
            for r in conn.execute(sa.select(
                    wf.c.id, wf.c.state, wf.c.updated_at).where(
                    wf.c.task_execution_id.is_(None))):
                have[r.id] = (r.state, r.updated_at)
            for r in conn.execute(sa.select(
                    ae.c.id, ae.c.state, ae.c.updated_at).where(
                    ae.c.task_execution_id.is_(None))):
                have[r.id] = (r.state, r.updated_at)
        deleted = [root for root in have if root not in forest.trees]
        if since is None:
            todo = [t for t in candidates if t.root not in have] + \
                [t for t in candidates if t.root in have]
            self.report.trees_unchanged = 0
            return todo, deleted
        touched = trees_mod.touched_roots(src, forest,
                                          since - self.opts.overlap)
        todo = []
        for tree in candidates:
            old = have.get(tree.root)
            if old is None or tree.root in touched or \
                    _changed(old, tree, fail):
                todo.append(tree)
            else:
                self.report.trees_unchanged += 1
        return todo, deleted

    def _delete_trees(self, engine: sa.engine.Engine,
                      roots: list[str]) -> None:
        if not roots:
            return
        with engine.begin() as conn:
            for chunk in source_mod.chunks(roots, source_mod.IN_CHUNK):
                _delete_tree_rows(conn, list(chunk))

    def _copy_trees(self, src: source_mod.Source, engine: sa.engine.Engine,
                    todo: list[trees_mod.Tree]) -> None:
        if not todo:
            self.say('Execution trees: nothing to copy.')
            return
        fail = self.opts.mode == 'fail'
        prog = progress_mod.Progress('execution trees', len(todo),
                                     out=self.out)
        self.say('Copying %d execution trees...' % len(todo))
        with engine.connect() as conn:
            present = _present_roots(conn, [t.root for t in todo])
        wf = convert.raw_table('workflow_executions_v2')
        te = convert.raw_table('task_executions_v2')
        ae = convert.raw_table('action_executions_v2')
        for batch in source_mod.chunks(todo, max(self.opts.batch, 1)):
            rows = trees_mod.read_trees(src, batch, fail)
            replace = [t.root for t in batch if t.root in present]
            with engine.begin() as conn:
                if replace:
                    _delete_tree_rows(conn, replace)
                if rows.workflows:
                    conn.execute(wf.insert(), rows.workflows)
                if rows.tasks:
                    conn.execute(te.insert(), rows.tasks)
                if rows.actions:
                    conn.execute(ae.insert(), rows.actions)
            counts = self.report
            counts.table('workflow_executions_v2').inserted += len(
                rows.workflows)
            counts.table('task_executions_v2').inserted += len(rows.tasks)
            counts.table('action_executions_v2').inserted += len(
                rows.actions)
            counts.trees_copied += len(batch)
            counts.in_flight_copied += sum(1 for t in batch if t.in_flight)
            prog.add(len(batch), rows.count())


class InFlight(ImportRefused):
    """Trees in flight upstream, and ``--non-terminal=refuse``."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(
            '%d execution(s) have not finished upstream' % len(
                report.in_flight))


def _changed(old: tuple[Any, Any], tree: trees_mod.Tree,
             fail: bool) -> bool:
    state, updated = old
    want = tree.state
    if fail and tree.in_flight and tree.kind == 'workflow' and \
            want not in convert.WF_DONE:
        want = 'ERROR'
    if fail and tree.in_flight and tree.kind == 'action':
        want = 'ERROR'
    if state != want:
        return True
    a = updated.replace(tzinfo=None) if updated else None
    b = tree.updated_at.replace(tzinfo=None) if tree.updated_at else None
    return a != b


def _present_roots(conn: sa.Connection, roots: list[str]) -> set[str]:
    wf = convert.raw_table('workflow_executions_v2')
    ae = convert.raw_table('action_executions_v2')
    found: set[str] = set()
    for chunk in source_mod.chunks(roots, source_mod.IN_CHUNK):
        found.update(conn.execute(sa.select(wf.c.id).where(
            wf.c.id.in_(chunk))).scalars())
        found.update(conn.execute(sa.select(ae.c.id).where(
            ae.c.id.in_(chunk), ae.c.task_execution_id.is_(None))).scalars())
    return found


def _delete_tree_rows(conn: sa.Connection, roots: list[str]) -> None:
    """Delete the trees of ``roots`` (workflow or lone action ids)."""
    wf = convert.raw_table('workflow_executions_v2')
    te = convert.raw_table('task_executions_v2')
    ae = convert.raw_table('action_executions_v2')
    pending = convert.raw_table('with_items_pending')
    wf_ids = list(conn.execute(sa.select(wf.c.id).where(sa.or_(
        wf.c.id.in_(roots), wf.c.root_execution_id.in_(roots)))).scalars())
    for chunk in source_mod.chunks(wf_ids, source_mod.IN_CHUNK):
        task_ids = list(conn.execute(sa.select(te.c.id).where(
            te.c.workflow_execution_id.in_(chunk))).scalars())
        for tchunk in source_mod.chunks(task_ids, source_mod.IN_CHUNK):
            conn.execute(ae.delete().where(ae.c.task_execution_id.in_(
                tchunk)))
            conn.execute(pending.delete().where(
                pending.c.task_execution_id.in_(tchunk)))
            conn.execute(te.delete().where(te.c.id.in_(tchunk)))
        conn.execute(wf.delete().where(wf.c.id.in_(chunk)))
    conn.execute(ae.delete().where(ae.c.id.in_(roots),
                                   ae.c.task_execution_id.is_(None)))


def run(opts: Options) -> Report:
    return Pass(opts).run()
