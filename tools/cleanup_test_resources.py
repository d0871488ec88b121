#!/usr/bin/env python3
"""Drop test databases and RabbitMQ vhosts left behind by killed runs.

The functional-test harness names what it creates ``mistral_t_<pid>_<hex>``
and drops it on exit; a run that was killed (SIGKILL, a lost CI machine)
cannot. This drops every such database (PostgreSQL, MariaDB) and vhost
whose creating process no longer exists, so it is safe while other test
runs are going on. ``--dry-run`` only lists them.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from mistral.tests.functional import harness  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dry-run', action='store_true',
                        help='list what would be dropped')
    args = parser.parse_args(argv)
    if args.dry_run:
        found = harness.stale_resources()
    else:
        found = harness.drop_stale_resources()
    verb = 'stale' if args.dry_run else 'dropped'
    for kind, names in found.items():
        for name in names:
            print('%s %s %s' % (verb, kind, name))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
