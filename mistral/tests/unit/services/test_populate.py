"""mistral-db-manage populate installs std.wait_ssh, idempotently."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import sqlalchemy as sa


def test_populate_installs_wait_ssh_once():
    with tempfile.TemporaryDirectory() as tmp:
        url = 'sqlite:///' + os.path.join(tmp, 'm.sqlite')
        conf = os.path.join(tmp, 'm.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = %s\n' % url)
        cmd = [sys.executable, '-m', 'mistral.cmd.db_manage',
               '--config-file', conf]
        for args in (['upgrade', 'head'], ['populate'], ['populate']):
            subprocess.run(cmd + args, check=True, capture_output=True)
        engine = sa.create_engine(url)
        with engine.connect() as c:
            rows = c.execute(sa.text(
                'SELECT name, scope, is_system FROM action_definitions_v2'
            )).all()
        engine.dispose()
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [
        ('std.wait_ssh', 'public', True)]
