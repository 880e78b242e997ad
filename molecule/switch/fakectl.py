#!/usr/bin/env python3
"""Start and stop the molecule scenario's switch: lab/network/fake_ios.py as a background process.

Everything the run needs is made here, in the molecule ephemeral directory, and removed by `stop`:
the login and enable passwords (random, files of mode 0600, never committed), the fake's host key,
a known_hosts line for it in <ephemeral>/home/.ssh/known_hosts (molecule runs ansible with that HOME:
network_cli's paramiko transport reads ~/.ssh/known_hosts and checks host keys), the port, the pid
file and the fake's output. `show` prints the running configuration, read over SSH (the verifier
uses the same function).

    fakectl.py start <ephemeral dir> <address>
    fakectl.py stop <ephemeral dir>
    fakectl.py show <ephemeral dir>
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import paramiko

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "_shared"))
from fakeproc import already_running, remove, stop_pidfile, wait_for, write_private  # noqa: E402

FAKE = ROOT / "lab" / "network" / "fake_ios.py"
LOGIN = "netops"
# The fake's login and enable passwords and host key; the role's secrets (its local user, SNMPv3 keys),
# letters and digits only, as the switch CLI and the role's checks want them.
ROLE_SECRETS = ("user-password", "snmp-auth-key", "snmp-priv-key")
PRIVATE = ("login-password", "enable-password", "host-key.pem", *ROLE_SECRETS)


def known_hosts_line(text, address):
    """The known_hosts line that the fake prints for its address and port, or None before it has."""
    lines = [line for line in text.splitlines() if line.startswith(f"[{address}]:")]
    return lines[-1] if lines else None


def start(ephemeral, address):
    eph = Path(ephemeral)
    eph.mkdir(parents=True, exist_ok=True)
    pidfile = eph / "fake_ios.pid"
    pid = already_running(pidfile, FAKE)
    if pid:
        raise SystemExit(f"a fake switch already runs (pid {pid}); run destroy first")
    # A new scenario run starts a new run ledger: the verifier reads the runs of this one only (a run
    # killed before its destroy left its records here).
    remove(eph, ("ledger.jsonl",))
    password, enable = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    write_private(eph / "login-password", password)
    write_private(eph / "enable-password", enable)
    for name in ROLE_SECRETS:
        write_private(eph / name, secrets.token_hex(12))
    key = paramiko.ECDSAKey.generate()
    key.write_private_key_file(str(eph / "host-key.pem"))
    os.chmod(eph / "host-key.pem", 0o600)
    log = eph / "fake_ios.log"
    env = dict(os.environ, FAKE_IOS_PASSWORD=password, FAKE_IOS_ENABLE=enable)
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter and script
            [sys.executable, "-u", str(FAKE), "--listen", address, "--port", "0",
             "--config", str(HERE / "initial.cfg"), "--user", LOGIN, "--host-key", str(eph / "host-key.pem"),
             "--save", str(eph / "startup-config.cfg")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    pidfile.write_text(f"{proc.pid}\n", encoding="utf-8")
    known = wait_for(proc, log, lambda text: known_hosts_line(text, address), "fake_ios.py")
    if known is None:
        stop(ephemeral)
        raise SystemExit("fake_ios.py did not report its host key within 20 s")
    port = int(known.split()[0].rsplit(":", 1)[1])
    (eph / "port").write_text(f"{port}\n", encoding="utf-8")
    ssh = eph / "home" / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True, mode=0o700)
    (ssh / "known_hosts").write_text(known + "\n", encoding="utf-8")
    return port


def close_connections(ephemeral, wait=10.0):
    """Close the ansible-connection processes of the scenario's runs (their sockets under HOME)."""
    from ansible.module_utils.connection import Connection, ConnectionError  # noqa: A004

    folder = Path(ephemeral) / "home" / ".ansible" / "pc"
    if not folder.is_dir():
        return []
    for sock in folder.iterdir():
        if sock.is_socket():
            with contextlib.suppress(ConnectionError, OSError):
                Connection(str(sock)).close()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(folder.iterdir()):
        time.sleep(0.1)
    return sorted(p.name for p in folder.iterdir())


def stop(ephemeral):
    eph = Path(ephemeral)
    left = close_connections(eph)
    stop_pidfile(eph / "fake_ios.pid", FAKE)
    remove(eph, (*PRIVATE, "port", "fake_ios.log", "startup-config.cfg", "home/.ssh/known_hosts"))
    if left:
        raise SystemExit(f"persistent connections left behind: {left}")


def connect(ephemeral):
    """A paramiko client logged in to the fake, its host key checked against the scenario's known_hosts."""
    eph = Path(ephemeral)
    client = paramiko.SSHClient()
    client.load_host_keys(str(eph / "home" / ".ssh" / "known_hosts"))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    known = (eph / "home" / ".ssh" / "known_hosts").read_text(encoding="utf-8").split()[0]
    address = known[1:].split("]:")[0]
    client.connect(
        address,
        port=int((eph / "port").read_text()),
        username=LOGIN,
        password=(eph / "login-password").read_text(encoding="utf-8"),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


def run(ephemeral, commands):
    """Send exec commands (after enable) in one shell session; returns the output of the last one."""
    client = connect(ephemeral)
    try:
        shell = client.invoke_shell(width=512)
        shell.settimeout(10)

        def until(marker):
            data = ""
            while not data.rstrip().endswith(marker):
                data += shell.recv(65536).decode("utf-8", errors="replace")
            return data

        until(">")
        shell.send("enable\n")
        until("Password:")
        shell.send((Path(ephemeral) / "enable-password").read_text(encoding="utf-8") + "\n")
        until("#")
        output = ""
        for command in ["terminal length 0", *commands]:
            shell.send(command + "\n")
            output = until("#")
        lines = output.replace("\r\n", "\n").split("\n")
        return "\n".join(lines[1:-1])  # without the echoed command and the prompt
    finally:
        client.close()


def running_config(ephemeral):
    return run(ephemeral, ["show running-config"])


def main(argv):
    if len(argv) < 2 or argv[0] not in ("start", "stop", "show"):
        raise SystemExit(__doc__)
    if argv[0] == "start":
        print(start(argv[1], argv[2]))
    elif argv[0] == "stop":
        stop(argv[1])
    else:
        print(running_config(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
