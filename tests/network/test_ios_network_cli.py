"""cisco.ios modules run by real ansible-playbook through ansible.netcommon.network_cli (paramiko) against
the fake IOS switch on loopback: facts, commands, check-mode plans computed from the fake's
running-config, a real apply that changes it, and a second check that finds nothing left to do. roles/switch itself is
tested against the same fake by molecule/switch (check on the fresh switch, converge, idempotence).

The fixture switch is tests/network/fixtures/access-switch.cfg; each expected command list below is
short enough to check by eye against that file and the task's data next to it."""

import pytest
from ios_fixtures import ROOT, run_playbook, start_switch, switch, task_results, write_inventory  # noqa: F401

HOST = "sw-test-01"
# Each test drives a real network_cli session against the fake IOS: 15 to 65 s each.
pytestmark = pytest.mark.slow(seconds=30)

BANNER = "Yetkili personel disinda erisim yasaktir."  # the fixture's banner motd


def play(tasks):
    return [{"name": "fake IOS", "hosts": "ios_switches", "gather_facts": False, "tasks": tasks}]


# The desired state of the access switch, as resource-module tasks. In the fixture: VLAN 10 YONETIM and
# 20 PERSONEL exist, 30 does not; Gi1/0/3 is an access port of VLAN 20; Gi1/0/4 is shut down; Gi1/0/5
# has no description; there is no ntp server; the domain name is already belediye.local.
DESIRED = [
    {
        "name": "vlans",
        "cisco.ios.ios_vlans": {
            "config": [{"vlan_id": 10, "name": "YONETIM"}, {"vlan_id": 30, "name": "KAMERA"}],
            "state": "merged",
        },
    },
    {
        "name": "l2_interfaces",
        "cisco.ios.ios_l2_interfaces": {
            "config": [
                {"name": "GigabitEthernet1/0/2", "mode": "access", "access": {"vlan": 20}},
                {"name": "GigabitEthernet1/0/3", "mode": "access", "access": {"vlan": 10}},
            ],
            "state": "merged",
        },
    },
    {
        "name": "interfaces",
        "cisco.ios.ios_interfaces": {
            "config": [
                {"name": "GigabitEthernet1/0/2", "description": "personel-pc", "enabled": True},
                {"name": "GigabitEthernet1/0/4", "enabled": True},
                {"name": "GigabitEthernet1/0/5", "description": "kamera-01"},
            ],
            "state": "merged",
        },
    },
    {
        "name": "banner",
        "cisco.ios.ios_banner": {"banner": "motd", "text": "Belediye Bilgi Islem\nIzinsiz giris yasaktir."},
    },
    {
        "name": "config",
        "cisco.ios.ios_config": {"lines": ["ip domain name belediye.local", "ntp server 10.10.0.1"]},
    },
]
# What each task must plan against the fixture.
PLAN = {
    "vlans": ["vlan 30", "name KAMERA"],
    "l2_interfaces": ["interface GigabitEthernet1/0/3", "switchport access vlan 10"],
    "interfaces": [
        "interface GigabitEthernet1/0/4",
        "no shutdown",
        "interface GigabitEthernet1/0/5",
        "description kamera-01",
    ],
    "banner": ["banner motd @\nBelediye Bilgi Islem\nIzinsiz giris yasaktir.\n@"],
    "config": ["ntp server 10.10.0.1"],
}


def config_lines(history):
    """The lines sessions sent in configuration mode."""
    return [line for _, prompt, line in history if "(config" in prompt]


def test_facts_and_commands_over_network_cli(tmp_path, switch):  # noqa: F811
    inventory = write_inventory(tmp_path, [switch])
    tasks = [
        {
            "name": "facts",
            "cisco.ios.ios_facts": {
                "gather_subset": ["min"],
                "gather_network_resources": ["vlans", "interfaces", "l2_interfaces"],
            },
        },
        {"name": "command", "cisco.ios.ios_command": {"commands": ["show version", "show vlan brief"]}},
    ]
    proc, data = run_playbook(tmp_path, inventory, play(tasks))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    results = task_results(data, HOST)
    facts = results["facts"]["ansible_facts"]
    device = switch.device
    assert (facts["ansible_net_hostname"], facts["ansible_net_model"], facts["ansible_net_version"]) == (
        device.hostname,
        device.model,
        device.version,
    )
    assert facts["ansible_net_serialnum"] == device.serial
    resources = facts["ansible_network_resources"]
    assert {v["vlan_id"]: v["name"] for v in resources["vlans"]} == {
        vid: name for vid, (name, _, _) in device.vlans().items()
    }
    assert {v["vlan_id"]: v["state"] for v in resources["vlans"]}[99] == "suspend"  # fixture: state suspend
    l2 = {i["name"]: i for i in resources["l2_interfaces"]}
    assert l2["GigabitEthernet1/0/1"]["mode"] == "trunk"
    assert l2["GigabitEthernet1/0/1"]["trunk"]["allowed_vlans"] == ["10", "20"]
    assert l2["GigabitEthernet1/0/2"]["access"] == {"vlan": 20}
    enabled = {i["name"]: i["enabled"] for i in resources["interfaces"]}
    assert enabled["GigabitEthernet1/0/4"] is False  # fixture: shutdown
    assert enabled["GigabitEthernet1/0/5"] is True
    version, vlans = results["command"]["stdout"]
    assert f"{device.hostname} uptime is" in version
    assert "20   PERSONEL                         active    Gi1/0/2, Gi1/0/3" in vlans.splitlines()
    # network_cli went through the terminal set-up and enable; nothing was configured.
    sent = [line for _, _, line in device.history]
    assert sent[:3] == ["enable", "show privilege", "terminal length 0"]
    assert "configure terminal" not in sent


def test_check_mode_plans_what_the_data_implies_and_changes_nothing(tmp_path, switch):  # noqa: F811
    before = switch.running()
    inventory = write_inventory(tmp_path, [switch])
    proc, data = run_playbook(tmp_path, inventory, play(DESIRED), "--check")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    results = task_results(data, HOST)
    for name, commands in PLAN.items():
        result = results[name]
        assert result["changed"] is True, (name, result)
        planned = result.get("commands") or result.get("updates")
        assert planned == commands, name
    assert switch.running() == before
    assert config_lines(switch.device.history) == []
    assert "configure terminal" not in [line for _, _, line in switch.device.history]


@pytest.mark.parametrize(
    ("task", "args"),
    [
        pytest.param(
            "cisco.ios.ios_vlans",
            {"config": [{"vlan_id": 10, "name": "YONETIM"}, {"vlan_id": 20, "name": "PERSONEL"}], "state": "merged"},
            id="vlans-present",
        ),
        pytest.param(
            "cisco.ios.ios_l2_interfaces",
            {"config": [{"name": "GigabitEthernet1/0/1", "mode": "trunk", "trunk": {"allowed_vlans": ["10", "20"]}}]},
            id="trunk-as-configured",
        ),
        pytest.param(
            "cisco.ios.ios_interfaces",
            {"config": [{"name": "GigabitEthernet1/0/4", "enabled": False}]},
            id="shut-port-stays-shut",
        ),
        pytest.param("cisco.ios.ios_banner", {"banner": "motd", "text": BANNER}, id="banner-as-configured"),
        pytest.param("cisco.ios.ios_config", {"lines": ["ip default-gateway 10.10.0.1"]}, id="config-line-present"),
    ],
)
def test_a_device_already_in_the_desired_state_plans_no_change(tmp_path, switch, task, args):  # noqa: F811
    inventory = write_inventory(tmp_path, [switch])
    proc, data = run_playbook(tmp_path, inventory, play([{"name": "task", task: args}]), "--check")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    result = task_results(data, HOST)["task"]
    assert result["changed"] is False, result
    assert not result.get("commands")
    assert not result.get("updates")


def test_apply_changes_the_device_and_a_second_check_finds_nothing_to_do(tmp_path, switch):  # noqa: F811
    inventory = write_inventory(tmp_path, [switch])
    save = {"name": "save", "cisco.ios.ios_config": {"save_when": "modified"}}
    proc, data = run_playbook(tmp_path, inventory, play([*DESIRED, save]))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    results = task_results(data, HOST)
    assert all(results[name]["changed"] for name in PLAN)
    # The command lines the device received in configuration mode are the plan (a banner's text lines
    # are typed after its command line), plus the "end" of each change.
    sent = [line for line in config_lines(switch.device.history) if line != "end"]
    assert sent == [command.split("\n")[0] for name in PLAN for command in PLAN[name]]
    running = switch.running()
    for line in ("vlan 30\n name KAMERA", "ntp server 10.10.0.1", "banner motd ^C\nBelediye Bilgi Islem\n"):
        assert line in running
    assert "interface GigabitEthernet1/0/3\n switchport access vlan 10\n" in running
    assert "interface GigabitEthernet1/0/4\n switchport mode access\n!" in running  # shutdown gone
    assert switch.device.saves == 1
    assert switch.device.startup == running

    proc, data = run_playbook(tmp_path, inventory, play(DESIRED), "--check")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    again = task_results(data, HOST)
    assert {name: again[name]["changed"] for name in PLAN} == dict.fromkeys(PLAN, False)


def test_gathered_state_reads_the_device(tmp_path, switch):  # noqa: F811
    inventory = write_inventory(tmp_path, [switch])
    tasks = [
        {"name": "vlans", "cisco.ios.ios_vlans": {"state": "gathered"}},
        {"name": "l2", "cisco.ios.ios_l2_interfaces": {"state": "gathered"}},
    ]
    proc, data = run_playbook(tmp_path, inventory, play(tasks))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    results = task_results(data, HOST)
    gathered = {v["vlan_id"]: (v["name"], v["state"]) for v in results["vlans"]["gathered"]}
    assert gathered[10] == ("YONETIM", "active")
    assert gathered[99] == ("KARANTINA", "suspend")
    assert set(gathered) == set(switch.device.vlans())
    ports = {i["name"]: i.get("access", {}).get("vlan") for i in results["l2"]["gathered"]}
    assert ports["GigabitEthernet1/0/2"] == ports["GigabitEthernet1/0/3"] == 20
    assert results["vlans"]["changed"] is False


def test_wrong_enable_password_and_wrong_host_key_fail_before_any_change(tmp_path):
    good_key = start_switch(name="sw-test-01")
    bad_key = start_switch(address="127.0.4.12", name="sw-test-02")
    try:
        good_key.enable = "not-the-enable-password"  # what the inventory will say
        inventory = write_inventory(tmp_path, [good_key, bad_key])
        # sw-test-02 presents another host key than the one known_hosts has for it.
        known = tmp_path / "home" / ".ssh" / "known_hosts"
        other = start_switch(address="127.0.4.13", name="other")
        other.server.shutdown()
        lines = known.read_text(encoding="utf-8").splitlines()
        lines[1] = lines[1].rsplit(" ", 2)[0] + " " + other.server.known_hosts_line.split(" ", 1)[1]
        known.write_text("\n".join(lines) + "\n", encoding="utf-8")
        proc, data = run_playbook(tmp_path, inventory, play(DESIRED[:1]), "--check")
        assert proc.returncode != 0
        one = task_results(data, "sw-test-01")["vlans"]
        two = task_results(data, "sw-test-02")["vlans"]
        assert "failed to elevate privilege to enable mode" in one["msg"]
        assert "host key mismatch for 127.0.4.12" in two["msg"]
        assert good_key.device.history[:1] == [(good_key.server.sessions[0].number, "sw-test-01>", "enable")]
        assert bad_key.server.sessions == []
    finally:
        good_key.server.shutdown()
        bad_key.server.shutdown()
