#!/usr/bin/python3
"""Write the backup target's restic repositories to tape, verify the tape, and restore from it.

Installed by Ansible (role backup_target) as /usr/local/lib/belediye/backup-target-tape; the weekly
belediye-backup-tape.service runs `write`. Python 3 standard library only.

A tape holds one tar stream (POSIX pax) written in fixed blocks of the configured size:

    TAPE-LABEL.json                label id, date, host, repositories with their snapshot ids, and
                                   every file that follows with its size and sha256
    <repository>/<path>            the repositories' files, unchanged (still encrypted by restic)

`write` loads the tape (mtx, when a changer is configured), rewinds it (mt, for a tape device; a
regular file in the lab is simply rewritten), writes the label and the files, rewinds, reads the
whole tape back comparing every file's sha256 with the label, and appends one line to the tape
catalogue (JSON lines). Restic's files never change once written, and snapshots are listed before
the packs they need, so a backup running meanwhile cannot make the tape inconsistent; prune waits
for the shared maintenance lock.

Subcommands (exit 0: done, 1: the tape does not match its label, 2: usage or configuration,
3: the tape device or the changer failed):

    write [--repo NAME ...]        write, read back and catalogue a new tape
    verify                         read the tape in the drive back against its own label
    label                          print the label of the tape in the drive
    restore --repo NAME --dest DIR [--file PATH [--snapshot ID] --target DIR]
                                   extract one repository from the tape into DIR/NAME (each file
                                   checked against the label); with --file, restic then restores
                                   that file from the extracted repository with the target's key
    catalogue [--last N]           print the catalogue's last lines
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

DEFAULT_CONFIG = "/etc/belediye-backup-target/tape.json"
LABEL_NAME = "TAPE-LABEL.json"
LABEL_FORMAT = "belediye-backup-tape/1"
# Restic's layout: snapshots first (a snapshot is written after everything it needs), locks never.
REPO_ORDER = ("snapshots", "keys", "config", "index", "data")
MEMBER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}(/[A-Za-z0-9._-]+)+$")
CHUNK = 1024 * 1024


class TapeError(Exception):
    """The device or the changer failed (exit 3)."""


class VerifyError(Exception):
    """The tape does not match its label (exit 1)."""


# --- blocks ---------------------------------------------------------------------------------------


class BlockWriter(io.RawIOBase):
    """Writes to a file object in blocks of exactly ``block_size`` bytes; the last is padded with zeros.

    A tape drive in fixed-block mode takes nothing else, and zeros after a tar stream's end are
    ignored by every reader.
    """

    def __init__(self, raw, block_size: int):
        super().__init__()
        self.raw = raw
        self.block_size = block_size
        self.pending = bytearray()
        self.blocks = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.pending += data
        while len(self.pending) >= self.block_size:
            self._emit(bytes(self.pending[: self.block_size]))
            del self.pending[: self.block_size]
        return len(data)

    def _emit(self, block: bytes) -> None:
        view = memoryview(block)
        while view:
            written = self.raw.write(view)
            if not written:
                raise TapeError("the device accepted no more data (end of tape?)")
            view = view[written:]
        self.blocks += 1

    def close(self) -> None:
        if not self.closed:
            if self.pending:
                self._emit(bytes(self.pending) + b"\0" * (self.block_size - len(self.pending)))
                self.pending.clear()
            self.raw.flush()
        super().close()


class BlockReader(io.RawIOBase):
    """Reads a file object ``block_size`` bytes at a time (a tape returns at most one block per read)."""

    def __init__(self, raw, block_size: int):
        super().__init__()
        self.raw = raw
        self.block_size = block_size
        self.pending = b""
        self.eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self.eof and (size < 0 or len(self.pending) < size):
            block = self.raw.read(self.block_size)
            if not block:
                self.eof = True
            else:
                self.pending += block
        if size < 0:
            size = len(self.pending)
        out, self.pending = self.pending[:size], self.pending[size:]
        return out


class HashingReader:
    """Reads exactly ``size`` bytes of a file and hashes them on the way (tarfile copies from it)."""

    def __init__(self, handle, size: int):
        self.handle = handle
        self.left = size
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        want = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(want)
        if len(data) < want:
            raise VerifyError(f"{self.handle.name} became shorter while it was written")
        self.left -= len(data)
        self.digest.update(data)
        return data


# --- the label -------------------------------------------------------------------------------------


def sha256_of(path: str, size: int) -> str:
    """The sha256 of a file's first ``size`` bytes (a file being uploaded may grow meanwhile)."""
    digest = hashlib.sha256()
    left = size
    with open(path, "rb") as handle:
        while left:
            data = handle.read(min(CHUNK, left))
            if not data:
                raise VerifyError(f"{path} became shorter while it was read")
            digest.update(data)
            left -= len(data)
    return digest.hexdigest()


def repository_files(repo_dir: str) -> list[str]:
    """Paths of a repository's files relative to it, in tape order (snapshots first, no locks)."""
    found = []
    for top in REPO_ORDER:
        path = os.path.join(repo_dir, top)
        if os.path.isfile(path):
            found.append(top)
            continue
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.startswith("."):
                    continue  # a temporary file of an upload in progress
                found.append(os.path.relpath(os.path.join(root, name), repo_dir))
    return found


def label_id(prefix: str, moment: datetime.datetime) -> str:
    return f"{prefix}-{moment:%Y%m%d-%H%M%S}"


def build_label(config: dict, repos: list[str], moment: datetime.datetime) -> dict:
    """The label of a new tape: what will be on it, each file with its size and sha256."""
    files = []
    summary = {}
    for repo in repos:
        repo_dir = os.path.join(config["data_dir"], repo)
        if not os.path.isfile(os.path.join(repo_dir, "config")):
            raise VerifyError(f"no restic repository at {repo_dir}")
        rels = repository_files(repo_dir)
        snapshots = sorted(os.path.basename(r) for r in rels if r.startswith("snapshots/"))
        size_total = 0
        for rel in rels:
            path = os.path.join(repo_dir, rel)
            size = os.stat(path).st_size
            files.append({"path": f"{repo}/{rel}", "size": size, "sha256": sha256_of(path, size)})
            size_total += size
        summary[repo] = {"snapshots": snapshots, "files": len(rels), "bytes": size_total}
    return {
        "format": LABEL_FORMAT,
        "label": label_id(config.get("label_prefix", "BEL"), moment),
        "written": moment.isoformat(timespec="seconds"),
        "host": config.get("host") or socket.getfqdn(),
        "block_size": int(config["block_size"]),
        "repositories": summary,
        "files": files,
        "bytes": sum(f["size"] for f in files),
    }


def catalogue_entry(label: dict, config: dict, verify: dict, seconds: float) -> dict:
    """The catalogue's line for one tape: no file list (that is on the tape), the counts and result."""
    return {
        "label": label["label"],
        "written": label["written"],
        "host": label["host"],
        "device": config["device"],
        "changer": config.get("changer", ""),
        "slot": config.get("slot") if config.get("changer") else None,
        "repositories": label["repositories"],
        "files": len(label["files"]),
        "bytes": label["bytes"],
        "verify": "ok" if verify["ok"] else "failed",
        "verify_errors": verify["errors"][:20],
        "seconds": round(seconds, 1),
    }


# --- the device and the changer ----------------------------------------------------------------------


def is_tape_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


def run_tool(argv: list[str], what: str) -> str:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TapeError(f"{what}: {' '.join(argv)}: {exc}") from None
    if res.returncode != 0:
        raise TapeError(f"{what}: {' '.join(argv)} exited {res.returncode}: {res.stderr.strip() or res.stdout.strip()}")
    return res.stdout


def rewind(config: dict) -> None:
    if is_tape_device(config["device"]):
        run_tool([config.get("mt", "/bin/mt-st"), "-f", config["device"], "rewind"], "rewinding the tape")


def loaded_slot(mtx_status: str, drive: int = 0) -> int | None:
    """The slot whose tape is in the drive, from `mtx status` (None: the drive is empty)."""
    match = re.search(rf"Data Transfer Element {drive}:Full \(Storage Element (\d+) Loaded\)", mtx_status)
    return int(match.group(1)) if match else None


def load_tape(config: dict) -> None:
    """Put the configured slot's tape in the drive (changer only); a drive holding another is emptied first."""
    changer = config.get("changer") or ""
    if not changer:
        return
    mtx, slot, drive = config.get("mtx", "/usr/sbin/mtx"), int(config["slot"]), int(config.get("drive", 0))
    current = loaded_slot(run_tool([mtx, "-f", changer, "status"], "asking the changer"), drive)
    if current == slot:
        return
    if current is not None:
        run_tool([mtx, "-f", changer, "unload", str(current), str(drive)], "unloading the drive")
    run_tool([mtx, "-f", changer, "load", str(slot), str(drive)], f"loading slot {slot}")


def open_for_writing(device: str):
    try:
        if is_tape_device(device):
            return open(device, "wb", buffering=0)  # noqa: SIM115 - closed by the caller
        return open(device, "wb")  # noqa: SIM115 - a file-backed tape (lab): rewritten from the start
    except OSError as exc:
        raise TapeError(f"cannot open {device} for writing: {exc}") from None


def open_for_reading(device: str):
    try:
        return open(device, "rb", buffering=0)  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise TapeError(f"cannot open {device} for reading: {exc}") from None


# --- writing and reading -------------------------------------------------------------------------------


def write_stream(raw, label: dict, data_dir: str, block_size: int) -> None:
    """Write the label and every file it names to ``raw`` as one tar stream in fixed blocks."""
    blocks = BlockWriter(raw, block_size)
    with tarfile.open(fileobj=blocks, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        text = (json.dumps(label, indent=1, sort_keys=True) + "\n").encode()
        info = tarfile.TarInfo(LABEL_NAME)
        info.size, info.mode, info.mtime = len(text), 0o444, int(time.time())
        tar.addfile(info, io.BytesIO(text))
        for entry in label["files"]:
            path = os.path.join(data_dir, entry["path"])
            info = tarfile.TarInfo(entry["path"])
            info.size, info.mode = entry["size"], 0o400
            with open(path, "rb") as handle:
                info.mtime = int(os.fstat(handle.fileno()).st_mtime)
                reader = HashingReader(handle, entry["size"])
                tar.addfile(info, reader)
            if reader.digest.hexdigest() != entry["sha256"]:
                raise VerifyError(f"{entry['path']} changed between labelling and writing")
    blocks.close()


def parse_label(data: bytes) -> dict:
    try:
        label = json.loads(data)
    except ValueError as exc:
        raise VerifyError(f"{LABEL_NAME} on the tape is not JSON: {exc}") from None
    if not isinstance(label, dict) or label.get("format") != LABEL_FORMAT:
        raise VerifyError(f"{LABEL_NAME} on the tape is not of format {LABEL_FORMAT}")
    return label


def read_stream(raw, block_size: int, wanted: str | None = None, dest: str | None = None) -> dict:
    """Read a tape: its label, then every member's sha256 compared with the label.

    With ``wanted`` and ``dest``, the members of repository ``wanted`` are also written under
    ``dest``. Returns {"label", "ok", "errors", "members", "extracted"}.
    """
    errors: list[str] = []
    seen = set()
    extracted = 0
    with tarfile.open(fileobj=BlockReader(raw, block_size), mode="r|") as tar:
        first = tar.next()
        if first is None or first.name != LABEL_NAME or not first.isfile():
            raise VerifyError(f"the tape does not start with {LABEL_NAME}: it was not written by this tool")
        label = parse_label(tar.extractfile(first).read())
        expected = {f["path"]: f for f in label.get("files", [])}
        # tar.next(), not iteration: iterating a stream starts again with the members already read.
        while (member := tar.next()) is not None:
            name = member.name
            if not member.isfile() or not MEMBER_RE.match(name) or ".." in name.split("/"):
                errors.append(f"unexpected member {name!r}")
                continue
            out = None
            if wanted and dest and name.startswith(wanted + "/"):
                target = os.path.join(dest, name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                out = open(target, "wb")  # noqa: SIM115 - closed below
            digest = hashlib.sha256()
            source = tar.extractfile(member)
            while True:
                data = source.read(CHUNK)
                if not data:
                    break
                digest.update(data)
                if out is not None:
                    out.write(data)
            if out is not None:
                out.close()
                os.chmod(out.name, 0o600)
                extracted += 1
            seen.add(name)
            want = expected.get(name)
            if want is None:
                errors.append(f"{name} is on the tape but not in its label")
            elif want["sha256"] != digest.hexdigest() or want["size"] != member.size:
                errors.append(f"{name} does not match its label (sha256 or size differs)")
    missing = sorted(set(expected) - seen)
    errors += [f"{name} is in the label but not on the tape" for name in missing[:50]]
    if len(missing) > 50:
        errors.append(f"... and {len(missing) - 50} more files missing")
    return {"label": label, "ok": not errors, "errors": errors, "members": len(seen), "extracted": extracted}


def read_tape(config: dict, wanted: str | None = None, dest: str | None = None) -> dict:
    rewind(config)
    with open_for_reading(config["device"]) as raw:
        try:
            return read_stream(raw, int(config["block_size"]), wanted, dest)
        except tarfile.TarError as exc:
            raise VerifyError(f"the tape cannot be read as a tar stream: {exc}") from None


# --- state ------------------------------------------------------------------------------------------------


def write_json_atomic(path: str, document: dict) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o640)
    os.replace(tmp, target)


def append_catalogue(path: str, entry: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def maintenance_lock(path: str):
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def chosen_repositories(config: dict, asked: list[str]) -> list[str]:
    configured = list(config.get("repositories") or [])
    if not asked:
        return configured
    unknown = sorted(set(asked) - set(configured))
    if unknown:
        raise ValueError(f"not a repository of this tape set: {', '.join(unknown)}")
    return [r for r in configured if r in asked]


# --- subcommands ------------------------------------------------------------------------------------------


def cmd_write(config: dict, args) -> int:
    repos = chosen_repositories(config, args.repo)
    if not repos:
        raise ValueError("no repository to write (backup_target_tape_repositories and the clients are empty)")
    started = time.monotonic()
    status = {
        "tool": "belediye-backup-target-tape",
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    try:
        with maintenance_lock(config["lock_file"]):
            label = build_label(config, repos, datetime.datetime.now(datetime.UTC))
            load_tape(config)
            rewind(config)
            with open_for_writing(config["device"]) as raw:
                write_stream(raw, label, config["data_dir"], int(config["block_size"]))
        verify = read_tape(config)
        if verify["label"].get("label") != label["label"]:
            verify["ok"] = False
            verify["errors"].insert(0, f"the tape's label is {verify['label'].get('label')}, not {label['label']}")
        entry = catalogue_entry(label, config, verify, time.monotonic() - started)
        append_catalogue(config["catalogue"], entry)
        status.update(result="ok" if verify["ok"] else "failed", tape=entry)
    except (TapeError, VerifyError, OSError) as exc:
        status.update(result="failed", error=str(exc))
        write_json_atomic(config["status_file"], status)
        raise
    status["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    write_json_atomic(config["status_file"], status)
    tape = status["tape"]
    print(
        f"tape {tape['label']}: {tape['files']} files, {tape['bytes']} bytes of {', '.join(repos)};"
        f" read back: {tape['verify']}"
    )
    for error in tape["verify_errors"]:
        print(f"  {error}", file=sys.stderr)
    return 0 if verify["ok"] else 1


def cmd_verify(config: dict, _args) -> int:
    result = read_tape(config)
    print(json.dumps({"label": result["label"].get("label"), "ok": result["ok"], "members": result["members"],
                      "errors": result["errors"]}, indent=1))  # fmt: skip
    return 0 if result["ok"] else 1


def cmd_label(config: dict, _args) -> int:
    rewind(config)
    with (
        open_for_reading(config["device"]) as raw,
        tarfile.open(fileobj=BlockReader(raw, int(config["block_size"])), mode="r|") as tar,
    ):
        first = tar.next()
        if first is None or first.name != LABEL_NAME:
            raise VerifyError(f"the tape does not start with {LABEL_NAME}")
        label = parse_label(tar.extractfile(first).read())
    label.pop("files", None)
    print(json.dumps(label, indent=1, sort_keys=True))
    return 0


def restic_restore_argv(config: dict, repo_dir: str, snapshot: str, path: str, target: str) -> list[str]:
    return [config.get("restic", "/usr/bin/restic"), "--repo", repo_dir, "--password-file", config["password_file"],
            "--no-cache", "restore", snapshot, "--include", path, "--target", target]  # fmt: skip


def cmd_restore(config: dict, args) -> int:
    dest = os.path.abspath(args.dest)
    repo_dir = os.path.join(dest, args.repo)
    if os.path.exists(repo_dir) and os.listdir(repo_dir):
        raise ValueError(f"{repo_dir} exists and is not empty: restore into a fresh directory")
    os.makedirs(dest, mode=0o700, exist_ok=True)
    result = read_tape(config, args.repo, dest)
    if args.repo not in result["label"].get("repositories", {}):
        raise ValueError(f"tape {result['label'].get('label')} holds no repository {args.repo}")
    report = {"label": result["label"].get("label"), "repository": repo_dir, "files": result["extracted"],
              "ok": result["ok"], "errors": result["errors"]}  # fmt: skip
    if result["ok"] and args.file:
        target = os.path.abspath(args.target)
        res = subprocess.run(restic_restore_argv(config, repo_dir, args.snapshot, args.file, target),
                             capture_output=True, text=True, check=False)  # fmt: skip
        report["restic_restore"] = {"exit": res.returncode, "target": target, "output": res.stdout.strip()[-2000:]}
        if res.returncode != 0:
            report["ok"] = False
            report["errors"].append(f"restic restore exited {res.returncode}: {res.stderr.strip()[-500:]}")
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


def cmd_catalogue(config: dict, args) -> int:
    try:
        with open(config["catalogue"], encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines[-args.last :]:
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Backup target's tape stage.")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="write, read back and catalogue a new tape")
    write.add_argument("--repo", action="append", default=[])
    sub.add_parser("verify", help="read the tape back against its own label")
    sub.add_parser("label", help="print the label of the tape in the drive")
    restore = sub.add_parser("restore", help="extract one repository (and optionally restore one file)")
    restore.add_argument("--repo", required=True)
    restore.add_argument("--dest", required=True)
    restore.add_argument("--file", default="")
    restore.add_argument("--snapshot", default="latest")
    restore.add_argument("--target", default="")
    catalogue = sub.add_parser("catalogue", help="print the catalogue")
    catalogue.add_argument("--last", type=int, default=20)
    args = parser.parse_args(argv)
    if args.command == "restore" and args.file and not args.target:
        parser.error("restore --file needs --target")
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"backup-target-tape: cannot read {args.config}: {exc}", file=sys.stderr)
        return 2
    commands = {"write": cmd_write, "verify": cmd_verify, "label": cmd_label, "restore": cmd_restore,
                "catalogue": cmd_catalogue}  # fmt: skip
    try:
        return commands[args.command](config, args)
    except VerifyError as exc:
        print(f"backup-target-tape: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"backup-target-tape: {exc}", file=sys.stderr)
        return 2
    except (TapeError, OSError) as exc:
        print(f"backup-target-tape: {config.get('device', '?')}: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
