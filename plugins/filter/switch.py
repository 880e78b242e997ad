"""Filters of role ``switch``: switches as data (Cisco IOS XE and Cisco Business CBS350).

The role's inputs (one mapping, built in ``roles/switch/vars/main.yml``) and the VLANs of the IP
plan (``ipplan | ipplan_networks``, so the plan is checked by the ipplan filters first) give one
*desired state*. From it come the ``config`` of each cisco.ios resource module, the CLI lines of a
CBS350, and the comparison with a running configuration. Every function is pure: nothing here
reads facts or talks to a switch.

Filters:

``switch_problems(inputs, networks, host='')``
    Every problem of the inputs as a message naming the host, the variable and what is wrong;
    an empty list means they are sound. Malformed input is reported, never raised.
``switch_desired(inputs, networks)``
    The desired state: VLANs, ports (listed and unused), users, SNMPv3, NTP, syslog, banner, AAA.
    Raises AnsibleFilterError when the inputs have problems.
``switch_ios_config(desired)``
    The ``config`` of each cisco.ios module (vlans, interfaces, l2_interfaces, snmp_server,
    ntp_global, logging_global, user aggregate, banner) and the ``ios_config`` blocks for what has
    no resource module (SSH only, AAA, port security, BPDU guard).
``cbs_render(desired)``
    The CBS350 configuration as a list of CLI lines, in the order a CBS350 accepts them.
``ios_parse(text)`` / ``cbs_parse(text)``
    A ``show running-config`` read into the comparable state (see ``switch_drift``).
``switch_drift(desired, actual)``
    The differences between the desired state and a parsed running configuration, one message each.
``switch_expand_ports(ranges)``
    ``['GigabitEthernet1/0/1-3']`` -> ``['GigabitEthernet1/0/1', ..., 'GigabitEthernet1/0/3']``.

Example (roles/switch/vars/main.yml)::

    __switch_problems: "{{ __switch_inputs | switch_problems(__switch_networks, inventory_hostname) }}"
    __switch_desired: "{{ __switch_inputs | switch_desired(__switch_networks) }}"
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

PLATFORMS = ("ios", "cbs")
PORT_KEYS = frozenset({"name", "mode", "vlan", "vlans", "native_vlan", "description", "port_security", "shutdown"})
USER_KEYS = frozenset({"name", "password", "privilege"})
AAA_KEYS = frozenset({"tacacs_servers", "radius_servers"})
AAA_SERVER_KEYS = frozenset({"name", "address", "key"})

# Full interface names only: an abbreviation (Gi1/0/1) would be a second name for the same port,
# and the drift report compares names.
PORT_NAME = {
    "ios": re.compile(
        r"^(GigabitEthernet|TwoGigabitEthernet|FiveGigabitEthernet|TenGigabitEthernet|TwentyFiveGigE"
        r"|FortyGigabitEthernet|HundredGigE)[1-9]/[0-9]/[1-9][0-9]*$"
    ),
    "cbs": re.compile(r"^(GigabitEthernet|TenGigabitEthernet)[1-8]/0/[1-9][0-9]*$"),
}
RANGE = re.compile(r"^(?P<prefix>.*/)(?P<first>[0-9]+)(-(?P<last>[0-9]+))?$")
# IOS user names and VLAN names: no spaces, no quotes.
NAME = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


# --- helpers ---------------------------------------------------------------------------------------


def _show(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r} ({type(value).__name__})"


def switch_expand_ports(ranges: object) -> list[str]:
    """Expand 'prefix/N-M' entries to one name per port; a name without a range stays as it is."""
    if not isinstance(ranges, list):
        raise AnsibleFilterError(f"switch_expand_ports: expected a list of port names or ranges, got {_show(ranges)}")
    names: list[str] = []
    for entry in ranges:
        match = RANGE.match(str(entry))
        if not match or match.group("last") is None:
            names.append(str(entry))
            continue
        first, last = int(match.group("first")), int(match.group("last"))
        if last < first:
            raise AnsibleFilterError(f"switch_expand_ports: range '{entry}' ends before it starts")
        names.extend(f"{match.group('prefix')}{number}" for number in range(first, last + 1))
    return names


def _site_vlans(networks: object, site: object) -> dict[str, dict]:
    """VLAN key -> plan VLAN dict for one site."""
    if not isinstance(networks, list):
        return {}
    return {item["vlan"]: item for item in networks if isinstance(item, Mapping) and item.get("site") == site}


def _vlan_name(key: str) -> str:
    """A VLAN name a switch accepts (IOS: 32 characters; CBS: 32): the plan key itself."""
    return key[:32]


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


# --- checks ----------------------------------------------------------------------------------------


def switch_problems(inputs: object, networks: object, host: str = "") -> list[str]:
    """Return every problem of the inputs, each naming the host, the variable and what is wrong."""
    where = f"host {host}:" if host else "switch:"
    errors: list[str] = []
    if not isinstance(inputs, Mapping):
        return [f"{where} the role's inputs must be a mapping, got {_show(inputs)}"]

    platform = inputs.get("switch_platform")
    if platform not in PLATFORMS:
        errors.append(f"{where} switch_platform must be one of {', '.join(PLATFORMS)}, got {_show(platform)}")
        platform = None

    site = inputs.get("switch_site")
    vlans = _site_vlans(networks, site)
    if not vlans:
        errors.append(
            f"{where} switch_site {_show(site)} is not a site of the IP plan (variable ipplan) or has no VLANs; "
            "put the switch in a site_<key> group or set switch_site"
        )

    parking = inputs.get("switch_parking_vlan")
    parking_id = _int_or_none(parking)
    if parking_id is None or not 2 <= parking_id <= 4094:
        errors.append(f"{where} switch_parking_vlan must be a VLAN id 2..4094, got {_show(parking)}")
    elif parking_id in {item["id"] for item in vlans.values()}:
        errors.append(f"{where} switch_parking_vlan {parking_id} is also a VLAN of the plan at site '{site}'")

    all_ports = inputs.get("switch_all_ports") or []
    try:
        known_ports = switch_expand_ports(all_ports)
    except AnsibleFilterError as exc:
        errors.append(f"{where} switch_all_ports: {exc}")
        known_ports = []
    if platform:
        for name in known_ports:
            if not PORT_NAME[platform].match(name):
                errors.append(f"{where} switch_all_ports: '{name}' is not a full {platform} port name")

    _check_ports(inputs.get("switch_ports"), platform, vlans, set(known_ports), where, errors)
    _check_users(inputs.get("switch_local_users"), where, errors)
    _check_aaa(inputs.get("switch_aaa"), where, errors)
    _check_snmp(inputs, where, errors)

    for var in ("switch_ntp_servers", "switch_syslog_hosts"):
        value = inputs.get(var)
        if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
            errors.append(f"{where} {var} must be a non-empty list of addresses or names, got {_show(value)}")
    banner = inputs.get("switch_banner")
    if not isinstance(banner, str) or not banner.strip():
        errors.append(f"{where} switch_banner must be a non-empty text")
    elif "^" in banner or "#" in banner:
        errors.append(f"{where} switch_banner must not contain '^' or '#' (banner delimiters)")
    return errors


def _check_ports(ports: object, platform, vlans: dict, known: set, where: str, errors: list[str]) -> None:
    if ports is None:
        return
    if not isinstance(ports, list):
        errors.append(f"{where} switch_ports must be a list, got {_show(ports)}")
        return
    seen: dict[str, int] = {}
    for index, port in enumerate(ports):
        label = f"switch_ports[{index}]"
        if not isinstance(port, Mapping):
            errors.append(f"{where} {label} must be a mapping, got {_show(port)}")
            continue
        name = port.get("name")
        label = f"switch_ports[{index}] ({name})"
        unknown = sorted(set(port) - PORT_KEYS)
        if unknown:
            errors.append(f"{where} {label} has unknown keys {', '.join(unknown)}")
        if not isinstance(name, str) or not name:
            errors.append(f"{where} switch_ports[{index}] has no name")
            continue
        if platform and not PORT_NAME[platform].match(name):
            errors.append(
                f"{where} {label}: '{name}' is not a valid {platform} port name "
                f"(write the full name, such as {'GigabitEthernet1/0/1'})"
            )
        elif known and name not in known:
            errors.append(f"{where} {label}: '{name}' is not a port of this switch (switch_all_ports)")
        if name in seen:
            errors.append(
                f"{where} {label}: port '{name}' is listed twice (also switch_ports[{seen[name]}]); "
                "a port belongs to one VLAN (access) or one trunk"
            )
        else:
            seen[name] = index
        mode = port.get("mode")
        if mode == "access":
            _check_access(port, vlans, label, where, errors)
        elif mode == "trunk":
            _check_trunk(port, vlans, label, where, errors)
        else:
            errors.append(f"{where} {label}: mode must be access or trunk, got {_show(mode)}")
        if "shutdown" in port and not isinstance(port["shutdown"], bool):
            errors.append(f"{where} {label}: shutdown must be true or false, got {_show(port['shutdown'])}")
        description = port.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > 200 or '"' in description
        ):
            errors.append(f"{where} {label}: description must be text of at most 200 characters without quotes")


def _check_access(port: Mapping, vlans: dict, label: str, where: str, errors: list[str]) -> None:
    for key in ("vlans", "native_vlan"):
        if key in port:
            errors.append(
                f"{where} {label}: an access port is in one VLAN: '{key}' is for trunks (a port in two VLANs)"
            )
    vlan = port.get("vlan")
    if vlan is None:
        errors.append(f"{where} {label}: an access port needs 'vlan' (a VLAN key of the site's plan)")
    elif vlan not in vlans:
        errors.append(
            f"{where} {label}: access VLAN {_show(vlan)} is not in the site's plan (VLANs: {', '.join(sorted(vlans))})"
        )
    security = port.get("port_security")
    if security is not None and (_int_or_none(security) is None or not 1 <= _int_or_none(security) <= 64):
        errors.append(f"{where} {label}: port_security (maximum MAC addresses) must be 1..64, got {_show(security)}")


def _check_trunk(port: Mapping, vlans: dict, label: str, where: str, errors: list[str]) -> None:
    if "vlan" in port:
        errors.append(f"{where} {label}: a trunk takes 'vlans' and 'native_vlan', not the access key 'vlan'")
    if "port_security" in port:
        errors.append(f"{where} {label}: port_security is for access ports only")
    allowed = port.get("vlans", "all")
    if allowed == "all":
        allowed_keys = list(vlans)
    elif isinstance(allowed, list) and allowed:
        allowed_keys = allowed
        for key in allowed:
            if key not in vlans:
                errors.append(f"{where} {label}: trunk VLAN {_show(key)} is not in the site's plan")
        duplicates = sorted({str(key) for key in allowed if allowed.count(key) > 1})
        if duplicates:
            errors.append(f"{where} {label}: trunk VLANs listed twice: {', '.join(duplicates)}")
    else:
        errors.append(f"{where} {label}: vlans must be a list of VLAN keys or 'all', got {_show(allowed)}")
        return
    native = port.get("native_vlan")
    if native is not None:
        if native not in vlans:
            errors.append(f"{where} {label}: native_vlan {_show(native)} is not in the site's plan")
        elif native not in allowed_keys:
            errors.append(f"{where} {label}: native_vlan '{native}' is not allowed on the trunk (vlans)")


def _check_users(users: object, where: str, errors: list[str]) -> None:
    if not isinstance(users, list) or not users:
        errors.append(f"{where} switch_local_users must be a non-empty list (the automation user at least)")
        return
    seen: set = set()
    for index, user in enumerate(users):
        if not isinstance(user, Mapping):
            errors.append(f"{where} switch_local_users[{index}] must be a mapping")
            continue
        name = user.get("name")
        unknown = sorted(set(user) - USER_KEYS)
        if unknown:
            errors.append(f"{where} switch_local_users[{index}] has unknown keys {', '.join(unknown)}")
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(f"{where} switch_local_users[{index}]: name {_show(name)} is not a valid user name")
            continue
        if name in seen:
            errors.append(f"{where} switch_local_users: user '{name}' is listed twice")
        seen.add(name)
        password = user.get("password")
        # Never echo the secret itself.
        if not isinstance(password, str) or len(password) < 8:
            errors.append(f"{where} switch_local_users '{name}': password must be a vault secret of 8+ characters")
        privilege = user.get("privilege", 15)
        if _int_or_none(privilege) is None or not 0 <= _int_or_none(privilege) <= 15:
            errors.append(f"{where} switch_local_users '{name}': privilege must be 0..15, got {_show(privilege)}")


def _check_aaa(aaa: object, where: str, errors: list[str]) -> None:
    if aaa is None or aaa == {}:
        return
    if not isinstance(aaa, Mapping):
        errors.append(f"{where} switch_aaa must be a mapping, got {_show(aaa)}")
        return
    unknown = sorted(set(aaa) - AAA_KEYS)
    if unknown:
        errors.append(f"{where} switch_aaa has unknown keys {', '.join(unknown)}")
    for kind in ("tacacs_servers", "radius_servers"):
        servers = aaa.get(kind) or []
        if not isinstance(servers, list):
            errors.append(f"{where} switch_aaa.{kind} must be a list")
            continue
        for index, server in enumerate(servers):
            if not isinstance(server, Mapping) or not all(server.get(key) for key in AAA_SERVER_KEYS):
                errors.append(f"{where} switch_aaa.{kind}[{index}] needs name, address and key (a vault secret)")
            elif not NAME.match(str(server["name"])):
                errors.append(f"{where} switch_aaa.{kind}[{index}]: name {_show(server['name'])} is not valid")


def _check_snmp(inputs: Mapping, where: str, errors: list[str]) -> None:
    communities = inputs.get("switch_snmp_communities")
    if communities:
        errors.append(
            f"{where} switch_snmp_communities is set: SNMP communities (v1/v2c) are refused, "
            "the switches speak SNMPv3 (authPriv) only"
        )
    user = inputs.get("switch_snmpv3_user")
    if not isinstance(user, str) or not NAME.match(user):
        errors.append(f"{where} switch_snmpv3_user must be a user name, got {_show(user)}")
    group = inputs.get("switch_snmpv3_group")
    if not isinstance(group, str) or not NAME.match(group):
        errors.append(f"{where} switch_snmpv3_group must be a group name, got {_show(group)}")
    for var in ("switch_snmpv3_auth_key", "switch_snmpv3_priv_key"):
        value = inputs.get(var)
        if not isinstance(value, str) or len(value) < 8 or not value.isalnum():
            errors.append(f"{where} {var} must be a vault secret of 8+ letters and digits (SNMPv3 needs 8)")


# --- desired state ---------------------------------------------------------------------------------


def switch_desired(inputs: Mapping, networks: list) -> dict:
    """The desired state of one switch; raises AnsibleFilterError when the inputs have problems."""
    problems = switch_problems(inputs, networks)
    if problems:
        raise AnsibleFilterError("switch_desired: the inputs have problems:\n" + "\n".join(problems))
    vlans = _site_vlans(networks, inputs["switch_site"])
    parking_id = _int_or_none(inputs["switch_parking_vlan"])
    wanted_vlans = [{"id": item["id"], "name": _vlan_name(key)} for key, item in vlans.items()]
    wanted_vlans.append({"id": parking_id, "name": inputs.get("switch_parking_vlan_name") or "PARK"})
    wanted_vlans.sort(key=lambda item: item["id"])

    ports = []
    listed = set()
    for port in inputs.get("switch_ports") or []:
        listed.add(port["name"])
        entry = {
            "name": port["name"],
            "mode": port["mode"],
            "description": port.get("description") or "",
            "shutdown": bool(port.get("shutdown", False)),
            "unused": False,
        }
        if port["mode"] == "access":
            security = port.get("port_security")
            entry.update(
                access_vlan=vlans[port["vlan"]]["id"],
                port_security=None if security is None else int(security),
                edge=True,
            )
        else:
            keys = list(vlans) if port.get("vlans", "all") == "all" else port["vlans"]
            native = port.get("native_vlan")
            entry.update(
                allowed_vlans=sorted(vlans[key]["id"] for key in keys),
                native_vlan=None if native is None else vlans[native]["id"],
                edge=False,
            )
        ports.append(entry)
    for name in switch_expand_ports(inputs.get("switch_all_ports") or []):
        if name not in listed:
            ports.append(
                {
                    "name": name,
                    "mode": "access",
                    "description": inputs.get("switch_unused_description") or "KULLANILMIYOR",
                    "shutdown": True,
                    "unused": True,
                    "access_vlan": parking_id,
                    "port_security": None,
                    "edge": True,
                }
            )
    ports.sort(key=lambda item: _port_sort_key(item["name"]))

    aaa = inputs.get("switch_aaa") or {}
    return {
        "platform": inputs["switch_platform"],
        "hostname": inputs.get("switch_hostname") or "",
        "vlans": wanted_vlans,
        "ports": ports,
        "users": [
            {"name": user["name"], "password": user["password"], "privilege": int(user.get("privilege", 15))}
            for user in inputs["switch_local_users"]
        ],
        "aaa": {
            "tacacs_servers": [dict(item) for item in aaa.get("tacacs_servers") or []],
            "radius_servers": [dict(item) for item in aaa.get("radius_servers") or []],
        },
        "snmp": {
            "user": inputs["switch_snmpv3_user"],
            "group": inputs["switch_snmpv3_group"],
            "auth_key": inputs["switch_snmpv3_auth_key"],
            "priv_key": inputs["switch_snmpv3_priv_key"],
        },
        "ntp_servers": list(inputs["switch_ntp_servers"]),
        "syslog_hosts": list(inputs["switch_syslog_hosts"]),
        "banner": inputs["switch_banner"].strip("\n"),
    }


def _port_sort_key(name: str) -> tuple:
    match = re.match(r"^([A-Za-z-]+)(.*)$", name)
    prefix, numbers = (match.group(1), match.group(2)) if match else (name, "")
    return (prefix, [int(part) for part in re.findall(r"[0-9]+", numbers)])


def _vlan_list(ids: list[int]) -> str:
    """[20, 21, 22, 40] -> '20-22,40' (the form both platforms print)."""
    parts: list[str] = []
    ordered = sorted(set(ids))
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        parts.append(str(ordered[index]) if end == index else f"{ordered[index]}-{ordered[end]}")
        index = end + 1
    return ",".join(parts)


def _aaa_methods(aaa: Mapping) -> str:
    groups = []
    if aaa.get("tacacs_servers"):
        groups.append("group BIM-TACACS")
    if aaa.get("radius_servers"):
        groups.append("group BIM-RADIUS")
    return " ".join([*groups, "local"])


# --- IOS -------------------------------------------------------------------------------------------


def switch_ios_config(desired: Mapping) -> dict:
    """The config of each cisco.ios module, and the ios_config blocks for the rest."""
    ports = desired["ports"]
    l2 = []
    for port in ports:
        if port["mode"] == "access":
            l2.append({"name": port["name"], "mode": "access", "access": {"vlan": port["access_vlan"]}})
        else:
            trunk: dict = {"allowed_vlans": [str(vlan) for vlan in port["allowed_vlans"]]}
            if port["native_vlan"] is not None:
                trunk["native_vlan"] = port["native_vlan"]
            l2.append({"name": port["name"], "mode": "trunk", "trunk": trunk})
    interfaces = []
    for port in ports:
        item = {"name": port["name"], "enabled": not port["shutdown"]}
        if port["description"]:
            item["description"] = port["description"]
        interfaces.append(item)

    blocks = [
        {
            "name": "SSH version 2 only, no web server, AAA on",
            "parents": [],
            "lines": ["ip ssh version 2", "no ip http server", "no ip http secure-server", "aaa new-model"],
            "kind": "base",
        },
    ]
    aaa = desired["aaa"]
    # (label, servers, server block keyword, group block): the same shape for TACACS+ and RADIUS.
    protocols = [
        ("TACACS+", aaa["tacacs_servers"], "tacacs server", "aaa group server tacacs+ BIM-TACACS"),
        ("RADIUS", aaa["radius_servers"], "radius server", "aaa group server radius BIM-RADIUS"),
    ]
    for label, servers, keyword, group in protocols:
        for server in servers:
            blocks.append(
                {
                    "name": f"{label} server {server['name']}",
                    "parents": [f"{keyword} {server['name']}"],
                    "lines": [f"address ipv4 {server['address']}", f"key {server['key']}"],
                    "kind": "secret",
                }
            )
        if servers:
            blocks.append(
                {
                    "name": f"{label} server group",
                    "parents": [group],
                    "lines": [f"server name {server['name']}" for server in servers],
                    "kind": "global",
                }
            )
    methods = _aaa_methods(aaa)
    aaa_lines = [f"aaa authentication login default {methods}", f"aaa authorization exec default {methods}"]
    blocks.append({"name": "AAA: logins are authenticated", "parents": [], "lines": aaa_lines, "kind": "global"})
    for vty in ("line vty 0 4", "line vty 5 15"):
        blocks.append(
            {
                "name": f"{vty}: SSH only",
                "parents": [vty],
                "lines": ["login authentication default", "transport input ssh"],
                "kind": "global",
            }
        )
    for port in ports:
        if port["mode"] != "access":
            continue
        lines = []
        if port["port_security"] is not None:
            # IOS does not show the default maximum (1): sending it would change the port on every run.
            if port["port_security"] != 1:
                lines.append(f"switchport port-security maximum {port['port_security']}")
            lines += ["switchport port-security violation restrict", "switchport port-security"]
        if port["edge"]:
            lines += ["spanning-tree portfast", "spanning-tree bpduguard enable"]
        blocks.append({"name": port["name"], "parents": [f"interface {port['name']}"], "lines": lines, "kind": "port"})

    snmp = desired["snmp"]
    return {
        "vlans": [{"vlan_id": vlan["id"], "name": vlan["name"]} for vlan in desired["vlans"]],
        "interfaces": interfaces,
        "l2_interfaces": l2,
        "snmp_server": {
            "groups": [{"group": snmp["group"], "version": "v3", "version_option": "priv"}],
            "users": [
                {
                    "username": snmp["user"],
                    "group": snmp["group"],
                    "version": "v3",
                    "authentication": {"algorithm": "sha", "password": snmp["auth_key"]},
                    "encryption": {"priv": "aes", "priv_option": "128", "password": snmp["priv_key"]},
                }
            ],
        },
        "ntp_global": {"servers": [{"server": server} for server in desired["ntp_servers"]]},
        "logging_global": {
            "hosts": [{"hostname": host} for host in desired["syslog_hosts"]],
            "trap": "informational",
        },
        "users": [
            {"name": user["name"], "configured_password": user["password"], "privilege": user["privilege"]}
            for user in desired["users"]
        ],
        "banner": desired["banner"],
        "ios_config": [block for block in blocks if block["lines"]],
    }


# --- CBS350 ----------------------------------------------------------------------------------------


def cbs_render(desired: Mapping) -> list[str]:
    """The CBS350 configuration as CLI lines (global configuration mode), secrets included."""
    lines: list[str] = []
    if desired["hostname"]:
        lines.append(f"hostname {desired['hostname']}")
    lines += ["vlan database", f"vlan {_vlan_list([vlan['id'] for vlan in desired['vlans']])}", "exit"]
    for vlan in desired["vlans"]:
        lines += [f"interface vlan {vlan['id']}", f"name {vlan['name']}", "exit"]
    for port in desired["ports"]:
        lines.append(f"interface {port['name']}")
        if port["description"]:
            lines.append(f'description "{port["description"]}"')
        if port["mode"] == "access":
            lines += ["switchport mode access", f"switchport access vlan {port['access_vlan']}"]
            if port["port_security"] is not None:
                lines += [
                    "port security mode max-addresses",
                    f"port security max {port['port_security']}",
                    "port security discard trap 60",
                ]
            if port["edge"]:
                lines += ["spanning-tree portfast", "spanning-tree bpduguard enable"]
        else:
            lines += ["switchport mode trunk", f"switchport trunk allowed vlan add {_vlan_list(port['allowed_vlans'])}"]
            if port["native_vlan"] is not None:
                lines.append(f"switchport trunk native vlan {port['native_vlan']}")
        lines += ["shutdown" if port["shutdown"] else "no shutdown", "exit"]

    lines += [
        "no ip telnet server",
        "ip ssh server",
        "ip ssh password-auth",
        "no ip http server",
        "no ip http secure-server",
    ]
    for user in desired["users"]:
        lines.append(f"username {user['name']} password {user['password']} privilege {user['privilege']}")
    aaa = desired["aaa"]
    for server in aaa["tacacs_servers"]:
        lines.append(f"tacacs-server host {server['address']} key {server['key']}")
    for server in aaa["radius_servers"]:
        lines.append(f"radius-server host {server['address']} key {server['key']}")
    cbs_methods = " ".join(
        [*(["tacacs"] if aaa["tacacs_servers"] else []), *(["radius"] if aaa["radius_servers"] else []), "local"]
    )
    lines += [
        f"aaa authentication login default {cbs_methods}",
        "line ssh",
        "login authentication default",
        "exit",
        "line telnet",
        "login authentication default",
        "exit",
    ]
    snmp = desired["snmp"]
    lines += [
        "snmp-server server",
        f"snmp-server group {snmp['group']} v3 priv",
        f"snmp-server user {snmp['user']} {snmp['group']} v3 auth sha {snmp['auth_key']} priv {snmp['priv_key']}",
    ]
    lines += [f"sntp server {server} poll" for server in desired["ntp_servers"]]
    lines += ["clock source sntp", "sntp unicast client enable"]
    lines += [f"logging host {host}" for host in desired["syslog_hosts"]]
    lines.append(f"banner login ^{desired['banner']}^")
    return lines


# --- parsing running configurations ----------------------------------------------------------------


def _blank_state() -> dict:
    return {
        "vlans": {},
        "ports": {},
        "users": [],
        "snmp_communities": [],
        "snmp_groups": [],
        "ntp_servers": [],
        "syslog_hosts": [],
        "banner": None,
        "telnet": False,
        "http": False,
        "https": False,
        "vty_transport": {},
    }


def _blocks(text: str, top: re.Pattern) -> list[tuple[str, list[str]]]:
    """Split a configuration into (header line, indented or following lines) blocks for ``top``."""
    result: list[tuple[str, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if current is not None:
            if line.startswith(" ") and line.strip():
                current[1].append(line.strip())
                continue
            result.append(current)
            current = None
        if top.match(line):
            current = (line, [])
    if current is not None:
        result.append(current)
    return result


def _banner(text: str) -> str | None:
    """The login banner; IOS prints its delimiter as the two characters ^C, a CBS350 as one character."""
    match = re.search(r"^banner login \^C(.*?)\^C", text, re.MULTILINE | re.DOTALL)
    if match:
        return match.group(1).strip("\n")
    match = re.search(r"^banner login (\S)(.*?)\1", text, re.MULTILINE | re.DOTALL)
    return None if not match else match.group(2).strip("\n")


def _parse_vlan_ids(value: str) -> list[int]:
    ids: list[int] = []
    for part in value.split(","):
        part = part.strip()
        if "-" in part:
            first, last = part.split("-", 1)
            ids.extend(range(int(first), int(last) + 1))
        elif part.isdigit():
            ids.append(int(part))
    return ids


def _blank_port(name: str) -> dict:
    return {
        "name": name,
        "mode": None,
        "access_vlan": 1,
        "allowed_vlans": "all",
        "native_vlan": 1,
        "description": "",
        "shutdown": False,
        "port_security": None,
        "portfast": False,
        "bpduguard": False,
    }


def ios_parse(text: str) -> dict:
    """Read an IOS XE ``show running-config`` into the comparable state."""
    if not isinstance(text, str):
        raise AnsibleFilterError(f"ios_parse: expected the running configuration as text, got {_show(text)}")
    state = _blank_state()
    for header, body in _blocks(text, re.compile(r"^vlan [0-9]+$")):
        vlan_id = int(header.split()[1])
        name = next((line.split(None, 1)[1] for line in body if line.startswith("name ")), f"VLAN{vlan_id:04d}")
        state["vlans"][vlan_id] = name
    for header, body in _blocks(text, re.compile(r"^interface \S+$")):
        name = header.split()[1]
        if name.startswith(("Vlan", "Loopback", "AppGigabitEthernet", "Port-channel")) or not re.search(r"/", name):
            continue
        port = _blank_port(name)
        security = False
        security_max = 1
        for line in body:
            words = line.split()
            if line.startswith("description "):
                port["description"] = line.split(None, 1)[1]
            elif line == "shutdown":
                port["shutdown"] = True
            elif line.startswith("switchport mode "):
                port["mode"] = words[2]
            elif line.startswith("switchport access vlan "):
                port["access_vlan"] = int(words[3])
            elif line.startswith("switchport trunk native vlan "):
                port["native_vlan"] = int(words[4])
            elif line.startswith("switchport trunk allowed vlan add "):
                port["allowed_vlans"] = sorted(set(port["allowed_vlans"] or []) | set(_parse_vlan_ids(words[5])))
            elif line.startswith("switchport trunk allowed vlan "):
                port["allowed_vlans"] = "all" if words[4] == "all" else _parse_vlan_ids(words[4])
            elif line == "switchport port-security":
                security = True
            elif line.startswith("switchport port-security maximum "):
                security_max = int(words[3])
            elif line in ("spanning-tree portfast", "spanning-tree portfast edge"):
                port["portfast"] = True
            elif line == "spanning-tree bpduguard enable":
                port["bpduguard"] = True
        port["port_security"] = security_max if security else None
        state["ports"][name] = port
    for line in text.splitlines():
        words = line.split()
        if line.startswith("username "):
            state["users"].append(words[1])
        elif line.startswith("snmp-server community "):
            state["snmp_communities"].append(words[2])
        elif line.startswith("snmp-server group "):
            state["snmp_groups"].append(f"{words[2]} {' '.join(words[3:5])}")
        elif line.startswith("ntp server "):
            state["ntp_servers"].append(words[-1] if words[2] in ("vrf",) else words[2])
        elif line.startswith("logging host "):
            state["syslog_hosts"].append(words[2])
        elif line == "ip http server":
            state["http"] = True
        elif line == "ip http secure-server":
            state["https"] = True
    for header, body in _blocks(text, re.compile(r"^line vty [0-9]+ [0-9]+$")):
        transport = next((line.split(None, 2)[2] for line in body if line.startswith("transport input ")), None)
        vty = header.split(None, 1)[1]
        state["vty_transport"][vty] = transport
        if transport is None or "telnet" in transport.split() or transport == "all":
            # IOS XE prints no transport line when the default (which may include telnet) is left.
            state["telnet"] = True
    state["banner"] = _banner(text)
    return state


def cbs_parse(text: str) -> dict:
    """Read a CBS350 ``show running-config`` into the comparable state."""
    if not isinstance(text, str):
        raise AnsibleFilterError(f"cbs_parse: expected the running configuration as text, got {_show(text)}")
    state = _blank_state()
    state["telnet"] = True  # on unless "no ip telnet server" is printed
    lines = [line.rstrip() for line in text.splitlines()]
    current: dict | None = None
    current_vlan: int | None = None
    in_database = False
    security = {"on": False, "max": 1}
    for line in lines:
        stripped = line.strip()
        words = stripped.split()
        if in_database:
            if stripped == "exit":
                in_database = False
            elif stripped.startswith("vlan "):
                for vlan_id in _parse_vlan_ids(words[1]):
                    state["vlans"].setdefault(vlan_id, "")
            continue
        if stripped == "vlan database":
            in_database = True
            continue
        if stripped in ("exit", "!"):
            if current is not None:
                current["port_security"] = security["max"] if security["on"] else None
            current, current_vlan = None, None
            continue
        if re.match(r"^interface vlan [0-9]+$", stripped):
            current_vlan = int(words[2])
            state["vlans"].setdefault(current_vlan, "")
            continue
        if re.match(r"^interface (GigabitEthernet|TenGigabitEthernet)\S+$", stripped):
            current = _blank_port(words[1])
            current["mode"] = "access"  # the CBS350 default mode, not printed
            current["allowed_vlans"] = []
            state["ports"][words[1]] = current
            security = {"on": False, "max": 1}
            continue
        if current_vlan is not None:
            if stripped.startswith("name "):
                state["vlans"][current_vlan] = stripped.split(None, 1)[1].strip('"')
            continue
        if current is not None:
            if stripped.startswith("description "):
                current["description"] = stripped.split(None, 1)[1].strip('"')
            elif stripped == "shutdown":
                current["shutdown"] = True
            elif stripped.startswith("switchport mode "):
                current["mode"] = words[2]
            elif stripped.startswith("switchport access vlan "):
                current["access_vlan"] = int(words[3])
            elif stripped.startswith("switchport trunk allowed vlan add "):
                current["allowed_vlans"] = sorted(set(current["allowed_vlans"]) | set(_parse_vlan_ids(words[5])))
            elif stripped == "switchport trunk allowed vlan all":
                current["allowed_vlans"] = "all"
            elif stripped.startswith("switchport trunk native vlan "):
                current["native_vlan"] = int(words[4])
            elif stripped.startswith("port security max "):
                security["max"] = int(words[3])
            elif stripped.startswith("port security mode ") or stripped.startswith("port security discard"):
                security["on"] = True
            elif stripped == "spanning-tree portfast":
                current["portfast"] = True
            elif stripped == "spanning-tree bpduguard enable":
                current["bpduguard"] = True
            continue
        if stripped.startswith("username "):
            state["users"].append(words[1])
        elif stripped.startswith("snmp-server community "):
            state["snmp_communities"].append(words[2])
        elif stripped.startswith("snmp-server group "):
            state["snmp_groups"].append(f"{words[2]} {' '.join(words[3:5])}")
        elif stripped.startswith("sntp server "):
            state["ntp_servers"].append(words[2])
        elif stripped.startswith("logging host "):
            state["syslog_hosts"].append(words[2])
        elif stripped == "no ip telnet server":
            state["telnet"] = False
        elif stripped == "ip telnet server":
            state["telnet"] = True
        elif stripped == "ip http server":
            state["http"] = True
        elif stripped == "ip http secure-server":
            state["https"] = True
    if current is not None:
        current["port_security"] = security["max"] if security["on"] else None
    state["banner"] = _banner(text)
    return state


# --- drift -----------------------------------------------------------------------------------------


def switch_drift(desired: Mapping, actual: Mapping) -> list[str]:
    """List what differs between the desired state and a parsed running configuration."""
    diffs: list[str] = []
    have_vlans = actual.get("vlans") or {}
    want_vlans = {vlan["id"]: vlan["name"] for vlan in desired["vlans"]}
    for vlan_id, name in sorted(want_vlans.items()):
        if vlan_id not in have_vlans:
            diffs.append(f"VLAN {vlan_id} ({name}) is missing")
        elif have_vlans[vlan_id] and have_vlans[vlan_id] != name:
            diffs.append(f"VLAN {vlan_id} is named '{have_vlans[vlan_id]}', expected '{name}'")
    defaults = {1, 1002, 1003, 1004, 1005}
    for vlan_id in sorted(set(have_vlans) - set(want_vlans) - defaults):
        diffs.append(f"VLAN {vlan_id} ({have_vlans[vlan_id] or 'no name'}) exists but is not in the plan")

    have_ports = actual.get("ports") or {}
    for port in desired["ports"]:
        name = port["name"]
        have = have_ports.get(name)
        if have is None:
            diffs.append(f"port {name} is not in the running configuration")
            continue
        diffs.extend(_port_drift(port, have))

    want_users = {user["name"] for user in desired["users"]}
    have_users = list(actual.get("users") or [])
    for name in sorted(want_users - set(have_users)):
        diffs.append(f"local user '{name}' is missing")
    for name in sorted(set(have_users) - want_users):
        diffs.append(f"local user '{name}' exists but is not in switch_local_users")
    for community in actual.get("snmp_communities") or []:
        diffs.append(f"SNMP community '{community[:2]}***' is configured (SNMPv3 only)")
    group = f"{desired['snmp']['group']} v3 priv"
    if group not in (actual.get("snmp_groups") or []):
        diffs.append(f"SNMPv3 group '{group}' is missing")
    for label, key, want in (
        ("NTP server", "ntp_servers", desired["ntp_servers"]),
        ("syslog host", "syslog_hosts", desired["syslog_hosts"]),
    ):
        have = actual.get(key) or []
        diffs.extend(f"{label} {item} is missing" for item in want if item not in have)
        diffs.extend(f"{label} {item} is configured but not wanted" for item in have if item not in want)
    if actual.get("telnet"):
        diffs.append("telnet is enabled (vty transport or telnet server)")
    for vty, transport in sorted((actual.get("vty_transport") or {}).items()):
        if transport != "ssh":
            diffs.append(f"line {vty}: transport input is '{transport or 'default'}', expected 'ssh'")
    if actual.get("http"):
        diffs.append("the HTTP server is enabled (ip http server)")
    if actual.get("https"):
        diffs.append("the HTTPS server is enabled (ip http secure-server)")
    banner = actual.get("banner")
    if banner is None:
        diffs.append("the login banner is missing")
    elif banner.strip() != desired["banner"].strip():
        diffs.append("the login banner differs from switch_banner")
    return diffs


def _port_drift(port: Mapping, have: Mapping) -> list[str]:
    name = port["name"]
    diffs = []
    if have.get("mode") != port["mode"]:
        diffs.append(f"port {name}: mode is {have.get('mode') or 'dynamic (not set)'}, expected {port['mode']}")
    if port["mode"] == "access":
        if have.get("access_vlan") != port["access_vlan"]:
            diffs.append(f"port {name}: access VLAN is {have.get('access_vlan')}, expected {port['access_vlan']}")
        if have.get("port_security") != port["port_security"]:
            diffs.append(
                f"port {name}: port security is {_security(have.get('port_security'))}, "
                f"expected {_security(port['port_security'])}"
            )
        if port["edge"] and not (have.get("portfast") and have.get("bpduguard")):
            diffs.append(f"port {name}: spanning-tree portfast and bpduguard are not both on")
    else:
        have_allowed = have.get("allowed_vlans")
        if have_allowed != port["allowed_vlans"]:
            shown = have_allowed if have_allowed == "all" else _vlan_list(have_allowed or []) or "none"
            diffs.append(f"port {name}: trunk allows {shown}, expected {_vlan_list(port['allowed_vlans'])}")
        if port["native_vlan"] is not None and have.get("native_vlan") != port["native_vlan"]:
            diffs.append(f"port {name}: native VLAN is {have.get('native_vlan')}, expected {port['native_vlan']}")
    if bool(have.get("shutdown")) != port["shutdown"]:
        diffs.append(
            f"port {name}: is {'shut down' if have.get('shutdown') else 'up'}, expected "
            f"{'shut down' if port['shutdown'] else 'up'}"
        )
    if (have.get("description") or "") != port["description"]:
        diffs.append(f"port {name}: description is '{have.get('description') or ''}', expected '{port['description']}'")
    return diffs


def _security(value: object) -> str:
    return "off" if value is None else f"max {value} MAC"


class FilterModule:
    """Ansible entry point: the switch_* filters."""

    def filters(self) -> dict:
        return {
            "switch_problems": switch_problems,
            "switch_desired": switch_desired,
            "switch_ios_config": switch_ios_config,
            "switch_expand_ports": switch_expand_ports,
            "cbs_render": cbs_render,
            "ios_parse": ios_parse,
            "cbs_parse": cbs_parse,
            "switch_drift": switch_drift,
        }
