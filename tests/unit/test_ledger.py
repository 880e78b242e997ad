"""The run ledger: plugins/callback/ledger.py writes one hash-chained line per run, tools/ledger.py checks it.

Every test runs the real ansible-playbook from the repository root with the repository's ansible.cfg (which
enables the plugin), against the control node itself (connection local, no facts), with the ledger, the
syslog socket and Ansible's own state in temporary directories.  The playbooks live in a throw-away git
repository so that the recorded commit, branch, dirty flag and relative paths can be checked.

One module-scoped ledger of four real runs (apply, check, a failing run, a run with --limit/--tags) serves
the content checks and, copied and then damaged, the verifier checks.
"""

import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
TOOL = ROOT / "tools" / "ledger.py"
PLUGIN = ROOT / "plugins" / "callback" / "ledger.py"
SECRET = "Gizli-Parola-7f3a9c1e-do-not-log"  # noqa: S105 - a marker that must never reach the ledger
WELCOME = "Hoş geldiniz, çalışma saatleri 08:30–17:30\n"
RECAP = re.compile(
    r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.MULTILINE,
)

SITE = """\
- name: Ledger test site
  hosts: all
  gather_facts: false
  tasks:
    - name: Message of the day is written
      ansible.builtin.copy:
        content: "{{ welcome }}"
        dest: "{{ out_dir }}/motd.txt"
        mode: "0644"
    - name: Service password is written
      ansible.builtin.copy:
        content: "{{ ledger_test_token }}\\n"
        dest: "{{ out_dir }}/secret.txt"
        mode: "0600"
      no_log: true
    - name: Two numbered files are written
      ansible.builtin.copy:
        content: "file {{ item }}\\n"
        dest: "{{ out_dir }}/n{{ item }}.txt"
        mode: "0644"
      loop: [1, 2]
      tags: [numbered]
"""

FAIL = """\
- name: Ledger test failure
  hosts: all
  gather_facts: false
  tasks:
    - name: A file is written before the failure
      ansible.builtin.copy:
        content: "before the failure\\n"
        dest: "{{ out_dir }}/before-failure.txt"
        mode: "0644"
    - name: This task fails on purpose
      ansible.builtin.fail:
        msg: planned failure for the ledger test
"""

SLOW = """\
- name: Ledger test slow run
  hosts: all
  gather_facts: false
  tasks:
    - name: Marker shows that the play runs
      ansible.builtin.copy:
        content: "running\\n"
        dest: "{{ out_dir }}/marker.txt"
        mode: "0644"
    - name: A long task
      ansible.builtin.command: sleep 60
      changed_when: false
"""


# ------------------------------------------------------------------------------------------- helpers


def sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def raw_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "a ledger ends with a newline"
    return data[:-1].split(b"\n")


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in raw_lines(path)]


def recap(stdout: str) -> dict:
    stdout = re.sub(r"\x1b\[[0-9;]*m", "", stdout)
    return {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(stdout)}


def tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TOOL), *args], capture_output=True, text=True, timeout=60, env=clean_env())


def clean_env(**extra: str) -> dict:
    """The caller's environment without anything that would change what the ledger records."""
    drop = ("BELEDIYE_", "CI_", "GITLAB_", "JOB_ID", "SUDO_USER", "ANSIBLE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


class Scenario:
    """A throw-away git repository with playbooks and inventories, and a place for Ansible's state."""

    def __init__(self, base: Path):
        self.base = base
        self.repo = base / "repo"
        self.out = base / "out"
        self.state = base / "state"
        for d in (self.repo / "inventory", self.out, self.state):
            d.mkdir(parents=True)
        local = f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}"
        (self.repo / "inventory" / "local.ini").write_text(local + "\n")
        # ghost refuses connections on the loopback discard port: unreachable at once
        ghost = "ghost ansible_host=127.0.0.1 ansible_port=9 ansible_user=nobody ansible_connection=ssh"
        (self.repo / "inventory" / "with-ghost.ini").write_text(f"{local}\n{ghost}\n")
        (self.repo / "site.yml").write_text(SITE)
        (self.repo / "fail.yml").write_text(FAIL)
        (self.repo / "slow.yml").write_text(SLOW)
        self.git("init", "-q", "-b", "main")
        self.git("add", ".")
        self.git("-c", "user.name=Test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "test")
        self.commit = self.git("rev-parse", "HEAD").strip()

    def git(self, *args: str) -> str:
        res = subprocess.run(["git", "-C", str(self.repo), *args], capture_output=True, text=True, check=True)
        return res.stdout

    def env(self, ledger: Path, sock: str | None = None, **extra: str) -> dict:
        values = {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_HOME": str(self.state / "home"),
            "ANSIBLE_LOCAL_TEMP": str(self.state / "tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.state / "cp"),
            "ANSIBLE_CACHE_PLUGIN": "memory",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_SSH_RETRIES": "0",
            "BELEDIYE_LEDGER_PATH": str(ledger),
        }
        if sock:
            values["BELEDIYE_LEDGER_SYSLOG_SOCKET"] = sock
        else:
            values["BELEDIYE_LEDGER_SYSLOG"] = "false"
        values.update(extra)
        return clean_env(**values)

    def argv(self, playbook: str, *extra: str, inventory: str = "local.ini") -> list[str]:
        return [
            str(BIN / "ansible-playbook"),
            "-i",
            str(self.repo / "inventory" / inventory),
            str(self.repo / playbook),
            "-e",
            f"out_dir={self.out}",
            "-e",
            f"ledger_test_token={SECRET}",
            "-e",
            json.dumps({"welcome": WELCOME}),
            *extra,
        ]

    def run(self, playbook: str, ledger: Path, *extra: str, sock=None, inventory="local.ini", **env):
        return subprocess.run(
            self.argv(playbook, *extra, inventory=inventory),
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=self.env(ledger, sock, **env),
            timeout=180,
        )


class SyslogSink:
    """A unix datagram socket standing in for /dev/log (short path: sun_path holds 108 bytes)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ldg")
        self.path = os.path.join(self.dir, "log")
        assert len(self.path) < 100, self.path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.received: list[bytes] = []

    def drain(self) -> list[bytes]:
        while True:
            try:
                self.received.append(self.sock.recv(65536))
            except BlockingIOError:
                return self.received

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _shared_dir(tmp_path_factory) -> Path:
    """A directory all pytest-xdist workers of this session share (the session's own one without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _make_runs(base: Path) -> dict:
    """Make the four runs into one ledger, two at a time; return what the tests need as JSON-able data.

    apply then check run one after the other (check must find the tree converged, and dirty); the failing
    and the limited run go alongside, into their own output directory, so the lock sees contention too.
    """
    sc = Scenario(base)
    ledger = base / "ledger" / "ledger.jsonl"
    other_out = base / "other-out"
    other_out.mkdir()
    sink = SyslogSink()
    results: dict[str, subprocess.CompletedProcess] = {}

    def apply_then_check():
        # in colour, as on a terminal: the ledger must still hold plain diffs
        colour = {"ANSIBLE_NOCOLOR": "0", "ANSIBLE_FORCE_COLOR": "1"}
        results["apply"] = sc.run("site.yml", ledger, "--diff", sock=sink.path, **colour)
        (sc.repo / "notes.txt").write_text("an untracked file makes the tree dirty\n")
        results["check"] = sc.run("site.yml", ledger, "--check", "--diff", sock=sink.path)

    def fail_then_limited():
        elsewhere = ("-e", f"out_dir={other_out}")
        results["failed"] = sc.run("fail.yml", ledger, *elsewhere, sock=sink.path, BELEDIYE_RUN_ID="fail-run")
        results["limited"] = sc.run(
            "site.yml",
            ledger,
            *elsewhere,
            "--limit",
            "localhost",
            "--tags",
            "numbered",
            "--skip-tags",
            "never",
            sock=sink.path,
            BELEDIYE_RUN_ID="limited-run",
        )

    try:
        threads = [threading.Thread(target=apply_then_check), threading.Thread(target=fail_then_limited)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(0.2)
        datagrams = sink.drain()
    finally:
        sink.close()
    return {
        "ledger": str(ledger),
        "repo": str(sc.repo),
        "out": str(sc.out),
        "commit": sc.commit,
        "datagrams": [d.decode("utf-8") for d in datagrams],
        **{k: {"returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr} for k, r in results.items()},
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Four real runs into one ledger: apply, check (dirty tree), a failing run, a limited and tagged run.

    The runs are made once per test session: under pytest-xdist the first worker to get here makes them
    while holding a lock, the others wait and read the result.  Tests only read this ledger (or copies).
    """
    shared = _shared_dir(tmp_path_factory)
    done = shared / "ledger-runs.json"
    with open(shared / "ledger-runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            base = shared / "ledger-runs"
            base.mkdir()
            done.write_text(json.dumps(_make_runs(base)))
    data = json.loads(done.read_text())
    ns = SimpleNamespace(**{k: SimpleNamespace(**v) if isinstance(v, dict) else v for k, v in data.items()})
    ns.ledger, ns.out = Path(ns.ledger), Path(ns.out)
    ns.datagrams = [d.encode("utf-8") for d in ns.datagrams]
    for name in ("apply", "check", "limited"):
        result = getattr(ns, name)
        assert result.returncode == 0, result.stdout + result.stderr
    return ns


def rec(runs, name: str) -> dict:
    """The ledger record of one of the four runs: apply, check, failed or limited."""
    recs = records(runs.ledger)
    fixed = {"failed": "fail-run", "limited": "limited-run"}
    if name in fixed:
        (found,) = [r for r in recs if r["run_id"] == fixed[name]]
        return found
    unnamed = [r for r in recs if r["run_id"] not in fixed.values()]
    assert len(unnamed) == 2
    return unnamed[["apply", "check"].index(name)]


def line_of(runs, record: dict) -> bytes:
    return raw_lines(runs.ledger)[record["seq"] - 1]


def damaged_copy(runs, tmp_path: Path, edit) -> Path:
    lines = raw_lines(runs.ledger)
    assert len(lines) >= 4
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(edit(list(lines)))
    return path


def joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


# ---------------------------------------------------------------------------------------- contents


@pytest.mark.slow(seconds=20)
def test_apply_then_check_are_two_chained_lines(runs):
    apply, check = rec(runs, "apply"), rec(runs, "check")
    recs = records(runs.ledger)
    lines = raw_lines(runs.ledger)
    assert [r["seq"] for r in recs] == [1, 2, 3, 4]
    assert recs[0]["prev_sha256"] == "0" * 64
    for before, after in zip(lines, recs[1:], strict=False):
        assert after["prev_sha256"] == sha(before)
    assert apply["seq"] < check["seq"]
    assert apply["v"] == check["v"] == 1
    assert (apply["mode"], check["mode"]) == ("apply", "check")
    assert apply["diff_mode"] is True
    assert check["diff_mode"] is True
    assert apply["status"] == check["status"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{32}", apply["run_id"])
    assert apply["run_id"] != check["run_id"]
    assert apply["hosts"] == recap(runs.apply.stdout)
    assert check["hosts"] == recap(runs.check.stdout)
    assert apply["hosts"]["localhost"]["changed"] == 3
    assert check["hosts"]["localhost"]["changed"] == 0
    assert check["changes"] == []
    assert apply["start"] <= apply["end"]
    assert isinstance(apply["duration_s"], float)


def test_lines_are_canonical_json(runs):
    for line in raw_lines(runs.ledger):
        obj = json.loads(line)
        assert json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() == line


def test_changes_hold_diffs_and_no_log_is_redacted(runs):
    changes = rec(runs, "apply")["changes"]
    assert [c["task"] for c in changes] == [
        "Message of the day is written",
        "Service password is written",
        "Two numbered files are written",
    ]
    motd, secret, numbered = changes
    assert motd["host"] == "localhost"
    assert motd["play"] == "Ledger test site"
    assert motd["action"] == "ansible.builtin.copy"
    assert f"+{WELCOME}" in motd["diff"]
    assert "motd.txt" in motd["diff"]
    assert motd["redacted"] is False
    assert motd["truncated"] is False
    assert secret["diff"] == "REDACTED (no_log)"
    assert secret["redacted"] is True
    assert "n1.txt" in numbered["diff"], "loop items' diffs are combined"
    assert "n2.txt" in numbered["diff"], "loop items' diffs are combined"
    assert "+file 1" in numbered["diff"]
    assert "+file 2" in numbered["diff"]
    assert "\x1b[" not in motd["diff"]


def test_secret_is_nowhere_but_extra_var_names_are(runs):
    data = runs.ledger.read_bytes()
    assert SECRET.encode() not in data
    assert SECRET not in json.dumps(records(runs.ledger), ensure_ascii=True)
    for datagram in runs.datagrams:
        assert SECRET.encode() not in datagram
    assert rec(runs, "apply")["extra_vars"] == ["ledger_test_token", "out_dir", "welcome"]


def test_git_actor_and_paths_are_recorded(runs):
    apply, check = rec(runs, "apply"), rec(runs, "check")
    assert apply["git"] == {"commit": runs.commit, "branch": "main", "dirty": False}
    assert check["git"] == {"commit": runs.commit, "branch": "main", "dirty": True}, "untracked files count"
    assert apply["playbooks"] == ["site.yml"]
    assert apply["inventory"] == ["inventory/local.ini"]
    assert apply["actor"]["user"]
    assert apply["actor"]["ci_job_id"] is None
    assert apply["actor"]["sudo_user"] is None
    assert apply["control_node"] == socket.gethostname()
    assert apply["limit"] is None
    assert apply["tags"] == ["all"]
    assert apply["skip_tags"] == []


def test_limit_and_tags_are_recorded(runs):
    limited = rec(runs, "limited")
    assert limited["limit"] == "localhost"
    assert limited["tags"] == ["numbered"]
    assert limited["skip_tags"] == ["never"]
    assert limited["hosts"] == recap(runs.limited.stdout)


def test_failing_run_is_recorded_and_keeps_its_exit_code(runs):
    assert runs.failed.returncode == 2, runs.failed.stdout + runs.failed.stderr
    failed = rec(runs, "failed")  # found by its BELEDIYE_RUN_ID
    assert failed["status"] == "failed"
    assert failed["hosts"] == recap(runs.failed.stdout)
    assert failed["failures"] == [
        {
            "host": "localhost",
            "task": "This task fails on purpose",
            "msg": "planned failure for the ledger test",
            "unreachable": False,
        }
    ]
    assert [c["task"] for c in failed["changes"]] == ["A file is written before the failure"]
    assert failed["changes"][0]["diff"] is None, "no --diff, no diff"


def test_syslog_copies_name_seq_and_line_hash(runs):
    lines = raw_lines(runs.ledger)
    assert len(runs.datagrams) == len(lines) == 4
    seen = set()
    for datagram in runs.datagrams:
        m = re.match(rb"<134>belediye-ledger\[\d+\]: seq=(\d+) sha256=([0-9a-f]{64}) ", datagram)
        assert m, datagram[:120]
        line = lines[int(m[1]) - 1]
        assert m[2].decode() == sha(line)
        assert datagram[m.end() :] == line, "a line that fits is sent whole"
        assert len(datagram) <= 7000
        seen.add(int(m[1]))
    assert seen == {1, 2, 3, 4}


def load_plugin():
    spec = importlib.util.spec_from_file_location("ledger_plugin_under_test", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_long_lines_reach_syslog_shortened_but_anchored():
    plugin = load_plugin()
    record = {
        "v": 1,
        "seq": 7,
        "prev_sha256": "ab" * 32,
        "run_id": "big",
        "status": "ok",
        "hosts": {f"web{n:03}": {"ok": 1, "changed": 1} for n in range(3)},
        "failures": [],
        "changes": [{"host": "web001", "task": "t", "diff": "+x" * 3000} for _ in range(10)],
    }
    line = plugin.canonical_line(record)
    message = plugin.syslog_message(record, line, "local3", pid=42)
    head, _, body = message.partition(b" {")
    assert head == f"<158>belediye-ledger[42]: seq=7 sha256={sha(line)}".encode()
    assert len(message) <= 7000
    shortened = json.loads(b"{" + body)
    assert shortened["changes"] == 10
    assert shortened["changes_omitted"] is True
    assert shortened["hosts"] == record["hosts"]


# ---------------------------------------------------------------------------------------- verifier


def test_verify_reports_an_intact_chain(runs):
    res = tool("verify", str(runs.ledger))
    head = raw_lines(runs.ledger)[-1]
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == f"ledger intact: 4 lines, head seq=4 sha256={sha(head)}"
    assert tool("verify", str(runs.ledger), "--expect-head", sha(head)).returncode == 0


def test_verify_default_path_comes_from_the_environment(runs):
    res = subprocess.run(
        [str(TOOL), "verify"],
        capture_output=True,
        text=True,
        env=clean_env(BELEDIYE_LEDGER_PATH=str(runs.ledger)),
        timeout=60,
    )
    assert res.returncode == 0
    assert "4 lines" in res.stdout


def altered(lines):
    rec = json.loads(lines[1])
    rec["hosts"]["localhost"]["changed"] = 99  # keep the canonical form
    lines[1] = json.dumps(rec, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return joined(lines)


def reformatted(lines):
    rec = json.loads(lines[1])
    rec["status"] = "ok"
    lines[1] = json.dumps(rec).encode()
    return joined(lines)


def removed(lines):
    del lines[1]
    return joined(lines)


def swapped(lines):
    lines[1], lines[2] = lines[2], lines[1]
    return joined(lines)


def duplicated(lines):
    lines.insert(2, lines[1])
    return joined(lines)


def start_removed(lines):
    return joined(lines[1:])


def not_json(lines):
    lines[2] = lines[2][:-40]
    return joined(lines)


def cut_mid_line(lines):
    return joined(lines)[:-25]


DAMAGE = [
    ("altered-middle-line", altered, r"line 2 \(seq 2\): was altered after it was written"),
    ("reformatted-middle-line", reformatted, r"line 2 \(seq 2\): not in the ledger's canonical JSON form"),
    ("removed-middle-line", removed, r"line 2 \(seq 3\): seq jumps from 1 to 3: 1 line\(s\) removed before"),
    ("swapped-lines", swapped, r"line 2 \(seq 3\): out of order: .* seq 2 comes later at line 3: lines were reordered"),
    ("duplicated-line", duplicated, r"line 3 \(seq 2\): seq goes from 2 back to 2: lines were reordered or duplicated"),
    ("start-removed", start_removed, r"line 1 \(seq 2\): .*the start of the ledger was removed"),
    ("damaged-json", not_json, r"line 3: not valid JSON"),
    ("cut-mid-line", cut_mid_line, r"line 4: .*incomplete"),
]


@pytest.mark.parametrize(("edit", "expected"), [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_verify_names_the_first_broken_line(runs, tmp_path, edit, expected):
    res = tool("verify", str(damaged_copy(runs, tmp_path, edit)))
    assert res.returncode == 1, res.stdout + res.stderr
    assert len(res.stdout.strip().splitlines()) == 1
    assert re.match(expected, res.stdout.strip()), res.stdout


def test_expect_head_catches_a_cut_tail(runs, tmp_path):
    lines = raw_lines(runs.ledger)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(joined(lines[:-1]))
    assert tool("verify", str(cut)).returncode == 0, "a cut tail alone leaves a valid chain"
    res = tool("verify", str(cut), "--expect-head", sha(lines[-1]))
    assert res.returncode == 1
    assert "line 3 (seq 3)" in res.stdout
    assert "removed from the end" in res.stdout
    older = tool("verify", str(runs.ledger), "--expect-head", sha(lines[2]))
    assert older.returncode == 1
    assert "1 line(s) follow it" in older.stdout


def test_verify_missing_and_empty_files(tmp_path):
    missing = tool("verify", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert "no ledger at" in missing.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    res = tool("verify", str(empty))
    assert res.returncode == 0
    assert "empty" in res.stdout


def test_show_markdown_report(runs):
    run_id = rec(runs, "apply")["run_id"]
    res = tool("show", "--run-id", run_id, "--format", "md", str(runs.ledger))
    assert res.returncode == 0, res.stderr
    md = res.stdout
    assert md.startswith("# Apply: site.yml")
    assert "| Host | ok | changed | failed | unreachable | skipped |" in md
    h = recap(runs.apply.stdout)["localhost"]
    assert f"| localhost | {h['ok']} | {h['changed']} | {h['failed']} | {h['unreachable']} | {h['skipped']} |" in md
    assert "### localhost — Message of the day is written" in md
    assert f"```diff\n--- before\n+++ after: {runs.out}/motd.txt" in md
    assert f"+{WELCOME}" in md
    assert "REDACTED (no_log)" in md
    assert f"`{runs.commit}` on `main` (clean)" in md
    plan = tool("show", "--run-id", rec(runs, "check")["run_id"], str(runs.ledger))
    assert plan.stdout.startswith("# Plan: site.yml")
    assert "dirty" in plan.stdout


def test_show_json_and_unknown_run(runs):
    res = tool("show", "--run-id", "fail-run", "--format", "json", str(runs.ledger))
    assert res.returncode == 0
    assert json.loads(res.stdout) == rec(runs, "failed")
    unknown = tool("show", "--run-id", "no-such-run", str(runs.ledger))
    assert unknown.returncode == 1
    assert "no ledger line" in unknown.stderr


def test_list_rows(runs):
    res = tool("list", str(runs.ledger))
    rows = res.stdout.strip().splitlines()[1:]
    assert res.returncode == 0
    assert len(rows) == 4
    check = rows[rec(runs, "check")["seq"] - 1]
    assert check.split()[2:4] == ["check", "ok"]
    assert runs.commit[:10] + "*" in check, "a dirty tree is marked"
    assert rows[rec(runs, "failed")["seq"] - 1].split()[2:4] == ["apply", "failed"]
    assert tool("list", str(runs.ledger), "--since", "2999-01-01").stdout.strip().count("\n") == 0


# ------------------------------------------------------------------------------------ failure modes


def test_unwritable_ledger_warns_loudly_and_the_run_goes_on(tmp_path):
    sc = Scenario(tmp_path)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file where the ledger directory should be\n")
    res = sc.run("site.yml", blocker / "ledger.jsonl")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "LEDGER NOT WRITTEN" in res.stderr
    assert "this run has no change record" in res.stderr
    assert str(blocker) in res.stderr
    assert (sc.out / "motd.txt").read_text() == WELCOME, "the tasks still ran"
    assert "changed=3" in res.stdout


def test_syntax_check_and_listing_write_nothing(tmp_path):
    sc = Scenario(tmp_path)
    ledger = tmp_path / "ledger.jsonl"
    options = ("--syntax-check", "--list-hosts", "--list-tasks")
    procs = [
        subprocess.Popen(
            [*sc.argv("site.yml"), option],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=sc.env(ledger),
        )
        for option in options
    ]
    for option, proc in zip(options, procs, strict=True):
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{option}: {out}"
    assert not ledger.exists()


def test_unreachable_host_is_recorded(tmp_path):
    sc = Scenario(tmp_path)
    ledger = tmp_path / "ledger.jsonl"
    res = sc.run("site.yml", ledger, inventory="with-ghost.ini")
    assert res.returncode == 4, res.stdout + res.stderr
    (rec,) = records(ledger)
    assert rec["status"] == "unreachable"
    assert rec["hosts"] == recap(res.stdout)
    assert rec["hosts"]["ghost"]["unreachable"] == 1
    assert [(f["host"], f["task"], f["unreachable"]) for f in rec["failures"]] == [
        ("ghost", "Message of the day is written", True)
    ]
    assert rec["failures"][0]["msg"]


def test_concurrent_runs_keep_one_chain(tmp_path):
    sc = Scenario(tmp_path)
    ledger = tmp_path / "ledger.jsonl"
    procs = [
        subprocess.Popen(
            sc.argv("site.yml"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=sc.env(ledger, BELEDIYE_RUN_ID=f"parallel-{n}"),
        )
        for n in (1, 2)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, out
    recs = records(ledger)
    assert [r["seq"] for r in recs] == [1, 2]
    assert {r["run_id"] for r in recs} == {"parallel-1", "parallel-2"}
    res = tool("verify", str(ledger))
    assert res.returncode == 0, res.stdout


APPENDER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ledger_plugin", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
for i in range(int(sys.argv[3])):
    mod.append_record(sys.argv[2], lambda seq, prev: {"seq": seq, "prev_sha256": prev, "writer": sys.argv[4], "i": i})
"""


def test_append_lock_keeps_the_chain_under_contention(tmp_path):
    """Many writers at once, straight through the plugin's append function: no lost or forked line."""
    ledger = tmp_path / "ledger.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(PLUGIN), str(ledger), "25", str(w)], cwd=ROOT)
        for w in range(4)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    lines = raw_lines(ledger)
    recs = [json.loads(line) for line in lines]
    assert [r["seq"] for r in recs] == list(range(1, 101))
    assert recs[0]["prev_sha256"] == "0" * 64
    for before, rec in zip(lines, recs[1:], strict=False):
        assert rec["prev_sha256"] == sha(before)
    assert sorted((r["writer"], r["i"]) for r in recs) == sorted((str(w), i) for w in range(4) for i in range(25))
    assert oct(ledger.stat().st_mode & 0o777) == "0o640"


def test_interrupted_runs_are_recorded(tmp_path):
    """Ctrl-C (SIGINT, through atexit) and a cancelled CI job (SIGTERM) both leave an "interrupted" line."""
    sc = Scenario(tmp_path)
    signals = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
    procs = {}
    for name in signals:
        out_dir = tmp_path / name
        out_dir.mkdir()
        argv = [*sc.argv("slow.yml"), "-e", f"out_dir={out_dir}"]
        procs[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=sc.env(tmp_path / f"{name}.jsonl", BELEDIYE_RUN_ID=f"interrupted-{name}"),
        )
    outputs = {}
    try:
        deadline = time.monotonic() + 90
        for name, proc in procs.items():
            while not (tmp_path / name / "marker.txt").exists():
                assert proc.poll() is None, f"{name}: ansible-playbook ended early"
                assert time.monotonic() < deadline, f"{name}: the play did not start"
                time.sleep(0.1)
        time.sleep(1.0)  # let the long task start
        for name, proc in procs.items():
            proc.send_signal(signals[name])
        for name, proc in procs.items():
            outputs[name], _ = proc.communicate(timeout=60)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for name, proc in procs.items():
        assert proc.returncode != 0, name
        (rec,) = records(tmp_path / f"{name}.jsonl")
        assert rec["run_id"] == f"interrupted-{name}"
        assert rec["status"] == "interrupted", outputs[name]
        assert rec["hosts"]["localhost"]["ok"] == 1
        assert rec["hosts"]["localhost"]["changed"] == 1
        assert [c["task"] for c in rec["changes"]] == ["Marker shows that the play runs"]
        assert tool("verify", str(tmp_path / f"{name}.jsonl")).returncode == 0
