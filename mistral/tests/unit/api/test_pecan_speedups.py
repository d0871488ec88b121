"""The cached signatures answer what pecan itself would."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import mistral.api.controllers.v2 as v2
from mistral.api import pecan_speedups


def _controller_methods():
    for info in pkgutil.iter_modules(v2.__path__):
        module = importlib.import_module('%s.%s' % (v2.__name__, info.name))
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            try:
                instance = cls()
            except Exception:
                continue
            for _name, member in inspect.getmembers(instance,
                                                    inspect.ismethod):
                if getattr(member, 'exposed', False):
                    yield member


def test_cached_argspecs_equal_pecans(app):
    # The app is built (setup_app installs the cache) and has routed.
    app.get('/v2/workflows')
    methods = list(_controller_methods())
    assert len(methods) > 30
    for method in methods:
        assert pecan_speedups._getargspec(method) == \
            pecan_speedups._original(method), method
        # Twice: the second answer comes from the cache.
        assert pecan_speedups._getargspec(method) == \
            pecan_speedups._original(method), method
