#!/usr/bin/python
"""Read-only SNMP facts and health of an X-ray scanner's operator PC or agent."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: xray_snmp_facts
short_description: Gather SNMP facts and a health summary from an X-ray scanner that has an SNMP agent
description:
  - X-ray baggage scanners have no public management protocol. Where the unit or its operator PC runs
    an SNMP agent, this module reads the SNMPv2-MIB system group and HOST-RESOURCES-MIB
    (hrSystemUptime, hrStorageTable) and returns them as C(ansible_facts.xray_snmp) with a health
    summary (disk usage, recent restart).
  - Runs on the controller with pysnmp. Never changes anything (C(changed) is always false) and never
    reads or writes X-ray generator, conveyor or detection settings.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
requirements: [pysnmp >= 7]
options:
  name:
    description: Device name used in messages; pass C(inventory_hostname).
    type: str
  host:
    description: Address of the SNMP agent.
    type: str
    required: true
  port:
    description: UDP port of the agent.
    type: int
    default: 161
  version:
    description: SNMP version.
    type: str
    choices: ["2c", "3"]
    default: "2c"
  community:
    description: SNMPv2c read community.
    type: str
  user:
    description: SNMPv3 USM user name.
    type: str
  auth_key:
    description: SNMPv3 authentication passphrase.
    type: str
  priv_key:
    description: SNMPv3 privacy passphrase.
    type: str
  auth_protocol:
    description: SNMPv3 authentication protocol.
    type: str
    choices: [sha, sha256, md5]
    default: sha
  priv_protocol:
    description: SNMPv3 privacy protocol.
    type: str
    choices: [aes, aes256, des]
    default: aes
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 2
  retries:
    description: Retransmissions after a timeout.
    type: int
    default: 1
  disk_warn_percent:
    description: Fixed-disk usage from which health is C(warning).
    type: float
    default: 85
  disk_crit_percent:
    description: Fixed-disk usage from which health is C(critical).
    type: float
    default: 95
"""

EXAMPLES = r"""
- name: SNMP facts of the entrance X-ray scanner's operator PC
  xray_snmp_facts:
    name: "{{ inventory_hostname }}"
    host: "{{ ansible_host }}"
    port: 161
    version: "3"
    user: xraymon
    auth_key: "{{ vault_xray_snmp_auth }}"
    priv_key: "{{ vault_xray_snmp_priv }}"
  delegate_to: localhost
"""

RETURN = r"""
ansible_facts:
  description: C(xray_snmp) with sysdescr, sysobjectid, syscontact, sysname, syslocation,
    uptime_seconds, storage (index, descr, type, size_bytes, used_bytes, used_percent) and
    health (status ok, warning or critical; problems).
  type: dict
  returned: success
"""

import asyncio

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_xray import shape_facts

try:
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    HAS_PYSNMP = True
except ImportError:
    HAS_PYSNMP = False

SYSTEM_OIDS = {
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysUpTime": "1.3.6.1.2.1.1.3.0",
    "sysContact": "1.3.6.1.2.1.1.4.0",
    "sysName": "1.3.6.1.2.1.1.5.0",
    "sysLocation": "1.3.6.1.2.1.1.6.0",
}
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"


class SnmpFailure(Exception):
    pass


def explain(indication):
    text = str(indication)
    if "timeout" in text.lower():
        return "SNMP timeout (no answer: agent down, wrong community, or filtered)"
    if "digest" in text.lower() or "cipher" in text.lower():
        return "SNMPv3 authentication rejected (wrong auth or priv key)"
    if "unknown" in text.lower() and "user" in text.lower():
        return "SNMPv3 user unknown to the agent"
    return f"SNMP error: {text}"


def plain(value):
    if value is None or value.__class__.__name__ in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
        return None
    if value.__class__.__name__ in ("OctetString", "DisplayString"):
        return value.asOctets().decode("utf-8", errors="replace")
    if value.__class__.__name__ == "ObjectIdentifier":
        return str(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return value.prettyPrint()


def credentials(params):
    if params["version"] == "2c":
        return hlapi.CommunityData(params["community"], mpModel=1)  # noqa: S508 - v2c only where the unit offers nothing better
    auth = {
        "sha": hlapi.usmHMACSHAAuthProtocol,
        "sha256": hlapi.usmHMAC192SHA256AuthProtocol,
        "md5": hlapi.usmHMACMD5AuthProtocol,
    }[params["auth_protocol"]]
    priv = {"aes": hlapi.usmAesCfb128Protocol, "aes256": hlapi.usmAesCfb256Protocol, "des": hlapi.usmDESPrivProtocol}[
        params["priv_protocol"]
    ]
    if params["priv_key"]:
        return hlapi.UsmUserData(
            params["user"], params["auth_key"], params["priv_key"], authProtocol=auth, privProtocol=priv
        )
    return hlapi.UsmUserData(params["user"], params["auth_key"], authProtocol=auth)


async def collect(params):
    engine = hlapi.SnmpEngine()
    try:
        target = await hlapi.UdpTransportTarget.create(
            (params["host"], params["port"]), timeout=params["timeout"], retries=params["retries"]
        )
        auth = credentials(params)
        objects = [hlapi.ObjectType(hlapi.ObjectIdentity(oid)) for oid in [*SYSTEM_OIDS.values(), HR_SYSTEM_UPTIME]]
        indication, status, index, binds = await hlapi.get_cmd(engine, auth, target, hlapi.ContextData(), *objects)
        if indication:
            raise SnmpFailure(explain(indication))
        if status:
            raise SnmpFailure(f"SNMP error status {status.prettyPrint()} at {index}")
        values = [plain(value) for _, value in binds]
        system = dict(zip(SYSTEM_OIDS, values[: len(SYSTEM_OIDS)], strict=True))
        hr_uptime = values[-1]
        pairs = []
        async for indication, status, _, row in hlapi.bulk_walk_cmd(
            engine,
            auth,
            target,
            hlapi.ContextData(),
            0,
            25,
            hlapi.ObjectType(hlapi.ObjectIdentity(HR_STORAGE_ENTRY)),
            lexicographicMode=False,
        ):
            if indication:
                raise SnmpFailure(explain(indication))
            if status:
                break
            pairs += [(str(name), plain(value)) for name, value in row]
        return system, hr_uptime, pairs
    finally:
        engine.close_dispatcher()


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str"},
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "default": 161},
            "version": {"type": "str", "choices": ["2c", "3"], "default": "2c"},
            "community": {"type": "str", "no_log": True},
            "user": {"type": "str"},
            "auth_key": {"type": "str", "no_log": True},
            "priv_key": {"type": "str", "no_log": True},
            "auth_protocol": {"type": "str", "choices": ["sha", "sha256", "md5"], "default": "sha"},
            "priv_protocol": {"type": "str", "choices": ["aes", "aes256", "des"], "default": "aes"},
            "timeout": {"type": "float", "default": 2},
            "retries": {"type": "int", "default": 1},
            "disk_warn_percent": {"type": "float", "default": 85},
            "disk_crit_percent": {"type": "float", "default": 95},
        },
        required_if=[("version", "2c", ["community"]), ("version", "3", ["user", "auth_key"])],
        supports_check_mode=True,
    )
    params = module.params
    device = f"X-ray scanner {params['name'] or params['host']} ({params['host']}:{params['port']})"
    if not HAS_PYSNMP:
        module.fail_json(msg=f"{device}: the pysnmp Python library is missing on the controller")
    try:
        system, hr_uptime, pairs = asyncio.run(collect(params))
    except SnmpFailure as exc:
        module.fail_json(msg=f"{device}: {exc}")
    except Exception as exc:  # pysnmp raises assorted errors for bad addresses and keys
        module.fail_json(msg=f"{device}: SNMP failed: {exc}")
    facts = shape_facts(system, hr_uptime, pairs, params["disk_warn_percent"], params["disk_crit_percent"])
    module.exit_json(changed=False, ansible_facts={"xray_snmp": facts})


if __name__ == "__main__":
    main()
