"""A small database with upstream Mistral 23.0.0's tables, for fast tests.

The columns are those of upstream's schema (names and kinds, as its
models and migrations have them); the real thing, built by upstream
itself, is in the functional tests (mistral/tests/functional/upstream_db).
Rows are added with :class:`Upstream`'s helpers, with upstream's
conventions: timestamps to the second, JSON as text.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import sqlalchemy as sa

T0 = datetime.datetime(2026, 1, 2, 3, 4, 5)


def _secure(*cols: sa.Column) -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime),
            sa.Column('updated_at', sa.DateTime),
            sa.Column('scope', sa.String(80)),
            sa.Column('project_id', sa.String(80)),
            sa.Column('id', sa.String(36), primary_key=True), *cols]


def _definition(*cols: sa.Column) -> list[sa.Column]:
    return _secure(sa.Column('name', sa.String(255)),
                   sa.Column('namespace', sa.String(255)),
                   sa.Column('definition', sa.Text),
                   sa.Column('spec', sa.Text), sa.Column('tags', sa.Text),
                   sa.Column('is_system', sa.Boolean), *cols)


def _execution(*cols: sa.Column) -> list[sa.Column]:
    return _secure(sa.Column('name', sa.String(255)),
                   sa.Column('description', sa.String(255)),
                   sa.Column('workflow_name', sa.String(255)),
                   sa.Column('workflow_namespace', sa.String(255)),
                   sa.Column('workflow_id', sa.String(80)),
                   sa.Column('state', sa.String(20)),
                   sa.Column('state_info', sa.Text),
                   sa.Column('tags', sa.Text),
                   sa.Column('runtime_context', sa.Text), *cols)


def metadata(built_by: str = 'models') -> sa.MetaData:
    md = sa.MetaData()
    sa.Table('workbooks_v2', md, *_definition())
    sa.Table('workflow_definitions_v2', md, *_definition(
        sa.Column('checksum', sa.String(32)),
        sa.Column('workbook_name', sa.String(255))))
    sa.Table('action_definitions_v2', md, *_definition(
        sa.Column('workbook_name', sa.String(255)),
        sa.Column('description', sa.Text), sa.Column('input', sa.Text),
        sa.Column('action_class', sa.String(200)),
        sa.Column('attributes', sa.Text)))
    sa.Table('environments_v2', md, *_secure(
        sa.Column('name', sa.String(200)), sa.Column('description', sa.Text),
        sa.Column('variables', sa.Text)))
    sa.Table('code_sources', md, *_secure(
        sa.Column('name', sa.String(255)), sa.Column('content', sa.Text),
        sa.Column('version', sa.Integer),
        sa.Column('namespace', sa.String(255)), sa.Column('tags', sa.Text)))
    sa.Table('dynamic_action_definitions', md, *_secure(
        sa.Column('name', sa.String(255)),
        sa.Column('namespace', sa.String(255)),
        sa.Column('class_name', sa.String(255)),
        sa.Column('code_source_name', sa.String(255)),
        sa.Column('code_source_id', sa.String(36))))
    sa.Table('resource_members_v2', md,
             sa.Column('created_at', sa.DateTime),
             sa.Column('updated_at', sa.DateTime),
             sa.Column('id', sa.String(36), primary_key=True),
             sa.Column('resource_id', sa.String(80)),
             sa.Column('resource_type', sa.String(50)),
             sa.Column('project_id', sa.String(80)),
             sa.Column('member_id', sa.String(80)),
             sa.Column('status', sa.String(20)))
    sa.Table('cron_triggers_v2', md, *_secure(
        sa.Column('name', sa.String(200)),
        sa.Column('pattern', sa.String(100)),
        sa.Column('first_execution_time', sa.DateTime),
        sa.Column('next_execution_time', sa.DateTime),
        sa.Column('workflow_name', sa.String(255)),
        sa.Column('remaining_executions', sa.Integer),
        sa.Column('workflow_id', sa.String(36)),
        sa.Column('workflow_params', sa.Text),
        sa.Column('workflow_params_hash', sa.CHAR(64)),
        sa.Column('workflow_input', sa.Text),
        sa.Column('workflow_input_hash', sa.CHAR(64)),
        sa.Column('trust_id', sa.String(80))))
    sa.Table('event_triggers_v2', md, *_secure(
        sa.Column('name', sa.String(200)),
        sa.Column('workflow_id', sa.String(36)),
        sa.Column('workflow_params', sa.Text),
        sa.Column('workflow_input', sa.Text),
        sa.Column('exchange', sa.String(80)),
        sa.Column('topic', sa.String(80)),
        sa.Column('event', sa.String(80)),
        sa.Column('trust_id', sa.String(80))))
    sa.Table('mistral_metrics', md,
             sa.Column('created_at', sa.DateTime),
             sa.Column('updated_at', sa.DateTime),
             sa.Column('id', sa.Integer, primary_key=True),
             sa.Column('name', sa.String(255)),
             sa.Column('value', sa.String(255)))
    sa.Table('workflow_executions_v2', md, *_execution(
        sa.Column('spec', sa.Text), sa.Column('accepted', sa.Boolean),
        sa.Column('input', sa.Text), sa.Column('output', sa.Text),
        sa.Column('params', sa.Text), sa.Column('context', sa.Text),
        sa.Column('task_execution_id', sa.String(36)),
        sa.Column('root_execution_id', sa.String(80 if built_by ==
                                                 'migrations' else 36))))
    sa.Table('task_executions_v2', md, *_execution(
        sa.Column('spec', sa.Text), sa.Column('action_spec', sa.Text),
        sa.Column('unique_key', sa.String(255)),
        sa.Column('type', sa.String(10)),
        sa.Column('started_at', sa.DateTime),
        sa.Column('finished_at', sa.DateTime),
        sa.Column('processed', sa.Boolean),
        sa.Column('has_next_tasks', sa.Boolean),
        sa.Column('next_tasks', sa.Text),
        sa.Column('error_handled', sa.Boolean),
        sa.Column('in_context', sa.Text), sa.Column('published', sa.Text),
        sa.Column('workflow_execution_id', sa.String(36))))
    sa.Table('action_executions_v2', md, *_execution(
        sa.Column('spec', sa.Text), sa.Column('accepted', sa.Boolean),
        sa.Column('input', sa.Text), sa.Column('output', sa.Text),
        sa.Column('last_heartbeat', sa.DateTime),
        sa.Column('is_sync', sa.Boolean),
        sa.Column('task_execution_id', sa.String(36))))
    sa.Table('delayed_calls_v2', md,
             sa.Column('id', sa.String(36), primary_key=True),
             sa.Column('target_method_name', sa.String(80)),
             sa.Column('execution_time', sa.DateTime))
    sa.Table('scheduled_jobs_v2', md,
             sa.Column('id', sa.String(36), primary_key=True),
             sa.Column('func_name', sa.String(80)),
             sa.Column('execute_at', sa.DateTime))
    sa.Table('named_locks', md,
             sa.Column('id', sa.String(36), primary_key=True),
             sa.Column('name', sa.String(255)))
    if built_by == 'migrations':
        sa.Table('alembic_version', md,
                 sa.Column('version_num', sa.String(32), primary_key=True))
        sa.Table('executions_v2', md,
                 sa.Column('id', sa.String(36), primary_key=True),
                 sa.Column('type', sa.String(50)))
    return md


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def new_id() -> str:
    return str(uuid.uuid4())


class Upstream:
    """An upstream-like SQLite database (``url``) and row helpers."""

    def __init__(self, path: str, built_by: str = 'models',
                 revision: str = '045') -> None:
        self.url = 'sqlite:///' + path
        self.engine = sa.create_engine(self.url,
                                       poolclass=sa.pool.NullPool)
        self.md = metadata(built_by)
        self.md.create_all(self.engine)
        if built_by == 'migrations':
            self.insert('alembic_version', version_num=revision)
        self.insert('mistral_metrics', id=1, name='maintenance_status',
                    value='RUNNING', created_at=T0)
        self.t = T0

    def tick(self, seconds: int = 1) -> datetime.datetime:
        self.t += datetime.timedelta(seconds=seconds)
        return self.t

    def insert(self, table: str, **values: Any) -> dict[str, Any]:
        with self.engine.begin() as conn:
            conn.execute(self.md.tables[table].insert().values(**values))
        return values

    def update(self, table: str, row_id: Any, **values: Any) -> None:
        t = self.md.tables[table]
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == row_id).values(**values))

    def delete(self, table: str, row_id: Any) -> None:
        t = self.md.tables[table]
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.id == row_id))

    def workflow(self, name: str = 'wf', namespace: str | None = '',
                 spec: dict[str, Any] | None = None,
                 **extra: Any) -> dict[str, Any]:
        spec = spec or {'name': name, 'version': '2.0', 'tasks': {
            't1': {'action': 'std.noop', 'name': 't1', 'version': '2.0',
                   'type': 'direct'}}}
        return self.insert(
            'workflow_definitions_v2', id=new_id(), name=name,
            namespace=namespace, definition='---\nversion: "2.0"\n%s:\n  '
            'tasks:\n    t1:\n      action: std.noop\n' % name,
            spec=_j(spec), tags='[]', is_system=False, scope='private',
            project_id='<default-project>', created_at=self.tick(),
            checksum='0' * 32, **extra)

    def execution(self, wf: dict[str, Any], state: str = 'SUCCESS',
                  tasks: list[tuple[str, str, list[str]]] | None = None,
                  parent_task: str | None = None, root: str | None = None,
                  context: dict[str, Any] | None = None,
                  spec: dict[str, Any] | None = None,
                  **extra: Any) -> dict[str, Any]:
        """A workflow execution; ``tasks``: (name, state, [action
        states]) each. Returns the row with ``tasks`` and ``actions``."""
        ex_id = new_id()
        created = self.tick()
        row = self.insert(
            'workflow_executions_v2', id=ex_id, name=wf['name'],
            workflow_name=wf['name'], workflow_namespace='',
            workflow_id=wf['id'], state=state, state_info=None,
            tags='[]', runtime_context=_j({'index': 0}),
            spec=_j(spec if spec is not None else json.loads(wf['spec'])),
            accepted=state in ('SUCCESS', 'ERROR', 'CANCELLED'),
            input='{}', output='{}', params=_j({'namespace': '',
                                                 'env': {}}),
            context=_j(context if context is not None else
                       {'__execution': {'id': ex_id}}),
            task_execution_id=parent_task, root_execution_id=root,
            scope='private', project_id='<default-project>',
            created_at=created, updated_at=created, description='',
            **extra)
        row['tasks'], row['actions'] = [], []
        for name, task_state, actions in tasks or []:
            task_id = new_id()
            at = self.tick(0)
            row['tasks'].append(self.insert(
                'task_executions_v2', id=task_id, name=name,
                workflow_name=wf['name'], workflow_namespace='',
                workflow_id=wf['id'], state=task_state, tags='[]',
                runtime_context='{}', spec=_j({'action': 'std.noop',
                                               'name': name}),
                type='ACTION', started_at=at, finished_at=at,
                processed=True, has_next_tasks=False, next_tasks='[]',
                error_handled=False, in_context='{}', published='{}',
                workflow_execution_id=ex_id, scope='private',
                project_id='<default-project>', created_at=at,
                updated_at=at))
            for action_state in actions:
                row['actions'].append(self.insert(
                    'action_executions_v2', id=new_id(), name='std.noop',
                    workflow_name=wf['name'], workflow_namespace='',
                    workflow_id=wf['id'], state=action_state,
                    runtime_context=_j({'index': 0, 'safe_rerun': False}),
                    accepted=action_state == 'SUCCESS', input='{}',
                    output='{"result": null}', last_heartbeat=at,
                    is_sync=True, task_execution_id=task_id,
                    scope='private', project_id='<default-project>',
                    created_at=at, updated_at=at))
        return row
