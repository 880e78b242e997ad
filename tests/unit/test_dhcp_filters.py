"""roles/dhcp/filter_plugins/dhcp_kea.py: the dhcp role's input checks and Kea configuration.

Error rows change one thing in sound inputs and expect a message that names the variable and
the bad value; configuration rows check what Kea is given. The plan is read through the ipplan
filters, as the role reads it.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import ipplan
import pytest
import yaml
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "dhcp" / "filter_plugins"))

import dhcp_kea  # noqa: E402  (the role's own filter directory, put on the path above)

PLAN = {
    "domain": "ornek.bel.tr",
    "sites": {
        "merkez": {
            "supernet": ["10.10.0.0/16", "2001:db8::/48"],
            "vlans": {
                "sunucu": {"id": 10, "subnet": "10.10.10.0/24", "gateway": "10.10.10.1"},
                "kullanici": {
                    "id": 20,
                    "subnet": "10.10.20.0/24",
                    "gateway": "10.10.20.1",
                    "dhcp": {"start": "10.10.20.100", "end": "10.10.20.250"},
                    "reserved": {"yzc-bim-01": "10.10.20.21"},
                },
                "misafir": {
                    "id": 48,
                    "subnet": "10.10.48.0/22",
                    "gateway": "10.10.48.1",
                    "dhcp": {"start": "10.10.48.10", "end": "10.10.51.250"},
                },
                "kamera": {
                    "id": 60,
                    "subnet": "10.10.60.0/26",
                    "gateway": "10.10.60.1",
                    "dhcp": {"start": "10.10.60.10", "end": "10.10.60.50"},
                },
                "v6": {"id": 66, "subnet": "2001:db8::/64", "dhcp": {"start": "2001:db8::10", "end": "2001:db8::ff"}},
            },
        },
    },
}

INPUTS = {
    "dhcp_served_vlans": [
        {"site": "merkez", "vlan": "kullanici", "interface": "eth1"},
        {"site": "merkez", "vlan": "misafir"},
    ],
    "dhcp_relay_interfaces": ["eth0"],
    "dhcp_socket_type": "auto",
    "dhcp_dns_servers": ["10.10.10.53"],
    "dhcp_ntp_servers": ["10.10.99.2", "10.10.99.3"],
    "dhcp_valid_lifetime": 28800,
    "dhcp_decline_probation_period": 86400,
    "dhcp_lfc_interval": 3600,
    "dhcp_authoritative": True,
    "dhcp_reservations": [
        {"mac": "52:54:00:AB:CD:01", "ip": "10.10.20.30", "hostname": "imza-pc-01", "talep": "2026/0612"},
        {"mac": "52:54:00:ab:cd:02", "ip": "10.10.20.21", "hostname": "yzc-bim-01", "talep": "2026/0613"},
    ],
    "dhcp_talep_pattern": "^[0-9]{4}/[0-9]{1,6}$",
    "dhcp_ha_peers": [],
    "dhcp_ha_mode": "hot-standby",
    "dhcp_ha_this_server": "dhcp01",
    "dhcp_lease_log_enabled": True,
    "dhcp_log_severity": "INFO",
}
SYSTEM = {
    "hooks_dir": "/usr/lib/x86_64-linux-gnu/kea/hooks",
    "lease_file": "/var/lib/kea/kea-leases4.csv",
    "control_socket": "/run/kea/kea4-ctrl-socket",
    "lease_log_script": "/usr/local/lib/belediye/kea-lease-log",
}
PEERS = [
    {"name": "dhcp01", "url": "http://10.10.10.12:8000/", "role": "primary"},
    {"name": "dhcp02", "url": "http://10.10.10.13:8000/", "role": "standby", "auto_failover": False},
]


def the_plan(plan=PLAN) -> dict:
    return {"domain": plan.get("domain", ""), "vlans": ipplan.ipplan_networks(plan)}


def inputs(**changes) -> dict:
    out = copy.deepcopy(INPUTS)
    out.update(copy.deepcopy(changes))
    return out


def served(*entries) -> list:
    return [{"site": "merkez", **entry} for entry in entries]


def reservation(**changes) -> list:
    return [{"mac": "52:54:00:ab:cd:09", "ip": "10.10.20.40", "hostname": "pc-09", "talep": "2026/0700", **changes}]


def test_the_sound_inputs_have_no_problems():
    assert dhcp_kea.dhcp_problems(INPUTS, the_plan(), "dhcp01") == []


PROBLEMS = [
    pytest.param(inputs(dhcp_served_vlans=[]), "dhcp_served_vlans must list at least one VLAN", id="nothing-served"),
    pytest.param(
        inputs(dhcp_served_vlans=[{"site": "zabita", "vlan": "kullanici"}]),
        "ipplan has no site 'zabita' (sites: merkez)",
        id="unknown-site",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kulanici", "interface": "eth1"})),
        "ipplan site 'merkez' has no vlan 'kulanici' (vlans: sunucu, kullanici, misafir, kamera, v6)",
        id="misspelt-vlan",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "intreface": "eth1"})),
        "has an unknown key 'intreface'",
        id="misspelt-key",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici"}, {"vlan": "kullanici"})),
        "dhcp_served_vlans[1] (merkez/kullanici) is already served by dhcp_served_vlans[0]",
        id="vlan-served-twice",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "v6", "interface": "eth2"})),
        "subnet 2001:db8::/64 is IPv6; this role serves DHCPv4 only",
        id="ipv6-vlan",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "sunucu", "interface": "eth2"})),
        "the VLAN has no dhcp range in ipplan and no pool_start/pool_end",
        id="vlan-without-pool",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "interface": "eth 1"})),
        "interface 'eth 1' is not a network interface name",
        id="bad-interface-name",
    ),
    pytest.param(
        inputs(
            dhcp_served_vlans=served(
                {"vlan": "kullanici", "interface": "eth1"}, {"vlan": "misafir", "interface": "eth1"}
            )
        ),
        "interface eth1 already serves dhcp_served_vlans[0] (merkez/kullanici)",
        id="two-vlans-on-one-interface",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "pool_start": "10.10.20.1"})),
        "pool 10.10.20.1-10.10.20.250 includes the gateway (10.10.20.1)",
        id="pool-over-the-gateway",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "pool_start": "10.10.20.20"})),
        "pool 10.10.20.20-10.10.20.250 includes ipplan reserved 'yzc-bim-01' (10.10.20.21)",
        id="pool-over-a-planned-address",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "pool_end": "10.10.21.10"})),
        "pool_end 10.10.21.10 is outside subnet 10.10.20.0/24",
        id="pool-outside-subnet",
    ),
    pytest.param(
        inputs(
            dhcp_served_vlans=served({"vlan": "kullanici", "pool_start": "10.10.20.200", "pool_end": "10.10.20.150"})
        ),
        "pool start 10.10.20.200 is after pool end 10.10.20.150",
        id="pool-backwards",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "routers": ["10.10.21.1"]})),
        "router 10.10.21.1 is outside subnet 10.10.20.0/24",
        id="router-outside-subnet",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "routers": ["10.10.20.255"]})),
        "router 10.10.20.255 is the broadcast address of subnet 10.10.20.0/24",
        id="router-is-broadcast",
    ),
    pytest.param(
        inputs(dhcp_dns_servers=["10.10.10.53", "dns1.ornek.bel.tr"]),
        "dhcp_dns_servers has 'dns1.ornek.bel.tr', which is not an IPv4 address",
        id="dns-server-by-name",
    ),
    pytest.param(
        inputs(dhcp_ntp_servers="10.10.99.2"),
        "dhcp_ntp_servers must be a list of IPv4 addresses, got '10.10.99.2'",
        id="ntp-servers-not-a-list",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "domain_name": "ornek bel tr"})),
        "domain_name 'ornek bel tr' is not a DNS name",
        id="bad-domain-name",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "valid_lifetime": 5})),
        "valid_lifetime must be a whole number of seconds from 10 to 2592000, got 5 (int)",
        id="vlan-lifetime-too-short",
    ),
    pytest.param(
        inputs(dhcp_valid_lifetime="8h"),
        "dhcp_valid_lifetime must be a whole number of seconds from 10 to 2592000, got '8h'",
        id="lifetime-not-a-number",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kamera", "interface": "eth3"})),
        "subnet 10.10.60.0/26 is longer than /24, so it has no default id; set subnet_id",
        id="long-prefix-needs-an-id",
    ),
    pytest.param(
        inputs(
            dhcp_served_vlans=served(
                {"vlan": "kullanici", "interface": "eth1"}, {"vlan": "misafir", "subnet_id": 10010020}
            )
        ),
        "subnet id 10010020 is also the id of dhcp_served_vlans[0] (merkez/kullanici)",
        id="subnet-id-clash",
    ),
    pytest.param(
        inputs(
            dhcp_served_vlans=served({"vlan": "kullanici", "option_data": [{"name": "routers", "data": "10.10.20.2"}]})
        ),
        "sets option routers, which the role sets from routers",
        id="option-data-cannot-override-a-managed-option",
    ),
    pytest.param(
        inputs(dhcp_served_vlans=served({"vlan": "kullanici", "option_data": [{"code": 66}]})),
        "option_data[0] needs data, the option's value as text",
        id="option-data-without-data",
    ),
    pytest.param(
        inputs(dhcp_relay_interfaces=[]),
        "dhcp_served_vlans merkez/misafir have no interface, so their requests come through relay agents",
        id="relayed-vlan-needs-a-relay-interface",
    ),
    pytest.param(inputs(dhcp_socket_type="packet"), "dhcp_socket_type must be one of auto, raw, udp", id="socket-type"),
    pytest.param(inputs(dhcp_log_severity="info"), "dhcp_log_severity must be one of FATAL", id="severity-case"),
    pytest.param(
        inputs(dhcp_reservations=reservation(mac="52-54-00-ab-cd-09")),
        "mac '52-54-00-ab-cd-09' is not a MAC address such as 52:54:00:12:34:56",
        id="reservation-mac-with-dashes",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation(ip="10.10.21.40")),
        "ip 10.10.21.40 is in none of the served VLANs",
        id="reservation-outside-served-vlans",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation(ip="10.10.20.1")),
        "ip 10.10.20.1 is the gateway of merkez/kullanici",
        id="reservation-on-the-gateway",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation(ip="10.10.20.0")),
        "ip 10.10.20.0 is the network address of subnet 10.10.20.0/24",
        id="reservation-on-the-network-address",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation(ip="10.10.20.21")),
        "ip 10.10.20.21 is reserved in ipplan for 'yzc-bim-01'",
        id="reservation-on-an-address-planned-for-another-name",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation() + reservation(mac="52:54:00:ab:cd:10", hostname="pc-10")),
        "dhcp_reservations[1] (pc-10): ip 10.10.20.40 is already reserved by dhcp_reservations[0]",
        id="two-reservations-one-address",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation() + reservation(ip="10.10.20.41", mac="52:54:00:AB:CD:09")),
        "mac 52:54:00:ab:cd:09 already has a reservation in merkez/kullanici",
        id="one-mac-two-reservations",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation(hostname="pc_09")),
        "hostname 'pc_09' must be one DNS label",
        id="reservation-hostname",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation(talep="")),
        "talep '' must name the written request, matching ^[0-9]{4}/[0-9]{1,6}$",
        id="reservation-without-request",
    ),
    pytest.param(
        inputs(dhcp_reservations=reservation(comment="x")), "has an unknown key 'comment'", id="reservation-key"
    ),
    pytest.param(
        inputs(dhcp_talep_pattern="^[0-9"), "dhcp_talep_pattern '^[0-9' is not a regular expression", id="bad-pattern"
    ),
    pytest.param(
        inputs(dhcp_ha_peers=[PEERS[0], {**PEERS[1], "role": "primary"}]),
        "mode hot-standby needs exactly one peer with role standby, got 0",
        id="ha-pair-without-standby",
    ),
    pytest.param(
        inputs(dhcp_ha_peers=PEERS, dhcp_ha_mode="load-balancing"),
        "role 'standby' is not one of primary, secondary, backup (mode load-balancing)",
        id="ha-role-of-another-mode",
    ),
    pytest.param(
        inputs(dhcp_ha_peers=[PEERS[0], {**PEERS[1], "url": "10.10.10.13:8000"}]),
        "url '10.10.10.13:8000' must look like http://10.10.10.12:8000/",
        id="ha-url",
    ),
    pytest.param(
        inputs(dhcp_ha_peers=PEERS, dhcp_ha_this_server="dhcp03"),
        "dhcp_ha_this_server 'dhcp03' is not the name of a peer in dhcp_ha_peers (dhcp01, dhcp02)",
        id="ha-this-server-not-a-peer",
    ),
    pytest.param(
        inputs(dhcp_ha_peers=[PEERS[0], {**PEERS[1], "auto_failover": "yes"}]),
        "auto_failover must be true or false, got 'yes'",
        id="ha-auto-failover-not-a-bool",
    ),
]


@pytest.mark.parametrize(("given", "expected"), PROBLEMS)
def test_a_bad_input_is_named_with_the_host_and_the_variable(given, expected):
    problems = dhcp_kea.dhcp_problems(given, the_plan(), "dhcp01")
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("dhcp01: ") for problem in problems)


@pytest.mark.parametrize(
    ("subnet", "expected"),
    [
        pytest.param("10.231.8.0/24", 10231008, id="lab-clients"),
        pytest.param("10.10.48.0/22", 10010048, id="a-/22-by-its-network-address"),
        pytest.param("192.168.1.0/24", 192168001, id="largest-octets-fit-kea"),
        pytest.param("1.0.0.0/8", 1000000, id="short-prefix"),
    ],
)
def test_default_subnet_id_reads_back_as_the_network(subnet, expected):
    assert dhcp_kea.dhcp_subnet_id(subnet) == expected


@pytest.mark.parametrize("subnet", ["10.10.60.0/26", "2001:db8::/64", "kamera"])
def test_no_default_subnet_id_without_a_unique_one(subnet):
    with pytest.raises(AnsibleFilterError):
        dhcp_kea.dhcp_subnet_id(subnet)


# --- the configuration ---------------------------------------------------------------------------


def config(**changes) -> dict:
    return dhcp_kea.dhcp_kea_config(inputs(**changes), the_plan(), SYSTEM)["Dhcp4"]


def test_directly_attached_vlan_is_served_on_its_interface_with_the_plans_values():
    subnet = next(s for s in config()["subnet4"] if s["subnet"] == "10.10.20.0/24")
    assert subnet["id"] == 10010020
    assert subnet["interface"] == "eth1"
    assert subnet["pools"] == [{"pool": "10.10.20.100 - 10.10.20.250"}]
    assert subnet["option-data"] == [
        {"name": "routers", "data": "10.10.20.1"},
        {"name": "domain-name-servers", "data": "10.10.10.53"},
        {"name": "ntp-servers", "data": "10.10.99.2, 10.10.99.3"},
        {"name": "domain-name", "data": "ornek.bel.tr"},
    ]
    assert subnet["user-context"] == {"site": "merkez", "vlan": "kullanici", "vlan-id": 20}
    assert "valid-lifetime" not in subnet


def test_reservations_are_placed_in_their_subnet_with_their_request():
    subnet = next(s for s in config()["subnet4"] if s["subnet"] == "10.10.20.0/24")
    assert subnet["reservations"] == [
        {
            "hw-address": "52:54:00:ab:cd:02",
            "ip-address": "10.10.20.21",
            "hostname": "yzc-bim-01",
            "user-context": {"talep": "2026/0613"},
        },
        {
            "hw-address": "52:54:00:ab:cd:01",
            "ip-address": "10.10.20.30",
            "hostname": "imza-pc-01",
            "user-context": {"talep": "2026/0612"},
        },
    ]


def test_relayed_vlan_has_no_interface_and_is_selected_by_giaddr():
    subnet = next(s for s in config()["subnet4"] if s["subnet"] == "10.10.48.0/22")
    assert "interface" not in subnet
    assert "relay" not in subnet
    assert subnet["id"] == 10010048


def test_vlan_overrides_replace_the_plans_and_the_roles_values():
    got = config(
        dhcp_served_vlans=served(
            {
                "vlan": "kullanici",
                "interface": "eth1",
                "pool_start": "10.10.20.150",
                "pool_end": "10.10.20.199",
                "routers": ["10.10.20.2"],
                "domain_name": "",
                "dns_servers": [],
                "valid_lifetime": 3600,
                "relay_addresses": ["10.255.0.1"],
                "subnet_id": 7,
                "option_data": [{"name": "tftp-server-name", "data": "10.10.90.10", "always_send": True}],
            }
        ),
        dhcp_reservations=[],
    )
    (subnet,) = got["subnet4"]
    assert subnet["id"] == 7
    assert subnet["pools"] == [{"pool": "10.10.20.150 - 10.10.20.199"}]
    assert subnet["valid-lifetime"] == 3600
    assert subnet["relay"] == {"ip-addresses": ["10.255.0.1"]}
    assert subnet["option-data"] == [
        {"name": "routers", "data": "10.10.20.2"},
        {"name": "ntp-servers", "data": "10.10.99.2, 10.10.99.3"},
        {"name": "tftp-server-name", "data": "10.10.90.10", "always-send": True},
    ]


@pytest.mark.parametrize(
    ("changes", "interfaces", "socket_type"),
    [
        pytest.param({}, ["eth1", "eth0"], "raw", id="a-direct-vlan-needs-raw-sockets"),
        pytest.param(
            {"dhcp_served_vlans": served({"vlan": "misafir"}), "dhcp_reservations": []},
            ["eth0"],
            "udp",
            id="relays-only-use-udp-sockets",
        ),
        pytest.param({"dhcp_socket_type": "udp"}, ["eth1", "eth0"], "udp", id="an-explicit-type-wins"),
    ],
)
def test_interfaces_and_socket_type(changes, interfaces, socket_type):
    got = config(**changes)["interfaces-config"]
    assert got["interfaces"] == interfaces
    assert got["dhcp-socket-type"] == socket_type


def test_leases_persist_in_a_memfile_and_kea_logs_to_syslog():
    got = config()
    assert got["lease-database"] == {
        "type": "memfile",
        "persist": True,
        "name": "/var/lib/kea/kea-leases4.csv",
        "lfc-interval": 3600,
    }
    assert got["loggers"] == [
        {"name": "kea-dhcp4", "output_options": [{"output": "syslog"}], "severity": "INFO", "debuglevel": 0}
    ]
    assert got["valid-lifetime"] == 28800
    assert got["calculate-tee-times"] is True


def test_lease_log_hook_runs_the_script_without_waiting():
    assert config()["hooks-libraries"] == [
        {
            "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_run_script.so",
            "parameters": {"name": "/usr/local/lib/belediye/kea-lease-log", "sync": False},
        }
    ]
    assert config(dhcp_lease_log_enabled=False)["hooks-libraries"] == []


def test_ha_pair_loads_lease_commands_and_ha_with_its_own_listener():
    got = config(dhcp_ha_peers=PEERS)
    libraries = [hook["library"].rsplit("/", 1)[1] for hook in got["hooks-libraries"]]
    assert libraries == ["libdhcp_lease_cmds.so", "libdhcp_ha.so", "libdhcp_run_script.so"]
    (relationship,) = got["hooks-libraries"][1]["parameters"]["high-availability"]
    assert relationship["this-server-name"] == "dhcp01"
    assert relationship["mode"] == "hot-standby"
    assert relationship["multi-threading"]["http-dedicated-listener"] is True
    assert relationship["peers"] == [
        {"name": "dhcp01", "url": "http://10.10.10.12:8000/", "role": "primary", "auto-failover": True},
        {"name": "dhcp02", "url": "http://10.10.10.13:8000/", "role": "standby", "auto-failover": False},
    ]
    assert got["multi-threading"] == {"enable-multi-threading": True}
    assert config()["multi-threading"] == {"enable-multi-threading": False}


def test_both_peers_get_the_same_subnets():
    first = config(dhcp_ha_peers=PEERS, dhcp_ha_this_server="dhcp01")
    second = config(dhcp_ha_peers=PEERS, dhcp_ha_this_server="dhcp02")
    assert first["subnet4"] == second["subnet4"]


def test_bad_inputs_never_become_a_configuration():
    with pytest.raises(AnsibleFilterError, match="dhcp_dns_servers has 'dns1'"):
        config(dhcp_dns_servers=["dns1"])


def test_the_production_plan_can_be_served_by_the_central_pair_through_relays():
    plan_file = ROOT / "inventories" / "production" / "group_vars" / "all" / "ipplan.yml"
    plan = yaml.safe_load(plan_file.read_text())["ipplan"]
    vlans = [v for v in ipplan.ipplan_networks(plan) if v["dhcp_start"] and v["version"] == 4]
    given = inputs(
        dhcp_served_vlans=[{"site": v["site"], "vlan": v["vlan"]} for v in vlans],
        dhcp_reservations=[],
        dhcp_ha_peers=PEERS,
    )
    assert dhcp_kea.dhcp_problems(given, the_plan(plan)) == []
    got = dhcp_kea.dhcp_kea_config(given, the_plan(plan), SYSTEM)["Dhcp4"]
    ids = [subnet["id"] for subnet in got["subnet4"]]
    assert len(ids) == len(set(ids)) == len(vlans)
    assert got["interfaces-config"] == {
        "interfaces": ["eth0"],
        "dhcp-socket-type": "udp",
        "service-sockets-require-all": False,
        "service-sockets-max-retries": 12,
        "service-sockets-retry-wait-time": 5000,
    }


def test_numbers_given_as_text_on_the_command_line_are_numbers():
    got = config(dhcp_valid_lifetime="3600", dhcp_lfc_interval="0")
    assert got["valid-lifetime"] == 3600
    assert got["lease-database"]["lfc-interval"] == 0
