#!/usr/bin/python3
"""belediye-pull: a Pardus desktop applies its own configuration from the repository (ansible-pull).

    belediye-pull [--config /etc/belediye-pull/pull.json]

Run by belediye-pull.service, which belediye-pull.timer starts after boot and then every interval
with a random delay, so desktops that are often off still converge and never all at once.

1. Fetches the pinned branch from the pinned URL into the checkout. A checkout whose origin is not
   the pinned URL is refused (someone changed it on the desktop).
2. Verifies the fetched commit: with `verify: signature`, `git verify-commit` against the keyring the
   role installed (only the keys of those who may approve desktop changes); with `verify: remote`,
   the pinned URL alone (use it only over HTTPS from the directorate's own server).
3. Checks the commit out (detached, cleaned) and runs
   ansible-playbook -c local -i <checkout>/<inventory> <checkout>/<playbook> --limit <host>
   with the desktop's own ansible.cfg (no vault, no controller settings).
4. Writes the result to the status file and to syslog (facility daemon, tag belediye-pull; info when
   it went well, err when not), which rsyslog forwards to the central log server.

Exit status: 0 applied, 1 the playbook failed, 2 refused (fetch or verification failed),
3 bad configuration, 0 too when another run holds the lock. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_CONFIG = 0, 1, 2, 3
REQUIRED = ("url", "branch", "verify", "checkout", "status", "inventory", "playbook", "host")
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)")  # fmt: skip


class Refused(Exception):
    """The commit may not be applied: fetch or verification failed."""


def now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def load_config(path: Path) -> dict:
    config = json.loads(path.read_text(encoding="utf-8"))
    missing = [key for key in REQUIRED if not config.get(key)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    if config["verify"] not in ("signature", "remote"):
        raise ValueError(f"{path}: verify must be signature or remote, not {config['verify']!r}")
    if config["verify"] == "signature" and not config.get("gnupghome"):
        raise ValueError(f"{path}: verify: signature needs gnupghome (the trusted keys)")
    return config


def git(config: dict, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["git", "-C", config["checkout"], *args],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        timeout=600,
        check=False,
    )
    if check and proc.returncode != 0:
        raise Refused(f"git {' '.join(args[:2])} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    return proc


def fetch(config: dict) -> str:
    """Fetch the pinned branch; return its commit. Refuses a checkout whose origin was changed."""
    checkout = Path(config["checkout"])
    if not (checkout / ".git").is_dir():
        checkout.mkdir(parents=True, exist_ok=True)
        git(config, "init", "--quiet")
        git(config, "remote", "add", "origin", config["url"])
    origin = git(config, "remote", "get-url", "origin", check=False).stdout.strip()
    if origin != config["url"]:
        raise Refused(f"the checkout's origin is {origin!r}, not the pinned {config['url']!r}")
    ref = f"refs/remotes/origin/{config['branch']}"
    git(config, "fetch", "--quiet", "--no-tags", "origin", f"+refs/heads/{config['branch']}:{ref}")
    return git(config, "rev-parse", "--verify", f"{ref}^{{commit}}").stdout.strip()


def verify(config: dict, commit: str) -> str:
    """Raise Refused unless the commit may be applied; return how it was verified."""
    if config["verify"] == "remote":
        return f"remote {config['url']}"
    proc = git(config, "verify-commit", "--raw", commit, check=False, env={"GNUPGHOME": config["gnupghome"]})
    signer = re.search(r"\[GNUPG:\] VALIDSIG (\S+)", proc.stderr)
    if proc.returncode != 0 or not signer:
        reason = "no signature" if "[GNUPG:]" not in proc.stderr else "not signed by a trusted key"
        raise Refused(f"commit {commit[:12]}: {reason}")
    return f"signature {signer.group(1)}"


def apply(config: dict, commit: str) -> dict:
    """Check the commit out and run the playbook for this host; return the recap numbers and rc."""
    git(config, "checkout", "--quiet", "--force", "--detach", commit)
    git(config, "clean", "--quiet", "-fdx")
    checkout = Path(config["checkout"])
    argv = [
        config.get("ansible_playbook", "/usr/bin/ansible-playbook"),
        "-c", "local",
        "-i", str(checkout / config["inventory"]),
        str(checkout / config["playbook"]),
        "--limit", config["host"],
    ]  # fmt: skip
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    if config.get("ansible_config"):
        env["ANSIBLE_CONFIG"] = config["ansible_config"]
    try:
        proc = subprocess.run(
            argv, cwd=checkout, capture_output=True, text=True, env=env, timeout=int(config.get("timeout", 3600)),
            check=False,
        )  # fmt: skip
        output, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output, rc = f"{exc.stdout or ''}{exc.stderr or ''}\ntimed out", 124
    if config.get("log"):
        log = Path(config["log"])
        log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(output)
    numbers = {"ok": 0, "changed": 0, "unreachable": 0, "failed": 0}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        match = RECAP.match(line.strip())
        if match and match.group("host") == config["host"]:
            numbers = {k: int(match.group(k)) for k in numbers}
    return {"rc": rc, **numbers}


def report(config: dict, status: dict) -> None:
    path = Path(config["status"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(path)
    if config.get("syslog", True):
        import syslog

        fields = " ".join(f"{k}={status[k]}" for k in ("host", "result", "commit", "changed", "failed") if k in status)
        message = f"{fields} message={status.get('message', '')}".strip()
        syslog.openlog("belediye-pull", 0, syslog.LOG_DAEMON)
        syslog.syslog(syslog.LOG_INFO if status["result"] == "ok" else syslog.LOG_ERR, message)
        syslog.closelog()


def run(config: dict) -> int:
    status = {"host": config["host"], "started": now(), "branch": config["branch"], "url": config["url"]}
    try:
        commit = fetch(config)
        status["commit"] = commit
        status["verified"] = verify(config, commit)
    except (Refused, subprocess.TimeoutExpired, OSError) as exc:
        status.update(result="refused", message=str(exc), finished=now())
        report(config, status)
        print(f"belediye-pull: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        numbers = apply(config, commit)
    except (Refused, OSError) as exc:
        status.update(result="failed", message=str(exc), finished=now())
        report(config, status)
        print(f"belediye-pull: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    ok = numbers["rc"] == 0
    status.update(
        numbers,
        result="ok" if ok else "failed",
        message="applied" if ok else f"ansible-playbook exited {numbers['rc']}",
        finished=now(),
    )
    report(config, status)
    print(
        f"belediye-pull: {status['result']}: commit {commit[:12]},"
        f" changed={numbers['changed']}, failed={numbers['failed']}"
    )
    return EXIT_OK if ok else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("/etc/belediye-pull/pull.json"))
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as exc:
        print(f"belediye-pull: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    lock_path = Path(config["status"]).with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("belediye-pull: another run holds the lock", file=sys.stderr)
            return EXIT_OK
        return run(config)


if __name__ == "__main__":
    sys.exit(main())
