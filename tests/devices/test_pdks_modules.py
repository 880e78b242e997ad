"""The pdks_* modules run by real ansible-playbook against simulated terminals on loopback.

The simulators run in this pytest process (threads); ansible-playbook runs from the repository root so
that ansible.cfg's library and module_utils paths apply. Terminal state is checked with pyzk directly.
"""

import json
import os
import socket
import stat
import subprocess
import textwrap

import pytest
import yaml
from pdks_fixtures import COMM_KEY, ROOT, pyzk_session, start

PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"
HOSTS = {"pdks-zabita-01": "127.0.1.11", "pdks-fen-01": "127.0.1.12", "pdks-hal-01": "127.0.1.13"}
LONG_TR = "Ayşe Çağlar Işıkgöz Ünlü"
STAFF = [
    {"sicil": "1001", "name": LONG_TR, "card": 40012345, "password": "4321"},
    {"sicil": "1002", "name": "Şükrü Öztürkoğlu", "card": 40054321},
    {"sicil": "1003", "name": "Mehmet Ali Ekşi", "privilege": "admin"},
]
SECRETS = ["Ayşe", "Şükrü", "Mehmet", "40012345", "40054321", "4321", str(COMM_KEY)]


@pytest.fixture
def lab(tmp_path):
    servers = {name: start(tmp_path, name, listen=addr, serial=f"SIM-{name}") for name, addr in HOSTS.items()}
    yield servers
    for server in servers.values():
        server.shutdown()


def free_port(addr):
    with socket.socket() as sock:
        sock.bind((addr, 0))
        return sock.getsockname()[1]


def inventory(tmp_path, servers, overrides=None):
    hosts = {}
    for name, server in servers.items():
        hosts[name] = {
            "ansible_host": server.host,
            "pdks_port": server.port,
            "pdks_comm_key": COMM_KEY,
            "ansible_connection": "local",
            "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python"),
        }
        hosts[name].update((overrides or {}).get(name, {}))
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"pdks": {"hosts": hosts}}}}), encoding="utf-8")
    return path


CONN = textwrap.dedent(
    """\
    host: "{{ ansible_host }}"
    port: "{{ pdks_port }}"
    comm_key: "{{ pdks_comm_key }}"
    terminal: "{{ inventory_hostname }}"
    timeout: 3
    """
)


def playbook(tmp_path, module, params, name="play.yml"):
    task_args = yaml.safe_load(CONN)
    task_args.update(params)
    play = [{"hosts": "pdks", "gather_facts": False, "tasks": [{"name": f"run {module}", module: task_args}]}]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(play, allow_unicode=True), encoding="utf-8")
    return path


def run(tmp_path, inv, book, *args):
    env = dict(
        os.environ,
        BELEDIYE_LEDGER_PATH=str(tmp_path / "ledger.jsonl"),
        BELEDIYE_LEDGER_SYSLOG="false",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_NOCOLOR="1",
    )
    proc = subprocess.run(
        [str(PLAYBOOK), "-i", str(inv), str(book), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook output is not JSON:\n{proc.stdout}\n{proc.stderr}")
    results = data["plays"][0]["tasks"][0]["hosts"]
    return proc, data["stats"], results


def device_users(server):
    with pyzk_session(server) as conn:
        return {u.user_id: (u.name, u.privilege, u.card) for u in conn.get_users()}


def assert_no_personal_data(text):
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into the output"


def test_users_first_run_changes_second_run_does_not(tmp_path, lab):
    inv = inventory(tmp_path, lab)
    book = playbook(tmp_path, "pdks_users", {"users": STAFF})
    proc, stats, results = run(tmp_path, inv, book, "--diff")
    assert proc.returncode == 0, proc.stdout
    for name, server in lab.items():
        assert stats[name]["changed"] == 1
        assert results[name]["added"] == ["1001", "1002", "1003"]
        assert device_users(server) == {
            "1001": ("Ayşe Çağlar Işıkgö", 0, 40012345),
            "1002": ("Şükrü Öztürkoğlu", 0, 40054321),
            "1003": ("Mehmet Ali Ekşi", 14, 0),
        }
        # the keypad was locked for the writes and unlocked again
        commands = server.terminal.commands
        assert commands.index(1003) < commands.index(8) < commands.index(1002)
    assert_no_personal_data(proc.stdout + proc.stderr)
    proc, stats, results = run(tmp_path, inv, book, "--diff")
    assert proc.returncode == 0
    assert all(stats[name]["changed"] == 0 for name in lab)
    assert all(results[name]["changes"] == {} for name in lab)


def test_check_mode_reports_change_without_touching_the_terminal(tmp_path, lab):
    for server in lab.values():
        server.terminal.add_user("1001", "Eski Ad", card=40012345)
        server.terminal.add_user("9000", "Ayrılan Personel")
        server.terminal.add_user("9999", "Yönetici Admin", privilege=14)
    before = {name: device_users(server) for name, server in lab.items()}
    writes_before = {name: len(server.terminal.commands) for name, server in lab.items()}
    inv = inventory(tmp_path, lab)
    book = playbook(tmp_path, "pdks_users", {"users": STAFF[:2], "purge": True})
    proc, stats, results = run(tmp_path, inv, book, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout
    for name, server in lab.items():
        assert stats[name]["changed"] == 1
        res = results[name]
        assert (res["added"], res["updated"], res["removed"], res["kept_admins"]) == (
            ["1002"],
            ["1001"],
            ["9000"],
            ["9999"],
        )
        assert res["changes"]["1001"] == ["name"]
        assert "1001: uid=1 privilege=user name=#" in res["diff"]["before"]
        assert device_users(server) == before[name]
        new_commands = server.terminal.commands[writes_before[name] :]
        assert not {8, 18, 1003} & set(new_commands), "check mode wrote to the terminal"
    assert_no_personal_data(proc.stdout + proc.stderr)
    for name in ("Eski", "Ayrılan", "Yönetici"):
        assert name not in proc.stdout


def test_wrong_comm_key_fails_cleanly_naming_the_terminal(tmp_path, lab):
    inv = inventory(tmp_path, lab, {"pdks-zabita-01": {"pdks_comm_key": 111111}})
    book = playbook(tmp_path, "pdks_users", {"users": STAFF})
    proc, stats, results = run(tmp_path, inv, book)
    assert proc.returncode != 0
    server = lab["pdks-zabita-01"]
    bad = results["pdks-zabita-01"]
    assert bad["failed"] is True
    assert bad["msg"] == f"PDKS terminal pdks-zabita-01 (127.0.1.11:{server.port}): comm key rejected"
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "module_stderr" not in bad
    assert bad.get("exception", "(traceback unavailable)") == "(traceback unavailable)"  # Ansible's own placeholder
    assert device_users(server) == {}
    assert stats["pdks-fen-01"]["changed"] == 1
    assert stats["pdks-hal-01"]["changed"] == 1


def test_unreachable_terminal_fails_only_that_host(tmp_path, lab):
    dead = free_port("127.0.1.12")
    inv = inventory(tmp_path, lab, {"pdks-fen-01": {"pdks_port": dead}})
    book = playbook(tmp_path, "pdks_facts", {})
    proc, stats, results = run(tmp_path, inv, book)
    assert proc.returncode != 0
    msg = results["pdks-fen-01"]["msg"]
    assert msg.startswith(f"PDKS terminal pdks-fen-01 (127.0.1.12:{dead}): not reachable")
    assert "Traceback" not in proc.stdout + proc.stderr
    assert stats["pdks-fen-01"]["failures"] == 1
    for name in ("pdks-zabita-01", "pdks-hal-01"):
        assert stats[name]["failures"] == 0
        facts = results[name]["ansible_facts"]["pdks"]
        assert facts["serial"] == f"SIM-{name}"
        assert facts["firmware"] == "Ver 6.60 Apr 28 2021"
        assert facts["platform"] == "ZMM220_TFT"
        assert facts["mac"] == "00:17:61:00:00:01"
        assert facts["capacity"]["users"] == 3000
        assert (facts["users"], facts["records"]) == (0, 0)


def test_time_is_set_only_when_the_drift_exceeds(tmp_path, lab):
    lab["pdks-zabita-01"].terminal.state["clock_offset"] = -3600.0
    lab["pdks-fen-01"].terminal.state["clock_offset"] = 10.0
    inv = inventory(tmp_path, lab)
    book = playbook(tmp_path, "pdks_time", {"max_drift": 30})
    proc, stats, results = run(tmp_path, inv, book, "--check")
    assert proc.returncode == 0, proc.stdout
    assert stats["pdks-zabita-01"]["changed"] == 1
    assert lab["pdks-zabita-01"].terminal.state["clock_offset"] == -3600.0
    assert 202 not in lab["pdks-zabita-01"].terminal.commands
    proc, stats, results = run(tmp_path, inv, book)
    assert proc.returncode == 0
    assert stats["pdks-zabita-01"]["changed"] == 1
    assert -3610 <= results["pdks-zabita-01"]["drift_seconds"] <= -3590
    assert stats["pdks-fen-01"]["changed"] == 0
    assert 8 <= results["pdks-fen-01"]["drift_seconds"] <= 12
    assert stats["pdks-hal-01"]["changed"] == 0
    assert abs(lab["pdks-zabita-01"].terminal.state["clock_offset"]) < 5
    proc, stats, _ = run(tmp_path, inv, book)
    assert all(stats[name]["changed"] == 0 for name in lab)


def test_attendance_pull_is_private_per_day_deduplicated_and_clears_only_when_asked(tmp_path, lab):
    for server in lab.values():
        server.terminal.add_user("1001", "Ali")
        server.terminal.add_punch("1001", "2026-11-02T08:29:51")
        server.terminal.add_punch("1001", "2026-11-02T17:31:02", punch=1)
        server.terminal.add_punch("1002", "2026-11-03T08:00:00")
        server.terminal.add_punch("1002", "2026-11-03T08:00:00")  # the terminal logged it twice
    dest = tmp_path / "attendance"
    inv = inventory(tmp_path, lab)
    book = playbook(tmp_path, "pdks_attendance", {"dest": str(dest)})

    proc, stats, results = run(tmp_path, inv, book, "--check")
    assert proc.returncode == 0, proc.stdout
    assert not dest.exists()
    assert all(results[name]["new_records"] == 3 for name in lab)

    proc, stats, results = run(tmp_path, inv, book)
    assert proc.returncode == 0, proc.stdout
    for name in lab:
        res = results[name]
        assert stats[name]["changed"] == 1
        assert (res["device_records"], res["new_records"], res["cleared"]) == (4, 3, False)
        assert res["days"] == ["2026-11-02", "2026-11-03"]
        folder = dest / name
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert sorted(p.name for p in folder.iterdir()) == ["2026-11-02.jsonl", "2026-11-03.jsonl"]
        for path in folder.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        lines = (folder / "2026-11-02.jsonl").read_text().splitlines()
        assert [json.loads(line)["timestamp"] for line in lines] == ["2026-11-02T08:29:51", "2026-11-02T17:31:02"]
        assert len((folder / "2026-11-03.jsonl").read_text().splitlines()) == 1
    assert "2026-11-02T08:29:51" not in proc.stdout  # counts only, no record contents
    snapshot = {p: p.read_bytes() for p in dest.rglob("*.jsonl")}

    proc, stats, results = run(tmp_path, inv, book)
    assert all(stats[name]["changed"] == 0 for name in lab)
    assert all(results[name]["new_records"] == 0 for name in lab)
    assert {p: p.read_bytes() for p in dest.rglob("*.jsonl")} == snapshot
    assert all(len(s.terminal.state["attendance"]) == 4 for s in lab.values()), "cleared without being asked"

    clear = playbook(tmp_path, "pdks_attendance", {"dest": str(dest), "clear_after_pull": True}, "clear.yml")
    proc, stats, results = run(tmp_path, inv, clear)
    assert proc.returncode == 0, proc.stdout
    for name, server in lab.items():
        assert stats[name]["changed"] == 1
        assert results[name]["cleared"] is True
        assert server.terminal.state["attendance"] == []
        assert server.terminal.commands.index(1003) < server.terminal.commands.index(15)
    assert {p: p.read_bytes() for p in dest.rglob("*.jsonl")} == snapshot
    proc, stats, _ = run(tmp_path, inv, clear)
    assert all(stats[name]["changed"] == 0 for name in lab)
