#!/usr/bin/env python3
"""Benchmark: a no-change run of the ISMS baseline (playbooks/isms.yml) on one lab host against
the same run on every lab Linux host, in one invocation, on a converged lab.

It reports, for each setup, the wall time (median of --repeat runs), the number of tasks the
host ran (ok + changed + skipped in the recap) and the cost per task and per host, and fails if
any run changed something (then it was not a no-change run and the numbers mean nothing).

    .venv/bin/python bench/isms_nochange.py [--repeat 3] [--host app01] [--json .lab/runs/isms-nochange.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
from playrecap import recap  # noqa: E402 - lab/ holds the shared helpers of the lab tools

PLAYBOOK = ["ansible-playbook", "-i", "inventories/lab", "playbooks/isms.yml"]


def run_once(limit: str | None) -> tuple[float, dict[str, dict[str, int]]]:
    argv = [str(ROOT / ".venv" / "bin" / PLAYBOOK[0]), *PLAYBOOK[1:]] + (["--limit", limit] if limit else [])
    start = time.monotonic()
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    wall = time.monotonic() - start
    if res.returncode != 0:
        sys.exit(f"isms_nochange: the run failed:\n{res.stdout[-3000:]}")
    hosts = recap(res.stdout)
    changed = {h: r["changed"] for h, r in hosts.items() if r.get("changed")}
    if changed:
        sys.exit(f"isms_nochange: not a no-change run, converge the lab first (changed: {changed})")
    return wall, hosts


def measure(label: str, limit: str | None, repeat: int) -> dict:
    walls, hosts = [], {}
    for _ in range(repeat):
        wall, hosts = run_once(limit)
        walls.append(wall)
    tasks = {h: r["ok"] + r["changed"] + r["skipped"] for h, r in hosts.items()}
    median = statistics.median(walls)
    return {
        "setup": label,
        "hosts": len(hosts),
        "runs": [round(w, 1) for w in walls],
        "wall_s": round(median, 1),
        "tasks_per_host": max(tasks.values()) if tasks else 0,
        "s_per_host": round(median / max(len(hosts), 1), 2),
        "ms_per_host_task": round(1000 * median / max(sum(tasks.values()), 1), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--host", default="app01")
    parser.add_argument("--json", type=Path, default=ROOT / ".lab" / "runs" / "isms-nochange.json")
    args = parser.parse_args(argv)
    results = [measure(f"one host ({args.host})", args.host, args.repeat), measure("whole lab", None, args.repeat)]
    print(f"{'setup':<22} {'hosts':>5} {'tasks/host':>10} {'wall s':>7} {'s/host':>7} {'ms/host-task':>13}  runs")
    for r in results:
        print(
            f"{r['setup']:<22} {r['hosts']:>5} {r['tasks_per_host']:>10} {r['wall_s']:>7} {r['s_per_host']:>7}"
            f" {r['ms_per_host_task']:>13}  {r['runs']}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
