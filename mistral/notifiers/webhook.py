"""The ``webhook`` publisher: POST the event data as JSON to a URL.

Options in the publisher dict: ``url`` (required), ``headers``, and
``timeout`` (seconds, or ``[connect, read]``; default 3 s to connect and
10 s to read). The URL comes from users, so it goes through the egress
policy (``[action_std_http]``) like std.http; redirects are not followed.
Any 2xx answer is success; other 4xx answers than 408 and 429 are not
retried, everything else (no connection, timeouts, 5xx) is.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mistral.actions import egress
from mistral.notifiers import base

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.0, 10.0)


class WebhookPublisher:
    def publish(self, ctx: dict[str, Any], ex_id: str, data: dict[str, Any],
                event: str, timestamp: str, url: str | None = None,
                headers: dict[str, str] | None = None,
                timeout: Any = None, **kwargs: Any) -> None:
        if not url:
            raise base.PermanentError('The webhook publisher needs a url')
        all_headers = {'Content-Type': 'application/json'}
        all_headers.update(headers or {})
        if isinstance(timeout, (list, tuple)):
            timeout = tuple(float(t) for t in timeout)
        elif timeout is not None:
            timeout = float(timeout)
        try:
            with egress.session() as session:
                resp = session.post(url, data=json.dumps(data),
                                    headers=all_headers,
                                    timeout=timeout or DEFAULT_TIMEOUT,
                                    allow_redirects=False)
        except egress.UrlNotAllowedException as e:
            raise base.PermanentError(str(e)) from e
        if 200 <= resp.status_code < 300:
            return
        message = ('Webhook %s answered %s for %s of execution %s'
                   % (url, resp.status_code, event, ex_id))
        if 400 <= resp.status_code < 500 and resp.status_code not in (
                408, 429):
            raise base.PermanentError(message)
        raise RuntimeError(message)
