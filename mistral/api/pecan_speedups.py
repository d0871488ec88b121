"""Per-request work of pecan that gives the same answer every time.

pecan inspects the signature of the controller method on every request
(``pecan.util.getargspec``, several times per request while routing and
calling): about 7% of a small GET's CPU. A signature cannot change while the
process runs, so the answer is kept per function.
"""

from __future__ import annotations

import functools
from typing import Any

import pecan.core
import pecan.rest
import pecan.routing
import pecan.util

# Only the modules that route requests: what pecan.decorators computes while
# controllers are being decorated may no longer hold once decoration is
# done (wrappers get their attributes afterwards), so it is never cached.
_MODULES = (pecan.core, pecan.rest, pecan.routing)
_original = pecan.util.getargspec


@functools.lru_cache(maxsize=4096)
def _cached(func: Any) -> Any:
    return _original(func)


def _argspec_of(func: Any) -> Any:
    # A copy: callers may change the lists of what they get.
    spec = _cached(func)
    return spec._replace(args=list(spec.args))


def _getargspec(method: Any) -> Any:
    # Bound methods are new objects on each access; their function is not,
    # and pecan only looks at the names, the same for every instance.
    try:
        return _argspec_of(getattr(method, '__func__', method))
    except TypeError:  # an unhashable callable
        return _original(method)


def install() -> None:
    """Idempotent."""
    for module in _MODULES:
        if getattr(module, 'getargspec', None) is _original:
            module.getargspec = _getargspec
