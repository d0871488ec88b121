"""Many-row UPDATEs on PostgreSQL: one round trip per page, every row
written.

The results of a batch of actions are written with one executemany
UPDATE (mistral.engine.engine._RECORD_RESULT). With psycopg2 such a
statement went to the server once per row; the engine is now created so
that the driver sends pages of them at once.
"""

from __future__ import annotations

import psycopg2.extras
import pytest
import sqlalchemy as sa

from mistral.db import api as db_api
from mistral.tests.functional import harness


@pytest.fixture
def pg():
    with harness.in_process_database('postgresql') as database:
        yield database


def test_many_row_update_goes_in_pages(pg, monkeypatch):
    pages = []
    real = psycopg2.extras.execute_batch

    def execute_batch(cur, sql, argslist, page_size=100):
        argslist = list(argslist)
        pages.append(len(argslist))
        return real(cur, sql, argslist, page_size=page_size)

    monkeypatch.setattr(psycopg2.extras, 'execute_batch', execute_batch)
    meta = sa.MetaData()
    t = sa.Table('many_rows', meta, sa.Column('id', sa.Integer,
                                              primary_key=True),
                 sa.Column('state', sa.String(20)))
    engine = db_api.get_engine()
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{'id': i, 'state': 'RUNNING'}
                                  for i in range(250)])
        conn.execute(t.update().where(t.c.id == sa.bindparam('pk')).values(
            state=sa.bindparam('st')),
            [{'pk': i, 'st': 'SUCCESS' if i % 2 else 'ERROR'}
             for i in range(250)])
    # One call of the driver's paging helper for the 250 rows (it sends
    # them 100 to a round trip), not 250 statements.
    assert pages == [250]
    with engine.connect() as conn:
        states = dict(conn.execute(sa.select(t.c.id, t.c.state)).all())
    assert states == {i: 'SUCCESS' if i % 2 else 'ERROR'
                      for i in range(250)}
