#!/usr/bin/python3
"""Prune the clients' restic repositories on the backup target (grandfather-father-son).

Installed by Ansible (role backup_target) as /usr/local/lib/belediye/backup-target-prune and run by
belediye-backup-prune.service (user restic) on its timer. For each repository named in the
configuration file it runs, with the target's own key (never a client's password):

    restic forget --json --group-by G --keep-daily D --keep-weekly W --keep-monthly M [--keep-yearly Y]
    restic prune                      (only when forget removed something)

and writes one JSON status for the estate's monitoring: per repository the snapshots kept and
removed, when, and the result. Clients cannot delete anything (the REST server is append-only), so
this is the only place where backups ever go away.

A repository that fails (locked by a running backup, damaged, missing) does not stop the others;
the tool exits 1 when any failed, so that systemd records the failure and the alarm unit runs.
The maintenance lock is shared with the tape tool: a tape is never written while packs are pruned.

Usage: backup-target-prune [--config FILE] [--repo NAME ...]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CONFIG = "/etc/belediye-backup-target/prune.json"
RESTIC = "/usr/bin/restic"
POLICY_FLAGS = (
    ("daily", "--keep-daily"),
    ("weekly", "--keep-weekly"),
    ("monthly", "--keep-monthly"),
    ("yearly", "--keep-yearly"),
)


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def forget_argv(repo_dir: str, password_file: str, retention: dict, group_by: str) -> list[str]:
    """The `restic forget` command line of one repository (no secret on it: the key is in a file)."""
    argv = [RESTIC, "--repo", repo_dir, "--password-file", password_file, "--no-cache", "--json", "forget"]
    argv += ["--group-by", group_by]
    for key, flag in POLICY_FLAGS:
        count = int(retention.get(key, 0) or 0)
        if count > 0:
            argv += [flag, str(count)]
    return argv


def prune_argv(repo_dir: str, password_file: str) -> list[str]:
    return [RESTIC, "--repo", repo_dir, "--password-file", password_file, "--no-cache", "prune"]


def parse_forget(stdout: str) -> dict:
    """Kept and removed snapshots from `restic forget --json` (restic 0.14: one JSON line of groups).

    Returns {"kept": [...], "removed": [...]}, each a list of {"id", "time", "host"} sorted by time.
    A repository without snapshots makes restic 0.14 print nothing at all.
    """
    line = next((x for x in stdout.splitlines() if x.startswith("[")), None)
    if line is None:
        if stdout.strip():
            raise ValueError("restic forget printed no JSON")
        return {"kept": [], "removed": []}
    groups = json.loads(line)
    out: dict[str, list[dict]] = {"kept": [], "removed": []}
    for group in groups or []:
        for field, name in (("keep", "kept"), ("remove", "removed")):
            for snap in group.get(field) or []:
                out[name].append(
                    {
                        "id": snap.get("short_id") or snap["id"][:8],
                        "time": snap["time"],
                        "host": snap.get("hostname", ""),
                    }
                )
    for name in out:
        out[name].sort(key=lambda s: s["time"])
    return out


def repo_result(name: str, started: float, outcome: dict | None, error: str) -> dict:
    """One repository's entry in the status file."""
    entry = {
        "repository": name,
        "finished": now_iso(),
        "seconds": round(time.monotonic() - started, 1),
        "result": "ok" if not error else "failed",
    }
    if outcome is not None:
        entry["kept"] = len(outcome["kept"])
        entry["removed"] = len(outcome["removed"])
        entry["kept_snapshots"] = outcome["kept"]
    if error:
        entry["error"] = error
    return entry


def status_document(entries: list[dict], started_at: str) -> dict:
    failed = [e["repository"] for e in entries if e["result"] != "ok"]
    return {
        "tool": "belediye-backup-target-prune",
        "started": started_at,
        "finished": now_iso(),
        "result": "ok" if not failed else "failed",
        "failed": failed,
        "repositories": entries,
    }


def write_json_atomic(path: str, document: dict) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o640)
    os.replace(tmp, target)


def error_line(text: str) -> str:
    """The line of restic's stderr that says what went wrong (restic 0.14 puts hints after it)."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    for line in lines:
        if re.match(r"(Fatal|unable to|error)", line, re.IGNORECASE):
            return line
    return lines[0] if lines else ""


def prune_one(config: dict, repo: dict) -> dict:
    started = time.monotonic()
    name = repo["name"]
    repo_dir = os.path.join(config["data_dir"], name)
    if not os.path.isfile(os.path.join(repo_dir, "config")):
        return repo_result(name, started, None, f"no repository at {repo_dir}")
    argv = forget_argv(repo_dir, config["password_file"], repo["retention"], config.get("group_by", "host,paths"))
    res = subprocess.run(argv, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return repo_result(name, started, None, f"restic forget exited {res.returncode}: {error_line(res.stderr)}")
    try:
        outcome = parse_forget(res.stdout)
    except (ValueError, KeyError, TypeError) as exc:
        return repo_result(name, started, None, f"cannot read restic forget's output: {exc}")
    if outcome["removed"]:
        res = subprocess.run(prune_argv(repo_dir, config["password_file"]), capture_output=True, text=True, check=False)
        if res.returncode != 0:
            return repo_result(
                name, started, outcome, f"restic prune exited {res.returncode}: {error_line(res.stderr)}"
            )
    return repo_result(name, started, outcome, "")


@contextlib.contextmanager
def maintenance_lock(path: str):
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prune the clients' restic repositories (GFS).")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--repo", action="append", default=[], help="only this repository (repeatable)")
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"backup-target-prune: cannot read {args.config}: {exc}", file=sys.stderr)
        return 2
    repos = [r for r in config.get("repositories", []) if not args.repo or r["name"] in args.repo]
    unknown = sorted(set(args.repo) - {r["name"] for r in repos})
    if unknown:
        print(f"backup-target-prune: not a configured repository: {', '.join(unknown)}", file=sys.stderr)
        return 2
    started_at = now_iso()
    entries = []
    with maintenance_lock(config["lock_file"]):
        for repo in repos:
            entry = prune_one(config, repo)
            entries.append(entry)
            if entry["result"] == "ok":
                print(f"{entry['repository']}: kept {entry['kept']}, removed {entry['removed']}")
            else:
                print(f"{entry['repository']}: FAILED: {entry['error']}", file=sys.stderr)
    document = status_document(entries, started_at)
    write_json_atomic(config["status_file"], document)
    return 0 if document["result"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
