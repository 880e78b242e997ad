"""Filters of role ``dhcp``: check its inputs against the IP plan, and build Kea's configuration.

Both filters take the role's variables as one mapping (``inputs``, built in ``vars/main.yml``) and
the IP plan as ``{"domain": ipplan.domain, "vlans": ipplan | ipplan_networks}``, so that the plan
is read through the ipplan filters and checked by them first. They are pure functions built on
netaddr: nothing here reads facts or touches the host.

Filters:

``dhcp_problems(inputs, plan, host='')``
    Return a list of problems (strings), each naming the host, the variable and what is wrong;
    an empty list means the inputs are sound. Malformed input is reported, never raised.
``dhcp_kea_config(inputs, plan, system)``
    Return the whole kea-dhcp4 configuration ``{"Dhcp4": {...}}``, ready for ``to_nice_json``.
    ``system`` holds the paths of the operating system (hook libraries, lease file, control
    socket, lease log script). Raises AnsibleFilterError when the inputs have problems.
``dhcp_subnet_id(subnet)``
    The default Kea subnet id of a subnet of /24 or shorter: its first three octets, each
    written with three digits (10.231.8.0/24 -> 10231008), so an id can be read back.

Example (roles/dhcp/vars/main.yml)::

    __dhcp_problems: "{{ __dhcp_inputs | dhcp_problems(__dhcp_plan, inventory_hostname) }}"
    __dhcp_config: "{{ __dhcp_inputs | dhcp_kea_config(__dhcp_plan, __dhcp_system) }}"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPAddress, IPNetwork
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

PARSE_ERRORS = (ValueError, TypeError) if NETADDR_IMPORT_ERROR else (AddrFormatError, ValueError, TypeError)

SERVED_KEYS = frozenset(
    {
        "site",
        "vlan",
        "interface",
        "pool_start",
        "pool_end",
        "routers",
        "domain_name",
        "dns_servers",
        "ntp_servers",
        "valid_lifetime",
        "relay_addresses",
        "subnet_id",
        "option_data",
    }
)
RESERVATION_KEYS = frozenset({"mac", "ip", "hostname", "talep"})
PEER_KEYS = frozenset({"name", "url", "role", "auto_failover"})
OPTION_KEYS = frozenset({"name", "code", "data", "always_send"})
# Options the role sets from its own variables; option_data may not set them a second time.
MANAGED_OPTIONS = {
    "routers": "routers",
    "domain-name": "domain_name",
    "domain-name-servers": "dns_servers",
    "ntp-servers": "ntp_servers",
}
MANAGED_CODES = {3: "routers", 15: "domain-name", 6: "domain-name-servers", 42: "ntp-servers"}

SOCKET_TYPES = ("auto", "raw", "udp")
SEVERITIES = ("FATAL", "ERROR", "WARN", "INFO", "DEBUG")
HA_MODES = ("hot-standby", "load-balancing")
HA_ROLES = {"hot-standby": ("primary", "standby"), "load-balancing": ("primary", "secondary")}

LIFETIME_MIN = 10
LIFETIME_MAX = 30 * 86400
SUBNET_ID_MAX = 4294967294  # Kea's subnet id is a 32-bit number; the all-ones value is reserved
DEFAULT_ID_MAX_PREFIXLEN = 24

MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
LABEL_RE = re.compile(rf"^{LABEL}$")
DNSNAME_RE = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")
# A Linux interface name (IFNAMSIZ - 1 characters, no slash or space); Kea also accepts iface/address.
IFACE_RE = re.compile(r"^[A-Za-z0-9_.@:-]{1,15}$")
URL_RE = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+:[0-9]{1,5}/$")

# Kea's timings of a hot-standby or load-balancing pair (milliseconds), as the Kea manual
# recommends them for a pair on one LAN.
HA_TIMINGS = {"heartbeat-delay": 10000, "max-response-delay": 60000, "max-ack-delay": 5000, "max-unacked-clients": 5}


@dataclass
class _Served:
    """One served VLAN, resolved against the plan; the fields are None where they could not be used."""

    index: int
    site: str
    vlan: str
    plan: Mapping
    net: IPNetwork
    interface: str | None = None
    pool: tuple[IPAddress, IPAddress] | None = None
    routers: list[IPAddress] = field(default_factory=list)
    domain_name: str = ""
    dns_servers: list[IPAddress] = field(default_factory=list)
    ntp_servers: list[IPAddress] = field(default_factory=list)
    valid_lifetime: int | None = None
    relay_addresses: list[IPAddress] = field(default_factory=list)
    subnet_id: int | None = None
    option_data: list = field(default_factory=list)


# --- small helpers -------------------------------------------------------------------------------


def _require_netaddr() -> None:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"dhcp: the netaddr Python library is required: {NETADDR_IMPORT_ERROR}")


def _show(value: object) -> str:
    """Quote a bad value so that an empty or odd one is still visible in the message."""
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r} ({type(value).__name__})"


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ipv4(value: object) -> IPAddress | None:
    """An IPv4 address written as a plain dotted quad (no prefix, no shorthand such as '10.1')."""
    if not isinstance(value, str) or value.count(".") != 3:
        return None
    try:
        addr = IPAddress(value)
    except PARSE_ERRORS:
        return None
    return addr if addr.version == 4 else None


def _addresses(value: object, where: str, problems: list[str]) -> list[IPAddress]:
    """A list of IPv4 addresses; every bad entry is reported."""
    if not _is_list(value):
        problems.append(f"{where} must be a list of IPv4 addresses, got {_show(value)}")
        return []
    out = []
    for item in value:
        addr = _ipv4(item)
        if addr is None:
            problems.append(f"{where} has {_show(item)}, which is not an IPv4 address")
        else:
            out.append(addr)
    return out


def _given(data: Mapping, key: str, default: object = None) -> object:
    """The value of an optional key; a key set to null counts as not given (as Ansible's argument spec leaves it)."""
    value = data.get(key)
    return default if value is None else value


def _check_keys(data: Mapping, allowed: frozenset, where: str, problems: list[str]) -> None:
    """A misspelt key (``intreface``) would otherwise be ignored without a word."""
    for key in data:
        if key not in allowed:
            problems.append(f"{where} has an unknown key {_show(key)} (expected one of: {', '.join(sorted(allowed))})")


def _number(value: object) -> object:
    """A whole number given as digits (``-e dhcp_valid_lifetime=3600`` is text) counts as that number."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _int_in(value: object, low: int, high: int) -> bool:
    value = _number(value)
    return _is_int(value) and low <= value <= high


def _special(net: IPNetwork) -> dict[IPAddress, str]:
    return {net.network: "the network address", IPAddress(net.last, 4): "the broadcast address"}


def dhcp_subnet_id(subnet: object) -> int:
    """The default Kea subnet id: the first three octets, three digits each (10.231.8.0/24 -> 10231008).

    Unique for every subnet of /24 or shorter, because such subnets that do not overlap differ
    in their first three octets. Longer prefixes need an explicit id.
    """
    _require_netaddr()
    try:
        net = IPNetwork(str(subnet))
    except PARSE_ERRORS as exc:
        raise AnsibleFilterError(f"dhcp_subnet_id: {_show(subnet)} is not a subnet") from exc
    if net.version != 4 or net.prefixlen > DEFAULT_ID_MAX_PREFIXLEN:
        raise AnsibleFilterError(f"dhcp_subnet_id: {net} is not an IPv4 subnet of /24 or shorter; give it an id")
    a, b, c, _ = net.network.words
    return a * 1_000_000 + b * 1_000 + c


# --- checks --------------------------------------------------------------------------------------


def _plan_vlans(plan: object) -> tuple[list[Mapping], str]:
    if not isinstance(plan, Mapping) or not _is_list(plan.get("vlans")):
        raise AnsibleFilterError("dhcp: the plan must be {'domain': ipplan.domain, 'vlans': ipplan | ipplan_networks}")
    domain = plan.get("domain") or ""
    return list(plan["vlans"]), str(domain)


def _resolve_served(inputs: Mapping, vlans: list[Mapping], domain: str, problems: list[str]) -> list[_Served]:
    """Check dhcp_served_vlans and return the entries that could be placed in the plan."""
    entries = inputs.get("dhcp_served_vlans")
    if not _is_list(entries) or len(entries) == 0:
        problems.append(
            "dhcp_served_vlans must list at least one VLAN of the IP plan, such as "
            f"[{{site: merkez, vlan: kullanici_bilgi_islem, interface: eth1}}]; got {_show(entries)}"
        )
        return []
    dns = _addresses(inputs.get("dhcp_dns_servers", []), "dhcp_dns_servers", problems)
    ntp = _addresses(inputs.get("dhcp_ntp_servers", []), "dhcp_ntp_servers", problems)

    served: list[_Served] = []
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        where = f"dhcp_served_vlans[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where} must be a mapping with site and vlan, got {_show(entry)}")
            continue
        where = f"{where} ({entry.get('site')}/{entry.get('vlan')})"
        _check_keys(entry, SERVED_KEYS, where, problems)
        site, name = entry.get("site"), entry.get("vlan")
        if not isinstance(site, str) or not isinstance(name, str):
            problems.append(f"{where} needs site and vlan, the names of a site and a VLAN in ipplan")
            continue
        at_site = [vlan for vlan in vlans if vlan.get("site") == site]
        match = [vlan for vlan in at_site if vlan.get("vlan") == name]
        if not at_site:
            known = ", ".join(sorted({str(vlan.get("site")) for vlan in vlans})) or "none"
            problems.append(f"{where}: ipplan has no site '{site}' (sites: {known})")
            continue
        if not match:
            known = ", ".join(str(vlan.get("vlan")) for vlan in at_site)
            problems.append(f"{where}: ipplan site '{site}' has no vlan '{name}' (vlans: {known})")
            continue
        vlan = match[0]
        if (site, name) in seen:
            problems.append(f"{where} is already served by dhcp_served_vlans[{seen[(site, name)]}]")
            continue
        seen[(site, name)] = index
        net = IPNetwork(vlan["subnet"])
        if net.version != 4:
            problems.append(f"{where}: subnet {net} is IPv6; this role serves DHCPv4 only")
            continue
        item = _Served(index=index, site=site, vlan=name, plan=vlan, net=net)
        _check_interface(entry, item, where, problems)
        _check_routers(entry, item, where, problems)
        _check_pool(entry, item, where, problems)
        _check_served_options(entry, item, where, problems, domain, dns, ntp)
        _check_subnet_id(entry, item, where, problems)
        served.append(item)

    on_iface: dict[str, _Served] = {}
    for item in served:
        if item.interface is None:
            continue
        if item.interface in on_iface:
            other = on_iface[item.interface]
            problems.append(
                f"dhcp_served_vlans[{item.index}] ({item.site}/{item.vlan}): interface {item.interface} already "
                f"serves dhcp_served_vlans[{other.index}] ({other.site}/{other.vlan}); one directly attached VLAN "
                "per interface (use a VLAN interface such as eth1.20 for each)"
            )
        else:
            on_iface[item.interface] = item

    ids: dict[int, _Served] = {}
    for item in served:
        if item.subnet_id is None:
            continue
        if item.subnet_id in ids:
            other = ids[item.subnet_id]
            problems.append(
                f"dhcp_served_vlans[{item.index}] ({item.site}/{item.vlan}): subnet id {item.subnet_id} is also "
                f"the id of dhcp_served_vlans[{other.index}] ({other.site}/{other.vlan})"
            )
        else:
            ids[item.subnet_id] = item
    return served


def _check_interface(entry: Mapping, item: _Served, where: str, problems: list[str]) -> None:
    iface = entry.get("interface")
    if iface is None:
        return
    if not isinstance(iface, str) or not IFACE_RE.match(iface):
        problems.append(f"{where}: interface {_show(iface)} is not a network interface name such as eth1")
        return
    item.interface = iface


def _check_routers(entry: Mapping, item: _Served, where: str, problems: list[str]) -> None:
    if entry.get("routers") is None:
        item.routers = [IPAddress(item.plan["gateway"])]
        return
    routers = _addresses(entry["routers"], f"{where}: routers", problems)
    special = _special(item.net)
    for addr in routers:
        if addr not in item.net:
            problems.append(f"{where}: router {addr} is outside subnet {item.net}")
        elif addr in special:
            problems.append(f"{where}: router {addr} is {special[addr]} of subnet {item.net}")
    if _is_list(entry["routers"]) and not entry["routers"]:
        problems.append(f"{where}: routers is empty; leave it out to hand out the plan's gateway")
    item.routers = routers


def _check_pool(entry: Mapping, item: _Served, where: str, problems: list[str]) -> None:
    raw_start = _given(entry, "pool_start", item.plan.get("dhcp_start"))
    raw_end = _given(entry, "pool_end", item.plan.get("dhcp_end"))
    if raw_start is None and raw_end is None:
        problems.append(
            f"{where}: the VLAN has no dhcp range in ipplan and no pool_start/pool_end; "
            "add dhcp: {start, end} to the plan"
        )
        return
    ends = []
    for key, raw in (("pool_start", raw_start), ("pool_end", raw_end)):
        addr = _ipv4(raw)
        if addr is None:
            problems.append(f"{where}: {key} {_show(raw)} is not an IPv4 address")
        elif addr not in item.net:
            problems.append(f"{where}: {key} {addr} is outside subnet {item.net}")
        else:
            ends.append(addr)
    if len(ends) != 2:
        return
    start, end = ends
    if start > end:
        problems.append(f"{where}: pool start {start} is after pool end {end}")
        return
    shown = f"pool {start}-{end}"
    taken = dict(_special(item.net))
    taken.setdefault(IPAddress(item.plan["gateway"]), "the gateway")
    for addr in item.routers:
        taken.setdefault(addr, "a router")
    for name, raw in (item.plan.get("reserved") or {}).items():
        taken.setdefault(IPAddress(raw), f"ipplan reserved '{name}'")
    for addr, label in sorted(taken.items()):
        if start <= addr <= end:
            problems.append(f"{where}: {shown} includes {label} ({addr})")
    item.pool = (start, end)


def _check_served_options(entry, item: _Served, where, problems, domain, dns, ntp) -> None:
    name = _given(entry, "domain_name", domain)
    if not isinstance(name, str) or (name and not DNSNAME_RE.match(name)):
        problems.append(f"{where}: domain_name {_show(name)} is not a DNS name (empty leaves the option out)")
    else:
        item.domain_name = name
    item.dns_servers = (
        _addresses(entry["dns_servers"], f"{where}: dns_servers", problems)
        if _given(entry, "dns_servers") is not None
        else dns
    )
    item.ntp_servers = (
        _addresses(entry["ntp_servers"], f"{where}: ntp_servers", problems)
        if _given(entry, "ntp_servers") is not None
        else ntp
    )
    if _given(entry, "relay_addresses") is not None:
        item.relay_addresses = _addresses(entry["relay_addresses"], f"{where}: relay_addresses", problems)
    if _given(entry, "valid_lifetime") is not None:
        value = entry["valid_lifetime"]
        if not _int_in(value, LIFETIME_MIN, LIFETIME_MAX):
            problems.append(
                f"{where}: valid_lifetime must be a whole number of seconds from {LIFETIME_MIN} to {LIFETIME_MAX}, "
                f"got {_show(value)}"
            )
        else:
            item.valid_lifetime = _number(value)
    options = _given(entry, "option_data", [])
    if not _is_list(options):
        problems.append(f"{where}: option_data must be a list of {{name or code, data}}, got {_show(options)}")
        return
    for number, option in enumerate(options):
        label = f"{where}: option_data[{number}]"
        if not isinstance(option, Mapping):
            problems.append(f"{label} must be a mapping with name (or code) and data, got {_show(option)}")
            continue
        _check_keys(option, OPTION_KEYS, label, problems)
        if not isinstance(option.get("name"), str) and not _int_in(option.get("code"), 1, 254):
            problems.append(f"{label} needs an option name, or a code from 1 to 254")
        if not isinstance(option.get("data"), str):
            problems.append(f"{label} needs data, the option's value as text, got {_show(option.get('data'))}")
        managed = option.get("name") if option.get("name") in MANAGED_OPTIONS else MANAGED_CODES.get(option.get("code"))
        if managed:
            problems.append(f"{label} sets option {managed}, which the role sets from {MANAGED_OPTIONS[managed]}")
    item.option_data = [option for option in options if isinstance(option, Mapping)]


def _check_subnet_id(entry: Mapping, item: _Served, where: str, problems: list[str]) -> None:
    if _given(entry, "subnet_id") is not None:
        value = entry["subnet_id"]
        if not _int_in(value, 1, SUBNET_ID_MAX):
            problems.append(f"{where}: subnet_id must be a whole number from 1 to {SUBNET_ID_MAX}, got {_show(value)}")
        else:
            item.subnet_id = _number(value)
    elif item.net.prefixlen > DEFAULT_ID_MAX_PREFIXLEN:
        problems.append(
            f"{where}: subnet {item.net} is longer than /{DEFAULT_ID_MAX_PREFIXLEN}, so it has no default id; "
            "set subnet_id (a number that never changes once leases exist)"
        )
    else:
        item.subnet_id = dhcp_subnet_id(item.net)


def _check_globals(inputs: Mapping, served: list[_Served], problems: list[str]) -> None:
    checks = (
        ("dhcp_valid_lifetime", LIFETIME_MIN, LIFETIME_MAX),
        ("dhcp_decline_probation_period", 1, 4294967295),
        ("dhcp_lfc_interval", 0, 4294967295),
    )
    for key, low, high in checks:
        value = inputs.get(key)
        if not _int_in(value, low, high):
            problems.append(f"{key} must be a whole number of seconds from {low} to {high}, got {_show(value)}")
    if inputs.get("dhcp_socket_type") not in SOCKET_TYPES:
        problems.append(
            f"dhcp_socket_type must be one of {', '.join(SOCKET_TYPES)}, got {_show(inputs.get('dhcp_socket_type'))}"
        )
    if inputs.get("dhcp_log_severity") not in SEVERITIES:
        problems.append(
            f"dhcp_log_severity must be one of {', '.join(SEVERITIES)}, got {_show(inputs.get('dhcp_log_severity'))}"
        )
    relay_ifaces = inputs.get("dhcp_relay_interfaces", [])
    if not _is_list(relay_ifaces):
        problems.append(f"dhcp_relay_interfaces must be a list of interface names, got {_show(relay_ifaces)}")
        relay_ifaces = []
    for iface in relay_ifaces:
        if not isinstance(iface, str) or not IFACE_RE.match(iface):
            problems.append(f"dhcp_relay_interfaces has {_show(iface)}, which is not an interface name such as eth0")
    relayed = [item for item in served if item.interface is None]
    if relayed and not relay_ifaces:
        shown = ", ".join(f"{item.site}/{item.vlan}" for item in relayed)
        problems.append(
            f"dhcp_served_vlans {shown} have no interface, so their requests come through relay agents; "
            "set dhcp_relay_interfaces to the interface(s) where the relayed requests arrive (such as eth0)"
        )


def _check_reservations(inputs: Mapping, served: list[_Served], problems: list[str]) -> list[tuple[_Served, dict]]:
    """Check dhcp_reservations; return (served VLAN, reservation) for the sound ones."""
    entries = inputs.get("dhcp_reservations", [])
    if not _is_list(entries):
        problems.append(f"dhcp_reservations must be a list of {{mac, ip, hostname, talep}}, got {_show(entries)}")
        return []
    pattern = inputs.get("dhcp_talep_pattern")
    try:
        talep_re = re.compile(pattern) if isinstance(pattern, str) and pattern else None
    except re.error as exc:
        problems.append(f"dhcp_talep_pattern {_show(pattern)} is not a regular expression: {exc}")
        talep_re = None
    else:
        if talep_re is None:
            problems.append(f"dhcp_talep_pattern must be a regular expression, got {_show(pattern)}")

    placed: list[tuple[_Served, dict]] = []
    by_ip: dict[IPAddress, int] = {}
    by_mac: dict[tuple[int, str], int] = {}
    for index, entry in enumerate(entries):
        where = f"dhcp_reservations[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where} must be a mapping with mac, ip, hostname and talep, got {_show(entry)}")
            continue
        where = f"{where} ({entry.get('hostname')})"
        _check_keys(entry, RESERVATION_KEYS, where, problems)
        count = len(problems)
        mac, raw_ip, hostname, talep = (entry.get(key) for key in ("mac", "ip", "hostname", "talep"))
        if not isinstance(mac, str) or not MAC_RE.match(mac):
            problems.append(f"{where}: mac {_show(mac)} is not a MAC address such as 52:54:00:12:34:56")
        if not isinstance(hostname, str) or not LABEL_RE.match(hostname):
            problems.append(f"{where}: hostname {_show(hostname)} must be one DNS label (letters, digits, hyphens)")
        if talep_re is not None and (not isinstance(talep, str | int) or not talep_re.match(str(talep))):
            problems.append(f"{where}: talep {_show(talep)} must name the written request, matching {talep_re.pattern}")
        addr = _ipv4(raw_ip)
        home = None
        if addr is None:
            problems.append(f"{where}: ip {_show(raw_ip)} is not an IPv4 address")
        else:
            homes = [item for item in served if addr in item.net]
            if not homes:
                shown = ", ".join(f"{item.site}/{item.vlan} {item.net}" for item in served) or "none"
                problems.append(f"{where}: ip {addr} is in none of the served VLANs ({shown})")
            else:
                home = homes[0]
                _check_reserved_address(addr, hostname, home, where, problems)
                if addr in by_ip:
                    problems.append(f"{where}: ip {addr} is already reserved by dhcp_reservations[{by_ip[addr]}]")
                else:
                    by_ip[addr] = index
                if isinstance(mac, str) and MAC_RE.match(mac) and home.subnet_id is not None:
                    key = (home.subnet_id, mac.lower())
                    if key in by_mac:
                        problems.append(
                            f"{where}: mac {mac.lower()} already has a reservation in {home.site}/{home.vlan} "
                            f"(dhcp_reservations[{by_mac[key]}]); one address per client and VLAN"
                        )
                    else:
                        by_mac[key] = index
        if len(problems) == count and home is not None:
            placed.append((home, {"mac": mac.lower(), "ip": str(addr), "hostname": hostname, "talep": str(talep)}))
    return placed


def _check_reserved_address(addr, hostname, home: _Served, where: str, problems: list[str]) -> None:
    special = _special(home.net)
    gateway = IPAddress(home.plan["gateway"])
    if addr in special:
        problems.append(f"{where}: ip {addr} is {special[addr]} of subnet {home.net}")
    elif addr == gateway:
        problems.append(f"{where}: ip {addr} is the gateway of {home.site}/{home.vlan}")
    elif addr in home.routers:
        problems.append(f"{where}: ip {addr} is a router handed out in {home.site}/{home.vlan}")
    for name, raw in (home.plan.get("reserved") or {}).items():
        if IPAddress(raw) == addr and name != hostname:
            problems.append(
                f"{where}: ip {addr} is reserved in ipplan for '{name}'; a reservation there must carry hostname {name}"
            )


def _check_ha(inputs: Mapping, problems: list[str]) -> None:
    peers = inputs.get("dhcp_ha_peers", [])
    if not _is_list(peers):
        problems.append(f"dhcp_ha_peers must be a list of {{name, url, role}}, got {_show(peers)}")
        return
    if not peers:
        return
    mode = inputs.get("dhcp_ha_mode")
    if mode not in HA_MODES:
        problems.append(f"dhcp_ha_mode must be one of {', '.join(HA_MODES)}, got {_show(mode)}")
        return
    wanted = (*HA_ROLES[mode], "backup")
    names, urls, roles = [], [], []
    for index, peer in enumerate(peers):
        where = f"dhcp_ha_peers[{index}]"
        if not isinstance(peer, Mapping):
            problems.append(f"{where} must be a mapping with name, url and role, got {_show(peer)}")
            continue
        where = f"{where} ({peer.get('name')})"
        _check_keys(peer, PEER_KEYS, where, problems)
        name, url, role = peer.get("name"), peer.get("url"), peer.get("role")
        if not isinstance(name, str) or not LABEL_RE.match(name):
            problems.append(f"{where}: name {_show(name)} must be one DNS label, the peer's inventory name")
        elif name in names:
            problems.append(f"{where}: name {name} is listed twice")
        else:
            names.append(name)
        if not isinstance(url, str) or not URL_RE.match(url):
            problems.append(
                f"{where}: url {_show(url)} must look like http://10.10.10.12:8000/ (scheme, address, port, /)"
            )
        elif url in urls:
            problems.append(f"{where}: url {url} is used by another peer")
        else:
            urls.append(url)
        if role not in wanted:
            problems.append(f"{where}: role {_show(role)} is not one of {', '.join(wanted)} (mode {mode})")
        else:
            roles.append(role)
        if _given(peer, "auto_failover") is not None and not isinstance(peer["auto_failover"], bool):
            problems.append(f"{where}: auto_failover must be true or false, got {_show(peer['auto_failover'])}")
    for role in HA_ROLES[mode]:
        if roles.count(role) != 1:
            problems.append(
                f"dhcp_ha_peers: mode {mode} needs exactly one peer with role {role}, got {roles.count(role)}"
            )
    this = inputs.get("dhcp_ha_this_server")
    if this not in names:
        problems.append(
            f"dhcp_ha_this_server {_show(this)} is not the name of a peer in dhcp_ha_peers ({', '.join(names)})"
        )


# --- the filters ---------------------------------------------------------------------------------


def _inspect(inputs: object, plan: object) -> tuple[list[str], list[_Served], list[tuple[_Served, dict]]]:
    _require_netaddr()
    if not isinstance(inputs, Mapping):
        return [f"dhcp: the role's inputs must be a mapping, got {_show(inputs)}"], [], []
    vlans, domain = _plan_vlans(plan)
    problems: list[str] = []
    served = _resolve_served(inputs, vlans, domain, problems)
    _check_globals(inputs, served, problems)
    placed = _check_reservations(inputs, served, problems)
    _check_ha(inputs, problems)
    return problems, served, placed


def dhcp_problems(inputs: object, plan: object, host: str = "") -> list[str]:
    """Every problem in the role's inputs, each starting with the host name."""
    prefix = f"{host}: " if host else ""
    return [prefix + problem for problem in _inspect(inputs, plan)[0]]


def _options(item: _Served) -> list[dict]:
    options = [{"name": "routers", "data": ", ".join(str(addr) for addr in item.routers)}]
    if item.dns_servers:
        options.append({"name": "domain-name-servers", "data": ", ".join(str(a) for a in item.dns_servers)})
    if item.ntp_servers:
        options.append({"name": "ntp-servers", "data": ", ".join(str(a) for a in item.ntp_servers)})
    if item.domain_name:
        options.append({"name": "domain-name", "data": item.domain_name})
    for option in item.option_data:
        kea = {key.replace("_", "-"): value for key, value in option.items()}
        options.append(kea)
    return options


def _subnet(item: _Served, reservations: list[dict]) -> dict:
    start, end = item.pool
    subnet: dict = {"id": item.subnet_id, "subnet": str(item.net)}
    if item.interface:
        subnet["interface"] = item.interface
    if item.relay_addresses:
        subnet["relay"] = {"ip-addresses": [str(addr) for addr in item.relay_addresses]}
    subnet["pools"] = [{"pool": f"{start} - {end}"}]
    subnet["option-data"] = _options(item)
    if item.valid_lifetime is not None:
        subnet["valid-lifetime"] = item.valid_lifetime
    subnet["reservations"] = [
        {
            "hw-address": res["mac"],
            "ip-address": res["ip"],
            "hostname": res["hostname"],
            "user-context": {"talep": res["talep"]},
        }
        for res in sorted(reservations, key=lambda res: IPAddress(res["ip"]))
    ]
    subnet["user-context"] = {"site": item.site, "vlan": item.vlan, "vlan-id": item.plan.get("id")}
    return subnet


def _ha_hooks(inputs: Mapping, hooks_dir: str) -> list[dict]:
    peers = [
        {
            "name": peer["name"],
            "url": peer["url"],
            "role": peer["role"],
            "auto-failover": _given(peer, "auto_failover", True),
        }
        for peer in inputs["dhcp_ha_peers"]
    ]
    relationship = {
        "this-server-name": inputs["dhcp_ha_this_server"],
        "mode": inputs["dhcp_ha_mode"],
        **HA_TIMINGS,
        # Kea 2.2 serves the peers' HTTP requests itself (no kea-ctrl-agent) with this listener,
        # which needs the server's multi-threading.
        "multi-threading": {
            "enable-multi-threading": True,
            "http-dedicated-listener": True,
            "http-listener-threads": 0,
            "http-client-threads": 0,
        },
        "peers": peers,
    }
    return [
        {"library": f"{hooks_dir}/libdhcp_lease_cmds.so"},
        {"library": f"{hooks_dir}/libdhcp_ha.so", "parameters": {"high-availability": [relationship]}},
    ]


def dhcp_kea_config(inputs: object, plan: object, system: object) -> dict:
    """The whole kea-dhcp4 configuration for the role's inputs; raises when they have problems."""
    problems, served, placed = _inspect(inputs, plan)
    if problems:
        raise AnsibleFilterError(f"dhcp: the inputs have {len(problems)} problem(s):\n" + "\n".join(problems))
    if not isinstance(system, Mapping):
        raise AnsibleFilterError(f"dhcp_kea_config: system must be a mapping of paths, got {_show(system)}")

    interfaces = []
    for iface in [item.interface for item in served if item.interface] + list(inputs["dhcp_relay_interfaces"]):
        if iface not in interfaces:
            interfaces.append(iface)
    socket_type = inputs["dhcp_socket_type"]
    if socket_type == "auto":
        socket_type = "raw" if any(item.interface for item in served) else "udp"

    hooks = []
    ha = bool(inputs.get("dhcp_ha_peers"))
    if ha:
        hooks += _ha_hooks(inputs, system["hooks_dir"])
    if inputs.get("dhcp_lease_log_enabled", True):
        hooks.append(
            {
                "library": f"{system['hooks_dir']}/libdhcp_run_script.so",
                # sync false: Kea starts the script and goes on; a slow or failing logger never delays a lease.
                "parameters": {"name": system["lease_log_script"], "sync": False},
            }
        )

    dhcp4 = {
        "comment": "Managed by Ansible (role dhcp) from the IP plan: local changes are overwritten.",
        "interfaces-config": {
            "interfaces": interfaces,
            "dhcp-socket-type": socket_type,
            # At boot an interface may come up after Kea: keep trying for a minute instead of failing.
            "service-sockets-require-all": False,
            "service-sockets-max-retries": 12,
            "service-sockets-retry-wait-time": 5000,
        },
        "control-socket": {"socket-type": "unix", "socket-name": system["control_socket"]},
        "lease-database": {
            "type": "memfile",
            "persist": True,
            "name": system["lease_file"],
            "lfc-interval": _number(inputs["dhcp_lfc_interval"]),
        },
        "authoritative": bool(inputs.get("dhcp_authoritative", True)),
        "valid-lifetime": _number(inputs["dhcp_valid_lifetime"]),
        "calculate-tee-times": True,
        "decline-probation-period": _number(inputs["dhcp_decline_probation_period"]),
        "host-reservation-identifiers": ["hw-address"],
        "multi-threading": {"enable-multi-threading": ha},
        "hooks-libraries": hooks,
        "subnet4": [
            _subnet(item, [res for home, res in placed if home is item])
            for item in sorted(served, key=lambda item: item.subnet_id)
        ],
        "loggers": [
            {
                "name": "kea-dhcp4",
                "output_options": [{"output": "syslog"}],
                "severity": inputs["dhcp_log_severity"],
                "debuglevel": 0,
            }
        ],
    }
    return {"Dhcp4": dhcp4}


class FilterModule:
    """Ansible entry point: the dhcp_* filters."""

    def filters(self) -> dict:
        return {
            "dhcp_problems": dhcp_problems,
            "dhcp_kea_config": dhcp_kea_config,
            "dhcp_subnet_id": dhcp_subnet_id,
        }
