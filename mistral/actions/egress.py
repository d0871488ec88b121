"""Egress policy for HTTP requests made on behalf of users.

std.http, std.mistral_http and webhook notifications fetch URLs that come
from workflow definitions, so without a policy any user could make the
service talk to its own loopback interface or to a cloud metadata endpoint
(SSRF). The rules, configured in ``[action_std_http]`` with upstream
Mistral's meaning:

* only ``http`` and ``https`` URLs;
* when ``allowed_hosts`` is not empty, it is an allow-list: the URL's host
  must be one of its entries (compared as names, case-insensitively);
  any other host is refused;
* then, for every host, allowed or not, the host is resolved and every
  address is checked against ``denied_cidrs``;
* the same checks run on every redirect hop and, because DNS may answer
  differently the second time (rebinding), ``denied_cidrs`` is checked on
  the address the socket actually connected to, before any request byte
  is sent. A proxy's address is checked against ``denied_cidrs`` too.

Use :func:`session` to get a ``requests.Session`` that applies all of it,
or :func:`pooled_session` for one that keeps connections open between
requests (the checks are the same: a kept connection was checked when it
was opened, and every request's URL is checked again).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import socket
import threading
from typing import Any, NamedTuple
from urllib import parse

import requests
import urllib3
from requests import adapters
from requests import utils as requests_utils
from urllib3 import connection as u3_connection

from mistral import config
from mistral import exceptions

CONF = config.CONF

LOG = logging.getLogger(__name__)

_ALLOWED_SCHEMES = ('http', 'https')

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UrlNotAllowedException(exceptions.ActionException):
    """The egress policy refused a URL."""

    http_code = 403


class ResponseTooLargeException(exceptions.ActionException):
    """A response body is larger than max_response_size_bytes."""


@functools.lru_cache(maxsize=8)
def _denied_networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            # As upstream: a bad entry is skipped, with a warning (once
            # per configured list).
            LOG.warning('Ignoring [action_std_http] denied_cidrs entry %r: '
                        'not a network', value)
    return tuple(nets)


@functools.lru_cache(maxsize=8)
def _allowed_names(values: tuple[str, ...]) -> frozenset[str]:
    names = set()
    for value in values:
        name = value.strip().lower()
        if name.startswith('[') and name.endswith(']'):
            name = name[1:-1]  # an IPv6 address written as in a URL
        if '/' in name:
            LOG.warning('[action_std_http] allowed_hosts entry %r looks '
                        'like a network; entries are host names or '
                        'addresses, so it matches no host', value)
        names.add(name)
    return frozenset(names)


_NAT64 = ipaddress.ip_network('64:ff9b::/96')
_IPV4_COMPATIBLE = ipaddress.ip_network('::/96')


def _normalise(ip: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 reaches 127.0.0.1; judge it as the IPv4 address.
    # So may the IPv4 address embedded in 6to4 (2002:7f00:1::), NAT64
    # (64:ff9b::7f00:1) and IPv4-compatible (::127.0.0.1) addresses.
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        elif ip.sixtofour:
            ip = ip.sixtofour
        elif ip in _NAT64 or (ip in _IPV4_COMPATIBLE and
                              int(ip) > 1):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # Connecting to the unspecified address reaches this very host.
    if ip.is_unspecified:
        return ipaddress.ip_address('127.0.0.1' if ip.version == 4
                                    else '::1')
    return ip


def host_allowed(host: str) -> bool:
    """Whether ``allowed_hosts`` lets requests go to ``host`` (a URL's
    host name): always when the list is empty, else only when the host is
    one of its entries."""
    entries = CONF.action_std_http.allowed_hosts
    if not entries:
        return True
    return host.strip('[]').lower() in _allowed_names(tuple(entries))


def check_address(address: str, host: str = '') -> None:
    """Raise UrlNotAllowedException if ``address`` is in ``denied_cidrs``.

    ``host`` is the name the caller asked for (for the message); being in
    ``allowed_hosts`` does not exempt it.
    """
    ip = _normalise(ipaddress.ip_address(address.split('%', 1)[0]))
    for net in _denied_networks(tuple(CONF.action_std_http.denied_cidrs)):
        if ip.version == net.version and ip in net:
            raise UrlNotAllowedException(
                'Access to host %s is not allowed by the egress policy '
                '(address %s is in a denied network)' % (host or ip, ip))


def _resolve(host: str, port: int) -> list[str]:
    if '%' not in host:
        # An address already (the usual host of a local service): no
        # resolver call per request. Shorthands such as 127.1 are not
        # addresses to ipaddress and go through the resolver as before.
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        # Not resolvable now: the request itself fails with a clearer
        # error, and the connect-time check still guards the socket.
        return []
    return sorted({info[4][0] for info in infos})


def check_url(url: str, allow_list: bool = True,
              resolve: bool = True) -> None:
    """Raise UrlNotAllowedException unless the policy allows ``url``.

    ``allow_list=False`` skips ``allowed_hosts`` (for a proxy, which
    upstream does not check at all; ``denied_cidrs`` still applies).
    """
    try:
        parts = parse.urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UrlNotAllowedException('Invalid URL %r: %s' % (url, e)) from e
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise UrlNotAllowedException(
            'URL scheme %r is not allowed; use http or https'
            % parts.scheme)
    host = parts.hostname
    if not host:
        raise UrlNotAllowedException('URL %r has no host' % url)
    if allow_list and not host_allowed(host):
        raise UrlNotAllowedException(
            'Access to host %s is not allowed by the egress policy (it is '
            'not in [action_std_http] allowed_hosts)' % host)
    if not resolve:
        return
    if port is None:
        port = 443 if parts.scheme.lower() == 'https' else 80
    for address in _resolve(host, port):
        check_address(address, host)


def _check_socket(sock: socket.socket, host: str) -> None:
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    try:
        check_address(peer, host)
    except UrlNotAllowedException:
        sock.close()
        raise


class _CheckedConnectionMixin:
    host: str

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _check_socket(sock, self.host)
        return sock


class _CheckedHTTPConnection(_CheckedConnectionMixin,
                             u3_connection.HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin,
                              u3_connection.HTTPSConnection):
    pass


class _CheckedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


_POOLS = {'http': _CheckedHTTPPool, 'https': _CheckedHTTPSPool}


class EgressAdapter(adapters.HTTPAdapter):
    """Transport adapter that enforces the policy on every hop."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if hasattr(manager, 'pool_classes_by_scheme'):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        # Session.resolve_redirects calls send() for each redirect, so a
        # redirect to a denied address is refused here too.
        check_url(request.url or '')
        proxies = kwargs.get('proxies') or {}
        proxy = adapters.select_proxy(request.url, proxies)
        if proxy:
            check_url(proxy if '://' in proxy else 'http://' + proxy,
                      allow_list=False)
        return super().send(request, *args, **kwargs)


def session() -> requests.Session:
    """A Session that only reaches what the egress policy allows."""
    sess = requests.Session()
    # Drop the default adapters so no other scheme can be used.
    sess.adapters.clear()
    sess.mount('http://', EgressAdapter())
    sess.mount('https://', EgressAdapter())
    return sess


# Connections kept open between requests, for every thread of the process:
# a new Session with new adapters and a new TCP (and TLS) connection for
# each std.http call cost more CPU than the rest of running the action.
# urllib3's pools are thread-safe; a Session is not documented to be, so
# each thread has its own Session over the shared adapters.
_shared_adapters: dict[tuple[Any, ...], EgressAdapter] = {}
_shared_lock = threading.Lock()
_local = threading.local()
# Connections a host's pool keeps: at least this many, and one for every
# action the process may run at once ([executor] workers). urllib3 closes
# a connection the full pool cannot take back, so a smaller pool than the
# workers made every call beyond it open a new connection (and log that the
# pool was full).
_POOL_MIN = 32


def pool_size() -> int:
    """Connections kept per host by the shared pools."""
    return max(_POOL_MIN, int(CONF.executor.workers))


class _Policy(NamedTuple):
    """What the shared adapters are built for: the egress policy, and the
    pool size."""
    denied_cidrs: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    pool_size: int


def _policy() -> _Policy:
    opts = CONF.action_std_http
    return _Policy(tuple(opts.denied_cidrs), tuple(opts.allowed_hosts or ()),
                   pool_size())


def _shared_adapter(scheme: str,
                    policy: _Policy) -> EgressAdapter:
    # Keyed by the policy too: a connection checked under an older policy
    # is never reused under a stricter one.
    key = (scheme,) + policy
    with _shared_lock:
        adapter = _shared_adapters.get(key)
        if adapter is None:
            for old_key in [k for k in _shared_adapters if k[0] == scheme]:
                _shared_adapters.pop(old_key).close()
            adapter = EgressAdapter(pool_connections=16,
                                    pool_maxsize=policy.pool_size)
            _shared_adapters[key] = adapter
        return adapter


# What requests reads from the environment on every call (proxies, the CA
# bundle, netrc), looked up once per distinct environment and URL origin:
# requests scans and lower-cases every environment variable twice per call,
# a tenth of the CPU a std.http action costs. The environment variables
# it reads are compared on every call, so a change is seen at once, as
# before.
_ENV_NAMES = (b'REQUESTS_CA_BUNDLE', b'CURL_CA_BUNDLE', b'NETRC', b'HOME')
_ENV_CACHE_SIZE = 256


def _env_key() -> tuple[tuple[bytes, bytes], ...]:
    environ = getattr(os, 'environb', None)
    if environ is None:  # not POSIX: no bytes view
        return tuple((k.encode(), v.encode()) for k, v in os.environ.items())
    # The plain dict under os.environb when there is one: iterating the
    # Mapping wrapper cost as much as the rest of a std.http call's
    # preparation.
    data = getattr(environ, '_data', None)
    items = (data if isinstance(data, dict) else environ).items()
    return tuple([(k, v) for k, v in items
                  if k[-6:].lower() == b'_proxy' or k in _ENV_NAMES])


def _origin(url: str) -> tuple[str, str]:
    parts = parse.urlsplit(url)
    return parts.scheme, parts.netloc


@functools.lru_cache(maxsize=_ENV_CACHE_SIZE)
def _environment_for(env: tuple[Any, ...], origin: tuple[str, str],
                     no_proxy: str | None) -> tuple[dict[str, str],
                                                    str | None]:
    """(proxies, CA bundle) requests takes from the environment ``env``
    for a URL of ``origin``."""
    url = '%s://%s/' % origin
    proxies = requests_utils.get_environ_proxies(url, no_proxy=no_proxy)
    bundle = (os.environ.get('REQUESTS_CA_BUNDLE')
              or os.environ.get('CURL_CA_BUNDLE'))
    return dict(proxies), bundle


@functools.lru_cache(maxsize=_ENV_CACHE_SIZE)
def _netrc_for(env: tuple[Any, ...], origin: tuple[str, str],
               stamp: Any) -> tuple[str, str] | None:
    # ``env`` and ``stamp`` (the file and its change time) only key the
    # cache: requests reads both itself.
    return requests_utils.get_netrc_auth('%s://%s/' % origin)


@functools.lru_cache(maxsize=8)
def _netrc_paths(env: tuple[Any, ...]) -> tuple[str, ...]:
    # Depends on NETRC and HOME only, both part of ``env``.
    named = os.environ.get('NETRC')
    return tuple(os.path.expanduser(name) for name in (
        (named,) if named is not None else
        tuple('~/' + f for f in requests_utils.NETRC_FILES)))


def _netrc_stamp(env: tuple[Any, ...]) -> Any:
    """Where netrc credentials would come from, and when that file last
    changed (None: no file)."""
    for path in _netrc_paths(env):
        try:
            st = os.stat(path)
        except OSError:
            continue
        return path, st.st_mtime_ns, st.st_size
    return None


class _EnvironmentCachingSession(requests.Session):
    """A Session that reads the environment as requests does, once per
    distinct environment and origin (see ``_environment_for``)."""

    def merge_environment_settings(self, url: Any, proxies: Any,
                                   stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        if not self.trust_env:
            return super().merge_environment_settings(
                url, proxies, stream, verify, cert)
        no_proxy = proxies.get('no_proxy') if proxies is not None else None
        env_proxies, bundle = _environment_for(_env_key(), _origin(url),
                                               no_proxy)
        if proxies is not None:
            for k, v in env_proxies.items():
                proxies.setdefault(k, v)
        if verify is True or verify is None:
            verify = bundle or verify
        # The rest (merging with the session's own settings) as requests.
        self.trust_env = False
        try:
            return super().merge_environment_settings(
                url, proxies, stream, verify, cert)
        finally:
            self.trust_env = True

    def prepare_request(self, request: requests.Request
                        ) -> requests.PreparedRequest:
        if not self.trust_env or request.auth or self.auth:
            return super().prepare_request(request)
        env = _env_key()
        stamp = _netrc_stamp(env)
        if stamp is not None:
            request.auth = _netrc_for(env, _origin(request.url), stamp)
        # requests would look netrc up again: it was done above.
        self.trust_env = False
        try:
            return super().prepare_request(request)
        finally:
            self.trust_env = True


def shared_adapter(scheme: str) -> EgressAdapter:
    """The adapter (and connection pools) this process uses for ``scheme``
    under the current policy: the one :func:`pooled_session` mounts."""
    return _shared_adapter(scheme, _policy())


def environment_applies(url: str) -> bool:
    """Whether requests would take anything for ``url`` from the
    environment: a proxy, or netrc credentials. (The CA bundle is not
    counted: it only matters for https.)"""
    env = _env_key()
    origin = _origin(url)
    proxies, _bundle = _environment_for(env, origin, None)
    if proxies:
        return True
    stamp = _netrc_stamp(env)
    return stamp is not None and _netrc_for(env, origin, stamp) is not None


def pooled_session() -> requests.Session:
    """This thread's Session under the egress policy, over connection pools
    shared by the process.

    Its cookie jar is emptied here, so nothing one request received is
    sent with the next: each call behaves as a new Session would, except
    that an open connection to the same host may be reused. Do not close
    it.
    """
    policy = _policy()
    sess: requests.Session | None = getattr(_local, 'session', None)
    if sess is None or getattr(_local, 'policy', None) != policy:
        sess = _EnvironmentCachingSession()
        sess.adapters.clear()
        sess.mount('http://', _shared_adapter('http', policy))
        sess.mount('https://', _shared_adapter('https', policy))
        _local.session, _local.policy = sess, policy
    sess.cookies.clear()
    return sess


def read_limited(resp: requests.Response, limit: int | None = None) -> bytes:
    """Read a streamed response body, refusing more than ``limit`` bytes.

    ``limit`` defaults to ``[action_std_http] max_response_size_bytes``;
    0 disables the cap. The body is stored on the response, so
    ``resp.text`` and ``resp.json()`` work afterwards.
    """
    if limit is None:
        limit = CONF.action_std_http.max_response_size_bytes
    try:
        declared = int(resp.headers.get('Content-Length', ''))
    except ValueError:
        declared = None
    if limit and declared is not None and declared > limit:
        resp.close()
        raise ResponseTooLargeException(
            'Response is too large: Content-Length %s exceeds the limit '
            'of %s bytes' % (declared, limit))
    chunks, size = [], 0
    for chunk in resp.iter_content(64 * 1024):
        size += len(chunk)
        # Content-Length may be absent or wrong (chunked encoding), so
        # count what actually arrives.
        if limit and size > limit:
            resp.close()
            raise ResponseTooLargeException(
                'Response is too large: more than %s bytes' % limit)
        chunks.append(chunk)
    body = b''.join(chunks)
    resp._content = body
    resp._content_consumed = True
    return body
