"""Pecan hooks: request context, authentication check, content types."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pecan
from oslo_config import cfg
from pecan import hooks

from mistral import context as mistral_context
from mistral.api import pecan_speedups

CONF = cfg.CONF

# Paths that answer without authentication.
PUBLIC_PATHS = ('/', '/v2', '/v2/', '/info', '/workflowv2', '/workflowv2/',
                '/workflowv2/v2', '/workflowv2/v2/', '/healthcheck')

_XML_TYPES = ('text/xml', 'application/xml')


def _abort(status: int, message: str) -> None:
    pecan.abort(status, detail=message,
                headers={'Server-Error-Message': message},
                json_body={'faultstring': message})


def _bool(value: str | None) -> bool:
    return (value or '').strip().lower() in ('true', '1', 'yes')


def _own_catalog(headers: Any, environ: Any) -> Any:
    """The caller's service catalog, in the form actions read it.

    Upstream hands actions the whole token body keystonemiddleware
    validated (``keystone.token_info``), and OpenStack action plugins
    (mistral-extra) build keystoneclient's ServiceCatalog from it, which
    recognises a token body, not the bare ``X-Service-Catalog`` list.
    """
    token_info = (environ or {}).get('keystone.token_info') or {}
    if isinstance(token_info.get('token'), dict):
        return token_info['token']
    catalog = headers.get('X-Service-Catalog')
    if not catalog:
        return None
    try:
        entries = json.loads(catalog)
    except ValueError:
        return None
    # A v3 token body's shape around the list ('methods' marks v3).
    return {'methods': [], 'catalog': entries}


def context_from_headers(headers: Any, environ: Any = None
                         ) -> mistral_context.MistralContext:
    """Build the request context from keystonemiddleware's headers (and
    the validated token it left in the WSGI ``environ``)."""
    roles = [r.strip() for r in (headers.get('X-Roles') or '').split(',')
             if r.strip()]
    target_catalog = headers.get('X-Target-Service-Catalog')
    if target_catalog:
        try:
            catalog = json.loads(base64.b64decode(target_catalog))
        except ValueError:
            catalog = None
    else:
        catalog = _own_catalog(headers, environ)
    target_uri = headers.get('X-Target-Auth-Uri')
    kwargs: dict[str, Any] = dict(
        auth_token=headers.get('X-Auth-Token'),
        user_id=headers.get('X-User-Id'),
        project_id=headers.get('X-Project-Id'),
        user_name=headers.get('X-User-Name'),
        project_name=headers.get('X-Project-Name'),
        roles=roles,
        is_admin='admin' in [r.lower() for r in roles],
        region_name=headers.get('X-Region-Name'),
        service_catalog=catalog,
        request_id=headers.get('X-Openstack-Request-Id'),
    )
    if target_uri:
        # Multi-VIM: actions act on another cloud with the given token.
        kwargs.update(
            auth_uri=target_uri,
            auth_token=headers.get('X-Target-Auth-Token'),
            user_id=headers.get('X-Target-User-Id') or kwargs['user_id'],
            project_id=(headers.get('X-Target-Project-Id')
                        or kwargs['project_id']),
            user_name=(headers.get('X-Target-User-Name')
                       or kwargs['user_name']),
            region_name=(headers.get('X-Target-Region-Name')
                         or kwargs['region_name']),
            insecure=_bool(headers.get('X-Target-Insecure')),
            is_target=True,
        )
    if kwargs['project_id'] is None:
        kwargs.pop('project_id')
    return mistral_context.MistralContext(**kwargs)


def anonymous_context() -> mistral_context.MistralContext:
    """The context of every request when authentication is off.

    A member of the default project, not an admin: owner operations pass
    the persona rules, admin-only ones fail, as upstream without auth.
    """
    return mistral_context.MistralContext(
        project_id=mistral_context.DEFAULT_PROJECT_ID, is_admin=False,
        roles=['reader', 'member'])


class ContextHook(hooks.PecanHook):
    """Attach a MistralContext to the request as ``request.context['ctx']``.

    With authentication off every request acts for the default project;
    with it on, keystonemiddleware (delay_auth_decision) has already
    validated the token and we refuse requests it did not confirm.
    """

    priority = 10

    def on_route(self, state: Any) -> None:
        request = state.request
        if not CONF.pecan.auth_enable:
            request.context['ctx'] = anonymous_context()
            return
        path = request.path
        headers = request.headers  # read once: a pecan request is slow
        if path not in PUBLIC_PATHS:
            status = headers.get('X-Identity-Status')
            service_status = headers.get('X-Service-Identity-Status')
            if status != 'Confirmed' and service_status != 'Confirmed':
                if headers.get('X-Auth-Token'):
                    _abort(401, 'Auth token is invalid.')
                _abort(401, 'Authentication required.')
        request.context['ctx'] = context_from_headers(headers,
                                                       request.environ)


# Paths that accept changes during maintenance.
_MAINTENANCE_FREE = ('/', '/v2', '/health', '/healthcheck', '/maintenance')
_EXECUTION_PATH = re.compile(r'^/v2/executions/[^/]+/?$')
_ACTION_EXECUTION_PATH = re.compile(r'^/v2/action_executions/[^/]+/?$')

MAINTENANCE_MESSAGE = ('The service is in maintenance mode (%s): only '
                       'reads are accepted.')


def _cancels_execution(request: Any, method: str, path: str) -> bool:
    if method != 'PUT' or not _EXECUTION_PATH.match(path):
        return False
    if not request.body:
        return False  # as the empty object would say
    try:
        body = pecan_speedups.request_json(request)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get('state') == 'CANCELLED'


class MaintenanceHook(hooks.PecanHook):
    """Refuse changes (423) while the service is not RUNNING.

    Still accepted: cancelling an execution, and while pausing, action
    results (running actions must be able to finish).
    """

    priority = 15

    def on_route(self, state: Any) -> None:
        from mistral.services import maintenance

        # Each attribute of a pecan request costs a call: read them once.
        request = state.request
        method = request.method
        if method in ('GET', 'HEAD', 'OPTIONS'):
            return
        path = request.path
        if (path.rstrip('/') or '/') in _MAINTENANCE_FREE:
            return
        status = maintenance.get_status()
        if status == maintenance.RUNNING:
            return
        if status == maintenance.PAUSING and method == 'PUT' and \
                _ACTION_EXECUTION_PATH.match(path):
            return
        if _cancels_execution(request, method, path):
            return
        _abort(423, MAINTENANCE_MESSAGE % status)


class RejectXmlHook(hooks.PecanHook):
    priority = 5

    def on_route(self, state: Any) -> None:
        ctype = (state.request.content_type or '').lower()
        if ctype in _XML_TYPES or ctype.endswith('+xml'):
            _abort(415, 'XML request bodies are not supported.')


class JsonBodyHook(hooks.PecanHook):
    """A JSON body of a WSME method must be an object.

    WSME itself fails with an internal error on other JSON values.
    """

    priority = 20

    def before(self, state: Any) -> None:
        request = state.request
        if request.method not in ('POST', 'PUT') or not request.body:
            return
        funcdef = getattr(state.controller, '_wsme_definition', None)
        if funcdef is None or funcdef.body_type is None:
            return
        if 'json' not in (request.content_type or 'application/json'):
            return
        try:
            # Parsed once per request (BodyTypesHook reads it too).
            body = pecan_speedups.request_json(request)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            message = 'The request body must be a JSON object.'
            pecan.abort(400, detail=message,
                        headers={'Server-Error-Message': message},
                        json_body={'faultcode': 'Client',
                                   'faultstring': message,
                                   'debuginfo': None})


def request_text() -> str:
    """The raw request body as text (definitions are sent this way)."""
    try:
        return pecan.request.body.decode('utf-8')
    except UnicodeDecodeError:
        from mistral import exceptions as exc

        raise exc.InputException(
            'The request body is not UTF-8 text.') from None


def current_context() -> mistral_context.MistralContext:
    ctx = pecan.request.context.get('ctx')
    if ctx is None:
        ctx = anonymous_context()
    return ctx
