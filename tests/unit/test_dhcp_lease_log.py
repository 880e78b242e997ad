"""roles/dhcp/files/kea-lease-log: the Law 5651 line that each Kea lease event becomes.

The script runs as Kea's run_script hook would run it: the hook point as its argument and the
lease in environment variables with the names Kea 2.2 uses (found by experiment, listed in the
role README), and nothing else in the environment. A fake logger records the arguments that
the real one would get. Each row is one behaviour.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles" / "dhcp" / "files" / "kea-lease-log"

CLTT = 1796000000  # 2026-11-30T00:53:20Z
LEASE = {
    "ADDRESS": "10.231.8.100",
    "HWADDR": "52:54:00:12:34:56",
    "HOSTNAME": "pardus01",
    "CLIENT_ID": "01:52:54:00:12:34:56",
    "CLTT": str(CLTT),
    "VALID_LIFETIME": "28800",
    "SUBNET_ID": "10231008",
    "STATE": "default",
    "HWADDR_TYPE": "1",
}
QUERY = {"QUERY4_TYPE": "DHCPREQUEST", "QUERY4_IFACE_NAME": "eth1", "QUERY4_RELAYED": "false"}
LINE = (
    "event={event} ip=10.231.8.100 mac=52:54:00:12:34:56 hostname=pardus01 client_id=01:52:54:00:12:34:56 "
    "start=2026-11-30T00:53:20+00:00 end=2026-11-30T08:53:20+00:00 lifetime=28800 subnet=10231008 iface={iface}"
)


def lease(prefix: str, **changes) -> dict:
    return {f"{prefix}_{key}": value for key, value in {**LEASE, **changes}.items()}


def line(event: str, iface: str = "eth1") -> str:
    return LINE.format(event=event, iface=iface)


def run(tmp_path: Path, args: list[str], env: dict, logger_rc: int = 0) -> tuple[int, list[str]]:
    """Run the script with only Kea's variables; return its exit code and the lines it logged."""
    log = tmp_path / "logged"
    fake = tmp_path / "logger"
    fake.write_text(
        '#!/bin/sh\n[ "$1 $2 $3 $4 $5" = "-t kea-lease -p local6.info --" ] || exit 9\n'
        f'printf "%s\\n" "$6" >> {log}\nexit {logger_rc}\n'
    )
    fake.chmod(0o755)
    full = {"TZ": "UTC", "KEA_LEASE_LOG_LOGGER": str(fake), **env}
    res = subprocess.run(["/bin/sh", str(SCRIPT), *args], env=full, capture_output=True, text=True, timeout=30)
    lines = log.read_text().splitlines() if log.exists() else []
    return res.returncode, lines


CASES = [
    pytest.param(
        ["leases4_committed"],
        {**QUERY, "LEASES4_SIZE": "1", **lease("LEASES4_AT0"), "DELETED_LEASES4_SIZE": "0"},
        [line("leases4_committed")],
        id="allocation-is-one-line-with-every-field",
    ),
    pytest.param(
        ["leases4_committed"],
        {
            **QUERY,
            "LEASES4_SIZE": "2",
            **lease("LEASES4_AT0"),
            **lease("LEASES4_AT1", ADDRESS="10.231.8.101", HWADDR="52:54:00:00:00:01", HOSTNAME="", CLIENT_ID=""),
        },
        [
            line("leases4_committed"),
            "event=leases4_committed ip=10.231.8.101 mac=52:54:00:00:00:01 hostname=- client_id=- "
            "start=2026-11-30T00:53:20+00:00 end=2026-11-30T08:53:20+00:00 lifetime=28800 subnet=10231008 iface=eth1",
        ],
        id="every-lease-of-the-committed-list-gets-its-line",
    ),
    pytest.param(
        ["leases4_committed"],
        {
            **QUERY,
            "LEASES4_SIZE": "1",
            **lease("LEASES4_AT0"),
            "DELETED_LEASES4_SIZE": "1",
            **lease("DELETED_LEASES4_AT0", ADDRESS="10.231.8.150"),
        },
        [line("leases4_committed"), line("leases4_committed_deleted").replace("10.231.8.100", "10.231.8.150")],
        id="a-client-that-moved-also-logs-the-end-of-its-old-lease",
    ),
    pytest.param(
        ["leases4_committed"],
        {
            **QUERY,
            "QUERY4_TYPE": "DHCPRELEASE",
            "LEASES4_SIZE": "0",
            "DELETED_LEASES4_SIZE": "1",
            **lease("DELETED_LEASES4_AT0"),
        },
        [],
        id="a-release-is-not-logged-twice-by-committed",
    ),
    pytest.param(
        ["leases4_committed"],
        {**QUERY, "QUERY4_TYPE": "DHCPDECLINE", "LEASES4_SIZE": "1", **lease("LEASES4_AT0", STATE="declined")},
        [],
        id="a-decline-is-not-logged-twice-by-committed",
    ),
    pytest.param(["lease4_renew"], {**QUERY, **lease("LEASE4")}, [line("lease4_renew")], id="renewal"),
    pytest.param(["lease4_release"], {**QUERY, **lease("LEASE4")}, [line("lease4_release")], id="release"),
    pytest.param(["lease4_decline"], {**QUERY, **lease("LEASE4")}, [line("lease4_decline")], id="decline"),
    pytest.param(
        ["lease4_expire"],
        {**lease("LEASE4"), "REMOVE_LEASE": "false"},
        [line("lease4_expire", iface="-")],
        id="expiry-has-no-interface",
    ),
    pytest.param(
        ["lease4_expire"],
        {**lease("LEASE4", STATE="declined"), "REMOVE_LEASE": "false"},
        [],
        id="expiry-of-a-declined-address-is-left-to-recover",
    ),
    pytest.param(
        ["lease4_recover"], lease("LEASE4"), [line("lease4_recover", iface="-")], id="recovery-after-probation"
    ),
    pytest.param(
        ["lease4_renew"],
        {**QUERY, **lease("LEASE4", HOSTNAME="evil host=1 event=forged\nline2", HWADDR="")},
        [
            line("lease4_renew")
            .replace("hostname=pardus01", "hostname=evil_host_1_event_forged_line2")
            .replace("mac=52:54:00:12:34:56", "mac=-")
        ],
        id="client-supplied-values-cannot-forge-fields-or-lines",
    ),
    pytest.param(
        ["lease4_renew"],
        {**QUERY, **lease("LEASE4", CLTT="", VALID_LIFETIME="x")},
        [
            line("lease4_renew")
            .replace("start=2026-11-30T00:53:20+00:00 end=2026-11-30T08:53:20+00:00", "start=- end=-")
            .replace("lifetime=28800", "lifetime=x")
        ],
        id="missing-times-are-dashes-not-errors",
    ),
    pytest.param(["lease4_renew"], {**QUERY}, [], id="no-address-no-line"),
    pytest.param(["leases4_committed"], {**QUERY, "LEASES4_SIZE": "1; rm -rf /"}, [], id="odd-list-size-no-line"),
    pytest.param(["lease4_select"], {**QUERY, **lease("LEASE4")}, [], id="unknown-hook-point-no-line"),
    pytest.param([], {**QUERY, **lease("LEASE4")}, [], id="no-hook-point-no-line"),
]


@pytest.mark.parametrize(("args", "env", "expected"), CASES)
def test_lease_events_become_5651_lines(tmp_path, args, env, expected):
    rc, lines = run(tmp_path, args, env)
    assert rc == 0
    assert lines == expected


def test_a_failing_logger_never_fails_kea(tmp_path):
    rc, lines = run(tmp_path, ["lease4_renew"], {**QUERY, **lease("LEASE4")}, logger_rc=1)
    assert rc == 0
    assert lines == [line("lease4_renew")]


def test_local_time_carries_its_offset(tmp_path):
    rc, lines = run(tmp_path, ["lease4_renew"], {**QUERY, **lease("LEASE4"), "TZ": "Europe/Istanbul"})
    assert rc == 0
    assert "start=2026-11-30T03:53:20+03:00 end=2026-11-30T11:53:20+03:00" in lines[0]


def test_script_is_posix_sh_and_executable():
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    assert os.access(SCRIPT, os.X_OK)
