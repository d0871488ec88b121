"""Default API policy rules (oslo.policy).

Registered through the ``oslo.policy.policies`` entry point so that
``oslopolicy-sample-generator --namespace mistral`` lists them.

Three personas, all project scoped (``scope_types=['project']``):

* **reader** (role ``reader`` or ``member`` in the project): get and list;
* **member** (role ``member``): also create, update and delete;
* **admin** (role ``admin``): everything, in every project; publishing
  objects to all projects, listing other projects' objects, code sources,
  dynamic actions and maintenance are admin-only.

Upstream Mistral has one rule for everything but the admin operations:
"admin or any role in the owning project". It is kept as the deprecated
rule of every reader/member rule, so ``[oslo_policy]
enforce_new_defaults = false`` brings that behaviour back.
"""

from __future__ import annotations

from oslo_policy import policy

ADMIN_ONLY = 'rule:admin_only'
ADMIN_OR_OWNER = 'rule:admin_or_owner'
ADMIN_OR_READER = 'rule:admin_only or rule:project_reader'
ADMIN_OR_MEMBER = 'rule:admin_only or rule:project_member'

SCOPE = ['project']

# Operations a reader may do; the others need a member.
_READS = ('get', 'list')

DEPRECATED_REASON = ('Mistral has reader, member and admin personas: any '
                     'role in a project no longer allows changes.')
DEPRECATED_SINCE = '2026.2'

_BASE = [
    policy.RuleDefault('admin_only', 'is_admin:True',
                       description='Admins only.'),
    policy.RuleDefault('admin_or_owner',
                       'is_admin:True or project_id:%(project_id)s',
                       description='Admins, or members of the project that '
                                   'owns the object.'),
    policy.RuleDefault('project_reader',
                       '(role:reader or role:member) and '
                       'project_id:%(project_id)s',
                       description='Readers (or members) of the project.'),
    policy.RuleDefault('project_member',
                       'role:member and project_id:%(project_id)s',
                       description='Members of the project.'),
]

# resource -> operations; a value of True marks an admin-only operation.
_RESOURCES: dict[str, dict[str, bool]] = {
    'actions': {'create': False, 'delete': False, 'get': False,
                'list': False, 'update': False, 'publicize': True},
    'action_executions': {'create': False, 'delete': False, 'get': False,
                          'list': False, 'update': False},
    'code_sources': {'create': True, 'delete': True, 'get': True,
                     'list': True, 'update': True, 'publicize': True,
                     'list:all_projects': True},
    'dynamic_actions': {'create': True, 'delete': True, 'get': True,
                        'list': True, 'update': True, 'publicize': True,
                        'list:all_projects': True},
    'cron_triggers': {'create': False, 'delete': False, 'get': False,
                      'list': False, 'publicize': True,
                      'list:all_projects': True},
    'environments': {'create': False, 'delete': False, 'get': False,
                     'list': False, 'update': False, 'publicize': True},
    'event_triggers': {'create': False, 'delete': False, 'get': False,
                       'list': False, 'update': False, 'publicize': True,
                       'list:all_projects': True},
    'executions': {'create': False, 'delete': False, 'get': False,
                   'list': False, 'update': False,
                   'list:all_projects': True},
    'maintenance': {'get': False, 'update': True},
    'members': {'create': False, 'delete': False, 'get': False,
                'list': False, 'update': False},
    'services': {'list': False},
    'tasks': {'get': False, 'list': False, 'update': False},
    'workbooks': {'create': False, 'delete': False, 'get': False,
                  'list': False, 'update': False, 'publicize': True},
    'workflows': {'create': False, 'delete': False, 'get': False,
                  'list': False, 'update': False, 'publicize': True,
                  'list:all_projects': True},
}


def _rule(resource: str, operation: str, admin: bool
          ) -> policy.RuleDefault:
    name = '%s:%s' % (resource, operation)
    description = '%s %s.' % (operation.replace(':', ' '),
                              resource.replace('_', ' '))
    if admin:
        return policy.RuleDefault(name, ADMIN_ONLY, description=description,
                                  scope_types=SCOPE)
    check = ADMIN_OR_READER if operation in _READS else ADMIN_OR_MEMBER
    return policy.RuleDefault(
        name, check, description=description, scope_types=SCOPE,
        deprecated_rule=policy.DeprecatedRule(
            name=name, check_str=ADMIN_OR_OWNER,
            deprecated_reason=DEPRECATED_REASON,
            deprecated_since=DEPRECATED_SINCE))


def _rules() -> list[policy.RuleDefault]:
    rules = list(_BASE)
    for resource, operations in _RESOURCES.items():
        for operation, admin in operations.items():
            rules.append(_rule(resource, operation, admin))
    return rules


def list_rules() -> list[policy.RuleDefault]:
    """Entry point ``oslo.policy.policies: mistral``."""
    return _rules()
