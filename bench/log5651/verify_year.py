#!/usr/bin/env python3
"""A year of signed 5651 class-days: `log5651 verify` against a shell loop of sha256sum -c + openssl ts -verify.

    verify_year.py [--days 365] [--classes dhcp,web,traffic] [--sources 2] [--file-kib 64] [--repeats 2]

Builds --days x classes class-days of --sources files of --file-kib KiB each (RSYSLOG_FileFormat lines)
in a temporary root, starts a lab TSA on 127.0.0.1 (lab/tsa/tsa.py, port 0) and signs them all with
`log5651 sign`. Then, alternating which goes first, --repeats times each:

  log5651     `log5651 verify --quiet`: token chain and imprint, genTime after the day, every file's
              hash, missing and extra files; days in parallel (--jobs, default: the CPU count)
  shell loop  for every day directory: `sha256sum --quiet -c MANIFEST.sha256` and
              `openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr -CAfile CA`
              (the naive setup; it checks less: no extra files, no genTime)

and prints days/s for both (best run) and their ratio. Both must find every day good.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "roles" / "log_server" / "files" / "log5651.py"
TSA_PY = ROOT / "lab" / "tsa" / "tsa.py"

SHELL_LOOP = r"""
ca=$1; root=$2; n=0; bad=0
for d in "$root"/*/*/; do
  n=$((n + 1))
  if ! (cd "$d" && sha256sum --quiet -c MANIFEST.sha256 >/dev/null 2>&1 &&
        openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr -CAfile "$ca" >/dev/null 2>&1); then
    bad=$((bad + 1)); echo "FAIL $d"
  fi
done
echo "$n days, $bad failed"
"""


def log_block(day: str, source: str, size: int) -> bytes:
    """About size bytes of RSYSLOG_FileFormat lines for one source on one day."""
    lines = []
    total = 0
    i = 0
    while total < size:
        seconds = i * 7 % 86400
        stamp = f"{day}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{i % 1000000:06d}+03:00"
        mac = f"02:00:0a:e7:{i // 256 % 256:02x}:{i % 256:02x}"
        text = (f"{stamp} {source} kea-dhcp4[812]: DHCP4_LEASE_ALLOC [hwtype=1 {mac}], cid=[01:{mac}], tid=0x{i:x}: "
                f"lease 10.231.{i // 256 % 256}.{i % 256} has been allocated for 3600 seconds\n")  # fmt: skip
        lines.append(text)
        total += len(text)
        i += 1
    return "".join(lines).encode()[:size]


def build(root: Path, days: int, classes: list[str], sources: int, size: int) -> int:
    today = datetime.now().astimezone().date()
    count = 0
    for offset in range(days, 0, -1):
        day = (today - timedelta(days=offset)).isoformat()
        for cls in classes:
            d = root / cls / day
            d.mkdir(parents=True)
            for s in range(sources):
                (d / f"10.231.0.{10 + s}.log").write_bytes(log_block(day, f"src{s}", size))
            count += 1
    return count


def timed(argv: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, res


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--classes", default="dhcp,web,traffic")
    parser.add_argument("--sources", type=int, default=2, help="files per class-day")
    parser.add_argument("--file-kib", type=int, default=64, help="size of each file")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="log5651 verify --jobs")
    parser.add_argument("--python", default=sys.executable, help="interpreter for log5651 (default: this one)")
    args = parser.parse_args()
    classes = [c for c in args.classes.split(",") if c]

    work = Path(tempfile.mkdtemp(prefix="log5651-year-"))
    tsa = None
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(TSA_PY), "init", str(work / "tsa")], check=True, capture_output=True)
        port_file = work / "tsa.port"
        tsa_log = open(work / "tsa.log", "wb")  # noqa: SIM115 (closed in finally)
        tsa = subprocess.Popen(
            [sys.executable, str(TSA_PY), "serve", str(work / "tsa"), "--bind", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file)],
            stdin=subprocess.DEVNULL, stdout=tsa_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        while not (port_file.exists() and port_file.read_text().strip()):
            if tsa.poll() is not None:
                sys.exit("the lab TSA did not start: " + (work / "tsa.log").read_text())
            time.sleep(0.05)
        root = work / "srv"
        n_days = build(root, args.days, classes, args.sources, args.file_kib * 1024)
        data_mib = n_days * args.sources * args.file_kib / 1024
        print(f"built {n_days} class-days ({len(classes)} classes x {args.days} days, {args.sources} x "
              f"{args.file_kib} KiB files, {data_mib:.0f} MiB) in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        ca = work / "tsa" / "ca.crt"
        config = {
            "root": str(root), "classes": {c: {"retention_days": 730} for c in classes},
            "tsa": {"url": f"http://127.0.0.1:{int(port_file.read_text())}/", "ca_file": str(ca)},
            "immutable": False, "group": "", "records_file": str(work / "records.jsonl"),
            "lock_file": str(work / "log5651.lock"),
        }  # fmt: skip
        (work / "config.json").write_text(json.dumps(config))
        env = {**os.environ, "LOG5651_CONFIG": str(work / "config.json")}
        seconds, res = timed([args.python, str(TOOL), "sign"], env)
        if res.returncode != 0:
            sys.exit(f"log5651 sign failed: {res.stderr}")
        print(f"signed {n_days} class-days in {seconds:.1f} s ({n_days / seconds:.0f} days/s, one TSA round trip each)")

        ours_name = f"log5651 verify --jobs {args.jobs}"
        setups = {
            ours_name: [args.python, str(TOOL), "verify", "--quiet", "--jobs", str(args.jobs)],
            "shell loop": ["bash", "-c", SHELL_LOOP, "loop", str(ca), str(root)],
        }
        expected = {
            ours_name: f"{n_days} days verified, 0 failed, 0 unsigned",
            "shell loop": f"{n_days} days, 0 failed",
        }
        best: dict[str, float] = {}
        names = list(setups)
        for i in range(args.repeats):
            for name in names if i % 2 == 0 else names[::-1]:
                seconds, res = timed(setups[name], env)
                last = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else res.stderr.strip()
                if last != expected[name]:
                    sys.exit(f"{name} did not find every day good: {last}")
                best[name] = min(best.get(name, seconds), seconds)
        print(f"{'setup':<26} {'seconds':>8} {'days/s':>8} {'MiB/s':>7}")
        for name, seconds in best.items():
            print(f"{name:<26} {seconds:>8.2f} {n_days / seconds:>8.0f} {data_mib / seconds:>7.0f}")
        ours, naive = best[ours_name], best["shell loop"]
        print(f"ratio log5651 / shell loop (days/s, best of {args.repeats}): {naive / ours:.2f}")
        return 0
    finally:
        if tsa is not None and tsa.poll() is None:
            tsa.send_signal(signal.SIGTERM)
            tsa.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
