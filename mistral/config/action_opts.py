"""Configuration options of the action subsystem.

Defined here, below everything that reads them, so that the configuration
never imports the actions: :mod:`mistral.config` registers :data:`GROUPS`
with the rest and lists them for the sample config generator.
"""

from __future__ import annotations

from oslo_config import cfg

MIB = 1024 * 1024

std_http_opts = [
    cfg.ListOpt(
        'allowed_hosts', default=[],
        help='Allow-list of the hosts that std.http, std.mistral_http and '
             'webhook notifications may reach: host names '
             '(case-insensitive) or IP addresses as written in URLs. '
             'Empty (the default) allows any host; otherwise a URL whose '
             'host is not listed is refused. denied_cidrs applies to '
             'listed hosts too.'),
    cfg.ListOpt(
        'denied_cidrs',
        default=['127.0.0.0/8', '::1/128', '169.254.0.0/16', 'fe80::/10'],
        help='Networks that outgoing HTTP requests must not reach, '
             'whatever allowed_hosts says (the defaults block loopback and '
             'link-local, which includes the cloud metadata service). The '
             'host of every URL (and every redirect) is resolved and each '
             'address is checked, as is the address actually connected '
             'to. An empty list turns the address check off. Entries that '
             'are not networks are skipped with a warning.'),
    cfg.IntOpt(
        'default_timeout', default=60, min=0,
        help='Timeout in seconds of std.http requests that set none.'),
    cfg.IntOpt(
        'max_response_size_bytes', default=5 * MIB, min=0,
        help='Largest response body std.http accepts; 0 means no limit.'),
]

action_providers_opts = [
    cfg.ListOpt(
        'allowlist', default=[],
        help='Glob patterns (fnmatch) of action provider names to load. '
             'Empty means all.'),
    cfg.ListOpt(
        'denylist', default=[],
        help='Glob patterns (fnmatch) of action provider names to skip.'),
]

legacy_action_provider_opts = [
    cfg.BoolOpt(
        'load_action_plugins', default=True,
        help='Load action classes from the "mistral.actions" entry '
             'point.'),
    cfg.BoolOpt(
        'load_action_generators', default=True,
        help='Load actions from the "mistral.generators" entry point.'),
    cfg.BoolOpt(
        'only_builtin_actions', default=False,
        help='Load only action classes that live in the mistral package.'),
    cfg.ListOpt(
        'allowlist', default=[],
        help='Glob patterns (fnmatch) of action names to load. Empty '
             'means all.'),
    cfg.ListOpt(
        'denylist', default=[],
        help='Glob patterns (fnmatch) of action names to skip.'),
]

GROUPS: list[tuple[str | None, list[cfg.Opt]]] = [
    ('action_std_http', std_http_opts),
    ('action_providers', action_providers_opts),
    ('legacy_action_provider', legacy_action_provider_opts),
]

