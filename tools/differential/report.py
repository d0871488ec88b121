"""The table and the JSON of a differential run."""

from __future__ import annotations

import collections
import json
from typing import Any

from tools.differential.run import Outcome

RESULTS = ('identical', 'allowed', 'different', 'not runnable', 'broken')


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value,
                                                           sort_keys=True)
    text = ' '.join(text.split())
    return text if len(text) <= width else text[:width - 3] + '...'


def summary(outcomes: list[Outcome]) -> dict[str, int]:
    counts = collections.Counter(o.result for o in outcomes)
    out = {r: counts.get(r, 0) for r in RESULTS}
    out['cases'] = len(outcomes)
    return out


def table(outcomes: list[Outcome], verbose: bool = False) -> str:
    """One line per case (and per difference of a case that is not
    identical, all of them with ``verbose``, else the first three)."""
    lines = []
    wn = max([len(o.case) for o in outcomes] + [4])
    wa = max([len(o.area) for o in outcomes] + [4])
    lines.append('%-*s  %-*s  %-12s  %6s' % (wn, 'case', wa, 'area',
                                             'result', 'secs'))
    for o in outcomes:
        lines.append('%-*s  %-*s  %-12s  %6.1f%s' % (
            wn, o.case, wa, o.area, o.result, o.seconds,
            '  (inline parameters rewritten)' if o.rewritten else ''))
        for side, rec in (('ours', o.ours), ('upstream', o.upstream)):
            missed = (rec or {}).get('expect_errors')
            if missed and verbose:
                lines.append('    %s misses the case\'s expect: %s'
                             % (side, _short('; '.join(missed), 200)))
        if o.result in ('not runnable', 'broken'):
            lines.append('    ' + _short(o.reason, 160))
        shown = o.differences if verbose else o.differences[:3]
        for d in shown:
            mark = '(allowed) ' if d.get('allowed') else ''
            lines.append('    %s%s: ours %s | upstream %s' % (
                mark, d['what'], _short(d['ours']), _short(d['upstream'])))
        if len(o.differences) > len(shown):
            lines.append('    ... %d more' % (len(o.differences) -
                                              len(shown)))
    s = summary(outcomes)
    lines.append('')
    lines.append('differential: %d cases: %s' % (
        s['cases'], ', '.join('%d %s' % (s[r], r) for r in RESULTS)))
    return '\n'.join(lines)


def as_json(outcomes: list[Outcome], **extra: Any) -> dict[str, Any]:
    return dict(extra, summary=summary(outcomes),
                outcomes=[o.as_json() for o in outcomes])
