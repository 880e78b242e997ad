"""lab/devices/zk_terminal.py driven by pyzk itself (not by our modules): the simulator speaks the
protocol the way a client library that works with real terminals expects."""

# Keypad PINs in these tests are data under test, not credentials.
# ruff: noqa: S106

import datetime as dt
import time

import pytest
from pdks_fixtures import COMM_KEY, pyzk_session, start, terminal, zk_terminal  # noqa: F401
from zk import ZK
from zk.exception import ZKErrorResponse

LONG_TR = "Ayşe Çağlar Işıkgöz Ünlü"


def test_identity_and_options_are_answered(terminal):  # noqa: F811
    with pyzk_session(terminal) as conn:
        assert conn.get_firmware_version() == "Ver 6.60 Apr 28 2021"
        assert conn.get_serialnumber() == "ZKSIM0001"
        assert conn.get_platform() == "ZMM220_TFT"
        assert conn.get_device_name() == "MB20"
        assert conn.get_mac() == "00:17:61:00:00:01"
        assert conn.get_network_params()["ip"] == "192.168.1.201"
        conn.read_sizes()
        assert (conn.users, conn.records, conn.users_cap, conn.rec_cap) == (0, 0, 3000, 100000)


def test_wrong_comm_key_is_refused(terminal):  # noqa: F811
    with pytest.raises(ZKErrorResponse, match="Unauthenticated"):
        ZK(terminal.host, port=terminal.port, timeout=5, password=COMM_KEY + 1, ommit_ping=True).connect()
    assert zk_terminal.CMD_USER_WRQ not in terminal.terminal.commands


def test_no_comm_key_needs_no_auth(tmp_path):
    server = start(tmp_path, "open", comm_key=0)
    try:
        with pyzk_session(server, comm_key=0) as conn:
            assert conn.get_serialnumber() == "ZKSIM0001"
        assert zk_terminal.CMD_AUTH not in server.terminal.commands
    finally:
        server.shutdown()


@pytest.mark.parametrize(("chunk_threshold"), [pytest.param(0, id="one-data-reply"), pytest.param(100, id="chunked")])
def test_users_round_trip_with_turkish_names(tmp_path, chunk_threshold):
    server = start(tmp_path, "users", chunk_threshold=chunk_threshold)
    try:
        with pyzk_session(server) as conn:
            conn.disable_device()
            conn.set_user(uid=1, name=LONG_TR, privilege=14, password="4321", user_id="1001", card=12345678)
            conn.set_user(uid=2, name="Şükrü Öz", privilege=0, user_id="1002", card=0)
            conn.set_user(uid=3, name="Geçici", privilege=0, user_id="1003")
            conn.enable_device()
            users = {u.user_id: u for u in conn.get_users()}
            assert users["1001"].name == "Ayşe Çağlar Işıkgö"  # cut at 24 bytes of UTF-8
            assert (users["1001"].privilege, users["1001"].card, users["1001"].password) == (14, 12345678, "4321")
            assert users["1002"].name == "Şükrü Öz"
            conn.delete_user(uid=3)
            assert sorted(u.user_id for u in conn.get_users()) == ["1001", "1002"]
        if chunk_threshold:
            assert zk_terminal.CMD_READ_CHUNK in server.terminal.commands
        else:
            assert zk_terminal.CMD_READ_CHUNK not in server.terminal.commands
        assert server.terminal.enabled
    finally:
        server.shutdown()


def test_cp1254_names_are_stored_as_one_byte_letters(tmp_path):
    server = start(tmp_path, "cp1254", encoding="cp1254")
    try:
        with pyzk_session(server, encoding="cp1254") as conn:
            conn.set_user(uid=1, name=LONG_TR, privilege=0, user_id="1001")
            assert conn.get_users()[0].name == LONG_TR
        assert server.terminal.users_view()[0]["name"] == LONG_TR
    finally:
        server.shutdown()


def test_time_get_and_set(terminal):  # noqa: F811
    with pyzk_session(terminal) as conn:
        before = conn.get_time()
        assert abs((before - terminal.terminal.now()).total_seconds()) <= 2
        conn.set_time(dt.datetime(2026, 1, 1, 12, 0, 0))
        after = conn.get_time()
        assert dt.timedelta(0) <= after - dt.datetime(2026, 1, 1, 12, 0, 0) <= dt.timedelta(seconds=2)


def test_attendance_read_and_clear(terminal):  # noqa: F811
    terminal.terminal.add_user("1001", "Ali")
    terminal.terminal.add_punch("1001", "2026-11-02T08:29:51")
    terminal.terminal.add_punch("1001", "2026-11-02T17:31:02", punch=1)
    terminal.terminal.add_punch("2002", "2026-11-03T08:00:00", status=15)
    with pyzk_session(terminal) as conn:
        records = conn.get_attendance()
        got = [(a.user_id, a.timestamp.isoformat(), a.status, a.punch) for a in records]
        assert got == [
            ("1001", "2026-11-02T08:29:51", 1, 0),
            ("1001", "2026-11-02T17:31:02", 1, 1),
            ("2002", "2026-11-03T08:00:00", 15, 0),
        ]
        conn.clear_attendance()
        assert conn.get_attendance() == []
        conn.read_sizes()
        assert conn.records == 0
        assert conn.users == 1  # clearing the log keeps the users


def test_state_survives_a_restart(tmp_path):
    server = start(tmp_path, "restart")
    with pyzk_session(server) as conn:
        conn.set_user(uid=5, name="Ayşe Çağlar", privilege=0, user_id="1005", card=7654321)
        conn.set_time(dt.datetime(2025, 6, 1, 10, 0, 0))
    server.terminal.add_punch("1005", "2026-11-02T08:29:51")
    port = server.port
    server.shutdown()
    time.sleep(0.05)
    again = zk_terminal.serve("127.0.0.1", port, tmp_path / "restart.json", comm_key=COMM_KEY)
    try:
        with pyzk_session(again) as conn:
            users = conn.get_users()
            assert [(u.uid, u.user_id, u.name, u.card) for u in users] == [(5, "1005", "Ayşe Çağlar", 7654321)]
            assert len(conn.get_attendance()) == 1
            assert conn.get_time().year == 2025
    finally:
        again.shutdown()


def test_seed_file_adds_users_and_punches_once(tmp_path):
    seed = {
        "users": [{"user_id": "1001", "name": "Ali"}],
        "attendance": [{"user_id": "1001", "timestamp": "2026-11-02T08:29:51"}],
    }
    for _ in range(2):
        server = start(tmp_path, "seeded", seed=seed)
        server.shutdown()
    assert len(server.terminal.state["users"]) == 1
    assert len(server.terminal.state["attendance"]) == 1


def test_simulator_refuses_non_loopback(tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        zk_terminal.serve("0.0.0.0", 0, tmp_path / "x.json")  # noqa: S104 - the refusal is under test


def test_commkey_matches_pyzk():
    from zk.base import make_commkey

    for key, session in [(0, 1), (1234, 77), (COMM_KEY, 4242), (999999, 65534)]:
        assert zk_terminal.commkey(key, session) == make_commkey(key, session)


def test_bad_checksum_is_refused(terminal):  # noqa: F811
    import socket
    import struct

    with socket.create_connection((terminal.host, terminal.port), timeout=5) as sock:
        body = struct.pack("<4H", zk_terminal.CMD_CONNECT, 1, 0, 0)
        sock.sendall(struct.pack("<HHI", zk_terminal.PREFIX_1, zk_terminal.PREFIX_2, len(body)) + body)
        reply = sock.recv(16)
    assert struct.unpack("<H", reply[8:10])[0] == zk_terminal.CMD_ACK_ERROR
