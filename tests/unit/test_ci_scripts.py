"""ci/plan.sh and ci/apply.sh on the control node itself (a local connection, files under tmp_path).

The lab stage runs both scripts against real lab hosts; these tests cover the paths the lab run
does not take: drift found by a plan, a run that the ledger could not record, bad batch settings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLAYBOOK = """\
- name: One file
  hosts: all
  gather_facts: false
  serial: "{{ apply_serial | default('100%') }}"
  max_fail_percentage: "{{ apply_max_fail_percentage | default(100) }}"
  tasks:
    - name: The file has its content
      ansible.builtin.copy:
        dest: "{{ target }}"
        content: "desired\\n"
        mode: "0644"
"""


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "inv.ini").write_text(f"h1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    (tmp_path / "pb.yml").write_text(PLAYBOOK)
    env = dict(
        os.environ,
        INVENTORY=str(tmp_path / "inv.ini"),
        PLAYBOOK=str(tmp_path / "pb.yml"),
        PLAN_DIR=str(tmp_path / "plan"),
        APPLY_DIR=str(tmp_path / "apply"),
        BELEDIYE_LEDGER_PATH=str(tmp_path / "ledger.jsonl"),
        BELEDIYE_LEDGER_SYSLOG="false",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ALLOW_DIRTY="1",
        LEDGER_REQUIRED="1",
    )
    return tmp_path, env


def run(script: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "ci" / script), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.slow(seconds=20)
def test_plan_finds_drift_apply_fixes_it_plan_is_clean(setup):
    tmp, env = setup
    target = tmp / "managed.txt"
    extra = ("-e", f"target={target}")
    drift = run("plan.sh", dict(env, PLAN_EXPECT_NO_CHANGES="1"), *extra)
    assert drift.returncode == 3, drift.stdout + drift.stderr
    assert "DRIFT" in drift.stderr
    assert "h1" in drift.stderr
    assert not target.exists(), "a plan changes nothing"
    plan = json.loads((tmp / "plan" / "plan.json").read_text())
    assert (plan["mode"], plan["hosts"]["h1"]["changed"]) == ("check", 1)
    assert "h1" in (tmp / "plan" / "plan.md").read_text()

    applied = run("apply.sh", env, *extra)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert target.read_text() == "desired\n"
    record = json.loads((tmp / "apply" / "apply.json").read_text())
    assert record["mode"] == "apply"
    assert record["extra_vars"] == ["apply_max_fail_percentage", "apply_serial", "target"]
    assert record["changes"][0]["diff"]

    clean = run("plan.sh", dict(env, PLAN_EXPECT_NO_CHANGES="1"), *extra)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no host would change" in clean.stderr
    verify = subprocess.run(
        [str(ROOT / "tools" / "ledger.py"), "verify", env["BELEDIYE_LEDGER_PATH"]], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout
    assert "3 lines" in verify.stdout


def test_an_unrecorded_run_fails_the_job_only_when_the_ledger_is_required(setup):
    tmp, env = setup
    (tmp / "not-a-dir").write_text("")
    env["BELEDIYE_LEDGER_PATH"] = str(tmp / "not-a-dir" / "ledger.jsonl")  # cannot be created
    extra = ("-e", f"target={tmp / 'managed.txt'}")
    required = run("apply.sh", env, *extra)
    assert required.returncode == 4, required.stdout + required.stderr
    assert (tmp / "managed.txt").exists(), "the ledger never stops the run itself"
    assert "no line for run" in required.stderr
    optional = run("apply.sh", dict(env, LEDGER_REQUIRED="0"), *extra)
    assert optional.returncode == 0, optional.stdout + optional.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APPLY_SERIAL", "one"),
        ("APPLY_SERIAL", "0"),
        ("APPLY_SERIAL", "1,,25%"),
        ("APPLY_SERIAL", "101%"),
        ("APPLY_MAX_FAIL_PERCENTAGE", "150"),
        ("APPLY_MAX_FAIL_PERCENTAGE", "-1"),
        ("APPLY_DIFF", "yes"),
    ],
)
def test_bad_batch_settings_are_refused_before_anything_runs(setup, name, value):
    tmp, env = setup
    res = run("apply.sh", dict(env, **{name: value}), "-e", f"target={tmp / 'managed.txt'}")
    assert res.returncode == 2
    assert name in res.stderr
    assert not (tmp / "managed.txt").exists()
    assert not (tmp / "ledger.jsonl").exists()


def test_an_apply_without_diffs_still_records_each_change(setup):
    tmp, env = setup
    target = tmp / "managed.txt"
    res = run("apply.sh", dict(env, APPLY_DIFF="0"), "-e", f"target={target}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "diffs off" in res.stderr
    assert target.read_text() == "desired\n"
    record = json.loads((tmp / "apply" / "apply.json").read_text())
    assert record["hosts"]["h1"]["changed"] == 1
    assert [c["host"] for c in record["changes"]] == ["h1"]
    assert not record["changes"][0].get("diff")


def test_batch_settings_reach_the_playbook_as_a_list(setup):
    tmp, env = setup
    res = run(
        "apply.sh",
        dict(env, APPLY_SERIAL="1, 50%", APPLY_MAX_FAIL_PERCENTAGE="20"),
        "-e",
        f"target={tmp / 'managed.txt'}",
    )
    assert "apply_serial" in res.stderr
    assert '{"apply_serial": [1, "50%"], "apply_max_fail_percentage": 20}' in res.stderr
