"""roles/monitoring_agent/filter_plugins/monitoring_agent.py: the Zabbix agent role's input checks.

Each error row changes one thing in sound inputs and expects a message that names the host, the
variable and the problem. The pre-shared key must never appear in a message.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "monitoring_agent" / "filter_plugins"))

import monitoring_agent  # noqa: E402  (the role's own filter directory, put on the path above)

KEY = "0123456789abcdef" * 4  # 64 hex digits, 256 bits: a test value
SOUND = {
    "monitoring_agent_servers": ["10.10.10.14"],
    "monitoring_agent_servers_active": ["10.10.10.14"],
    "monitoring_agent_listen_port": 10050,
    "monitoring_agent_hostname": "log01",
    "monitoring_agent_host_metadata": "belediye linux log_servers servers site_merkez",
    "monitoring_agent_psk_identity": "belediye-zabbix-2026",
    "monitoring_agent_psk": KEY,
}


def problems(**changes) -> list[str]:
    return monitoring_agent.monitoring_agent_problems({**SOUND, **changes}, "log01")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="sound-inputs"),
        pytest.param(
            {"monitoring_agent_servers": ["10.10.10.14", "10.10.10.0/24", "2001:db8::14"]}, id="servers-mixed"
        ),
        pytest.param({"monitoring_agent_servers": ["127.0.0.1"]}, id="server-loopback"),
        pytest.param({"monitoring_agent_servers_active": []}, id="no-active-checks"),
        pytest.param({"monitoring_agent_servers_active": None}, id="active-none"),
        pytest.param({"monitoring_agent_servers_active": ["zabbix.ornek.bel.tr:10051"]}, id="active-name-with-port"),
        pytest.param({"monitoring_agent_servers_active": ["10.10.10.14;10.10.10.15:10051"]}, id="active-ha-cluster"),
        pytest.param({"monitoring_agent_servers_active": ["[2001:db8::14]:10051", "2001:db8::15"]}, id="active-ipv6"),
        pytest.param({"monitoring_agent_psk": KEY[:32]}, id="psk-128-bits"),
        pytest.param({"monitoring_agent_psk": KEY.upper()}, id="psk-upper-case-hex"),
        pytest.param({"monitoring_agent_psk": "ab" * 256}, id="psk-2048-bits"),
        pytest.param({"monitoring_agent_host_metadata": ""}, id="metadata-empty"),
        pytest.param({"monitoring_agent_hostname": "Sunucu 01_a.b-c"}, id="hostname-allowed-characters"),
        pytest.param({"monitoring_agent_listen_port": 10150}, id="other-port"),
    ],
)
def test_sound_inputs_have_no_problems(changes):
    assert problems(**changes) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"monitoring_agent_servers": []}, "log01: monitoring_agent_servers is empty", id="no-server"),
        pytest.param({"monitoring_agent_servers": None}, "log01: monitoring_agent_servers is empty", id="server-none"),
        pytest.param(
            {"monitoring_agent_servers": "10.10.10.14"}, "monitoring_agent_servers must be a list", id="server-string"
        ),
        pytest.param(
            {"monitoring_agent_servers": ["zabbix.ornek.bel.tr"]},
            "monitoring_agent_servers[0]: 'zabbix.ornek.bel.tr' is not an IP address or network (CIDR); names are",
            id="server-name",
        ),
        pytest.param(
            {"monitoring_agent_servers": ["10.10.10.14", "10.10.10.300"]},
            "monitoring_agent_servers[1]: '10.10.10.300' is not an IP address",
            id="server-bad-octet",
        ),
        pytest.param(
            {"monitoring_agent_servers": ["10.10.10.14/24"]},
            "'10.10.10.14/24' has host bits set: the address 10.10.10.14 or the network 10.10.10.0/24?",
            id="server-host-bits",
        ),
        pytest.param(
            {"monitoring_agent_servers": ["0.0.0.0/0"]}, "'0.0.0.0/0' lets every host ask the agent", id="server-any-v4"
        ),
        pytest.param(
            {"monitoring_agent_servers": ["::/0"]}, "'::/0' lets every host ask the agent", id="server-any-v6"
        ),
        pytest.param(
            {"monitoring_agent_servers": ["10.10.10.0/33"]},
            "'10.10.10.0/33' is not an IP network",
            id="server-bad-prefix",
        ),
        pytest.param(
            {"monitoring_agent_servers": [""]},
            "monitoring_agent_servers[0]: '' is not an IP address or network",
            id="server-empty-entry",
        ),
        pytest.param(
            {"monitoring_agent_servers_active": ["10.10.10.14:0"]},
            "port '0' is not a number from 1 to 65535",
            id="active-port-zero",
        ),
        pytest.param(
            {"monitoring_agent_servers_active": ["10.10.10.14:zabbix"]},
            "port 'zabbix' is not a number",
            id="active-port-word",
        ),
        pytest.param(
            {"monitoring_agent_servers_active": ["10.10.10.314"]},
            "'10.10.10.314' is not an IPv4 address",
            id="active-bad-ipv4",
        ),
        pytest.param(
            {"monitoring_agent_servers_active": ["2001:db8::14:10051"]},
            "an IPv6 address with a port is written [address]:port",
            id="active-ipv6-without-brackets",
        ),
        pytest.param(
            {"monitoring_agent_servers_active": ["[10.10.10.14]:10051"]},
            "'10.10.10.14' is not an IPv6 address",
            id="active-brackets-ipv4",
        ),
        pytest.param(
            {"monitoring_agent_servers_active": ["zabbix_sunucu"]},
            "'zabbix_sunucu' is neither an IP address nor a DNS name",
            id="active-bad-name",
        ),
        pytest.param(
            {"monitoring_agent_servers_active": ["10.10.10.14;"]},
            "monitoring_agent_servers_active[0]: ''",
            id="active-empty-cluster-node",
        ),
        pytest.param(
            {"monitoring_agent_listen_port": 80},
            "monitoring_agent_listen_port must be a number from 1024 to 32767, not 80",
            id="port-privileged",
        ),
        pytest.param(
            {"monitoring_agent_listen_port": "10050"}, "monitoring_agent_listen_port must be a number", id="port-string"
        ),
        pytest.param(
            {"monitoring_agent_listen_port": True}, "monitoring_agent_listen_port must be a number", id="port-bool"
        ),
        pytest.param(
            {"monitoring_agent_hostname": ""}, "log01: monitoring_agent_hostname is empty", id="hostname-empty"
        ),
        pytest.param(
            {"monitoring_agent_hostname": "log01;rm"},
            "monitoring_agent_hostname 'log01;rm' must be at most 128",
            id="hostname-bad-character",
        ),
        pytest.param({"monitoring_agent_hostname": "a" * 129}, "must be at most 128", id="hostname-too-long"),
        pytest.param(
            {"monitoring_agent_host_metadata": "x" * 256},
            "monitoring_agent_host_metadata has 256 characters; the agent sends at most 255",
            id="metadata-too-long",
        ),
        pytest.param(
            {"monitoring_agent_host_metadata": "belediye\nServer=0.0.0.0/0"},
            "monitoring_agent_host_metadata 'belediye\\nServer=0.0.0.0/0' must be one line",
            id="metadata-line-break",
        ),
        pytest.param(
            {"monitoring_agent_host_metadata": None},
            "monitoring_agent_host_metadata must be a string",
            id="metadata-none",
        ),
        pytest.param(
            {"monitoring_agent_psk_identity": ""}, "log01: monitoring_agent_psk_identity is empty", id="identity-empty"
        ),
        pytest.param(
            {"monitoring_agent_psk_identity": " belediye"}, "without leading or trailing blanks", id="identity-blank"
        ),
        pytest.param({"monitoring_agent_psk_identity": "x\ny"}, "on one line", id="identity-line-break"),
        pytest.param({"monitoring_agent_psk_identity": "x" * 129}, "at most 128 characters", id="identity-too-long"),
        pytest.param(
            {"monitoring_agent_psk": ""},
            "log01: monitoring_agent_psk is empty; it comes from the vault",
            id="psk-empty",
        ),
        pytest.param({"monitoring_agent_psk": None}, "log01: monitoring_agent_psk is empty", id="psk-none"),
        pytest.param(
            {"monitoring_agent_psk": KEY[:30]},
            "monitoring_agent_psk has 30 hex digits; at least 32 (128 bits)",
            id="psk-short",
        ),
        pytest.param({"monitoring_agent_psk": KEY[:33] + "0"}, "", id="psk-34-digits-ok-marker"),
        pytest.param(
            {"monitoring_agent_psk": KEY[:33]},
            "monitoring_agent_psk has an odd number of hex digits (33)",
            id="psk-odd",
        ),
        pytest.param(
            {"monitoring_agent_psk": "ab" * 257}, "has 514 hex digits; Zabbix takes at most 512", id="psk-too-long"
        ),
        pytest.param(
            {"monitoring_agent_psk": "gizli-parola-" + KEY}, "has characters that are not hex digits", id="psk-not-hex"
        ),
    ],
)
def test_bad_input_is_named_with_host_and_variable(changes, expected):
    found = problems(**changes)
    if not expected:
        assert found == []
        return
    assert len(found) == 1, found
    assert expected in found[0]
    assert found[0].startswith("log01: ")


@pytest.mark.parametrize(
    "psk",
    [
        pytest.param("0123456789abcdef01234", id="short"),
        pytest.param("zz" + KEY, id="not-hex"),
        pytest.param(KEY + "a", id="odd"),
    ],
)
def test_the_key_is_never_quoted(psk):
    found = problems(monitoring_agent_psk=psk)
    assert found
    assert psk not in " ".join(found)
    assert psk[:12] not in " ".join(found)


def test_every_problem_is_reported_at_once():
    found = problems(monitoring_agent_servers=["zabbix"], monitoring_agent_psk="", monitoring_agent_listen_port=1)
    assert [p.split(":")[1].strip().split("[")[0].split(" ")[0] for p in found] == [
        "monitoring_agent_servers",
        "monitoring_agent_listen_port",
        "monitoring_agent_psk",
    ]


def test_inputs_that_are_not_a_mapping_are_reported():
    assert monitoring_agent.monitoring_agent_problems(["x"], "log01") == ["log01: the role's inputs are not a mapping"]


def test_the_filter_is_registered():
    assert monitoring_agent.FilterModule().filters() == {
        "monitoring_agent_problems": monitoring_agent.monitoring_agent_problems,
        "monitoring_agent_psk_problems": monitoring_agent.monitoring_agent_psk_problems,
    }


def test_the_key_is_checked_on_its_own_when_the_inputs_leave_it_out():
    without_key = {k: v for k, v in SOUND.items() if k != "monitoring_agent_psk"}
    assert monitoring_agent.monitoring_agent_problems(without_key, "log01") == []
    assert monitoring_agent.monitoring_agent_psk_problems(KEY, "log01") == []
    assert monitoring_agent.monitoring_agent_psk_problems("abc", "log01") == [
        "log01: monitoring_agent_psk has 3 hex digits; at least 32 (128 bits) are needed, 64 (256 bits) recommended"
    ]
