"""Publishers: webhook against a real local HTTP server, noop, filters."""

from __future__ import annotations

import pytest

from mistral.notifiers import service
from mistral.notifiers import webhook
from mistral.tests.unit.notifiers.hook_server import HookServer

# The hook servers are on loopback: take it out of the denied networks.
LOOPBACK_ALLOWED = ['169.254.0.0/16', 'fe80::/10']

DATA = {'id': 'wf-1', 'name': 'wf', 'state': 'SUCCESS',
        'event': 'WORKFLOW_SUCCEEDED'}


@pytest.fixture
def server(conf):
    conf('denied_cidrs', LOOPBACK_ALLOWED, group='action_std_http')
    with HookServer() as srv:
        yield srv


def test_webhook_posts_json_with_headers(server):
    webhook.WebhookPublisher().publish(
        {}, 'wf-1', DATA, 'WORKFLOW_SUCCEEDED', '2026-01-01 00:00:00',
        url=server.url + '/hook', headers={'X-Token': 'abc'})
    [req] = server.requests
    assert req['path'] == '/hook'
    assert req['body'] == DATA
    assert req['headers']['X-Token'] == 'abc'
    assert req['headers']['Content-Type'] == 'application/json'


def test_webhook_error_status_raises(conf):
    conf('denied_cidrs', LOOPBACK_ALLOWED, group='action_std_http')
    with HookServer(status=500) as srv:
        with pytest.raises(RuntimeError, match='500'):
            webhook.WebhookPublisher().publish(
                {}, 'wf-1', DATA, 'WORKFLOW_SUCCEEDED', 't', url=srv.url)


def test_egress_policy_applies(conf):
    # Loopback is denied unless allowed: nothing is sent. (Set explicitly:
    # the default must not depend on what earlier tests did.)
    conf('allowed_hosts', [], group='action_std_http')
    conf('denied_cidrs', ['127.0.0.0/8', '::1/128'], group='action_std_http')
    with HookServer() as srv:
        with pytest.raises(Exception, match='(?i)not allowed|denied'):
            webhook.WebhookPublisher().publish(
                {}, 'wf-1', DATA, 'WORKFLOW_SUCCEEDED', 't', url=srv.url)
        assert srv.requests == []


def test_webhook_host_must_be_in_allowed_hosts(conf):
    # As for std.http: a non-empty allowed_hosts is an allow-list.
    conf('denied_cidrs', [], group='action_std_http')
    conf('allowed_hosts', ['hooks.example.com'], group='action_std_http')
    with HookServer() as srv:
        with pytest.raises(Exception, match='allowed_hosts'):
            webhook.WebhookPublisher().publish(
                {}, 'wf-1', DATA, 'WORKFLOW_SUCCEEDED', 't', url=srv.url)
        assert srv.requests == []


def test_notify_filters_event_types_and_survives_failures(server):
    publishers = [
        {'type': 'webhook', 'url': 'http://127.0.0.1:1/refused'},
        {'type': 'webhook', 'url': server.url + '/all'},
        {'type': 'webhook', 'url': server.url + '/failed',
         'event_types': ['WORKFLOW_FAILED']},
        {'type': 'noop'},
        {'type': 'no-such-publisher'},
    ]
    service.notify({}, 'wf-1', DATA, 'WORKFLOW_SUCCEEDED', 't', publishers)
    assert [r['path'] for r in server.requests] == ['/all']
    service.notify({}, 'wf-1', {**DATA, 'event': 'WORKFLOW_FAILED'},
                   'WORKFLOW_FAILED', 't', publishers)
    assert sorted(r['path'] for r in server.requests) == [
        '/all', '/all', '/failed']
