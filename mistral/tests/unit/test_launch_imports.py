"""A component runs the same mistral as the launcher that started it."""

from __future__ import annotations

import subprocess
import sys

from mistral import exceptions
from mistral.cmd import launch


def test_a_component_does_not_import_mistral_from_its_working_directory(
        tmp_path, monkeypatch):
    # Another checkout of mistral in the directory the server is started
    # from: its launcher module announces itself and fails.
    shadow = tmp_path / 'mistral' / 'cmd'
    shadow.mkdir(parents=True)
    (tmp_path / 'mistral' / '__init__.py').write_text('')
    (shadow / '__init__.py').write_text('')
    (shadow / 'launch.py').write_text(
        'import sys\nprint("the other checkout ran")\nsys.exit(3)\n')
    monkeypatch.setattr(sys, 'argv', ['mistral-server', '--server', 'all'])

    # A component name no server has: the real launcher refuses it at once.
    argv = launch._child_argv('no-such-component')
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)

    assert 'the other checkout ran' not in proc.stdout
    assert proc.returncode == exceptions.EXIT_CONFIG, proc.stderr
    assert 'Unknown server "no-such-component"' in proc.stderr
