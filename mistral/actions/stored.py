"""What ad-hoc and dynamic actions share: actions stored in the database.

Both providers look a name up in the requested namespace, then in the
default one, and pick, among rows of the same name, the one a project
sees. Only reading their rows and building a descriptor from a row
differ; those are the two methods a provider defines.
"""

from __future__ import annotations

import logging
from typing import Any, Generic, TypeVar

from mistral_lib import actions as ml_actions

from mistral import config
from mistral import exceptions

LOG = logging.getLogger(__name__)
CONF = config.CONF

# Rows created without a project (auth off) carry this project id.
DEFAULT_PROJECT_ID = '<default-project>'

D = TypeVar('D')


def visible(rows: list[Any], project_id: str | None) -> Any:
    """The row a project sees: its own first, then a public one; without a
    project, the default project's row, else the first."""
    if project_id is not None:
        for row in rows:
            if row.project_id == project_id:
                return row
        for row in rows:
            if row.scope == 'public':
                return row
        return None
    for row in rows:
        if row.project_id in (None, DEFAULT_PROJECT_ID):
            return row
    return rows[0] if rows else None


class StoredActionProvider(ml_actions.ActionProvider, Generic[D]):
    """Lookup by namespace and project over rows a subclass reads.

    Subclasses define ``_rows(name, namespace)`` (rows as plain objects,
    ``name=None`` for all, ordered by name) and ``_descriptor(row)``.
    ``skip_broken``: whether ``find_all`` leaves out, with a warning, an
    action whose descriptor cannot be built (InvalidActionException)
    instead of failing the whole list. Without a configured database
    there are no stored actions.
    """

    accepts_project_id = True
    skip_broken = False

    @staticmethod
    def _db_configured() -> bool:
        try:
            return bool(CONF.database.connection)
        except Exception:
            return False

    def _rows(self, name: str | None, namespace: str) -> list[Any]:
        raise NotImplementedError

    def _descriptor(self, row: Any) -> D:
        raise NotImplementedError

    def find(self, action_name: str, namespace: str | None = None,
             project_id: str | None = None) -> D | None:
        if not self._db_configured():
            return None
        for ns in dict.fromkeys([namespace or '', '']):
            row = visible(self._rows(action_name, ns), project_id)
            if row is not None:
                return self._descriptor(row)
        return None

    def find_all(self, namespace: str | None = None,
                 limit: int | None = None,
                 sort_fields: list[str] | None = None,
                 sort_dirs: list[str] | None = None,
                 filters: dict[str, Any] | None = None,
                 project_id: str | None = None,
                 **kwargs: Any) -> list[D]:
        if not self._db_configured():
            return []
        by_name: dict[str, list[Any]] = {}
        for row in self._rows(None, namespace or ''):
            by_name.setdefault(row.name, []).append(row)
        result = []
        for rows in by_name.values():
            row = visible(rows, project_id)
            if row is None:
                continue
            try:
                result.append(self._descriptor(row))
            except exceptions.InvalidActionException as e:
                if not self.skip_broken:
                    raise
                # One broken action must not hide the others.
                LOG.warning('%s', e)
        return result
