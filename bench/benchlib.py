"""What the lab benchmarks share: the stock-settings setup, a measured no-change playbook run, interleaved
rounds, Markdown tables and a small SVG line plot (no plotting library on the control node).

The benchmarks compare two setups in one run, on the same hosts, with the rounds interleaved
(A B A B ...), because absolute times on a shared two-core machine are noisy; their ratio is the result.
"""

from __future__ import annotations

import html
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))
from playrecap import recap  # noqa: E402 - lab/ holds the shared helpers of the lab tools

BIN = ROOT / ".venv" / "bin"

# The speed settings of our ansible.cfg, each set back to ansible-core's stock value through the
# environment (which wins over ansible.cfg): the "defaults" setup. Everything else, such as the
# paths, the vars plugins, the vault and the run ledger, stays as it is: without those the
# playbooks would not run at all, and they cost the same in both setups.
STOCK = {
    "ANSIBLE_FORKS": "5",
    "ANSIBLE_GATHERING": "implicit",
    "ANSIBLE_PIPELINING": "False",
    "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s",
    "ANSIBLE_STRATEGY": "linear",
}


def tuned_settings() -> dict[str, str]:
    """The values our ansible.cfg gives the settings of STOCK (for the report), read with ansible-config."""
    res = subprocess.run(
        [str(BIN / "ansible-config"), "dump", "-t", "all", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
    )  # fmt: skip
    base = {"DEFAULT_FORKS": "ANSIBLE_FORKS", "DEFAULT_GATHERING": "ANSIBLE_GATHERING",
            "DEFAULT_STRATEGY": "ANSIBLE_STRATEGY"}  # fmt: skip
    ssh = {"pipelining": "ANSIBLE_PIPELINING", "ssh_args": "ANSIBLE_SSH_ARGS"}
    found: dict[str, str] = {}
    for entry in json.loads(res.stdout):
        if entry.get("name") in base:
            found[base[entry["name"]]] = str(entry["value"])
        for plugin in entry.get("CONNECTION_PLUGINS", []):
            for option in plugin.get("ssh", []):
                if option["name"] in ssh:
                    found[ssh[option["name"]]] = str(option["value"])
    return found


@dataclass
class Run:
    wall: float
    cpu: float  # CPU seconds of ansible-playbook and everything it started on the control node
    hosts: dict[str, dict[str, int]]
    stdout: str = field(repr=False, default="")

    @property
    def tasks(self) -> int:
        """Task results of the run, all hosts together (ok + changed + skipped of the recap)."""
        return sum(r.get("ok", 0) + r.get("changed", 0) + r.get("skipped", 0) for r in self.hosts.values())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# The lab benchmarks' runs go to a ledger of their own, not the lab's, and not to syslog.
LEDGER = {"BELEDIYE_LEDGER_PATH": str(ROOT / ".lab" / "ledger" / "bench.jsonl"), "BELEDIYE_LEDGER_SYSLOG": "false"}


def playbook(
    args: list[str], env: dict[str, str], log: Path | None = None, what: str = "bench", no_change: bool = True
) -> Run:
    """One ansible-playbook run from the repository root; exits if it fails or (unless `no_change` is
    false, as for a converge run) changes anything."""
    full_env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **env}
    cpu0, start = children_cpu(), time.monotonic()
    res = subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=ROOT, env=full_env, capture_output=True, text=True)
    wall, cpu = time.monotonic() - start, children_cpu() - cpu0
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(res.stdout + res.stderr, encoding="utf-8")
    if res.returncode != 0:
        sys.exit(f"{what}: ansible-playbook {' '.join(args)} failed (rc {res.returncode}):\n{res.stdout[-3000:]}")
    hosts = recap(res.stdout)
    if not hosts:
        sys.exit(f"{what}: no PLAY RECAP in the output of ansible-playbook {' '.join(args)}")
    changed = {h: r["changed"] for h, r in hosts.items() if r.get("changed")}
    if changed and no_change:
        sys.exit(f"{what}: not a no-change run, converge first (changed: {changed}; log {log})")
    return Run(wall, cpu, hosts, res.stdout)


def write_outputs(json_path: Path | None, report: dict, markdown_path: Path | None, text: str) -> None:
    """A stage's results: the data as JSON and its section of reports/bench/summary.md, where asked."""
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if markdown_path:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(text, encoding="utf-8")


def summary(runs: list[Run]) -> dict:
    walls = [r.wall for r in runs]
    return {
        "median_s": round(statistics.median(walls), 2),
        "runs_s": [round(w, 2) for w in walls],
        "cpu_s": round(statistics.median(r.cpu for r in runs), 2),
        "tasks": runs[-1].tasks,
        "hosts": len(runs[-1].hosts),
    }


def table(columns: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table; `align` has one letter per column: l or r (numbers right by default)."""
    if align is None:
        align = "".join("r" if isinstance(c, (int, float)) else "l" for c in rows[0]) if rows else "l" * len(columns)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def svg_plot(series: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str, title: str) -> str:
    """A line plot of a few series (name: [(x, y), ...]) as a standalone SVG document."""
    width, height, left, right, top, bottom = 640, 400, 64, 160, 36, 52
    points = [p for line in series.values() for p in line]
    xmax = max(x for x, _ in points) or 1
    ymax = max(y for _, y in points) or 1
    ymax = _nice_ceiling(ymax)
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + plot_w * x / xmax

    def sy(y: float) -> float:
        return top + plot_h * (1 - y / ymax)

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{sy(0)}" x2="{left + plot_w}" y2="{sy(0)}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{sy(0)}" stroke="black"/>',
    ]
    for i in range(5):
        y = ymax * i / 4
        out.append(f'<line x1="{left}" y1="{sy(y):.1f}" x2="{left + plot_w}" y2="{sy(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for x in sorted({x for x, _ in points}):
        out.append(f'<text x="{sx(x):.1f}" y="{sy(0) + 16:.1f}" text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 12}" text-anchor="middle">{html.escape(xlabel)}</text>')
    out.append(
        f'<text x="16" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 16 {top + plot_h / 2})">'
        f"{html.escape(ylabel)}</text>"
    )
    for n, (name, line) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in sorted(line))
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in line:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 12 + 18 * n
        out.append(f'<line x1="{left + plot_w + 12}" y1="{ly}" x2="{left + plot_w + 32}" y2="{ly}" stroke="{colour}" '
                   'stroke-width="2"/>')  # fmt: skip
        out.append(f'<text x="{left + plot_w + 38}" y="{ly + 4}">{html.escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value`."""
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude
