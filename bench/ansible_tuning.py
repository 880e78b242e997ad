#!/usr/bin/env python3
"""Benchmark: our tuned ansible.cfg against Ansible's stock settings, on a no-change run of
playbooks/site.yml on a converged lab (after `make demo`), on one host and on the whole lab.

"Stock" is our ansible.cfg with every speed setting set back to ansible-core's default through the
environment (bench/benchlib.py STOCK: forks 5, implicit gathering, no pipelining, ssh's stock
ControlPersist=60s, the linear strategy). The paths, vars plugins, vault and run ledger stay, since the
playbooks need them. The rounds alternate the setups (A B, then B A) so that a slow spell of the
machine falls on both; each run must change nothing, or the bench stops.

    .venv/bin/python bench/ansible_tuning.py [--host app01] [--repeat 1] [--warm-up] [--json F] [--markdown F]

The issue's target: the tuned setup at least 2x as fast as the stock one on the lab's no-change run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

from benchlib import LEDGER, ROOT, STOCK, Run, playbook, summary, table, tuned_settings, write_outputs

LOGS = ROOT / ".lab" / "runs" / "bench"
SETUPS = {"tuned": {}, "stock": STOCK}


def site_run(setup: str, limit: str | None, n: int) -> Run:
    args = ["-i", "inventories/lab", "playbooks/site.yml"] + (["--limit", limit] if limit else [])
    env = {**SETUPS[setup], **LEDGER}
    scope = limit or "lab"
    run = playbook(args, env, LOGS / f"tuning-{scope}-{setup}-{n}.log", what="ansible_tuning")
    print(f"  {scope:<8} {setup:<6} {run.wall:7.1f}s wall, {run.cpu:7.1f} CPU-s, {run.tasks} task results", flush=True)
    return run


def markdown(results: dict, settings: dict[str, str], host: str, repeat: int) -> str:
    rows = []
    for scope in (host, "lab"):
        for setup in SETUPS:
            r = results[scope][setup]
            label = f"`--limit {host}`" if scope == host else f"whole lab ({r['hosts']} hosts)"
            per_task = round(r["median_s"] / max(r["tasks"], 1), 3)
            rows.append([label, setup, r["median_s"], r["cpu_s"], r["tasks"], per_task])
    ratios = {scope: results[scope]["stock"]["median_s"] / results[scope]["tuned"]["median_s"] for scope in results}
    verdict = "meets" if ratios["lab"] >= 2 else "misses"
    setting_rows = [[f"`{k}`", f"`{v}`", f"`{settings.get(k, '?')}`"] for k, v in STOCK.items()]
    return "\n".join([
        "## Tuned `ansible.cfg` against Ansible's stock settings: `site.yml`, no change",
        "",
        f"{datetime.date.today()}, {os.cpu_count()} cores, median of {repeat} interleaved round(s); "
        "every run changed nothing. Logs: `.lab/runs/bench/tuning-*.log`.",
        "",
        table(["setting (environment)", "stock", "ours (ansible.cfg)"], setting_rows, "lll"),
        "",
        table(["scope", "setup", "median s", "CPU s (control node)", "task results", "s per task result"], rows,
              "llrrrr"),  # fmt: skip
        "",
        f"**Stock / tuned: {ratios[host]:.2f}x on one host, {ratios['lab']:.2f}x on the whole lab** "
        f"(target 2x: the lab run {verdict} it).",
        "",
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="app01", help="the one-host scope (default app01: web, mail relay, backups)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--warm-up", action="store_true", help="one unmeasured run first")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    settings = tuned_settings()
    t0 = time.monotonic()
    if args.warm_up:
        print("ansible_tuning: warm-up run (tuned, whole lab, not measured)", flush=True)
        site_run("tuned", None, 0)
    runs: dict[str, dict[str, list[Run]]] = {s: {k: [] for k in SETUPS} for s in (args.host, "lab")}
    for n in range(1, args.repeat + 1):
        order = list(SETUPS) if n % 2 else list(reversed(SETUPS))
        print(f"ansible_tuning: round {n} of {args.repeat} ({' then '.join(order)})", flush=True)
        for scope in (args.host, "lab"):
            for setup in order:
                runs[scope][setup].append(site_run(setup, None if scope == "lab" else scope, n))
    results = {scope: {setup: summary(r) for setup, r in by_setup.items()} for scope, by_setup in runs.items()}
    text = markdown(results, settings, args.host, args.repeat)
    print(text)
    print(f"ansible_tuning: done in {time.monotonic() - t0:.0f}s")
    report = {"host": args.host, "repeat": args.repeat, "cores": os.cpu_count(), "stock": STOCK,
              "tuned": settings, "results": results}  # fmt: skip
    write_outputs(args.json, report, args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
