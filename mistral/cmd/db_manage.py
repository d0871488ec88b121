"""mistral-db-manage: schema migrations (Alembic) and pre-installed content.

Commands: upgrade [--delta N | REV], downgrade [--delta N | REV], current,
history, stamp REV, revision [-m MSG] [--autogenerate], populate,
import-upstream --from URL (see :mod:`mistral.db.upstream_import`).

Every command that touches the configured database first looks at its
tables (:mod:`mistral.db.migration.schema_state`): a database of upstream
OpenStack Mistral is refused with a message that names the import, before
Alembic reads any revision.
"""

from __future__ import annotations

import sys

import mistral  # noqa: F401  (first: process-wide setup)

# isort: split
from alembic import command as alembic_cmd
from alembic import config as alembic_config
from alembic import util as alembic_util
from oslo_config import cfg

from mistral import config as mistral_config
from mistral.db import api as db_api
from mistral.db.migration import schema_state
from mistral.db.migration.cli import alembic_cfg
from mistral.db.migration.cli import prepare_database
from mistral.services import populate

CONF = cfg.CONF


def _rev(default: str, sign: str) -> str:
    if CONF.command.delta:
        return '%s%d' % (sign, CONF.command.delta)
    return CONF.command.revision or default


def _do_upgrade(config: alembic_config.Config) -> None:
    rev = _rev('', '+')
    if not rev:
        raise SystemExit('You must provide a revision or a relative delta')
    alembic_cmd.upgrade(config, rev, sql=CONF.command.sql)


def _do_downgrade(config: alembic_config.Config) -> None:
    rev = _rev('', '-')
    if not rev:
        raise SystemExit('You must provide a revision or a relative delta')
    alembic_cmd.downgrade(config, rev, sql=CONF.command.sql)


def _do_current(config: alembic_config.Config) -> None:
    alembic_cmd.current(config, verbose=CONF.command.verbose)


def _do_history(config: alembic_config.Config) -> None:
    alembic_cmd.history(config, verbose=CONF.command.verbose)


def _do_stamp(config: alembic_config.Config) -> None:
    alembic_cmd.stamp(config, CONF.command.revision, sql=CONF.command.sql)


def _do_revision(config: alembic_config.Config) -> None:
    alembic_cmd.revision(config, message=CONF.command.message,
                         autogenerate=CONF.command.autogenerate,
                         rev_id=CONF.command.rev_id)


def _do_populate(config: alembic_config.Config) -> None:
    populate.populate()


def _do_import_upstream(config: alembic_config.Config) -> int:
    from mistral.db.upstream_import import command

    return command.run(CONF.command)


def _add_parsers(subparsers) -> None:
    for name, func, _with_rev in (('upgrade', _do_upgrade, True),
                                  ('downgrade', _do_downgrade, True)):
        p = subparsers.add_parser(name)
        p.add_argument('--delta', type=int)
        p.add_argument('--sql', action='store_true')
        p.add_argument('revision', nargs='?')
        p.set_defaults(func=func)

    for name, func in (('current', _do_current), ('history', _do_history)):
        p = subparsers.add_parser(name)
        p.add_argument('--verbose', action='store_true')
        p.set_defaults(func=func)

    p = subparsers.add_parser('stamp')
    p.add_argument('--sql', action='store_true')
    p.add_argument('revision')
    p.set_defaults(func=_do_stamp)

    p = subparsers.add_parser('revision')
    p.add_argument('-m', '--message')
    p.add_argument('--autogenerate', action='store_true')
    p.add_argument('--rev-id')
    p.set_defaults(func=_do_revision)

    for name in ('populate', 'populate_actions'):
        p = subparsers.add_parser(name)
        p.set_defaults(func=_do_populate)

    from mistral.db.upstream_import import command as import_command

    p = subparsers.add_parser(
        'import-upstream', help=import_command.HELP,
        description=import_command.DESCRIPTION)
    import_command.add_arguments(p)
    p.set_defaults(func=_do_import_upstream)


_command_opt = cfg.SubCommandOpt('command', title='Command',
                                 help='Available commands',
                                 handler=_add_parsers)


# Commands that neither read nor write the configured database.
_OFFLINE = ('history',)


def main(argv: list[str] | None = None) -> int:
    CONF.register_cli_opt(_command_opt)
    mistral_config.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        func = CONF.command.func
        if func is not _do_import_upstream and \
                CONF.command.name not in _OFFLINE and \
                not getattr(CONF.command, 'sql', False):
            prepare_database()
        result = func(alembic_cfg())
    except (alembic_util.CommandError,
            schema_state.UpstreamDatabaseError) as e:
        print('mistral-db-manage: %s' % e, file=sys.stderr)
        return 1
    finally:
        db_api.dispose()
    return result if isinstance(result, int) else 0


if __name__ == '__main__':
    sys.exit(main())
