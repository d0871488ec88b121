"""The API under real uWSGI (``uwsgi --ini etc/uwsgi.ini``).

``mistral.wsgi:application`` reads the deployment's config file through
``MISTRAL_CONFIG_FILE`` and one more file from ``MISTRAL_CONFIG_DIR``;
engine and executor are separate
``mistral-server`` processes on a private RabbitMQ vhost and PostgreSQL
database. The unmodified ``mistral`` CLI drives a workflow through it.

uWSGI comes from PyPI (``pip install pyuwsgi``, in test-requirements.txt),
whose monolithic binary has Python built in.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from typing import Any, Iterator

import pytest
import requests
import sqlalchemy as sa

from mistral.tests.functional.harness import Deployment
from mistral.tests.functional.harness import DeploymentError
from mistral.tests.functional.harness import free_port
from mistral.tests.functional.harness import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
INI = os.path.join(ROOT, 'etc', 'uwsgi.ini')

WF = """---
version: '2.0'

uwsgi_hello:
  input:
    - name
  output:
    greeting: <% $.greeting %>
  tasks:
    say_hello:
      action: std.echo output="Hello, <% $.name %>!"
      publish:
        greeting: <% task().result %>
"""


def _uwsgi() -> str:
    here = os.path.join(os.path.dirname(sys.executable), 'uwsgi')
    found = here if os.access(here, os.X_OK) else shutil.which('uwsgi')
    if not found:
        raise DeploymentError('uwsgi is not installed; run "pip install '
                              '-r test-requirements.txt" (pyuwsgi)')
    return found


class UWSGI:
    """``uwsgi --ini etc/uwsgi.ini`` on a free port of 127.0.0.1."""

    def __init__(self, conf_path: str, log_path: str,
                 conf_dir: str) -> None:
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d/v2' % self.port
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('MISTRAL_CONFIG_', 'UWSGI_'))}
        env.update(MISTRAL_CONFIG_FILE=conf_path, MISTRAL_CONFIG_DIR=conf_dir,
                   MISTRAL_API_LISTEN='127.0.0.1:%d' % self.port,
                   PYTHONUNBUFFERED='1')
        with open(log_path, 'ab') as log:
            self.popen = subprocess.Popen(
                [_uwsgi(), '--ini', INI], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)

    def log(self) -> str:
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def ready(self) -> bool:
        if self.popen.poll() is not None:
            raise DeploymentError('uwsgi exited with %s:\n%s' % (
                self.popen.returncode, self.log()[-5000:]))
        try:
            return requests.get(self.url + '/', timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> int | None:
        if self.popen.poll() is None:
            # die-on-term: SIGTERM stops the master and its workers.
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                pass
        code = self.popen.poll()
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # stragglers
        except ProcessLookupError:
            pass
        if code is None:
            code = self.popen.wait(10)
        return code


@pytest.fixture
def uwsgi_deployment(tmp_path: Any) -> Iterator[tuple[Deployment, UWSGI]]:
    with Deployment(db='postgresql', transport='rabbit',
                    processes=[['engine'], ['executor']]) as dep:
        # MISTRAL_CONFIG_DIR adds files on top of MISTRAL_CONFIG_FILE.
        conf_dir = tmp_path / 'mistral.conf.d'
        conf_dir.mkdir()
        (conf_dir / 'limits.conf').write_text('[api]\nmax_limit = 1\n')
        server = UWSGI(dep.conf_path, str(tmp_path / 'uwsgi.log'),
                       str(conf_dir))
        try:
            wait_for(server.ready, 60, 'uwsgi to answer GET /v2/',
                     logs=lambda: server.log()[-5000:])
            yield dep, server
        finally:
            code = server.stop()
            print('uwsgi exited with %s; log:\n%s' % (
                code, server.log()[-3000:]))


def _cli(server: UWSGI, tmp_path: Any, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env['OS_MISTRAL_URL'] = server.url
    mistral = os.path.join(os.path.dirname(sys.executable), 'mistral')
    proc = subprocess.run([mistral if os.access(mistral, os.X_OK)
                           else 'mistral', *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    assert 'Traceback' not in proc.stderr
    return proc.stdout


def test_cli_smoke_through_uwsgi(uwsgi_deployment: Any, tmp_path: Any
                                 ) -> None:
    dep, server = uwsgi_deployment
    (tmp_path / 'hello.yaml').write_text(WF)

    def cj(*args: str) -> Any:
        return json.loads(_cli(server, tmp_path, *args, '-f', 'json'))

    created = cj('workflow-create', 'hello.yaml')
    assert [w['Name'] for w in created] == ['uwsgi_hello']
    # [api] max_limit = 1 from MISTRAL_CONFIG_DIR clamps the page (of
    # any list but actions, which upstream never caps).
    for name in ('uwsgi_env_a', 'uwsgi_env_b'):
        made = requests.post(server.url + '/environments', json={
            'name': name, 'variables': {'k': name}}, timeout=60)
        assert made.status_code == 201, made.text
    r = requests.get(server.url + '/environments?limit=50', timeout=60)
    assert len(r.json()['environments']) == 1, r.text
    assert 'limit=1&' in r.json()['next']
    ex = cj('execution-create', 'uwsgi_hello', '{"name": "uWSGI"}')
    assert ex['Workflow name'] == 'uwsgi_hello'
    ex_id = ex['ID']

    def state() -> str | None:
        value = cj('execution-get', ex_id)['State']
        assert value in ('RUNNING', 'SUCCESS'), value
        return value if value == 'SUCCESS' else None

    wait_for(state, 60, 'execution %s to succeed' % ex_id, interval=0.5,
             logs=lambda: dep.logs(tail=60))
    got = cj('execution-get', ex_id)
    assert got['State'] == 'SUCCESS' and got['ID'] == ex_id
    output = json.loads(_cli(server, tmp_path, 'execution-get-output',
                             ex_id))
    assert output == {'greeting': 'Hello, uWSGI!'}
    tasks = cj('task-list', ex_id)
    assert [(t['Name'], t['State']) for t in tasks] == [
        ('say_hello', 'SUCCESS')]
    _cli(server, tmp_path, 'workflow-delete', 'uwsgi_hello')
    names = [w['Name'] for w in cj('workflow-list')]
    assert 'uwsgi_hello' not in names

    # The API read MISTRAL_CONFIG_FILE: its rows are in the deployment's
    # PostgreSQL database (the engine ran the execution there).
    engine = sa.create_engine(dep.db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                'SELECT state FROM workflow_executions_v2 WHERE id = :id'),
                {'id': ex_id}).one()
            wf_left = conn.execute(sa.text(
                "SELECT count(*) FROM workflow_definitions_v2 "
                "WHERE name = 'uwsgi_hello'")).scalar()
    finally:
        engine.dispose()
    assert row.state == 'SUCCESS' and wf_left == 0
    # And uWSGI, not another server, answered: its own request log lines
    # ("[pid: ..|app: ..|req: ..] ... GET /path => generated ...").
    log = server.log()
    served = [line for line in log.splitlines()
              if line.startswith('[pid: ') and ' => generated ' in line]
    for request in ('POST /v2/workflows', 'POST /v2/executions',
                    'GET /v2/executions/%s ' % ex_id,
                    'GET /v2/executions/%s/tasks' % ex_id,
                    'DELETE /v2/workflows/uwsgi_hello '):
        assert any(request in line for line in served), (request, served)
    assert 'Traceback' not in log
