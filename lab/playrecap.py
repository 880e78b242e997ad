"""The PLAY RECAP of an ansible-playbook run as data.

The benchmarks (bench/), the lab integration tests and the device tests run ansible-playbook as an
operator would and judge a run by its recap: which hosts changed, failed or were unreachable.

    recap(stdout) -> {"log01": {"ok": 12, "changed": 0, "unreachable": 0, "failed": 0, ...}, ...}

Only the last PLAY RECAP of the output counts (a run prints one).
"""

from __future__ import annotations

import re

_LINE = re.compile(r"^(\S+)\s+:\s+(.*)$")
_COUNT = re.compile(r"(\w+)=(\d+)")


def recap(stdout: str) -> dict[str, dict[str, int]]:
    """Per host, the counters of the run's PLAY RECAP."""
    out = {}
    for line in stdout.split("PLAY RECAP")[-1].splitlines():
        match = _LINE.match(line.strip())
        if match:
            out[match.group(1)] = {key: int(value) for key, value in _COUNT.findall(match.group(2))}
    return out
