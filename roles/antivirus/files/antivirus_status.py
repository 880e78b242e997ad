#!/usr/bin/python3
"""antivirus-status: the host's antivirus state as JSON, for the antivirus report.

Installed by the Ansible role `antivirus` as /usr/local/lib/belediye/antivirus-status. Reads
/etc/belediye/antivirus.json and writes /var/lib/belediye/antivirus/status.json (mode 0640,
root:adm: detections name files, and file paths can name people, KVKK personal data):

    databases        every signature database: file, kind (official/custom), version, signatures,
                     build time (from the 512-byte ClamAV-VDB header) and age in hours
    signatures       the newest build time, its age in hours, the limit and whether it is stale
    clamd            unit state, whether it answers PING on its socket, its VERSION reply
    freshclam        unit state
    onaccess         configured or not, unit state and whether systemd skipped it (condition)
    scan             the timer's state and the last scheduled scan (antivirus-scan's last-scan.json)
    detections       the most recent detections of all scans (path, signature, time, quarantine)
    quarantine       how many files it holds

    antivirus-status [--config FILE] [--output FILE] [--print]

The parsing functions use the standard library only and are tested without a host
(tests/unit/test_antivirus_tools.py). The header is read here rather than with sigtool, which is in
package clamav, not a dependency of clamav-daemon.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import grp
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = Path("/etc/belediye/antivirus.json")
CONTAINERS = (".cvd", ".cld", ".cud")
PLAIN_DATABASES = (".ndb", ".hdb", ".hsb", ".ldb", ".mdb", ".msb", ".cdb", ".fp", ".sfp", ".ign2", ".yar", ".yara")
OFFICIAL = ("daily", "main", "bytecode")
DETECTIONS_KEPT = 100
HEADER_KEYS = ("magic", "time", "version", "signatures", "flevel", "md5", "dsig", "builder", "stime")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_header(head: bytes) -> dict | None:
    """The fields of a ClamAV database header (ClamAV-VDB:time:version:sigs:flevel:md5:dsig:builder:stime),
    or None when head is not one. Numbers are ints; build_time is the Unix time of the build."""
    text = head[:512].decode("ascii", "replace").rstrip(" \0\n")
    if not text.startswith("ClamAV-VDB:"):
        return None
    fields = dict(zip(HEADER_KEYS, text.split(":"), strict=False))
    out: dict = {"builder": fields.get("builder") or None, "time_text": fields.get("time") or None}
    for key in ("version", "signatures", "flevel"):
        try:
            out[key] = int(fields.get(key, ""))
        except ValueError:
            out[key] = None
    try:
        out["build_time"] = int(fields.get("stime", "").strip())
    except ValueError:
        out["build_time"] = None
    return out


def database_info(path: Path, now: float) -> dict:
    """One database file: its header fields where it is a container, else its mtime as build time."""
    stat = path.stat()
    name, ext = path.stem, path.suffix.lower()
    info: dict = {
        "file": path.name,
        "name": name,
        "kind": "official" if name in OFFICIAL and ext in (".cvd", ".cld") else "custom",
        "size": stat.st_size,
        "downloaded": iso(stat.st_mtime),
        "version": None,
        "signatures": None,
        "builder": None,
    }
    build = None
    if ext in CONTAINERS:
        with open(path, "rb") as f:
            header = parse_header(f.read(512))
        if header:
            info.update({k: header[k] for k in ("version", "signatures", "builder")})
            build = header["build_time"]
    if build is None:
        build = int(stat.st_mtime)
    info["build_time"] = iso(build)
    info["age_hours"] = round(max(0.0, now - build) / 3600, 1)
    return info


def databases(directory: Path, now: float) -> list[dict]:
    found = []
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.is_file() and path.suffix.lower() in CONTAINERS + PLAIN_DATABASES:
                try:
                    found.append(database_info(path, now))
                except OSError:
                    continue
    return found


def signature_summary(dbs: list[dict], max_age_hours: int) -> dict:
    """The freshest database decides the age: with the official ones that is daily."""
    if not dbs:
        return {"newest_build": None, "age_hours": None, "max_age_hours": max_age_hours, "stale": True}
    newest = min(dbs, key=lambda d: d["age_hours"])
    return {
        "newest_build": newest["build_time"],
        "newest_database": newest["file"],
        "age_hours": newest["age_hours"],
        "max_age_hours": max_age_hours,
        "stale": newest["age_hours"] > max_age_hours,
    }


def clamd_command(sock_path: str, command: str, timeout: float = 5.0) -> str | None:
    """Send one z-command (PING, VERSION) to clamd's socket; its reply, or None if it did not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(sock_path)
            s.sendall(b"z" + command.encode() + b"\0")
            chunks = []
            while True:
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
                if data.endswith(b"\0"):
                    break
        return b"".join(chunks).rstrip(b"\0\n").decode("utf-8", "replace")
    except OSError:
        return None


def unit_state(unit: str) -> dict:
    """ActiveState, UnitFileState and ConditionResult of a systemd unit."""
    try:
        res = subprocess.run(
            ["systemctl", "show", unit, "--property=ActiveState,SubState,UnitFileState,ConditionResult"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {"active": "unknown", "enabled": "unknown"}
    props = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return {
        "active": props.get("ActiveState", "unknown"),
        "sub": props.get("SubState", ""),
        "enabled": props.get("UnitFileState", "") or "unknown",
        "condition_met": props.get("ConditionResult", "") == "yes",
    }


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def recent_detections(path: Path, keep: int = DETECTIONS_KEPT) -> list[dict]:
    """The last `keep` detections of detections.jsonl (bad lines are skipped)."""
    found = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(item, dict):
                    found.append(item)
                    found = found[-keep:]
    except OSError:
        pass
    return found


def count_files(directory: Path) -> int | None:
    if not directory.is_dir():
        return None
    return sum(len(files) for _root, _dirs, files in os.walk(directory))


def collect(config: dict, now: float | None = None, probe=True) -> dict:
    """The whole status. probe=False leaves out what needs systemd and clamd (for tests)."""
    now = now if now is not None else datetime.datetime.now(datetime.UTC).timestamp()
    state = Path(config["state_dir"])
    dbs = databases(Path(config.get("database_dir", "/var/lib/clamav")), now)
    units = config.get("units", {})
    status: dict = {
        "format": 1,
        "host": socket.getfqdn(),
        "generated": iso(now),
        "databases": dbs,
        "signatures": signature_summary(dbs, int(config.get("max_signature_age_hours", 48))),
        "official_databases": bool(config.get("official_databases", True)),
        "scan": {
            "enabled": bool(config.get("scan_enabled", True)),
            "paths": config.get("scan_paths", []),
            "last": read_json(state / "last-scan.json"),
        },
        "detections": recent_detections(state / "detections.jsonl"),
        "quarantine": {"dir": config.get("quarantine_dir"), "files": count_files(Path(config["quarantine_dir"]))},
        "onaccess": {"enabled": bool(config.get("onaccess_enabled", False))},
    }
    if probe:
        sock = config.get("clamd_socket", "/run/clamav/clamd.ctl")
        status["clamd"] = {
            **unit_state(units.get("clamd", "clamav-daemon.service")),
            "ping": clamd_command(sock, "PING") == "PONG",
            "version": clamd_command(sock, "VERSION"),
        }
        status["freshclam"] = unit_state(units.get("freshclam", "clamav-freshclam.service"))
        status["onaccess"].update(unit_state(units.get("onaccess", "clamav-clamonacc.service")))
        status["scan"]["timer"] = unit_state(units.get("scan_timer", "antivirus-scan.timer"))
    return status


def write_private(path: Path, text: str) -> None:
    """Write text to path atomically, mode 0640, group adm where it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write the host's antivirus status as JSON.")
    p.add_argument("--config", type=Path, default=CONFIG)
    p.add_argument("--output", type=Path, help="default: status_file of the configuration")
    p.add_argument("--print", action="store_true", help="also print the JSON")
    args = p.parse_args(argv)
    config = read_json(args.config)
    if not isinstance(config, dict) or "state_dir" not in config:
        print(f"antivirus-status: cannot read the configuration {args.config}", file=sys.stderr)
        return 2
    status = collect(config)
    text = json.dumps(status, ensure_ascii=False, indent=2) + "\n"
    write_private(args.output or Path(config.get("status_file", Path(config["state_dir"]) / "status.json")), text)
    if args.print:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
