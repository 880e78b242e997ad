#!/usr/bin/env python3
"""Benchmark: a no-change run of camera_settings across N simulated cameras (50 by default), with
two fork counts in one invocation.

The cameras are lab/devices/camera.py simulators on 127.0.2.10 upwards (loopback only), all in
one helper process. The playbook is first run once to converge them; then, for each setup, the
same playbook runs --repeat times and the median wall time is reported with the time per device.
A run that changes anything fails the benchmark: it was not a no-change run. The simulators run
on the same machine and take their share of its cores, as in the lab; the CPU seconds per device
are reported apart for the controller (ansible-playbook and the module processes) and for the
simulators, whose share a fleet of real cameras would not put on the control node.

    .venv/bin/python bench/cameras_nochange.py [--cameras 50] [--forks 5 25] [--repeat 3] [--json FILE]

The issue's target is 0.3 s per device for a no-change run with sensible forks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
from playrecap import recap  # noqa: E402 - lab/ holds the shared helpers of the lab tools

PASSWORD = "Bench-Kamera-2026"  # noqa: S105 - a throwaway password of simulators that live for this run

# Runs in a child process: start the simulators, print their ports as one JSON line, wait for stdin to close.
FLEET = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import camera
count, state_dir, password = int(sys.argv[2]), sys.argv[3], sys.argv[4]
servers = []
for i in range(count):
    address = f"127.0.2.{10 + i}"
    servers.append(camera.serve(address, 0, f"{state_dir}/cam{i:02d}.json", user="admin", password=password,
                                hostname=f"fabrika-{i:02d}"))
print(json.dumps([[s.host, s.port] for s in servers]), flush=True)
sys.stdin.read()
for s in servers:
    s.shutdown()
"""

PLAYBOOK = """
- name: Cameras follow the baseline (benchmark)
  hosts: cameras
  gather_facts: false
  tasks:
    - name: NTP, time zone, host name, discovery, cloud and UPnP are as wanted
      camera_settings:
        name: "{{ inventory_hostname }}"
        host: "{{ ansible_host }}"
        port: "{{ camera_port }}"
        username: admin
        password: "{{ camera_password }}"
        vendor: hikvision
        ntp_servers: [10.231.0.1]
        timezone: Europe/Istanbul
        hostname: "{{ inventory_hostname }}"
        discoverable: false
        cloud: false
        upnp: false
"""


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def play(workdir: Path, forks: int) -> tuple[float, dict]:
    argv = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(workdir / "inventory.yml"),
            str(workdir / "play.yml"), "--forks", str(forks)]  # fmt: skip
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "BELEDIYE_LEDGER_PATH": str(workdir / "ledger.jsonl"),
           "BELEDIYE_LEDGER_SYSLOG": "false"}  # fmt: skip
    start = time.monotonic()
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - start
    if res.returncode != 0:
        sys.exit(f"cameras_nochange: the playbook failed (forks={forks}):\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return elapsed, recap(res.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--forks", type=int, nargs=2, default=[5, 25], metavar=("A", "B"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not 1 <= args.cameras <= 200:
        parser.error("--cameras must be 1..200 (127.0.2.10 upwards)")

    with tempfile.TemporaryDirectory(prefix="bench-cameras-") as tmp:
        workdir = Path(tmp)
        fleet = subprocess.Popen(
            [sys.executable, "-c", FLEET, str(ROOT / "lab" / "devices"), str(args.cameras), tmp, PASSWORD],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            ports = json.loads(fleet.stdout.readline())
            hosts = {
                f"kamera-bench-{i:02d}": {"ansible_host": host, "camera_port": port}
                for i, (host, port) in enumerate(ports)
            }
            inventory = {
                "all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python"),
                        "camera_password": PASSWORD,
                    },
                    "children": {"cameras": {"hosts": hosts}},
                }
            }
            (workdir / "inventory.yml").write_text(json.dumps(inventory), encoding="utf-8")
            (workdir / "play.yml").write_text(PLAYBOOK, encoding="utf-8")

            converge, first = play(workdir, max(args.forks))
            changed = sum(r.get("changed", 0) for r in first.values())
            print(f"converge: {converge:.1f}s, {changed} of {args.cameras} cameras changed")

            results = {}
            for forks in args.forks:
                times = []
                controller_cpu = simulator_cpu = 0.0
                for _ in range(args.repeat):
                    cpu0, sim0 = children_cpu(), process_cpu(fleet.pid)
                    elapsed, runs = play(workdir, forks)
                    controller_cpu += children_cpu() - cpu0
                    simulator_cpu += process_cpu(fleet.pid) - sim0
                    if any(r.get("changed", 0) for r in runs.values()):
                        sys.exit(f"cameras_nochange: a run with forks={forks} changed something")
                    times.append(elapsed)
                median = statistics.median(times)
                per_run = args.repeat * args.cameras
                results[forks] = {"median_s": round(median, 2), "per_device_s": round(median / args.cameras, 3),
                                  "runs_s": [round(t, 2) for t in times],
                                  "controller_cpu_s_per_device": round(controller_cpu / per_run, 3),
                                  "simulator_cpu_s_per_device": round(simulator_cpu / per_run, 3)}  # fmt: skip
                print(f"forks={forks:<3} no-change run: median {median:.1f}s over {args.repeat} runs, "
                      f"{median / args.cameras:.3f}s per device; CPU per device: controller "
                      f"{controller_cpu / per_run:.3f}s, simulators {simulator_cpu / per_run:.3f}s")  # fmt: skip
            a, b = args.forks
            ratio = results[a]["median_s"] / results[b]["median_s"]
            print(f"forks={a} takes {ratio:.2f}x the time of forks={b} (target: 0.3 s per device)")
        finally:
            fleet.stdin.close()
            fleet.wait(timeout=30)
    if args.json:
        report = {"cameras": args.cameras, "cores": os.cpu_count(), "converge_s": round(converge, 1), "setups": results}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
