#!/usr/bin/env python3
"""Start and stop the molecule scenario's Windows host: lab/devices/wsman_fake.py, a protocol-level WS-Man
fake (NOT Windows), as a background process on a loopback address.

Everything the run needs is made here, in the molecule ephemeral directory, and removed by `stop`: the
WinRM password (random, a file of mode 0600, never committed, given to the fake as a file so it is not
in the process list), the fake's state (a copy of lab/devices/windows-initial-state.json, which the
fake updates), the folder where the fake writes every decoded script (scripts/NNNN.ps1), the port, the
pid file and the output.

    fakectl.py start <ephemeral dir> <address>     prints the port
    fakectl.py stop <ephemeral dir>
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FAKE = ROOT / "lab" / "devices" / "wsman_fake.py"
LOGIN = "bimadmin"
READY = re.compile(r"WS-Man fake \(not Windows\) on http://([0-9.]+):([0-9]+)/wsman")


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _alive(pid):
    """True when pid is a running wsman_fake.py (never signal an unrelated process that reused the pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(FAKE).encode() in cmdline


def start(ephemeral, address):
    eph = Path(ephemeral)
    eph.mkdir(parents=True, exist_ok=True)
    pidfile = eph / "wsman_fake.pid"
    if pidfile.exists() and _alive(int(pidfile.read_text())):
        raise SystemExit(f"a WS-Man fake already runs (pid {pidfile.read_text().strip()}); run destroy first")
    _write_private(eph / "winrm-password", secrets.token_urlsafe(18))
    shutil.copyfile(HERE.parents[1] / "lab" / "devices" / "windows-initial-state.json", eph / "windows-state.json")
    shutil.rmtree(eph / "scripts", ignore_errors=True)
    log = eph / "wsman_fake.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter and script
            [sys.executable, "-u", str(FAKE), "--state", str(eph / "windows-state.json"), "--host", address,
             "--port", "0", "--username", LOGIN, "--password-file", str(eph / "winrm-password"),
             "--record", str(eph / "scripts")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    pidfile.write_text(f"{proc.pid}\n", encoding="utf-8")
    deadline = time.monotonic() + 20
    port = None
    while time.monotonic() < deadline and port is None:
        if proc.poll() is not None:
            raise SystemExit(f"wsman_fake.py exited with {proc.returncode}:\n{log.read_text(encoding='utf-8')}")
        match = READY.search(log.read_text(encoding="utf-8"))
        if match:
            port = int(match.group(2))
        time.sleep(0.1)
    if port is None:
        stop(ephemeral)
        raise SystemExit("wsman_fake.py did not report its port within 20 s")
    (eph / "port").write_text(f"{port}\n", encoding="utf-8")
    return port


def stop(ephemeral):
    eph = Path(ephemeral)
    pidfile = eph / "wsman_fake.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        pidfile.unlink()
    for name in ("winrm-password", "port", "wsman_fake.log", "windows-state.json"):
        with contextlib.suppress(FileNotFoundError):
            (eph / name).unlink()
    shutil.rmtree(eph / "scripts", ignore_errors=True)


def main(argv):
    if len(argv) < 2 or argv[0] not in ("start", "stop") or (argv[0] == "start" and len(argv) < 3):
        raise SystemExit(__doc__)
    if argv[0] == "start":
        print(start(argv[1], argv[2]))
    else:
        stop(argv[1])


if __name__ == "__main__":
    main(sys.argv[1:])
