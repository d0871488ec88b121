"""The console ships whole in the Python package, and needs nothing else.

``pip install .`` (not editable) must carry every file of
``mistral/api/console/static``; none of them may load anything from
another host (no CDN: the console works with no internet).
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import zipfile
from typing import Any

from mistral.api.console import assets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))

# Addresses that are names, not downloads (XML namespaces).
_NAMESPACES = ('http://www.w3.org/2000/svg',)


def test_a_wheel_carries_every_console_file(tmp_path: Any) -> None:
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(tmp_path), ROOT],
        capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = glob.glob(str(tmp_path / '*.whl'))
    assert len(wheel) == 1, os.listdir(tmp_path)
    names = set(zipfile.ZipFile(wheel[0]).namelist())
    expected = {'mistral/api/console/static/' + n
                for n in assets.AssetStore().names()}
    assert {'mistral/api/console/static/index.html',
            'mistral/api/console/static/js/main.js',
            'mistral/api/console/static/vendor/js-yaml.mjs'} <= expected
    missing = sorted(expected - names)
    assert not missing, ('files of the console left out of the wheel (are '
                         'they committed?): %s' % missing)


def test_no_file_loads_from_another_host() -> None:
    store = assets.AssetStore()
    for name in store.names():
        if not name.endswith(('.js', '.mjs', '.css', '.html', '.svg')):
            continue
        text = open(os.path.join(assets.STATIC_DIR, name),
                    encoding='utf-8').read()
        # Nothing is imported, fetched or linked from elsewhere...
        assert not re.search(r'(import|from|fetch|url)\s*\(?\s*[\'"]'
                             r'(https?:)?//', text), name
        if name.startswith('vendor/'):
            continue  # (its comments cite web pages)
        # ...and our own files name no other host at all.
        urls = [u for u in re.findall(r'(?:https?:)?//[\w.-]+\.[a-z]{2,}'
                                      r'[^\s"\')]*', text)
                if not u.startswith(_NAMESPACES)]
        assert not urls, '%s refers to other hosts: %s' % (name, urls)
