"""Task contexts stored by reference, so published values are stored once.

A task's inbound context is what upstream tasks published along the
transitions that led to it. Rather than copying that whole context into
every task row (a 1 MB value published early would be written again for
every later task), a task stores ``context_refs``: for each top-level key,
``[task id, version]`` — the task whose ``published`` holds the current
value, and how many times the key was published along the path. The values
are read back from those tasks' ``published`` when needed, in one query per
context.

Versions decide merges (joins, the final context): a value re-published on
one branch wins over the older value another branch merely passed on,
whichever branch arrives last; on equal versions the later one wins.

With ``[engine] merge_strategy = merge`` nested values of different tasks
combine, so a key cannot name one owner: contexts are then stored whole in
``in_context`` as before.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import sqlalchemy as sa

from mistral.db import models
from mistral.workflow import data_flow

if TYPE_CHECKING:
    from mistral.engine.run import Run


def by_reference(run: Run) -> bool:
    return run.merge_strategy == 'replace'


def _entry(value: Any) -> tuple[str, int]:
    """(task id, version) of a reference (plain ids count as version 1)."""
    if isinstance(value, str):
        return value, 1
    return value[0], int(value[1])


def refs_after(task_ex: models.TaskExecution) -> dict[str, list]:
    """The references of what ``task_ex`` passes on: its own plus one for
    every key it published (one version higher)."""
    refs = dict(task_ex.context_refs or {})
    for key in task_ex.published or {}:
        version = _entry(refs[key])[1] + 1 if key in refs else 1
        refs[key] = [task_ex.id, version]
    return refs


def merge_refs(base: Mapping[str, Any], other: Mapping[str, Any]
               ) -> dict[str, Any]:
    """``other`` merged into ``base``: per key the higher version wins,
    the later (``other``) on a tie."""
    merged = dict(base)
    for key, entry in other.items():
        if key not in merged or _entry(entry)[1] >= _entry(merged[key])[1]:
            merged[key] = entry
    return merged


_PUBLISHED = sa.select(
    models.TaskExecution.id, models.TaskExecution.published).where(
        models.TaskExecution.id.in_(sa.bindparam('ids', expanding=True)))


def _published(run: Run, task_ids: Iterable[str]) -> dict[str, dict]:
    memo = run.published_memo
    missing = [t for t in set(task_ids) if t not in memo]
    if missing:
        with run.session.no_autoflush:
            found = run.session.execute(_PUBLISHED,
                                        {'ids': missing}).all()
        for task_id, published in found:
            memo[task_id] = published or {}
    return memo


def prefetch_published(runs: Iterable[Run]) -> None:
    """Read, in one query for all of ``runs`` (one transaction), what the
    contexts of their loaded tasks refer to: each run would otherwise ask
    for its own when its task goes on."""
    wanted: dict[str, list[Run]] = {}
    session = None
    for run in runs:
        if not by_reference(run):
            continue
        session = run.session
        for task_ex in run.tasks.values():
            for entry in (task_ex.context_refs or {}).values():
                task_id = _entry(entry)[0]
                if task_id not in run.published_memo:
                    wanted.setdefault(task_id, []).append(run)
    if not wanted or session is None:
        return
    with session.no_autoflush:
        found = session.execute(_PUBLISHED, {'ids': list(wanted)}).all()
    for task_id, published in found:
        for run in wanted[task_id]:
            run.published_memo[task_id] = published or {}


def materialize(run: Run, refs: Mapping[str, str]) -> dict[str, Any]:
    """The context the references stand for."""
    if not refs:
        return {}
    owners = {key: _entry(entry)[0] for key, entry in refs.items()}
    published = _published(run, owners.values())
    return {key: published.get(task_id, {}).get(key)
            for key, task_id in owners.items()}


def in_context(run: Run, task_ex: models.TaskExecution) -> dict[str, Any]:
    """A task's inbound context (references resolved, or stored whole)."""
    if task_ex.context_refs is None:
        return dict(task_ex.in_context or {})
    cached = run.context_memo.get(task_ex.id)
    if cached is None:
        cached = materialize(run, task_ex.context_refs)
        if task_ex.in_context:
            cached.update(task_ex.in_context)
        run.context_memo[task_ex.id] = cached
    return cached


def outbound(run: Run, task_ex: models.TaskExecution) -> dict[str, Any]:
    """What a finished task passes on (its inbound context + published)."""
    return data_flow.outbound_context(
        in_context(run, task_ex), task_ex.published, run.merge_strategy,
        defaults=collections.ChainMap(run.wf_context, run.wf_input))


def final_context(run: Run, end_tasks: list[models.TaskExecution]
                  ) -> dict[str, Any] | None:
    """The merged outbound contexts of the tasks that ended their branches,
    or None when some context is not stored by reference."""
    if any(t.context_refs is None for t in end_tasks):
        return None
    refs: dict[str, Any] = {}
    for t in end_tasks:
        refs = merge_refs(refs, refs_after(t))
    return data_flow.strip_internal(materialize(run, refs))


def remember_published(run: Run, task_ex: models.TaskExecution) -> None:
    """Later lookups in this transaction see what the task published."""
    run.published_memo[task_ex.id] = task_ex.published or {}


def forget(run: Run, task_ex: models.TaskExecution) -> None:
    """The task's context changed (join arrival, rerun)."""
    run.context_memo.pop(task_ex.id, None)
    run.published_memo.pop(task_ex.id, None)
