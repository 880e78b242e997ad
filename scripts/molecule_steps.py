#!/usr/bin/env python3
"""Copies a `molecule test` run's output to a log file and prints how long each step took.

    molecule test -s dhcp 2>&1 | scripts/molecule_steps.py .lab/runs/molecule-dhcp.log

Molecule announces each step ("dhcp ➜ converge: Executing" on a terminal, "[dhcp > converge]
Executing" otherwise, then "Executed: Successful" or a failure); this notes the time of those
lines and prints one line at the end, for example
"create 21s, prepare 35s, check 48s, converge 190s, idempotence 96s, verify 40s, destroy 6s".
The first destroy (which only clears what a killed run left behind) is left out of the line.
"""

import re
import sys
import time

# On a terminal: "dhcp ➜ converge: Executing"; in a log (CI): "INFO     [dhcp > converge] Executing".
STEP = re.compile(r"(?:➜|\S >)\W*(?P<step>[a-z_]+)\W*:?\W*(?P<what>Executing|Executed)")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def main() -> int:
    steps: list[tuple[str, float]] = []
    current: tuple[str, float] | None = None
    with open(sys.argv[1], "w", encoding="utf-8") as log:
        for line in sys.stdin:
            log.write(line)
            match = STEP.search(COLOUR.sub("", line))
            if not match:
                continue
            now = time.monotonic()
            if match["what"] == "Executing":
                current = (match["step"], now)
            elif current and current[0] == match["step"]:
                steps.append((current[0], now - current[1]))
                current = None
    if current:  # the step that failed or was stopped
        steps.append((current[0] + " (unfinished)", time.monotonic() - current[1]))
    if steps and steps[0][0] == "destroy":
        steps = steps[1:]
    print(", ".join(f"{name} {seconds:.0f}s" for name, seconds in steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
