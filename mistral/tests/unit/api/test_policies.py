"""Default policy rules and their enforcement."""

from __future__ import annotations

from typing import Any

import pytest

from mistral import exceptions as exc
from mistral import policies
from mistral.api import access
from mistral.context import MistralContext
from mistral.tests.unit.api import conftest as c


def test_rule_defaults() -> None:
    rules = {r.name: r.check_str for r in policies.list_rules()}
    assert rules['workflows:create'] == \
        'rule:admin_only or rule:project_member'
    assert rules['workflows:get'] == 'rule:admin_only or rule:project_reader'
    assert rules['workflows:publicize'] == 'rule:admin_only'
    assert rules['executions:list:all_projects'] == 'rule:admin_only'
    assert rules['code_sources:get'] == 'rule:admin_only'
    assert rules['admin_only'] == 'is_admin:True'


def test_enforce() -> None:
    member = MistralContext(project_id='p', roles=['member'])
    admin = MistralContext(project_id='p', roles=['admin'], is_admin=True)
    access.enforce('executions:create', member)
    access.enforce('executions:list:all_projects', admin)
    with pytest.raises(exc.NotAllowedException) as err:
        access.enforce('executions:list:all_projects', member)
    assert err.value.http_code == 403
    with pytest.raises(exc.MistralError):
        access.enforce('no:such:rule', member)


def test_publicize_is_admin_only_without_auth(app: Any) -> None:
    r = app.post('/v2/workflows?scope=public', c.WF, status=403)
    assert r.json == {
        'faultstring': 'Operation forbidden (insufficient permissions)'}
    r = app.post_json('/v2/environments', {'name': 'e', 'scope': 'public'},
                      status=403)
    assert r.json['faultcode'] == 'Client'


def _ctx(*roles: str, project: str = 'p') -> MistralContext:
    return MistralContext(project_id=project, roles=list(roles),
                          is_admin='admin' in roles)


def test_personas() -> None:
    reader, member, admin = _ctx('reader'), _ctx('member'), _ctx('admin')
    other = _ctx('other-role')
    for ctx in (reader, member, admin):
        access.enforce('workflows:list', ctx)
        access.enforce('executions:get', ctx)
    for rule in ('workflows:create', 'workflows:update', 'workflows:delete',
                 'executions:create', 'tasks:update'):
        with pytest.raises(exc.NotAllowedException):
            access.enforce(rule, reader)
        access.enforce(rule, member)
        access.enforce(rule, admin)
    # A role that is none of the personas allows nothing.
    with pytest.raises(exc.NotAllowedException):
        access.enforce('workflows:list', other)
    for rule in ('workflows:publicize', 'code_sources:list',
                 'maintenance:update'):
        with pytest.raises(exc.NotAllowedException):
            access.enforce(rule, member)
        access.enforce(rule, admin)
    rules = {r.name: r for r in policies.list_rules()}
    assert all(r.scope_types == ['project'] for n, r in rules.items()
               if ':' in n)


def test_old_defaults_on_request() -> None:
    # enforce_new_defaults = false: upstream's "any role in the project".
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    from oslo_policy import opts as policy_opts
    policy_opts.set_defaults(conf)
    conf([], project='mistral-test')
    conf.set_override('enforce_new_defaults', False, group='oslo_policy')
    from oslo_policy import policy as oslo_policy

    enforcer = oslo_policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    creds = {'project_id': 'p', 'roles': ['other-role'], 'is_admin': False}
    target = {'project_id': 'p'}
    assert enforcer.authorize('workflows:create', target, creds)
    conf.set_override('enforce_new_defaults', True, group='oslo_policy')
    enforcer = oslo_policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    assert not enforcer.authorize('workflows:create', target, creds)


def test_reader_through_the_api(auth_app: Any) -> None:
    reader = c.headers('p1', 'reader')
    member = c.headers('p1', 'member')
    auth_app.post('/v2/workflows', c.WF, headers={
        'Content-Type': 'text/plain', **member}, status=201)
    assert [w['name'] for w in auth_app.get(
        '/v2/workflows', headers=reader).json['workflows']] == ['wf1']
    auth_app.get('/v2/workflows/wf1', headers=reader, status=200)
    r = auth_app.post('/v2/workflows', c.WF.replace('wf1', 'wf2'),
                      headers={'Content-Type': 'text/plain', **reader},
                      status=403)
    assert r.json['faultstring'] == access.FORBIDDEN
    auth_app.delete('/v2/workflows/wf1', headers=reader, status=403)
    auth_app.post_json('/v2/executions', {'workflow_name': 'wf1'},
                       headers=reader, status=403)
    auth_app.post_json('/v2/environments', {'name': 'e'}, headers=reader,
                       status=403)


def test_without_auth_requests_act_as_a_member(app: Any) -> None:
    c.create_wf(app)
    app.post_json('/v2/executions', {'workflow_name': 'wf1'}, status=201)
    app.delete('/v2/workflows/wf1', status=204)
    app.post('/v2/workflows?scope=public', c.WF, status=403)


def _run(*args: str) -> str:
    import os
    import subprocess
    import sys

    tool = os.path.join(os.path.dirname(sys.executable), args[0])
    out = subprocess.run([tool, *args[1:]], capture_output=True, text=True,
                         timeout=120, cwd='/')
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_policy_tools() -> None:
    sample = _run('oslopolicy-sample-generator', '--namespace', 'mistral')
    assert '#"workflows:create": "rule:admin_only or rule:project_member"' \
        in sample
    assert '# Intended scope(s): project' in sample
    assert '# "workflows:create":"rule:admin_or_owner" has been deprecated' \
        in sample
    effective = _run('oslopolicy-policy-generator', '--namespace',
                     'mistral')
    assert '"workflows:get": "rule:admin_only or rule:project_reader"' \
        in effective
    assert '"code_sources:create": "rule:admin_only"' in effective


def test_decisions_are_cached_for_a_bounded_time(monkeypatch) -> None:
    """Decisions are reused for DECISION_TTL seconds, per rule, target
    and credentials; a changed rule applies once that time has passed."""
    from oslo_policy import policy as oslo_policy

    access.reset()
    enforcer = access.get_enforcer(use_conf=False)
    clock = [1000.0]
    monkeypatch.setattr(access.time, 'monotonic', lambda: clock[0])
    calls = []
    real = enforcer.authorize

    def counting(rule, target, creds, *args, **kwargs):
        calls.append(rule)
        return real(rule, target, creds, *args, **kwargs)

    monkeypatch.setattr(enforcer, 'authorize', counting)
    member, reader = _ctx('member'), _ctx('reader')
    try:
        access.enforce('executions:create', member)
        access.enforce('executions:create', member)
        assert calls == ['executions:create']
        # Other credentials are decided on their own.
        with pytest.raises(exc.NotAllowedException):
            access.enforce('executions:create', reader)
        assert len(calls) == 2
        # Another project in the target is another decision too.
        with pytest.raises(exc.NotAllowedException):
            access.enforce('executions:create', member,
                           {'project_id': 'q', 'user_id': None})
        assert len(calls) == 3
        enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'executions:create': '!'}), overwrite=False)
        access.enforce('executions:create', member)  # still the old answer
        clock[0] += access.DECISION_TTL
        with pytest.raises(exc.NotAllowedException):
            access.enforce('executions:create', member)
    finally:
        access.reset()
