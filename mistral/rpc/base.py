"""oslo.messaging plumbing: transport, typed clients and servers.

One transport per process. Clients send the request context as a dict and
arguments as JSON-compatible values. Errors raised by a remote endpoint come
back as the same class from :mod:`mistral.exceptions` (matched by name) with
the remote message and without the remote traceback.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Sequence

import oslo_messaging as messaging
from oslo_config import cfg

from mistral import context as mistral_context
from mistral import exceptions as exc

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

_transport: messaging.Transport | None = None
_lock = threading.Lock()


def get_transport() -> messaging.Transport:
    global _transport
    if _transport is None:
        with _lock:
            if _transport is None:
                _transport = messaging.get_rpc_transport(
                    CONF, allowed_remote_exmods=['mistral.exceptions'])
    return _transport


def cleanup() -> None:
    """Drop the transport (tests; a forked child must not share it)."""
    global _transport
    with _lock:
        if _transport is not None:
            try:
                _transport.cleanup()
            except Exception:  # the connection may already be gone
                LOG.debug('Transport cleanup failed', exc_info=True)
        _transport = None


class ContextSerializer(messaging.Serializer):
    """Contexts travel as dicts; entities are already JSON-compatible."""

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: Any) -> dict[str, Any]:
        if isinstance(ctxt, mistral_context.MistralContext):
            return ctxt.to_dict()
        return dict(ctxt or {})

    def deserialize_context(self, ctxt: dict[str, Any]
                            ) -> mistral_context.MistralContext:
        return mistral_context.MistralContext.from_dict(ctxt or {})


def _clean_remote_error(error: Exception) -> Exception:
    """Turn an exception rebuilt by oslo.messaging into our own class.

    oslo.messaging rebuilds allowed remote exceptions as dynamic subclasses
    whose message carries the remote traceback; users must see only the
    message.
    """
    if isinstance(error, exc.MistralError):
        cls = type(error)
        if cls.__name__.endswith('_Remote'):
            cls = cls.__mro__[1]
        text = error.args[0] if error.args else str(error)
        text = str(text).split('\nTraceback (most recent call last)')[0]
        clean = cls.__new__(cls)
        exc.MistralError.__init__(clean, text.rstrip('\n'))
        return clean
    if isinstance(error, messaging.RemoteError):
        name = error.exc_type or 'MistralError'
        cls = getattr(exc, name, None)
        msg = error.value or str(error)
        if isinstance(cls, type) and issubclass(cls, exc.MistralError):
            clean = cls.__new__(cls)
            exc.MistralError.__init__(clean, msg)
            return clean
        return exc.MistralError('%s: %s' % (name, msg))
    if isinstance(error, messaging.MessagingTimeout):
        return exc.RPCTimeoutException(
            'The request took longer than %s seconds'
            % CONF.rpc_response_timeout)
    if isinstance(error, messaging.MessageDeliveryFailure):
        return exc.RPCTimeoutException(
            'The message bus is unreachable, the request was not sent: %s'
            % error)
    return error


def _send_retries(seconds: float) -> int:
    """Connection retries of a send that fit in ``seconds`` with the
    rabbit driver's back-off (1 s, then 2 s longer each time)."""
    group = getattr(CONF, 'oslo_messaging_rabbit', None)
    start = float(getattr(group, 'rabbit_retry_interval', 1) or 1)
    step = float(getattr(group, 'rabbit_retry_backoff', 2) or 0)
    top = float(getattr(group, 'rabbit_interval_max', 30) or 30)
    retries, spent = 0, 0.0
    while retries < 100:
        pause = min(start + step * retries, top)
        if spent + pause > seconds:
            break
        spent += pause
        retries += 1
    return max(retries, 1)


_reply_warmup: threading.Thread | None = None


def _ensure_reply_queue(transport: Any, seconds: float) -> None:
    """Wait at most ``seconds`` for the reply queue of RPC calls.

    The AMQP driver creates it on the first call and retries connecting
    for ever while the broker is down, ignoring the call's timeout and
    retry arguments. It is created here in a background thread instead,
    so that the caller gets an error in bounded time and no request is
    sent late, once the broker is back.
    """
    global _reply_warmup
    driver = getattr(transport, '_driver', None)
    if (not hasattr(driver, '_get_reply_q')
            or getattr(driver, '_reply_q', None) is not None):
        return

    def warm() -> None:
        try:
            driver._get_reply_q()
        except Exception:
            LOG.warning('Could not create the RPC reply queue',
                        exc_info=True)

    with _lock:
        if _reply_warmup is None or not _reply_warmup.is_alive():
            _reply_warmup = threading.Thread(
                target=warm, name='rpc-reply-queue', daemon=True)
            _reply_warmup.start()
        thread = _reply_warmup
    thread.join(seconds)
    if getattr(driver, '_reply_q', None) is None:
        raise exc.RPCTimeoutException(
            'The message bus did not answer within %s seconds, the '
            'request was not sent' % seconds)


class RPCClient:
    """A client bound to one topic."""

    def __init__(self, topic: str, version: str = '1.0') -> None:
        target = messaging.Target(topic=topic, version=version)
        self._client = messaging.get_rpc_client(
            get_transport(), target, serializer=ContextSerializer())

    def call(self, ctx: mistral_context.MistralContext | None, method: str,
             timeout: float | None = None, server: str | None = None,
             **kwargs: Any) -> Any:
        # Never block longer than the timeout, even with the broker down:
        # bounded connection retries, and a reply queue made in time.
        wait = float(timeout or CONF.rpc_response_timeout)
        client = self._client.prepare(timeout=timeout, server=server,
                                      retry=_send_retries(wait))
        try:
            _ensure_reply_queue(self._client.transport, wait)
            return client.call(ctx or mistral_context.default_context(),
                               method, **kwargs)
        except Exception as e:
            cleaned = _clean_remote_error(e)
            if cleaned is e:
                raise
            raise cleaned from None

    def cast(self, ctx: mistral_context.MistralContext | dict | None,
             method: str, server: str | None = None, fanout: bool = False,
             bounded: bool = False, **kwargs: Any) -> None:
        """Send without waiting. ``bounded``: give up (MessageDelivery-
        Failure) after the connection retries that fit in
        ``rpc_response_timeout`` instead of retrying for ever."""
        client = self._client
        retry = (_send_retries(CONF.rpc_response_timeout) if bounded
                 else None)
        if server is not None or fanout or bounded:
            client = client.prepare(server=server, fanout=fanout,
                                    retry=retry)
        client.cast(ctx or mistral_context.default_context(), method,
                    **kwargs)


class _ClientErrorsAreNotServerErrors(logging.Filter):
    """oslo.messaging logs every exception an endpoint raises at ERROR
    with its traceback. A Mistral error with a 4xx code is the caller's
    mistake (an unknown workflow, a bad input) and reaches the caller as
    that error: it is logged as one line at INFO instead, so operators'
    error logs show only real failures. The endpoints are also called
    directly (recovery, tests), so they cannot raise oslo.messaging's
    ExpectedException themselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if (isinstance(error, exc.MistralError) and error.http_code < 500
                and record.levelno >= logging.ERROR):
            record.levelno, record.levelname = logging.INFO, 'INFO'
            record.msg, record.args = 'Client error: %s: %s', (
                type(error).__name__, error)
            record.exc_info = record.exc_text = None
        return True


_SERVER_LOG_FILTER = _ClientErrorsAreNotServerErrors()


def get_server(topic: str, host: str, endpoints: Sequence[Any],
               version: str = '1.0') -> messaging.rpc.RPCServer:
    """An RPC server on ``topic`` that runs requests on native threads."""
    server_log = logging.getLogger('oslo_messaging.rpc.server')
    if _SERVER_LOG_FILTER not in server_log.filters:
        server_log.addFilter(_SERVER_LOG_FILTER)
    target = messaging.Target(topic=topic, server=host, version=version)
    # oslo.messaging's default executor is the native-thread pool.
    return messaging.get_rpc_server(
        get_transport(), target, list(endpoints),
        serializer=ContextSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy)
