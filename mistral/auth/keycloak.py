"""``auth_type = keycloak-oidc``: Keycloak access tokens (JWT).

The token comes in ``X-Auth-Token``. Its issuer names the realm
(``.../realms/<realm>``), which becomes the project; the realm roles
(``realm_access.roles``) become the roles. The token is accepted when

* ``[keycloak_oidc] user_info_endpoint_url`` is an absolute URL and
  Keycloak's userinfo endpoint accepts the token, or otherwise
* its RS256 signature verifies with the realm's public key, fetched from
  ``auth_url + public_cert_url`` (a JWKS, or a realm document with
  ``public_key``) and cached; it has not expired; and, when
  ``keycloak_iss`` is set, its issuer is that one.

Like keystonemiddleware with ``delay_auth_decision``, the middleware only
marks the request (``X-Identity-Status: Confirmed`` or ``Invalid``); the
API decides, so the unauthenticated paths keep working. Identity headers
sent by the client are always removed first.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

import jwt
import requests
from oslo_config import cfg

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Headers only an authentication layer may set (WSGI environ keys).
_IDENTITY_HEADERS = (
    'HTTP_X_IDENTITY_STATUS', 'HTTP_X_SERVICE_IDENTITY_STATUS',
    'HTTP_X_PROJECT_ID', 'HTTP_X_PROJECT_NAME', 'HTTP_X_USER_ID',
    'HTTP_X_USER_NAME', 'HTTP_X_ROLES', 'HTTP_X_SERVICE_CATALOG',
    'HTTP_X_DOMAIN_ID', 'HTTP_X_DOMAIN_NAME', 'HTTP_X_IS_ADMIN_PROJECT',
)

# Seconds a call to Keycloak may take.
TIMEOUT = 10


class InvalidToken(Exception):
    pass


def realm_of(issuer: str | None) -> str:
    """``https://kc/auth/realms/demo`` -> ``demo``."""
    head, sep, realm = (issuer or '').rstrip('/').rpartition('/realms/')
    if not sep or not realm or '/' in realm:
        raise InvalidToken('The token issuer names no realm: %s' % issuer)
    return realm


def _tls() -> dict[str, Any]:
    conf = CONF.keycloak_oidc
    kwargs: dict[str, Any] = {
        'verify': False if conf.insecure else (conf.cafile or True)}
    if conf.certfile:
        kwargs['cert'] = ((conf.certfile, conf.keyfile) if conf.keyfile
                          else conf.certfile)
    return kwargs


def _url(template: str, realm: str) -> str:
    path = template % realm if '%s' in template else template
    if path.startswith(('http://', 'https://')):
        return path
    base = (CONF.keycloak_oidc.auth_url or '').rstrip('/')
    if not base:
        raise InvalidToken('[keycloak_oidc] auth_url is not set')
    return base + '/' + path.lstrip('/')


def _pem(public_key: str) -> str:
    body = '\n'.join(public_key[i:i + 64]
                     for i in range(0, len(public_key), 64))
    return ('-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n'
            % body)


class PublicKeys:
    """Realm public keys by key id, fetched on demand and cached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # realm -> (fetched at, {kid or None: key})
        self._keys: dict[str, tuple[float, dict[str | None, Any]]] = {}

    def _fetch(self, realm: str) -> dict[str | None, Any]:
        url = _url(CONF.keycloak_oidc.public_cert_url, realm)
        try:
            resp = requests.get(url, timeout=TIMEOUT, **_tls())
            resp.raise_for_status()
            doc = resp.json()
        except (requests.RequestException, ValueError) as e:
            raise InvalidToken('Cannot read the public key of realm %s: %s'
                               % (realm, e)) from e
        keys: dict[str | None, Any] = {}
        if isinstance(doc, dict) and isinstance(doc.get('keys'), list):
            for jwk in doc['keys']:
                if jwk.get('kty') != 'RSA' or jwk.get('use', 'sig') != 'sig':
                    continue
                try:
                    keys[jwk.get('kid')] = jwt.PyJWK(jwk, 'RS256').key
                except jwt.PyJWTError as e:
                    LOG.warning('Ignoring a key of realm %s: %s', realm, e)
        elif isinstance(doc, dict) and doc.get('public_key'):
            keys[None] = _pem(doc['public_key'])
        if not keys:
            raise InvalidToken('Realm %s publishes no RSA signing key'
                               % realm)
        return keys

    def get(self, realm: str, kid: str | None) -> Any:
        ttl = CONF.keycloak_oidc.public_key_cache_time
        with self._lock:
            cached = self._keys.get(realm)
            fresh = cached is not None and time.monotonic() - cached[0] < ttl
            # An unknown key id means the realm rotated its keys.
            if not fresh or (kid is not None and kid not in cached[1]
                             and None not in cached[1]):
                cached = (time.monotonic(), self._fetch(realm))
                self._keys[realm] = cached
            keys = cached[1]
        if kid in keys:
            return keys[kid]
        if None in keys:
            return keys[None]
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        raise InvalidToken('Unknown signing key %s of realm %s'
                           % (kid, realm))


_keys = PublicKeys()


def _check_with_userinfo(token: str, realm: str) -> None:
    url = _url(CONF.keycloak_oidc.user_info_endpoint_url, realm)
    try:
        resp = requests.get(url, timeout=TIMEOUT,
                            headers={'Authorization': 'Bearer ' + token},
                            **_tls())
    except requests.RequestException as e:
        raise InvalidToken('Cannot reach the userinfo endpoint: %s' % e) from e
    if resp.status_code != 200:
        raise InvalidToken('The userinfo endpoint refused the token (%d)'
                           % resp.status_code)


def validate(token: str) -> dict[str, Any]:
    """The claims of a valid token; InvalidToken otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        # Expiry is checked here too, whichever way the token is checked.
        claims = jwt.decode(token, options={'verify_signature': False,
                                            'verify_exp': True,
                                            'verify_aud': False})
    except jwt.PyJWTError as e:
        raise InvalidToken(str(e)) from e
    realm = realm_of(claims.get('iss'))
    expected_iss = CONF.keycloak_oidc.keycloak_iss
    if expected_iss and claims.get('iss') != expected_iss:
        raise InvalidToken('Unexpected token issuer %s' % claims.get('iss'))
    if CONF.keycloak_oidc.user_info_endpoint_url.startswith(
            ('http://', 'https://')):
        _check_with_userinfo(token, realm)
        return claims
    if header.get('alg') != 'RS256':
        raise InvalidToken('Only RS256 signed tokens are accepted')
    key = _keys.get(realm, header.get('kid'))
    try:
        return jwt.decode(token, key, algorithms=['RS256'],
                          options={'verify_aud': False,
                                   'require': ['exp', 'iss']})
    except jwt.PyJWTError as e:
        raise InvalidToken(str(e)) from e


def identity_environ(claims: dict[str, Any]) -> dict[str, str]:
    """The identity headers (WSGI keys) for a valid token's claims."""
    realm = realm_of(claims.get('iss'))
    roles = (claims.get('realm_access') or {}).get('roles') or []
    env = {'HTTP_X_IDENTITY_STATUS': 'Confirmed',
           'HTTP_X_PROJECT_ID': realm,
           'HTTP_X_ROLES': ','.join(str(r) for r in roles)}
    if claims.get('sub'):
        env['HTTP_X_USER_ID'] = str(claims['sub'])
    if claims.get('preferred_username'):
        env['HTTP_X_USER_NAME'] = str(claims['preferred_username'])
    return env


class KeycloakAuth:
    """WSGI middleware validating Keycloak tokens (see the module doc)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        for key in _IDENTITY_HEADERS:
            environ.pop(key, None)
        token = environ.get('HTTP_X_AUTH_TOKEN')
        if token:
            try:
                environ.update(identity_environ(validate(token)))
            except InvalidToken as e:
                LOG.info('Refusing a Keycloak token: %s', e)
                environ['HTTP_X_IDENTITY_STATUS'] = 'Invalid'
        return self.app(environ, start_response)


def reset() -> None:
    """Forget cached public keys (tests)."""
    global _keys
    _keys = PublicKeys()
