"""Starting the two servers of a differential run.

Ours: :class:`mistral.tests.functional.harness.Deployment` (every
component in one process group, as upstream's ``mistral-server --server
api,engine,executor`` runs them). Upstream 23.0.0:
:class:`mistral.tests.functional.upstream_db.upstream.UpstreamServer`,
whose virtualenv is built once per machine from PyPI (file-locked).
Each gets a private PostgreSQL database and RabbitMQ vhost, dropped at
exit, and the API on a port the kernel picked; authentication is off on
both.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
from typing import Any, Iterator

from mistral.tests.functional import harness
from mistral.tests.functional.upstream_db import upstream as upstream_mod

# Both std.http actions refuse loopback by default ([action_std_http]
# denied_cidrs, upstream's and ours); a workflow that calls a local test
# server is only comparable when both may reach it. ``allowed_hosts``
# cannot open it: on both it is an allow-list, still subject to
# denied_cidrs.
BOTH_CONF: dict[str, dict[str, Any]] = {
    'action_std_http': {'denied_cidrs': []},
}


@dataclasses.dataclass
class Endpoint:
    """One server as the driver needs it."""
    name: str
    url: str
    db_url: str | None = None

    def client(self) -> Any:
        from mistralclient.api import client
        return client.client(mistral_url=self.url)


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)


class ConfiguredUpstream(upstream_mod.UpstreamServer):
    """Upstream with extra ``{section: {option: value}}`` settings
    appended to its configuration file before it starts."""

    def __init__(self, conf: dict[str, dict[str, Any]] | None = None,
                 db: str = 'postgresql') -> None:
        super().__init__(db=db)
        self.extra_conf = conf or {}

    def setup(self) -> None:
        super().setup()
        if not self.extra_conf:
            return
        with open(self.conf_path, 'a') as f:
            for section, opts in self.extra_conf.items():
                f.write('\n[%s]\n' % section)
                for name, value in opts.items():
                    f.write('%s = %s\n' % (name, _ini_value(value)))


def _merge(*confs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for conf in confs:
        for section, opts in (conf or {}).items():
            out.setdefault(section, {}).update(opts)
    return out


@contextlib.contextmanager
def started_pair(conf: dict[str, dict[str, Any]] | None = None,
                 db: str = 'postgresql'
                 ) -> Iterator[tuple[Endpoint, Endpoint]]:
    """Ours and upstream, both with ``conf``, started side by side."""
    with contextlib.ExitStack() as stack:
        both = _merge(BOTH_CONF, conf or {})
        ours = harness.Deployment(db=db, conf_overrides=both)
        theirs = ConfiguredUpstream(both, db=db)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            fo = pool.submit(ours.__enter__)
            fu = pool.submit(theirs.__enter__)
            # Register each exit as soon as its start is known, so that a
            # failed start of one still stops the other.
            errors = []
            for fut, obj in ((fo, ours), (fu, theirs)):
                try:
                    fut.result()
                    stack.push(obj.__exit__)
                except BaseException as e:  # the other one is cleaned
                    errors.append(e)
            if errors:
                raise errors[0]
        yield (Endpoint('ours', ours.api_url, ours.db_url),
               Endpoint('upstream', theirs.url, theirs.db_url))
