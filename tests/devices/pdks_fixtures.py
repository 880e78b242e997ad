"""Shared helpers for the PDKS tests: simulated ZKTeco terminals on loopback, and pyzk sessions."""

import contextlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab" / "devices"))

import zk_terminal  # noqa: E402

COMM_KEY = 731905  # long enough that Ansible's no_log masking cannot hit ports or counts


def start(tmp_path, name, listen="127.0.0.1", comm_key=COMM_KEY, **kwargs):
    return zk_terminal.serve(listen, 0, tmp_path / f"{name}.json", comm_key=comm_key, **kwargs)


@contextlib.contextmanager
def pyzk_session(server, comm_key=COMM_KEY, encoding="UTF-8"):
    """A pyzk connection to the simulator, disconnected at the end."""
    from zk import ZK

    conn = ZK(server.host, port=server.port, timeout=5, password=comm_key, ommit_ping=True, encoding=encoding).connect()
    try:
        yield conn
    finally:
        conn.disconnect()


@pytest.fixture
def terminal(tmp_path):
    server = start(tmp_path, "pdks-test-01", listen="127.0.1.11")
    yield server
    server.shutdown()
