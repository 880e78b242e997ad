"""The pure parts of lab/labctl.py: which mirror the lab may reach, and when the image is rebuilt."""

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402

DEB822 = """Types: deb
URIs: http://mirror.example.tr/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.example.tr/debian-security
Suites: bookworm-security
Components: main
"""
ONE_LINE = """# comment
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.tr.debian.org/debian bookworm main
deb http://ftp.tr.debian.org/debian-security bookworm-security main
"""
NOT_DEBIAN = "deb https://packages.cloud.example.com/apt cloud-sdk-bookworm main\n"


@pytest.mark.parametrize(
    ("files", "main", "security", "hosts"),
    [
        (
            {"sources.list.d/debian.sources": DEB822},
            "http://mirror.example.tr/debian",
            "http://security.example.tr/debian-security",
            ["mirror.example.tr", "security.example.tr"],
        ),
        (
            {"sources.list": ONE_LINE, "sources.list.d/cloud.list": NOT_DEBIAN},
            "http://ftp.tr.debian.org/debian",
            "http://ftp.tr.debian.org/debian-security",
            ["ftp.tr.debian.org"],
        ),
        (
            {"sources.list.d/cloud.list": NOT_DEBIAN},
            "http://deb.debian.org/debian",
            "http://deb.debian.org/debian-security",
            ["deb.debian.org"],
        ),
    ],
    ids=["deb822-two-mirrors", "one-line-with-options-and-a-foreign-https-source", "no-debian-source-falls-back"],
)
def test_debian_mirrors_come_from_the_machine_sources(tmp_path, files, main, security, hosts):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert labctl.debian_mirrors(tmp_path) == (main, security, hosts)


def test_squid_allows_only_the_lab_subnet_to_the_debian_mirrors(monkeypatch):
    monkeypatch.setattr(labctl, "debian_mirrors", lambda: ("http://a/debian", "http://b/sec", ["a.tr", "b.tr"]))
    conf = labctl.squid_config()
    assert f"http_port {labctl.GATEWAY}:{labctl.PROXY_PORT}" in conf
    assert "acl mirrors dstdomain a.tr b.tr" in conf
    assert conf.index("http_access allow lab mirrors") < conf.index("http_access deny all")
    assert "http_access allow all" not in conf


def test_recipe_hash_changes_with_the_recipe(tmp_path, monkeypatch):
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "packages.txt").write_text("systemd\n")
    monkeypatch.setattr(labctl, "LAB", tmp_path)
    first = labctl.recipe_hash()
    assert labctl.recipe_hash() == first
    (tmp_path / "image" / "packages.txt").write_text("systemd\nvim\n")
    assert labctl.recipe_hash() != first


def test_lab_network_constants_agree_with_the_lab_inventory():
    main = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/main.yml").read_text())
    plan = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/ipplan.yml").read_text())["ipplan"]
    vlan = plan["sites"]["lab"]["vlans"]["lab"]
    assert main["common_apt_proxy"] == f"http://{labctl.GATEWAY}:{labctl.PROXY_PORT}"
    assert vlan["subnet"] == str(labctl.SUBNET)
    assert vlan["gateway"] == labctl.GATEWAY
    assert vlan["dhcp"]["start"] == str(next(iter(labctl.ipaddress.ip_network(labctl.DYNAMIC_RANGE))))


@pytest.mark.parametrize(
    ("hostvars", "lans"),
    [
        ({}, {}),
        ({"lab_clients_lan": "dhcp"}, {"clients": "dhcp"}),
        (
            {"lab_clients_lan": "10.231.8.1/24", "lab_wan_lan": "10.231.24.1/24"},
            {"clients": "10.231.8.1/24", "wan": "10.231.24.1/24"},
        ),
    ],
)
def test_a_host_joins_the_segments_its_inventory_names(hostvars, lans):
    assert labctl.segment_addresses("fw01", hostvars) == lans


@pytest.mark.parametrize(
    ("hostvars", "message"),
    [
        ({"lab_wan_lan": "dhcp"}, "lab_wan_lan 'dhcp' is not an address with prefix"),
        ({"lab_clients_lan": "yes"}, "lab_clients_lan 'yes' is neither 'dhcp' nor an address with prefix"),
        ({"lab_wan_lan": "10.231.24.1"}, "lab_wan_lan '10.231.24.1' needs its prefix length"),
    ],
)
def test_a_bad_segment_address_stops_labctl_naming_host_and_variable(hostvars, message, capsys):
    with pytest.raises(SystemExit):
        labctl.segment_addresses("fw01", hostvars)
    err = capsys.readouterr().err
    assert "lab host fw01: " in err
    assert message in err


def test_every_segment_has_its_own_bridge_network_and_interface_and_a_vlan_in_the_plan():
    plan = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/ipplan.yml").read_text())["ipplan"]
    subnets = {v["subnet"] for v in plan["sites"]["lab"]["vlans"].values()}
    hosts = labctl.lab_inventory_hosts()
    for seg in labctl.SEGMENTS:
        used = [h["lans"][seg.key] for h in hosts.values() if h["lans"].get(seg.key, "dhcp") != "dhcp"]
        assert used, f"no lab host on segment {seg.key}"
        for cidr in used:
            assert str(labctl.ipaddress.ip_interface(cidr).network) in subnets, (seg.key, cidr)
    for attr in ("network", "bridge", "interface"):
        values = [getattr(s, attr) for s in labctl.SEGMENTS]
        assert len(set(values)) == len(values), attr
    assert labctl.BRIDGE not in {s.bridge for s in labctl.SEGMENTS}


def test_scale_hosts_sit_between_the_fixed_hosts_and_the_molecule_range():
    hosts = labctl.scale_hosts(labctl.SCALE_MAX)
    fixed = {
        str(h["ansible_host"])
        for group in yaml.safe_load((ROOT / "inventories/lab/hosts.yml").read_text())["all"]["children"].values()
        for h in _walk_hosts(group)
    }
    dynamic = labctl.ipaddress.ip_network(labctl.DYNAMIC_RANGE)
    addresses = [labctl.ipaddress.ip_address(h["address"]) for h in hosts.values()]
    assert len(set(addresses)) == labctl.SCALE_MAX
    assert all(a in labctl.SUBNET and a not in dynamic and str(a) not in fixed for a in addresses)
    assert list(hosts)[:2] == ["scale01", "scale02"]
    assert labctl.scale_hosts(0) == {}


def _walk_hosts(group: dict):
    for host in (group or {}).get("hosts", {}).values():
        if host and "ansible_host" in host:
            yield host
    for child in (group or {}).get("children", {}).values():
        yield from _walk_hosts(child)


@pytest.mark.parametrize("count", [0, 3])
def test_scale_inventory_puts_the_hosts_in_servers_with_their_addresses(tmp_path, monkeypatch, count):
    monkeypatch.setattr(labctl, "SCALE_DIR", tmp_path)
    path = labctl.write_scale_inventory(labctl.scale_hosts(count))
    data = yaml.safe_load(path.read_text())
    group = data["all"]["children"]["linux"]["children"]["servers"]["children"]["scale_servers"]
    assert {name: h["ansible_host"] for name, h in (group["hosts"] or {}).items()} == {
        name: h["address"] for name, h in labctl.scale_hosts(count).items()
    }
