"""scripts/molecule_steps.py names each molecule step it saw, in both of molecule's output forms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TERMINAL = """\
dhcp \x1b[33m➜\x1b[0m destroy: Executing
dhcp ➜ destroy: Executed: Successful
dhcp ➜ create: Executing
dhcp ➜ create: Executed: Successful
dhcp ➜ converge: Executing
TASK [dhcp : Kea is installed] ***
dhcp ➜ converge: Executed: Successful
dhcp ➜ idempotence: Executing
"""

LOG = """\
INFO     [dhcp > destroy] Executing
INFO     [dhcp > destroy] Executed: Successful
INFO     [dhcp > create] Executing
INFO     [dhcp > create] Executed: Successful
INFO     [dhcp > converge] Executing
INFO     [dhcp > converge] Executed: Successful
INFO     [dhcp > idempotence] Executing
"""


def steps_of(text: str, tmp_path: Path) -> tuple[str, str]:
    log = tmp_path / "molecule.log"
    res = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "molecule_steps.py"), str(log)],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout.strip(), log.read_text(encoding="utf-8")


def test_both_forms_give_the_steps_after_the_first_destroy_and_the_unfinished_one(tmp_path):
    for text in (TERMINAL, LOG):
        line, copied = steps_of(text, tmp_path)
        names = [part.rsplit(" ", 1)[0] for part in line.split(", ")]
        assert names == ["create", "converge", "idempotence (unfinished)"], line
        assert copied == text  # the whole output is kept in the log
