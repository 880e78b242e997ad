#!/usr/bin/python3
"""antivirus-scan: one scheduled scan with clamdscan, recorded for the antivirus status.

Installed by the Ansible role `antivirus` as /usr/local/lib/belediye/antivirus-scan and started by
antivirus-scan.service. It reads /etc/belediye/antivirus.json, runs

    clamdscan --fdpass --multiscan --stdout --move=QUARANTINE PATH...

over the scan paths that exist (clamd reads the files root opened; clamd's ExcludePath skips the
quarantine and the exclusions). clamdscan reports a clean directory as one "OK" line, so the files
are counted here, by walking the same paths with the same ExcludePath patterns (regular files, no
symbolic links, as clamd's FollowFileSymlinks false). It writes into the state directory
    last-scan.json     start, end, result, files scanned, detections of this run
    detections.jsonl   one line per detection, all runs (path, signature, time, quarantine)
Both are 0640 root:adm: file paths can name people (KVKK personal data). Clean files are counted,
never written down. The exit code is clamdscan's: 0 clean, 1 something found, 2 errors.

Python 3 standard library only; the parsing functions are tested without a host
(tests/unit/test_antivirus_tools.py).
"""

from __future__ import annotations

import contextlib
import datetime
import grp
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = Path("/etc/belediye/antivirus.json")
SUMMARY_PREFIXES = ("Infected files:", "Total errors:", "Time:", "Start Date:", "End Date:", "Known viruses:")


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_line(line: str) -> tuple[str, str, str]:
    """Classify one line of clamdscan's output: (kind, path, detail).

    kind is found (detail: the signature), moved (detail: where to), ok, error (detail: the
    message), summary, or other. Paths may contain ': ', so the split is from the right.
    """
    line = line.rstrip("\n")
    if not line.strip():
        return ("other", "", "")
    if "SCAN SUMMARY" in line or line.startswith(SUMMARY_PREFIXES):
        return ("summary", "", line)
    if line.endswith(" FOUND") and ": " in line:
        path, signature = line[: -len(" FOUND")].rsplit(": ", 1)
        return ("found", path, signature)
    if line.endswith("'") and ": moved to '" in line:
        path, dest = line[:-1].rsplit(": moved to '", 1)
        return ("moved", path, dest)
    if line.endswith(": OK"):
        return ("ok", line[: -len(": OK")], "")
    if line.endswith(": Excluded"):
        return ("excluded", line[: -len(": Excluded")], "")
    if line.endswith(" ERROR") and ": " in line:
        path, message = line[: -len(" ERROR")].rsplit(": ", 1)
        return ("error", path, message)
    return ("other", "", line)


class Tally:
    """What one scan found, built line by line."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.error_count = 0
        self.detections: list[dict[str, str | None]] = []
        self.other: list[str] = []

    def add(self, line: str, when: str | None = None) -> None:
        kind, path, detail = parse_line(line)
        if kind == "found":
            self.detections.append({"path": path, "signature": detail, "time": when or now_iso(), "quarantine": None})
        elif kind == "moved":
            for det in reversed(self.detections):
                if det["path"] == path and det["quarantine"] is None:
                    det["quarantine"] = detail
                    break
        elif kind == "error":
            self.error_count += 1
            if len(self.errors) < 50:
                self.errors.append({"path": path, "message": detail})
        elif kind == "other" and detail and len(self.other) < 20:
            self.other.append(detail)


def exclude_patterns(clamd_conf: str) -> list[re.Pattern]:
    """clamd's ExcludePath regular expressions from the text of clamd.conf (bad ones are skipped)."""
    found = []
    for line in clamd_conf.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[0] == "ExcludePath":
            try:
                found.append(re.compile(parts[1]))
            except re.error:
                continue
    return found


def count_files(paths: list[str], excludes: list[re.Pattern]) -> int:
    """Regular files under paths that a scan looks at: not excluded, not behind a symbolic link."""

    def excluded(path: str) -> bool:
        return any(rx.search(path) for rx in excludes)

    total = 0
    for top in paths:
        if excluded(top):
            continue
        if os.path.isfile(top) and not os.path.islink(top):
            total += 1
            continue
        for root, dirs, files in os.walk(top, followlinks=False):
            dirs[:] = [d for d in dirs if not excluded(os.path.join(root, d))]
            for name in files:
                path = os.path.join(root, name)
                if not excluded(path) and os.path.isfile(path) and not os.path.islink(path):
                    total += 1
    return total


def result_of(exit_code: int, tally: Tally) -> str:
    if exit_code == 1 or tally.detections:
        return "infected"
    if exit_code == 0:
        return "clean"
    return "error"


def write_private(path: Path, text: str) -> None:
    """Write text to path atomically, mode 0640, group adm where it exists."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o640)
        with contextlib.suppress(KeyError, PermissionError):
            os.chown(tmp, 0, grp.getgrnam("adm").gr_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_private(path: Path, lines: list[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
    with contextlib.suppress(KeyError, PermissionError):
        os.chown(path, 0, grp.getgrnam("adm").gr_gid)


def lock_quarantined(detections: list[dict], quarantine_dir: str) -> None:
    """A moved file keeps its owner and mode: make it root's, read-only and not executable. Only
    regular files directly in the quarantine are touched (never through a symbolic link)."""
    base = os.path.realpath(quarantine_dir)
    for det in detections:
        dest = det.get("quarantine")
        if not dest or os.path.dirname(os.path.realpath(dest)) != base:
            continue
        try:
            fd = os.open(dest, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                if os.geteuid() == 0:
                    os.fchown(fd, 0, 0)
                os.fchmod(fd, 0o400)
        finally:
            os.close(fd)


def scan_command(config: dict, paths: list[str]) -> list[str]:
    return [
        config.get("clamdscan", "/usr/bin/clamdscan"),
        "--fdpass",
        "--multiscan",
        "--stdout",
        f"--config-file={config.get('clamd_config', '/etc/clamav/clamd.conf')}",
        f"--move={config['quarantine_dir']}",
        *paths,
    ]


def run_scan(config: dict) -> int:
    state = Path(config["state_dir"])
    state.mkdir(parents=True, exist_ok=True)
    paths = [p for p in config["scan_paths"] if os.path.exists(p)]
    skipped = [p for p in config["scan_paths"] if p not in paths]
    record: dict = {"start": now_iso(), "paths": paths, "skipped_paths": skipped}
    tally = Tally()
    try:
        conf = Path(config.get("clamd_config", "/etc/clamav/clamd.conf")).read_text(encoding="utf-8")
    except OSError:
        conf = ""
    files = count_files(paths, exclude_patterns(conf))
    if paths:
        proc = subprocess.Popen(
            scan_command(config, paths),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="surrogateescape",
        )
        for line in proc.stdout or ():
            tally.add(line)
        exit_code = proc.wait()
        lock_quarantined(tally.detections, config["quarantine_dir"])
    else:
        exit_code = 0
    record.update(
        {
            "end": now_iso(),
            "exit_code": exit_code,
            "result": result_of(exit_code, tally) if paths else "nothing to scan",
            "files_scanned": files,
            "infected": len(tally.detections),
            "errors": tally.error_count,
            "error_samples": tally.errors,
            "messages": tally.other,
            "detections": tally.detections,
        }
    )
    write_private(state / "last-scan.json", json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    if tally.detections:
        lines = [
            json.dumps({**d, "scan_start": record["start"], "source": "scheduled"}, ensure_ascii=False)
            for d in tally.detections
        ]
        append_private(state / "detections.jsonl", lines)
    print(
        f"antivirus-scan: {record['result']}: {files} files, {len(tally.detections)} detections, "
        f"{tally.error_count} errors; skipped (missing): {', '.join(skipped) or 'none'}"
    )
    return exit_code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config_path = Path(args[0]) if args else CONFIG
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"antivirus-scan: cannot read {config_path}: {exc}", file=sys.stderr)
        return 2
    return run_scan(config)


if __name__ == "__main__":
    sys.exit(main())
