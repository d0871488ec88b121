"""A small REST client that rides out API restarts.

The harness kills the API process on purpose, so every request is retried
until a deadline. Creating an execution sends a client-made id: the API
treats a second create with the same id as the same execution, so a
retried POST whose first answer was lost never starts a workflow twice.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests


class ApiError(RuntimeError):
    pass


class Api:
    def __init__(self, url: str, deadline: float = 300.0) -> None:
        self.url = url.rstrip('/')
        self.deadline = deadline
        self.session = requests.Session()
        self.retries = 0

    def request(self, method: str, path: str,
                body: dict[str, Any] | None = None) -> Any:
        end = time.monotonic() + self.deadline
        last = ''
        while True:
            try:
                resp = self.session.request(method, self.url + path,
                                            json=body, timeout=30)
                if resp.status_code < 500 and resp.status_code != 409:
                    if resp.status_code >= 400:
                        raise ApiError('%s %s: %s %s' % (
                            method, path, resp.status_code, resp.text))
                    return resp.json() if resp.content else None
                last = '%s %s' % (resp.status_code, resp.text[:200])
            except requests.RequestException as e:
                last = str(e)
                # A broken keep-alive connection to a killed API.
                self.session.close()
                self.session = requests.Session()
            self.retries += 1
            if time.monotonic() > end:
                raise ApiError('%s %s kept failing: %s' % (method, path,
                                                           last))
            time.sleep(0.5)

    def create_workflows(self, definition: str) -> None:
        """Upload definitions (as text/plain, like the CLI)."""
        end = time.monotonic() + self.deadline
        while True:
            try:
                resp = requests.post(self.url + '/workflows',
                                     data=definition.encode(),
                                     headers={'Content-Type': 'text/plain'},
                                     timeout=60)
                if resp.status_code < 300:
                    return
                if resp.status_code < 500:
                    raise ApiError('workflow upload: %s %s' % (
                        resp.status_code, resp.text))
            except requests.RequestException:
                pass
            if time.monotonic() > end:
                raise ApiError('workflow upload kept failing')
            time.sleep(0.5)

    def start(self, workflow: str, wf_input: dict[str, Any],
              ex_id: str | None = None) -> str:
        ex_id = ex_id or str(uuid.uuid4())
        self.request('POST', '/executions', {
            'id': ex_id, 'workflow_name': workflow,
            'input': json.dumps(wf_input)})
        return ex_id

    def complete_action(self, action_id: str, output: Any) -> None:
        self.request('PUT', '/action_executions/%s' % action_id, {
            'state': 'SUCCESS', 'output': json.dumps(output)})
