"""Change management against the lab: the pipeline's scripts, the run ledger and the change report.

The lab stage of scripts/test.sh has already applied the site playbook with ci/apply.sh and
planned it again with ci/plan.sh (check mode, nothing left to change). These tests read what
those two runs left in the ledger, then drive ci/apply.sh themselves with a probe playbook to
show that a failing host stops the batch run as configured.
"""

import csv
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from labctl import group_members

ROOT = Path(__file__).resolve().parents[2]
LEDGER = Path(os.environ.get("BELEDIYE_LEDGER_PATH", ROOT / ".lab" / "ledger" / "ledger.jsonl"))
RUNS = ROOT / ".lab" / "runs"


def ledger_lines() -> list[dict]:
    return [json.loads(line) for line in LEDGER.read_text(encoding="utf-8").splitlines()]


def verify_ledger() -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "tools" / "ledger.py"), "verify", str(LEDGER)], capture_output=True, text=True, check=False
    )


def run_of(report_json: Path) -> dict:
    """The ledger line of the run whose report ci/plan.sh or ci/apply.sh published."""
    if not report_json.exists():
        pytest.fail(f"{report_json} is missing: the lab stage runs ci/apply.sh and ci/plan.sh before these tests")
    run_id = json.loads(report_json.read_text())["run_id"]
    matches = [line for line in ledger_lines() if line["run_id"] == run_id]
    assert len(matches) == 1, f"run {run_id}: {len(matches)} ledger lines"
    return matches[0]


@pytest.fixture(scope="module")
def head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def linux_hosts(inventory) -> list[str]:
    """The `linux` hosts by name: the order in which the probe playbook (`order: sorted`) batches them."""
    return sorted(group_members(inventory, "linux"))


@pytest.fixture(scope="module")
def site_hosts(inventory, linux_hosts) -> list[str]:
    """Every host site.yml reaches: the Linux hosts, the simulated devices (run on the controller) and
    the Windows desktops, whose data only validate.yml reads."""
    return sorted(linux_hosts + group_members(inventory, "devices") + group_members(inventory, "windows_desktops"))


def test_ledger_chain_is_intact():
    res = verify_ledger()
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ledger intact" in res.stdout


@pytest.fixture(scope="module")
def plan_hosts(inventory, site_hosts) -> list[str]:
    """The hosts the lab stage's plan covered: LAB_PLAN_LIMIT (host and group names, see
    scripts/test.sh), or every host when it is unset or "all"."""
    limit = os.environ.get("LAB_PLAN_LIMIT", "all")
    if limit == "all":
        return site_hosts
    hosts: set[str] = set()
    for name in limit.split(","):
        hosts.update(group_members(inventory, name) or [name])
    return sorted(hosts)


def test_apply_then_plan_are_recorded(head, site_hosts, plan_hosts):
    apply = run_of(RUNS / "apply" / "apply.json")
    plan = run_of(RUNS / "plan" / "plan.json")
    assert apply["seq"] < plan["seq"], "the plan ran after the apply"
    assert (apply["mode"], plan["mode"]) == ("apply", "check")
    assert plan["diff_mode"] is True
    for run in (apply, plan):
        assert run["status"] == "ok", run["failures"]
        assert run["git"]["commit"] == head
        assert run["playbooks"] == ["playbooks/site.yml"]
        assert run["inventory"] == ["inventories/lab"]
        assert all(stats["failed"] == 0 and stats["unreachable"] == 0 for stats in run["hosts"].values())
    assert sorted(apply["hosts"]) == site_hosts
    assert sorted(plan["hosts"]) == plan_hosts
    # After the apply, the plan finds nothing left to change on any host it covers, and lists no change.
    assert {h: s["changed"] for h, s in plan["hosts"].items()} == dict.fromkeys(plan_hosts, 0)
    assert plan["changes"] == []
    # Every change the apply recorded belongs to a host that the stats count as changed.
    changed_hosts = {h for h, s in apply["hosts"].items() if s["changed"]}
    assert {c["host"] for c in apply["changes"]} == changed_hosts


def test_ledger_holds_no_secret(vault_value):
    text = LEDGER.read_text(encoding="utf-8")
    assert "PRIVATE KEY" not in text
    for name in ("vault_lab_admin_password", "vault_lab_admin_password_hash"):
        secret = vault_value(name).strip()
        assert secret
        assert secret not in text, f"{name} leaked into the ledger"


def test_published_reports_are_readable():
    for kind in ("apply", "plan"):
        report = (RUNS / kind / f"{kind}.md").read_text(encoding="utf-8")
        for host in run_of(RUNS / kind / f"{kind}.json")["hosts"]:
            assert host in report


def apply_probe(**settings: str) -> tuple[subprocess.CompletedProcess, str, Path]:
    probe_run = uuid.uuid4().hex[:12]
    out = RUNS / f"probe-{probe_run}"
    env = dict(os.environ, INVENTORY="inventories/lab", PLAYBOOK="tests/integration/playbooks/batch_probe.yml")
    env.update(ALLOW_DIRTY="1", LEDGER_REQUIRED="1", APPLY_DIR=str(out), **settings)
    res = subprocess.run(
        [str(ROOT / "ci" / "apply.sh"), "-e", f"probe_run={probe_run}", "-e", f"probe_fail_host={settings['FAIL']}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return res, probe_run, out


def markers(lab_hosts, probe_run: str, play: str) -> set[str]:
    found = set()
    for name, host in lab_hosts.items():
        if host.file(f"/run/belediye-probe-{probe_run}-{play}").exists:
            found.add(name)
            host.run(f"rm -f /run/belediye-probe-{probe_run}-{play}")
    return found


def test_failing_host_stops_the_run_after_its_batch(lab_hosts, linux_hosts):
    # Batches of two; the first host of the second batch fails, and no failure is tolerated.
    assert len(linux_hosts) >= 5, "the probe needs at least three batches"
    failing = linux_hosts[2]
    res, probe_run, out = apply_probe(APPLY_SERIAL="2", APPLY_MAX_FAIL_PERCENTAGE="0", FAIL=failing)
    assert res.returncode != 0, res.stdout[-3000:]
    # Only the first batch got past the failure point: the failing host's batch partner was
    # stopped with it, the later batches and the second play never ran.
    assert markers(lab_hosts, probe_run, "first") == set(linux_hosts[:2])
    assert markers(lab_hosts, probe_run, "second") == set()
    run = json.loads((out / "apply.json").read_text())
    assert run["status"] == "failed"
    assert [f["host"] for f in run["failures"]] == [failing]
    assert set(run["hosts"]) == set(linux_hosts[:4]), "hosts of later batches must not appear at all"
    assert verify_ledger().returncode == 0


def test_tolerated_failure_lets_the_batches_go_on(lab_hosts, linux_hosts):
    # The same failure is half of its batch of two: with 50 % tolerated the run goes on.
    failing = linux_hosts[2]
    res, probe_run, out = apply_probe(APPLY_SERIAL="2", APPLY_MAX_FAIL_PERCENTAGE="50", FAIL=failing)
    assert res.returncode != 0, "a failed host still fails the run"
    others = set(linux_hosts) - {failing}
    assert markers(lab_hosts, probe_run, "first") == others
    assert markers(lab_hosts, probe_run, "second") == others
    run = json.loads((out / "apply.json").read_text())
    assert set(run["hosts"]) == set(linux_hosts)
    assert run["hosts"][failing]["failed"] == 1


def test_change_report_joins_the_lab_runs_to_their_commit(tmp_path):
    commit = run_of(RUNS / "apply" / "apply.json")["git"]["commit"]
    day = subprocess.run(
        ["git", "show", "-s", "--format=%cd", "--date=format-local:%Y-%m-%d", commit],
        cwd=ROOT,
        env=dict(os.environ, TZ="UTC"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    res = subprocess.run(
        [str(ROOT / "tools" / "change_report.py"), "--since", day, "--until", day, "--ledger", str(LEDGER)]
        + ["--formats", "csv", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    (report,) = tmp_path.glob("*.csv")
    rows = list(csv.reader(report.read_text(encoding="utf-8-sig").splitlines()))
    header, body = rows[0], rows[1:]
    row = next(r for r in body if commit in r)
    cells = dict(zip(header, row, strict=True))
    plan = next(v for k, v in cells.items() if "Plan" in k)
    apply = next(v for k, v in cells.items() if "Uygulama" in k)
    run_ids = {json.loads((RUNS / kind / f"{kind}.json").read_text())["run_id"] for kind in ("apply", "plan")}
    plan_id, apply_id = sorted(run_ids, key=lambda r: not r.startswith("plan"))
    # The lab's plan run is listed under Plan with nothing to change, its apply run under Apply.
    assert plan_id in plan
    assert " 0 changed, 0 failed" in next(part for part in plan.split("; ") if plan_id in part)
    assert apply_id not in plan
    assert apply_id in apply
    entry = next(part for part in apply.split("; ") if apply_id in part)
    assert " ok: " in entry
