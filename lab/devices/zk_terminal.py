#!/usr/bin/env python3
"""A ZKTeco attendance terminal (PDKS) that speaks the ZK protocol over TCP, for the lab and the tests.

It answers the commands that pyzk sends for the pdks_* modules: connect and comm-key authentication,
disable/enable, firmware and options, free sizes, clock, user write/delete, bulk reads of users and
attendance (whole blob in one CMD_DATA reply, or chunked with 1504 above ``chunk_threshold`` bytes),
clearing attendance and disconnect. Fingerprint templates are not stored: the simulator has none.

State (users, attendance, clock offset, identity) lives in a JSON file that is rewritten after every
change, so a restarted terminal keeps its users and punches.

Run it on a loopback address:

    lab/devices/zk_terminal.py --listen 127.0.1.11 --port 4370 --state /tmp/pdks-zabita-01.json \
        --comm-key 731905 --serial ZKSIM0001 --seed punches.json

or import it: ``server = serve("127.0.0.1", 0, state_path); server.port; server.terminal; server.shutdown()``.

Frame layout (all little-endian): an 8-byte TCP prefix ``0x5050, 0x7D82, payload length`` (pyzk's
comment says 0x7282, its value is 0x7D82), then ``command, checksum, session id, reply id`` (4 x uint16)
and the command's data. pyzk computes the checksum with the reply id *before* it increments it, so a
frame is accepted when the checksum matches either the reply id it carries or the one before it.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import signal
import socketserver
import struct
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

PREFIX_1 = 0x5050
PREFIX_2 = 0x7D82
USHRT_MAX = 0xFFFF

CMD_USER_WRQ = 8
CMD_USERTEMP_RRQ = 9
CMD_OPTIONS_RRQ = 11
CMD_ATTLOG_RRQ = 13
CMD_CLEAR_ATTLOG = 15
CMD_DELETE_USER = 18
CMD_GET_FREE_SIZES = 50
CMD_GET_TIME = 201
CMD_SET_TIME = 202
CMD_CONNECT = 1000
CMD_EXIT = 1001
CMD_ENABLEDEVICE = 1002
CMD_DISABLEDEVICE = 1003
CMD_REFRESHDATA = 1013
CMD_GET_VERSION = 1100
CMD_AUTH = 1102
CMD_PREPARE_DATA = 1500
CMD_DATA = 1501
CMD_FREE_DATA = 1502
CMD_READ_BUFFER = 1503
CMD_READ_CHUNK = 1504
CMD_ACK_OK = 2000
CMD_ACK_ERROR = 2001
CMD_ACK_UNAUTH = 2005
CMD_ACK_UNKNOWN = 0xFFFF

FCT_USER = 5
USER_RECORD = 72
ATT_RECORD = 40

DEFAULT_STATE = {
    "serial": "ZKSIM0001",
    "firmware": "Ver 6.60 Apr 28 2021",
    "platform": "ZMM220_TFT",
    "device_name": "MB20",
    "mac": "00:17:61:00:00:01",
    "ip": "192.168.1.201",
    "netmask": "255.255.255.0",
    "gateway": "192.168.1.1",
    "timezone": "Europe/Istanbul",
    "clock_offset": 0.0,
    "capacity": {"users": 3000, "fingers": 3000, "records": 100000},
    "users": [],
    "attendance": [],
}


# --- protocol arithmetic (pure) ---------------------------------------------------------------


def checksum(data: bytes) -> int:
    """The zkemsdk 16-bit checksum: little-endian word sum folded at 0xFFFF, then complemented."""
    total = 0
    for i in range(0, len(data) - 1, 2):
        total += data[i] | (data[i + 1] << 8)
        if total > USHRT_MAX:
            total -= USHRT_MAX
    if len(data) % 2:
        total += data[-1]
    while total > USHRT_MAX:
        total -= USHRT_MAX
    total = ~total
    while total < 0:
        total += USHRT_MAX
    return total


def packet(command: int, session: int, reply: int, data: bytes = b"") -> bytes:
    """One framed packet with its checksum."""
    plain = struct.pack("<4H", command, 0, session, reply) + data
    body = struct.pack("<4H", command, checksum(plain), session, reply) + data
    return struct.pack("<HHI", PREFIX_1, PREFIX_2, len(body)) + body


def checksum_ok(header: tuple, data: bytes) -> bool:
    """Accept the checksum computed over the reply id as sent or over the one before it (pyzk's way)."""
    command, check, session, reply = header
    for candidate in (reply, (reply - 1) % USHRT_MAX):
        if checksum(struct.pack("<4H", command, 0, session, candidate) + data) == check:
            return True
    return False


def commkey(key: int, session: int, ticks: int = 50) -> bytes:
    """The 4 bytes a client sends in CMD_AUTH for comm key ``key`` on session ``session``.

    The 32 bits of the key are mirrored, the session id is added, the bytes are XORed with "ZKSO",
    the two 16-bit halves are swapped, and the result is XORed with the tick byte, whose own value
    replaces the third byte.
    """
    mirrored = int(f"{int(key) & 0xFFFFFFFF:032b}"[::-1], 2)
    value = (mirrored + int(session)) & 0xFFFFFFFF
    raw = bytes(b ^ m for b, m in zip(struct.pack("<I", value), b"ZKSO", strict=True))
    swapped = raw[2:4] + raw[0:2]
    tick = ticks & 0xFF
    return bytes([swapped[0] ^ tick, swapped[1] ^ tick, tick, swapped[3] ^ tick])


def encode_time(moment: dt.datetime) -> int:
    return (
        ((moment.year % 100) * 12 * 31 + (moment.month - 1) * 31 + moment.day - 1) * 86400
        + (moment.hour * 60 + moment.minute) * 60
        + moment.second
    )


def decode_time(value: int) -> dt.datetime:
    value, second = divmod(value, 60)
    value, minute = divmod(value, 60)
    value, hour = divmod(value, 24)
    value, day = divmod(value, 31)
    year, month = divmod(value, 12)
    return dt.datetime(2000 + year, month + 1, day + 1, hour, minute, second)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def user_record(user: dict) -> bytes:
    """A 72-byte ZK8 user record."""
    return struct.pack(
        "<HB8s24sIx7sx24s",
        user["uid"],
        user["privilege"],
        unb64(user["password_b64"]),
        unb64(user["name_b64"]),
        user["card"],
        user["group"].encode("ascii", "ignore"),
        user["user_id"].encode("ascii", "ignore"),
    )


def parse_user_record(data: bytes) -> dict:
    uid, privilege, password, name, card, group, user_id = struct.unpack("<HB8s24s4sx7sx24s", data[:USER_RECORD])
    return {
        "uid": uid,
        "privilege": privilege,
        "password_b64": b64(password.rstrip(b"\0")),
        "name_b64": b64(name.rstrip(b"\0")),
        "card": struct.unpack("<I", card)[0],
        "group": group.split(b"\0")[0].decode("ascii", "ignore"),
        "user_id": user_id.split(b"\0")[0].decode("ascii", "ignore"),
    }


def attendance_record(rec: dict) -> bytes:
    moment = dt.datetime.fromisoformat(rec["timestamp"])
    return struct.pack(
        "<H24sB4sB8s",
        rec.get("uid", 0),
        rec["user_id"].encode("ascii", "ignore"),
        rec.get("status", 1),
        struct.pack("<I", encode_time(moment)),
        rec.get("punch", 0),
        b"",
    )


# --- the terminal's state ---------------------------------------------------------------------


class Terminal:
    """The device: its state, its state file and the command log the tests read."""

    def __init__(self, state_path, comm_key=0, chunk_threshold=0, encoding="utf-8", **identity):
        self.path = Path(state_path)
        self.comm_key = int(comm_key or 0)
        self.chunk_threshold = int(chunk_threshold or 0)
        self.encoding = encoding
        self.lock = threading.RLock()
        self.commands: list[int] = []
        self.disabled_sessions: set[int] = set()
        state = json.loads(json.dumps(DEFAULT_STATE))
        if self.path.exists():
            state.update(json.loads(self.path.read_text(encoding="utf-8")))
        for key, value in identity.items():
            if value is not None:
                state[key] = value
        self.state = state
        self.save()

    @property
    def enabled(self) -> bool:
        return not self.disabled_sessions

    def save(self):
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)

    # clock
    def now(self) -> dt.datetime:
        local = dt.datetime.now(ZoneInfo(self.state["timezone"])).replace(tzinfo=None)
        return (local + dt.timedelta(seconds=self.state["clock_offset"])).replace(microsecond=0)

    def set_clock(self, moment: dt.datetime):
        with self.lock:
            local = dt.datetime.now(ZoneInfo(self.state["timezone"])).replace(tzinfo=None)
            self.state["clock_offset"] = (moment - local).total_seconds()
            self.save()

    # users
    def add_user(self, user_id, name="", privilege=0, card=0, password="", group="", uid=None):
        """Seed helper: store a user as the keypad would (name cut to 24 bytes of the encoding)."""
        raw = name.encode(self.encoding, "ignore")[:24]
        with self.lock:
            if uid is None:
                uid = max((u["uid"] for u in self.state["users"]), default=0) + 1
            record = {
                "uid": uid,
                "privilege": privilege,
                "password_b64": b64(password.encode("ascii", "ignore")[:8]),
                "name_b64": b64(raw),
                "card": card,
                "group": group,
                "user_id": str(user_id),
            }
            self._put_user(record)
            self.save()

    def _put_user(self, record):
        users = [u for u in self.state["users"] if u["uid"] != record["uid"]]
        users.append(record)
        users.sort(key=lambda u: u["uid"])
        self.state["users"] = users

    def users_view(self) -> list[dict]:
        """Users with decoded names, for tests and the seed file."""
        with self.lock:
            return [
                {
                    "uid": u["uid"],
                    "user_id": u["user_id"],
                    "name": unb64(u["name_b64"]).decode(self.encoding, "ignore"),
                    "privilege": u["privilege"],
                    "card": u["card"],
                }
                for u in self.state["users"]
            ]

    # attendance
    def add_punch(self, user_id, timestamp, status=1, punch=0):
        """A punch on the keypad: ``timestamp`` is the device's local wall time (ISO text or datetime)."""
        if isinstance(timestamp, dt.datetime):
            timestamp = timestamp.replace(microsecond=0).isoformat()
        with self.lock:
            uid = next((u["uid"] for u in self.state["users"] if u["user_id"] == str(user_id)), 0)
            self.state["attendance"].append(
                {"uid": uid, "user_id": str(user_id), "timestamp": timestamp, "status": status, "punch": punch}
            )
            self.save()

    def seed(self, seed: dict):
        for user in seed.get("users", []):
            if not any(u["user_id"] == str(user["user_id"]) for u in self.state["users"]):
                self.add_user(**user)
        known = {(a["user_id"], a["timestamp"], a.get("punch", 0)) for a in self.state["attendance"]}
        for punch in seed.get("attendance", []):
            if (str(punch["user_id"]), punch["timestamp"], punch.get("punch", 0)) not in known:
                self.add_punch(**punch)

    # blobs
    def users_blob(self) -> bytes:
        body = b"".join(user_record(u) for u in self.state["users"])
        return struct.pack("<I", len(body)) + body

    def attendance_blob(self) -> bytes:
        body = b"".join(attendance_record(a) for a in self.state["attendance"])
        return struct.pack("<I", len(body)) + body

    def sizes(self) -> bytes:
        cap = self.state["capacity"]
        users, records = len(self.state["users"]), len(self.state["attendance"])
        fields = [0] * 20
        fields[4], fields[6], fields[8] = users, 0, records
        fields[14], fields[15], fields[16] = cap["fingers"], cap["users"], cap["records"]
        fields[17], fields[18], fields[19] = cap["fingers"], cap["users"] - users, cap["records"] - records
        return struct.pack("<20i", *fields) + struct.pack("<3i", 0, 0, 0)

    def option(self, name: str):
        table = {
            "~SerialNumber": self.state["serial"],
            "~Platform": self.state["platform"],
            "~DeviceName": self.state["device_name"],
            "MAC": self.state["mac"],
            "IPAddress": self.state["ip"],
            "NetMask": self.state["netmask"],
            "GATEIPAddress": self.state["gateway"],
            "~ZKFPVersion": "10",
            "~ExtendFmt": "0",
            "~UserExtFmt": "0",
            "FaceFunOn": "0",
            "ZKFaceVersion": "0",
            "CompatOldFirmware": "0",
        }
        return table.get(name)


# --- the connection handler -------------------------------------------------------------------


class Session(socketserver.BaseRequestHandler):
    """One TCP connection: a session id, its authentication and its read buffer."""

    def setup(self):
        self.terminal: Terminal = self.server.terminal
        self.session = random.randint(1, 0xFFFE)  # noqa: S311 - a session id, not a secret
        self.authenticated = False
        self.buffer = b""

    def recv_exact(self, size):
        data = b""
        while len(data) < size:
            more = self.request.recv(size - len(data))
            if not more:
                return None
            data += more
        return data

    def handle(self):
        try:
            while True:
                top = self.recv_exact(8)
                if top is None:
                    return
                first, second, length = struct.unpack("<HHI", top)
                if (first, second) != (PREFIX_1, PREFIX_2) or not 8 <= length <= 1 << 20:
                    return
                body = self.recv_exact(length)
                if body is None:
                    return
                header = struct.unpack("<4H", body[:8])
                data = body[8:]
                if not self.dispatch(header, data):
                    return
        except OSError:
            return
        finally:
            with self.terminal.lock:
                self.terminal.disabled_sessions.discard(self.session)

    def send(self, command, reply, data=b""):
        self.request.sendall(packet(command, self.session, reply, data))

    def dispatch(self, header, data) -> bool:
        command, _, _, reply = header
        term = self.terminal
        with term.lock:
            term.commands.append(command)
        if not checksum_ok(header, data):
            self.send(CMD_ACK_ERROR, reply)
            return True
        if command == CMD_CONNECT:
            self.authenticated = not term.comm_key
            self.send(CMD_ACK_OK if self.authenticated else CMD_ACK_UNAUTH, reply)
            return True
        if command == CMD_AUTH:
            if len(data) >= 4 and data[:4] == commkey(term.comm_key, self.session, data[2]):
                self.authenticated = True
                self.send(CMD_ACK_OK, reply)
            else:
                self.send(CMD_ACK_UNAUTH, reply)
            return True
        if not self.authenticated:
            self.send(CMD_ACK_UNAUTH, reply)
            return command != CMD_EXIT
        if command == CMD_EXIT:
            self.send(CMD_ACK_OK, reply)
            return False
        handler = HANDLERS.get(command)
        if handler is None:
            self.send(CMD_ACK_UNKNOWN, reply)
            return True
        with term.lock:
            handler(self, reply, data)
        return True

    # each handler answers one command; the terminal lock is held

    def on_disable(self, reply, data):
        self.terminal.disabled_sessions.add(self.session)
        self.send(CMD_ACK_OK, reply)

    def on_enable(self, reply, data):
        self.terminal.disabled_sessions.discard(self.session)
        self.send(CMD_ACK_OK, reply)

    def on_version(self, reply, data):
        self.send(CMD_ACK_OK, reply, self.terminal.state["firmware"].encode() + b"\0")

    def on_option(self, reply, data):
        name = data.split(b"\0")[0].decode("ascii", "ignore")
        value = self.terminal.option(name)
        if value is None:
            self.send(CMD_ACK_ERROR, reply)
        else:
            self.send(CMD_ACK_OK, reply, f"{name}={value}".encode() + b"\0")

    def on_sizes(self, reply, data):
        self.send(CMD_ACK_OK, reply, self.terminal.sizes())

    def on_get_time(self, reply, data):
        self.send(CMD_ACK_OK, reply, struct.pack("<I", encode_time(self.terminal.now())))

    def on_set_time(self, reply, data):
        try:
            moment = decode_time(struct.unpack("<I", data[:4])[0])
        except (struct.error, ValueError):
            self.send(CMD_ACK_ERROR, reply)
            return
        self.terminal.set_clock(moment)
        self.send(CMD_ACK_OK, reply)

    def on_user_write(self, reply, data):
        if len(data) < USER_RECORD:
            self.send(CMD_ACK_ERROR, reply)
            return
        record = parse_user_record(data)
        users = self.terminal.state["users"]
        if any(u["user_id"] == record["user_id"] and u["uid"] != record["uid"] for u in users):
            self.send(CMD_ACK_ERROR, reply)  # a second slot for the same user id is refused
            return
        if len(users) >= self.terminal.state["capacity"]["users"] and not any(u["uid"] == record["uid"] for u in users):
            self.send(CMD_ACK_ERROR, reply)
            return
        self.terminal._put_user(record)
        self.terminal.save()
        self.send(CMD_ACK_OK, reply)

    def on_delete_user(self, reply, data):
        uid = struct.unpack("<H", data[:2])[0] if len(data) >= 2 else 0
        state = self.terminal.state
        state["users"] = [u for u in state["users"] if u["uid"] != uid]
        self.terminal.save()
        self.send(CMD_ACK_OK, reply)

    def on_clear_attlog(self, reply, data):
        self.terminal.state["attendance"] = []
        self.terminal.save()
        self.send(CMD_ACK_OK, reply)

    def on_ok(self, reply, data):
        self.send(CMD_ACK_OK, reply)

    def on_read_buffer(self, reply, data):
        try:
            _, inner, fct, _ = struct.unpack("<bhii", data[:11])
        except struct.error:
            self.send(CMD_ACK_ERROR, reply)
            return
        if inner == CMD_USERTEMP_RRQ and fct == FCT_USER:
            blob = self.terminal.users_blob()
        elif inner == CMD_ATTLOG_RRQ:
            blob = self.terminal.attendance_blob()
        else:
            self.send(CMD_ACK_ERROR, reply)  # templates and other tables: this terminal has none to give
            return
        if self.terminal.chunk_threshold and len(blob) > self.terminal.chunk_threshold:
            self.server.buffers[self.session] = blob
            self.send(CMD_ACK_OK, reply, struct.pack("<BI", 0, len(blob)) + b"\0" * 4)
        else:
            self.send(CMD_DATA, reply, blob)

    def on_read_chunk(self, reply, data):
        blob = self.server.buffers.get(self.session)
        try:
            start, size = struct.unpack("<ii", data[:8])
        except struct.error:
            blob = None
        if blob is None or start < 0 or size <= 0 or start + size > len(blob):
            self.send(CMD_ACK_ERROR, reply)
            return
        chunk = blob[start : start + size]
        self.request.sendall(
            packet(CMD_PREPARE_DATA, self.session, reply, struct.pack("<II", size, 0))
            + packet(CMD_DATA, self.session, reply, chunk)
            + packet(CMD_ACK_OK, self.session, reply)
        )

    def on_free_data(self, reply, data):
        self.server.buffers.pop(self.session, None)
        self.send(CMD_ACK_OK, reply)


HANDLERS = {
    CMD_DISABLEDEVICE: Session.on_disable,
    CMD_ENABLEDEVICE: Session.on_enable,
    CMD_GET_VERSION: Session.on_version,
    CMD_OPTIONS_RRQ: Session.on_option,
    CMD_GET_FREE_SIZES: Session.on_sizes,
    CMD_GET_TIME: Session.on_get_time,
    CMD_SET_TIME: Session.on_set_time,
    CMD_USER_WRQ: Session.on_user_write,
    CMD_DELETE_USER: Session.on_delete_user,
    CMD_CLEAR_ATTLOG: Session.on_clear_attlog,
    CMD_REFRESHDATA: Session.on_ok,
    CMD_READ_BUFFER: Session.on_read_buffer,
    CMD_READ_CHUNK: Session.on_read_chunk,
    CMD_FREE_DATA: Session.on_free_data,
}


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, terminal):
        self.terminal = terminal
        self.buffers: dict[int, bytes] = {}
        super().__init__(address, Session)

    @property
    def host(self) -> str:
        return self.server_address[0]

    @property
    def port(self) -> int:
        return self.server_address[1]

    def shutdown(self):
        super().shutdown()
        self.server_close()


def serve(listen, port, state_path, comm_key=0, chunk_threshold=0, encoding="utf-8", seed=None, **identity):
    """Start a terminal in a background thread; returns the server (``.host``, ``.port``, ``.terminal``,
    ``.shutdown()``). ``port=0`` takes an ephemeral port. Only loopback addresses are accepted."""
    if not str(listen).startswith("127."):
        raise ValueError(f"the simulator binds only to loopback (127.0.0.0/8), not {listen}")
    terminal = Terminal(state_path, comm_key, chunk_threshold, encoding, **identity)
    if seed:
        terminal.seed(seed)
    server = Server((listen, port), terminal)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"zk-{listen}:{server.port}", daemon=True
    ).start()
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1", help="loopback address to bind (127.0.0.0/8)")
    parser.add_argument("--port", type=int, default=4370)
    parser.add_argument("--state", required=True, help="JSON state file (created when missing)")
    parser.add_argument("--comm-key", type=int, default=0, help="comm key; 0 means none")
    parser.add_argument("--serial")
    parser.add_argument("--device-name")
    parser.add_argument("--mac")
    parser.add_argument("--firmware")
    parser.add_argument("--platform")
    parser.add_argument("--encoding", default="utf-8", help="code page the keypad writes names in")
    parser.add_argument("--chunk-threshold", type=int, default=0, help="blobs larger than this are read in chunks")
    parser.add_argument("--seed", help='JSON file {"users": [...], "attendance": [...]} merged in at start')
    args = parser.parse_args(argv)
    seed = json.loads(Path(args.seed).read_text(encoding="utf-8")) if args.seed else None
    try:
        server = serve(
            args.listen,
            args.port,
            args.state,
            comm_key=args.comm_key,
            chunk_threshold=args.chunk_threshold,
            encoding=args.encoding,
            seed=seed,
            serial=args.serial,
            device_name=args.device_name,
            mac=args.mac,
            firmware=args.firmware,
            platform=args.platform,
        )
    except (OSError, ValueError) as exc:
        print(f"zk_terminal: cannot start on {args.listen}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"zk_terminal: listening on {server.host}:{server.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
