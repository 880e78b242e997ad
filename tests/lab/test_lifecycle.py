"""lab/labctl.py's promises: `up` twice does no harm, `up` recovers from a killed run, `down` leaves nothing.

scripts/test.sh runs this as its own stage after the lab stage, on the lab that stage left up.
The tests run in file order: they change the lab and finish by taking it down.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
import labctl  # noqa: E402

ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, check=check, timeout=600)


def labctl_cmd(*args: str) -> subprocess.CompletedProcess:
    res = run(str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "lab" / "labctl.py"), *args, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def lab_containers() -> dict[str, str]:
    """Name -> start time of every container carrying the lab label."""
    names = run("podman", "ps", "-a", "--filter", f"label={labctl.LABEL}", "--format", "{{.Names}}").stdout.split()
    if not names:
        return {}
    info = json.loads(run("podman", "container", "inspect", *names).stdout)
    return {c["Name"]: c["State"]["StartedAt"] for c in info}


def squid_processes() -> list[str]:
    return run("pgrep", "-f", "--", f"-f {labctl.SQUID_DIR / 'squid.conf'}", check=False).stdout.split()


@pytest.fixture(scope="module", autouse=True)
def lab_is_up():
    labctl_cmd("up")


def test_up_again_restarts_nothing():
    before = lab_containers()
    res = labctl_cmd("up")
    assert "(0 started)" in res.stdout
    assert lab_containers() == before


def bridge_mac() -> str:
    return Path(f"/sys/class/net/{labctl.BRIDGE}/address").read_text().strip()


def test_the_gateway_keeps_its_mac_while_hosts_come_and_go():
    # Hosts cache the gateway's MAC: if it followed the bridge's ports, a host leaving would cut
    # the others off the proxy and the mirrors until their ARP entries expired.
    assert bridge_mac() == labctl.BRIDGE_MAC
    macs = set()
    for n in range(3):
        name = f"lab-macprobe{n}"
        run(
            "podman", "run", "--detach", "--name", name, "--label", f"{labctl.LABEL}=probe", "--runtime", "runc",
            "--network", labctl.NETWORK, labctl.image_ref(), "sleep", "300",
        )  # fmt: skip
        macs.add(bridge_mac())
        run("podman", "rm", "--force", "--time", "0", name)
        macs.add(bridge_mac())
    assert macs == {labctl.BRIDGE_MAC}


def test_up_recovers_from_a_killed_run():
    # What a run killed half-way leaves: a dead proxy with its pid file, a missing host,
    # and a container of a host the inventory no longer has.
    pid = int(labctl.SQUID_PID.read_text())
    os.kill(pid, signal.SIGKILL)
    run("podman", "rm", "--force", "--time", "0", "lab-app01")
    run(
        "podman", "create", "--name", "lab-eski99", "--label", f"{labctl.LABEL}=host", "--runtime", "runc",
        "--network", labctl.NETWORK, labctl.image_ref(), "/sbin/init",
    )  # fmt: skip
    res = labctl_cmd("up")
    assert "starting app01" in res.stdout
    containers = lab_containers()
    assert "lab-eski99" not in containers
    assert "lab-app01" in containers
    assert labctl.pid_alive(labctl.SQUID_PID, "squid")
    assert len(squid_processes()) == 2, "expected one squid master and one worker, no orphans"
    # app01 answers SSH again (labctl up waits for it; check independently).
    ssh = run(*labctl.ssh_command("10.231.0.14"), "systemctl is-system-running", check=False)
    assert ssh.stdout.strip() == "running", ssh.stderr


def test_down_leaves_no_container_network_bridge_or_process():
    labctl_cmd("down")
    assert lab_containers() == {}
    assert run("podman", "network", "exists", labctl.NETWORK, check=False).returncode != 0
    assert not labctl.link_exists(labctl.BRIDGE)
    assert not labctl.link_exists(labctl.ANCHOR[0])
    assert squid_processes() == []
    assert not labctl.SQUID_PID.exists()


def test_down_twice_does_no_harm():
    labctl_cmd("down")


def test_up_recovers_from_a_stale_bridge_and_pid_file():
    # A bridge without its podman network, and a pid file naming no squid.
    run("ip", "link", "add", labctl.BRIDGE, "type", "bridge")
    labctl.SQUID_DIR.mkdir(parents=True, exist_ok=True)
    labctl.SQUID_PID.write_text("999999\n")
    labctl_cmd("up", "log01")
    assert set(lab_containers()) == {"lab-log01"}
    labctl_cmd("down")
    assert lab_containers() == {}
    assert not labctl.link_exists(labctl.BRIDGE)
