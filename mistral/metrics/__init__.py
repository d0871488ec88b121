"""Prometheus metrics of every component (see doc/source/admin/
observability.rst).

``definitions`` declares the metrics on prometheus-client's default
registry, ``hooks`` is what the engine, executor, relay and scheduler call,
``exposition`` serves them (``/metrics`` on the API, a port per other
component).
"""
