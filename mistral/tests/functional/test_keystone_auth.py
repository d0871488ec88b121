"""Authentication with keystonemiddleware against a real Keystone.

Keystone (the PyPI package, in a virtualenv of its own, on SQLite) is
bootstrapped and started by the test on 127.0.0.1; Mistral runs as real
processes (API, engine + executor + scheduler on PostgreSQL and RabbitMQ)
with ``[pecan] auth_enable = True`` and ``[keystone_authtoken]`` pointing at
that Keystone. python-mistralclient logs in with a user name and password
and finds the API through the Keystone catalog (service type
``workflowv2``), as in production.

Cast (one Keystone, three projects, the three default roles):

* project ``proj-a``: alice (member), rita (reader);
* project ``proj-b``: bob (member);
* project ``ops``: ada (admin);
* project ``service``: the API's own service user (role ``service``).

Keystone's implied roles give a member token ``member, reader`` and an admin
token ``admin, member, reader, manager``.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any, Callable, Iterator

import pytest
import requests
from mistralclient.api import base as client_base
from mistralclient.api import client as mistral_client

from mistral.tests.functional import harness
from mistral.tests.functional.realkeystone import KeystoneServer

# The first test also builds the Keystone virtualenv when the machine has
# none yet (about a minute, longer on a loaded machine).
pytestmark = pytest.mark.timeout(1500)

SERVICE_PASSWORD = 'mistral-service-secret'
PASSWORDS = {'alice': 'alice-pw', 'rita': 'rita-pw', 'bob': 'bob-pw',
             'ada': 'ada-pw'}
PROJECT_OF = {'alice': 'proj-a', 'rita': 'proj-a', 'bob': 'proj-b',
              'ada': 'ops'}
ROLE_OF = {'alice': 'member', 'rita': 'reader', 'bob': 'member',
           'ada': 'admin'}


def wf_text(name: str) -> str:
    return '''---
version: '2.0'
%s:
  input:
    - who: world
  output:
    greeting: <%% $.greeting %%>
  tasks:
    hello:
      action: std.echo output="hello <%% $.who %%>"
      publish:
        greeting: <%% task().result %%>
''' % name


class Cloud:
    """The Keystone, the Mistral deployment and the cast's ids."""

    def __init__(self, keystone: KeystoneServer,
                 dep: harness.Deployment,
                 projects: dict[str, str]) -> None:
        self.keystone = keystone
        self.dep = dep
        self.projects = projects

    def client(self, user: str) -> Any:
        """A mistralclient logged in as ``user`` (API from the catalog)."""
        return mistral_client.client(
            auth_url=self.keystone.url, username=user,
            api_key=PASSWORDS[user], project_name=PROJECT_OF[user],
            user_domain_name='Default', project_domain_name='Default')

    def token(self, user: str) -> str:
        return self.keystone.token(user, PASSWORDS[user], PROJECT_OF[user])

    def project(self, user: str) -> str:
        return self.projects[PROJECT_OF[user]]


@pytest.fixture(scope='module')
def keystone() -> Iterator[KeystoneServer]:
    with KeystoneServer() as ks:
        yield ks


@pytest.fixture(scope='module')
def cloud(keystone: KeystoneServer) -> Iterator[Cloud]:
    projects = {name: keystone.create_project(name)
                for name in ('proj-a', 'proj-b', 'ops', 'service')}
    for user, password in PASSWORDS.items():
        keystone.create_user(user, password, projects[PROJECT_OF[user]],
                             ROLE_OF[user])
    keystone.create_user('mistral', SERVICE_PASSWORD, projects['service'],
                         'service')
    api_port = harness.free_port()
    api_url = 'http://127.0.0.1:%d/v2' % api_port
    keystone.register_endpoint('workflowv2', 'mistral', api_url)
    conf = {
        'api': {'port': api_port},
        'pecan': {'auth_enable': True},
        'keystone_authtoken': {
            'www_authenticate_uri': keystone.url,
            'auth_url': keystone.url,
            'auth_type': 'password',
            'username': 'mistral',
            'password': SERVICE_PASSWORD,
            'project_name': 'service',
            'user_domain_id': 'default',
            'project_domain_id': 'default',
            'interface': 'public',
            'region_name': 'RegionOne',
            # Validate every request with Keystone: a revoked token must
            # be refused at once, not after the cache expires.
            'token_cache_time': -1,
        },
    }
    with harness.Deployment(
            db='postgresql', transport='rabbit',
            processes=[['api'], ['engine', 'executor', 'scheduler']],
            conf_overrides=conf) as dep:
        assert dep.api_url == api_url
        yield Cloud(keystone, dep, projects)


@pytest.fixture
def dep(cloud: Cloud) -> harness.Deployment:
    """The deployment, so that a failing test reports its logs."""
    return cloud.dep


def expect_error(status: int, call: Callable[..., Any], *args: Any,
                 **kwargs: Any) -> client_base.APIException:
    with pytest.raises(client_base.APIException) as info:
        call(*args, **kwargs)
    assert info.value.error_code == status, (
        'expected %d, got %s: %s' % (status, info.value.error_code,
                                     info.value.error_message))
    return info.value


def names(resources: list[Any]) -> set[str]:
    return {r.name for r in resources}


def wait_success(client: Any, execution_id: str) -> Any:
    last: list[Any] = [None]

    def done() -> bool:
        last[0] = client.executions.get(execution_id)
        return last[0].state in harness.TERMINAL_STATES

    harness.wait_for(done, 120, 'execution %s to finish' % execution_id)
    assert last[0].state == 'SUCCESS', last[0].state_info
    return last[0]


def test_missing_or_invalid_token_is_401(cloud: Cloud,
                                         dep: harness.Deployment) -> None:
    url = dep.api_url
    # Version discovery answers anonymously.
    assert requests.get(url + '/', timeout=60).status_code == 200

    r = requests.get(url + '/workflows', timeout=60)
    assert r.status_code == 401, r.text
    assert r.json()['faultstring'] == 'Authentication required.'
    # keystonemiddleware tells the client where to get a token.
    assert r.headers['WWW-Authenticate'] == \
        'Keystone uri="%s"' % cloud.keystone.url

    for bogus in ('not-a-token', 'gAAAAABnot-a-fernet-token'):
        r = requests.get(url + '/workflows', timeout=60,
                         headers={'X-Auth-Token': bogus})
        assert r.status_code == 401, r.text
        assert r.json()['faultstring'] == 'Auth token is invalid.'

    # A real token with one character changed fails Fernet's HMAC.
    good = cloud.token('alice')
    tampered = good[:-5] + ('A' if good[-5] != 'A' else 'B') + good[-4:]
    r = requests.get(url + '/workflows', timeout=60,
                     headers={'X-Auth-Token': tampered})
    assert r.status_code == 401, r.text

    # Identity headers from the client are not believed.
    r = requests.get(url + '/workflows', timeout=60, headers={
        'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin',
        'X-Project-Id': cloud.project('alice')})
    assert r.status_code == 401, r.text

    # The real token works, until Keystone revokes it.
    r = requests.get(url + '/workflows', timeout=60,
                     headers={'X-Auth-Token': good})
    assert r.status_code == 200, r.text
    cloud.keystone.revoke(good)
    r = requests.get(url + '/workflows', timeout=60,
                     headers={'X-Auth-Token': good})
    assert r.status_code == 401, r.text

    # The client surfaces the 401 as an APIException.
    http = mistral_client.client(mistral_url=url, auth_token='bogus')
    expect_error(401, http.workflows.list)


def test_tenant_isolation(cloud: Cloud, dep: harness.Deployment) -> None:
    alice, bob = cloud.client('alice'), cloud.client('bob')

    wf_a = alice.workflows.create(wf_text('iso_a'))[0]
    wf_b = bob.workflows.create(wf_text('iso_b'))[0]
    assert wf_a.project_id == cloud.project('alice')
    assert wf_b.project_id == cloud.project('bob')
    assert 'iso_a' in names(alice.workflows.list())
    assert 'iso_b' not in names(alice.workflows.list())
    assert 'iso_b' in names(bob.workflows.list())
    assert 'iso_a' not in names(bob.workflows.list())

    # Another project's workflow does not exist for bob...
    expect_error(404, bob.workflows.get, wf_a.id)
    expect_error(404, bob.workflows.get, 'iso_a')
    expect_error(404, bob.executions.create, 'iso_a')
    expect_error(404, bob.workflows.delete, 'iso_a')
    assert alice.workflows.get(wf_a.id).name == 'iso_a'

    # ...nor do its executions, whose project is carried through the
    # engine and executor processes.
    ex = alice.executions.create(wf_a.id, workflow_input={'who': 'a'})
    assert ex.project_id == cloud.project('alice')
    ex = wait_success(alice, ex.id)
    assert '"hello a"' in ex.output
    assert ex.id in {e.id for e in alice.executions.list()}
    assert ex.id not in {e.id for e in bob.executions.list()}
    expect_error(404, bob.executions.get, ex.id)
    expect_error(404, bob.tasks.list, ex.id)
    expect_error(404, bob.executions.delete, ex.id)
    tasks = alice.tasks.list(ex.id)
    assert [t.name for t in tasks] == ['hello']
    assert tasks[0].project_id == cloud.project('alice')

    # Environments of the same name live side by side.
    alice.environments.create(name='iso_env', variables={'owner': 'a'})
    bob.environments.create(name='iso_env', variables={'owner': 'b'})
    assert alice.environments.get('iso_env').variables == {'owner': 'a'}
    assert bob.environments.get('iso_env').variables == {'owner': 'b'}

    # The CLI, configured only with Keystone credentials, finds the API in
    # the catalog and lists alice's workflows.
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(OS_AUTH_URL=cloud.keystone.url, OS_USERNAME='alice',
               OS_PASSWORD=PASSWORDS['alice'], OS_PROJECT_NAME='proj-a',
               OS_USER_DOMAIN_NAME='Default',
               OS_PROJECT_DOMAIN_NAME='Default')
    proc = subprocess.run(
        [harness._script('mistral'), 'workflow-list', '-c', 'Name',
         '-f', 'value'], env=env, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stderr
    listed = set(proc.stdout.split())
    assert 'iso_a' in listed and 'iso_b' not in listed, proc.stdout


def test_sharing_through_members(cloud: Cloud,
                                 dep: harness.Deployment) -> None:
    alice, bob = cloud.client('alice'), cloud.client('bob')
    project_b = cloud.project('bob')
    wf = alice.workflows.create(wf_text('shared_wf'))[0]
    assert 'shared_wf' not in names(bob.workflows.list())

    member = alice.members.create(wf.id, 'workflow', project_b)
    assert member.status == 'pending'
    assert member.member_id == project_b
    # Pending: bob sees the invitation, not the workflow.
    assert bob.members.get(wf.id, 'workflow', project_b).status == \
        'pending'
    assert 'shared_wf' not in names(bob.workflows.list())
    expect_error(404, bob.workflows.get, wf.id)

    accepted = bob.members.update(wf.id, 'workflow', project_b,
                                  status='accepted')
    assert accepted.status == 'accepted'
    assert [(m.member_id, m.status) for m in
            alice.members.list(wf.id, 'workflow')] == [
                (project_b, 'accepted')]

    # Accepted: bob lists, reads and runs it; the run is bob's.
    assert 'shared_wf' in names(bob.workflows.list())
    assert bob.workflows.get(wf.id).project_id == cloud.project('alice')
    ex = bob.executions.create(wf.id, workflow_input={'who': 'b'})
    assert ex.project_id == project_b
    assert '"hello b"' in wait_success(bob, ex.id).output
    assert ex.id not in {e.id for e in alice.executions.list()}

    # But it stays alice's: bob may not change or delete it.
    err = expect_error(403, bob.workflows.delete, wf.id)
    assert 'other projects' in err.error_message
    expect_error(403, bob.workflows.update, wf_text('shared_wf'),
                 id=wf.id)
    # Nor can bob share it further.
    expect_error(404, bob.members.create, wf.id, 'workflow',
                 cloud.project('ada'))

    # Alice ends the share: the workflow disappears for bob.
    alice.members.delete(wf.id, 'workflow', project_b)
    assert 'shared_wf' not in names(bob.workflows.list())
    expect_error(404, bob.workflows.get, wf.id)


def test_personas(cloud: Cloud, dep: harness.Deployment) -> None:
    alice, rita = cloud.client('alice'), cloud.client('rita')
    bob, ada = cloud.client('bob'), cloud.client('ada')
    wf = alice.workflows.create(wf_text('persona_wf'))[0]
    bob.workflows.create(wf_text('persona_b'))
    alice.environments.create(name='persona_env', variables={'k': 1})
    ex = alice.executions.create(wf.id)
    wait_success(alice, ex.id)

    # The reader lists and reads its project's objects...
    assert 'persona_wf' in names(rita.workflows.list())
    assert 'persona_b' not in names(rita.workflows.list())
    assert rita.workflows.get(wf.id).name == 'persona_wf'
    assert rita.environments.get('persona_env').variables == {'k': 1}
    assert rita.executions.get(ex.id).state == 'SUCCESS'
    assert ex.id in {e.id for e in rita.executions.list()}
    # ...but creates, updates and deletes nothing.
    expect_error(403, rita.workflows.create, wf_text('rita_wf'))
    expect_error(403, rita.workflows.update, wf_text('persona_wf'),
                 id=wf.id)
    expect_error(403, rita.workflows.delete, wf.id)
    expect_error(403, rita.executions.create, wf.id)
    expect_error(403, rita.executions.delete, ex.id)
    expect_error(403, rita.environments.create, name='rita_env',
                 variables={})
    expect_error(403, rita.environments.delete, 'persona_env')
    assert 'rita_wf' not in names(alice.workflows.list())
    assert alice.workflows.get(wf.id).name == 'persona_wf'

    # The member does all of it.
    created = alice.workflows.create(wf_text('member_wf'))[0]
    updated = alice.workflows.update(
        wf_text('member_wf').replace('hello <%', 'hi <%'), id=created.id)
    # With an id the client (and API) answer one workflow, not a list.
    assert updated.id == created.id
    assert 'hi <%' in updated.definition
    alice.workflows.delete(created.id)
    expect_error(404, alice.workflows.get, created.id)

    # Only an admin lists across projects, and may publish.
    expect_error(403, alice.workflows.list, all_projects=True)
    expect_error(403, alice.executions.list, all_projects=True)
    everything = names(ada.workflows.list(all_projects=True))
    assert {'persona_wf', 'persona_b'} <= everything
    assert ex.id in {e.id for e in ada.executions.list(all_projects=True)}
    assert ada.workflows.get(wf.id).project_id == cloud.project('alice')

    expect_error(403, bob.workflows.create, wf_text('bob_public'),
                 scope='public')
    public = ada.workflows.create(wf_text('ops_public'), scope='public')[0]
    assert public.scope == 'public'
    assert 'ops_public' in names(alice.workflows.list())
    assert 'ops_public' in names(rita.workflows.list())
    assert 'ops_public' in names(bob.workflows.list())
    # Visible is not owned: only the owner (or an admin) deletes it.
    expect_error(403, bob.workflows.delete, public.id)


def test_keystone_that_cannot_be_installed_fails_clearly(
        tmp_path: Any, monkeypatch: Any) -> None:
    """No Keystone means a failing test with pip's reason, never a skip."""
    from mistral.tests.functional import realkeystone

    venv = tmp_path / 'keystone-venv'
    monkeypatch.setenv('MISTRAL_TEST_KEYSTONE_VENV', str(venv))
    # No such release: pip fails, and its reason is in the message.
    monkeypatch.setattr(realkeystone, 'KEYSTONE_VERSION', '0.0.0.bogus')
    with pytest.raises(realkeystone.KeystoneUnavailable) as info:
        realkeystone.ensure_venv()
    message = str(info.value)
    assert 'installing keystone==0.0.0.bogus' in message
    assert 'the auth tests need a real Keystone' in message
    assert 'No matching distribution found for keystone==0.0.0.bogus' \
        in message, message
    # Nothing half-built is left to be mistaken for a Keystone next time.
    assert not venv.exists()
