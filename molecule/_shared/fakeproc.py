"""Process helpers for the molecule scenarios whose "instance" is a device fake on loopback.

molecule/switch (lab/network/fake_ios.py) and molecule/windows_baseline (lab/devices/wsman_fake.py) run
their fake as a background process from their fakectl.py: secrets go into files of mode 0600, the
process is found again by its pid file, and it is stopped only when the pid still belongs to the fake
(a reused pid of another process is never signalled).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def write_private(path, text):
    """Write text to a file that only the owner can read, created with that mode (no window)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def running(pid, script):
    """True when pid is a running process of the given script."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(script).encode() in cmdline


def already_running(pidfile, script):
    """The pid in pidfile when it is a running process of the script, else None."""
    pidfile = Path(pidfile)
    if not pidfile.exists():
        return None
    pid = int(pidfile.read_text())
    return pid if running(pid, script) else None


def wait_for(proc, log, find, what, seconds=20.0):
    """Poll the fake's log until find(text) returns something (that is returned); None when time runs out,
    SystemExit when the fake exits first."""
    log = Path(log)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}:\n{log.read_text(encoding='utf-8')}")
        found = find(log.read_text(encoding="utf-8"))
        if found is not None:
            return found
        time.sleep(0.1)
    return None


def stop_pidfile(pidfile, script, grace=10.0):
    """Stop the script's process named by pidfile (TERM, then KILL after grace seconds); remove the file."""
    pidfile = Path(pidfile)
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    if running(pid, script):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while running(pid, script) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        if running(pid, script):
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink()


def remove(folder, names):
    """Remove the named files below folder; missing ones are fine."""
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (Path(folder) / name).unlink()
