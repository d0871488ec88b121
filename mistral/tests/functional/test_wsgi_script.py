"""``mistral-wsgi-api``: the API as a WSGI script file, as deployment tools
that point a WSGI server at a file (uWSGI ``wsgi-file``) load it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

LOAD = r'''
import json, runpy, sys
import webtest
ns = runpy.run_path(sys.argv[1], run_name='uwsgi_file_mistral_wsgi_api')
app = webtest.TestApp(ns['application'])
r = app.get('/v2/workflows')
print(json.dumps({'status': r.status_int, 'body': r.json}))
'''


def test_script_is_installed_and_serves_the_api(tmp_path):
    script = shutil.which('mistral-wsgi-api',
                          path=os.path.dirname(sys.executable))
    assert script, 'mistral-wsgi-api is not installed next to the python'
    # The installed script is the tree's file.
    assert open(script).read().split('\n', 1)[1] == open(os.path.join(
        ROOT, 'tools', 'mistral-wsgi-api')).read().split('\n', 1)[1]
    conf = tmp_path / 'mistral.conf'
    conf.write_text('[database]\nconnection = sqlite:///%s\n'
                    '[pecan]\nauth_enable = false\n'
                    % (tmp_path / 'db.sqlite'))
    env = dict(os.environ, MISTRAL_CONFIG_FILE=str(conf))
    # The schema, as mistral-db-manage upgrade head makes it.
    subprocess.run([os.path.join(os.path.dirname(sys.executable),
                                 'mistral-db-manage'), '--config-file',
                    str(conf), 'upgrade', 'head'], check=True,
                   capture_output=True, env=env, timeout=300)
    proc = subprocess.run([sys.executable, '-c', LOAD, script], env=env,
                          capture_output=True, text=True, timeout=300,
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {'status': 200, 'body': {'workflows': []}}
