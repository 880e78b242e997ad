"""PDKS (ZKTeco attendance terminal) support for the pdks_* modules.

Two halves:

* ``Terminal``: a thin session over pyzk (an unmodified pip dependency on the controller). It connects
  without pyzk's ``ping`` (there is no ping binary on the controller), keeps pyzk's stray prints out of
  the module's JSON, locks the keypad during writes and unlocks it in ``finally``, and turns every pyzk
  or socket error into ``DeviceError`` with a message that names the terminal.
* Pure functions, tested without a device: how the terminal will store a name, the user plan
  (add/update/remove), uid allocation, clock drift and attendance de-duplication.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import io
import os

PRIVILEGES = {"user": 0, "admin": 14}
NAME_BYTES = 24
PASSWORD_BYTES = 8
SICIL_BYTES = 24
MAX_UID = 0xFFFF
MAX_CARD = 0xFFFFFFFF

CONNECTION_SPEC = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 4370},
    "comm_key": {"type": "int", "default": 0, "no_log": True},
    "timeout": {"type": "int", "default": 10},
    "encoding": {"type": "str", "default": "utf-8"},
    "terminal": {"type": "str"},
}


class DeviceError(Exception):
    """A terminal refused, failed or could not be reached; the message names the terminal."""


class PlanError(ValueError):
    """The desired state is invalid (bad sicil, duplicate, name too long for nothing...)."""


# --- pure functions -----------------------------------------------------------------------------


def stored_name(name, sicil, encoding="utf-8"):
    """The name as the terminal will give it back: encoded (characters the code page lacks are
    dropped), cut to 24 bytes, decoded ignoring a character cut in half, stripped. An empty name
    comes back from pyzk as ``NN-<sicil>``."""
    raw = (name or "").encode(encoding, errors="ignore")[:NAME_BYTES]
    text = raw.split(b"\0")[0].decode(encoding, errors="ignore").strip()
    return text or f"NN-{sicil}"


def privilege_code(name):
    try:
        return PRIVILEGES[name]
    except KeyError:
        raise PlanError(f"privilege must be one of {sorted(PRIVILEGES)}, not {name!r}") from None


def privilege_name(code):
    for name, value in PRIVILEGES.items():
        if value == code:
            return name
    return f"level-{code}"


def normalise_desired(users, encoding="utf-8"):
    """Validate the desired list; returns {sicil: {name, privilege, card, password}} in list order."""
    try:
        "".encode(encoding)
    except LookupError:
        raise PlanError(f"unknown encoding {encoding!r}") from None
    out = {}
    for index, user in enumerate(users or []):
        sicil = str(user.get("sicil") or "").strip()
        if not sicil:
            raise PlanError(f"users[{index}] has no sicil")
        if len(sicil.encode("ascii", errors="replace")) > SICIL_BYTES or not sicil.isascii():
            raise PlanError(f"users[{index}]: sicil {sicil} must be ASCII and at most {SICIL_BYTES} characters")
        if sicil in out:
            raise PlanError(f"sicil {sicil} appears twice in users")
        card = int(user.get("card") or 0)
        if not 0 <= card <= MAX_CARD:
            raise PlanError(f"sicil {sicil}: card number out of range (0..{MAX_CARD})")
        password = user.get("password")
        password = None if password is None else str(password)
        if password is not None and len(password.encode(encoding, errors="ignore")) > PASSWORD_BYTES:
            raise PlanError(f"sicil {sicil}: password longer than {PASSWORD_BYTES} bytes")
        out[sicil] = {
            "name": stored_name(user.get("name"), sicil, encoding),
            "privilege": privilege_code(user.get("privilege") or "user"),
            "card": card,
            "password": password,
        }
    return out


def allocate_uids(current_uids, count):
    """``count`` new uid slots above the highest one in use (the device's own numbering)."""
    start = max(current_uids, default=0) + 1
    if start + count - 1 > MAX_UID:
        raise PlanError(f"no free uid slots above {start - 1} for {count} new users")
    return list(range(start, start + count))


def plan_users(desired, current, purge=False, remove_admins=False, update_password="on_create"):  # noqa: S107
    """Compare desired users ({sicil: fields}, from normalise_desired) with the terminal's users
    (list of {uid, sicil, name, privilege, card, password, group}).

    Returns {add, update, remove, kept_admins, changes}: ``add``/``update`` hold the full records to
    write (uid, sicil, name, privilege, card, password, group), ``remove`` the records to delete,
    ``kept_admins`` the sicils that purge would have removed but that have a privilege, and
    ``changes`` {sicil: [changed field names]}. A record written with set_user replaces the whole
    slot, so an update carries the device's own password and group unless they are being changed.
    """
    by_sicil = {}
    duplicates = []
    for user in sorted(current, key=lambda u: u["uid"]):
        if user["sicil"] in by_sicil:
            duplicates.append(user)
        else:
            by_sicil[user["sicil"]] = user
    plan = {"add": [], "update": [], "remove": [], "kept_admins": [], "changes": {}}
    new_uids = iter(allocate_uids([u["uid"] for u in current], sum(1 for s in desired if s not in by_sicil)))
    for sicil, want in desired.items():
        have = by_sicil.get(sicil)
        if have is None:
            plan["add"].append(
                {
                    "uid": next(new_uids),
                    "sicil": sicil,
                    "name": want["name"],
                    "privilege": want["privilege"],
                    "card": want["card"],
                    "password": want["password"] or "",
                    "group": "",
                }
            )
            plan["changes"][sicil] = ["created"]
            continue
        fields = [key for key in ("name", "privilege", "card") if have[key] != want[key]]
        password = have.get("password") or ""
        wanted_pin = want["password"]
        if update_password == "always" and wanted_pin is not None and wanted_pin != password:  # noqa: S105
            fields.append("password")
            password = want["password"]
        if fields:
            record = dict(have, name=want["name"], privilege=want["privilege"], card=want["card"], password=password)
            plan["update"].append(record)
            plan["changes"][sicil] = fields
    if purge:
        extra = [u for s, u in by_sicil.items() if s not in desired] + [u for u in duplicates if u["sicil"] in desired]
        for user in sorted(extra, key=lambda u: u["uid"]):
            if user["privilege"] != 0 and not remove_admins:
                plan["kept_admins"].append(user["sicil"])
                continue
            plan["remove"].append(user)
            plan["changes"].setdefault(user["sicil"], []).append("removed")
    return plan


def plan_changed(plan):
    return bool(plan["add"] or plan["update"] or plan["remove"])


def pseudonym(value, key):
    """A short keyed digest: equal values give equal tags within one run, and nothing can be read back."""
    if value in (None, "", 0):
        return "none"
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:8]


def diff_view(users, key):
    """Users as shown in --diff: sicil, privilege and uid in the clear; name and card as keyed digests;
    password only as set/unset."""
    lines = []
    for user in sorted(users, key=lambda u: u["sicil"]):
        lines.append(
            f"{user['sicil']}: uid={user['uid']} privilege={privilege_name(user['privilege'])}"
            f" name=#{pseudonym(user['name'], key)} card=#{pseudonym(user['card'], key)}"
            f" password={'set' if user.get('password') else 'unset'}"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def apply_plan_to(current, plan):
    """The user list the terminal should hold after the plan (for the --diff 'after' side)."""
    removed = {u["uid"] for u in plan["remove"]}
    updated = {u["uid"]: u for u in plan["update"]}
    after = [updated.get(u["uid"], u) for u in current if u["uid"] not in removed]
    return after + plan["add"]


def clock_drift(device_time, now, timezone):
    """Seconds the terminal's clock is ahead (+) or behind (-) the wall clock of ``timezone``.

    ``device_time`` is naive device-local wall time (the ZK protocol carries no zone); ``now`` is
    an aware datetime."""
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return (device_time - local).total_seconds()


def drift_exceeds(drift, max_drift):
    return abs(drift) > max_drift


def attendance_key(record):
    return (str(record["sicil"]), str(record["timestamp"]), int(record["punch"]))


def new_attendance(records, existing_keys):
    """Records not yet in ``existing_keys`` (also de-duplicated among themselves), grouped by day:
    {"YYYY-MM-DD": [record, ...]} in device order."""
    seen = set(existing_keys)
    out = {}
    for record in records:
        key = attendance_key(record)
        if key in seen:
            continue
        seen.add(key)
        out.setdefault(str(record["timestamp"])[:10], []).append(record)
    return out


def attendance_days(records):
    return sorted({str(r["timestamp"])[:10] for r in records})


# --- the terminal session -----------------------------------------------------------------------


class Terminal:
    """``with Terminal(...) as term:`` opens a pyzk session; every failure raises DeviceError."""

    def __init__(self, host, port=4370, comm_key=0, timeout=10, encoding="utf-8", terminal=None):
        self.host = host
        self.port = port
        self.comm_key = int(comm_key or 0)
        self.timeout = timeout
        self.encoding = encoding
        self.label = f"PDKS terminal {terminal or host} ({host}:{port})"
        self.conn = None

    def fail(self, what, exc=None):
        reason = f": {describe(exc)}" if exc is not None else ""
        return DeviceError(f"{self.label}: {what}{reason}")

    def call(self, what, func, *args, **kwargs):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return func(*args, **kwargs)
        except DeviceError:
            raise
        except Exception as exc:  # noqa: BLE001 - pyzk raises bare Exceptions and socket errors alike
            raise self.fail(f"{what} failed", exc) from None

    def __enter__(self):
        try:
            from zk import ZK
        except ImportError:
            raise DeviceError(f"{self.label}: the pyzk library is not installed on the controller") from None
        client = ZK(
            self.host,
            port=self.port,
            timeout=self.timeout,
            password=self.comm_key,
            ommit_ping=True,
            encoding=self.encoding,
        )
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.conn = client.connect()
        except Exception as exc:  # noqa: BLE001
            text = str(exc)
            if "Unauthenticated" in text:
                raise DeviceError(f"{self.label}: comm key rejected") from None
            raise self.fail("not reachable", exc) from None
        return self

    def __exit__(self, *exc_info):
        if self.conn is not None:
            with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                self.conn.disconnect()
        self.conn = None
        return False

    @contextlib.contextmanager
    def locked(self):
        """Keypad disabled for the duration of the block, enabled again however the block ends."""
        self.call("disabling the keypad", self.conn.disable_device)
        try:
            yield self
        finally:
            self.call("enabling the keypad again", self.conn.enable_device)

    # reads
    def users(self):
        raw = self.call("reading users", self.conn.get_users)
        return [
            {
                "uid": int(u.uid),
                "sicil": str(u.user_id),
                "name": u.name,
                "privilege": int(u.privilege),
                "card": int(u.card),
                "password": u.password or "",
                "group": u.group_id or "",
            }
            for u in raw
        ]

    def attendance(self):
        raw = self.call("reading attendance", self.conn.get_attendance)
        return [
            {
                "sicil": str(a.user_id),
                "timestamp": a.timestamp.isoformat(),
                "status": int(a.status),
                "punch": int(a.punch),
            }
            for a in raw
        ]

    def time(self):
        return self.call("reading the clock", self.conn.get_time)

    def sizes(self):
        self.call("reading memory sizes", self.conn.read_sizes)
        c = self.conn
        return {
            "users": c.users,
            "fingers": c.fingers,
            "records": c.records,
            "faces": c.faces,
            "capacity": {"users": c.users_cap, "fingers": c.fingers_cap, "records": c.rec_cap, "faces": c.faces_cap},
        }

    def identity(self):
        c = self.conn
        return {
            "firmware": self.call("reading the firmware version", c.get_firmware_version),
            "serial": self.call("reading the serial number", c.get_serialnumber),
            "platform": self.call("reading the platform", c.get_platform),
            "device_name": self.call("reading the device name", c.get_device_name),
            "mac": self.call("reading the MAC address", c.get_mac),
        }

    # writes (call inside ``locked()``)
    def write_user(self, user):
        self.call(
            f"writing user {user['sicil']}",
            self.conn.set_user,
            uid=user["uid"],
            name=user["name"] if user["name"] != f"NN-{user['sicil']}" else "",
            privilege=user["privilege"],
            password=user.get("password") or "",
            group_id=user.get("group") or "",
            user_id=user["sicil"],
            card=user["card"],
        )

    def delete_user(self, user):
        self.call(f"deleting user {user['sicil']}", self.conn.delete_user, uid=user["uid"])

    def set_time(self, moment):
        self.call("setting the clock", self.conn.set_time, moment)

    def clear_attendance(self):
        self.call("clearing attendance", self.conn.clear_attendance)


def describe(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.replace(os.linesep, " ")[:200]


def now_in(timezone):
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(timezone))
