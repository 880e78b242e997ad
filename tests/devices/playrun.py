"""Run a one-play playbook with ansible-playbook against hosts on loopback and read its JSON result.

The device tests drive our modules the way a sysadmin does, through a real ansible-playbook, with the
json stdout callback and a run ledger of their own in tmp_path (no syslog copy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = str(ROOT / ".venv" / "bin" / "ansible-playbook")
# How a test host runs modules: on the controller, with the test's own interpreter.
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def run_play(tmp_path, hosts, tasks, *extra, name="play", timeout=300):
    """Write inventory.yml (hosts: name -> vars) and <name>.yml (one play of tasks), run them; (rc, JSON)."""
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}), encoding="utf-8")
    play = [{"hosts": "all", "gather_facts": False, "tasks": tasks}]
    (tmp_path / f"{name}.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    env = dict(
        os.environ,
        BELEDIYE_LEDGER_PATH=str(tmp_path / "ledger.jsonl"),
        BELEDIYE_LEDGER_SYSLOG="false",
        ANSIBLE_STDOUT_CALLBACK="json",
    )
    proc = subprocess.run(  # noqa: S603 - our venv's ansible-playbook, files written above
        [PLAYBOOK_BIN, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / f"{name}.yml"), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        pytest.fail(f"no JSON from ansible-playbook (rc {proc.returncode}): {proc.stdout}\n{proc.stderr}")
    return proc.returncode, data
