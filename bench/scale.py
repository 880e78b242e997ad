#!/usr/bin/env python3
"""Benchmark: the server baseline's no-change run at 1, 5, 10 and 20 hosts, tuned against stock settings,
and the cost of its slowest tasks.

The lab (after `make demo`) gets COUNT extra Debian servers from `lab/labctl.py scale COUNT`
(scale01.., plain members of `servers`, inventory .lab/scale/hosts.yml read beside inventories/lab).
The bench converges them with the baseline (playbooks/linux.yml and playbooks/isms.yml: common,
the Zabbix agent and the ISMS controls), then measures no-change runs limited to the first N of
them, for each N tuned, and stock at the smallest and largest N (bench/benchlib.py STOCK), with the
setups alternating. Every run has the profile_tasks callback; the tuned run on the most hosts gives
the 20 slowest tasks. The CPU that the scale hosts' containers use is read from their cgroups. The
scale hosts stay up, converged, for the next run (--remove, or `make lab-down`, removes them).

    .venv/bin/python bench/scale.py [--counts 1 5 10 20] [--stock-counts 1 20] [--repeat 1] [--remove]
                                    [--json F] [--markdown F] [--svg F]

The issue's target: 20 hosts in at most 3x the time of one host (tuned, 2 cores).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import BIN, LEDGER, ROOT, STOCK, Run, playbook, summary, svg_plot, table, write_outputs

LOGS = ROOT / ".lab" / "runs" / "bench"
INVENTORY = ROOT / ".lab" / "scale" / "hosts.yml"
PLAYBOOKS = ["playbooks/linux.yml", "playbooks/isms.yml"]
SETUPS = {"tuned": {}, "stock": STOCK}
# A line of profile_tasks' TASKS RECAP: "common : Packages are installed ------------------- 3.21s" (a long
# name leaves fewer dashes, or none)
PROFILE_LINE = re.compile(r"^(?P<task>.*?\S) -*\s?(?P<secs>\d+\.\d+)s$")


def container_ids(count: int) -> list[str]:
    names = [f"lab-scale{i:02d}" for i in range(1, count + 1)]
    env = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}
    argv = ["podman", "container", "inspect", "--format", "{{.Id}}", *names]
    res = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    return res.stdout.split()


def hosts_cpu(ids: list[str]) -> float | None:
    """CPU seconds the given containers have used so far (cgroup v1 cpuacct, as on the lab machine), or None
    where the counter is not found. In the lab the managed hosts share the control node's cores; this is
    their part of a run, which real servers would spend on their own CPUs."""
    total = 0
    for cid in ids:
        path = Path(f"/sys/fs/cgroup/cpuacct/libpod_parent/libpod-{cid}/cpuacct.usage")
        if not path.exists():
            return None
        total += int(path.read_text())
    return total / 1e9


def labctl_scale(count: int) -> None:
    env = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}
    subprocess.run([str(BIN / "python"), "lab/labctl.py", "scale", str(count)], cwd=ROOT, env=env, check=True)


def baseline_args(count: int) -> list[str]:
    return ["-i", "inventories/lab", "-i", str(INVENTORY), *PLAYBOOKS, "--limit", f"scale_servers[0:{count - 1}]"]


def converge(count: int) -> float:
    """One run that converges the scale hosts. No second run to prove it: every measured run that follows
    must change nothing, or the bench stops."""
    run = playbook(baseline_args(count), LEDGER, LOGS / "scale-converge.log", what="scale (converge)", no_change=False)
    return run.wall


# Every measured run, in both setups, times its tasks with profile_tasks (a few timestamps per task); the
# tuned run on the most hosts gives the table of the slowest tasks.
PROFILE = {"ANSIBLE_CALLBACKS_ENABLED": "ledger,ansible.posix.profile_tasks", "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "20",
           "PROFILE_TASKS_SORT_ORDER": "descending"}  # fmt: skip


def slowest_tasks(stdout: str, limit: int = 20) -> list[tuple[str, float]]:
    """(task, seconds) from the last TASKS RECAP of profile_tasks (it prints one after each playbook of the
    run, the last one covering them all), slowest first."""
    if "TASKS RECAP" not in stdout:
        return []
    found = []
    for line in stdout.rsplit("TASKS RECAP", 1)[1].splitlines():
        match = PROFILE_LINE.match(line.strip())
        if match:
            found.append((match["task"], float(match["secs"])))
    return sorted(found, key=lambda item: -item[1])[:limit]


def markdown(results: dict, counts: list[int], top: list[tuple[str, float]], converge_s: float | None, svg: str | None,
             repeat: int) -> str:  # fmt: skip
    """The section of the summary. `results[n][setup]` holds benchlib.summary() plus `hosts_cpu_s` (None when
    unknown); the tuned setup is measured at every count, the stock one at least at the first and last."""
    rows = []
    for n in counts:
        for setup, r in results[n].items():
            host_cpu = "?" if r.get("hosts_cpu_s") is None else round(r["hosts_cpu_s"] / n, 1)
            rows.append([n, setup, r["median_s"], round(r["median_s"] / n, 2), r["cpu_s"], host_cpu, r["tasks"],
                         round(r["median_s"] / max(r["tasks"], 1), 3)])  # fmt: skip
    one, most = counts[0], counts[-1]
    growth = {s: results[most][s]["median_s"] / results[one][s]["median_s"] for s in SETUPS if s in results[most]}
    speedup = {n: results[n]["stock"]["median_s"] / results[n]["tuned"]["median_s"] for n in counts
               if "stock" in results[n]}  # fmt: skip
    verdict = "meets" if growth["tuned"] <= 3 else "misses"
    total = sum(s for _, s in top) or 1
    converged = "converged before" if converge_s is None else f"converged first in {converge_s:.0f}s"
    stock_growth = f" and {growth['stock']:.2f}x (stock)" if "stock" in growth else ""
    lines = [
        "## Scale: the server baseline's no-change run at " + ", ".join(str(n) for n in counts) + " hosts",
        "",
        f"{datetime.date.today()}, {os.cpu_count()} cores; `playbooks/linux.yml` + `playbooks/isms.yml` on the scale "
        f"hosts of `lab/labctl.py scale {most}` ({converged}); median of {repeat} "
        "interleaved round(s), every run changed nothing. The managed hosts are containers on the same cores as "
        'the control node: their CPU (the column "hosts CPU s per host") competes with the control node\'s.',
        "",
        table(
            [
                "hosts",
                "setup",
                "median s",
                "s per host",
                "control node CPU s",
                "hosts CPU s per host",
                "task results",
                "s per task result",
            ],
            rows,
            "rlrrrrrr",
        ),  # fmt: skip
        "",
        f"**{most} hosts take {growth['tuned']:.2f}x the time of {one} (tuned)**{stock_growth}; target at most 3x: "
        f"tuned {verdict} it. Stock / tuned: " + ", ".join(f"{v:.2f}x at {n}" for n, v in speedup.items()) + ".",
        "",
    ]
    if svg:
        lines += [f"![no-change run time against host count]({svg})", ""]
    if top:
        lines += [
            f"### The 20 slowest tasks (tuned, {most} hosts; profile_tasks: each task's wall time over all hosts)",
            "",
            table(
                ["#", "task", "s", "share of the top 20"],
                [[i, t.replace("|", "/"), s, f"{100 * s / total:.0f}%"] for i, (t, s) in enumerate(top, 1)],
                "rlrr",
            ),  # fmt: skip
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--stock-counts", type=int, nargs="*", help="where the stock setup runs too (default: "
                        "the smallest and largest count; stock runs on many hosts are the longest)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--remove", action="store_true", help="remove the scale hosts at the end (default: keep "
                        "them, converged, for the next run; `make lab-down` removes them)")  # fmt: skip
    parser.add_argument(
        "--no-converge",
        action="store_true",
        help="the scale hosts are converged already (a run on 20 hosts takes 10 min here; a measured run that "
        "changes anything stops the bench)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--svg", type=Path, help="the plot of time against host count (linked from the Markdown)")
    args = parser.parse_args()
    counts = sorted(set(args.counts))
    if counts[0] < 1:
        parser.error("--counts must be at least 1")
    stock_counts = set(args.stock_counts if args.stock_counts is not None else (counts[0], counts[-1])) & set(counts)
    t0 = time.monotonic()
    labctl_scale(counts[-1])
    try:
        converge_s = None
        if not args.no_converge:
            print(f"scale: converging {counts[-1]} scale hosts", flush=True)
            converge_s = converge(counts[-1])
            print(f"scale: converged in {converge_s:.0f}s", flush=True)
        ids = container_ids(counts[-1])
        runs: dict[int, dict[str, list[Run]]] = {n: {} for n in counts}
        host_cpu_runs: dict[int, dict[str, list[float | None]]] = {n: {} for n in counts}
        for r in range(1, args.repeat + 1):
            for i, n in enumerate(counts):
                setups = [s for s in SETUPS if s == "tuned" or n in stock_counts]
                for setup in setups if (r + i) % 2 else list(reversed(setups)):
                    before = hosts_cpu(ids[:n])
                    run = playbook(baseline_args(n), {**SETUPS[setup], **LEDGER, **PROFILE},
                                   LOGS / f"scale-{n}-{setup}-{r}.log", what="scale")  # fmt: skip
                    hosts_cpu_now = hosts_cpu(ids[:n])
                    used = None if before is None or hosts_cpu_now is None else hosts_cpu_now - before
                    runs[n].setdefault(setup, []).append(run)
                    host_cpu_runs[n].setdefault(setup, []).append(used)
                    print(f"  {n:>2} hosts {setup:<6} {run.wall:7.1f}s wall, {run.cpu:7.1f} CPU-s control node, "
                          f"{used if used is None else round(used, 1)} CPU-s hosts", flush=True)  # fmt: skip
        top = slowest_tasks(runs[counts[-1]]["tuned"][-1].stdout)
    finally:
        if args.remove:
            labctl_scale(0)
    results = {n: {s: summary(r) for s, r in by.items()} for n, by in runs.items()}
    for n, by in host_cpu_runs.items():
        for setup, used in by.items():
            known = [u for u in used if u is not None]
            results[n][setup]["hosts_cpu_s"] = round(statistics.median(known), 1) if known else None
    svg_name = None
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        series = {s: [(n, results[n][s]["median_s"]) for n in counts if s in results[n]] for s in SETUPS}
        series["3x one host (tuned)"] = [(n, 3 * results[counts[0]]["tuned"]["median_s"]) for n in counts]
        args.svg.write_text(svg_plot(series, "hosts", "seconds, no-change run", "Server baseline: time against hosts"),
                            encoding="utf-8")  # fmt: skip
        svg_name = args.svg.name
    text = markdown(results, counts, top, converge_s, svg_name, args.repeat)
    print(text)
    print(f"scale: done in {time.monotonic() - t0:.0f}s")
    report = {"counts": counts, "cores": os.cpu_count(), "converge_s": converge_s,
              "results": {str(n): v for n, v in results.items()}, "top_tasks": top}  # fmt: skip
    write_outputs(args.json, report, args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
