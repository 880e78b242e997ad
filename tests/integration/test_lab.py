"""The lab itself: real systemd hosts, isolated on their own bridge, with apt only through the proxy."""

import pytest


def test_every_lab_host_boots_systemd_to_running(lab_hosts):
    states = {name: h.run("systemctl is-system-running").stdout.strip() for name, h in lab_hosts.items()}
    # A degraded host names its failed units and their last words, so the failure can be read from CI.
    failed = {
        name: h.run("systemctl --failed --no-legend --plain; journalctl -p warning -n 15 --no-pager -o short").stdout
        for name, h in lab_hosts.items()
        if states[name] != "running"
    }
    assert states == dict.fromkeys(lab_hosts, "running"), failed


def test_lab_hosts_have_no_route_out_of_the_lab(lab_hosts):
    for name, h in lab_hosts.items():
        routes = h.check_output("ip -4 route show")
        assert "default" not in routes, f"{name} has a default route: {routes}"
        assert "10.231.0.0/24" in routes


def test_lab_hosts_cannot_resolve_outside_names(lab_hosts):
    # The hosts run with --dns 127.0.0.1: an outside name must not resolve (nothing is contacted).
    for name, h in lab_hosts.items():
        assert h.run("getent hosts deb.debian.org").rc != 0, f"{name} resolved an outside name"


def test_lab_hosts_know_each_other_by_name(lab_hosts, inventory):
    addresses = {n: inventory["_meta"]["hostvars"][n]["ansible_host"] for n in lab_hosts}
    for name, h in lab_hosts.items():
        for peer, addr in addresses.items():
            if peer == name:  # a host's own name may map to 127.0.1.1 (Debian's convention)
                continue
            assert h.check_output(f"getent hosts {peer}").split()[0] == addr, f"{name} cannot resolve {peer}"


@pytest.mark.parametrize("desktop", ["pardus01", "pardus02"])
def test_pardus_desktops_identify_as_pardus_23(lab_hosts, desktop):
    release = lab_hosts[desktop].check_output(". /etc/os-release && echo $ID $VERSION_ID $VERSION_CODENAME")
    assert release.split()[0] == "pardus"
    assert release.split()[1].startswith("23")
    assert release.split()[2] == "yirmiuc"


def test_apt_works_through_the_lab_proxy(lab_hosts):
    h = lab_hosts["app01"]
    res = h.run("apt-get update -q -o Acquire::Retries=1")
    assert res.rc == 0, res.stderr
    assert "10.231.0.1:3142" in h.check_output("apt-config dump Acquire::http::Proxy")
