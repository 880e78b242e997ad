#!/usr/bin/python
"""Documentation of the action plugin plugins/action/role_inputs.py, which does the work on the
control node; this module only refuses to run anywhere else."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: role_inputs
short_description: Check one host's inventory values against the inputs of the roles it receives
description:
  - For each role named, in order, checks the host's variables against the role's
    C(meta/argument_specs.yml) (without the defaults, so only what the inventory gives), then runs the
    checks of the role's C(tasks/assert.yml) on the control node, with the role's defaults and vars
    as C(include_role) would give them.
  - The first problem fails the host, with the message the role's check gives (it names the host,
    the variable and what is wrong), as the same checks run as tasks would have.
  - One task per host instead of one per role and check, which C(playbooks/validate.yml) runs for
    every host of an inventory before any change.
  - Supported in C(assert.yml) are C(assert), C(set_fact), C(debug) (its message is returned as a
    warning), C(include_vars) and C(fail), with C(when), C(loop), C(loop_control), C(vars),
    C(no_log) and C(tags). Any other action or keyword is an error, never skipped.
  - Connects to no host and changes nothing.
options:
  roles:
    description: The roles whose inputs are checked, in this order.
    type: list
    elements: str
    required: true
  roles_path:
    description: The directory that holds the roles.
    type: path
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: belediye-iac
"""

EXAMPLES = r"""
- name: Every host's variables fit the roles it receives
  role_inputs:
    roles: [common, antivirus, isms_baseline]
    roles_path: "{{ playbook_dir }}/../roles"
"""

RETURN = r"""
roles:
  description: The roles whose inputs were checked (when all passed).
  returned: success
  type: list
  elements: str
role:
  description: The role whose check failed.
  returned: failure
  type: str
task:
  description: The name of the check that failed (C(argument spec) for the argument spec).
  returned: failure
  type: str
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "roles": {"type": "list", "elements": "str", "required": True},
            "roles_path": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    module.fail_json(msg="role_inputs runs on the control node as an action (plugins/action/role_inputs.py)")


if __name__ == "__main__":
    main()
