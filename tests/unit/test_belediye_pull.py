"""belediye-pull (roles/pardus_desktop/files/belediye_pull.py) against real git repositories on
disk and real GnuPG keys made for the test: a commit is applied only when it comes from the pinned
remote and, in signature mode, is signed by a key of the desktop's keyring. ansible-playbook is
replaced by a small script that records how it was called and prints a recap."""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripttools import load_script  # noqa: E402

pull = load_script(ROOT / "roles" / "pardus_desktop" / "files" / "belediye_pull.py", "belediye_pull")

FAKE_PLAYBOOK = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_ARGS"
printf '%s\\n' "$ANSIBLE_CONFIG" >> "$FAKE_ARGS"
if [ -e FAIL ]; then
  printf 'PLAY RECAP\\npc-bim-001 : ok=3 changed=1 unreachable=0 failed=1 skipped=0\\n'; exit 2
fi
printf 'PLAY RECAP\\npc-bim-001 : ok=7 changed=2 unreachable=0 failed=0 skipped=1\\n'
"""


def run(*argv, cwd=None, env=None):
    return subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip


def new_key(home: Path, name: str) -> str:
    home.mkdir(mode=0o700)
    run("gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
        "--quick-gen-key", f"{name} <{name}@ornek.bel.tr>", "ed25519", "sign", "never")  # fmt: skip
    out = run("gpg", "--homedir", str(home), "--batch", "--with-colons", "--list-secret-keys").stdout
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


class World:
    """A source repository, its bare remote, two signers and a desktop's config."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.trusted = new_key(tmp / "gpg-onay", "onay")
        self.stranger = new_key(tmp / "gpg-yabanci", "yabanci")
        keyring = tmp / "desktop-gnupg"
        keyring.mkdir(mode=0o700)
        public = run("gpg", "--homedir", str(tmp / "gpg-onay"), "--armor", "--export", self.trusted).stdout
        subprocess.run(["gpg", "--homedir", str(keyring), "--batch", "--import"], input=public, text=True,
                       capture_output=True, check=True)  # fmt: skip
        self.work = tmp / "work"
        run("git", "init", "--quiet", "--initial-branch", "masaustu", str(self.work))
        (self.work / "playbooks").mkdir()
        (self.work / "playbooks" / "desktops.yml").write_text("---\n")
        (self.work / "inventories" / "production").mkdir(parents=True)
        (self.work / "inventories" / "production" / "hosts.yml").write_text("---\n")
        self.commit("first", signer="onay")
        self.remote = tmp / "remote.git"
        run("git", "clone", "--quiet", "--bare", str(self.work), str(self.remote))
        run("git", "-C", str(self.work), "remote", "add", "origin", str(self.remote))
        fake = tmp / "ansible-playbook"
        fake.write_text(FAKE_PLAYBOOK)
        fake.chmod(0o755)
        self.args = tmp / "args.txt"
        self.config = {
            "url": str(self.remote),
            "branch": "masaustu",
            "verify": "signature",
            "gnupghome": str(keyring),
            "checkout": str(tmp / "desktop" / "repo"),
            "status": str(tmp / "desktop" / "status.json"),
            "log": str(tmp / "desktop" / "last.log"),
            "inventory": "inventories/production",
            "playbook": "playbooks/desktops.yml",
            "host": "pc-bim-001",
            "ansible_playbook": str(fake),
            "ansible_config": "/etc/belediye-pull/ansible.cfg",
            "syslog": False,
        }
        self.write_config()

    def write_config(self, **changes):
        self.config.update(changes)
        self.config_path = self.tmp / "pull.json"
        self.config_path.write_text(json.dumps(self.config))

    def commit(self, message: str, signer: str | None, fail: bool = False, push: bool = False) -> str:
        marker = self.work / "FAIL"
        if fail:
            marker.write_text("x\n")
        elif marker.exists():
            marker.unlink()
        (self.work / "CHANGES").write_text(message + "\n")
        run("git", "-C", str(self.work), "add", "-A")
        argv = ["git", "-C", str(self.work), "-c", "user.name=BİM", "-c", "user.email=bim@ornek.bel.tr", "commit",
                "--quiet", "-m", message]  # fmt: skip
        env = {}
        if signer:
            argv[3:3] = ["-c", f"user.signingkey={self.trusted if signer == 'onay' else self.stranger}"]
            argv.append("-S")
            env["GNUPGHOME"] = str(self.tmp / f"gpg-{signer}")
        run(*argv, env=env)
        if push:
            run("git", "-C", str(self.work), "push", "--quiet", "origin", "masaustu")
        return run("git", "-C", str(self.work), "rev-parse", "HEAD").stdout.strip()

    def pull(self) -> int:
        return pull.main(["--config", str(self.config_path)])

    def status(self) -> dict:
        return json.loads(Path(self.config["status"]).read_text())

    def checked_out(self) -> str:
        return run("git", "-C", self.config["checkout"], "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def world(tmp_path, monkeypatch):
    made = World(tmp_path)
    monkeypatch.setenv("FAKE_ARGS", str(made.args))
    return made


def test_a_commit_signed_by_a_trusted_key_is_applied(world):
    head = run("git", "-C", str(world.work), "rev-parse", "HEAD").stdout.strip()
    assert world.pull() == pull.EXIT_OK
    status = world.status()
    assert (status["result"], status["commit"], status["changed"], status["failed"]) == ("ok", head, 2, 0)
    assert status["verified"] == f"signature {world.trusted}"
    args = world.args.read_text().split("\n")
    assert args[:2] == ["-c", "local"]
    assert args[args.index("--limit") + 1] == "pc-bim-001"
    assert args[args.index("-i") + 1] == f"{world.config['checkout']}/inventories/production"
    assert args[-2] == "/etc/belediye-pull/ansible.cfg"  # the desktop's own ansible.cfg
    assert oct(Path(world.config["log"]).stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(("signer", "reason"), [("yabanci", "not signed by a trusted key"), (None, "no signature")],
                         ids=["stranger's key", "unsigned"])  # fmt: skip
def test_a_commit_not_signed_by_a_trusted_key_is_refused_and_not_checked_out(world, signer, reason):
    assert world.pull() == pull.EXIT_OK
    applied = world.checked_out()
    bad = world.commit("ekran kilidi 1 saat", signer=signer, push=True)
    world.args.unlink()
    assert world.pull() == pull.EXIT_REFUSED
    status = world.status()
    assert (status["result"], status["commit"]) == ("refused", bad)
    assert reason in status["message"]
    assert world.checked_out() == applied
    assert not world.args.exists()  # ansible-playbook never ran


def test_remote_mode_trusts_the_pinned_remote_alone(world):
    world.write_config(verify="remote")
    head = world.commit("imzasız", signer=None, push=True)
    assert world.pull() == pull.EXIT_OK
    assert (world.status()["commit"], world.status()["verified"]) == (head, f"remote {world.remote}")


def test_a_checkout_whose_origin_was_changed_is_refused(world):
    assert world.pull() == pull.EXIT_OK
    run("git", "-C", world.config["checkout"], "remote", "set-url", "origin", "https://example.invalid/x.git")
    assert world.pull() == pull.EXIT_REFUSED
    assert "not the pinned" in world.status()["message"]


def test_a_failing_playbook_is_reported_as_failed(world):
    world.commit("bozuk", signer="onay", fail=True, push=True)
    assert world.pull() == pull.EXIT_FAILED
    status = world.status()
    assert (status["result"], status["failed"], status["message"]) == ("failed", 1, "ansible-playbook exited 2")


def test_a_second_run_waits_for_nobody_while_one_holds_the_lock(world):
    lock = Path(world.config["status"]).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert world.pull() == pull.EXIT_OK
    assert not world.args.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"verify": "kapalı"}, "verify must be signature or remote"), ({"gnupghome": ""}, "needs gnupghome"),
     ({"url": ""}, "missing url")],
    ids=["unknown verify", "signature without keyring", "no url"],
)  # fmt: skip
def test_bad_configuration_is_refused(world, capsys, changes, message):
    world.write_config(**changes)
    assert world.pull() == pull.EXIT_CONFIG
    assert message in capsys.readouterr().err
