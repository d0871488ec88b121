"""Running cases on both servers and classifying each:

* ``identical``: no difference after normalisation;
* ``allowed``: every difference is in the allow-list (a deliberate
  difference documented in ``doc/source/user/differences.rst``);
* ``different``: at least one difference is not;
* ``not runnable``: the case cannot be played on upstream here (the
  reason is given);
* ``broken``: the tool could not play it (a server unreachable...).
"""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import fnmatch
import json
import os
import time
import traceback
from typing import Any, Callable

import yaml

from tools.differential import compare
from tools.differential import normalise
from tools.differential import portable
from tools.differential import record as record_mod

ALLOWED_FILE = os.path.join(os.path.dirname(__file__), 'allowed.yaml')

# Cases upstream cannot play at all, with the reason (none so far: a case
# that runs differently is a difference, never a skip).
NOT_RUNNABLE: dict[str, str] = {}


@dataclasses.dataclass
class Outcome:
    case: str
    area: str
    result: str
    reason: str = ''
    differences: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    ours: dict[str, Any] | None = None
    upstream: dict[str, Any] | None = None
    seconds: float = 0.0
    rewritten: bool = False

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_allowed(path: str = ALLOWED_FILE) -> list[dict[str, Any]]:
    """The allow-list: ``[{case, what, ours, upstream, reason, doc}]``;
    ``case`` and ``what`` are fnmatch patterns (``what`` matches a
    difference's path, default ``*``); ``ours`` and ``upstream``, when
    given, are the exact values the difference must have."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        entries = yaml.safe_load(f) or []
    for e in entries:
        missing = {'case', 'reason', 'doc'} - set(e)
        if missing:
            raise ValueError('%s: entry %r lacks %s'
                             % (path, e, sorted(missing)))
    return entries


def allowed_by(entries: list[dict[str, Any]], case: str,
               diff: dict[str, Any]) -> dict[str, Any] | None:
    for e in entries:
        if fnmatch.fnmatchcase(case, e['case']) and \
                fnmatch.fnmatchcase(diff['what'], e.get('what', '*')) and \
                all(side not in e or diff[side] == e[side]
                    for side in ('ours', 'upstream')):
            return e
    return None


def not_runnable(case: dict[str, Any], can_configure: bool) -> str | None:
    """Why ``case`` cannot be played on upstream here, or None."""
    if case['name'] in NOT_RUNNABLE:
        return NOT_RUNNABLE[case['name']]
    for step in case.get('steps') or []:
        arg = step.get('complete_action')
        if arg and not arg.get('cancel') and arg.get('output') and \
                not isinstance(arg['output'], dict):
            return ('completes an action with %s; upstream\'s PUT '
                    '/v2/action_executions takes only a JSON object '
                    '(differences.rst: "Action execution output is any '
                    'JSON value")' % json.dumps(arg['output']))
    if case.get('conf') and not can_configure:
        return ('changes configuration (%s): both servers need it at '
                'start; run with --start' % json.dumps(case['conf'],
                                                      sort_keys=True))
    return None


def prepared(case: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The case as both servers play it: inline parameters in the form
    both read alike (:mod:`.portable`, ``rewritten`` says whether that
    changed anything) and ``prefix`` before every non-default namespace
    (for a server others use too)."""
    c = copy.deepcopy(case)
    c['rewritten'] = portable.rewrite_case(c)
    if prefix:
        c['namespace'] = prefix + c['namespace']
        for extra in c.get('extra') or []:
            if extra.get('namespace'):
                extra['namespace'] = prefix + extra['namespace']
    return c


def words_of(case: dict[str, Any]) -> frozenset[str]:
    texts = [case.get('workflows') or '', case.get('actions') or '',
             case.get('workbook') or '', json.dumps(case.get('input')),
             json.dumps(case.get('steps'))]
    for extra in case.get('extra') or []:
        texts += [extra.get('workflows') or '', extra.get('actions') or '',
                  extra.get('workbook') or '']
    return normalise.case_words(texts)


def _play(endpoint: Any, case: dict[str, Any], clean: bool,
          async_grace: float) -> dict[str, Any]:
    drv = record_mod.RecordingDriver(endpoint.client(), endpoint.db_url,
                                     async_grace=async_grace)
    rec: dict[str, Any] | None = None
    try:
        rec = record_mod.record(drv, case)
        return rec
    finally:
        if clean:
            problems = drv.cleanup([rec['ex_id']] if rec and rec['ex_id']
                                   else [])
            if rec is not None and problems:
                rec['cleanup_problems'] = problems


def run_case(case: dict[str, Any], ours: Any, upstream: Any, *,
             prefix: str = '', clean: bool = False,
             allowed: list[dict[str, Any]] | None = None,
             async_grace: float = 0.5) -> Outcome:
    """Play one case on both endpoints at once and compare."""
    started = time.monotonic()
    c = prepared(case, prefix)
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            fo = pool.submit(_play, ours, c, clean, async_grace)
            fu = pool.submit(_play, upstream, c, clean, async_grace)
            rec_o, rec_u = fo.result(), fu.result()
    except Exception:  # the tool's own failure, shown as such
        return Outcome(case['name'], case['area'], 'broken',
                       traceback.format_exc(limit=5),
                       seconds=round(time.monotonic() - started, 2))
    diffs = compare.differences(compare.view(rec_o), compare.view(rec_u),
                                words_of(c))
    result = 'identical'
    if diffs:
        result = 'allowed'
        for d in diffs:
            entry = allowed_by(allowed or [], case['name'], d)
            if entry is None:
                result = 'different'
            else:
                d['allowed'] = entry['reason']
    return Outcome(case['name'], case['area'], result, '', diffs,
                   rec_o, rec_u, round(time.monotonic() - started, 2),
                   c['rewritten'])


def run_cases(cases: list[dict[str, Any]], ours: Any, upstream: Any, *,
              workers: int = 4, prefix: str = '', clean: bool = False,
              allowed: list[dict[str, Any]] | None = None,
              async_grace: float = 0.5,
              progress: Callable[[Outcome], None] | None = None
              ) -> list[Outcome]:
    """Every case on the same pair of endpoints, ``workers`` at a time;
    outcomes in the order of ``cases``."""
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        futures = [pool.submit(run_case, c, ours, upstream, prefix=prefix,
                               clean=clean, allowed=allowed,
                               async_grace=async_grace)
                   for c in cases]
        outcomes = []
        for fut in futures:
            out = fut.result()
            if progress is not None:
                progress(out)
            outcomes.append(out)
    return outcomes
