"""The lab itself: real systemd hosts, isolated on their own bridge, with apt only through the proxy."""

import pytest

# A container artefact, not a fault of any role: lab hosts see the machine's cgroup v1 hierarchy
# without its release agent, so systemd never learns that a stopping user manager's cgroup is
# empty. After a logout, user@<uid>.service waits out its stop timeout, logs "Processes still
# around after final SIGKILL" and fails, 2 minutes later, whether or not any process is left. Such
# a failure is set aside here (and named); any other failed unit fails the test.
CGROUP_V1_USER_MANAGER = "Processes still around after final SIGKILL"


def lab_artefact(host, unit: str) -> bool:
    if not (unit.startswith("user@") and unit.endswith(".service")):
        return False
    return CGROUP_V1_USER_MANAGER in host.run(f"journalctl -u {unit} --no-pager -o cat").stdout


def test_every_lab_host_boots_systemd_to_running(lab_hosts):
    states = {name: h.run("systemctl is-system-running").stdout.strip() for name, h in lab_hosts.items()}
    failed_units = {
        name: [line.split()[0] for line in h.run("systemctl --failed --no-legend --plain").stdout.splitlines() if line]
        for name, h in lab_hosts.items()
        if states[name] != "running"
    }
    set_aside = {name: [u for u in units if lab_artefact(lab_hosts[name], u)] for name, units in failed_units.items()}
    for name, units in failed_units.items():
        if states[name] == "degraded" and units and set(units) == set(set_aside[name]):
            states[name] = "running"
            print(f"{name}: degraded only by the cgroup v1 user manager artefact: {', '.join(units)}")
    # A degraded host names its failed units and their last words, so the failure can be read from CI.
    failed = {
        name: lab_hosts[name]
        .run("systemctl --failed --no-legend --plain; journalctl -p warning -n 15 --no-pager -o short")
        .stdout
        for name in lab_hosts
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
