"""std.http's short way for plain requests.

Most std.http calls are a plain ``http://`` request with headers and
query parameters at most: no body, cookies, credentials, proxy or
redirects to follow. For those, requests' Session machinery (merging
session and environment settings, preparing cookies, authentication and
hooks, resolving redirects) cost about two thirds of the CPU an executor
spent on the whole action. :func:`send` sends such a request itself over
the same shared, policy-checked connection pools, built exactly as
requests would build it (same request line, same headers in the same
order), and answers the same ``requests.Response``; anything else gets
``None`` and goes through requests as before. Tests compare both ways,
byte for byte on the wire and field by field in the result.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import requests
import urllib3
from requests import models
from requests import structures
from requests import utils as requests_utils

from mistral.actions import egress

# What a requests.Session sends unless told otherwise (User-Agent,
# Accept-Encoding, Accept, Connection), in its order.
_SESSION_HEADERS = requests_utils.default_headers()

# Methods requests sends without a Content-Length when there is no body.
_NO_LENGTH = ('GET', 'HEAD')


def _headers(given: Any) -> structures.CaseInsensitiveDict | None:
    """The request's headers as requests merges and checks them, or None
    when requests should be left to handle (or refuse) them."""
    merged = structures.CaseInsensitiveDict(_SESSION_HEADERS)
    if given is not None:
        if not isinstance(given, dict):
            return None
        merged.update(given)
        # A header set to None drops the session's default of that name.
        for name in [k for k, v in merged.items() if v is None]:
            del merged[name]
    for name, value in merged.items():
        if not isinstance(name, str) or not isinstance(value, str):
            return None
        try:
            requests_utils.check_header_validity((name, value))
        except requests.exceptions.InvalidHeader:
            return None  # requests raises its own error for it
    return merged


def send(method: Any, url: Any, params: Any, headers: Any,
         timeout: Any) -> requests.Response | None:
    """Send a plain ``http://`` request without a body as requests would,
    or answer None (nothing sent) when it is not one.

    The answer is requests' Response, not read yet (as with
    ``stream=True``): the caller reads (``egress.read_limited``) and
    closes it. Errors are those requests would raise, with the same text.
    """
    if not isinstance(url, str) or not isinstance(method, str) or \
            url[:7].lower() != 'http://':
        return None
    if timeout is not None and (isinstance(timeout, bool) or
                                not isinstance(timeout, (int, float))):
        return None  # a (connect, read) pair or something requests rejects
    prepared_headers = _headers(headers)
    if prepared_headers is None:
        return None
    req = models.PreparedRequest()
    req.method = method.upper()
    try:
        req.prepare_url(url, params)
    except (requests.exceptions.RequestException, ValueError):
        return None  # requests raises its own error for it
    if '@' in (req.url or '').split('/', 3)[2]:
        return None  # credentials in the URL: requests sends them
    if egress.environment_applies(req.url or url):
        return None  # a proxy or netrc credentials: requests' job
    if req.method not in _NO_LENGTH and \
            prepared_headers.get('Content-Length') is None:
        prepared_headers['Content-Length'] = '0'
    req.headers = prepared_headers
    req.body = None

    adapter = egress.shared_adapter('http')
    get_connection = getattr(adapter, 'get_connection_with_tls_context',
                             None)
    if get_connection is None:
        return None  # requests older than 2.32.2
    # What the requests path does before any request byte is sent: the
    # egress check of the adapter (with the resolved addresses).
    egress.check_url(req.url or '')
    conn = get_connection(req, True, proxies={}, cert=None)
    adapter.cert_verify(conn, req.url, True, None)
    started = time.perf_counter()
    # The errors (urllib3's) say the same as requests' wrapping of them.
    raw = conn.urlopen(
        method=req.method, url=adapter.request_url(req, {}), body=None,
        headers=req.headers, redirect=False, assert_same_host=False,
        preload_content=False, decode_content=False,
        retries=adapter.max_retries,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        chunked=False)
    resp = adapter.build_response(req, raw)
    resp.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
    return resp
