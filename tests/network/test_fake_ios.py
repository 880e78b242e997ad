"""lab/network/fake_ios.py driven over SSH by paramiko's client, the way a person at a terminal (or
network_cli) drives a Catalyst: prompts, enable, configuration modes, filters and saved state."""

import re
import time

import paramiko
import pytest
from ios_fixtures import FIXTURES, LOGIN, fake_ios, start_switch, switch  # noqa: F401

PROMPT = re.compile(r"(\S+[>#]|Password:) ?$")


class Shell:
    """An interactive shell on the fake switch; ``run`` sends one line and returns its output."""

    def __init__(self, sw, password=None, pkey=None, user=LOGIN):
        self.client = paramiko.SSHClient()
        self.client.get_host_keys().add(
            f"[{sw.server.host}]:{sw.server.port}", sw.server.host_key.get_name(), sw.server.host_key
        )
        self.client.connect(
            sw.server.host,
            port=sw.server.port,
            username=user,
            password=password if pkey is None else None,
            pkey=pkey,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        self.channel = self.client.invoke_shell(width=80)
        self.channel.settimeout(10)
        self.greeting = self.read()

    def read(self):
        data = ""
        deadline = time.monotonic() + 10
        while not PROMPT.search(data):
            if time.monotonic() > deadline:
                pytest.fail(f"no prompt after {data!r}")
            data += self.channel.recv(65536).decode()
        return data

    @property
    def prompt(self):
        return self.last.rsplit("\r\n", 1)[-1]

    def run(self, line):
        self.channel.sendall((line + "\r").encode())
        self.last = self.read()
        lines = self.last.split("\r\n")
        assert lines[0] == line or line.startswith(lines[0]), f"no echo of {line!r}: {self.last!r}"
        return "\n".join(lines[1:-1])

    def enable(self, secret):
        self.run("enable")
        self.run(secret)
        assert self.prompt.endswith("#"), self.last

    def close(self):
        self.client.close()


def fixture_lines(name="access-switch.cfg"):
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def test_login_shows_the_banner_and_enable_needs_the_password(switch):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        assert "Yetkili personel disinda erisim yasaktir." in shell.greeting
        assert shell.greeting.endswith("sw-test-01>")
        assert shell.run("show privilege") == "Current privilege level is 1"
        assert "% Invalid input detected at '^' marker." in shell.run("show running-config")
        shell.run("enable")
        assert shell.prompt == "Password: "
        shell.run("not-the-secret")
        assert shell.prompt == "Password: "
        shell.run(switch.enable)
        assert shell.prompt == "sw-test-01#"
        assert shell.run("show privilege") == "Current privilege level is 15"
        assert shell.run("disable") == ""
        assert shell.prompt == "sw-test-01>"
    finally:
        shell.close()


def test_three_wrong_enable_passwords_end_in_bad_secrets(switch):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        shell.run("enable")
        for _ in range(2):
            shell.run("wrong")
            assert shell.prompt == "Password: "
        assert "% Bad secrets" in shell.run("wrong")
        assert shell.prompt == "sw-test-01>"
    finally:
        shell.close()


def test_a_wrong_login_password_is_refused(switch):  # noqa: F811
    with pytest.raises(paramiko.AuthenticationException):
        Shell(switch, switch.password + "x")
    assert switch.server.sessions == []


def test_public_key_login_at_privilege_15_lands_in_enable_mode():
    key = paramiko.ECDSAKey.generate()
    sw = start_switch(privilege=15, authorized_keys={LOGIN: [key]})
    try:
        shell = Shell(sw, pkey=key)
        assert shell.greeting.endswith("sw-test-01#")
        assert shell.run("show privilege") == "Current privilege level is 15"
        shell.close()
        with pytest.raises(paramiko.AuthenticationException):
            Shell(sw, pkey=paramiko.ECDSAKey.generate())
    finally:
        sw.server.shutdown()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param(
            "show running-config | include ^interface",
            [x for x in fixture_lines() if x.startswith("interface ")],
            id="include-keeps-matching-lines",
        ),
        pytest.param(
            "show running-config | section ^vlan",
            ["vlan 10", " name YONETIM", "vlan 20", " name PERSONEL", "vlan 99", " name KARANTINA", " state suspend"],
            id="section-keeps-children",
        ),
        pytest.param(
            "show running-config | section switchport access vlan 20",
            [
                "interface GigabitEthernet1/0/2",
                " description personel-pc",
                " switchport access vlan 20",
                " switchport mode access",
                " spanning-tree portfast",
                "interface GigabitEthernet1/0/3",
                " switchport access vlan 20",
                " switchport mode access",
            ],
            id="section-shows-the-parent-of-a-matching-child",
        ),
        pytest.param(
            "sh run | i ^hostname|^ip default",
            ["hostname sw-test-01", "ip default-gateway 10.10.0.1"],
            id="abbreviations-and-alternation",
        ),
        pytest.param(
            "show running-config | begin ^line vty",
            ["line vty 0 4", " login local", " transport input ssh", "!", "end"],
            id="begin-to-the-end",
        ),
    ],
)
def test_output_filters_select_lines_like_ios(switch, command, expected):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        shell.enable(switch.enable)
        shell.run("terminal length 0")
        assert shell.run(command).split("\n") == expected
    finally:
        shell.close()


def test_unknown_commands_are_answered_with_the_caret_under_the_bad_word(switch):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        shell.enable(switch.enable)
        out = shell.run("show frobnicate")
        caret, message = out.split("\n")
        assert message == "% Invalid input detected at '^' marker."
        assert caret.index("^") == len("sw-test-01#show ")
        shell.run("configure terminal")
        assert shell.prompt == "sw-test-01(config)#"
        assert shell.run("frobnicate now").endswith("% Invalid input detected at '^' marker.")
        # Hardware that does not exist cannot be configured; an SVI is created on demand.
        assert shell.run("interface GigabitEthernet9/0/1").endswith("% Invalid input detected at '^' marker.")
        assert shell.prompt == "sw-test-01(config)#"
        shell.run("interface Vlan20")
        assert shell.prompt == "sw-test-01(config-if)#"
        assert shell.run("switchport mode access").endswith("% Invalid input detected at '^' marker.")
    finally:
        shell.close()


def test_configuration_is_seen_by_the_next_session(switch):  # noqa: F811
    first = Shell(switch, switch.password)
    first.enable(switch.enable)
    first.run("configure terminal")
    first.run("vlan 30")
    assert first.prompt == "sw-test-01(config-vlan)#"
    first.run("name KAMERA")
    # A sub-mode falls back to global commands without "exit", as IOS does.
    first.run("interface gi1/0/5")
    assert first.prompt == "sw-test-01(config-if)#"
    first.run("description kamera-01")
    first.run("switchport mode access")
    first.run("switchport access vlan 30")
    out = first.run("switchport voice vlan 40")
    assert out == ""
    first.run("interface GigabitEthernet1/0/4")
    first.run("no shutdown")
    first.run("end")
    assert first.prompt == "sw-test-01#"
    first.close()

    second = Shell(switch, switch.password)
    try:
        second.enable(switch.enable)
        assert second.run("show running-config | section ^interface GigabitEthernet1/0/[45]$").split("\n") == [
            "interface GigabitEthernet1/0/4",
            " switchport mode access",
            "interface GigabitEthernet1/0/5",
            " description kamera-01",
            " switchport access vlan 30",
            " switchport mode access",
            " switchport voice vlan 40",
        ]
        vlan30 = [x for x in second.run("show vlan brief").split("\n") if x.startswith("30 ")]
        assert vlan30 == ["30   KAMERA                           active    Gi1/0/5"]
    finally:
        second.close()


def test_an_access_vlan_that_does_not_exist_is_created(switch):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        shell.enable(switch.enable)
        shell.run("configure terminal")
        shell.run("interface GigabitEthernet1/0/6")
        assert shell.run("switchport access vlan 50") == "% Access VLAN does not exist. Creating vlan 50"
        shell.run("end")
        assert "50   VLAN0050                         active    Gi1/0/6" in shell.run("show vlan brief")
        shell.run("configure terminal")
        assert shell.run("no vlan 1") == "%Default VLAN 1 may not be deleted."
    finally:
        shell.close()


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        pytest.param(["switchport trunk allowed vlan add 30"], "switchport trunk allowed vlan 10,20,30", id="add"),
        pytest.param(["switchport trunk allowed vlan remove 10"], "switchport trunk allowed vlan 20", id="remove"),
        pytest.param(
            ["switchport trunk allowed vlan 10-13,20"], "switchport trunk allowed vlan 10-13,20", id="replace-range"
        ),
        pytest.param(["switchport trunk allowed vlan all"], None, id="all-is-the-default-and-not-shown"),
        pytest.param(["switchport trunk allowed vlan none"], "switchport trunk allowed vlan none", id="none"),
        pytest.param(["no switchport trunk allowed vlan"], None, id="no-form-removes"),
    ],
)
def test_trunk_allowed_vlan_list_edits(switch, commands, expected):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        shell.enable(switch.enable)
        shell.run("configure terminal")
        shell.run("interface GigabitEthernet1/0/1")  # fixture: switchport trunk allowed vlan 10,20
        for command in commands:
            assert shell.run(command) == ""
        shell.run("end")
        allowed = shell.run("show running-config | include trunk allowed").split("\n")
        assert allowed == ([" " + expected] if expected else [""])
    finally:
        shell.close()


def test_multiline_banner_is_stored_between_ctrl_c_marks(switch):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        shell.enable(switch.enable)
        shell.run("configure terminal")
        shell.channel.sendall(b"banner motd @\nBelediye Bilgi Islem\nizinsiz giris yasaktir\n@\r")
        shell.read()
        shell.run("end")
        out = shell.run("show running-config | begin ^banner motd")
        assert out.split("\n")[:4] == ["banner motd ^C", "Belediye Bilgi Islem", "izinsiz giris yasaktir", "^C"]
    finally:
        shell.close()


def test_write_memory_saves_the_startup_config(switch, tmp_path):  # noqa: F811
    switch.device.save_path = tmp_path / "startup.cfg"
    shell = Shell(switch, switch.password)
    try:
        shell.enable(switch.enable)
        shell.run("configure terminal")
        shell.run("hostname sw-test-02")
        shell.run("end")
        assert shell.prompt == "sw-test-02#"
        assert "hostname sw-test-01" in shell.run("show startup-config")
        assert shell.run("write memory") == "Building configuration...\n[OK]"
        assert "hostname sw-test-02" in shell.run("show startup-config")
        assert "hostname sw-test-02" in switch.device.save_path.read_text(encoding="utf-8")
    finally:
        shell.close()


def test_the_simulator_binds_to_loopback_only():
    with pytest.raises(ValueError, match="loopback only"):
        fake_ios.serve("0.0.0.0", 0, "hostname x\n", {}, "x")  # noqa: S104 - the address under test


def test_snmpv3_users_live_outside_the_running_config_and_are_listed_without_keys(switch):  # noqa: F811
    shell = Shell(switch, switch.password)
    try:
        shell.enable(switch.enable)
        shell.run("configure terminal")
        shell.run("snmp-server group bim-ro v3 priv")
        shell.run("snmp-server user bim-snmp bim-ro v3 auth sha gizli-anahtar-1 priv aes 128 gizli-anahtar-2")
        shell.run("interface GigabitEthernet1/0/6")
        # IOS's defaults: they change nothing that the running-config shows.
        shell.run("switchport port-security maximum 1")
        shell.run("switchport port-security violation shutdown")
        shell.run("end")
        running = shell.run("show running-config")
        assert "snmp-server group bim-ro v3 priv" in running
        assert "snmp-server user" not in running
        assert "gizli-anahtar" not in running
        port = shell.run("show running-config | section ^interface GigabitEthernet1/0/6$")
        assert "port-security maximum" not in port
        assert "violation" not in port
        users = shell.run("show snmp user")
        assert "User name: bim-snmp" in users
        assert "bim-ro" in users
        assert "gizli-anahtar" not in users
        shell.run("configure terminal")
        shell.run("no snmp-server user bim-snmp bim-ro v3")
        shell.run("end")
        assert "bim-snmp" not in shell.run("show snmp user")
    finally:
        shell.close()
