#!/usr/bin/python
"""Users of a ZKTeco PDKS (attendance) terminal, keyed by staff number (sicil)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pdks_users
short_description: Keep the users of a ZKTeco PDKS terminal in line with a list keyed by sicil number
description:
  - Reads the terminal's users over the ZK protocol (TCP 4370, through pyzk), compares them with
    O(users) by staff number (C(sicil), the terminal's user id), and adds, updates and, with
    O(purge=true), removes users. New users get uid slots above the highest one in use.
  - Names are compared as the terminal stores them, cut to 24 bytes of O(encoding) (a Turkish letter
    takes 2 bytes in UTF-8, 1 in cp1254), so a long name does not show as a change on every run.
  - Users with a privilege (admins) are never removed unless O(remove_admins=true).
  - Writes happen with the keypad disabled; it is enabled again even when a write fails.
  - Fingerprint templates and faces are never read or written; they stay on the terminal.
  - "KVKK: names, card numbers and PINs are C(no_log) and never appear in results. Results carry
    sicil numbers, counts and the names of changed fields; C(--diff) shows names and cards only as
    per-run keyed digests (equal digests mean equal values within one run)."
  - Runs on the controller (C(delegate_to=localhost) or C(connection=local)); needs pyzk there.
  - Supports check mode and diff mode.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
extends_documentation_fragment: [belediye_pdks]
options:
  users:
    description: The users the terminal should hold.
    type: list
    elements: dict
    default: []
    suboptions:
      sicil: {description: Staff number; the terminal's user id., type: str, required: true}
      name: {description: Full name (stored cut to 24 bytes)., type: str, default: ""}
      privilege:
        description: C(user) or C(admin) (terminal levels 0 and 14).
        type: str
        default: user
        choices: [user, admin]
      card: {description: Proximity card number, 0 for none., type: int, default: 0}
      password: {description: Keypad PIN (at most 8 bytes)., type: str}
  purge: {description: Remove users that are not in O(users)., type: bool, default: false}
  remove_admins: {description: With O(purge), also remove users with a privilege., type: bool, default: false}
  update_password:
    description:
      - C(on_create) sets the PIN only for new users; C(always) also changes it where it differs.
    type: str
    default: on_create
    choices: [on_create, always]
"""

EXAMPLES = r"""
- name: Only current staff can punch on the terminal
  pdks_users:
    host: "{{ ansible_host }}"
    comm_key: "{{ vault_pdks_comm_key }}"
    terminal: "{{ inventory_hostname }}"
    users: "{{ pdks_staff }}"
    purge: true
  delegate_to: localhost
"""

RETURN = r"""
added: {description: Sicil numbers of the users added., type: list, returned: always}
updated: {description: Sicil numbers of the users rewritten., type: list, returned: always}
removed: {description: Sicil numbers of the users removed., type: list, returned: always}
kept_admins:
  description: Sicil numbers purge left in place because they hold a privilege.
  type: list
  returned: always
changes:
  description: Per sicil, the fields that changed (created, name, privilege, card, password, removed).
  type: dict
  returned: always
user_count: {description: Users on the terminal after the run (planned, in check mode)., type: int, returned: always}
"""

import secrets

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_pdks import (
    CONNECTION_SPEC,
    DeviceError,
    PlanError,
    Terminal,
    apply_plan_to,
    diff_view,
    normalise_desired,
    plan_changed,
    plan_users,
)

USER_SPEC = {
    "sicil": {"type": "str", "required": True},
    "name": {"type": "str", "default": "", "no_log": True},
    "privilege": {"type": "str", "default": "user", "choices": ["user", "admin"]},
    "card": {"type": "int", "default": 0, "no_log": True},
    "password": {"type": "str", "no_log": True},
}


def run(module, term, desired):
    p = module.params
    current = term.users()
    plan = plan_users(desired, current, p["purge"], p["remove_admins"], p["update_password"])
    changed = plan_changed(plan)
    if changed and not module.check_mode:
        with term.locked():
            for user in plan["remove"]:
                term.delete_user(user)
            for user in plan["update"] + plan["add"]:
                term.write_user(user)
    after = apply_plan_to(current, plan)
    result = {
        "changed": changed,
        "added": [u["sicil"] for u in plan["add"]],
        "updated": [u["sicil"] for u in plan["update"]],
        "removed": [u["sicil"] for u in plan["remove"]],
        "kept_admins": plan["kept_admins"],
        "changes": plan["changes"],
        "user_count": len(after),
    }
    if module._diff:
        key = secrets.token_bytes(16)
        result["diff"] = {
            "before_header": f"{term.label} users",
            "after_header": f"{term.label} users",
            "before": diff_view(current, key),
            "after": diff_view(after, key),
        }
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_SPEC,
            "users": {"type": "list", "elements": "dict", "default": [], "options": USER_SPEC},
            "purge": {"type": "bool", "default": False},
            "remove_admins": {"type": "bool", "default": False},
            "update_password": {
                "type": "str",
                "default": "on_create",
                "choices": ["on_create", "always"],
                "no_log": False,
            },
        },
        supports_check_mode=True,
    )
    p = module.params
    term = Terminal(p["host"], p["port"], p["comm_key"], p["timeout"], p["encoding"], p["terminal"])
    error = None
    try:
        desired = normalise_desired(p["users"], p["encoding"])
        with term:
            result = run(module, term, desired)
    except DeviceError as exc:
        error = str(exc)
    except PlanError as exc:
        error = f"{term.label}: {exc}"
    if error:
        # one exit for failures: the message names the terminal; no traceback is added
        module.fail_json(msg=error)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
