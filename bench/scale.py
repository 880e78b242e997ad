#!/usr/bin/env python3
"""Benchmark: the server baseline's no-change run at 1, 5, 10 and 20 hosts, tuned against stock settings,
and the cost of its slowest tasks.

The lab (after `make demo`) gets COUNT extra Debian servers from `lab/labctl.py scale COUNT`
(scale01.., plain members of `servers`, inventory .lab/scale/hosts.yml read beside inventories/lab).
The bench converges them with the baseline (playbooks/linux.yml and playbooks/isms.yml: common,
the Zabbix agent and the ISMS controls), then measures no-change runs limited to the first N of
them, for each N, in both setups (bench/benchlib.py STOCK), with the setups alternating. A last run
at the largest N, tuned, with the profile_tasks callback gives the 20 slowest tasks. The scale
hosts are removed at the end unless --keep.

    .venv/bin/python bench/scale.py [--counts 1 5 10 20] [--repeat 1] [--keep] [--json F] [--markdown F] [--svg F]

The issue's target: 20 hosts in at most 3x the time of one host (tuned, 2 cores).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from benchlib import BIN, ROOT, STOCK, Run, playbook, summary, svg_plot, table

LOGS = ROOT / ".lab" / "runs" / "bench"
INVENTORY = ROOT / ".lab" / "scale" / "hosts.yml"
PLAYBOOKS = ["playbooks/linux.yml", "playbooks/isms.yml"]
SETUPS = {"tuned": {}, "stock": STOCK}
LEDGER = {"BELEDIYE_LEDGER_PATH": str(ROOT / ".lab" / "ledger" / "bench.jsonl"), "BELEDIYE_LEDGER_SYSLOG": "false"}
# A line of profile_tasks' TASKS RECAP: "common : Packages are installed ------------------- 3.21s" (a long
# name leaves fewer dashes, or none)
PROFILE_LINE = re.compile(r"^(?P<task>.*?\S) -*\s?(?P<secs>\d+\.\d+)s$")


def labctl_scale(count: int) -> None:
    env = {**os.environ, "CONTAINERS_CONF": str(ROOT / "lab" / "containers.conf")}
    subprocess.run([str(BIN / "python"), "lab/labctl.py", "scale", str(count)], cwd=ROOT, env=env, check=True)


def baseline_args(count: int) -> list[str]:
    return ["-i", "inventories/lab", "-i", str(INVENTORY), *PLAYBOOKS, "--limit", f"scale_servers[0:{count - 1}]"]


def converge(count: int) -> float:
    """Two runs: the first converges the scale hosts, the second must change nothing."""
    start = time.monotonic()
    argv = [str(BIN / "ansible-playbook"), *baseline_args(count)]
    log = LOGS / "scale-converge.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        res = subprocess.run(argv, cwd=ROOT, env={**os.environ, **LEDGER, "ANSIBLE_NOCOLOR": "1"}, stdout=out,
                             stderr=subprocess.STDOUT, check=False)  # fmt: skip
    if res.returncode != 0:
        sys.exit(f"scale: converging the scale hosts failed, see {log}")
    playbook(baseline_args(count), LEDGER, LOGS / "scale-second.log", what="scale (second converge run)")
    return time.monotonic() - start


def profile(count: int) -> list[tuple[str, float]]:
    """The 20 slowest tasks of a tuned no-change run on `count` hosts (profile_tasks callback)."""
    env = {**LEDGER, "ANSIBLE_CALLBACKS_ENABLED": "ledger,ansible.posix.profile_tasks",
           "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "20", "PROFILE_TASKS_SORT_ORDER": "descending"}  # fmt: skip
    run = playbook(baseline_args(count), env, LOGS / f"scale-profile-{count}.log", what="scale (profile)")
    return slowest_tasks(run.stdout)


def slowest_tasks(stdout: str, limit: int = 20) -> list[tuple[str, float]]:
    """(task, seconds) from the TASKS RECAP of profile_tasks, slowest first."""
    if "TASKS RECAP" not in stdout:
        return []
    found = []
    for line in stdout.split("TASKS RECAP", 1)[1].splitlines():
        match = PROFILE_LINE.match(line.strip())
        if match:
            found.append((match["task"], float(match["secs"])))
    return sorted(found, key=lambda item: -item[1])[:limit]


def markdown(results: dict, counts: list[int], top: list[tuple[str, float]], converge_s: float, svg: str | None,
             repeat: int) -> str:  # fmt: skip
    rows = []
    for n in counts:
        for setup in SETUPS:
            r = results[n][setup]
            rows.append([n, setup, r["median_s"], round(r["median_s"] / n, 2), r["cpu_s"], r["tasks"],
                         round(r["median_s"] / max(r["tasks"], 1), 3)])  # fmt: skip
    one, most = counts[0], counts[-1]
    growth = {s: results[most][s]["median_s"] / results[one][s]["median_s"] for s in SETUPS}
    speedup = {n: results[n]["stock"]["median_s"] / results[n]["tuned"]["median_s"] for n in counts}
    verdict = "meets" if growth["tuned"] <= 3 else "misses"
    total = sum(s for _, s in top) or 1
    lines = [
        "## Scale: the server baseline's no-change run at " + ", ".join(str(n) for n in counts) + " hosts",
        "",
        f"{datetime.date.today()}, {os.cpu_count()} cores; `playbooks/linux.yml` + `playbooks/isms.yml` on the scale "
        f"hosts of `lab/labctl.py scale {most}` (converged first in {converge_s:.0f}s); median of {repeat} "
        "interleaved round(s), every run changed nothing.",
        "",
        table(
            ["hosts", "setup", "median s", "s per host", "CPU s (control node)", "task results", "s per task result"],
            rows,
            "rlrrrrr",
        ),  # fmt: skip
        "",
        f"**{most} hosts take {growth['tuned']:.2f}x the time of {one} (tuned)** and {growth['stock']:.2f}x (stock); "
        f"target at most 3x: tuned {verdict} it. Stock / tuned: "
        + ", ".join(f"{speedup[n]:.2f}x at {n}" for n in counts)
        + ".",
        "",
    ]
    if svg:
        lines += [f"![no-change run time against host count]({svg})", ""]
    if top:
        lines += [
            f"### The 20 slowest tasks (tuned, {most} hosts, profile_tasks: wall time of each task over all hosts)",
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
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="leave the scale hosts running")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--svg", type=Path, help="the plot of time against host count (linked from the Markdown)")
    args = parser.parse_args()
    counts = sorted(set(args.counts))
    if counts[0] < 1:
        parser.error("--counts must be at least 1")
    t0 = time.monotonic()
    labctl_scale(counts[-1])
    try:
        print(f"scale: converging {counts[-1]} scale hosts", flush=True)
        converge_s = converge(counts[-1])
        print(f"scale: converged in {converge_s:.0f}s", flush=True)
        runs: dict[int, dict[str, list[Run]]] = {n: {s: [] for s in SETUPS} for n in counts}
        for r in range(1, args.repeat + 1):
            for i, n in enumerate(counts):
                order = list(SETUPS) if (r + i) % 2 else list(reversed(SETUPS))
                for setup in order:
                    run = playbook(baseline_args(n), {**SETUPS[setup], **LEDGER}, LOGS / f"scale-{n}-{setup}-{r}.log",
                                   what="scale")  # fmt: skip
                    runs[n][setup].append(run)
                    print(f"  {n:>2} hosts {setup:<6} {run.wall:7.1f}s wall, {run.cpu:7.1f} CPU-s", flush=True)
        top = profile(counts[-1])
    finally:
        if not args.keep:
            labctl_scale(0)
    results = {n: {s: summary(r) for s, r in by.items()} for n, by in runs.items()}
    svg_name = None
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        series = {setup: [(n, results[n][setup]["median_s"]) for n in counts] for setup in SETUPS}
        series["3x one host (tuned)"] = [(n, 3 * results[counts[0]]["tuned"]["median_s"]) for n in counts]
        args.svg.write_text(svg_plot(series, "hosts", "seconds, no-change run", "Server baseline: time against hosts"),
                            encoding="utf-8")  # fmt: skip
        svg_name = args.svg.name
    text = markdown(results, counts, top, converge_s, svg_name, args.repeat)
    print(text)
    print(f"scale: done in {time.monotonic() - t0:.0f}s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"counts": counts, "cores": os.cpu_count(), "converge_s": round(converge_s, 1),
                  "results": {str(n): v for n, v in results.items()}, "top_tasks": top}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
