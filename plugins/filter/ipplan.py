"""Filters for the IP plan (``ipplan``): check it, and derive per-VLAN network facts from it.

The plan lives in each inventory's ``group_vars/all`` and is described in ``docs/ipplan.md``.
Every filter here is a pure function built on netaddr; a bad plan never raises a traceback,
it is reported as a list of messages that name the site, the VLAN, the field and the bad value.

Filters:

``ipplan_check(plan, static=None)``
    Return a list of problems (strings); an empty list means the plan is sound.
``ipplan_validate(plan, static=None)``
    Return the plan unchanged, or raise AnsibleFilterError listing every problem, one per line.
``ipplan_networks(plan)``
    Validate, then return one dict per VLAN, sorted by site name and VLAN id.
``ipplan_vlan(plan, site, vlan)``
    Validate, then return the dict of one VLAN.
``ipplan_find(address, plan)``
    Validate, then return the dict of the VLAN whose subnet holds the address, or None.

Example::

    - name: The IP plan is sound and every inventory address fits in it
      ansible.builtin.assert:
        that: ipplan | ipplan_check(static_addresses) | length == 0
        fail_msg: "{{ ipplan | ipplan_check(static_addresses) | join('\\n') }}"

    - name: Interfaces are rendered from the plan
      ansible.builtin.template:
        src: interfaces.j2           # loops over ipplan | ipplan_networks
        dest: /etc/network/interfaces
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPAddress, IPNetwork
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

PLAN_KEYS = frozenset({"domain", "sites"})
SITE_KEYS = frozenset({"description", "supernet", "vlans"})
VLAN_KEYS = frozenset({"id", "subnet", "gateway", "description", "dhcp", "reserved"})
DHCP_KEYS = frozenset({"start", "end"})

VLAN_ID_MIN = 1
VLAN_ID_MAX = 4094

# A VLAN subnet must hold at least two usable hosts (a gateway and one more),
# so IPv4 /31 and /32 and IPv6 /127 and /128 are refused.
MAX_PREFIXLEN = {4: 30, 6: 126}

PARSE_ERRORS = (ValueError, TypeError) if NETADDR_IMPORT_ERROR else (AddrFormatError, ValueError, TypeError)


@dataclass
class _Vlan:
    """One VLAN as read from the plan; ``net`` is None when its subnet could not be used."""

    site: object
    name: object
    vlan_id: int | None
    net: IPNetwork | None
    gateway: IPAddress | None
    description: str
    dhcp: tuple[IPAddress, IPAddress] | None
    reserved: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return _where(self.site, self.name)


# --- small helpers -------------------------------------------------------------------------------


def _require_netaddr() -> None:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"ipplan: the netaddr Python library is required: {NETADDR_IMPORT_ERROR}")


def _where(site: object = None, vlan: object = None) -> str:
    parts = ["ipplan:"]
    if site is not None:
        parts.append(f"site '{site}'")
    if vlan is not None:
        parts.append(f"vlan '{vlan}'")
    return " ".join(parts) + ":"


def _show(value: object) -> str:
    """Quote a bad value so that an empty or odd one is still visible in the message."""
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r} ({type(value).__name__})"


def _parse_network(value: object) -> tuple[IPNetwork | None, str | None]:
    """Return (network, None) or (None, reason); the reason completes a sentence that names the field."""
    if not isinstance(value, str):
        return None, f"must be a CIDR string such as 10.10.10.0/24, got {_show(value)}"
    if "/" not in value:
        return None, f"'{value}' has no /prefix length"
    try:
        return IPNetwork(value), None
    except PARSE_ERRORS:
        return None, f"'{value}' is not a valid IPv4/IPv6 network"


def _parse_address(value: object) -> tuple[IPAddress | None, str | None]:
    """Return (address, None) or (None, reason); a prefix length is not accepted here."""
    if not isinstance(value, str):
        return None, f"must be an IP address string, got {_show(value)}"
    try:
        return IPAddress(value), None
    except PARSE_ERRORS:
        return None, f"'{value}' is not a valid IP address"


def _broadcast(net: IPNetwork) -> IPAddress | None:
    """IPv4 subnets have a broadcast address; IPv6 subnets have none."""
    return IPAddress(net.last, 4) if net.version == 4 else None


def _first_usable(net: IPNetwork) -> IPAddress:
    return IPAddress(net.first + 1, net.version)


def _last_usable(net: IPNetwork) -> IPAddress:
    return IPAddress(net.last - 1, 4) if net.version == 4 else IPAddress(net.last, 6)


def _usable_size(net: IPNetwork) -> int:
    return net.size - (2 if net.version == 4 else 1)


def _special_addresses(net: IPNetwork) -> list[tuple[IPAddress, str]]:
    """The addresses of a subnet that no host, gateway or DHCP lease may take."""
    special = [(net.network, "network address")]
    if _broadcast(net) is not None:
        special.append((_broadcast(net), "broadcast address"))
    return special


def _in_range(addr: IPAddress, start: IPAddress, end: IPAddress) -> bool:
    return addr.version == start.version and start <= addr <= end


def _check_keys(data: Mapping, allowed: frozenset, where: str, errors: list[str]) -> None:
    """A misspelt key (``gatway``, ``reserverd``) would otherwise be ignored without a word."""
    expected = ", ".join(sorted(allowed))
    for key in data:
        if key not in allowed:
            errors.append(f"{where} unknown key {_show(key)} (expected one of: {expected})")


# --- checks, from the top of the plan down -------------------------------------------------------


def _inspect(plan: object, static: object) -> tuple[list[str], list[_Vlan]]:
    """Check the whole plan; return the problems found and the VLANs that could be read."""
    errors: list[str] = []
    if not isinstance(plan, Mapping):
        return [f"ipplan: the plan must be a mapping with a 'sites' key, got {_show(plan)}"], []
    _check_keys(plan, PLAN_KEYS, "ipplan:", errors)

    domain = plan.get("domain")
    if domain is not None and (not isinstance(domain, str) or not domain):
        errors.append(f"ipplan: domain must be a non-empty string, got {_show(domain)}")

    vlans: list[_Vlan] = []
    sites = plan.get("sites")
    if sites is None:
        errors.append("ipplan: 'sites' is missing or empty")
    elif not isinstance(sites, Mapping):
        errors.append(f"ipplan: sites must be a mapping of site name to site, got {_show(sites)}")
    else:
        for site_name, site in sites.items():
            vlans.extend(_check_site(site_name, site, errors))

    _check_overlaps(vlans, errors)
    _check_addresses(vlans, static, errors)
    return errors, vlans


def _check_site(name: object, site: object, errors: list[str]) -> list[_Vlan]:
    where = _where(name)
    if not isinstance(site, Mapping):
        errors.append(f"{where} must be a mapping with a 'vlans' key, got {_show(site)}")
        return []
    _check_keys(site, SITE_KEYS, where, errors)

    supernets = _check_supernets(site.get("supernet"), where, errors)

    vlans_in = site.get("vlans")
    if vlans_in is None:
        errors.append(f"{where} has no vlans mapping")
        return []
    if not isinstance(vlans_in, Mapping):
        errors.append(f"{where} vlans must be a mapping of VLAN name to VLAN, got {_show(vlans_in)}")
        return []

    vlans = []
    for vlan_name, vlan in vlans_in.items():
        checked = _check_vlan(name, vlan_name, vlan, supernets, errors)
        if checked is not None:
            vlans.append(checked)

    first_user: dict[int, object] = {}
    for vlan in vlans:
        if vlan.vlan_id is None:
            continue
        if vlan.vlan_id in first_user:
            first = first_user[vlan.vlan_id]
            errors.append(f"{where} vlan id {vlan.vlan_id} is used by both vlan '{first}' and vlan '{vlan.name}'")
        else:
            first_user[vlan.vlan_id] = vlan.name
    return vlans


def _check_supernets(value: object, where: str, errors: list[str]) -> list[IPNetwork] | None:
    """Return the site's supernets (one string, or a list for a dual-stack site); None when none is set."""
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    supernets = []
    for item in values:
        net, reason = _parse_network(item)
        if net is None:
            errors.append(f"{where} supernet {reason}")
        elif net.ip != net.network:
            errors.append(f"{where} supernet {item} has host bits set (did you mean {net.cidr}?)")
        else:
            supernets.append(net)
    return supernets


def _check_vlan(site: object, name: object, vlan: object, supernets, errors: list[str]) -> _Vlan | None:
    where = _where(site, name)
    if not isinstance(vlan, Mapping):
        errors.append(f"{where} must be a mapping with 'id' and 'subnet', got {_show(vlan)}")
        return None
    _check_keys(vlan, VLAN_KEYS, where, errors)

    vlan_id = _check_vlan_id(vlan.get("id"), where, errors)
    net = _check_subnet(vlan.get("subnet"), supernets, where, errors)
    gateway = _check_gateway(vlan.get("gateway"), net, where, errors)
    reserved = _check_reserved(vlan.get("reserved"), net, gateway, where, errors)
    dhcp = _check_dhcp(vlan.get("dhcp"), net, gateway, reserved, where, errors)
    description = vlan.get("description")
    return _Vlan(
        site=site,
        name=name,
        vlan_id=vlan_id,
        net=net,
        gateway=gateway,
        description="" if description is None else str(description),
        dhcp=dhcp,
        reserved=reserved,
    )


def _check_vlan_id(value: object, where: str, errors: list[str]) -> int | None:
    if value is None:
        errors.append(f"{where} id is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{where} id must be an integer, got {_show(value)}")
        return None
    if not VLAN_ID_MIN <= value <= VLAN_ID_MAX:
        errors.append(f"{where} id {value} is outside {VLAN_ID_MIN}..{VLAN_ID_MAX}")
        return None
    return value


def _check_subnet(value: object, supernets, where: str, errors: list[str]) -> IPNetwork | None:
    if value is None:
        errors.append(f"{where} subnet is missing")
        return None
    net, reason = _parse_network(value)
    if net is None:
        errors.append(f"{where} subnet {reason}")
        return None
    if net.ip != net.network:
        errors.append(f"{where} subnet {value} has host bits set (did you mean {net.cidr}?)")
        return None
    if net.prefixlen > MAX_PREFIXLEN[net.version]:
        errors.append(
            f"{where} subnet {value} is too small for a VLAN: "
            f"IPv{net.version} prefix must be /{MAX_PREFIXLEN[net.version]} or shorter"
        )
        return None
    if supernets and not any(net.version == sup.version and net in sup for sup in supernets):
        shown = ", ".join(str(sup) for sup in supernets)
        errors.append(f"{where} subnet {net.cidr} is outside the site supernet {shown}")
    return net.cidr


def _check_gateway(value: object, net: IPNetwork | None, where: str, errors: list[str]) -> IPAddress | None:
    if value is None:
        return _first_usable(net) if net is not None else None
    gateway, reason = _parse_address(value)
    if gateway is None:
        errors.append(f"{where} gateway {reason}")
        return None
    if net is None:
        return gateway
    if gateway not in net:
        errors.append(f"{where} gateway {gateway} is outside subnet {net}")
    for addr, label in _special_addresses(net):
        if gateway == addr:
            errors.append(f"{where} gateway {gateway} is the {label} of subnet {net}")
    return gateway


def _check_reserved(value: object, net, gateway, where: str, errors: list[str]) -> dict:
    """Return name -> address for every reserved entry that parses."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(f"{where} reserved must be a mapping of name to address, got {_show(value)}")
        return {}
    reserved = {}
    for name, raw in value.items():
        addr, reason = _parse_address(raw)
        if addr is None:
            errors.append(f"{where} reserved '{name}' address {reason}")
            continue
        reserved[name] = addr
        if net is None:
            continue
        if addr not in net:
            errors.append(f"{where} reserved '{name}' address {addr} is outside subnet {net}")
            continue
        if addr == gateway:
            errors.append(f"{where} reserved '{name}' address {addr} is the gateway")
        for special, label in _special_addresses(net):
            if addr == special:
                errors.append(f"{where} reserved '{name}' address {addr} is the {label} of subnet {net}")
    return reserved


def _check_dhcp(value: object, net, gateway, reserved: dict, where: str, errors: list[str]):
    """Return (start, end) when both ends parse and start <= end, else None."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors.append(f"{where} dhcp must be a mapping with 'start' and 'end', got {_show(value)}")
        return None
    _check_keys(value, DHCP_KEYS, f"{where} dhcp:", errors)

    ends = {}
    for key in ("start", "end"):
        raw = value.get(key)
        if raw is None:
            errors.append(f"{where} dhcp {key} is missing")
            continue
        addr, reason = _parse_address(raw)
        if addr is None:
            errors.append(f"{where} dhcp {key} {reason}")
            continue
        ends[key] = addr
        if net is not None and addr not in net:
            errors.append(f"{where} dhcp {key} {addr} is outside subnet {net}")
    if len(ends) != 2:
        return None

    start, end = ends["start"], ends["end"]
    if start.version != end.version:
        errors.append(f"{where} dhcp start {start} and end {end} are of different IP versions")
        return None
    if start > end:
        errors.append(f"{where} dhcp start {start} is after end {end}")
        return None
    if net is not None and (start not in net or end not in net):
        # Already reported; what else the stray range covers would only repeat it.
        return start, end

    shown = f"dhcp range {start}-{end}"
    if gateway is not None and _in_range(gateway, start, end):
        errors.append(f"{where} {shown} includes the gateway {gateway}")
    if net is not None:
        for special, label in _special_addresses(net):
            if _in_range(special, start, end):
                errors.append(f"{where} {shown} includes the {label} {special}")
    for name, addr in reserved.items():
        if _in_range(addr, start, end):
            errors.append(f"{where} {shown} includes reserved '{name}' address {addr}")
    return start, end


def _check_overlaps(vlans: list[_Vlan], errors: list[str]) -> None:
    placed = [vlan for vlan in vlans if vlan.net is not None]
    for index, one in enumerate(placed):
        for other in placed[index + 1 :]:
            a, b = one.net, other.net
            if a.version == b.version and a.first <= b.last and b.first <= a.last:
                errors.append(
                    f"ipplan: subnet {a} (site '{one.site}' vlan '{one.name}') "
                    f"overlaps subnet {b} (site '{other.site}' vlan '{other.name}')"
                )


def _check_addresses(vlans: list[_Vlan], static: object, errors: list[str]) -> None:
    """Reserved and static addresses: one name per address, and static hosts must fit the plan."""
    owners: dict[IPAddress, tuple[object, str]] = {}
    reserved_by_name: dict[object, list[IPAddress]] = {}

    def claim(addr: IPAddress, name: object, label: str) -> None:
        if addr not in owners:
            owners[addr] = (name, label)
        elif owners[addr][0] != name:
            errors.append(f"ipplan: address {addr} is assigned to both {owners[addr][1]} and {label}")

    for vlan in vlans:
        for name, addr in vlan.reserved.items():
            reserved_by_name.setdefault(name, []).append(addr)
            claim(addr, name, f"reserved '{name}' (site '{vlan.site}' vlan '{vlan.name}')")

    if static is None:
        return
    if not isinstance(static, Mapping):
        errors.append(f"ipplan: static addresses must be a mapping of name to address, got {_show(static)}")
        return

    placed = [vlan for vlan in vlans if vlan.net is not None]
    for name, raw in static.items():
        addr, reason = _parse_address(raw)
        if addr is None:
            errors.append(f"ipplan: static '{name}' address {reason}")
            continue
        homes = [vlan for vlan in placed if addr in vlan.net]
        if not homes:
            errors.append(f"ipplan: static '{name}' address {addr} is in no subnet of the plan")
        for vlan in homes:
            if addr == vlan.gateway:
                errors.append(f"{vlan.where} static '{name}' address {addr} is the gateway")
            for special, label in _special_addresses(vlan.net):
                if addr == special:
                    errors.append(f"{vlan.where} static '{name}' address {addr} is the {label} of subnet {vlan.net}")
            if vlan.dhcp is not None and _in_range(addr, *vlan.dhcp):
                start, end = vlan.dhcp
                errors.append(f"{vlan.where} dhcp range {start}-{end} includes static '{name}' address {addr}")
        if name in reserved_by_name and addr not in reserved_by_name[name]:
            expected = ", ".join(str(item) for item in reserved_by_name[name])
            errors.append(
                f"ipplan: static '{name}' address {addr} differs from the address reserved for it ({expected})"
            )
        claim(addr, name, f"static '{name}'")


# --- derived facts -------------------------------------------------------------------------------


def _describe(vlan: _Vlan) -> dict:
    net = vlan.net
    broadcast = _broadcast(net)
    start, end = vlan.dhcp if vlan.dhcp is not None else (None, None)
    return {
        "site": vlan.site,
        "vlan": vlan.name,
        "id": vlan.vlan_id,
        "description": vlan.description,
        "version": net.version,
        "subnet": str(net),
        "network": str(net.network),
        "prefixlen": net.prefixlen,
        "netmask": str(net.netmask),
        "broadcast": None if broadcast is None else str(broadcast),
        "gateway": str(vlan.gateway),
        "first_usable": str(_first_usable(net)),
        "last_usable": str(_last_usable(net)),
        "size": _usable_size(net),
        "dhcp_start": None if start is None else str(start),
        "dhcp_end": None if end is None else str(end),
        "dhcp_size": None if start is None else int(end) - int(start) + 1,
        "reserved": {name: str(addr) for name, addr in vlan.reserved.items()},
    }


def _sound_vlans(plan: object, static: object = None) -> list[_Vlan]:
    _require_netaddr()
    errors, vlans = _inspect(plan, static)
    if errors:
        raise AnsibleFilterError(f"ipplan: the IP plan has {len(errors)} problem(s):\n" + "\n".join(errors))
    return vlans


# --- the filters ---------------------------------------------------------------------------------


def ipplan_check(plan: object, static: object = None) -> list[str]:
    """Return every problem in the plan as a message; an empty list means it is sound.

    ``static`` is an optional mapping of name -> address (for example each host's ``ansible_host``);
    those addresses must lie in some subnet of the plan and must not collide with anything in it.
    Malformed input is reported, never raised.
    """
    _require_netaddr()
    return _inspect(plan, static)[0]


def ipplan_validate(plan: object, static: object = None) -> object:
    """Return the plan unchanged when sound; otherwise raise AnsibleFilterError listing all problems."""
    _sound_vlans(plan, static)
    return plan


def ipplan_networks(plan: object) -> list[dict]:
    """Validate the plan and return one dict per VLAN, sorted by site name and VLAN id.

    Keys: site, vlan, id, description, version, subnet, network, prefixlen, netmask, broadcast
    (None for IPv6), gateway, first_usable, last_usable, size (usable hosts), dhcp_start, dhcp_end,
    dhcp_size (the three None without dhcp) and reserved (name -> address).
    """
    vlans = sorted(_sound_vlans(plan), key=lambda vlan: (str(vlan.site), vlan.vlan_id))
    return [_describe(vlan) for vlan in vlans]


def ipplan_vlan(plan: object, site: str, vlan: str) -> dict:
    """Validate the plan and return the dict of VLAN ``vlan`` at site ``site``."""
    networks = ipplan_networks(plan)
    at_site = [item for item in networks if item["site"] == site]
    if not at_site:
        known = ", ".join(sorted({str(item["site"]) for item in networks})) or "none"
        raise AnsibleFilterError(f"ipplan_vlan: no site '{site}' in the plan (sites: {known})")
    for item in at_site:
        if item["vlan"] == vlan:
            return item
    known = ", ".join(str(item["vlan"]) for item in at_site)
    raise AnsibleFilterError(f"ipplan_vlan: site '{site}' has no vlan '{vlan}' (vlans: {known})")


def ipplan_find(address: object, plan: object) -> dict | None:
    """Validate the plan and return the dict of the VLAN whose subnet holds ``address``, or None.

    The address may carry a prefix length (``10.10.10.5/24``); only the address part is used.
    """
    _require_netaddr()
    if isinstance(address, str) and "/" in address:
        net, reason = _parse_network(address)
        addr = None if net is None else net.ip
    else:
        addr, reason = _parse_address(address)
    if addr is None:
        raise AnsibleFilterError(f"ipplan_find: address {reason}")
    for vlan in sorted(_sound_vlans(plan), key=lambda item: (str(item.site), item.vlan_id)):
        if addr in vlan.net:
            return _describe(vlan)
    return None


class FilterModule:
    """Ansible entry point: the ipplan_* filters."""

    def filters(self) -> dict:
        return {
            "ipplan_check": ipplan_check,
            "ipplan_validate": ipplan_validate,
            "ipplan_networks": ipplan_networks,
            "ipplan_vlan": ipplan_vlan,
            "ipplan_find": ipplan_find,
        }
