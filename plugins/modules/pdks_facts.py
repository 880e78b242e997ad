#!/usr/bin/python
"""Facts about a ZKTeco PDKS terminal."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pdks_facts
short_description: Read identity, counts and capacity of a ZKTeco PDKS terminal
description:
  - Returns C(ansible_facts.pdks) with the firmware, serial number, platform, device name (the
    model name the firmware reports, not a unique name), MAC address, user, fingerprint and
    attendance counts and the capacities. No user or attendance content is read.
  - Runs on the controller (C(delegate_to=localhost) or C(connection=local)); needs pyzk there.
    With C(delegate_to), the facts still belong to the terminal's inventory host.
  - Changes nothing; safe in check mode.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
extends_documentation_fragment: [belediye_pdks]
"""

EXAMPLES = r"""
- name: Facts of every PDKS terminal are known
  pdks_facts:
    host: "{{ ansible_host }}"
    comm_key: "{{ vault_pdks_comm_key }}"
    terminal: "{{ inventory_hostname }}"
  delegate_to: localhost
"""

RETURN = r"""
ansible_facts:
  description: C(pdks) with firmware, serial, platform, device_name, mac, users, fingers, records, faces and capacity.
  type: dict
  returned: always
  sample:
    pdks:
      firmware: Ver 6.60 Apr 28 2021
      serial: ZKSIM0001
      platform: ZMM220_TFT
      device_name: MB20
      mac: "00:17:61:00:00:01"
      users: 42
      fingers: 80
      records: 1200
      faces: 0
      capacity: {users: 3000, fingers: 3000, records: 100000, faces: 0}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_pdks import CONNECTION_SPEC, DeviceError, Terminal


def main():
    module = AnsibleModule(argument_spec=dict(CONNECTION_SPEC), supports_check_mode=True)
    p = module.params
    term = Terminal(p["host"], p["port"], p["comm_key"], p["timeout"], p["encoding"], p["terminal"])
    error = None
    try:
        with term:
            facts = {**term.identity(), **term.sizes()}
    except DeviceError as exc:
        error = str(exc)
    if error:
        # one exit for failures: the message names the terminal; no traceback is added
        module.fail_json(msg=error)
    module.exit_json(changed=False, ansible_facts={"pdks": facts})


if __name__ == "__main__":
    main()
