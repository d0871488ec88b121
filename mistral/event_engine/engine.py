"""Event triggers in memory, one notification listener per exchange/topic.

Triggers come from the database on start, then from the API's fanout
``create/update/delete_event_trigger`` casts; a reconcile pass re-reads the
table every ``[event_engine] reconcile_interval`` seconds in case a cast
was lost. Listeners are oslo.messaging notification listeners in pool
``mistral-<exchange>-<listener_pool_name>``, so event engines share the
work of each (exchange, topic) rather than each starting the workflow.
A workflow start is an outbox row (sent until an engine applies it) with
an execution id derived from the notification's message id and the
trigger, so a redelivered notification starts nothing new.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import uuid
from typing import Any

import oslo_messaging as messaging
import sqlalchemy as sa
from oslo_config import cfg

from mistral.db import api as db_api
from mistral.db import models
from mistral.event_engine import definitions
from mistral.handoff import outbox
from mistral.services import maintenance
from mistral.services import triggers as trigger_service

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

_EVENT_NS = uuid.UUID('0f5b7c1e-2d84-4a47-b7a5-9c3f6e2d1a08')
PRIORITIES = ('audit', 'critical', 'debug', 'error', 'info', 'warn',
              'sample')


class _Endpoint:
    """Notification endpoint for one (exchange, topic)."""

    def __init__(self, engine: EventEngine, exchange: str,
                 topic: str) -> None:
        self._engine = engine
        self._key = (exchange, topic)

    def _handle(self, ctxt: Any, publisher_id: str, event_type: str,
                payload: Any, metadata: dict[str, Any]) -> None:
        try:
            self._engine.on_event(self._key, ctxt, publisher_id, event_type,
                                  payload, metadata)
        except Exception:
            # Acknowledge anyway: a bad event must not loop on the queue.
            LOG.exception('Handling event %s failed', event_type)


for _prio in PRIORITIES:
    setattr(_Endpoint, _prio, _Endpoint._handle)


class EventEngine:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._triggers: dict[str, dict[str, Any]] = {}
        self._listeners: dict[tuple[str, str], Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport: Any = None
        self._defs = definitions.load(
            CONF.event_engine.event_definitions_cfg_file)

    # -- lifecycle

    def start(self) -> None:
        self._transport = messaging.get_notification_transport(CONF)
        self.reconcile()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop,
                                        name='event-engine', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            for key in list(self._listeners):
                self._stop_listener(key)
        if self._transport is not None:
            self._transport.cleanup()
            self._transport = None

    def _loop(self) -> None:
        while not self._stop.wait(CONF.event_engine.reconcile_interval):
            try:
                self.reconcile()
            except Exception:
                LOG.exception('Reloading event triggers failed')

    # -- triggers

    def reconcile(self) -> None:
        """Make triggers and listeners match the database."""
        with db_api.read_session() as s:
            rows = s.execute(sa.select(models.EventTrigger)).scalars().all()
            found = {r.id: trigger_service.event_trigger_dict(r)
                     for r in rows}
        with self._lock:
            self._triggers = found
            self._sync_listeners()

    def put(self, trigger: dict[str, Any]) -> None:
        with self._lock:
            old = self._triggers.get(trigger['id'], {})
            self._triggers[trigger['id']] = {**old, **trigger}
            self._sync_listeners()

    def remove(self, trigger_id: str) -> None:
        with self._lock:
            self._triggers.pop(trigger_id, None)
            self._sync_listeners()

    def triggers(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._triggers.values())

    def listening(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._listeners)

    def _sync_listeners(self) -> None:
        wanted = {(t['exchange'], t['topic'])
                  for t in self._triggers.values()}
        for key in set(self._listeners) - wanted:
            self._stop_listener(key)
        for key in wanted - set(self._listeners):
            self._start_listener(key)

    def _start_listener(self, key: tuple[str, str]) -> None:
        if self._transport is None:
            return  # not started (unit tests drive on_event directly)
        exchange, topic = key
        listener = messaging.get_notification_listener(
            self._transport,
            [messaging.Target(topic=topic, exchange=exchange)],
            [_Endpoint(self, exchange, topic)], executor='threading',
            pool='mistral-%s-%s' % (exchange,
                                    CONF.event_engine.listener_pool_name))
        listener.start()
        self._listeners[key] = listener
        LOG.info('Listening for events on exchange %s, topic %s', exchange,
                 topic)

    def _stop_listener(self, key: tuple[str, str]) -> None:
        listener = self._listeners.pop(key, None)
        if listener is None:
            return
        try:
            listener.stop()
            listener.wait()
        except Exception:
            LOG.warning('Stopping the listener of %s failed', key,
                        exc_info=True)

    # -- events

    def matching(self, key: tuple[str, str], event_type: str,
                 project_id: str | None) -> list[dict[str, Any]]:
        out = []
        for t in self.triggers():
            if (t['exchange'], t['topic']) != key:
                continue
            if t['event'] != event_type and not fnmatch.fnmatchcase(
                    event_type, t['event']):
                continue
            if CONF.pecan.auth_enable and t.get('scope') != 'public' and \
                    t.get('project_id') != project_id:
                continue
            out.append(t)
        return out

    def on_event(self, key: tuple[str, str], ctxt: Any, publisher_id: str,
                 event_type: str, payload: Any,
                 metadata: dict[str, Any]) -> list[str]:
        """Start the workflows of the triggers matching one notification;
        returns the execution ids."""
        ctxt = dict(ctxt or {})
        event = {'event_type': event_type, 'payload': payload,
                 'publisher': publisher_id,
                 'timestamp': (metadata or {}).get('timestamp'),
                 'context': ctxt}
        project_id = (ctxt.get('project_id') or ctxt.get('tenant_id')
                      or ctxt.get('tenant'))
        started: list[str] = []
        matched = self.matching(key, event_type, project_id)
        if matched and maintenance.get_status() != maintenance.RUNNING:
            LOG.info('Maintenance: event %s starts no workflow', event_type)
            return started
        for trigger in matched:
            started.append(self._start(trigger, event, metadata or {}))
        return started

    def _start(self, trigger: dict[str, Any], event: dict[str, Any],
               metadata: dict[str, Any]) -> str:
        message_id = metadata.get('message_id') or str(uuid.uuid4())
        wf_ex_id = str(uuid.uuid5(_EVENT_NS, '%s@%s' % (trigger['id'],
                                                        message_id)))
        params = dict(trigger.get('workflow_params') or {})
        params['event_params'] = definitions.event_params(self._defs, event)
        description = json.dumps({
            'description': "Workflow execution created by event trigger "
                           "'(%s)'." % trigger['id'],
            'triggered_by': {'type': 'event_trigger', 'id': trigger['id'],
                             'name': trigger.get('name')},
        })
        # Through the outbox rather than an RPC call: once the
        # notification is taken off the queue, the start request is
        # stored, and sent again until an engine applies it (the id makes
        # that idempotent), even if no engine is up right now.
        batch = outbox.Batch()
        batch.add('engine', 'start_workflow', {
            'wf_identifier': trigger['workflow_id'],
            'wf_namespace': trigger.get('workflow_namespace') or '',
            'wf_ex_id': wf_ex_id,
            'wf_input': trigger.get('workflow_input') or {},
            'description': description, 'params': params,
        }, ctx=trigger_service.trigger_context(trigger.get('project_id'),
                                               trigger.get('trust_id')))
        with db_api.transaction() as session:
            batch.write(session)
        outbox.relay().deliver(batch.due_now())
        LOG.info('Event %s starts execution %s (trigger %s)',
                 event['event_type'], wf_ex_id, trigger['id'])
        return wf_ex_id


class EventEngineEndpoint:
    """RPC endpoint on the event-engine topic (fanout casts)."""

    def __init__(self, engine: EventEngine) -> None:
        self._engine = engine

    def create_event_trigger(self, ctx: Any, trigger: dict,
                             events: list | None = None) -> None:
        self._engine.put(trigger)
        LOG.info('Event trigger %s created', trigger.get('id'))

    def update_event_trigger(self, ctx: Any, trigger: dict) -> None:
        self._engine.put(trigger)
        LOG.info('Event trigger %s updated', trigger.get('id'))

    def delete_event_trigger(self, ctx: Any, trigger: dict,
                             events: list | None = None) -> None:
        self._engine.remove(trigger['id'])
        LOG.info('Event trigger %s deleted', trigger.get('id'))
