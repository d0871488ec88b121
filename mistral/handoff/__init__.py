"""Durable hand-offs between the services.

Every service hands work to another through rows it commits with its own
state: the transactional outbox (:mod:`.outbox`), the notification queue
(:mod:`.deliveries`). The rows are claimed under a lease by whoever sends
or serves them (:mod:`.lease`), in the name of this process
(:mod:`.identity`).

This package depends on the database layer, metrics and utilities only,
never on the services that use it (engine, executor, notifiers, scheduler,
event engine, RPC, API): how a message reaches its receiver is wired in
at process start (:mod:`mistral.service.handoffs`) through
:func:`.outbox.register_sender` and :mod:`.hooks`. That keeps the
services free of import cycles (tests/unit/test_layering.py).
"""
