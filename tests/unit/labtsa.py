"""The lab TSA (lab/tsa/tsa.py) as a child process for tests: `serve DIR` on 127.0.0.1, port 0.

The test that starts one always stops it (fixtures and try/finally). stop() returns the exit status,
and start() may be called again after stop() to simulate a TSA that comes back after an outage.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TSA_PY = ROOT / "lab" / "tsa" / "tsa.py"


def run_init(directory: Path, name: str = "Test TSA") -> subprocess.CompletedProcess:
    """`tsa.py init`: a fresh (or kept) CA, TSA certificate and openssl ts configuration in directory."""
    return subprocess.run([sys.executable, str(TSA_PY), "init", str(directory), "--name", name], check=True,
                          capture_output=True, text=True)  # fmt: skip


def init_tsa(directory: Path, name: str = "Test TSA") -> Path:
    run_init(directory, name)
    return directory


class TSAServer:
    def __init__(self, directory: Path, workdir: Path, *extra: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.directory, self.workdir, self.extra = directory, workdir, extra
        self.port_file, self.pid_file, self.log = workdir / "tsa.port", workdir / "tsa.pid", workdir / "tsa.log"
        self.start()

    def start(self) -> None:
        self.port_file.unlink(missing_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(TSA_PY), "serve", str(self.directory), "--bind", "127.0.0.1", "--port", "0",
                 "--port-file", str(self.port_file), "--pid-file", str(self.pid_file), *self.extra],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while not (self.port_file.exists() and self.port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"tsa.py serve did not start: {self.log.read_text()}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(self.port_file.read_text())}/"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
