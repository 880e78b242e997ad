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

import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "_shared"))
from fakeproc import already_running, remove, stop_pidfile, wait_for, write_private  # noqa: E402

FAKE = ROOT / "lab" / "devices" / "wsman_fake.py"
LOGIN = "bimadmin"
READY = re.compile(r"WS-Man fake \(not Windows\) on http://([0-9.]+):([0-9]+)/wsman")


def start(ephemeral, address):
    eph = Path(ephemeral)
    eph.mkdir(parents=True, exist_ok=True)
    pidfile = eph / "wsman_fake.pid"
    pid = already_running(pidfile, FAKE)
    if pid:
        raise SystemExit(f"a WS-Man fake already runs (pid {pid}); run destroy first")
    # A new scenario run starts a new run ledger: the verifier reads the runs of this one only (a run
    # killed before its destroy left its records here).
    remove(eph, ("ledger.jsonl",))
    write_private(eph / "winrm-password", secrets.token_urlsafe(18))
    shutil.copyfile(ROOT / "lab" / "devices" / "windows-initial-state.json", eph / "windows-state.json")
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
    match = wait_for(proc, log, READY.search, "wsman_fake.py")
    port = int(match.group(2)) if match else None
    if port is None:
        stop(ephemeral)
        raise SystemExit("wsman_fake.py did not report its port within 20 s")
    (eph / "port").write_text(f"{port}\n", encoding="utf-8")
    return port


def stop(ephemeral):
    eph = Path(ephemeral)
    stop_pidfile(eph / "wsman_fake.pid", FAKE)
    remove(eph, ("winrm-password", "port", "wsman_fake.log", "windows-state.json"))
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
