#!/usr/bin/python
"""The clock of a ZKTeco PDKS terminal."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pdks_time
short_description: Keep the clock of a ZKTeco PDKS terminal within a drift of local time
description:
  - Reads the terminal's clock and compares it with the controller's clock in O(timezone). The ZK
    protocol carries wall time without a zone, so the terminal holds local time.
  - Sets the clock only when the drift is larger than O(max_drift) seconds; otherwise reports no change.
  - Runs on the controller (C(delegate_to=localhost) or C(connection=local)); needs pyzk there.
    The controller's own clock should be NTP-synchronised.
  - Supports check mode.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
extends_documentation_fragment: [belediye_pdks]
options:
  max_drift: {description: Largest drift in seconds, either way, that is left alone., type: int, default: 30}
  timezone: {description: IANA zone whose wall time the terminal keeps., type: str, default: Europe/Istanbul}
"""

EXAMPLES = r"""
- name: The terminal's clock is within 30 seconds of Istanbul time
  pdks_time:
    host: "{{ ansible_host }}"
    comm_key: "{{ vault_pdks_comm_key }}"
    terminal: "{{ inventory_hostname }}"
  delegate_to: localhost
"""

RETURN = r"""
drift_seconds:
  description: Terminal clock minus local time before the run, in seconds (positive means ahead).
  type: int
  returned: always
device_time: {description: The terminal's clock as read, ISO 8601 local time without zone., type: str, returned: always}
set_to: {description: The local time written to the terminal., type: str, returned: when changed and not in check mode}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_pdks import (
    CONNECTION_SPEC,
    DeviceError,
    Terminal,
    clock_drift,
    drift_exceeds,
    now_in,
)


def main():
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_SPEC,
            "max_drift": {"type": "int", "default": 30},
            "timezone": {"type": "str", "default": "Europe/Istanbul"},
        },
        supports_check_mode=True,
    )
    p = module.params
    term = Terminal(p["host"], p["port"], p["comm_key"], p["timeout"], p["encoding"], p["terminal"])
    try:
        now_in(p["timezone"])
    except Exception:  # noqa: BLE001 - zoneinfo raises several kinds for a bad name
        error = f"{term.label}: unknown time zone {p['timezone']!r}"
    else:
        error = None
    if error:
        # one exit for failures: the message names the terminal; no traceback is added
        module.fail_json(msg=error)
    result = {}
    error = None
    try:
        with term:
            device_time = term.time()
            drift = clock_drift(device_time, now_in(p["timezone"]), p["timezone"])
            changed = drift_exceeds(drift, p["max_drift"])
            result = {"changed": changed, "drift_seconds": round(drift), "device_time": device_time.isoformat()}
            if changed and not module.check_mode:
                target = now_in(p["timezone"]).replace(tzinfo=None, microsecond=0)
                with term.locked():
                    term.set_time(target)
                result["set_to"] = target.isoformat()
    except DeviceError as exc:
        error = str(exc)
    if error:
        # one exit for failures: the message names the terminal; no traceback is added
        module.fail_json(msg=error)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
