#!/usr/bin/env python3
"""Streaming SHA-256 of log5651 against coreutils `sha256sum`, on the same file, in one run.

    hash_throughput.py [--size-mib 1024] [--dir D] [--repeats 5] [--python PY] [--strict] [--keep]

Creates a file of --size-mib MiB (random data, written in 8 MiB blocks), warms the page cache, then
hashes it --repeats times with each tool, alternating which goes first. Each hash runs in a child
process (log5651's hash_file() in a fresh interpreter, so its start-up is counted). One more run of
each samples the child's peak RSS (VmHWM in /proc/PID/status): a streaming hash stays at a few MiB
whatever the file size. (getrusage's ru_maxrss is no use here: Linux carries the parent's RSS over
fork and exec into the child's maximum.) Prints MiB/s (best and median), the ratio
log5651 / sha256sum of the medians, and PASS/FAIL against the target ratio 0.9.
Exit 0 unless --strict and FAIL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "roles" / "log_server" / "files" / "log5651.py"
TARGET = 0.9
BLOCK = 8 << 20

CHILD = """\
import importlib.util, sys
spec = importlib.util.spec_from_file_location("log5651", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
sys.modules["log5651"] = mod
spec.loader.exec_module(mod)
print(mod.hash_file(sys.argv[2]))
"""


def make_file(path: Path, size_mib: int) -> None:
    block = bytearray(os.urandom(BLOCK))
    remaining = size_mib << 20
    with open(path, "wb") as f:
        counter = 0
        while remaining > 0:
            block[:8] = counter.to_bytes(8, "little")  # no two blocks alike
            f.write(block[: min(BLOCK, remaining)])
            remaining -= BLOCK
            counter += 1


def timed(argv: list[str]) -> tuple[float, str]:
    """(seconds, first word of stdout) of one child process."""
    start = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if res.returncode != 0:
        sys.exit(f"{argv[0]} failed with exit {res.returncode}: {res.stderr.decode().strip()}")
    return elapsed, res.stdout.decode().split()[0]


def peak_rss_kib(argv: list[str]) -> int:
    """Highest VmHWM of the child, sampled every 10 ms until it exits (the value only grows)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.01)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", type=Path, help="where to create the test file (default: a temporary directory)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="interpreter for log5651 (default: this one)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the ratio misses the target")
    parser.add_argument("--keep", action="store_true", help="keep the test file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="log5651-hash-", dir=args.dir))
    data = workdir / "bench.bin"
    try:
        t0 = time.perf_counter()
        make_file(data, args.size_mib)
        print(f"file: {data} ({args.size_mib} MiB, written in {time.perf_counter() - t0:.1f} s)")
        setups = {
            "log5651 hash_file": [args.python, "-c", CHILD, str(TOOL), str(data)],
            "sha256sum": ["sha256sum", str(data)],
        }
        digests = {name: timed(argv)[1] for name, argv in setups.items()}  # warm-up: page cache, interpreters
        if len(set(digests.values())) != 1:
            sys.exit(f"the tools disagree: {digests}")
        times: dict[str, list[float]] = {name: [] for name in setups}
        names = list(setups)
        for i in range(args.repeats):
            for name in names if i % 2 == 0 else names[::-1]:
                times[name].append(timed(setups[name])[0])
        print(f"{'setup':<20} {'best MiB/s':>11} {'median MiB/s':>13} {'peak RSS MiB':>13}")
        medians = {}
        for name, runs in times.items():
            medians[name] = args.size_mib / statistics.median(runs)
            best = args.size_mib / min(runs)
            rss = peak_rss_kib(setups[name]) / 1024
            print(f"{name:<20} {best:>11.0f} {medians[name]:>13.0f} {rss:>13.1f}")
        baseline = peak_rss_kib([args.python, "-c", CHILD, str(TOOL), os.devnull]) / 1024
        print(f"(log5651 without data, interpreter and imports only: peak RSS {baseline:.1f} MiB)")
        ratio = medians["log5651 hash_file"] / medians["sha256sum"]
        verdict = "PASS" if ratio >= TARGET else "FAIL"
        print(f"ratio log5651 / sha256sum (medians of {args.repeats}): {ratio:.2f}  target >= {TARGET}: {verdict}")
        print(f"sha256: {digests['sha256sum']}")
        return 1 if args.strict and verdict == "FAIL" else 0
    finally:
        if args.keep:
            print(f"kept {data}")
        else:
            data.unlink(missing_ok=True)
            workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
