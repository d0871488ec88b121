"""The console with Keystone: logging in and the reader's view.

A real Keystone (see ``mistral.tests.functional.realkeystone``) and
Mistral on PostgreSQL and RabbitMQ with ``[pecan] auth_enable``. The login
form posts to the console's server, which gets a token from the identity
endpoint the API is configured with; the browser then calls ``/v2`` with
it. A reader sees no button that changes anything; a member does, and the
API refuses the reader anyway.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
import requests

from mistral.tests.functional import harness
from mistral.tests.functional.console.browser import Browser
from mistral.tests.functional.realkeystone import KeystoneServer

pytestmark = pytest.mark.timeout(1500)

SERVICE_PASSWORD = 'console-service-secret'
USERS = {'alice': ('alice-pw', 'member'), 'rita': ('rita-pw', 'reader')}
PROJECT = 'console-proj'

WF = """---
version: '2.0'
keystone_console:
  tasks:
    hold:
      action: std.async_noop
"""

# Buttons that change something, by their labels.
MUTATIONS = ('New workflow', 'Run', 'Edit', 'Delete', 'Pause', 'Cancel',
             'Run again', 'Rerun', 'Complete')


class Cloud:
    def __init__(self, keystone: KeystoneServer,
                 dep: harness.Deployment) -> None:
        self.keystone = keystone
        self.dep = dep

    def token(self, user: str) -> str:
        return self.keystone.token(user, USERS[user][0], PROJECT)

    def ui(self, path: str = '') -> str:
        return self.dep.api_url[:-len('/v2')] + '/ui/' + path


@pytest.fixture(scope='module')
def cloud() -> Iterator[Cloud]:
    with KeystoneServer() as ks:
        project = ks.create_project(PROJECT)
        for user, (password, role) in USERS.items():
            ks.create_user(user, password, project, role)
        service = ks.create_project('service')
        ks.create_user('mistral', SERVICE_PASSWORD, service, 'service')
        conf = {
            'pecan': {'auth_enable': True},
            'keystone_authtoken': {
                'www_authenticate_uri': ks.url,
                'auth_url': ks.url,
                'auth_type': 'password',
                'username': 'mistral',
                'password': SERVICE_PASSWORD,
                'project_name': 'service',
                'user_domain_id': 'default',
                'project_domain_id': 'default',
                'interface': 'public',
                'region_name': 'RegionOne',
            },
        }
        with harness.Deployment(
                db='postgresql', transport='rabbit',
                processes=[['api'], ['engine', 'executor', 'scheduler']],
                conf_overrides=conf) as dep:
            yield Cloud(ks, dep)


@pytest.fixture
def dep(cloud: Cloud) -> harness.Deployment:
    """The deployment, so that a failing test reports its logs."""
    return cloud.dep


@pytest.fixture(scope='module')
def execution(cloud: Cloud) -> dict[str, Any]:
    """A workflow and a running execution of alice's project."""
    headers = {'X-Auth-Token': cloud.token('alice')}
    r = requests.post(cloud.dep.api_url + '/workflows', data=WF,
                      headers=dict(headers, **{'Content-Type': 'text/plain'}),
                      timeout=60)
    assert r.status_code == 201, r.text
    r = requests.post(cloud.dep.api_url + '/executions', headers=headers,
                      json={'workflow_name': 'keystone_console'},
                      timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


def login(browser: Browser, cloud: Cloud, user: str, password: str) -> None:
    """Fill and send the login form (the page must show it)."""
    browser.wait_css('#login-user')
    browser.fill('#login-user', user)
    browser.fill('#login-password', password)
    browser.fill('#login-project', PROJECT)
    browser.click('#login-submit')


def mutation_buttons(browser: Browser) -> list[str]:
    found = []
    for label in MUTATIONS:
        for el in browser.buttons(label):
            found.append(el.text)
    return found


def test_login_form_and_the_readers_view(
        cloud: Cloud, dep: harness.Deployment, browser: Browser,
        execution: dict[str, Any], shot: Callable[..., str]) -> None:
    # Without a token, every page asks for a login.
    browser.get(cloud.ui('executions/%s' % execution['id']))
    browser.wait_css('#login-form')
    assert '/ui/login' in browser.driver.current_url
    shot('login')

    # A wrong password: the reason, and no token.
    login(browser, cloud, 'rita', 'wrong')
    assert 'Login failed' in browser.wait_css('.form-error:not([hidden])'
                                              ).text
    assert browser.js('return sessionStorage.length') == 0

    login(browser, cloud, 'rita', USERS['rita'][0])
    browser.wait(lambda: '/ui/executions/%s' % execution['id']
                 in browser.driver.current_url, 30,
                 'the page asked for before the login')
    browser.wait_css('svg.graph g.node[data-id="hold"]')
    who = browser.wait_text('#whoami', 'rita')
    assert 'reader' in who and PROJECT in who
    browser.wait(lambda: 'st-RUNNING' in (browser.node_class('hold') or ''),
                 30, 'hold RUNNING')
    assert mutation_buttons(browser) == []
    shot('reader-execution')
    browser.get(cloud.ui('workflows'))
    browser.wait_css('table.list')
    assert 'keystone_console' in browser.text('table.list')
    assert mutation_buttons(browser) == []
    shot('reader-workflows')
    browser.click('table.list a')
    browser.wait_css('svg.graph')
    assert mutation_buttons(browser) == []
    hold = requests.get(dep.api_url + '/executions/%s/tasks'
                        % execution['id'], timeout=60,
                        headers={'X-Auth-Token': cloud.token('rita')}
                        ).json()['tasks'][0]
    browser.get(cloud.ui('tasks/%s' % hold['id']))
    browser.wait_css('#runs-table')
    assert mutation_buttons(browser) == []

    # The API refuses the reader whatever the page shows.
    token = browser.js('return JSON.parse(sessionStorage.getItem('
                       '"mistral-console.token")).token')
    r = requests.put(dep.api_url + '/executions/%s' % execution['id'],
                     json={'state': 'PAUSED'}, timeout=60,
                     headers={'X-Auth-Token': token})
    assert r.status_code == 403, r.text

    # Log out; a member pasting a token sees the commands.
    browser.button('Log out').click()
    browser.wait_css('#token-form')
    browser.fill('#login-token', cloud.token('alice'))
    browser.button('Use this token').click()
    browser.wait_text('#whoami', 'alice')
    assert 'member' in browser.text('#whoami')
    browser.get(cloud.ui('executions/%s' % execution['id']))
    browser.wait_css('#btn-pause')
    assert browser.buttons('Cancel')
    shot('member-execution')
    browser.get(cloud.ui('workflows'))
    browser.wait_css('table.list')
    assert browser.buttons('New workflow') and browser.buttons('Run')

    # A token the API no longer accepts: back to the login page.
    browser.js('sessionStorage.setItem("mistral-console.token", '
               'JSON.stringify({token: "not-a-valid-token"}))')
    browser.get(cloud.ui('executions'))
    browser.wait_css('#login-form')
