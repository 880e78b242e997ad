#!/usr/bin/python3
"""log-server-diskguard: hold the log server's messages in rsyslog's queues while a log file system
is short of space, instead of letting rsyslog drop them.

rsyslog 8.2302's omfile drops a message it cannot write ("message lost, could not be processed" on
ENOSPC), even with a disk-assisted action queue and action.resumeRetryCount="-1": a write error
does not suspend the action. Each file action of the log server therefore reads a state file
(action.externalstate.file): while it says SUSPENDED the action is suspended and its messages wait
in its queue (memory, then /var/spool/rsyslog); READY (or no file) lets them through, oldest first.
This guard writes those files from the free space of the directory each action writes to.
A directory that cannot be examined counts as having room: the guard never stops the logs by mistake.

    log-server-diskguard [--interval 30] [--once] --min-free-mb 1024 DIR=STATEFILE ...

Installed by the log_server role as /usr/local/sbin/log-server-diskguard and run by
log-server-diskguard.service. A change of state is logged to syslog (CRIT when filing stops,
NOTICE when it resumes); with --once it is also printed. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys
import syslog
import time
from pathlib import Path

READY = "READY"
SUSPENDED = "SUSPENDED"


def decide(free_bytes: int, min_free_bytes: int) -> str:
    """The state of an action whose file system has free_bytes available."""
    return SUSPENDED if free_bytes < min_free_bytes else READY


def free_bytes(path: Path) -> int:
    """Bytes available to unprivileged users (like df); root's reserve is left as a further margin."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def read_state(state_file: Path) -> str:
    try:
        return state_file.read_text().strip() or READY
    except FileNotFoundError:
        return READY


def write_state(state_file: Path, state: str) -> None:
    """Replace the state file atomically: rsyslog never reads half a word."""
    state_file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    tmp = state_file.with_name(f".{state_file.name}.tmp")
    tmp.write_text(state + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, state_file)


def parse_watch(text: str) -> tuple[Path, Path]:
    directory, sep, state_file = text.partition("=")
    if not sep or not directory.startswith("/") or not state_file.startswith("/"):
        raise argparse.ArgumentTypeError(f"{text!r} is not DIR=STATEFILE with absolute paths")
    return Path(directory), Path(state_file)


def check(watches: list[tuple[Path, Path]], min_free_bytes: int) -> list[str]:
    """One pass: update every state file; return a line for each change."""
    changes = []
    for directory, state_file in watches:
        try:
            free = free_bytes(directory)
        except OSError as exc:
            # A directory that cannot be examined is not a reason to stop the logs.
            free, note = min_free_bytes, f" ({directory}: {exc.strerror})"
        else:
            note = ""
        state = decide(free, min_free_bytes)
        if state != read_state(state_file):
            write_state(state_file, state)
            mib = free // (1 << 20)
            if state == SUSPENDED:
                line = (
                    f"filing into {directory} SUSPENDED: {mib} MiB free, less than {min_free_bytes >> 20} MiB;"
                    " messages wait in rsyslog's queues until space is freed"
                )
                syslog.syslog(syslog.LOG_CRIT, line)
            else:
                line = f"filing into {directory} resumed: {mib} MiB free{note}"
                syslog.syslog(syslog.LOG_NOTICE, line)
            changes.append(line)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="log-server-diskguard", description=__doc__.splitlines()[0])
    parser.add_argument("--min-free-mb", type=int, required=True, help="suspend filing below this many MiB free")
    parser.add_argument("--interval", type=float, default=30, help="seconds between checks (default 30)")
    parser.add_argument("--once", action="store_true", help="check once and exit")
    parser.add_argument("watch", nargs="+", type=parse_watch, metavar="DIR=STATEFILE")
    args = parser.parse_args(argv)
    syslog.openlog("log-server-diskguard", syslog.LOG_PID, syslog.LOG_DAEMON)
    min_free = args.min_free_mb << 20
    while True:
        changes = check(args.watch, min_free)
        if args.once:  # as a service the lines go to syslog only, with their priority
            for line in changes:
                print(line)
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
