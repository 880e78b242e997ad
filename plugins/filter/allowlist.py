"""Allow-lists of networks that must never be blocked (fail2ban's ignoreip, the firewall's blocklist
wrapper): an input check backed by netaddr, shared by the roles fail2ban and firewall.

``allowlist_problems(value, variable, host='')``
    Problems of a list of IPv4/IPv6 networks in CIDR form (a bare address is one host): each entry
    must parse, carry no host bits (10.10.0.0/16, not 10.10.3.1/16), and be no wider than /8 (IPv4)
    or /16 (IPv6), since an allow-list that wide would exempt much of the internet from blocking.
    Each message names the host, the variable, the entry and the problem; an empty list means sound.
``allowlist_cidrs(value)``
    The entries in canonical CIDR form (``10.231.0.12`` -> ``10.231.0.12/32``), in the given order
    without repeats. Call it on a list that passed ``allowlist_problems``.

Example::

    - name: The allow-list is a list of networks
      ansible.builtin.assert:
        that: problems | length == 0
        fail_msg: "{{ problems | join('; ') }}"
      vars:
        problems: "{{ fail2ban_allowlist | allowlist_problems('fail2ban_allowlist', inventory_hostname) }}"
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPNetwork
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

WIDEST = {4: 8, 6: 16}


def _require_netaddr() -> None:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"allowlist filters need the Python package netaddr: {NETADDR_IMPORT_ERROR}")


def _parse(entry: object) -> tuple[IPNetwork | None, str | None]:
    if not isinstance(entry, str) or not entry.strip() or entry != entry.strip():
        return None, "is not a network in CIDR form"
    if entry.count("/") > 1 or not all(c in "0123456789abcdefABCDEF:./" for c in entry):
        return None, "is not a network in CIDR form"
    try:
        net = IPNetwork(entry)
    except (AddrFormatError, ValueError, TypeError):
        return None, "is not a network in CIDR form"
    if net.version == 4 and entry.split("/")[0].count(".") != 3:
        return None, "is not a network in CIDR form (an IPv4 address has four parts)"
    return net, None


def allowlist_problems(value: object, variable: str, host: str = "") -> list[str]:
    """Every problem of an allow-list; an empty list when it is sound."""
    _require_netaddr()
    who = f"{host}: {variable}" if host else variable
    if not isinstance(value, list):
        return [f"{who} must be a list of networks in CIDR form, not {value!r}"]
    problems = []
    for index, entry in enumerate(value):
        net, error = _parse(entry)
        if error:
            problems.append(f"{who}[{index}] ({entry!r}) {error}")
            continue
        if net.ip != net.network:
            problems.append(f"{who}[{index}] ({entry}) has host bits set: the network is {net.cidr}")
        elif net.prefixlen < WIDEST[net.version]:
            problems.append(
                f"{who}[{index}] ({entry}) is wider than /{WIDEST[net.version]}:"
                " it would exempt too much of the internet"
            )
    return problems


def allowlist_cidrs(value: object) -> list[str]:
    """The entries in canonical CIDR form, in order, without repeats."""
    _require_netaddr()
    if not isinstance(value, list):
        raise AnsibleFilterError(f"allowlist_cidrs: expected a list of networks, got {value!r}")
    result: list[str] = []
    for entry in value:
        net, error = _parse(entry)
        if error:
            raise AnsibleFilterError(f"allowlist_cidrs: {entry!r} {error}")
        text = str(net.cidr)
        if text not in result:
            result.append(text)
    return result


class FilterModule:
    def filters(self):
        return {"allowlist_problems": allowlist_problems, "allowlist_cidrs": allowlist_cidrs}
