"""std.http and std.mistral_http: HTTP requests under the egress policy."""

from __future__ import annotations

import json as jsonlib
import logging
from typing import Any
from urllib import parse

from mistral_lib import actions

from mistral import config
from mistral import exceptions
from mistral.actions import egress
from mistral.actions import http_direct

LOG = logging.getLogger(__name__)
CONF = config.CONF

# Statuses counted as success; anything else makes the action fail with
# the response as its error result (redirects up to 306 included, as
# redirects are not followed unless allow_redirects is set).
_SUCCESS = range(200, 307)
# Responses that never carry a body (RFC 9110), whatever the server sends.
_NO_BODY = frozenset({204, 304})


def _history(resp: Any) -> list[dict[str, Any]]:
    # Response objects are not serialisable; keep what a workflow can use.
    return [{'status': r.status_code, 'url': r.url, 'reason': r.reason,
             'headers': dict(r.headers.items())} for r in resp.history]


def _content(resp: Any) -> Any:
    if not resp.content:
        return resp.text
    try:
        return resp.json()
    except ValueError:
        return resp.text


class HTTPAction(actions.Action):
    """Sends an HTTP request and returns the response.

    The result is a dict with ``content`` (parsed JSON when the body is
    JSON, otherwise text), ``status``, ``headers``, ``url``, ``history``,
    ``encoding``, ``reason``, ``cookies`` and ``elapsed`` (seconds). A
    status outside 200..306 fails the action with that dict as the error.
    ``body`` may be a dict (sent as JSON text) and cannot be combined with
    ``json``; ``auth`` is ``"user:password"`` for basic authentication;
    ``verify`` only applies to https URLs; ``timeout`` defaults to
    ``[action_std_http] default_timeout``. Only hosts allowed by the egress
    policy (``[action_std_http]``) can be reached.
    """

    def __init__(self, url, method="GET", params=None, body=None, json=None,
                 headers=None, cookies=None, auth=None, timeout=None,
                 allow_redirects=None, proxies=None, verify=None):
        super().__init__()
        if body and json:
            raise exceptions.ActionException(
                "std.http accepts either 'body' or 'json', not both")
        if isinstance(auth, str) and len(auth.split(':')) == 2:
            auth = auth.split(':')
        if isinstance(headers, dict):
            # Header values must be strings for requests.
            headers = {k: str(v) if isinstance(v, (int, float)) else v
                       for k, v in headers.items()}
        self.url = url
        self.method = method
        self.params = params
        self.body = jsonlib.dumps(body) if isinstance(body, dict) else body
        self.json = json
        self.headers = headers
        self.cookies = cookies
        self.auth = tuple(auth) if isinstance(auth, list) else auth
        self.timeout = timeout
        self.allow_redirects = allow_redirects
        self.proxies = proxies
        self.verify = verify

    def _request_headers(self, context: Any) -> Any:
        return self.headers

    def _plain(self, auth: Any) -> bool:
        """Whether nothing but the URL, query and headers shapes the
        request (http_direct may then send it)."""
        return (self.body is None and self.json is None and
                not self.cookies and auth is None and not self.proxies and
                not self.allow_redirects)

    def run(self, context: Any) -> Any:
        # DEBUG: at INFO, formatting this line cost a sixth of the CPU an
        # executor spends on a std.http action.
        LOG.debug('Running HTTP action [url=%s, method=%s]', self.url,
                  self.method)
        auth = self.auth
        # The action may have crossed RPC as JSON, which turns the
        # (user, password) tuple into a list.
        if isinstance(auth, list) and len(auth) == 2:
            auth = tuple(auth)
        timeout = self.timeout
        if timeout is None:
            timeout = CONF.action_std_http.default_timeout or None
        verify = None
        if parse.urlsplit(str(self.url)).scheme.lower() == 'https':
            verify = self.verify

        # Scheme, host and allowed_hosts here, for a clear error; the
        # session's adapter checks the resolved addresses (and everything
        # again on every redirect hop and connected socket).
        egress.check_url(str(self.url), resolve=False)
        headers = self._request_headers(context)
        sess = None
        try:
            resp = None
            if self._plain(auth):
                resp = http_direct.send(self.method, self.url, self.params,
                                        headers, timeout)
            if resp is None:
                sess = egress.pooled_session()
                resp = sess.request(
                    self.method, self.url, params=self.params,
                    data=self.body, json=self.json, headers=headers,
                    cookies=self.cookies, auth=auth, timeout=timeout,
                    allow_redirects=self.allow_redirects,
                    proxies=self.proxies, verify=verify, stream=True)
            try:
                if (resp.status_code in _NO_BODY or
                        str(self.method).upper() == 'HEAD'):
                    # No body to read; a server that sends one anyway
                    # would leave it in a kept connection for the next
                    # request to take as its response: close this one.
                    resp.raw.close()
                    resp._content, resp._content_consumed = b'', True
                else:
                    egress.read_limited(resp)
            finally:
                resp.close()
        except exceptions.MistralError:
            raise
        except Exception as e:
            raise exceptions.ActionException(
                'HTTP request to %s failed: %s' % (self.url, e)) from e
        finally:
            # Nothing this response set may reach the next request.
            if sess is not None:
                sess.cookies.clear()

        result = {
            'content': _content(resp),
            'status': resp.status_code,
            'headers': dict(resp.headers.items()),
            'url': resp.url,
            'history': _history(resp),
            'encoding': resp.encoding,
            'reason': resp.reason,
            'cookies': dict(resp.cookies.items()),
            'elapsed': resp.elapsed.total_seconds(),
        }
        if resp.status_code not in _SUCCESS:
            return actions.Result(error=result)
        return result


class MistralHTTPAction(HTTPAction):
    """std.http that tells the remote side how to report back.

    Adds the headers ``Mistral-Workflow-Name``,
    ``Mistral-Workflow-Execution-Id``, ``Mistral-Task-Id``,
    ``Mistral-Action-Execution-Id`` and ``Mistral-Callback-URL``. The
    action is asynchronous: the receiver delivers the result later with
    ``PUT /v2/action_executions/<id>``; only failures are reported at
    once.
    """

    def _request_headers(self, context: Any) -> Any:
        headers = dict(self.headers or {})
        ex = getattr(context, 'execution', None)
        headers.update({
            'Mistral-Workflow-Name': getattr(ex, 'workflow_name', None),
            'Mistral-Workflow-Execution-Id':
                getattr(ex, 'workflow_execution_id', None),
            'Mistral-Task-Id': getattr(ex, 'task_execution_id', None),
            'Mistral-Action-Execution-Id':
                getattr(ex, 'action_execution_id', None),
            'Mistral-Callback-URL': getattr(ex, 'callback_url', None),
        })
        # requests drops headers whose value is None.
        return headers

    def is_sync(self) -> bool:
        return False
