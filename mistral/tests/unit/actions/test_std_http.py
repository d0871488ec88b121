"""std.http / std.mistral_http against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from mistral import exceptions
from mistral.actions import egress
from mistral.actions import runner
from mistral.actions import std
from mistral.tests.threads import run_at_once
from mistral.tests.unit.actions import servers


@pytest.fixture(scope='module')
def tls_server(tmp_path_factory):
    cert = servers.self_signed_cert(tmp_path_factory.mktemp('tls'))
    srv = servers.HTTPServer(cert=cert)
    srv.cert = cert[0]
    yield srv
    srv.close()


def test_https_verify(tls_server, allow_loopback, ctx):
    url = tls_server.url('/echo')
    # Self-signed: refused by default, accepted with verify=False or with
    # the certificate as CA bundle.
    res = runner.run(std.HTTPAction(url), None, ctx)
    assert 'certificate' in res['error'].lower()
    assert std.HTTPAction(url, verify=False).run(ctx)['status'] == 200
    assert std.HTTPAction(url,
                          verify=tls_server.cert).run(ctx)['status'] == 200


def test_verify_ignored_for_plain_http(http_server, allow_loopback, ctx):
    res = std.HTTPAction(http_server.url('/echo'),
                         verify='/no/such/bundle.pem').run(ctx)
    assert res['status'] == 200


def test_get_json(http_server, allow_loopback, ctx):
    res = std.HTTPAction(http_server.url('/echo'),
                         params={'q': '1'}).run(ctx)
    assert res['status'] == 200
    assert res['content']['method'] == 'GET'
    assert res['content']['query'] == {'q': '1'}
    assert res['url'] == http_server.url('/echo?q=1')
    assert res['reason'] == 'OK'
    assert res['headers']['Content-Type'] == 'application/json'
    assert res['cookies'] == {'sid': 'abc'}
    assert res['history'] == []
    assert isinstance(res['elapsed'], float)
    json.dumps(res)  # the result must be serialisable


def test_text_content(http_server, allow_loopback, ctx):
    res = std.HTTPAction(http_server.url('/text')).run(ctx)
    assert res['content'] == 'plain words'
    assert res['encoding'] == 'utf-8'


def test_post_body_dict_headers_and_auth(http_server, allow_loopback, ctx):
    action = std.HTTPAction(
        http_server.url('/echo'), method='POST', body={'a': 1},
        headers={'X-Num': 5, 'X-Float': 1.5}, auth='bob:secret')
    content = action.run(ctx)['content']
    assert content['method'] == 'POST'
    assert json.loads(content['body']) == {'a': 1}
    assert content['headers']['X-Num'] == '5'
    assert content['headers']['X-Float'] == '1.5'
    assert content['headers']['Authorization'] == 'Basic Ym9iOnNlY3JldA=='


def test_json_input(http_server, allow_loopback, ctx):
    content = std.HTTPAction(http_server.url('/echo'), method='PUT',
                             json=[1, 'two']).run(ctx)['content']
    assert json.loads(content['body']) == [1, 'two']
    assert content['headers']['Content-Type'] == 'application/json'


def test_body_and_json_together_is_an_error():
    with pytest.raises(exceptions.ActionException):
        std.HTTPAction('http://example.com', body='x', json={'a': 1})


def test_auth_survives_json_round_trip(http_server, allow_loopback, ctx):
    action = std.HTTPAction(http_server.url('/echo'), auth='u:p')
    # What the executor gets after RPC: attributes through JSON.
    clone = std.HTTPAction.__new__(std.HTTPAction)
    for k, v in json.loads(json.dumps(vars(action))).items():
        setattr(clone, k, v)
    content = clone.run(ctx)['content']
    assert content['headers']['Authorization'] == 'Basic dTpw'


@pytest.mark.parametrize('code', [400, 404, 500, 307])
def test_error_status_is_error_result(http_server, allow_loopback, ctx,
                                      code):
    res = runner.run(std.HTTPAction(http_server.url('/status/%d' % code)),
                     None, ctx)
    assert res['error']['status'] == code
    assert res['error']['content'] == {'code': code}


@pytest.mark.parametrize('code', [201, 204, 306])
def test_success_statuses(http_server, allow_loopback, ctx, code):
    res = runner.run(std.HTTPAction(http_server.url('/status/%d' % code)),
                     None, ctx)
    assert res['data']['status'] == code


def test_redirects_not_followed_by_default(http_server, allow_loopback,
                                           ctx):
    url = http_server.url('/redirect?to=/echo')
    res = std.HTTPAction(url).run(ctx)
    assert res['status'] == 302
    res = std.HTTPAction(url, allow_redirects=True).run(ctx)
    assert res['status'] == 200
    assert res['history'][0]['status'] == 302


def test_loopback_denied_by_default(http_server, ctx):
    res = runner.run(std.HTTPAction(http_server.url('/echo')), None, ctx)
    assert 'not allowed' in res['error']


def test_denied_request_never_reaches_server(http_server, ctx):
    before = len(http_server.requests)
    with pytest.raises(egress.UrlNotAllowedException):
        std.HTTPAction(http_server.url('/echo', host='localhost')).run(ctx)
    assert len(http_server.requests) == before


# Loopback reachable, metadata and link-local still denied.
NO_LOOPBACK_DENIED = ['169.254.0.0/16', 'fe80::/10']


def test_allowed_hosts_is_an_allow_list(http_server, conf, ctx):
    # As upstream: once set, only the listed hosts may be reached (names
    # compared case-insensitively); 127.0.0.1 is the same server but not
    # listed.
    conf('denied_cidrs', NO_LOOPBACK_DENIED, group='action_std_http')
    conf('allowed_hosts', ['LOCALHOST'], group='action_std_http')
    res = std.HTTPAction(http_server.url('/echo', host='localhost')).run(ctx)
    assert res['status'] == 200
    before = len(http_server.requests)
    with pytest.raises(egress.UrlNotAllowedException) as e:
        std.HTTPAction(http_server.url('/echo')).run(ctx)
    assert 'allowed_hosts' in str(e.value)
    assert len(http_server.requests) == before


def test_allowed_hosts_does_not_lift_denied_cidrs(http_server, conf, ctx):
    # A listed host that resolves into denied_cidrs stays refused (before,
    # allowed_hosts exempted it: a config restricting hosts restricted
    # nothing).
    conf('allowed_hosts', ['127.0.0.1', 'localhost'],
         group='action_std_http')
    before = len(http_server.requests)
    for host in ('127.0.0.1', 'localhost'):
        with pytest.raises(egress.UrlNotAllowedException) as e:
            std.HTTPAction(http_server.url('/echo', host=host)).run(ctx)
        assert 'denied network' in str(e.value)
    assert len(http_server.requests) == before


def test_allowed_hosts_entries_are_not_networks(http_server, conf, ctx):
    conf('denied_cidrs', [], group='action_std_http')
    conf('allowed_hosts', ['127.0.0.0/24'], group='action_std_http')
    with pytest.raises(egress.UrlNotAllowedException):
        std.HTTPAction(http_server.url('/echo')).run(ctx)
    conf('allowed_hosts', ['127.0.0.1'], group='action_std_http')
    assert std.HTTPAction(http_server.url('/echo')).run(ctx)['status'] == 200


@pytest.mark.parametrize('allowed, url, ok', [
    ([], 'http://example.com/', True),
    (['example.com'], 'http://EXAMPLE.com:8080/x', True),
    (['example.com'], 'http://www.example.com/', False),
    (['example.com'], 'http://example.org/', False),
    (['[2001:db8::1]'], 'http://[2001:db8::1]/', True),
    (['2001:db8::1'], 'http://[2001:db8::1]/', True),
    (['2001:db8::1'], 'http://[2001:db8::2]/', False),
])
def test_allow_list_matching(conf, monkeypatch, allowed, url, ok):
    conf('allowed_hosts', allowed, group='action_std_http')
    monkeypatch.setattr(egress, '_resolve', lambda host, port: ['8.8.8.8'])
    if ok:
        egress.check_url(url)
    else:
        with pytest.raises(egress.UrlNotAllowedException):
            egress.check_url(url)


def test_bad_denied_cidrs_entry_is_skipped(conf, caplog):
    conf('denied_cidrs', ['not-a-net', '127.0.0.0/8'],
         group='action_std_http')
    with pytest.raises(egress.UrlNotAllowedException):
        egress.check_url('http://127.0.0.1:1/')
    egress.check_url('http://8.8.8.8:1/')
    assert 'not-a-net' in caplog.text


def test_empty_deny_list_allows_loopback(http_server, conf, ctx):
    conf('denied_cidrs', [], group='action_std_http')
    assert std.HTTPAction(http_server.url('/echo')).run(ctx)['status'] == 200


def test_redirect_to_unlisted_host_refused(http_server, conf, ctx):
    conf('denied_cidrs', NO_LOOPBACK_DENIED, group='action_std_http')
    conf('allowed_hosts', ['localhost'], group='action_std_http')
    target = http_server.url('/echo')
    url = http_server.url('/redirect?to=%s' % target, host='localhost')
    before = len(http_server.requests)
    with pytest.raises(egress.UrlNotAllowedException):
        std.HTTPAction(url, allow_redirects=True).run(ctx)
    # Only the redirecting request was served.
    assert [r['path'] for r in http_server.requests[before:]] == [
        '/redirect']


def test_redirect_to_denied_address_refused(http_server, conf, ctx):
    # Loopback may be reached, the metadata address a redirect points to
    # may not: the hop is refused before it is sent.
    conf('denied_cidrs', NO_LOOPBACK_DENIED, group='action_std_http')
    url = http_server.url(
        '/redirect?to=http://169.254.169.254/latest/meta-data/')
    before = len(http_server.requests)
    with pytest.raises(egress.UrlNotAllowedException) as e:
        std.HTTPAction(url, allow_redirects=True).run(ctx)
    assert 'denied network' in str(e.value)
    assert [r['path'] for r in http_server.requests[before:]] == [
        '/redirect']


@pytest.mark.parametrize('url', [
    'file:///etc/passwd', 'ftp://example.com/x', 'gopher://x/', 'http://',
    'http://169.254.169.254/latest/meta-data/', 'http://[::1]:1/',
    'http://[::ffff:127.0.0.1]:1/', 'http://[fe80::1]/',
    'http://0.0.0.0:1/', 'http://[::]:1/', 'http://127.1:1/',
    'http://2130706433:1/'])
def test_policy_rejects(url):
    with pytest.raises(egress.UrlNotAllowedException):
        egress.check_url(url)


def test_connections_are_kept_but_cookies_are_not(http_server,
                                                 allow_loopback, ctx):
    # /echo sets a cookie: the next call must not send it back, although
    # it goes over the same kept connection.
    before = len(http_server.requests)
    for _ in range(3):
        res = std.HTTPAction(http_server.url('/echo')).run(ctx)
        assert res['cookies'] == {'sid': 'abc'}
    seen = http_server.requests[before:]
    assert len(seen) == 3
    assert len({r['client'] for r in seen}) == 1
    assert all('Cookie' not in r['headers'] for r in seen)


def test_no_body_status_closes_the_kept_connection(http_server,
                                                   allow_loopback, ctx):
    # The test server wrongly sends a body with 204: on a kept connection
    # the next request would read those bytes as its response.
    before = len(http_server.requests)
    assert std.HTTPAction(http_server.url('/status/204')).run(
        ctx)['status'] == 204
    res = std.HTTPAction(http_server.url('/echo')).run(ctx)
    assert res['status'] == 200 and res['content']['path'] == '/echo'
    first, second = http_server.requests[before:]
    assert first['client'] != second['client']


def test_stricter_policy_does_not_reuse_checked_connections(
        http_server, conf, ctx):
    conf('denied_cidrs', ['169.254.0.0/16'], group='action_std_http')
    assert std.HTTPAction(http_server.url('/echo')).run(ctx)['status'] == 200
    before = len(http_server.requests)
    conf('denied_cidrs', ['127.0.0.0/8'], group='action_std_http')
    with pytest.raises(egress.UrlNotAllowedException):
        std.HTTPAction(http_server.url('/echo')).run(ctx)
    assert len(http_server.requests) == before


def test_connect_time_check_catches_rebinding(http_server, monkeypatch,
                                              ctx):
    # DNS said "public address" when checked, but the socket ends up on
    # loopback: the connection is refused before the request is sent.
    monkeypatch.setattr(egress, '_resolve', lambda host, port: ['8.8.8.8'])
    before = len(http_server.requests)
    with pytest.raises(egress.UrlNotAllowedException):
        std.HTTPAction(http_server.url('/echo')).run(ctx)
    assert len(http_server.requests) == before


def test_size_cap_by_content_length(http_server, allow_loopback, conf, ctx):
    conf('max_response_size_bytes', 1000, group='action_std_http')
    with pytest.raises(egress.ResponseTooLargeException) as e:
        std.HTTPAction(http_server.url('/big?size=5000')).run(ctx)
    assert 'Content-Length 5000' in str(e.value)


def test_size_cap_while_streaming(http_server, allow_loopback, conf, ctx):
    conf('max_response_size_bytes', 10000, group='action_std_http')
    res = std.HTTPAction(http_server.url('/chunked?size=9000')).run(ctx)
    assert res['content'] == 'y' * 9000
    res = runner.run(
        std.HTTPAction(http_server.url('/chunked?size=20000')), None, ctx)
    assert 'too large' in res['error']


def test_timeout(http_server, allow_loopback, ctx):
    res = runner.run(std.HTTPAction(http_server.url('/slow?s=2'),
                                    timeout=0.5), None, ctx)
    assert 'timed out' in res['error'].lower()


def test_default_timeout_from_config(http_server, allow_loopback, conf,
                                     ctx):
    conf('default_timeout', 1, group='action_std_http')
    res = runner.run(std.HTTPAction(http_server.url('/slow?s=3')), None,
                     ctx)
    assert 'timed out' in res['error'].lower()


def test_connection_refused_is_action_error(allow_loopback, ctx):
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(exceptions.ActionException):
        std.HTTPAction('http://127.0.0.1:%d/' % port).run(ctx)


def test_mistral_http_headers_and_async(http_server, allow_loopback, ctx):
    action = std.MistralHTTPAction(http_server.url('/echo'), method='POST',
                                   headers={'X-Mine': 'yes'})
    assert action.is_sync() is False
    before = len(http_server.requests)
    assert runner.run(action, None, ctx) is None
    sent = http_server.requests[before]['headers']
    assert sent['Mistral-Workflow-Name'] == 'my_wf'
    assert sent['Mistral-Workflow-Execution-Id'] == 'wf-1'
    assert sent['Mistral-Task-Id'] == 'task-1'
    assert sent['Mistral-Action-Execution-Id'] == 'act-1'
    assert sent['Mistral-Callback-URL'] == '/v2/action_executions/act-1'
    assert sent['X-Mine'] == 'yes'


def test_mistral_http_failure_reported_at_once(http_server, allow_loopback,
                                               ctx):
    action = std.MistralHTTPAction(http_server.url('/status/500'))
    res = runner.run(action, None, ctx)
    assert res['error']['status'] == 500


def test_proxy_address_checked(http_server, ctx):
    # The URL's host cannot be resolved (nothing to deny), the proxy is on
    # loopback, which denied_cidrs refuses by default.
    before = len(http_server.requests)
    with pytest.raises(egress.UrlNotAllowedException):
        std.HTTPAction(
            'http://mistral-test.invalid/echo',
            proxies={'http': 'http://127.0.0.1:%d' % http_server.port}
        ).run(ctx)
    assert len(http_server.requests) == before


def test_proxy_is_not_subject_to_allowed_hosts(http_server, conf, ctx):
    # As upstream, allowed_hosts names the hosts of URLs; a proxy that
    # denied_cidrs lets through is used.
    conf('denied_cidrs', [], group='action_std_http')
    conf('allowed_hosts', ['mistral-test.invalid'], group='action_std_http')
    res = std.HTTPAction(
        'http://mistral-test.invalid/echo',
        proxies={'http': 'http://127.0.0.1:%d' % http_server.port}).run(ctx)
    assert res['status'] == 200


def test_environment_proxies_followed_and_changes_seen(http_server, conf,
                                                       ctx, monkeypatch):
    # requests' environment lookups are cached per environment: a proxy
    # set, bypassed or removed between calls takes effect at once.
    conf('denied_cidrs', [], group='action_std_http')
    conf('allowed_hosts', ['mistral-test.invalid'], group='action_std_http')
    url = 'http://mistral-test.invalid/echo'
    proxy = 'http://127.0.0.1:%d' % http_server.port
    for name in ('http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY',
                 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    # No proxy: the invented host cannot be reached.
    assert 'error' in runner.run(std.HTTPAction(url), None, ctx)
    monkeypatch.setenv('HTTP_PROXY', proxy)
    before = len(http_server.requests)
    assert std.HTTPAction(url).run(ctx)['status'] == 200
    assert len(http_server.requests) == before + 1
    monkeypatch.setenv('NO_PROXY', 'mistral-test.invalid')
    assert 'error' in runner.run(std.HTTPAction(url), None, ctx)
    monkeypatch.delenv('NO_PROXY')
    assert std.HTTPAction(url).run(ctx)['status'] == 200
    monkeypatch.delenv('HTTP_PROXY')
    assert 'error' in runner.run(std.HTTPAction(url), None, ctx)
    assert len(http_server.requests) == before + 2


def test_netrc_credentials_followed_and_changes_seen(
        http_server, allow_loopback, ctx, monkeypatch, tmp_path):
    netrc = tmp_path / 'netrc'
    netrc.write_text('machine 127.0.0.1 login bob password one\n')
    netrc.chmod(0o600)
    monkeypatch.setenv('NETRC', str(netrc))
    url = http_server.url('/echo')

    def authorization(**kw):
        headers = std.HTTPAction(url, **kw).run(ctx)['content']['headers']
        return headers.get('Authorization')

    assert authorization() == 'Basic Ym9iOm9uZQ=='            # bob:one
    netrc.write_text('machine 127.0.0.1 login bob password second\n')
    assert authorization() == 'Basic Ym9iOnNlY29uZA=='        # bob:second
    # Credentials given to the action win over netrc.
    assert authorization(auth='eve:x') == 'Basic ZXZlOng='
    monkeypatch.setenv('NETRC', str(tmp_path / 'missing'))
    assert authorization() is None


def test_address_hosts_need_no_resolver(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError('resolver called for %r' % (args,))

    monkeypatch.setattr(socket, 'getaddrinfo', refuse)
    assert egress._resolve('127.0.0.1', 80) == ['127.0.0.1']
    assert egress._resolve('::0001', 80) == ['::1']
    # Not an address to ipaddress: the resolver answers, as before.
    monkeypatch.setattr(socket, 'getaddrinfo', lambda *a, **k: [
        (None, None, None, '', ('127.0.0.1', 80))])
    assert egress._resolve('127.1', 80) == ['127.0.0.1']
    with pytest.raises(egress.UrlNotAllowedException):
        egress.check_url('http://[::1]:8080/x')


def test_pools_keep_a_connection_for_every_worker(allow_loopback, ctx, conf):
    # As many calls to one host at once as there are workers: every
    # connection goes back to the pool and is used again. (With a pool
    # smaller than the workers, urllib3 closed the connections it could
    # not take back, and the next round opened new ones.)
    import http.server
    import threading

    conf('workers', 48, group='executor')
    assert egress.shared_adapter('http')._pool_maxsize == 48
    rounds = 2
    arrived = threading.Barrier(48, timeout=10)
    connections = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def setup(self):
            super().setup()
            connections.append(1)

        def do_GET(self):
            arrived.wait()  # all 48 requests are in flight at once
            self.send_response(200)
            self.send_header('Content-Length', '2')
            self.end_headers()
            self.wfile.write(b'ok')

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = 'http://127.0.0.1:%d/' % srv.server_address[1]
    statuses = []

    def call():
        statuses.append(std.HTTPAction(url).run(ctx)['status'])

    try:
        for _ in range(rounds):
            run_at_once(call, 48)
    finally:
        srv.shutdown()
        srv.server_close()
    assert statuses == [200] * 48 * rounds
    assert len(connections) == 48
    # The default workers (64) get pools of 64; never fewer than 32.
    conf('workers', 64, group='executor')
    assert egress.shared_adapter('http')._pool_maxsize == 64
    conf('workers', 4, group='executor')
    assert egress.shared_adapter('http')._pool_maxsize == 32
