#!/usr/bin/env python3
"""Benchmark: the no-change cost per device of playbooks/devices.yml on 50 simulated IP cameras and
20 simulated PDKS (ZKTeco) terminals, with Ansible's stock settings against our ansible.cfg, in one run.

The real playbook runs, limited to its camera and PDKS plays (`--limit cameras:pdks_terminals`; no
X-ray scanners), against an inventory the bench writes in a temporary directory: the cameras in group
cameras on 127.0.62.11 upwards, the terminals in group pdks_terminals on 127.0.72.11 upwards, both
under devices as in the lab, with a mix of makes, models and firmware policies like production's. Beside
it, symbolic links to the lab inventory's group_vars (all, devices, cameras, pdks_terminals) give the
tasks the lab's values and secrets (the lab vault id of ansible.cfg). The simulators are the lab's
(lab/devices/fleet.py), started by the fleet's own functions from that inventory, all in one child
process, on loopback only. The lab's own fleet and the tests use 127.0.0-5.x; the bench refuses to
start when anything listens on its two /24s.

The first run converges the fleet, then one no-change run warms up, unmeasured; then come rounds of
A, B, A, B ... Every measured run must change nothing, fail nothing and reach every device, or the
bench stops. The simulators share the machine's cores with the control node, as in the lab; their CPU
time is reported apart from the control node's (ansible-playbook and the module processes it starts),
since real devices would not put it on the control node. So is the share of the cores that processes
outside the bench took meanwhile: the machine is shared, and a busy neighbour slows both setups.

    .venv/bin/python bench/devices_nochange.py [--cameras 50] [--terminals 20] [--repeat 3]
        [--json FILE] [--markdown FILE]

The issue's target: at most 0.3 s wall time per device for a no-change run with sensible forks.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib import ROOT, STOCK, Run, playbook, table, tuned_settings, write_outputs

TARGET_S_PER_DEVICE = 0.3
PLAYBOOK = "playbooks/devices.yml"
LIMIT = "cameras:pdks_terminals"
LOGS = ROOT / ".lab" / "runs" / "bench"
LAB_INVENTORY = ROOT / "inventories" / "lab"
LAB_GROUP_VARS = ("all", "devices.yml", "cameras.yml", "pdks_terminals")
# Loopback networks of the bench's simulators: outside the lab IP plan's device site (127.0.1-3.x),
# the lab's Windows stand-ins (127.0.5.x) and the test suites' addresses (127.0.0.x, 127.0.4.x).
CAMERA_NET = ipaddress.ip_network("127.0.62.0/24")
PDKS_NET = ipaddress.ip_network("127.0.72.0/24")
FIRST_HOST = 11
MAX_PER_GROUP = 200
# Makes, models and firmware policies in production's proportions (inventories/production/hosts.yml):
# Hikvision has a vendor driver (ONVIF and ISAPI); Axis and Dahua get the ONVIF settings only.
CAMERA_MIX = (
    {"camera_vendor": "hikvision", "camera_model": "DS-2CD2143G2-IU", "camera_firmware_policy": "pinned",
     "camera_firmware_version": "V5.7.15"},
    {"camera_vendor": "hikvision", "camera_model": "DS-2CD2T47G2-L", "camera_firmware_policy": "pinned",
     "camera_firmware_version": "V5.7.15"},
    {"camera_vendor": "axis", "camera_model": "P3265-LV", "camera_firmware_policy": "minimum",
     "camera_firmware_version": "11.11.73"},
    {"camera_vendor": "hikvision", "camera_model": "DS-2CD2143G2-IU", "camera_firmware_policy": "pinned",
     "camera_firmware_version": "V5.7.15"},
    {"camera_vendor": "dahua", "camera_model": "IPC-HFW2441S-S", "camera_firmware_policy": "pinned",
     "camera_firmware_version": "V2.840.0000000.7.R"},
)  # fmt: skip
PDKS_MODELS = ("MB460", "SpeedFace-V5L", "K40")
SETUPS = {"A": "Ansible's stock settings", "B": "our `ansible.cfg`"}


# --- the generated inventory ----------------------------------------------------------------------


def fleet_hosts(cameras: int, terminals: int) -> dict[str, dict[str, dict]]:
    """{group: {host: host vars}} of the bench fleet. The simulator's firmware is the wanted one, so the
    facts report no drift."""
    for count, what in ((cameras, "cameras"), (terminals, "terminals")):
        if not 0 <= count <= MAX_PER_GROUP:
            raise ValueError(f"{what}: {count} is not between 0 and {MAX_PER_GROUP}")
    if cameras + terminals == 0:
        raise ValueError("a fleet needs at least one device")
    return {
        "cameras": {
            f"kamera-bench-{i + 1:02d}": {
                "ansible_host": str(CAMERA_NET[FIRST_HOST + i]),
                **CAMERA_MIX[i % len(CAMERA_MIX)],
            }
            for i in range(cameras)
        },
        "pdks_terminals": {
            f"pdks-bench-{i + 1:02d}": {
                "ansible_host": str(PDKS_NET[FIRST_HOST + i]),
                "pdks_model": PDKS_MODELS[i % len(PDKS_MODELS)],
            }
            for i in range(terminals)
        },
    }


def inventory(cameras: int, terminals: int) -> dict:
    """The hosts file: the two groups under devices, as in inventories/lab/hosts.yml."""
    groups = {name: {"hosts": hosts} for name, hosts in fleet_hosts(cameras, terminals).items() if hosts}
    return {"all": {"children": {"devices": {"children": groups}}}}


def write_inventory(directory: Path, cameras: int, terminals: int) -> set[str]:
    """hosts.yml and links to the lab's group_vars in `directory`; returns the host names."""
    data = inventory(cameras, terminals)
    (directory / "group_vars").mkdir(parents=True)
    (directory / "hosts.yml").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")  # JSON is YAML
    for name in LAB_GROUP_VARS:
        (directory / "group_vars" / name).symlink_to(LAB_INVENTORY / "group_vars" / name)
    return {host for group in data["all"]["children"]["devices"]["children"].values() for host in group["hosts"]}


# --- the simulators -------------------------------------------------------------------------------


def tcp_listeners(proc_net_tcp: str) -> list[tuple[str, int]]:
    """(address, port) of the listening IPv4 sockets in the text of /proc/net/tcp."""
    out = []
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != "0A":  # 0A: TCP_LISTEN
            continue
        address, port = fields[1].split(":")
        out.append((str(ipaddress.IPv4Address(bytes.fromhex(address)[::-1])), int(port, 16)))
    return out


def busy(listeners: list[tuple[str, int]], networks=(CAMERA_NET, PDKS_NET)) -> list[str]:
    """The listeners inside the bench's networks, as address:port."""
    return [f"{a}:{p}" for a, p in listeners if any(ipaddress.ip_address(a) in net for net in networks)]


def serve_fleet(inventory_dir: str, state_dir: str) -> None:
    """In the child process: start a simulator per host of the inventory with the fleet's own functions,
    print them as one JSON line, and stop them all when stdin closes."""
    sys.path.insert(0, str(ROOT / "lab" / "devices"))
    import fleet

    devices = fleet.inventory_devices(Path(inventory_dir), LAB_INVENTORY / "vault-password.txt")
    servers = fleet.start(devices, Path(state_dir))
    print(json.dumps([[d["name"], d["address"], d["port"]] for d in devices]), flush=True)
    sys.stdin.read()
    for server in servers:
        server.shutdown()


def fleet_ready(fleet: subprocess.Popen) -> list:
    """The simulators the child started, [[name, address, port], ...], once they all listen."""
    for line in fleet.stdout:
        if line.startswith("["):
            return json.loads(line)
    sys.exit(f"devices_nochange: the simulators did not start (rc {fleet.wait()})")


def stop_fleet(fleet: subprocess.Popen) -> None:
    fleet.stdin.close()
    try:
        fleet.wait(timeout=60)
    except subprocess.TimeoutExpired:
        fleet.kill()
        fleet.wait()


def read_proc_stat() -> str:
    return Path("/proc/stat").read_text(encoding="ascii")


def machine_busy_cpu(proc_stat: str, ticks_per_s: int | None = None) -> float:
    """CPU seconds the machine's processes and interrupts have used since boot, from the text of /proc/stat
    (user, nice, system, irq and softirq; not idle, iowait or the hypervisor's steal)."""
    fields = [int(v) for v in proc_stat.splitlines()[0].split()[1:8]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / (ticks_per_s or os.sysconf("SC_CLK_TCK"))


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the runs -------------------------------------------------------------------------------------


def playbook_args(inventory_dir: Path) -> list[str]:
    return ["-i", str(inventory_dir), PLAYBOOK, "--limit", LIMIT]


def ledger_env(workdir: Path) -> dict[str, str]:
    """The bench's runs go to a ledger of their own, not the control node's, and not to syslog."""
    return {"BELEDIYE_LEDGER_PATH": str(workdir / "ledger.jsonl"), "BELEDIYE_LEDGER_SYSLOG": "false"}


def converge(inventory_dir: Path, workdir: Path, hosts: set[str]) -> tuple[float, int]:
    """The first run, with our ansible.cfg: it may change things, but must not fail. (wall s, hosts changed)"""
    run = playbook(playbook_args(inventory_dir), ledger_env(workdir), LOGS / "devices-converge.log",
                   what="devices_nochange (converge)", no_change=False)  # fmt: skip
    check_hosts(run.hosts, hosts, "the converge run")
    return run.wall, sum(1 for r in run.hosts.values() if r.get("changed"))


def check_hosts(seen: dict[str, dict[str, int]], hosts: set[str], what: str) -> None:
    """Every device ran, and none failed or was unreachable."""
    missing = sorted(hosts - set(seen))
    bad = sorted(h for h, r in seen.items() if r.get("failed") or r.get("unreachable"))
    if missing or bad:
        sys.exit(f"devices_nochange: {what} did not run cleanly on every device (missing {missing}, failed {bad})")


@dataclass
class Measure:
    """One measured run: the playbook's Run and the CPU seconds the simulators and every other process of
    the machine (not the bench's) used meanwhile."""

    run: Run
    simulators: float
    others: float


def measured_run(setup: str, n: int, inventory_dir: Path, workdir: Path, hosts: set[str], fleet_pid: int) -> Measure:
    """One no-change run. benchlib.playbook stops the bench if it failed or changed anything."""
    env = {**(STOCK if setup == "A" else {}), **ledger_env(workdir)}
    sim0, busy0 = process_cpu(fleet_pid), machine_busy_cpu(read_proc_stat())
    run = playbook(playbook_args(inventory_dir), env, LOGS / f"devices-{setup}-{n}.log", what="devices_nochange")
    simulators = process_cpu(fleet_pid) - sim0
    others = max(machine_busy_cpu(read_proc_stat()) - busy0 - run.cpu - simulators, 0.0)
    check_hosts(run.hosts, hosts, f"run {n} of setup {setup}")
    print(f"  {setup} ({SETUPS[setup]}): {run.wall:6.1f}s wall, {run.cpu:6.1f} CPU-s control node, "
          f"{simulators:4.1f} CPU-s simulators, {others:5.1f} CPU-s other processes", flush=True)  # fmt: skip
    return Measure(run, simulators, others)


# --- results and report ---------------------------------------------------------------------------


def setup_result(setup: str, forks: int, measures: list[Measure], devices: int, cores: int) -> dict:
    walls = [m.run.wall for m in measures]
    median = statistics.median(walls)
    return {
        "setup": setup,
        "label": SETUPS[setup],
        "forks": forks,
        "runs_s": [round(w, 2) for w in walls],
        "median_s": round(median, 2),
        "s_per_device": round(median / devices, 3),
        "controller_cpu_s_per_device": round(statistics.median(m.run.cpu for m in measures) / devices, 3),
        "simulator_cpu_s_per_device": round(statistics.median(m.simulators for m in measures) / devices, 4),
        # The share of the machine's cores that processes outside the bench took during the runs.
        "others_cpu_share": round(sum(m.others for m in measures) / (sum(walls) * cores), 3),
    }


def verdict(results: list[dict], target: float = TARGET_S_PER_DEVICE) -> dict:
    """The faster setup against the target."""
    best = min(results, key=lambda r: r["s_per_device"])
    per_device = best["s_per_device"]
    meets = per_device <= target
    how = "meets" if meets else "misses"
    text = (f"{how} the {target:g} s per device target: {per_device:.2f} s per device with {best['setup']} "
            f"({best['label']}, forks {best['forks']}), {per_device / target:.1f}x the target")  # fmt: skip
    return {"meets": meets, "setup": best["setup"], "s_per_device": per_device, "text": text}


def markdown(report: dict) -> str:
    """The section for reports/bench/summary.md."""
    rows = [
        [f"{r['setup']}: {r['label']}", r["forks"], f"{r['median_s']:.1f}", ", ".join(f"{w:.1f}" for w in r["runs_s"]),
         f"{r['s_per_device']:.2f}", f"{r['controller_cpu_s_per_device']:.2f}",
         f"{r['simulator_cpu_s_per_device']:.3f}", f"{r['others_cpu_share']:.0%}"]
        for r in report["setups"]
    ]  # fmt: skip
    cpu_floor = min(r["controller_cpu_s_per_device"] for r in report["setups"]) / report["cores"]
    return "\n".join([
        f"## Devices: `playbooks/devices.yml`, no change, {report['cameras']} cameras and {report['terminals']} "
        "PDKS terminals",
        "",
        f"{report['date']}, {report['cores']} cores, ansible-core {report['ansible_core']}. {report['devices']} "
        f"simulated devices ({report['cameras']} IP cameras, {report['terminals']} PDKS terminals) on loopback, in one "
        f"process beside the control node. Median of {report['repeat']} interleaved round(s) after a converge run "
        f"({report['converge_s']:.0f} s) and an unmeasured warm-up; every measured run changed nothing. "
        "Logs: `.lab/runs/bench/devices-*.log`.",
        "",
        table(["setup", "forks", "median s", "runs s", "s per device", "control node CPU s per device",
               "simulators CPU s per device", "cores taken by other processes"], rows, "lrrlrrrr"),  # fmt: skip
        "",
        f"A / B: {report['ratio_a_to_b']:.2f}x. The control node's CPU time alone, spread over {report['cores']} "
        f"cores, comes to {cpu_floor:.2f} s per device. The machine is shared: the last column is the share of its "
        "cores that processes outside the bench took during the runs.",
        "",
        f"**Verdict: {report['verdict']['text']}.**",
        "",
    ])  # fmt: skip


def ansible_core_version() -> str:
    from ansible.release import __version__

    return __version__


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--terminals", type=int, default=20, help="PDKS terminals")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds (each runs A, then B)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        fleet_hosts(args.cameras, args.terminals)
    except ValueError as exc:
        parser.error(str(exc))
    overridden = sorted(k for k in STOCK if k in os.environ)
    if overridden:
        sys.exit(f"devices_nochange: unset {', '.join(overridden)}: setup B is our ansible.cfg as it is")
    taken = busy(tcp_listeners(Path("/proc/net/tcp").read_text(encoding="ascii")))
    if taken:
        sys.exit(f"devices_nochange: something already listens on the bench's addresses: {', '.join(taken)}")

    t0 = time.monotonic()
    forks = {"A": int(STOCK["ANSIBLE_FORKS"]), "B": int(tuned_settings()["ANSIBLE_FORKS"])}
    devices = args.cameras + args.terminals
    LOGS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-devices-") as tmp:
        workdir = Path(tmp)
        inventory_dir = workdir / "inventory"
        hosts = write_inventory(inventory_dir, args.cameras, args.terminals)
        child = ("import sys; sys.path.insert(0, sys.argv[1]); import devices_nochange; "
                 "devices_nochange.serve_fleet(sys.argv[2], sys.argv[3])")  # fmt: skip
        fleet = subprocess.Popen(
            [sys.executable, "-c", child, str(ROOT / "bench"), str(inventory_dir), str(workdir / "state")],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            started = fleet_ready(fleet)
            print(f"devices_nochange: {len(started)} simulators up on {CAMERA_NET} and {PDKS_NET}", flush=True)

            converge_s, changed = converge(inventory_dir, workdir, hosts)
            print(f"devices_nochange: converge run {converge_s:.1f}s, {changed} of {devices} devices changed",
                  flush=True)  # fmt: skip
            print("devices_nochange: warm-up (B, not measured)", flush=True)
            measured_run("B", 0, inventory_dir, workdir, hosts, fleet.pid)

            measures: dict[str, list[Measure]] = {"A": [], "B": []}
            for n in range(1, args.repeat + 1):
                print(f"devices_nochange: round {n} of {args.repeat}", flush=True)
                for setup in ("A", "B"):
                    measures[setup].append(measured_run(setup, n, inventory_dir, workdir, hosts, fleet.pid))
        finally:
            stop_fleet(fleet)

    cores = os.cpu_count() or 1
    results = [setup_result(s, forks[s], measures[s], devices, cores) for s in ("A", "B")]
    report = {
        "bench": "devices_nochange",
        "date": datetime.date.today().isoformat(),
        "cores": cores,
        "ansible_core": ansible_core_version(),
        "playbook": PLAYBOOK,
        "limit": LIMIT,
        "cameras": args.cameras,
        "terminals": args.terminals,
        "devices": devices,
        "repeat": args.repeat,
        "target_s_per_device": TARGET_S_PER_DEVICE,
        "converge_s": round(converge_s, 1),
        "setups": results,
        "ratio_a_to_b": round(results[0]["median_s"] / results[1]["median_s"], 3),
        "verdict": verdict(results),
        "total_s": round(time.monotonic() - t0),
    }
    text = markdown(report)
    print(text)
    print(f"devices_nochange: done in {report['total_s']}s")
    write_outputs(args.json, report, args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
