#!/usr/bin/env python3
"""Lynis hardening index of lab hosts, measured inside the hosts and compared side by side.

For each host this module, over SSH and sudo:

* installs Lynis if it is missing (through the host's own apt proxy);
* writes /etc/lynis/custom.prf with ``skip-test=KRNL-6000`` (in a container KRNL-6000 reads the
  kernel shared with the machine that runs the lab, not the host's own settings);
* runs ``lynis audit system --quick --no-colors --cronjob`` and fetches the report and the log;
* parses the hardening index, warnings, suggestions and the points of every test, and recomputes
  the index from the points to check that the parse agrees with Lynis;
* scores the host's sysctl *configuration* (sysctl.d files) against the values Lynis itself expects
  (``config-data=sysctl`` lines of its default profile). This stands in for KRNL-6000.

The parsers are pure functions of text, so tests/unit/test_lynis_score.py tests them without a host.

CLI::

    bench/lynis/lynis_score.py app01=app01 fresh=ansible@10.231.0.140 \\
        --ssh-opt "-i .lab/ssh/id_ed25519 -o UserKnownHostsFile=.lab/ssh/known_hosts" --top 10 --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shlex
import subprocess
import sys
import tarfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SSH_CONFIG = ROOT / ".lab" / "ssh" / "config"

LYNIS_ARGS = ["lynis", "audit", "system", "--quick", "--no-colors", "--cronjob"]
REPORT_PATH = "/var/log/lynis-report.dat"
LOG_PATH = "/var/log/lynis.log"
CUSTOM_PROFILE_PATH = "/etc/lynis/custom.prf"
DEFAULT_PROFILE_PATH = "/etc/lynis/default.prf"
# KRNL-6000 compares live sysctl values; in a container those are the test machine's kernel.
DEFAULT_SKIP_TESTS = ("KRNL-6000",)

# systemd-sysctl's search path, highest precedence first: a file in /etc hides a file of the same
# name further down. /lib is /usr/lib on merged-usr Debian 12 and is kept for older trees.
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
# Debian's procps links /etc/sysctl.d/99-sysctl.conf to ../sysctl.conf; that is the only way
# systemd-sysctl reads /etc/sysctl.conf, so we give it that name when the link is missing.
SYSCTL_CONF_ALIAS = "99-sysctl.conf"

SSH_TIMEOUT = 60
INSTALL_TIMEOUT = 600
LYNIS_TIMEOUT = 900


class LynisScoreError(Exception):
    """A measurement failed; the message names the host and the step."""


# --------------------------------------------------------------------------------------------
# report.dat
# --------------------------------------------------------------------------------------------


@dataclass
class Finding:
    """One warning or suggestion line of lynis-report.dat: ``TEST|text|details|solution|``."""

    test: str
    text: str
    details: str = "-"
    solution: str = "-"


@dataclass
class Report:
    hardening_index: int | None
    lynis_version: str | None
    warnings: list[Finding] = field(default_factory=list)
    suggestions: list[Finding] = field(default_factory=list)
    tests_executed: list[str] = field(default_factory=list)
    tests_skipped: list[str] = field(default_factory=list)


def parse_finding(value: str) -> Finding:
    parts = value.split("|")
    while len(parts) < 4:
        parts.append("-")
    return Finding(test=parts[0], text=parts[1], details=parts[2], solution=parts[3])


def parse_report(text: str) -> Report:
    """Parse lynis-report.dat (``key=value`` lines; ``key[]=value`` lines repeat)."""
    scalars: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if key.endswith("[]"):
            lists.setdefault(key[:-2], []).append(value)
        else:
            scalars[key] = value
    index = scalars.get("hardening_index", "")
    return Report(
        hardening_index=int(index) if index.isdigit() else None,
        lynis_version=scalars.get("lynis_version"),
        warnings=[parse_finding(v) for v in lists.get("warning", [])],
        suggestions=[parse_finding(v) for v in lists.get("suggestion", [])],
        tests_executed=[t for t in scalars.get("tests_executed", "").split("|") if t],
        tests_skipped=[t for t in scalars.get("tests_skipped", "").split("|") if t],
    )


# --------------------------------------------------------------------------------------------
# lynis.log
# --------------------------------------------------------------------------------------------

_TEST_START = re.compile(r"Performing test ID (?P<test>[A-Z]+-[0-9]+)")
# A new section ("====") or a skipped test ends the test that was being performed.
_TEST_END = re.compile(r"^(?:\S+ \S+ )?(?:====|Skipped test )")
_HP_PATTERNS = (
    # Lynis 3.0.x AddHP(): full or partial points
    re.compile(r"Hardening: assigned maximum number of hardening points for this item \((?P<max>\d+)\)"),
    re.compile(r"Hardening: assigned partial number of hardening points \((?P<got>\d+) of (?P<max>\d+)\)"),
    # wording of other releases
    re.compile(r"Hardening: assigned (?P<got>\d+) hardening points \(max for this item: (?P<max>\d+)\)"),
)
_LOG_INDEX = re.compile(r"Hardening index : \[(?P<index>\d+)\]")
NO_TEST = "(none)"


@dataclass
class TestPoints:
    test: str
    points: int = 0
    max_points: int = 0

    @property
    def lost(self) -> int:
        return self.max_points - self.points


@dataclass
class LogPoints:
    tests: dict[str, TestPoints]
    log_index: int | None

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests.values())

    @property
    def max_points(self) -> int:
        return sum(t.max_points for t in self.tests.values())


def parse_log_points(text: str) -> LogPoints:
    """Sum the hardening points of each test from lynis.log.

    Each ``Hardening: assigned ...`` line belongs to the test last announced by ``Performing test ID``.
    Points given outside any test are kept under ``(none)`` so that the totals still add up.
    """
    tests: dict[str, TestPoints] = {}
    current = NO_TEST
    log_index = None
    for line in text.splitlines():
        started = _TEST_START.search(line)
        if started:
            current = started["test"]
            continue
        if _TEST_END.search(line):
            current = NO_TEST
            continue
        for pattern in _HP_PATTERNS:
            hp = pattern.search(line)
            if hp:
                max_points = int(hp["max"])
                got = int(hp["got"]) if "got" in pattern.groupindex else max_points
                entry = tests.setdefault(current, TestPoints(current))
                entry.points += got
                entry.max_points += max_points
                break
        else:
            found = _LOG_INDEX.search(line)
            if found:
                log_index = int(found["index"])
    return LogPoints(tests=tests, log_index=log_index)


def hardening_index(points: int, max_points: int) -> int:
    """Lynis's own formula (include/report): integer percentage, rounded down."""
    return points * 100 // max_points if max_points else 0


def top_losses(log: LogPoints, suggestions: list[Finding], count: int) -> list[dict]:
    """The tests that lost most points, largest first, each with Lynis's suggestion texts."""
    texts: dict[str, list[str]] = {}
    for s in suggestions:
        line = s.text if s.details in ("-", "") else f"{s.text} ({s.details})"
        texts.setdefault(s.test, []).append(line)
    losing = sorted((t for t in log.tests.values() if t.lost > 0), key=lambda t: (-t.lost, t.test))
    return [
        {"test": t.test, "lost": t.lost, "max": t.max_points, "suggestions": texts.get(t.test, [])}
        for t in losing[:count]
    ]


# --------------------------------------------------------------------------------------------
# sysctl: Lynis's expected values against the host's configuration files
# --------------------------------------------------------------------------------------------


def normalize_sysctl_key(key: str) -> str:
    """sysctl.d(5): a key whose first separator is "/" uses "/" between parts and may hold dots."""
    key = key.strip()
    first_dot, first_slash = key.find("."), key.find("/")
    if first_slash != -1 and (first_dot == -1 or first_slash < first_dot):
        return key.translate(str.maketrans("./", "/."))
    return key


def parse_sysctl_conf(text: str) -> dict[str, str]:
    """Settings of one sysctl.conf-style file; a later line for the same key wins."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().lstrip("-")  # "-key = value": ignore errors when setting it
        if not key or "*" in key or "?" in key or "[" in key:
            continue  # glob keys apply to many entries; Lynis's keys are never globs
        values[normalize_sysctl_key(key)] = " ".join(value.split())
    return values


def sysctl_file_order(paths: list[str]) -> list[str]:
    """The files systemd-sysctl applies, in order: by file name, the first directory of SYSCTL_DIRS wins.

    ``paths`` are absolute paths of *.conf files found in SYSCTL_DIRS, plus /etc/sysctl.conf when it
    exists; /etc/sysctl.conf takes the name 99-sysctl.conf unless a file of that name exists.
    """
    chosen: dict[str, str] = {}
    rank = {d: i for i, d in enumerate(SYSCTL_DIRS)}
    candidates = sorted(
        (p for p in paths if str(PurePosixPath(p).parent) in rank and p.endswith(".conf")),
        key=lambda p: rank[str(PurePosixPath(p).parent)],
    )
    for path in candidates:
        chosen.setdefault(PurePosixPath(path).name, path)
    if SYSCTL_CONF in paths:
        chosen.setdefault(SYSCTL_CONF_ALIAS, SYSCTL_CONF)
    return [chosen[name] for name in sorted(chosen)]


def effective_sysctl(files: dict[str, str | None]) -> dict[str, tuple[str, str]]:
    """Configured value and source file of each key. A file whose content is None is masked (/dev/null)."""
    result: dict[str, tuple[str, str]] = {}
    for path in sysctl_file_order(list(files)):
        content = files[path]
        if content is None:
            continue
        for key, value in parse_sysctl_conf(content).items():
            result[key] = (value, path)
    return result


@dataclass
class Expectation:
    key: str
    values: list[str]
    description: str


def parse_profile_sysctl(text: str) -> dict[str, Expectation]:
    """``config-data=sysctl;KEY;VALUE[|VALUE...];WEIGHT;DESCRIPTION;...`` lines of a Lynis profile."""
    result: dict[str, Expectation] = {}
    for line in text.splitlines():
        if not line.startswith("config-data=sysctl;"):
            continue
        fields = line.split(";")
        if len(fields) < 3 or not fields[1]:
            continue
        key = fields[1]
        description = fields[4] if len(fields) > 4 else ""
        result.setdefault(key, Expectation(key, fields[2].split("|"), description))
    return result


@dataclass
class SysctlScore:
    matched: int
    total: int
    mismatches: list[dict]


def compare_sysctl(
    expected: dict[str, Expectation],
    configured: dict[str, tuple[str, str]],
    present: set[str] | None = None,
) -> SysctlScore:
    """Score the configured values against Lynis's expectations.

    Only keys in ``present`` (those the host's kernel has, as Lynis itself would check) count when
    it is given. A key that no file sets is a mismatch: the kernel default is not a configuration.
    """
    matched = 0
    mismatches = []
    keys = sorted(k for k in expected if present is None or k in present)
    for key in keys:
        want = expected[key]
        value, source = configured.get(key, (None, None))
        if value is not None and value in want.values:
            matched += 1
        else:
            mismatches.append(
                {
                    "key": key,
                    "expected": "|".join(want.values),
                    "configured": value,
                    "source": source,
                    "description": want.description,
                }
            )
    return SysctlScore(matched=matched, total=len(keys), mismatches=mismatches)


def sysctl_files_from_tar(data: bytes) -> dict[str, str | None]:
    """Files of a ``tar --dereference`` of sysctl.conf and the sysctl.d directories.

    A link to /dev/null arrives as a character device and marks a masked file (None).
    """
    files: dict[str, str | None] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            path = "/" + member.name.lstrip("./")
            if path != SYSCTL_CONF and str(PurePosixPath(path).parent) not in SYSCTL_DIRS:
                continue
            if member.ischr():
                files[path] = None
            elif member.isfile():
                extracted = tar.extractfile(member)
                files[path] = extracted.read().decode("utf-8", "replace") if extracted else ""
    return files


# --------------------------------------------------------------------------------------------
# running on a host
# --------------------------------------------------------------------------------------------


class Host:
    """A lab host reached with an SSH command prefix, e.g. ``["ssh", "-F", CONFIG, "app01"]``."""

    def __init__(self, label: str, ssh: list[str]):
        self.label = label
        self.ssh = ssh

    def __str__(self) -> str:
        return f"host {self.label} ({self.ssh[-1]})"

    def run(self, script: str, *args: str, timeout: int = SSH_TIMEOUT, binary: bool = False):
        """Run ``script`` under ``sudo sh -c`` with positional ``args``; return its stdout."""
        remote = shlex.join(["sudo", "-n", "sh", "-c", script, "sh", *args])
        try:
            res = subprocess.run(
                [*self.ssh, remote], capture_output=True, timeout=timeout, text=not binary, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise LynisScoreError(f"{self}: no answer within {timeout}s to: {script.split()[0]} ...") from exc
        if res.returncode != 0:
            err = res.stderr if isinstance(res.stderr, str) else res.stderr.decode("utf-8", "replace")
            lines = [line for line in err.splitlines() if "unable to resolve host" not in line]
            raise LynisScoreError(f"{self}: exit {res.returncode}: {' | '.join(lines[-5:]) or 'no error output'}")
        return res.stdout


INSTALL_SCRIPT = """\
command -v lynis >/dev/null && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends lynis >/dev/null ||
  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends lynis >/dev/null; }
"""

AUDIT_SCRIPT = """\
printf '%s\\n' "$1" > "$2"
shift 2
"$@" >/dev/null
"""

SYSCTL_TAR_SCRIPT = """\
set --
for p in etc/sysctl.conf etc/sysctl.d run/sysctl.d usr/local/lib/sysctl.d usr/lib/sysctl.d lib/sysctl.d; do
  [ -e "/$p" ] && set -- "$@" "$p"
done
exec tar --dereference -cf - -C / "$@"
"""

PRESENT_SCRIPT = """\
for key in "$@"; do
  [ -e "/proc/sys/$(printf '%s' "$key" | tr . /)" ] && printf '%s\\n' "$key"
done
exit 0
"""


def custom_profile(skip_tests: tuple[str, ...] | list[str]) -> str:
    lines = ["# written by belediye-iac bench/lynis/lynis_score.py"]
    lines += [f"skip-test={t}" for t in skip_tests]
    return "\n".join(lines)


def audit(host: Host, skip_tests: tuple[str, ...] | list[str] = DEFAULT_SKIP_TESTS) -> tuple[str, str]:
    """Install Lynis if needed, run the audit and return (report.dat, lynis.log) texts."""
    host.run(INSTALL_SCRIPT, timeout=INSTALL_TIMEOUT)
    host.run(AUDIT_SCRIPT, custom_profile(skip_tests), CUSTOM_PROFILE_PATH, *LYNIS_ARGS, timeout=LYNIS_TIMEOUT)
    return host.run('cat "$1"', REPORT_PATH), host.run('cat "$1"', LOG_PATH)


def sysctl_score(host: Host) -> SysctlScore:
    expected = parse_profile_sysctl(host.run('cat "$1"', DEFAULT_PROFILE_PATH))
    configured = effective_sysctl(sysctl_files_from_tar(host.run(SYSCTL_TAR_SCRIPT, binary=True)))
    present = set(host.run(PRESENT_SCRIPT, *sorted(expected)).split())
    return compare_sysctl(expected, configured, present)


def summarize(label: str, target: str, report: Report, log: LogPoints, sysctl: SysctlScore, top: int = 10) -> dict:
    recomputed = hardening_index(log.points, log.max_points)
    return {
        "label": label,
        "target": target,
        "lynis_version": report.lynis_version,
        "hardening_index": report.hardening_index,
        "points": log.points,
        "max_points": log.max_points,
        "recomputed_index": recomputed,
        "index_consistent": recomputed == report.hardening_index,
        "warnings": [asdict(w) for w in report.warnings],
        "suggestions": [asdict(s) for s in report.suggestions],
        "tests": {t.test: {"points": t.points, "max": t.max_points} for t in log.tests.values()},
        "top_losses": top_losses(log, report.suggestions, top),
        "sysctl": asdict(sysctl),
    }


def measure(label: str, ssh: list[str], skip_tests=DEFAULT_SKIP_TESTS, top: int = 10) -> dict:
    """Audit one host and score its sysctl configuration; the result is JSON-ready."""
    host = Host(label, ssh)
    report_text, log_text = audit(host, skip_tests)
    report = parse_report(report_text)
    if report.hardening_index is None:
        raise LynisScoreError(f"{host}: {REPORT_PATH} has no hardening_index; did Lynis finish?")
    return summarize(label, ssh[-1], report, parse_log_points(log_text), sysctl_score(host), top)


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def format_table(results: list[dict]) -> str:
    header = ("host", "index", "points", "sysctl", "warnings", "suggestions")
    rows = [header]
    for r in results:
        s = r["sysctl"]
        rows.append(
            (
                r["label"],
                str(r["hardening_index"]) + ("" if r["index_consistent"] else f" (log: {r['recomputed_index']}!)"),
                f"{r['points']}/{r['max_points']}",
                f"{s['matched']}/{s['total']}",
                str(len(r["warnings"])),
                str(len(r["suggestions"])),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def format_losses(result: dict, count: int) -> str:
    lines = [f"top point losses on {result['label']} (index {result['hardening_index']}):"]
    for loss in result["top_losses"][:count]:
        text = "; ".join(loss["suggestions"]) or "-"
        lines.append(f"  {loss['test']:<10} -{loss['lost']:<3} (of {loss['max']:<2}) {text}")
    mism = result["sysctl"]["mismatches"]
    if mism:
        keys = ", ".join(f"{m['key']}={m['configured']} (want {m['expected']})" for m in mism)
        lines.append(f"  sysctl mismatches: {keys}")
    for w in result["warnings"]:
        lines.append(f"  WARNING {w['test']}: {w['text']}")
    return "\n".join(lines)


def parse_hostspec(spec: str) -> tuple[str, str]:
    label, sep, target = spec.partition("=")
    if not sep or not label or not target:
        raise argparse.ArgumentTypeError(f"{spec!r}: expected LABEL=SSH-TARGET, e.g. app01=app01")
    return label, target


def ssh_prefix(target: str, ssh_opts: list[str] | None, ssh_config: Path) -> list[str]:
    opts = [o for chunk in ssh_opts for o in shlex.split(chunk)] if ssh_opts else ["-F", str(ssh_config)]
    return ["ssh", "-o", "BatchMode=yes", *opts, target]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("hosts", nargs="+", type=parse_hostspec, metavar="LABEL=SSH-TARGET")
    p.add_argument("--ssh-config", type=Path, default=DEFAULT_SSH_CONFIG, help="ssh -F file (default: the lab's)")
    p.add_argument(
        "--ssh-opt",
        action="append",
        help='ssh options used instead of -F, shell-split; repeatable: --ssh-opt "-i KEY -o Opt=val"',
    )
    p.add_argument("--skip-test", action="append", default=[], help="further Lynis test ids to skip")
    p.add_argument("--top", type=int, default=0, metavar="N", help="print the N largest point losses per host")
    p.add_argument("--json", type=Path, metavar="PATH", help="write every result as JSON")
    args = p.parse_args(argv)

    skips = (*DEFAULT_SKIP_TESTS, *args.skip_test)
    results = []
    try:
        for label, target in args.hosts:
            ssh = ssh_prefix(target, args.ssh_opt, args.ssh_config)
            results.append(measure(label, ssh, skips, top=max(args.top, 10)))
    except LynisScoreError as exc:
        print(f"lynis_score: {exc}", file=sys.stderr)
        return 2
    print(format_table(results))
    for r in results if args.top else []:
        print()
        print(format_losses(r, args.top))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if not all(r["index_consistent"] for r in results):
        print("lynis_score: the points in lynis.log do not add up to Lynis's index", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
