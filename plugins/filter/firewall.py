"""Filters for the vendor-neutral firewall policy (``firewall_policy``, see ``docs/firewall.md``).

One policy (zones, address and service objects, ordered rules, source NAT) is checked here and
rendered for two platforms: an nftables ruleset for Debian 12 gateways and the payloads of the
``fortinet.fortios`` modules for FortiGates. Every function is pure; all address work is done
with netaddr. A bad policy is never rendered: the renderers raise AnsibleFilterError listing the
problems that ``firewall_policy_check`` reports.

Filters:

``firewall_policy_check(policy, ipplan=None, platform=None)``
    Return a list of problems (strings starting with ``firewall_policy: ``); empty means sound.
    With ``platform='fortios'`` the checks that only FortiOS needs are added (NAT that covers a
    rule only in part cannot be expressed on a FortiOS policy).
``firewall_nftables(policy, ipplan=None, log_group=0)``
    Return the text of an nftables ruleset file that replaces the tables ``inet belediye`` and
    ``ip belediye_nat`` atomically and leaves every other table alone.
``firewall_self_verdict(policy, ipplan=None, source=None, port=22, zone=None)``
    The rule that decides a new TCP connection from ``source`` to the firewall itself on
    ``port`` (arriving in ``zone``, or in any zone when it is not known): a dict with ``rule``
    (None for the default drop) and ``action``. The role uses it so that a policy that would drop
    the control node's SSH is refused before it is written (a lockout).
``firewall_ssh_lockouts(policy, ipplan=None, sources=(), port=22)``
    The addresses among ``sources`` whose new SSH connection to the firewall would not be
    accepted (``firewall_management_sources`` in the role's input checks).
``firewall_fortios(policy, ipplan=None)``
    Return a dict of lists (addresses, addrgrps, services, service_groups, ippools, policies,
    local_in_policies) and ``log_setting``, each item ready to be passed to the matching
    ``fortinet.fortios.fortios_*`` module.

Example::

    - name: The policy is sound
      ansible.builtin.assert:
        that: firewall_policy | firewall_policy_check(ipplan) | length == 0
    - name: The ruleset is written
      ansible.builtin.copy:
        content: "{{ firewall_policy | firewall_nftables(ipplan, 0) }}"
        dest: /etc/nftables.d/belediye.nft
        validate: nft -c -f %s
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPAddress, IPNetwork, IPRange, IPSet
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

PREFIX = "firewall_policy: "
POLICY_KEYS = frozenset({"zones", "addresses", "services", "rules", "nat", "default_action", "log_unmatched"})
ZONE_KEYS = frozenset({"interfaces", "vlans", "comment"})
ADDRESS_KINDS = ("address", "network", "range", "vlan", "members")
ADDRESS_KEYS = frozenset(ADDRESS_KINDS) | {"comment"}
SERVICE_KEYS = frozenset({"protocol", "ports", "members", "comment"})
RULE_KEYS = frozenset(
    {
        "name",
        "from",
        "to",
        "source",
        "destination",
        "service",
        "action",
        "log",
        "comment",
        "web_filter",
        "ips_sensor",
        "log_level",
    }
)
NAT_KEYS = frozenset({"name", "from", "to", "source", "translate", "comment"})
ACTIONS = ("accept", "drop", "reject")
LOG_LEVELS = ("all", "utm", "disable")
PROTOCOLS = ("tcp", "udp", "icmp")
SELF = "self"
ANY = "any"

ZONE_RE = re.compile(r"^[a-z0-9_]{1,15}$")
OBJECT_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
RULE_RE = re.compile(r"^[a-z0-9-]{1,30}$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$")
PROFILE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,35}$")
PORT_RANGE_RE = re.compile(r"^(\d{1,5})-(\d{1,5})$")

# Unmatched traffic is logged at most this often (nftables `limit`), so that a scan cannot flood
# the log server; what the limit holds back is still dropped.
UNMATCHED_LOG_RATE = "10/second burst 20 packets"
# Connections are logged at their first packet: the chains accept established and related packets
# and drop invalid ones before any rule, so every rule of the policy sees `ct state new` only.
TABLE = "belediye"
# FortiOS: the predefined "any" objects, the comment on every object we write, and the policy id
# step (a rule's policy id is its position times the step).
FORTIOS_ANY_ADDRESS = "all"
FORTIOS_ANY_SERVICE = "ALL"
FORTIOS_COMMENT = "belediye-iac"
POLICYID_STEP = 10
NAT_TABLE = "belediye_nat"


def _require_netaddr() -> None:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the firewall filters need the Python library netaddr: {NETADDR_IMPORT_ERROR}")


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _as_list(value: object) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


# --- resolved model ------------------------------------------------------------------------------


@dataclass
class _Ports:
    """A service set: per protocol a list of inclusive port ranges; ``icmp`` is echo-request."""

    tcp: list = field(default_factory=list)
    udp: list = field(default_factory=list)
    icmp: bool = False

    def add(self, other: _Ports) -> None:
        self.tcp = _merge(self.tcp + other.tcp)
        self.udp = _merge(self.udp + other.udp)
        self.icmp = self.icmp or other.icmp

    def covers(self, other: _Ports) -> bool:
        return (
            _ranges_cover(self.tcp, other.tcp) and _ranges_cover(self.udp, other.udp) and (self.icmp or not other.icmp)
        )


@dataclass
class _Rule:
    index: int
    name: str
    sources: list  # object names; [] means any
    destinations: list
    services: list
    zones_from: list
    zones_to: list  # ['self'] for traffic to the firewall itself
    action: str
    data: Mapping


@dataclass
class _Nat:
    index: int
    name: str
    zones_from: list
    zone_to: str
    sources: list
    translate: str


@dataclass
class _Policy:
    zones: dict = field(default_factory=dict)  # name -> list of interfaces
    addresses: dict = field(default_factory=dict)  # name -> IPSet (flattened), only sound ones
    address_kind: dict = field(default_factory=dict)  # name -> kind
    services: dict = field(default_factory=dict)  # name -> _Ports (flattened)
    rules: list = field(default_factory=list)
    nat: list = field(default_factory=list)


def _merge(ranges: list) -> list:
    merged: list = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _ranges_cover(outer: list, inner: list) -> bool:
    return all(any(o_low <= low and high <= o_high for o_low, o_high in outer) for low, high in inner)


# --- checks --------------------------------------------------------------------------------------


def _check_keys(data: object, allowed: frozenset, where: str, errors: list[str]) -> bool:
    if not isinstance(data, Mapping):
        errors.append(f"{PREFIX}{where} must be a mapping, not {_show(data)}")
        return False
    for key in sorted(set(data) - allowed, key=str):
        errors.append(f"{PREFIX}{where}: unknown key {_show(key)} (allowed: {', '.join(sorted(allowed))})")
    return True


def _check_zones(zones: object, errors: list[str]) -> dict:
    result: dict = {}
    if not isinstance(zones, Mapping) or not zones:
        errors.append(f"{PREFIX}zones must be a non-empty mapping of zone name to zone")
        return result
    owner: dict = {}
    for name in sorted(zones, key=str):
        zone = zones[name]
        where = f"zone {_show(name)}"
        if not isinstance(name, str) or not ZONE_RE.match(name) or name == SELF:
            errors.append(f"{PREFIX}{where}: a zone name is 1-15 characters of a-z, 0-9 and _ and not 'self'")
        if not _check_keys(zone, ZONE_KEYS, where, errors):
            continue
        interfaces = zone.get("interfaces")
        if not isinstance(interfaces, list) or not interfaces:
            errors.append(f"{PREFIX}{where}: interfaces must be a non-empty list of interface names")
            interfaces = []
        for ifname in interfaces:
            if not isinstance(ifname, str) or not IFNAME_RE.match(ifname):
                errors.append(f"{PREFIX}{where}: interfaces: {_show(ifname)} is not an interface name")
                continue
            if ifname in owner:
                errors.append(
                    f"{PREFIX}{where}: interfaces: {ifname} is already in zone '{owner[ifname]}'; "
                    "an interface belongs to one zone"
                )
                continue
            owner[ifname] = name
        if "vlans" in zone and not isinstance(zone["vlans"], list):
            errors.append(f"{PREFIX}{where}: vlans must be a list of '<site>/<vlan>' keys of the IP plan")
        result[name] = sorted(i for i in interfaces if isinstance(i, str) and IFNAME_RE.match(i))
    return result


def _vlan_subnet(key: object, ipplan: object, where: str, errors: list[str]):
    if not isinstance(key, str) or key.count("/") != 1:
        errors.append(f"{PREFIX}{where}: {_show(key)} is not a '<site>/<vlan>' key of the IP plan")
        return None
    if not isinstance(ipplan, Mapping):
        errors.append(f"{PREFIX}{where}: VLAN {key} needs the IP plan (variable ipplan), which was not given")
        return None
    site, vlan = key.split("/")
    data = ((ipplan.get("sites") or {}).get(site) or {}) if isinstance(ipplan.get("sites"), Mapping) else {}
    vlans = data.get("vlans") if isinstance(data, Mapping) else None
    entry = vlans.get(vlan) if isinstance(vlans, Mapping) else None
    if not isinstance(entry, Mapping):
        errors.append(f"{PREFIX}{where}: VLAN {key} is not in the IP plan")
        return None
    try:
        net = IPNetwork(str(entry.get("subnet")))
    except (AddrFormatError, ValueError, TypeError):
        errors.append(f"{PREFIX}{where}: VLAN {key} has no usable subnet in the IP plan")
        return None
    return IPSet([net.cidr])


def _ipv4(value: object, what: str, where: str, errors: list[str]):
    """Parse one IPv4 address, network or range; return an IPSet or None (with a message)."""
    text = str(value)
    try:
        if what == "address":
            if "/" in text:
                raise ValueError
            addr = IPAddress(text)
            parsed = IPSet([addr])
            version = addr.version
        elif what == "network":
            net = IPNetwork(text)
            if "/" not in text or net.ip != net.network:
                errors.append(f"{PREFIX}{where}: network {_show(value)} is not a network address with a prefix")
                return None
            parsed = IPSet([net])
            version = net.version
        else:
            match = re.match(r"^([^-\s]+)-([^-\s]+)$", text)
            if not match:
                raise ValueError
            low, high = IPAddress(match.group(1)), IPAddress(match.group(2))
            if low.version != high.version or low > high:
                errors.append(f"{PREFIX}{where}: range {_show(value)} must run from a lower to a higher address")
                return None
            parsed = IPSet(IPRange(low, high))
            version = low.version
    except (AddrFormatError, ValueError, TypeError):
        errors.append(f"{PREFIX}{where}: {what} {_show(value)} is not a valid IPv4 {what}")
        return None
    if version != 4:
        errors.append(f"{PREFIX}{where}: {what} {_show(value)} is IPv6; the policy handles IPv4 only")
        return None
    return parsed


def _named_objects(objects: Mapping, label: str, keys: frozenset, errors: list[str]):
    """Yield (name, object, where) for each address or service object whose keys are known, in
    name order; report a bad name (the object is still checked, so every problem is listed)."""
    for name in sorted(objects, key=str):
        obj = objects[name]
        where = f"{label} {_show(name)}"
        if not isinstance(name, str) or not OBJECT_RE.match(name) or name == ANY:
            errors.append(f"{PREFIX}{where}: an object name is a-z first, then up to 30 of a-z, 0-9 and _, not 'any'")
        if _check_keys(obj, keys, where, errors):
            yield name, obj, where


def _check_addresses(addresses: object, ipplan: object, errors: list[str]) -> tuple[dict, dict]:
    if addresses is None:
        return {}, {}
    if not isinstance(addresses, Mapping):
        errors.append(f"{PREFIX}addresses must be a mapping of object name to object")
        return {}, {}
    kinds: dict = {}
    leaves: dict = {}
    groups: dict = {}
    for name, obj, where in _named_objects(addresses, "address", ADDRESS_KEYS, errors):
        given = [kind for kind in ADDRESS_KINDS if kind in obj]
        if len(given) != 1:
            errors.append(f"{PREFIX}{where}: give exactly one of {', '.join(ADDRESS_KINDS)} (given: {given or 'none'})")
            continue
        kind = given[0]
        kinds[name] = kind
        if kind == "members":
            members = obj["members"]
            if not isinstance(members, list) or not members:
                errors.append(f"{PREFIX}{where}: members must be a non-empty list of address object names")
                continue
            groups[name] = members
        elif kind == "vlan":
            subnet = _vlan_subnet(obj["vlan"], ipplan, f"{where}: vlan", errors)
            if subnet is not None:
                leaves[name] = subnet
        else:
            parsed = _ipv4(obj[kind], kind, where, errors)
            if parsed is not None:
                leaves[name] = parsed
    resolved = dict(leaves)
    cycles: list = []
    for name in sorted(groups):
        _resolve_group(name, groups, kinds, resolved, "address", [], errors, IPSet, cycles)
    return resolved, kinds


def _resolve_group(name, groups, kinds, resolved, label, stack, errors, empty, cycles):
    """Flatten group ``name`` into ``resolved``; report unknown members and cycles once."""
    if name in resolved:
        return resolved[name]
    if name in stack:
        loop = stack[stack.index(name) :]
        if not any(set(loop) == set(seen) for seen in cycles):
            cycles.append(loop)
            cycle = " -> ".join([*loop, name])
            errors.append(f"{PREFIX}{label} {_show(name)}: members form a cycle ({cycle})")
        return None
    if name not in groups:
        return None
    total = empty()
    sound = True
    for member in groups[name]:
        if member not in kinds:
            errors.append(f"{PREFIX}{label} {_show(name)}: members: unknown {label} object {_show(member)}")
            sound = False
            continue
        part = _resolve_group(member, groups, kinds, resolved, label, [*stack, name], errors, empty, cycles)
        if part is None:
            sound = False
            continue
        if label == "address":
            total = total | part
        else:
            total.add(part)
    if sound:
        resolved[name] = total
        return total
    return None


def _check_port(port: object, where: str, errors: list[str]):
    if isinstance(port, bool):
        port = str(port)
    if isinstance(port, int):
        if 1 <= port <= 65535:
            return (port, port)
    elif isinstance(port, str):
        text = port.strip()
        if text.isdigit() and 1 <= int(text) <= 65535:
            return (int(text), int(text))
        match = PORT_RANGE_RE.match(text)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if 1 <= low < high <= 65535:
                return (low, high)
    errors.append(f"{PREFIX}{where}: ports: {_show(port)} is not a port 1-65535 or a 'low-high' range")
    return None


def _check_services(services: object, errors: list[str]) -> dict:
    if services is None:
        return {}
    if not isinstance(services, Mapping):
        errors.append(f"{PREFIX}services must be a mapping of service name to service")
        return {}
    kinds: dict = {}
    leaves: dict = {}
    groups: dict = {}
    for name, svc, where in _named_objects(services, "service", SERVICE_KEYS, errors):
        if "members" in svc:
            kinds[name] = "members"
            if "protocol" in svc or "ports" in svc:
                errors.append(f"{PREFIX}{where}: a group has members only, no protocol or ports")
            if not isinstance(svc["members"], list) or not svc["members"]:
                errors.append(f"{PREFIX}{where}: members must be a non-empty list of service names")
                continue
            groups[name] = svc["members"]
            continue
        kinds[name] = "service"
        protocol = svc.get("protocol")
        if protocol not in PROTOCOLS:
            errors.append(f"{PREFIX}{where}: protocol {_show(protocol)} is not one of {', '.join(PROTOCOLS)}")
            continue
        ports = _Ports()
        if protocol == "icmp":
            if "ports" in svc:
                errors.append(f"{PREFIX}{where}: icmp has no ports")
                continue
            ports.icmp = True
        else:
            given = svc.get("ports")
            if not isinstance(given, list) or not given:
                errors.append(f"{PREFIX}{where}: {protocol} needs ports, a non-empty list")
                continue
            parsed = [_check_port(port, where, errors) for port in given]
            if None in parsed:
                continue
            setattr(ports, protocol, _merge(parsed))
        leaves[name] = ports
    resolved = dict(leaves)
    cycles: list = []
    for name in sorted(groups):
        _resolve_group(name, groups, kinds, resolved, "service", [], errors, _Ports, cycles)
    return resolved


def _zone_list(value: object, zones: dict, where: str, errors: list[str], allow_self: bool) -> list | None:
    names = _as_list(value)
    if not names:
        errors.append(f"{PREFIX}{where} is required: a zone name or a list of zone names")
        return None
    if SELF in names and not allow_self:
        errors.append(f"{PREFIX}{where}: 'self' (the firewall itself) cannot be used here")
        return None
    unknown = [name for name in names if name not in zones and name != SELF]
    for name in unknown:
        errors.append(f"{PREFIX}{where}: unknown zone {_show(name)}")
    if len(set(map(str, names))) != len(names):
        errors.append(f"{PREFIX}{where}: a zone is listed twice")
    return None if unknown else sorted(names)


def _object_list(value: object, known: Mapping, declared: Mapping, label: str, where: str, errors: list[str]):
    """Names of a rule's source/destination/service; [] for any, None when one is unusable."""
    if value is None or value == ANY:
        return []
    names = _as_list(value)
    if ANY in names:
        errors.append(f"{PREFIX}{where}: 'any' stands alone, not in a list")
        return None
    sound = True
    for name in names:
        if name not in declared:
            errors.append(f"{PREFIX}{where}: unknown {label} object {_show(name)}")
            sound = False
        elif name not in known:
            sound = False  # declared but broken: already reported where it is declared
    return sorted(set(names)) if sound else None


def _named_entries(items: list, label: str, keys: frozenset, errors: list[str]):
    """Yield (index, entry, name, where) for each entry of a rule or NAT list whose keys are known;
    report a bad or repeated name (the entry is still checked, so every problem is listed)."""
    seen: dict = {}
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        where = f"{label}[{index}] ({name})" if name else f"{label}[{index}]"
        if not _check_keys(item, keys, where, errors):
            continue
        if not isinstance(name, str) or not RULE_RE.match(name):
            errors.append(f"{PREFIX}{where}: name must be 1-30 characters of a-z, 0-9 and -")
        elif name in seen:
            errors.append(f"{PREFIX}{where}: name '{name}' is already used by {label}[{seen[name]}]")
        else:
            seen[name] = index
        yield index, item, name, where


def _check_rules(rules: object, policy: _Policy, declared: Mapping, errors: list[str]) -> None:
    if not isinstance(rules, list):
        errors.append(f"{PREFIX}rules must be a list of rules")
        return
    for index, rule, name, where in _named_entries(rules, "rules", RULE_KEYS, errors):
        sound = True
        zones_from = _zone_list(rule.get("from"), policy.zones, f"{where}: from", errors, allow_self=False)
        zones_to = _zone_list(rule.get("to"), policy.zones, f"{where}: to", errors, allow_self=True)
        sources = _object_list(
            rule.get("source", ANY), policy.addresses, declared["addresses"], "address", f"{where}: source", errors
        )
        destinations = _object_list(
            rule.get("destination", ANY),
            policy.addresses,
            declared["addresses"],
            "address",
            f"{where}: destination",
            errors,
        )
        services = _object_list(
            rule.get("service", ANY), policy.services, declared["services"], "service", f"{where}: service", errors
        )
        action = rule.get("action")
        if action not in ACTIONS:
            errors.append(f"{PREFIX}{where}: action {_show(action)} is not one of {', '.join(ACTIONS)}")
            sound = False
        if not isinstance(rule.get("log", False), bool):
            errors.append(f"{PREFIX}{where}: log must be true or false")
        log_level = rule.get("log_level")
        if log_level is not None and log_level not in LOG_LEVELS:
            errors.append(f"{PREFIX}{where}: log_level {_show(log_level)} is not one of {', '.join(LOG_LEVELS)}")
        if log_level == "utm" and action != "accept":
            errors.append(f"{PREFIX}{where}: log_level utm logs security profiles, which only accept rules have")
        for key in ("web_filter", "ips_sensor"):
            if key in rule:
                if action != "accept":
                    errors.append(f"{PREFIX}{where}: {key} is for accept rules only (action is {_show(action)})")
                if not isinstance(rule[key], str) or not PROFILE_RE.match(rule[key]):
                    errors.append(f"{PREFIX}{where}: {key} {_show(rule[key])} is not a FortiOS profile name")
        if "comment" in rule and not isinstance(rule["comment"], str):
            errors.append(f"{PREFIX}{where}: comment must be text")
        if None in (zones_from, zones_to, sources, destinations, services) or not sound:
            continue
        policy.rules.append(_Rule(index, name, sources, destinations, services, zones_from, zones_to, action, rule))


def _address_set(names: list, policy: _Policy):
    """The IPSet of a list of object names; None means any."""
    if not names:
        return None
    total = IPSet()
    for name in names:
        total = total | policy.addresses[name]
    return total


def _service_set(names: list, policy: _Policy):
    if not names:
        return None
    total = _Ports()
    for name in names:
        total.add(policy.services[name])
    return total


def _addr_covers(outer, inner) -> bool:
    if outer is None:
        return True
    if inner is None:
        return False
    return inner.issubset(outer)


def _addr_meets(one, other) -> bool:
    if one is None or other is None:
        return True
    return bool(one & other)


def _check_shadowing(policy: _Policy, errors: list[str]) -> None:
    for later_pos, later in enumerate(policy.rules):
        for earlier in policy.rules[:later_pos]:
            svc_outer, svc_inner = _service_set(earlier.services, policy), _service_set(later.services, policy)
            if (
                set(later.zones_from) <= set(earlier.zones_from)
                and set(later.zones_to) <= set(earlier.zones_to)
                and _addr_covers(_address_set(earlier.sources, policy), _address_set(later.sources, policy))
                and _addr_covers(_address_set(earlier.destinations, policy), _address_set(later.destinations, policy))
                and (svc_outer is None or (svc_inner is not None and svc_outer.covers(svc_inner)))
            ):
                errors.append(
                    f"{PREFIX}rule '{later.name}' is shadowed by rule '{earlier.name}' "
                    f"(position {earlier.index + 1}): every connection it matches is matched there first"
                )
                break


def _check_nat(nat: object, policy: _Policy, declared: Mapping, kinds: Mapping, errors: list[str]) -> None:
    if nat is None:
        return
    if not isinstance(nat, list):
        errors.append(f"{PREFIX}nat must be a list of source NAT rules")
        return
    for index, item, name, where in _named_entries(nat, "nat", NAT_KEYS, errors):
        zones_from = _zone_list(item.get("from"), policy.zones, f"{where}: from", errors, allow_self=False)
        zone_to = item.get("to")
        if zone_to == SELF:
            errors.append(
                f"{PREFIX}{where}: to: 'self' cannot be used in nat (NAT is for traffic through the firewall)"
            )
            zone_to = None
        elif not isinstance(zone_to, str):
            errors.append(f"{PREFIX}{where}: to must be one zone name (the egress zone)")
            zone_to = None
        elif zone_to not in policy.zones:
            errors.append(f"{PREFIX}{where}: to: unknown zone {_show(zone_to)}")
            zone_to = None
        sources = _object_list(
            item.get("source", ANY), policy.addresses, declared["addresses"], "address", f"{where}: source", errors
        )
        translate = item.get("translate")
        if translate != "masquerade":
            if translate not in declared["addresses"]:
                errors.append(
                    f"{PREFIX}{where}: translate {_show(translate)} is neither 'masquerade' nor an address object"
                )
                translate = None
            elif kinds.get(translate) not in ("address", "range"):
                errors.append(
                    f"{PREFIX}{where}: translate '{translate}' must be an address object of kind address or range"
                )
                translate = None
            elif translate not in policy.addresses:
                translate = None
        if None in (zones_from, zone_to, sources, translate):
            continue
        policy.nat.append(_Nat(index, name, zones_from, zone_to, sources, translate))
    for later_pos, later in enumerate(policy.nat):
        for earlier in policy.nat[:later_pos]:
            if later.zone_to != earlier.zone_to or not set(later.zones_from) & set(earlier.zones_from):
                continue
            src_later, src_earlier = _address_set(later.sources, policy), _address_set(earlier.sources, policy)
            if not _addr_meets(src_later, src_earlier):
                continue
            if later.translate != earlier.translate:
                errors.append(
                    f"{PREFIX}nat '{later.name}' overlaps nat '{earlier.name}' (position {earlier.index + 1}) "
                    f"with another translation ({later.translate} vs {earlier.translate}): "
                    "the same connection would have two translations"
                )
                break
            if set(later.zones_from) <= set(earlier.zones_from) and _addr_covers(src_earlier, src_later):
                errors.append(
                    f"{PREFIX}nat '{later.name}' duplicates nat '{earlier.name}' (position {earlier.index + 1}): "
                    "same translation for connections it already covers"
                )
                break


def _zones_through(rule: _Rule) -> list:
    """A rule's egress zones without `self`: the part of the rule that goes through the firewall."""
    return [zone for zone in rule.zones_to if zone != SELF]


def _nat_for_rule(rule: _Rule, policy: _Policy) -> tuple[_Nat | None, str | None]:
    """The NAT rule a FortiOS policy for ``rule`` carries; or a problem when NAT covers it only in part."""
    zones_to = _zones_through(rule)
    if rule.action != "accept" or not zones_to:
        return None, None
    sources = _address_set(rule.sources, policy)
    touching = [
        nat
        for nat in policy.nat
        if nat.zone_to in zones_to
        and set(nat.zones_from) & set(rule.zones_from)
        and _addr_meets(_address_set(nat.sources, policy), sources)
    ]
    if not touching:
        return None, None
    nat = touching[0]
    if (
        len(touching) == 1
        and zones_to == [nat.zone_to]
        and set(rule.zones_from) <= set(nat.zones_from)
        and _addr_covers(_address_set(nat.sources, policy), sources)
    ):
        return nat, None
    names = ", ".join(f"'{item.name}'" for item in touching)
    return None, (
        f"{PREFIX}rule '{rule.name}': nat {names} covers only part of its traffic; FortiOS translates per "
        "policy, so split the rule by egress zone and source to match the NAT rules"
    )


def _inspect(policy: object, ipplan: object = None, platform: object = None) -> tuple[list[str], _Policy]:
    _require_netaddr()
    errors: list[str] = []
    result = _Policy()
    if not _check_keys(policy, POLICY_KEYS, "the policy", errors):
        return errors, result
    result.zones = _check_zones(policy.get("zones"), errors)
    for name, zone in sorted((policy.get("zones") or {}).items()) if isinstance(policy.get("zones"), Mapping) else []:
        if isinstance(zone, Mapping) and isinstance(zone.get("vlans"), list):
            for key in zone["vlans"]:
                _vlan_subnet(key, ipplan, f"zone {_show(name)}: vlans", errors)
    addresses = policy.get("addresses")
    services = policy.get("services")
    result.addresses, kinds = _check_addresses(addresses, ipplan, errors)
    result.address_kind = kinds
    result.services = _check_services(services, errors)
    declared = {
        "addresses": addresses if isinstance(addresses, Mapping) else {},
        "services": services if isinstance(services, Mapping) else {},
    }
    _check_rules(policy.get("rules", []), result, declared, errors)
    _check_nat(policy.get("nat"), result, declared, kinds, errors)
    if "default_action" in policy and policy["default_action"] != "drop":
        errors.append(
            f"{PREFIX}default_action {_show(policy['default_action'])}: the only default is drop "
            "(write an accept rule for what should pass)"
        )
    if not isinstance(policy.get("log_unmatched", False), bool):
        errors.append(f"{PREFIX}log_unmatched must be true or false")
    if not errors:
        _check_shadowing(result, errors)
    if not errors and platform == "fortios":
        for rule in result.rules:
            interfaces = {i for zone in rule.zones_from for i in result.zones[zone]}
            if SELF in rule.zones_to and len(interfaces) > POLICYID_STEP:
                errors.append(
                    f"{PREFIX}rule '{rule.name}': FortiOS gets one local-in policy per interface, at most "
                    f"{POLICYID_STEP} per rule; its zones have {len(interfaces)}"
                )
            _nat, problem = _nat_for_rule(rule, result)
            if problem:
                errors.append(problem)
    return errors, result


def firewall_policy_check(policy: object, ipplan: object = None, platform: object = None) -> list[str]:
    """Return every problem of the policy as a message; an empty list means the policy is sound."""
    return _inspect(policy, ipplan, platform)[0]


def _sound(policy: object, ipplan: object, platform: str) -> _Policy:
    errors, result = _inspect(policy, ipplan, platform)
    if errors:
        raise AnsibleFilterError("\n".join(errors))
    return result


# --- nftables ------------------------------------------------------------------------------------


def _nft_set_name(kind: str, name: str) -> str:
    return f"{kind}_{name.replace('-', '_')}"


def _nft_elements(ipset) -> str:
    items = []
    for cidr in ipset.iter_cidrs():
        items.append(str(cidr.ip) if cidr.prefixlen == 32 else str(cidr))
    return ", ".join(items)


def _nft_names(interfaces: list) -> str:
    quoted = [f'"{name}"' for name in interfaces]
    return quoted[0] if len(quoted) == 1 else "{ " + ", ".join(quoted) + " }"


def _nft_ports(ranges: list) -> str:
    items = [str(low) if low == high else f"{low}-{high}" for low, high in ranges]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _nft_service_matches(ports: _Ports | None) -> list[str]:
    """One match per protocol (a rule of nftables matches one transport protocol)."""
    if ports is None:
        return [""]
    matches = []
    if ports.tcp:
        matches.append(f"tcp dport {_nft_ports(ports.tcp)}")
    if ports.udp:
        matches.append(f"udp dport {_nft_ports(ports.udp)}")
    if ports.icmp:
        matches.append("icmp type echo-request")
    return matches


def _nft_address_match(direction: str, names: list, rule: _Rule, sets: dict, policy: _Policy) -> str:
    """`ip saddr @set`: one set per object, or one per rule side when the rule lists several."""
    if not names:
        return ""
    if len(names) == 1:
        set_name = _nft_set_name("obj", names[0])
        sets[set_name] = (policy.addresses[names[0]], f"address object {names[0]}")
    else:
        side = "src" if direction == "saddr" else "dst"
        set_name = _nft_set_name("rule", f"{rule.name}_{side}")
        sets[set_name] = (_address_set(names, policy), f"rule {rule.name} {side}: {', '.join(names)}")
    return f"ip {direction} @{set_name}"


def _nft_rule_lines(rule: _Rule, policy: _Policy, sets: dict, log_group: int, zones_to: list) -> list[str]:
    """The lines of ``rule`` in one chain: input when ``zones_to`` is empty (self), forward otherwise."""
    matches = []
    matches.append(f"iifname {_nft_names(sorted({i for z in rule.zones_from for i in policy.zones[z]}))}")
    if zones_to:
        matches.append(f"oifname {_nft_names(sorted({i for z in zones_to for i in policy.zones[z]}))}")
    matches.append(_nft_address_match("saddr", rule.sources, rule, sets, policy))
    matches.append(_nft_address_match("daddr", rule.destinations, rule, sets, policy))
    verdict = {"accept": "accept", "drop": "drop", "reject": "reject with icmpx type admin-prohibited"}[rule.action]
    log = f'log group {log_group} prefix "fw {rule.name} " ' if rule.data.get("log") else ""
    lines = []
    for service in _nft_service_matches(_service_set(rule.services, policy)):
        parts = [part for part in [*matches, service] if part]
        lines.append(f'{" ".join(parts)} ct state new counter {log}{verdict} comment "{rule.name}"')
    return lines


def _nft_nat_line(nat: _Nat, policy: _Policy) -> str:
    parts = [
        f"iifname {_nft_names(sorted({i for z in nat.zones_from for i in policy.zones[z]}))}",
        f"oifname {_nft_names(policy.zones[nat.zone_to])}",
    ]
    sources = _address_set(nat.sources, policy)
    if sources is not None:
        parts.append(f"ip saddr {{ {_nft_elements(sources)} }}")
    if nat.translate == "masquerade":
        action = "masquerade"
    else:
        target = policy.addresses[nat.translate]
        cidrs = list(target.iter_ipranges())[0]
        low, high = IPAddress(cidrs.first), IPAddress(cidrs.last)
        action = f"snat to {low}" if low == high else f"snat to {low}-{high}"
    return f'{" ".join(parts)} counter {action} comment "{nat.name}"'


def firewall_nftables(policy: object, ipplan: object = None, log_group: object = 0) -> str:
    """Render the policy as an nftables ruleset file (text). Raises AnsibleFilterError when unsound."""
    sound = _sound(policy, ipplan, "nftables")
    try:
        group = int(log_group)
    except (TypeError, ValueError):
        group = -1
    if not 0 <= group <= 65535 or isinstance(log_group, bool):
        raise AnsibleFilterError(f"firewall_nftables: log_group {_show(log_group)} is not an NFLOG group 0-65535")
    sets: dict = {}
    chains: dict = {"input": [], "forward": []}
    for rule in sound.rules:
        # A rule whose `to` lists self and zones has lines in both chains.
        if SELF in rule.zones_to:
            chains["input"].extend(_nft_rule_lines(rule, sound, sets, group, []))
        if _zones_through(rule):
            chains["forward"].extend(_nft_rule_lines(rule, sound, sets, group, _zones_through(rule)))
    out = [
        "#!/usr/sbin/nft -f",
        "# Managed by Ansible (role firewall, filter firewall_nftables): do not edit by hand.",
        "# Replaces only the tables inet belediye and ip belediye_nat, in one transaction:",
        "# each is created empty if missing, deleted, and declared anew.",
        f"table inet {TABLE} {{}}",
        f"delete table inet {TABLE}",
        f"table ip {NAT_TABLE} {{}}",
        f"delete table ip {NAT_TABLE}",
        "",
        f"table inet {TABLE} {{",
    ]
    for set_name in sorted(sets):
        ipset, what = sets[set_name]
        out += [
            f"\tset {set_name} {{",
            f'\t\tcomment "{what}"',
            "\t\ttype ipv4_addr",
            "\t\tflags interval",
            f"\t\telements = {{ {_nft_elements(ipset)} }}",
            "\t}",
            "",
        ]
    unmatched = bool(policy.get("log_unmatched", False))
    for chain in ("input", "forward"):
        out += [
            f"\tchain {chain} {{",
            f"\t\ttype filter hook {chain} priority filter; policy drop;",
            "\t\tct state established,related accept",
            "\t\tct state invalid drop",
        ]
        if chain == "input":
            out.append('\t\tiifname "lo" accept')
        out += [f"\t\t{line}" for line in chains[chain]]
        if unmatched:
            out.append(f'\t\tlimit rate {UNMATCHED_LOG_RATE} log group {group} prefix "fw drop {chain} "')
        out += ["\t}", ""]
    out += [
        "\tchain output {",
        "\t\ttype filter hook output priority filter; policy accept;",
        "\t}",
        "}",
        "",
        f"table ip {NAT_TABLE} {{",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
    ]
    out += [f"\t\t{_nft_nat_line(nat, sound)}" for nat in sound.nat]
    out += ["\t}", "}", ""]
    return "\n".join(out)


# --- FortiOS -------------------------------------------------------------------------------------


def _names(items: list, any_name: str) -> list[dict]:
    return [{"name": name} for name in items] if items else [{"name": any_name}]


def _comment(data: Mapping) -> str:
    text = data.get("comment")
    return f"{FORTIOS_COMMENT}: {text}" if text else FORTIOS_COMMENT


def _fortios_addresses(policy: Mapping, sound: _Policy) -> tuple[list, list]:
    addresses, groups = [], []
    for name in sorted(sound.addresses):
        obj = policy["addresses"][name]
        kind = sound.address_kind[name]
        if kind == "members":
            groups.append({"name": name, "member": [{"name": m} for m in obj["members"]], "comment": _comment(obj)})
            continue
        ipset = sound.addresses[name]
        entry = {"name": name, "comment": _comment(obj)}
        if kind == "range":
            span = list(ipset.iter_ipranges())[0]
            entry.update(type="iprange", start_ip=str(IPAddress(span.first)), end_ip=str(IPAddress(span.last)))
        else:
            cidr = list(ipset.iter_cidrs())[0]
            entry.update(type="ipmask", subnet=f"{cidr.ip} {cidr.netmask}")
        addresses.append(entry)
    return addresses, groups


def _fortios_ports(ranges: list) -> str:
    return " ".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


def _fortios_services(policy: Mapping, sound: _Policy) -> tuple[list, list]:
    services, groups = [], []
    for name in sorted(sound.services):
        svc = policy["services"][name]
        if "members" in svc:
            groups.append({"name": name, "member": [{"name": m} for m in svc["members"]], "comment": _comment(svc)})
            continue
        ports = sound.services[name]
        entry = {"name": name, "comment": _comment(svc)}
        if ports.icmp:
            entry.update(protocol="ICMP", icmptype=8)
        else:
            entry["protocol"] = "TCP/UDP/SCTP"
            if ports.tcp:
                entry["tcp_portrange"] = _fortios_ports(ports.tcp)
            if ports.udp:
                entry["udp_portrange"] = _fortios_ports(ports.udp)
        services.append(entry)
    return services, groups


def firewall_fortios(policy: object, ipplan: object = None) -> dict:
    """Render the policy as payloads of the fortinet.fortios modules. Raises AnsibleFilterError when unsound.

    Policy ids are the rule's position times 10 (the first rule is 10); local-in policies (rules to
    ``self``) take the same base plus the index of the interface (one local-in policy per interface).
    """
    sound = _sound(policy, ipplan, "fortios")
    addresses, addrgrps = _fortios_addresses(policy, sound)
    services, service_groups = _fortios_services(policy, sound)
    ippools = []
    for name in sorted({nat.translate for nat in sound.nat if nat.translate != "masquerade"}):
        span = list(sound.addresses[name].iter_ipranges())[0]
        ippools.append(
            {
                "name": name,
                "type": "overload",
                "startip": str(IPAddress(span.first)),
                "endip": str(IPAddress(span.last)),
                "comments": _comment(policy["addresses"][name]),
            }
        )
    policies, local_in = [], []
    for position, rule in enumerate(sound.rules, start=1):
        data = rule.data
        policyid = position * POLICYID_STEP
        action = "accept" if rule.action == "accept" else "deny"
        logtraffic = data.get("log_level") or ("all" if data.get("log") else "disable")
        srcaddr = _names(rule.sources, FORTIOS_ANY_ADDRESS)
        dstaddr = _names(rule.destinations, FORTIOS_ANY_ADDRESS)
        service = _names(rule.services, FORTIOS_ANY_SERVICE)
        if SELF in rule.zones_to:
            interfaces = sorted({i for z in rule.zones_from for i in sound.zones[z]})
            for offset, ifname in enumerate(interfaces):
                local_in.append(
                    {
                        "policyid": policyid + offset,
                        "intf": ifname,
                        "srcaddr": srcaddr,
                        "dstaddr": dstaddr,
                        "service": service,
                        "action": action,
                        "schedule": "always",
                        "status": "enable",
                        "comments": f"{rule.name}: {_comment(data)}",
                    }
                )
        if not _zones_through(rule):
            continue
        entry = {
            "policyid": policyid,
            "name": rule.name,
            "srcintf": [{"name": i} for i in sorted({i for z in rule.zones_from for i in sound.zones[z]})],
            "dstintf": [{"name": i} for i in sorted({i for z in _zones_through(rule) for i in sound.zones[z]})],
            "srcaddr": srcaddr,
            "dstaddr": dstaddr,
            "service": service,
            "action": action,
            "schedule": "always",
            "status": "enable",
            "logtraffic": logtraffic,
            "comments": _comment(data),
        }
        if rule.action == "reject":
            entry["send_deny_packet"] = "enable"
        if action == "accept":
            entry["logtraffic_start"] = "enable" if data.get("log") else "disable"
            nat, _problem = _nat_for_rule(rule, sound)
            entry["nat"] = "enable" if nat else "disable"
            if nat and nat.translate != "masquerade":
                entry["ippool"] = "enable"
                entry["poolname"] = [{"name": nat.translate}]
            if data.get("web_filter") or data.get("ips_sensor"):
                entry["utm_status"] = "enable"
                if data.get("web_filter"):
                    entry["webfilter_profile"] = data["web_filter"]
                if data.get("ips_sensor"):
                    entry["ips_sensor"] = data["ips_sensor"]
        policies.append(entry)
    return {
        "addresses": addresses,
        "addrgrps": addrgrps,
        "services": services,
        "service_groups": service_groups,
        "ippools": ippools,
        "policies": policies,
        "local_in_policies": local_in,
        "log_setting": {
            "fwpolicy_implicit_log": "enable" if policy.get("log_unmatched", False) else "disable",
            "local_in_deny_unicast": "enable" if policy.get("log_unmatched", False) else "disable",
        },
    }


def firewall_self_verdict(
    policy: object, ipplan: object = None, source: object = None, port: object = 22, zone: object = None
) -> dict:
    """First rule to ``self`` matching tcp/``port`` from ``source`` (and ``zone``), first match wins."""
    _require_netaddr()
    sound = _sound(policy, ipplan, "nftables")
    try:
        address = IPAddress(str(source))
        port = int(port)
    except (AddrFormatError, ValueError, TypeError) as exc:
        raise AnsibleFilterError(f"firewall_self_verdict: bad source {source!r} or port {port!r}: {exc}") from exc
    wanted = _Ports(tcp=[(port, port)])
    for rule in sound.rules:
        if "self" not in rule.zones_to or (zone is not None and zone not in rule.zones_from):
            continue
        sources = _address_set(rule.sources, sound)
        services = _service_set(rule.services, sound)
        if (sources is None or address in sources) and (services is None or services.covers(wanted)):
            return {"rule": rule.name, "action": rule.action}
    return {"rule": None, "action": "drop"}


def firewall_ssh_lockouts(policy: object, ipplan: object = None, sources: object = (), port: object = 22) -> list:
    """The addresses of ``sources`` whose new SSH connection to the firewall itself would not be
    accepted, whichever zone they arrive in; empty when the policy keeps them all."""
    return [
        str(source)
        for source in _as_list(sources)
        if firewall_self_verdict(policy, ipplan, source, port)["action"] != "accept"
    ]


class FilterModule:
    """Ansible entry point: the firewall_* filters."""

    def filters(self) -> dict:
        return {
            "firewall_policy_check": firewall_policy_check,
            "firewall_nftables": firewall_nftables,
            "firewall_fortios": firewall_fortios,
            "firewall_self_verdict": firewall_self_verdict,
            "firewall_ssh_lockouts": firewall_ssh_lockouts,
        }
