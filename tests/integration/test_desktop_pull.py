"""belediye-pull end to end on a lab desktop: a bare repository served by the control node on the
bridge, a commit signed by the lab's signing key pushed to branch lab-pull, the desktop's pull unit
(the one its timer starts) applies it, and every result reaches the central log server. A commit
signed by a stranger's key is refused and a failing one is reported, both on log01 too.

The repository is this checkout's HEAD (committed work only), cloned bare into a temporary
directory and served over git's dumb HTTP protocol by a thread on 10.231.0.1:3330.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from .conftest import ROOT

DESKTOP = "pardus01"
LISTEN = ("10.231.0.1", 3330)
GROUP_VARS = "inventories/lab/group_vars/pardus_desktops.yml"


def git(*args, cwd, env=None):
    return subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, check=True, timeout=300).stdout.strip()  # fmt: skip


class Remote:
    """The bare repository the desktops pull, a work clone to commit in, and the signing keys."""

    def __init__(self, tmp: Path, signing_key: str):
        self.tmp = tmp
        self.srv = tmp / "srv"
        self.bare = self.srv / "belediye-iac.git"
        self.work = tmp / "work"
        git("clone", "--quiet", "--bare", str(ROOT), str(self.bare), cwd=tmp)
        git("clone", "--quiet", str(self.bare), str(self.work), cwd=tmp)
        git("checkout", "--quiet", "-b", "lab-pull", cwd=self.work)
        self.homes = {}
        for name, armored in (("lab", signing_key), ("yabanci", None)):
            home = tmp / f"gnupg-{name}"
            home.mkdir(mode=0o700)
            if armored:
                subprocess.run(["gpg", "--homedir", str(home), "--batch", "--import"], input=armored, text=True,
                               capture_output=True, check=True)  # fmt: skip
            else:
                subprocess.run(["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase",
                                "", "--quick-gen-key", "yabanci <yabanci@example.invalid>", "ed25519", "sign", "never"],
                               capture_output=True, check=True)  # fmt: skip
            listing = subprocess.run(["gpg", "--homedir", str(home), "--with-colons", "--list-secret-keys"],
                                     capture_output=True, text=True, check=True).stdout  # fmt: skip
            self.homes[name] = (home, next(row.split(":")[9] for row in listing.splitlines() if row.startswith("fpr:")))
        self.original = (self.work / GROUP_VARS).read_text(encoding="utf-8")

    def publish(self, extra: str, signer: str, message: str) -> str:
        (self.work / GROUP_VARS).write_text(self.original + extra, encoding="utf-8")
        home, fpr = self.homes[signer]
        git("-c", "user.name=BİM", "-c", "user.email=bim@belediye.local", "-c", f"user.signingkey={fpr}",
            "commit", "--quiet", "--allow-empty", "-S", "-a", "-m", message, cwd=self.work,
            env={"GNUPGHOME": str(home)})  # fmt: skip
        git("push", "--quiet", "--force", "origin", "lab-pull", cwd=self.work)
        git("update-server-info", cwd=self.bare)
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture(scope="module")
def remote(tmp_path_factory, vault_value):
    made = Remote(tmp_path_factory.mktemp("pull"), vault_value("vault_lab_pull_signing_key"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(made.srv))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(LISTEN, handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield made
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def desktop(lab_hosts):
    return lab_hosts[DESKTOP]


def pull(desktop):
    """Start the unit the timer starts; return its result and the status file."""
    run = desktop.run("systemctl start belediye-pull.service")
    status = json.loads(desktop.check_output("cat /var/lib/belediye-pull/status.json"))
    return run, status


def on_log01(lab_hosts, text: str) -> bool:
    log01 = lab_hosts["log01"]
    day = log01.check_output("date +%F")
    for _ in range(60):
        if log01.run(f"grep -F -q {text!r} /var/log/remote/{DESKTOP}/{day}.log").rc == 0:
            return True
        time.sleep(0.5)
    return False


def test_the_timer_waits_with_a_random_delay(desktop):
    timer = desktop.check_output("systemctl show belediye-pull.timer -p ActiveState -p RandomizedDelayUSec")
    assert "ActiveState=active" in timer
    assert "RandomizedDelayUSec=10min" in timer


def test_a_signed_commit_is_applied_and_reported(remote, desktop, lab_hosts):
    commit = remote.publish("\npardus_desktop_screenlock_idle_seconds: 900\n", "lab", "Ekran kilidi 15 dakika")
    run, status = pull(desktop)
    assert run.rc == 0, run.stderr
    assert (status["result"], status["commit"]) == ("ok", commit)
    assert status["verified"] == f"signature {remote.homes['lab'][1]}"
    assert desktop.check_output("dconf read /org/gnome/desktop/session/idle-delay") == "uint32 900"
    assert on_log01(lab_hosts, f"result=ok commit={commit}")


def test_a_commit_signed_by_a_stranger_is_refused_and_reported(remote, desktop, lab_hosts):
    applied = desktop.check_output("git -C /var/lib/belediye-pull/repo rev-parse HEAD")
    commit = remote.publish("\npardus_desktop_screenlock_idle_seconds: 3600\n", "yabanci", "Yabancı imza")
    run, status = pull(desktop)
    assert run.rc != 0
    assert (status["result"], status["commit"]) == ("refused", commit)
    assert "not signed by a trusted key" in status["message"]
    assert desktop.check_output("git -C /var/lib/belediye-pull/repo rev-parse HEAD") == applied
    assert desktop.check_output("dconf read /org/gnome/desktop/session/idle-delay") == "uint32 900"
    assert on_log01(lab_hosts, f"result=refused commit={commit}")


def test_a_failing_commit_is_reported_and_the_original_comes_back(remote, desktop, lab_hosts):
    marker = uuid.uuid4().hex[:8]
    commit = remote.publish("\npardus_desktop_screenlock_idle_seconds: 5\n", "lab", f"Hatalı değer {marker}")
    run, status = pull(desktop)
    assert run.rc != 0
    assert (status["result"], status["commit"]) == ("failed", commit)
    assert on_log01(lab_hosts, f"result=failed commit={commit}")
    # Back to the lab's own values, as site.yml left them.
    restored = remote.publish("", "lab", "Laboratuvar değerleri")
    run, status = pull(desktop)
    assert (run.rc, status["result"], status["commit"]) == (0, "ok", restored)
    assert desktop.check_output("dconf read /org/gnome/desktop/session/idle-delay") == "uint32 600"


def test_the_migration_report_counts_the_lab_desktops_from_their_facts(tmp_path):
    out = tmp_path / "rapor"
    res = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/lab",
         "playbooks/pardus-migration-report.yml", "-e", f"migration_report_out={out}",
         "-e", "migration_report_today=2026-11-30"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["totals"] == {"total": 3, "pardus": 2, "planned": 1, "exception": 0, "percent": 66.7, "behind": 0}
    seen = {m["host"]: m["seen"] for m in report["machines"]}
    assert seen == {"pardus01": "Pardus 23.2", "pardus02": "Pardus 23.2", "pc-win-lab-01": "not_gathered"}
