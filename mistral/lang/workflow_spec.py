"""Workflow specifications (direct and reverse)."""

from __future__ import annotations

from typing import Any, cast

from mistral import exceptions as exc
from mistral.lang import checks
from mistral.lang import input_spec as inputs
from mistral.lang import safe_yaml
from mistral.lang import schemas
from mistral.lang import task_spec
from mistral.lang.task_spec import TaskSpec
from mistral.utils import ids

DIRECT = 'direct'
REVERSE = 'reverse'


class WorkflowSpec:
    """A parsed workflow. Attributes are plain values (see module doc)."""

    def __init__(self, data: dict[str, Any], validate: bool = True,
                 definition: str | None = None) -> None:
        # A non-empty string once validated (stored specs are).
        name = cast(str, data.get('name'))
        place = checks.where(workflow=name)

        if validate:
            checks.check_name(name, 'Workflow', place)
            if ids.is_uuid(name):
                raise exc.InvalidModelException(
                    f"Workflow name '{name}' looks like a UUID; UUIDs "
                    'identify workflows, so names cannot have that form.')
            checks.check_schema(data, schemas.WORKFLOW, place)

        self._data = data
        self._definition = definition
        self.name: str = name
        self.type: str = data.get('type', DIRECT)
        self.description: str | None = data.get('description')
        self.tags: list[str] = list(data.get('tags') or [])
        self.input_spec: list[Any] = list(data.get('input') or [])
        self.required_input = inputs.required_input(self.input_spec)
        self.input_defaults = inputs.input_defaults(self.input_spec)
        self.output: dict[str, Any] | None = data.get('output')
        self.output_on_error: dict[str, Any] | None = \
            data.get('output-on-error')
        self.vars: dict[str, Any] = dict(data.get('vars') or {})
        self.task_defaults: dict[str, Any] = \
            dict(data.get('task-defaults') or {})

        if validate:
            self._validate_top(place)

        self.tasks: dict[str, TaskSpec] = {}

        for task_name, task_data in (data.get('tasks') or {}).items():
            # YAML turns a key like 1 into an int; names are strings.
            task_name = str(task_name)
            task_place = checks.where(workflow=name, task=task_name)

            if validate:
                checks.check_name(task_name, 'Task', task_place)
                schema = schemas.DIRECT_TASK if self.type == DIRECT \
                    else schemas.REVERSE_TASK
                if not isinstance(task_data, dict) or not task_data:
                    raise exc.InvalidModelException(
                        f'Invalid DSL ({task_place}): a task must be a '
                        'non-empty mapping.')
                checks.check_schema(task_data, schema, task_place)

            task_data = {**task_data, 'name': task_name, 'version': '2.0',
                         'type': self.type}
            self.tasks[task_name] = TaskSpec(
                task_data, self.type, self.task_defaults, name, validate)

        self._inbound: dict[str, list[str]] = {t: [] for t in self.tasks}

        for task in self.tasks.values():
            for transition in task.all_transitions():
                # As upstream, an engine command wins over a task of the
                # same name: such a task runs only as a start task.
                transition.is_engine_command = \
                    transition.name in checks.COMMANDS
                inbound = self._inbound.get(transition.name)
                if inbound is not None and task.name not in inbound:
                    inbound.append(task.name)

        if validate:
            if self.type == DIRECT:
                self._validate_direct()
            else:
                self._validate_reverse()

    # ------------------------------------------------------------ checks

    def _validate_top(self, place: str) -> None:
        schema = schemas.DIRECT_TASK_DEFAULTS if self.type == DIRECT \
            else schemas.REVERSE_TASK_DEFAULTS
        defaults_place = place + ', task-defaults'
        checks.check_schema(self.task_defaults, schema, defaults_place)
        checks.check_expressions(self.task_defaults, defaults_place)

        for key in task_spec.ON_CLAUSES:
            task_spec.parse_on_clause(self.task_defaults.get(key),
                                      f"{defaults_place}, '{key}'", True)

        task_spec.parse_retry(self.task_defaults.get('retry'),
                              defaults_place, True)

        # Input defaults are not checked: upstream never evaluates them.
        for key in ('output', 'output-on-error', 'vars'):
            if key in self._data:
                checks.check_expressions(
                    self._data[key], f"{place}, keyword '{key}'")

    def _validate_direct(self) -> None:
        for task in self.tasks.values():
            for clause in ('on-success', 'on-error', 'on-complete',
                           'on-skip'):
                on = getattr(task, clause.replace('-', '_'), None)
                if on is not None:
                    checks.check_fan_out(
                        task.name, clause, len(on.next), checks.where(
                            workflow=self.name, task=task.name))
            for transition in task.all_transitions():
                if transition.name not in self.tasks and \
                        transition.name not in checks.COMMANDS:
                    raise exc.InvalidModelException(
                        f"Task '{transition.name}' not found.")

        if not self.start_task_names():
            raise exc.DSLParsingException(
                f"Workflow '{self.name}' has no start task: every task has "
                'an inbound transition, so none can run first. A direct '
                'workflow needs at least one task without inbound '
                'transitions.')

        errors = []

        for task in self.tasks.values():
            if task.join is None:
                continue

            inbound = len(self._inbound[task.name])

            if task.join == 'all':
                if inbound == 0:
                    errors.append(
                        f"Task '{task.name}' has 'join: all' but no task "
                        'transitions to it.')
            elif isinstance(task.join, int) and inbound < task.join:
                errors.append(
                    f"Task '{task.name}' has 'join: {task.join}' but only "
                    f'{inbound} task(s) transition to it.')

        if errors:
            raise exc.InvalidModelException('\n'.join(errors))

    def _validate_reverse(self) -> None:
        for task in self.tasks.values():
            for required in task.requires:
                if required not in self.tasks:
                    # Upstream's exact text.
                    raise exc.InvalidModelException(
                        f"Task '{required}' not found.")

        cycle = self.requires_cycle()
        if cycle:
            raise exc.InvalidModelException(self.cycle_message(cycle))

    def cycle_message(self, cycle: list[str]) -> str:
        return (f"Invalid DSL (workflow '{self.name}'): the 'requires' of "
                f"tasks {', '.join(repr(t) for t in cycle[:-1])} form a "
                f"cycle ({' -> '.join(cycle)}), so none of them can ever "
                'run.')

    def requires_cycle(self) -> list[str] | None:
        """A cycle of ``requires`` as [a, b, ..., a], or None.

        Iterative depth-first search in document order (no recursion
        limit on long chains); each task is visited once.
        """
        done: set[str] = set()
        for root in self.tasks:
            if root in done:
                continue
            path: list[str] = [root]
            on_path = {root}
            stack = [iter(self.tasks[root].requires)]
            while stack:
                required = next(stack[-1], None)
                if required is None:
                    stack.pop()
                    finished = path.pop()
                    on_path.discard(finished)
                    done.add(finished)
                elif required in on_path:
                    return path[path.index(required):] + [required]
                elif required not in done and required in self.tasks:
                    path.append(required)
                    on_path.add(required)
                    stack.append(iter(self.tasks[required].requires))
        return None

    # ------------------------------------------------------------ queries

    def start_task_names(self) -> list[str]:
        """Direct: tasks no transition points at (document order)."""
        return [name for name, inbound in self._inbound.items()
                if not inbound]

    def inbound_task_names(self, name: str) -> list[str]:
        """Direct: tasks with ``name`` in any of their on-* clauses."""
        return list(self._inbound.get(name, ()))

    def get_task(self, name: str) -> TaskSpec | None:
        return self.tasks.get(name)

    @property
    def interface(self) -> dict[str, Any]:
        return {'input': self.input_spec,
                'output': list(self.output or {})}

    @property
    def definition(self) -> str:
        if self._definition is None:
            raw = {k: v for k, v in self._data.items()
                   if k not in ('name', 'version')}
            raw['tasks'] = {
                name: {k: v for k, v in task.to_dict().items()
                       if k not in ('name', 'version', 'type')}
                for name, task in self.tasks.items()
            }
            self._definition = safe_yaml.dump(
                {'version': '2.0', self.name: raw})
        return self._definition

    def to_dict(self) -> dict[str, Any]:
        """Upstream-style spec: the DSL data with name/version injected.

        ``tasks`` hold each task's data with name, version and type.
        """
        result = {k: v for k, v in self._data.items() if k != 'tasks'}
        result['tasks'] = {n: t.to_dict() for n, t in self.tasks.items()}
        return result

    def __repr__(self) -> str:
        return f'WorkflowSpec({self.name!r}, type={self.type!r})'
