"""One engine transaction and the messages it implies."""

from __future__ import annotations

import contextlib
from typing import Iterator

from sqlalchemy import orm

from mistral.db import api as db_api
from mistral.engine import bulk
from mistral.engine import outbox


@contextlib.contextmanager
def unit_of_work(outbox_id: str | None = None
                 ) -> Iterator[tuple[orm.Session, outbox.Batch]]:
    """State changes and outbox rows commit together; the rows that are
    due are sent only after the commit succeeded.

    ``outbox_id`` is the row of the message being applied: it is deleted
    in the same transaction, so it is applied once or sent again.
    """
    batch = outbox.Batch()
    with db_api.transaction() as session:
        outbox.acknowledge(session, outbox_id)
        yield session, batch
        bulk.flush(session)
        batch.write(session)
    outbox.relay().deliver(batch.due_now())
