"""What a notification publisher is."""

from __future__ import annotations

from typing import Any, Protocol


class Publisher(Protocol):
    """Entry point ``mistral.notification.publishers``.

    ``publish`` gets the request context (a dict), the execution id, the
    event data (see :mod:`mistral.engine.notifications`), the event name,
    its timestamp, and the publisher's own options from ``params.notify``
    (everything but ``type`` and ``event_types``). Raising makes the
    notifier retry the event later; ``PermanentError`` gives it up.
    """

    def publish(self, ctx: dict[str, Any], ex_id: str, data: dict[str, Any],
                event: str, timestamp: str, **kwargs: Any) -> None: ...


class PermanentError(Exception):
    """Raised by a publisher when trying again cannot help (the receiver
    rejected the event): the delivery is given up at once. Any other
    exception is retried (see :mod:`mistral.notifiers.deliveries`)."""
