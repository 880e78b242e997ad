"""Unit tests for the ipplan filter plugin (plugins/filter/ipplan.py).

Each table row is one behaviour; its id says which. Error rows change one thing in a sound
plan and expect one message that names the place, the field and the bad value.
"""

import copy

import ipplan
import pytest
from ansible.errors import AnsibleFilterError

# A sound plan with two sites. Sites and VLANs are deliberately out of order, so that the
# sorting of ipplan_networks is exercised. Both sites use VLAN id 10, which is allowed.
SOUND_PLAN = {
    "domain": "ornek.bel.tr",
    "sites": {
        "zabita": {
            "description": "Zabıta Müdürlüğü",
            "supernet": ["10.20.0.0/16", "2001:db8:20::/48"],
            "vlans": {
                "ipv6": {
                    "id": 60,
                    "subnet": "2001:db8:20::/64",
                    "dhcp": {"start": "2001:db8:20::100", "end": "2001:db8:20::1ff"},
                    "reserved": {"ntp01": "2001:db8:20::10"},
                },
                "sunucu": {
                    "id": 10,
                    "subnet": "10.20.10.0/24",
                    "dhcp": {"start": "10.20.10.50", "end": "10.20.10.99"},
                },
            },
        },
        "merkez": {
            "description": "Ana hizmet binası",
            "supernet": "10.10.0.0/16",
            "vlans": {
                "kamera": {"id": 30, "subnet": "10.10.30.0/26", "gateway": "10.10.30.62"},
                "sunucu": {
                    "id": 10,
                    "subnet": "10.10.10.0/24",
                    "gateway": "10.10.10.1",
                    "description": "Sunucular",
                    "reserved": {"log01": "10.10.10.11", "dns01": "10.10.10.12"},
                },
                "personel": {
                    "id": 20,
                    "subnet": "10.10.20.0/23",
                    "dhcp": {"start": "10.10.20.100", "end": "10.10.21.254"},
                    "reserved": {"yazici01": "10.10.20.50"},
                },
            },
        },
    },
}

# Addresses from the inventory (ansible_host); log01 is also reserved, with the same address.
SOUND_STATIC = {
    "log01": "10.10.10.11",
    "web01": "10.10.10.20",
    "kamera-zabita-01": "10.20.10.11",
    "ntp01": "2001:db8:20::10",
}

DELETE = object()


def site(name, *rest):
    return ("sites", name, *rest)


def vlan(site_name, vlan_name, *rest):
    return ("sites", site_name, "vlans", vlan_name, *rest)


def plan_with(*changes):
    """A deep copy of SOUND_PLAN with each (path, value) applied; DELETE removes the key."""
    plan = copy.deepcopy(SOUND_PLAN)
    for path, value in changes:
        node = plan
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return plan


# --- ipplan_check: plans that are sound ----------------------------------------------------------

SOUND_ROWS = [
    pytest.param(SOUND_PLAN, SOUND_STATIC, id="multi-site-dual-stack-plan-with-static-addresses"),
    pytest.param(SOUND_PLAN, None, id="multi-site-plan-without-static-addresses"),
    pytest.param(SOUND_PLAN, {"log01": "10.10.10.11"}, id="same-name-reserved-and-static-with-same-address"),
    pytest.param(
        plan_with((vlan("merkez", "kamera", "reserved"), {"log01": "10.10.30.11"})),
        {"log01": "10.10.10.11"},
        id="multihomed-host-reserved-in-two-vlans-static-matches-one",
    ),
    pytest.param(
        plan_with(
            (vlan("merkez", "sunucu", "gateway"), None),
            (vlan("merkez", "sunucu", "reserved"), None),
            (vlan("merkez", "sunucu", "description"), None),
            (vlan("merkez", "personel", "dhcp"), None),
            (site("merkez", "supernet"), None),
            (("domain",), DELETE),
        ),
        None,
        id="optional-fields-left-empty-are-ignored",
    ),
    pytest.param({"sites": {}}, None, id="plan-with-no-sites-yet"),
    pytest.param({"sites": {"yeni": {"vlans": {}}}}, None, id="site-with-empty-vlans-mapping"),
    pytest.param(
        plan_with((vlan("merkez", "kamera", "subnet"), "10.10.30.0/30"), (vlan("merkez", "kamera", "gateway"), None)),
        None,
        id="ipv4-slash-30-is-the-smallest-accepted-subnet",
    ),
    pytest.param(
        {"sites": {"lab": {"vlans": {"v6": {"id": 6, "subnet": "2001:db8:6::/126"}}}}},
        None,
        id="ipv6-slash-126-is-the-smallest-accepted-subnet",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "subnet"), "10.10.20.0/255.255.254.0")),
        None,
        id="subnet-written-with-netmask-is-accepted",
    ),
]


@pytest.mark.parametrize(("plan", "static"), SOUND_ROWS)
def test_sound_plan_has_no_problems(plan, static):
    assert ipplan.ipplan_check(plan, static) == []


# --- ipplan_check: one row per problem -----------------------------------------------------------

PROBLEM_ROWS = [
    # structure
    pytest.param(["merkez"], None, ["the plan must be a mapping", "['merkez']"], id="plan-not-a-mapping"),
    pytest.param(plan_with((("siets",), {})), None, ["unknown key 'siets'"], id="plan-unknown-key"),
    pytest.param(plan_with((("domain",), 42)), None, ["domain must be", "42 (int)"], id="domain-not-a-string"),
    pytest.param(plan_with((("sites",), DELETE)), None, ["'sites' is missing"], id="sites-missing"),
    pytest.param(
        plan_with((("sites",), ["merkez"])), None, ["sites must be a mapping", "['merkez']"], id="sites-not-a-mapping"
    ),
    pytest.param(
        plan_with((site("merkez"), "Ana bina")),
        None,
        ["site 'merkez'", "must be a mapping", "'Ana bina'"],
        id="site-not-a-mapping",
    ),
    pytest.param(
        plan_with((site("merkez", "vlans"), DELETE)), None, ["site 'merkez':", "has no vlans"], id="site-without-vlans"
    ),
    pytest.param(
        plan_with((site("merkez", "vlans"), ["sunucu"])),
        None,
        ["site 'merkez':", "vlans must be a mapping", "['sunucu']"],
        id="site-vlans-not-a-mapping",
    ),
    pytest.param(
        plan_with((site("merkez", "supernett"), "10.10.0.0/16")),
        None,
        ["site 'merkez':", "unknown key 'supernett'"],
        id="site-unknown-key",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu"), 10)),
        None,
        ["site 'merkez' vlan 'sunucu':", "must be a mapping", "10 (int)"],
        id="vlan-not-a-mapping",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "gatway"), "10.10.10.1")),
        None,
        ["site 'merkez' vlan 'sunucu':", "unknown key 'gatway'"],
        id="vlan-misspelt-key-is-not-silently-ignored",
    ),
    # VLAN id
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "id"), DELETE)),
        None,
        ["site 'merkez' vlan 'sunucu':", "id is missing"],
        id="vlan-id-missing",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "id"), "10")),
        None,
        ["site 'merkez' vlan 'sunucu':", "id must be an integer", "'10'"],
        id="vlan-id-quoted-string",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "id"), True)),
        None,
        ["site 'merkez' vlan 'sunucu':", "id must be an integer", "True (bool)"],
        id="vlan-id-boolean",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "id"), 0)),
        None,
        ["site 'merkez' vlan 'sunucu':", "id 0 is outside 1..4094"],
        id="vlan-id-zero",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "id"), 4095)),
        None,
        ["site 'merkez' vlan 'sunucu':", "id 4095 is outside 1..4094"],
        id="vlan-id-4095",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "id"), 10)),
        None,
        ["site 'merkez':", "vlan id 10 is used by both vlan 'sunucu' and vlan 'personel'"],
        id="vlan-id-duplicate-within-site",
    ),
    # subnet and supernet
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "subnet"), DELETE)),
        None,
        ["site 'merkez' vlan 'sunucu':", "subnet is missing"],
        id="subnet-missing",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "subnet"), "10.10.10.0")),
        None,
        ["site 'merkez' vlan 'sunucu':", "subnet '10.10.10.0' has no /prefix length"],
        id="subnet-without-prefix",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "subnet"), "10.10.300.0/24")),
        None,
        ["site 'merkez' vlan 'sunucu':", "subnet '10.10.300.0/24' is not a valid"],
        id="subnet-not-a-network",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "subnet"), 42)),
        None,
        ["site 'merkez' vlan 'sunucu':", "subnet must be a CIDR string", "42 (int)"],
        id="subnet-not-a-string",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "subnet"), "10.10.10.5/24")),
        None,
        ["site 'merkez' vlan 'sunucu':", "subnet 10.10.10.5/24 has host bits set", "10.10.10.0/24"],
        id="subnet-host-bits-set",
    ),
    pytest.param(
        plan_with((vlan("zabita", "ipv6", "subnet"), "2001:db8:20::1/64")),
        None,
        ["site 'zabita' vlan 'ipv6':", "subnet 2001:db8:20::1/64 has host bits set", "2001:db8:20::/64"],
        id="subnet-ipv6-host-bits-set",
    ),
    pytest.param(
        plan_with((vlan("merkez", "kamera", "subnet"), "10.10.30.0/31")),
        None,
        ["site 'merkez' vlan 'kamera':", "subnet 10.10.30.0/31 is too small", "/30"],
        id="subnet-ipv4-slash-31-too-small",
    ),
    pytest.param(
        plan_with((vlan("merkez", "kamera", "subnet"), "10.10.30.62/32")),
        None,
        ["site 'merkez' vlan 'kamera':", "subnet 10.10.30.62/32 is too small", "/30"],
        id="subnet-ipv4-slash-32-too-small",
    ),
    pytest.param(
        plan_with((vlan("zabita", "ipv6", "subnet"), "2001:db8:20::/127")),
        None,
        ["site 'zabita' vlan 'ipv6':", "subnet 2001:db8:20::/127 is too small", "/126"],
        id="subnet-ipv6-slash-127-too-small",
    ),
    pytest.param(
        plan_with((vlan("merkez", "kamera", "subnet"), "10.11.30.0/26"), (vlan("merkez", "kamera", "gateway"), None)),
        None,
        ["site 'merkez' vlan 'kamera':", "subnet 10.11.30.0/26 is outside the site supernet 10.10.0.0/16"],
        id="subnet-outside-supernet",
    ),
    pytest.param(
        plan_with((site("zabita", "supernet"), "10.20.0.0/16")),
        None,
        ["site 'zabita' vlan 'ipv6':", "subnet 2001:db8:20::/64 is outside the site supernet 10.20.0.0/16"],
        id="subnet-ipv6-in-site-with-only-ipv4-supernet",
    ),
    pytest.param(
        plan_with((site("merkez", "supernet"), "10.10.0.0/33")),
        None,
        ["site 'merkez':", "supernet '10.10.0.0/33' is not a valid"],
        id="supernet-not-a-network",
    ),
    pytest.param(
        plan_with((site("merkez", "supernet"), "10.10.5.0/16")),
        None,
        ["site 'merkez':", "supernet 10.10.5.0/16 has host bits set", "10.10.0.0/16"],
        id="supernet-host-bits-set",
    ),
    pytest.param(
        plan_with((vlan("merkez", "kamera", "subnet"), "10.10.10.0/26")),
        None,
        ["overlaps", "10.10.10.0/26 (site 'merkez' vlan 'kamera')", "10.10.10.0/24 (site 'merkez' vlan 'sunucu')"],
        id="subnets-overlap-within-site",
    ),
    pytest.param(
        plan_with((site("hal"), {"vlans": {"misafir": {"id": 50, "subnet": "10.10.21.0/24"}}})),
        None,
        ["overlaps", "10.10.20.0/23 (site 'merkez' vlan 'personel')", "10.10.21.0/24 (site 'hal' vlan 'misafir')"],
        id="subnets-overlap-across-sites",
    ),
    pytest.param(
        plan_with((site("hal"), {"vlans": {"v6": {"id": 6, "subnet": "2001:db8:20::/56"}}})),
        None,
        ["overlaps", "2001:db8:20::/64 (site 'zabita' vlan 'ipv6')", "2001:db8:20::/56 (site 'hal' vlan 'v6')"],
        id="subnets-overlap-ipv6",
    ),
    # gateway
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "gateway"), "10.10.10.256")),
        None,
        ["site 'merkez' vlan 'sunucu':", "gateway '10.10.10.256' is not a valid IP address"],
        id="gateway-not-an-address",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "gateway"), "10.10.11.1")),
        None,
        ["site 'merkez' vlan 'sunucu':", "gateway 10.10.11.1 is outside subnet 10.10.10.0/24"],
        id="gateway-outside-subnet",
    ),
    pytest.param(
        plan_with((vlan("zabita", "ipv6", "gateway"), "10.20.10.1")),
        None,
        ["site 'zabita' vlan 'ipv6':", "gateway 10.20.10.1 is outside subnet 2001:db8:20::/64"],
        id="gateway-ipv4-in-ipv6-subnet",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "gateway"), "10.10.10.0")),
        None,
        ["site 'merkez' vlan 'sunucu':", "gateway 10.10.10.0 is the network address of subnet 10.10.10.0/24"],
        id="gateway-is-network-address",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "gateway"), "10.10.10.255")),
        None,
        ["site 'merkez' vlan 'sunucu':", "gateway 10.10.10.255 is the broadcast address of subnet 10.10.10.0/24"],
        id="gateway-is-broadcast-address",
    ),
    # dhcp (merkez/personel: 10.10.20.0/23, default gateway 10.10.20.1, yazici01 reserved at 10.10.20.50)
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp"), "10.10.20.100-10.10.21.254")),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp must be a mapping", "'10.10.20.100-10.10.21.254'"],
        id="dhcp-not-a-mapping",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "start"), DELETE)),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp start is missing"],
        id="dhcp-start-missing",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "end"), DELETE)),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp end is missing"],
        id="dhcp-end-missing",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "end"), "10.10.21.x")),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp end '10.10.21.x' is not a valid IP address"],
        id="dhcp-end-not-an-address",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "lease"), 3600)),
        None,
        ["site 'merkez' vlan 'personel': dhcp:", "unknown key 'lease'"],
        id="dhcp-unknown-key",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "end"), "10.10.22.10")),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp end 10.10.22.10 is outside subnet 10.10.20.0/23"],
        id="dhcp-end-outside-subnet",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "start"), "10.10.19.200")),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp start 10.10.19.200 is outside subnet 10.10.20.0/23"],
        id="dhcp-start-outside-subnet",
    ),
    pytest.param(
        plan_with(
            (vlan("merkez", "personel", "dhcp", "start"), "10.10.21.200"),
            (vlan("merkez", "personel", "dhcp", "end"), "10.10.20.200"),
        ),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp start 10.10.21.200 is after end 10.10.20.200"],
        id="dhcp-start-after-end",
    ),
    pytest.param(
        plan_with((vlan("zabita", "ipv6", "dhcp", "end"), "10.20.10.99")),
        None,
        ["site 'zabita' vlan 'ipv6':", "dhcp start 2001:db8:20::100 and end 10.20.10.99", "different IP versions"],
        id="dhcp-start-and-end-of-different-ip-versions",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "start"), "10.10.20.1")),
        None,
        ["site 'merkez' vlan 'personel':", "dhcp range 10.10.20.1-10.10.21.254 includes the gateway 10.10.20.1"],
        id="dhcp-range-includes-default-gateway",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "start"), "10.10.20.0")),
        None,
        [
            "site 'merkez' vlan 'personel':",
            "dhcp range 10.10.20.0-10.10.21.254 includes the network address 10.10.20.0",
        ],
        id="dhcp-range-includes-network-address",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "end"), "10.10.21.255")),
        None,
        ["site 'merkez' vlan 'personel':", "includes the broadcast address 10.10.21.255"],
        id="dhcp-range-includes-broadcast-address",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "reserved", "yazici01"), "10.10.20.150")),
        None,
        [
            "site 'merkez' vlan 'personel':",
            "dhcp range 10.10.20.100-10.10.21.254",
            "reserved 'yazici01'",
            "10.10.20.150",
        ],
        id="dhcp-range-includes-reserved-address",
    ),
    pytest.param(
        SOUND_PLAN,
        {"pc-ozel-01": "10.10.21.7"},
        ["site 'merkez' vlan 'personel':", "dhcp range 10.10.20.100-10.10.21.254", "static 'pc-ozel-01'", "10.10.21.7"],
        id="dhcp-range-includes-static-address",
    ),
    # reserved (merkez/sunucu: 10.10.10.0/24, gateway 10.10.10.1, log01 .11, dns01 .12)
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "reserved"), ["10.10.10.11"])),
        None,
        ["site 'merkez' vlan 'sunucu':", "reserved must be a mapping", "['10.10.10.11']"],
        id="reserved-not-a-mapping",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "reserved", "dns01"), "dns01.ornek.bel.tr")),
        None,
        ["site 'merkez' vlan 'sunucu':", "reserved 'dns01' address 'dns01.ornek.bel.tr' is not a valid IP address"],
        id="reserved-not-an-address",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "reserved", "dns01"), "10.10.10.12/24")),
        None,
        ["site 'merkez' vlan 'sunucu':", "reserved 'dns01' address '10.10.10.12/24' is not a valid IP address"],
        id="reserved-address-with-prefix-length",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "reserved", "dns01"), "10.10.11.12")),
        None,
        ["site 'merkez' vlan 'sunucu':", "reserved 'dns01' address 10.10.11.12 is outside subnet 10.10.10.0/24"],
        id="reserved-outside-subnet",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "reserved", "dns01"), "10.10.10.1")),
        None,
        ["site 'merkez' vlan 'sunucu':", "reserved 'dns01' address 10.10.10.1 is the gateway"],
        id="reserved-is-gateway",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "reserved", "dns01"), "10.10.10.255")),
        None,
        ["site 'merkez' vlan 'sunucu':", "reserved 'dns01' address 10.10.10.255 is the broadcast address"],
        id="reserved-is-broadcast-address",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "reserved", "dns01"), "10.10.10.11")),
        None,
        ["address 10.10.10.11 is assigned to both reserved 'log01'", "reserved 'dns01'", "vlan 'sunucu'"],
        id="reserved-one-address-under-two-names",
    ),
    # static addresses from the inventory
    pytest.param(
        SOUND_PLAN,
        ["10.10.10.20"],
        ["static addresses must be a mapping", "['10.10.10.20']"],
        id="static-not-a-mapping",
    ),
    pytest.param(
        SOUND_PLAN,
        {"web01": "web01.ornek.bel.tr"},
        ["static 'web01' address 'web01.ornek.bel.tr' is not a valid IP address"],
        id="static-not-an-address",
    ),
    pytest.param(
        SOUND_PLAN,
        {"eski-sunucu": "192.168.1.10"},
        ["static 'eski-sunucu' address 192.168.1.10 is in no subnet of the plan"],
        id="static-in-no-subnet",
    ),
    pytest.param(
        SOUND_PLAN,
        {"web01": "10.10.10.1"},
        ["site 'merkez' vlan 'sunucu':", "static 'web01' address 10.10.10.1 is the gateway"],
        id="static-is-gateway",
    ),
    pytest.param(
        SOUND_PLAN,
        {"pc-zabita-01": "10.20.10.1"},
        ["site 'zabita' vlan 'sunucu':", "static 'pc-zabita-01' address 10.20.10.1 is the gateway"],
        id="static-is-default-gateway",
    ),
    pytest.param(
        SOUND_PLAN,
        {"web01": "10.10.10.0"},
        ["site 'merkez' vlan 'sunucu':", "static 'web01' address 10.10.10.0 is the network address"],
        id="static-is-network-address",
    ),
    pytest.param(
        SOUND_PLAN,
        {"kamera-merkez-01": "10.10.30.63"},
        ["site 'merkez' vlan 'kamera':", "static 'kamera-merkez-01' address 10.10.30.63 is the broadcast address"],
        id="static-is-broadcast-address",
    ),
    pytest.param(
        SOUND_PLAN,
        {"web01": "10.10.10.20", "web02": "10.10.10.20"},
        ["address 10.10.10.20 is assigned to both static 'web01' and static 'web02'"],
        id="static-one-address-under-two-names",
    ),
    pytest.param(
        SOUND_PLAN,
        {"web01": "10.10.10.11"},
        ["address 10.10.10.11 is assigned to both reserved 'log01' (site 'merkez' vlan 'sunucu') and static 'web01'"],
        id="static-takes-address-reserved-for-another-name",
    ),
    pytest.param(
        SOUND_PLAN,
        {"log01": "10.10.10.13"},
        ["static 'log01' address 10.10.10.13 differs from the address reserved for it (10.10.10.11)"],
        id="static-differs-from-its-own-reservation",
    ),
]


@pytest.mark.parametrize(("plan", "static", "fragments"), PROBLEM_ROWS)
def test_problem_is_reported_with_place_and_value(plan, static, fragments):
    problems = ipplan.ipplan_check(plan, static)
    matching = [message for message in problems if all(fragment in message for fragment in fragments)]
    assert matching, f"no message contains all of {fragments}; got {problems}"
    assert all(message.startswith("ipplan: ") for message in problems)


# One mistake gives one message: the whole output is compared, so follow-on noise would fail these rows.
EXACT_ROWS = [
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "gateway"), "10.10.11.1")),
        ["ipplan: site 'merkez' vlan 'sunucu': gateway 10.10.11.1 is outside subnet 10.10.10.0/24"],
        id="gateway-outside-subnet-wording",
    ),
    pytest.param(
        plan_with((vlan("merkez", "sunucu", "subnet"), "10.10.10.5/24")),
        ["ipplan: site 'merkez' vlan 'sunucu': subnet 10.10.10.5/24 has host bits set (did you mean 10.10.10.0/24?)"],
        id="broken-subnet-is-not-also-blamed-on-gateway-and-reserved",
    ),
    pytest.param(
        plan_with((vlan("merkez", "personel", "dhcp", "start"), "10.10.19.200")),
        ["ipplan: site 'merkez' vlan 'personel': dhcp start 10.10.19.200 is outside subnet 10.10.20.0/23"],
        id="stray-dhcp-range-is-not-also-blamed-for-what-it-covers",
    ),
]


@pytest.mark.parametrize(("plan", "expected"), EXACT_ROWS)
def test_one_mistake_gives_one_exact_message(plan, expected):
    assert ipplan.ipplan_check(plan) == expected


MALFORMED_ROWS = [
    pytest.param(None, None, id="plan-none"),
    pytest.param("ipplan", None, id="plan-string"),
    pytest.param({"sites": None}, None, id="sites-none"),
    pytest.param({"sites": {"a": None}}, None, id="site-none"),
    pytest.param({"sites": {"a": {"vlans": {"v": None}}}}, None, id="vlan-none"),
    pytest.param(
        {"sites": {"a": {"supernet": [1, None], "vlans": {"v": {"id": [], "subnet": {}, "gateway": 3}}}}},
        None,
        id="fields-of-wrong-types",
    ),
    pytest.param(
        {"sites": {"a": {"vlans": {"v": {"id": 1, "subnet": "10.0.0.0/24", "dhcp": [], "reserved": "x"}}}}},
        None,
        id="dhcp-and-reserved-of-wrong-types",
    ),
    pytest.param(
        {
            "sites": {
                1: {
                    "vlans": {
                        2: {
                            "id": 1.5,
                            "subnet": "10.0.0.0/24",
                            "dhcp": {"start": None, "end": 5},
                            "reserved": {None: [1]},
                        }
                    }
                }
            }
        },
        None,
        id="non-string-keys-and-values",
    ),
    pytest.param(SOUND_PLAN, {"x": None, None: 5, "y": ["10.10.10.5"]}, id="static-values-of-wrong-types"),
]


@pytest.mark.parametrize(("plan", "static"), MALFORMED_ROWS)
def test_malformed_input_is_reported_not_raised(plan, static):
    problems = ipplan.ipplan_check(plan, static)
    assert problems
    assert all(isinstance(message, str) for message in problems)


# --- ipplan_validate -----------------------------------------------------------------------------


def test_validate_returns_sound_plan_unchanged():
    assert ipplan.ipplan_validate(SOUND_PLAN, SOUND_STATIC) is SOUND_PLAN


def test_validate_lists_every_problem_one_per_line():
    plan = plan_with(
        (vlan("merkez", "sunucu", "gateway"), "10.10.11.1"),
        (vlan("merkez", "kamera", "id"), 4095),
    )
    with pytest.raises(AnsibleFilterError) as caught:
        ipplan.ipplan_validate(plan, {"eski": "192.168.1.10"})
    lines = str(caught.value).splitlines()
    assert lines == [
        "ipplan: the IP plan has 3 problem(s):",
        "ipplan: site 'merkez' vlan 'kamera': id 4095 is outside 1..4094",
        "ipplan: site 'merkez' vlan 'sunucu': gateway 10.10.11.1 is outside subnet 10.10.10.0/24",
        "ipplan: static 'eski' address 192.168.1.10 is in no subnet of the plan",
    ]


# --- ipplan_networks -----------------------------------------------------------------------------

# Expectations worked out by hand from SOUND_PLAN.
NETWORK_ROWS = [
    pytest.param(
        {
            "site": "merkez",
            "vlan": "sunucu",
            "id": 10,
            "description": "Sunucular",
            "version": 4,
            "subnet": "10.10.10.0/24",
            "network": "10.10.10.0",
            "prefixlen": 24,
            "netmask": "255.255.255.0",
            "broadcast": "10.10.10.255",
            "gateway": "10.10.10.1",
            "first_usable": "10.10.10.1",
            "last_usable": "10.10.10.254",
            "size": 254,
            "dhcp_start": None,
            "dhcp_end": None,
            "dhcp_size": None,
            "reserved": {"log01": "10.10.10.11", "dns01": "10.10.10.12"},
        },
        id="slash-24-explicit-gateway-no-dhcp",
    ),
    pytest.param(
        {
            "site": "merkez",
            "vlan": "personel",
            "id": 20,
            "description": "",
            "version": 4,
            "subnet": "10.10.20.0/23",
            "network": "10.10.20.0",
            "prefixlen": 23,
            "netmask": "255.255.254.0",
            "broadcast": "10.10.21.255",
            "gateway": "10.10.20.1",
            "first_usable": "10.10.20.1",
            "last_usable": "10.10.21.254",
            "size": 510,
            "dhcp_start": "10.10.20.100",
            "dhcp_end": "10.10.21.254",
            "dhcp_size": 411,  # 156 in 10.10.20.100-255 plus 255 in 10.10.21.0-254
            "reserved": {"yazici01": "10.10.20.50"},
        },
        id="slash-23-default-gateway-dhcp-across-octet",
    ),
    pytest.param(
        {
            "site": "merkez",
            "vlan": "kamera",
            "id": 30,
            "description": "",
            "version": 4,
            "subnet": "10.10.30.0/26",
            "network": "10.10.30.0",
            "prefixlen": 26,
            "netmask": "255.255.255.192",
            "broadcast": "10.10.30.63",
            "gateway": "10.10.30.62",
            "first_usable": "10.10.30.1",
            "last_usable": "10.10.30.62",
            "size": 62,
            "dhcp_start": None,
            "dhcp_end": None,
            "dhcp_size": None,
            "reserved": {},
        },
        id="slash-26-gateway-at-top",
    ),
    pytest.param(
        {
            "site": "zabita",
            "vlan": "sunucu",
            "id": 10,
            "description": "",
            "version": 4,
            "subnet": "10.20.10.0/24",
            "network": "10.20.10.0",
            "prefixlen": 24,
            "netmask": "255.255.255.0",
            "broadcast": "10.20.10.255",
            "gateway": "10.20.10.1",
            "first_usable": "10.20.10.1",
            "last_usable": "10.20.10.254",
            "size": 254,
            "dhcp_start": "10.20.10.50",
            "dhcp_end": "10.20.10.99",
            "dhcp_size": 50,
            "reserved": {},
        },
        id="second-site-same-vlan-id-default-gateway",
    ),
    pytest.param(
        {
            "site": "zabita",
            "vlan": "ipv6",
            "id": 60,
            "description": "",
            "version": 6,
            "subnet": "2001:db8:20::/64",
            "network": "2001:db8:20::",
            "prefixlen": 64,
            "netmask": "ffff:ffff:ffff:ffff::",
            "broadcast": None,
            "gateway": "2001:db8:20::1",
            "first_usable": "2001:db8:20::1",
            "last_usable": "2001:db8:20:0:ffff:ffff:ffff:ffff",
            "size": 2**64 - 1,
            "dhcp_start": "2001:db8:20::100",
            "dhcp_end": "2001:db8:20::1ff",
            "dhcp_size": 256,
            "reserved": {"ntp01": "2001:db8:20::10"},
        },
        id="ipv6-slash-64-no-broadcast",
    ),
]


@pytest.mark.parametrize("expected", NETWORK_ROWS)
def test_networks_derive_facts(expected):
    networks = ipplan.ipplan_networks(SOUND_PLAN)
    found = [item for item in networks if (item["site"], item["vlan"]) == (expected["site"], expected["vlan"])]
    assert found == [expected]


def test_networks_are_sorted_by_site_then_vlan_id():
    order = [(item["site"], item["id"]) for item in ipplan.ipplan_networks(SOUND_PLAN)]
    assert order == [("merkez", 10), ("merkez", 20), ("merkez", 30), ("zabita", 10), ("zabita", 60)]


def test_networks_refuse_unsound_plan():
    with pytest.raises(AnsibleFilterError, match="gateway 10.10.11.1 is outside subnet 10.10.10.0/24"):
        ipplan.ipplan_networks(plan_with((vlan("merkez", "sunucu", "gateway"), "10.10.11.1")))


def test_networks_of_smallest_ipv4_subnet():
    plan = {"sites": {"lab": {"vlans": {"p2p": {"id": 2, "subnet": "192.0.2.4/30"}}}}}
    (item,) = ipplan.ipplan_networks(plan)
    assert (item["gateway"], item["first_usable"], item["last_usable"], item["broadcast"], item["size"]) == (
        "192.0.2.5",
        "192.0.2.5",
        "192.0.2.6",
        "192.0.2.7",
        2,
    )


# --- ipplan_vlan ---------------------------------------------------------------------------------


def test_vlan_returns_one_network():
    item = ipplan.ipplan_vlan(SOUND_PLAN, "merkez", "kamera")
    assert (item["subnet"], item["gateway"], item["id"]) == ("10.10.30.0/26", "10.10.30.62", 30)


VLAN_MISSING_ROWS = [
    pytest.param("hal", "sunucu", ["no site 'hal'", "merkez, zabita"], id="unknown-site-names-known-sites"),
    pytest.param(
        "merkez", "misafir", ["site 'merkez' has no vlan 'misafir'", "sunucu, personel, kamera"], id="unknown-vlan"
    ),
]


@pytest.mark.parametrize(("site_name", "vlan_name", "fragments"), VLAN_MISSING_ROWS)
def test_vlan_missing_raises(site_name, vlan_name, fragments):
    with pytest.raises(AnsibleFilterError) as caught:
        ipplan.ipplan_vlan(SOUND_PLAN, site_name, vlan_name)
    for fragment in fragments:
        assert fragment in str(caught.value)


# --- ipplan_find ---------------------------------------------------------------------------------

FIND_ROWS = [
    pytest.param("10.10.10.77", ("merkez", "sunucu"), id="hit-plain-address"),
    pytest.param("10.10.21.5/23", ("merkez", "personel"), id="hit-address-with-prefix"),
    pytest.param("10.10.30.63", ("merkez", "kamera"), id="hit-broadcast-address-still-in-subnet"),
    pytest.param("10.20.10.1", ("zabita", "sunucu"), id="hit-gateway-at-second-site"),
    pytest.param("2001:db8:20::abcd", ("zabita", "ipv6"), id="hit-ipv6"),
    pytest.param("10.10.30.64", None, id="miss-just-past-subnet"),
    pytest.param("10.10.40.1", None, id="miss-inside-supernet-but-no-vlan"),
    pytest.param("192.168.1.1", None, id="miss-outside-plan"),
    pytest.param("2001:db8:21::1", None, id="miss-ipv6"),
]


@pytest.mark.parametrize(("address", "expected"), FIND_ROWS)
def test_find(address, expected):
    found = ipplan.ipplan_find(address, SOUND_PLAN)
    assert (found if found is None else (found["site"], found["vlan"])) == expected


@pytest.mark.parametrize("address", ["kamera01", "10.10.10.300", 42], ids=["hostname", "bad-octet", "integer"])
def test_find_refuses_bad_address(address):
    with pytest.raises(AnsibleFilterError, match="ipplan_find: address"):
        ipplan.ipplan_find(address, SOUND_PLAN)


# --- plugin entry point --------------------------------------------------------------------------


def test_filter_module_exports_every_filter():
    assert sorted(ipplan.FilterModule().filters()) == [
        "ipplan_check",
        "ipplan_find",
        "ipplan_networks",
        "ipplan_validate",
        "ipplan_vlan",
    ]
