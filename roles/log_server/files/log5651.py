#!/usr/bin/python3
"""log5651: daily RFC 3161 signing, verification, retention and export of Law 5651 logs.

Deployed by the log_server role as /usr/local/sbin/log5651 on Debian 12 log servers. It needs Python 3.11
(standard library only) and the openssl command (OpenSSL 3); chattr (e2fsprogs) is used when present.

Data layout (the contract with the rsyslog configuration of the same role): rsyslog files every line by
the receiver's local clock at receipt as ROOT/CLASS/YYYY-MM-DD/SOURCE.log. One class-day directory is
the unit of signing. Once signed it also holds

    MANIFEST.sha256       `sha256sum` format, one "<sha256>  <file name>" line per file, sorted by name
    MANIFEST.sha256.tsr   the RFC 3161 time-stamp reply (DER) over MANIFEST.sha256

so that, inside the directory, `sha256sum -c MANIFEST.sha256` and
`openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr -CAfile tsa-ca.pem` prove the day.
A day is closed (and can be signed) once its end (local midnight) plus grace_minutes has passed.
Any file in a signed day directory that the manifest does not list is "extra" and fails verification.

Subcommands: sign, verify, prune, export, status (see `log5651 --help` and `log5651 CMD --help`).
Every alert also goes to syslog (ident log5651, the configured facility; LOG_CRIT for alerts,
LOG_INFO for normal records). Prunes and exports are recorded as JSON lines in records_file.

Rules, where the law leaves a choice:
- Only closed days are signed. A day signed later than it closed (after a TSA outage) is normal: the
  token records the real signing time, and verification only asks that it is after the day's end.
- An unsigned closed day is overdue once backlog_alert_days (default 2) have passed since the day
  ended; `status` and `verify` then exit 6 and alert. An open day is never a problem.
- A day is kept for retention_days full days after it ended, and deleted only if it verifies.
- `export` selects lines by their own leading timestamp (inclusive range) and scans the day
  directories of the range plus --margin-days on each side. The IP matches as a whole address, the
  MAC in any notation. A day that contributes lines must verify, or the export is refused.

Configuration: a JSON file (default /etc/log5651/config.json, or $LOG5651_CONFIG, or --config) with
the keys of Config and TSAConfig below. Unknown keys are errors, so that a typo is caught.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import fcntl
import grp
import gzip
import hashlib
import http.client
import io
import ipaddress
import json
import math
import os
import pwd
import re
import socket
import ssl
import subprocess
import sys
import syslog
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

VERSION = "1.0.0"
DEFAULT_CONFIG = "/etc/log5651/config.json"
CONFIG_ENV = "LOG5651_CONFIG"
MANIFEST = "MANIFEST.sha256"
MANIFEST_TSR = "MANIFEST.sha256.tsr"
TMP_PREFIX = ".log5651-tmp-"  # our own temporary files inside a day directory
BUF_SIZE = 1 << 20  # streaming hash buffer
MAX_REPLY_BYTES = 1 << 20
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CLASS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")

EXIT_OK = 0
EXIT_FAILED = 1  # a day failed verification; a prune or an export was refused
EXIT_USAGE = 2  # bad command line or configuration
EXIT_TSA = 3  # the TSA could not be reached, refused, or sent a reply that does not verify
EXIT_LOCKED = 4  # another sign/prune/export holds the lock
EXIT_IO = 5  # a file or directory could not be read or written
EXIT_BACKLOG = 6  # an unsigned closed day is older than backlog_alert_days
EXIT_DISK = 7  # the log file system is at or above disk_alert_percent

EXIT_CODES_HELP = f"""\
exit status:
  {EXIT_OK}  all fine
  {EXIT_FAILED}  a day failed verification, or a prune/export was refused (verify, prune, export)
  {EXIT_USAGE}  bad command line or configuration
  {EXIT_TSA}  TSA unreachable, refused the query, or its reply did not verify (sign); the day stays queued
  {EXIT_LOCKED}  another log5651 run holds the lock file
  {EXIT_IO}  a file or directory could not be read or written
  {EXIT_BACKLOG}  an unsigned closed day is older than backlog_alert_days (status, verify)
  {EXIT_DISK}  the file system of root is at or above disk_alert_percent (status)
"""

FACILITIES = {
    name: getattr(syslog, "LOG_" + name.upper())
    for name in ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv")
    + tuple(f"local{i}" for i in range(8))
    if hasattr(syslog, "LOG_" + name.upper())
}


# --------------------------------------------------------------------------- errors
class Log5651Error(Exception):
    """An expected failure: reported as one line (and to syslog), never as a traceback."""

    exit_code = EXIT_IO


class UsageError(Log5651Error):
    exit_code = EXIT_USAGE


class TSAError(Log5651Error):
    exit_code = EXIT_TSA


class LockError(Log5651Error):
    exit_code = EXIT_LOCKED


class RefusedError(Log5651Error):
    exit_code = EXIT_FAILED


# --------------------------------------------------------------------------- configuration
@dataclasses.dataclass(frozen=True)
class TSAConfig:
    url: str
    ca_file: Path
    username: str = ""
    password_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    tls_ca_file: Path | None = None
    timeout: float = 30.0
    policy: str = ""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    proxy: str = ""
    auth: str = "basic"  # basic (HTTP Basic with username/password) or kamusm (see kamusm_identity)


@dataclasses.dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    classes: dict[str, int]  # class name -> retention_days
    tsa: TSAConfig
    grace_minutes: int = 10
    immutable: bool = True
    group: str = "log5651"
    records_file: Path = Path("/var/log/log5651/records.jsonl")
    disk_alert_percent: int = 90
    syslog_facility: str = "local5"
    lock_file: Path = Path("/run/lock/log5651.lock")
    backlog_alert_days: int = 2


_MISSING = object()
TOP_KEYS = {f.name for f in dataclasses.fields(Config)} - {"path"}
TSA_KEYS = {f.name for f in dataclasses.fields(TSAConfig)}


class _Checker:
    """Typed access to one JSON object of the config, with messages that name the key."""

    def __init__(self, source: Path, data: object, prefix: str, known: set[str]) -> None:
        self.source, self.prefix = source, prefix
        if not isinstance(data, dict):
            self.fail(prefix.rstrip(".") or "the top level", "must be a JSON object", data)
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"config {source}: unknown key {prefix}{unknown[0]} (known: {', '.join(sorted(known))})")
        self.data: dict = data

    def fail(self, key: str, what: str, value: object) -> None:
        raise UsageError(f"config {self.source}: {key} {what}, got {json.dumps(value)}")

    def get(self, key: str, kind: str, default: object = _MISSING):
        name = self.prefix + key
        if key not in self.data:
            if default is _MISSING:
                raise UsageError(f"config {self.source}: {name} is missing")
            return default
        value = self.data[key]
        is_int = isinstance(value, int) and not isinstance(value, bool)
        checks = {
            "str": (isinstance(value, str), "must be a string"),
            "bool": (isinstance(value, bool), "must be true or false"),
            "int>0": (is_int and value > 0, "must be a positive integer"),
            "int>=0": (is_int and value >= 0, "must be an integer >= 0"),
            "percent": (is_int and 0 <= value <= 100, "must be an integer from 0 to 100"),
            "number>0": ((is_int or isinstance(value, float)) and value > 0, "must be a positive number"),
            "abspath": (isinstance(value, str) and value.startswith("/"), "must be an absolute path"),
            "object": (isinstance(value, dict), "must be a JSON object"),
        }
        ok, what = checks[kind]
        if not ok:
            self.fail(name, what, value)
        return value

    def file(self, key: str, required: bool = False) -> Path | None:
        value = self.get(key, "str", "")
        name = self.prefix + key
        if not value:
            if required:
                raise UsageError(f"config {self.source}: {name} is missing")
            return None
        path = Path(value)
        if not path.is_absolute():
            self.fail(name, "must be an absolute path", value)
        if not path.is_file():
            raise UsageError(f"config {self.source}: {name} {value} does not exist or is not a file")
        return path


def load_config(path: Path) -> Config:
    """Read and validate the JSON config; UsageError names the offending key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"config {path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"config {path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    top = _Checker(path, data, "", TOP_KEYS)
    classes_raw = top.get("classes", "object")
    if not classes_raw:
        top.fail("classes", "must name at least one class", classes_raw)
    classes: dict[str, int] = {}
    for name, spec in classes_raw.items():
        if not CLASS_RE.match(name):
            top.fail(f"classes.{name}", "is not a usable directory name", name)
        classes[name] = _Checker(path, spec, f"classes.{name}.", {"retention_days"}).get("retention_days", "int>0")
    t = _Checker(path, top.get("tsa", "object"), "tsa.", TSA_KEYS)
    url = t.get("url", "str")
    if not re.match(r"^https?://[^/\s]+", url):
        t.fail("tsa.url", "must be an http:// or https:// URL", url)
    username = t.get("username", "str", "")
    password_file = t.file("password_file", required=bool(username))
    auth = t.get("auth", "str", "basic")
    if auth not in ("basic", "kamusm"):
        t.fail("tsa.auth", "must be basic or kamusm", auth)
    if auth == "kamusm" and not (username.isdigit() and password_file):
        t.fail(
            "tsa.username",
            "must be the Kamu SM customer number (digits) with tsa.password_file, for auth kamusm",
            username,
        )
    headers = t.get("headers", "object", {})
    for hname, hvalue in headers.items():
        if not isinstance(hvalue, str) or not re.match(r"^[A-Za-z0-9-]+$", hname):
            t.fail(f"tsa.headers.{hname}", "must be a string value with a header-name key", hvalue)
    policy = t.get("policy", "str", "")
    if policy and not OID_RE.match(policy):
        t.fail("tsa.policy", "must be an OID such as 1.2.3.4", policy)
    tsa = TSAConfig(
        url=url,
        ca_file=t.file("ca_file", required=True),  # type: ignore[arg-type]
        username=username,
        password_file=password_file,
        client_cert=t.file("client_cert"),
        client_key=t.file("client_key"),
        tls_ca_file=t.file("tls_ca_file"),
        timeout=float(t.get("timeout", "number>0", 30)),
        policy=policy,
        headers=dict(headers),
        proxy=t.get("proxy", "str", ""),
        auth=auth,
    )
    facility = top.get("syslog_facility", "str", "local5")
    if facility not in FACILITIES:
        top.fail("syslog_facility", f"must be one of {', '.join(FACILITIES)}", facility)
    return Config(
        path=path,
        root=Path(top.get("root", "abspath", "/srv/log5651")),
        classes=classes,
        tsa=tsa,
        grace_minutes=top.get("grace_minutes", "int>=0", 10),
        immutable=top.get("immutable", "bool", True),
        group=top.get("group", "str", "log5651"),
        records_file=Path(top.get("records_file", "abspath", "/var/log/log5651/records.jsonl")),
        disk_alert_percent=top.get("disk_alert_percent", "percent", 90),
        syslog_facility=facility,
        lock_file=Path(top.get("lock_file", "abspath", "/run/lock/log5651.lock")),
        backlog_alert_days=top.get("backlog_alert_days", "int>0", 2),
    )


# --------------------------------------------------------------------------- syslog
class Alerts:
    """Syslog (and stderr for alerts). LOG_CRIT for what needs a human, LOG_INFO for records."""

    def __init__(self, facility: str = "local5") -> None:
        self.open(facility)

    def open(self, facility: str) -> None:
        syslog.openlog("log5651", syslog.LOG_PID, FACILITIES.get(facility, syslog.LOG_USER))

    def info(self, msg: str) -> None:
        syslog.syslog(syslog.LOG_INFO, msg)

    def crit(self, msg: str) -> None:
        syslog.syslog(syslog.LOG_CRIT, msg)
        print(f"log5651: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------- time
def local_midnight(day: date) -> datetime:
    """Local midnight at the start of day, as an aware datetime (the receiver's clock files by it)."""
    return datetime.combine(day, dtime()).astimezone()


def day_end(day: date) -> datetime:
    return local_midnight(day + timedelta(days=1))


def parse_when(text: str, what: str) -> datetime:
    """ISO 8601 date-time; without an offset it is local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} {text!r} is not an ISO 8601 date-time such as 2026-11-27T08:00:00+03:00") from None
    return value if value.tzinfo else value.astimezone()


def parse_day(text: str, what: str) -> date:
    try:
        if DAY_RE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UsageError(f"{what} {text!r} is not a day such as 2026-11-27")


def iso_utc(value: datetime) -> str:
    value = value.astimezone(UTC)
    frac = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


# --------------------------------------------------------------------------- days
@dataclasses.dataclass(frozen=True, order=True)
class Day:
    day: date
    cls: str
    path: Path = dataclasses.field(compare=False)

    @property
    def label(self) -> str:
        return f"{self.cls}/{self.day.isoformat()}"

    def is_closed(self, now: datetime, grace_minutes: int) -> bool:
        return now >= day_end(self.day) + timedelta(minutes=grace_minutes)

    def is_signed(self) -> bool:
        return (self.path / MANIFEST_TSR).exists()

    def has_logs(self) -> bool:
        with os.scandir(self.path) as it:
            return any(e.name not in (MANIFEST, MANIFEST_TSR) and not e.name.startswith(TMP_PREFIX) for e in it)


def list_days(
    cfg: Config, classes: Iterable[str] | None = None, first: date | None = None, last: date | None = None
) -> list[Day]:
    """The class-day directories under root, oldest first (then by class)."""
    if not cfg.root.is_dir():
        raise Log5651Error(f"log root {cfg.root} does not exist or is not a directory")
    days = []
    for cls in classes or cfg.classes:
        class_dir = cfg.root / cls
        if not class_dir.is_dir():
            continue
        with os.scandir(class_dir) as it:
            for entry in it:
                if not DAY_RE.match(entry.name) or not entry.is_dir(follow_symlinks=False):
                    continue
                try:
                    day = date.fromisoformat(entry.name)
                except ValueError:
                    continue
                if (first is None or day >= first) and (last is None or day <= last):
                    days.append(Day(day, cls, Path(entry.path)))
    return sorted(days)


def check_classes(cfg: Config, classes: list[str] | None) -> list[str]:
    for cls in classes or []:
        if cls not in cfg.classes:
            raise UsageError(f"unknown class {cls!r} (configured: {', '.join(sorted(cfg.classes))})")
    return classes or list(cfg.classes)


# --------------------------------------------------------------------------- hashing and manifests
def hash_file(path: Path | str, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in BUF_SIZE chunks into one reused buffer (never whole)."""
    h = hashlib.new(algorithm)
    buf = bytearray(BUF_SIZE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        with contextlib.suppress(OSError, AttributeError):
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def log_files(day_dir: Path) -> list[str]:
    """Names of the files a manifest of day_dir must list, sorted. Anything that is not a plain file
    (a directory, a symlink) or a name sha256sum would have to escape makes the day unsignable."""
    names = []
    with os.scandir(day_dir) as it:
        for entry in it:
            if entry.name in (MANIFEST, MANIFEST_TSR):
                continue
            if not entry.is_file(follow_symlinks=False):
                raise Log5651Error(f"{day_dir}: {entry.name} is not a regular file; refusing to sign the day")
            if "\n" in entry.name or "\\" in entry.name:
                raise Log5651Error(f"{day_dir}: file name {entry.name!r} needs escaping; refusing to sign the day")
            names.append(entry.name)
    return sorted(names, key=os.fsencode)


def manifest_bytes(hashes: dict[str, str]) -> bytes:
    """`sha256sum` output for hashes (name -> hex), sorted by name."""
    return b"".join(
        hashes[name].encode() + b"  " + os.fsencode(name) + b"\n" for name in sorted(hashes, key=os.fsencode)
    )


def build_manifest(day_dir: Path) -> bytes:
    """The manifest of a day directory: a streaming SHA-256 of every file, in `sha256sum` format."""
    return manifest_bytes({name: hash_file(day_dir / name) for name in log_files(day_dir)})


MANIFEST_LINE = re.compile(rb"^([0-9a-f]{64}) [ *](.+)$")


def parse_manifest(data: bytes) -> tuple[dict[str, str], list[str]]:
    """(name -> hex, problems) of a manifest."""
    hashes: dict[str, str] = {}
    problems = []
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if not line and lineno == data.count(b"\n") + 1:
            break
        m = MANIFEST_LINE.match(line)
        name = os.fsdecode(m.group(2)) if m else ""
        if not m or "/" in name or name in (".", "..", MANIFEST, MANIFEST_TSR):
            problems.append(f"{MANIFEST} line {lineno} is malformed")
        elif name in hashes:
            problems.append(f"{MANIFEST} lists {name} twice")
        else:
            hashes[name] = m.group(1).decode()
    return hashes, problems


def write_atomic(path: Path, data: bytes, mode: int = 0o640) -> None:
    """Write via a temporary file in the same directory, fsync, rename, fsync the directory."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


# --------------------------------------------------------------------------- openssl and tokens
def openssl(*args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["openssl", *args], capture_output=True, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise Log5651Error("openssl not found; install the openssl package") from None


def openssl_error(res: subprocess.CompletedProcess) -> str:
    """The informative part of openssl's error output."""
    lines = [
        ln
        for ln in (res.stderr + res.stdout).decode(errors="replace").splitlines()
        if ln.strip() and not ln.startswith("Using configuration")
    ]
    for ln in lines:
        if "Verify error:" in ln:
            return ln.split("Verify error:", 1)[1].strip()
    for ln in lines:
        if ":error:" in ln:
            parts = ln.split(":")
            return parts[5] if len(parts) > 5 else ln
    return lines[-1] if lines else f"openssl exit {res.returncode}"


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    gen_time: datetime
    hash_algorithm: str  # hashlib name
    digest: bytes  # the message imprint
    serial: int


_OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
_OID_TST_INFO = bytes.fromhex("2a864886f70d0109100104")
_HASH_OIDS = {
    bytes.fromhex("608648016503040201"): "sha256",
    bytes.fromhex("608648016503040202"): "sha384",
    bytes.fromhex("608648016503040203"): "sha512",
    bytes.fromhex("2b0e03021a"): "sha1",
}


def _der_children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, content start, content end) of the DER elements in buf[start:end]."""
    out = []
    pos = start
    while pos < end:
        tag = buf[pos]
        if tag & 0x1F == 0x1F or pos + 2 > end:
            raise ValueError("unsupported tag")
        length = buf[pos + 1]
        pos += 2
        if length == 0x80:
            raise ValueError("indefinite length (BER)")
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(buf[pos : pos + n], "big")
            pos += n
        if pos + length > end:
            raise ValueError("truncated")
        out.append((tag, pos, pos + length))
        pos += length
    return out


def _der_one(buf: bytes, elem: tuple[int, int, int], tag: int) -> list[tuple[int, int, int]]:
    if elem[0] != tag:
        raise ValueError(f"expected tag {tag:#x}, found {elem[0]:#x}")
    return _der_children(buf, elem[1], elem[2])


def token_info(der: bytes) -> TokenInfo:
    """genTime, imprint and serial of a time-stamp reply (or bare token), read from its DER.
    Raises ValueError for anything that is not a DER-encoded RFC 3161 token."""
    (top,) = _der_children(der, 0, len(der))
    parts = _der_one(der, top, 0x30)
    if parts and parts[0][0] == 0x30:  # TimeStampResp: status, then the token
        if len(parts) < 2:
            raise ValueError("reply without a token")
        parts = _der_one(der, parts[1], 0x30)
    if der[parts[0][1] : parts[0][2]] != _OID_SIGNED_DATA:
        raise ValueError("not CMS SignedData")
    (signed_data,) = _der_one(der, parts[1], 0xA0)
    sd = _der_one(der, signed_data, 0x30)
    encap = _der_one(der, sd[2], 0x30)
    if der[encap[0][1] : encap[0][2]] != _OID_TST_INFO:
        raise ValueError("not a TSTInfo")
    (octets,) = _der_one(der, encap[1], 0xA0)
    if octets[0] != 0x04:
        raise ValueError("TSTInfo is not in an OCTET STRING")
    (tst,) = _der_children(der, octets[1], octets[2])
    tst_parts = _der_one(der, tst, 0x30)
    imprint = _der_one(der, tst_parts[2], 0x30)
    alg = _der_one(der, imprint[0], 0x30)
    gen = tst_parts[4]
    if gen[0] != 0x18:
        raise ValueError("genTime is not a GeneralizedTime")
    m = re.fullmatch(r"(\d{14})(?:\.(\d{1,6})\d*)?Z", der[gen[1] : gen[2]].decode("ascii"))
    if not m:
        raise ValueError("malformed genTime")
    gen_time = datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(
        tzinfo=UTC, microsecond=int((m.group(2) or "0").ljust(6, "0"))
    )
    return TokenInfo(
        gen_time=gen_time,
        hash_algorithm=_HASH_OIDS.get(der[alg[0][1] : alg[0][2]], "unknown"),
        digest=der[imprint[1][1] : imprint[1][2]],
        serial=int.from_bytes(der[tst_parts[3][1] : tst_parts[3][2]], "big"),
    )


MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_GEN_TIME_TEXT = re.compile(
    r"^Time stamp: (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? (\d{4}) GMT\s*$", re.MULTILINE
)


def parse_reply_text(text: str) -> dict:
    """Status, genTime and serial from `openssl ts -reply -in X -text` (locale-independent)."""
    status = re.search(r"^Status: (.*?)\.?\s*$", text, re.MULTILINE)
    out = {"status": status.group(1) if status else "", "gen_time": None, "serial": None}
    for key, pattern in (("description", r"^Status description: (.*)$"), ("failure", r"^Failure info: (.*)$")):
        m = re.search(pattern, text, re.MULTILINE)
        out[key] = m.group(1).strip() if m else ""
    m = _GEN_TIME_TEXT.search(text)
    if m and m.group(1) in MONTHS:
        micro = int((m.group(6) or "0")[:6].ljust(6, "0"))
        out["gen_time"] = datetime(
            int(m.group(7)),
            MONTHS[m.group(1)],
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            micro,
            tzinfo=UTC,
        )
    m = re.search(r"^Serial number: (0x[0-9A-Fa-f]+|\d+)", text, re.MULTILINE)
    if m:
        out["serial"] = int(m.group(1), 0)
    return out


def reply_text(tsr: Path) -> dict:
    res = openssl("ts", "-reply", "-in", str(tsr), "-text")
    if res.returncode != 0:
        raise ValueError(openssl_error(res))
    return parse_reply_text(res.stdout.decode(errors="replace"))


def gen_time_of(tsr: Path) -> datetime:
    """genTime of a stored reply: from its DER, or from openssl's text for encodings we do not read."""
    try:
        return token_info(tsr.read_bytes()).gen_time
    except ValueError:
        gen = reply_text(tsr)["gen_time"]
        if gen is None:
            raise ValueError("no genTime in the token") from None
        return gen


def check_token(manifest: Path, token: Path, ca_file: Path) -> list[str]:
    """Problems of a token against its manifest and the trusted CA (empty: it verifies)."""
    res = openssl("ts", "-verify", "-data", str(manifest), "-in", str(token), "-CAfile", str(ca_file))
    if res.returncode == 0 and b"Verification: OK" in res.stdout:
        return []
    error = openssl_error(res)
    try:
        info = token_info(token.read_bytes())
    except (ValueError, OSError):
        info = None
    if "imprint mismatch" in error or (
        info and info.hash_algorithm != "unknown" and hash_file(manifest, info.hash_algorithm) != info.digest.hex()
    ):
        return ["token does not match the manifest (message imprint mismatch)"]
    if "certificate" in error or "signature" in error or "Verify error" in error or "self-signed" in error:
        return [f"token not signed by the trusted TSA ({error})"]
    if info is None:
        return [f"token unreadable ({error})"]
    return [f"token verification failed ({error})"]


# --------------------------------------------------------------------------- TSA client
def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


KAMUSM_ITERATIONS = 100


def kamusm_identity(customer: int, password: str, digest: bytes, salt: bytes | None = None) -> str:
    """The `identity` header that Kamu SM's time-stamp service (TÜBİTAK BİLGEM) asks of its customers.

    As publicly described for its clients: DER of SEQUENCE { customer INTEGER, salt OCTET STRING (16),
    iterations INTEGER (100), iv OCTET STRING (the salt again), encrypted OCTET STRING }, where the
    encrypted part is the query's message imprint (the digest) under AES-256-CBC with PKCS#7 padding
    and a key PBKDF2-HMAC-SHA256(password, salt, 100) derives; sent as hexadecimal. A fresh salt per
    query keeps a captured header from being replayed. openssl does the AES (no third-party module)."""
    salt = salt if salt is not None else os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, KAMUSM_ITERATIONS, 32)
    res = subprocess.run(
        ["openssl", "enc", "-aes-256-cbc", "-K", key.hex(), "-iv", salt.hex()],
        input=digest,
        capture_output=True,
        check=False,
    )
    if res.returncode != 0:
        raise Log5651Error(f"openssl could not encrypt the Kamu SM identity: {res.stderr.decode(errors='replace')}")
    body = (
        _der_int(customer) + _der(0x04, salt) + _der_int(KAMUSM_ITERATIONS) + _der(0x04, salt) + _der(0x04, res.stdout)
    )
    return _der(0x30, body).hex()


def post_query(tsa: TSAConfig, query: bytes, digest: bytes | None = None) -> bytes:
    """POST an RFC 3161 query; TSAError (one line) for anything but an HTTP 200 reply.
    digest (the query's message imprint) is needed by auth kamusm."""
    headers = {
        "Content-Type": "application/timestamp-query",
        "Accept": "application/timestamp-reply",
        "User-Agent": f"log5651/{VERSION}",
        **tsa.headers,
    }
    if tsa.username:
        try:
            secret = tsa.password_file.read_text().rstrip("\r\n")  # type: ignore[union-attr]
        except OSError as exc:
            raise UsageError(f"cannot read tsa.password_file {tsa.password_file}: {exc.strerror}") from None
        if tsa.auth == "kamusm":
            if digest is None:
                raise Log5651Error("auth kamusm needs the query's message imprint")
            headers["identity"] = kamusm_identity(int(tsa.username), secret, digest)
        else:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{tsa.username}:{secret}".encode()).decode()
    handlers: list = [urllib.request.ProxyHandler({"http": tsa.proxy, "https": tsa.proxy} if tsa.proxy else {})]
    if tsa.url.startswith("https:"):
        try:
            ctx = ssl.create_default_context(cafile=str(tsa.tls_ca_file) if tsa.tls_ca_file else None)
            if tsa.client_cert:
                ctx.load_cert_chain(str(tsa.client_cert), str(tsa.client_key) if tsa.client_key else None)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"TLS settings of the TSA (tsa.client_cert, tsa.tls_ca_file): {exc}") from None
        handlers.append(urllib.request.HTTPSHandler(context=ctx))
    # the scheme is checked to be http or https when the config is loaded
    request = urllib.request.Request(tsa.url, data=query, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=tsa.timeout) as resp:
            body = resp.read(MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise TSAError(f"TSA {tsa.url} refused the query: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise TSAError(f"TSA {tsa.url} unreachable: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise TSAError(f"TSA {tsa.url} unreachable: {exc or type(exc).__name__}") from None
    if not body or len(body) > MAX_REPLY_BYTES:
        raise TSAError(f"TSA {tsa.url} sent an empty or oversized reply ({len(body)} bytes)")
    return body


# --------------------------------------------------------------------------- locking, protection, records
@contextlib.contextmanager
def locked(path: Path, exclusive: bool, wait: float) -> Iterator[None]:
    """flock on path: exclusive for sign and prune, shared for export."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    except OSError as exc:
        raise Log5651Error(f"lock file {path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(f"another log5651 run holds the lock {path}; try again later") from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


class Immutable:
    """chattr +i / -i. Without CAP_LINUX_IMMUTABLE (containers) or on a file system without the flag
    the files stay 0440 only; that is reported once per run at info level and is not an error."""

    def __init__(self, alerts: Alerts) -> None:
        self.alerts = alerts
        self.reported = False

    def set(self, paths: list[Path], on: bool) -> bool:
        if not paths:
            return True
        try:
            res = subprocess.run(
                ["chattr", "+i" if on else "-i", *map(str, paths)], capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            reason = "chattr not found (install e2fsprogs)"
        else:
            if res.returncode == 0:
                return True
            lines = res.stderr.strip().splitlines()
            reason = lines[0] if lines else f"chattr exit {res.returncode}"
        if not self.reported:
            self.reported = True
            msg = f"immutable flag not {'set' if on else 'cleared'}: {reason}; files are protected by mode 0440 only"
            print(f"note: {msg}")
            self.alerts.info(msg)
        return False


def run_user() -> str:
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = str(os.geteuid())
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (sudo to {user})" if sudo and sudo != user else user


def append_record(cfg: Config, action: str, **fields) -> dict:
    """One JSON line in records_file: what was pruned, refused or exported, when and by whom."""
    record = {
        "time": iso_utc(datetime.now(UTC)),
        "action": action,
        "user": run_user(),
        "host": socket.gethostname(),
        "tool": f"log5651 {VERSION}",
        **fields,
    }
    line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        cfg.records_file.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        fd = os.open(cfg.records_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise Log5651Error(f"cannot write the records file {cfg.records_file}: {exc.strerror}") from None
    return record


# --------------------------------------------------------------------------- sign
def resolve_group(cfg: Config) -> int | None:
    if not cfg.group:
        return None
    try:
        return grp.getgrnam(cfg.group).gr_gid
    except KeyError:
        raise UsageError(f"config {cfg.path}: group {cfg.group!r} does not exist") from None


def protect(day: Day, names: list[str], gid: int | None, immutable: Immutable | None) -> None:
    """Files, manifest and token 0440 with the configured group; immutable (with the directory) if asked."""
    paths = [day.path / n for n in (*names, MANIFEST, MANIFEST_TSR)]
    for p in paths:
        if gid is not None and p.stat().st_gid != gid:
            os.chown(p, -1, gid)
        os.chmod(p, 0o440)
    if immutable:
        immutable.set([*paths, day.path], on=True)


def sign_day(cfg: Config, day: Day, gid: int | None, immutable: Immutable | None) -> dict:
    """Manifest, time stamp, checks, then store: the day directory is not touched before the TSA's
    reply has verified, so a TSA outage leaves it exactly as it was."""
    for entry in day.path.iterdir():  # leftovers of an interrupted run
        if entry.name.startswith(TMP_PREFIX) and entry.is_file():
            entry.unlink()
    names = log_files(day.path)
    hashes = {name: hash_file(day.path / name) for name in names}
    manifest = manifest_bytes(hashes)
    with tempfile.TemporaryDirectory(prefix="log5651-") as tmp:
        m, q, r = Path(tmp) / MANIFEST, Path(tmp) / "query.tsq", Path(tmp) / "reply.tsr"
        m.write_bytes(manifest)
        args = ["ts", "-query", "-data", str(m), "-sha256", "-cert", "-out", str(q)]
        res = openssl(*args, *(["-tspolicy", cfg.tsa.policy] if cfg.tsa.policy else []))
        if res.returncode != 0:
            raise Log5651Error(f"{day.label}: openssl could not build the query: {openssl_error(res)}")
        reply = post_query(cfg.tsa, q.read_bytes(), hashlib.sha256(manifest).digest())
        r.write_bytes(reply)
        try:
            info = reply_text(r)
        except ValueError as exc:
            raise TSAError(f"TSA {cfg.tsa.url} sent a reply that is not RFC 3161 for {day.label}: {exc}") from None
        if info["status"] not in ("Granted", "Granted with modifications"):
            detail = "; ".join(x for x in (info["description"], info["failure"]) if x and x != "unspecified")
            raise TSAError(f"TSA {cfg.tsa.url} refused {day.label}: status {info['status'] or '?'} ({detail})")
        res = openssl("ts", "-verify", "-queryfile", str(q), "-in", str(r), "-CAfile", str(cfg.tsa.ca_file))
        if res.returncode != 0:
            raise TSAError(
                f"reply of TSA {cfg.tsa.url} for {day.label} does not verify against {cfg.tsa.ca_file}: "
                f"{openssl_error(res)}"
            )
        if info["gen_time"] is None:
            raise TSAError(f"reply of TSA {cfg.tsa.url} for {day.label} has no readable genTime")
        write_atomic(day.path / MANIFEST, manifest)
        write_atomic(day.path / MANIFEST_TSR, reply)
    protect(day, names, gid, immutable)
    return {"files": len(names), "gen_time": info["gen_time"], "serial": info["serial"]}


def cmd_sign(cfg: Config, args: argparse.Namespace, alerts: Alerts) -> int:
    now = parse_when(args.now, "--now") if args.now else datetime.now().astimezone()
    with locked(cfg.lock_file, exclusive=True, wait=args.lock_wait):
        queue = [
            d for d in list_days(cfg) if d.is_closed(now, cfg.grace_minutes) and not d.is_signed() and d.has_logs()
        ]
        gid = resolve_group(cfg) if queue else None
        immutable = Immutable(alerts) if cfg.immutable else None
        rc, signed = EXIT_OK, 0
        for i, day in enumerate(queue):
            try:
                info = sign_day(cfg, day, gid, immutable)
            except TSAError as exc:
                left = len(queue) - i
                alerts.crit(f"{exc}; {day.label} stays unsigned ({left} day{'s' * (left != 1)} queued)")
                return EXIT_TSA
            except (Log5651Error, OSError) as exc:
                alerts.crit(f"sign {day.label}: {describe(exc)}")
                rc = EXIT_IO
                continue
            signed += 1
            serial = f", TSA serial {info['serial']:#x}" if info["serial"] is not None else ""
            line = f"signed {day.label}: {plural(info['files'], 'file')}, genTime {iso_utc(info['gen_time'])}{serial}"
            print(line, flush=True)
            alerts.info(line)
    if not queue:
        print("nothing to sign")
    return rc


# --------------------------------------------------------------------------- verify
@dataclasses.dataclass
class DayReport:
    day: Day
    status: str  # ok, failed, unsigned, open, empty
    problems: list[tuple[str | None, str]] = dataclasses.field(default_factory=list)
    gen_time: datetime | None = None
    hashes: dict[str, str] = dataclasses.field(default_factory=dict)
    manifest_sha256: str = ""
    overdue: bool = False

    def lines(self) -> list[str]:
        label = self.day.label
        if self.status == "ok":
            return [f"OK {label}: {plural(len(self.hashes), 'file')}, genTime {iso_utc(self.gen_time)}"]  # type: ignore[arg-type]
        if self.status == "failed":
            return [f"FAIL {label}: {problem_text(f, p)}" for f, p in self.problems]
        if self.status == "unsigned":
            return [f"UNSIGNED {label}: unsigned (queued){', overdue' if self.overdue else ''}"]
        return [f"{self.status.upper()} {label}: {'still being written' if self.status == 'open' else 'no files'}"]

    def to_json(self) -> dict:
        return {
            "class": self.day.cls,
            "day": self.day.day.isoformat(),
            "status": self.status,
            "problems": [{"file": f, "problem": p} for f, p in self.problems],
            "gen_time": iso_utc(self.gen_time) if self.gen_time else None,
            "overdue": self.overdue,
        }


def problem_text(file: str | None, problem: str) -> str:
    if problem == "extra":
        return f"extra file {file} not in the manifest"
    return f"{file}: {problem}" if file else problem


def verify_day(cfg: Config, day: Day, now: datetime) -> DayReport:
    """Check one class-day: token against the trusted CA and the manifest, genTime after the day's
    end, every listed file present with its hash, nothing unlisted. Problems name the file."""
    token, manifest = day.path / MANIFEST_TSR, day.path / MANIFEST
    if not token.exists():
        if not day.has_logs():
            return DayReport(day, "empty")
        if not day.is_closed(now, cfg.grace_minutes):
            return DayReport(day, "open")
        overdue = now >= day_end(day.day) + timedelta(days=cfg.backlog_alert_days)
        return DayReport(day, "unsigned", overdue=overdue)
    report = DayReport(day, "failed")
    problems = report.problems
    try:
        data = manifest.read_bytes()
    except FileNotFoundError:
        problems.append((MANIFEST, "missing (the token has nothing to prove)"))
        data = None
    if data is not None:
        report.manifest_sha256 = hashlib.sha256(data).hexdigest()
        problems.extend((None, p) for p in check_token(manifest, token, cfg.tsa.ca_file))
        try:
            report.gen_time = gen_time_of(token)
        except (ValueError, OSError) as exc:
            if not problems:
                problems.append((MANIFEST_TSR, f"genTime unreadable ({exc})"))
        if report.gen_time and report.gen_time < day_end(day.day):
            problems.append(
                (
                    None,
                    f"token genTime {iso_utc(report.gen_time)} is earlier than the end of the day "
                    f"({day_end(day.day).isoformat()})",
                )
            )
        listed, manifest_problems = parse_manifest(data)
        problems.extend((None, p) for p in manifest_problems)
    else:
        listed = {}
    present = {}
    with os.scandir(day.path) as it:
        for entry in it:
            if entry.name not in (MANIFEST, MANIFEST_TSR):
                present[entry.name] = entry.is_file(follow_symlinks=False)
    for name, expected in listed.items():
        if name not in present:
            problems.append((name, "missing"))
        elif not present[name]:
            problems.append((name, "not a regular file"))
        else:
            try:
                actual = hash_file(day.path / name)
            except OSError as exc:
                problems.append((name, f"unreadable ({exc.strerror})"))
                continue
            if actual != expected:
                problems.append((name, "hash mismatch"))
            report.hashes[name] = actual
    problems.extend((name, "extra") for name in sorted(set(present) - set(listed)))
    if not problems:
        report.status = "ok"
    return report


def verify_days(cfg: Config, days: list[Day], now: datetime, jobs: int) -> list[DayReport]:
    """verify_day over many days; openssl and hashing release the GIL, so threads scale."""
    if jobs <= 1 or len(days) <= 1:
        return [verify_day(cfg, d, now) for d in days]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda d: verify_day(cfg, d, now), days))


def cmd_verify(cfg: Config, args: argparse.Namespace, alerts: Alerts) -> int:
    now = parse_when(args.now, "--now") if args.now else datetime.now().astimezone()
    first = parse_day(args.from_day, "--from") if args.from_day else None
    last = parse_day(args.to_day, "--to") if args.to_day else None
    classes = check_classes(cfg, args.cls)
    reports = verify_days(cfg, list_days(cfg, classes, first, last), now, args.jobs)
    counts = {s: sum(r.status == s for r in reports) for s in ("ok", "failed", "unsigned", "open", "empty")}
    overdue = [r for r in reports if r.overdue]
    for r in reports:
        if r.status == "failed":
            alerts.crit(f"verification failed {r.day.label}: " + "; ".join(problem_text(f, p) for f, p in r.problems))
    if overdue:
        alerts.crit(
            f"unsigned days older than {cfg.backlog_alert_days} days: " + ", ".join(r.day.label for r in overdue)
        )
    if args.json:
        json.dump([r.to_json() for r in reports], sys.stdout, indent=1)
        print()
    else:
        for r in reports:
            if not (args.quiet and r.status in ("ok", "open", "empty")):
                for line in r.lines():
                    print(line)
        print(f"{counts['ok']} days verified, {counts['failed']} failed, {counts['unsigned']} unsigned")
    alerts.info(f"verify: {counts['ok']} days verified, {counts['failed']} failed, {counts['unsigned']} unsigned")
    if counts["failed"]:
        return EXIT_FAILED
    return EXIT_BACKLOG if overdue else EXIT_OK


# --------------------------------------------------------------------------- prune
def delete_day(day: Day, immutable: Immutable) -> None:
    entries = sorted(day.path.iterdir())
    immutable.set([*entries, day.path], on=False)
    for entry in entries:
        entry.unlink()
    day.path.rmdir()


def cmd_prune(cfg: Config, args: argparse.Namespace, alerts: Alerts) -> int:
    now = parse_when(args.now, "--now") if args.now else datetime.now().astimezone()
    rc = EXIT_OK
    pruned = 0
    with locked(cfg.lock_file, exclusive=True, wait=args.lock_wait):
        immutable = Immutable(alerts)
        for day in list_days(cfg):
            retention = cfg.classes[day.cls]
            # kept for retention_days full days after the day ended
            if now < local_midnight(day.day + timedelta(days=retention + 1)):
                continue
            report = verify_day(cfg, day, now)
            if report.status == "empty":
                if not args.dry_run:
                    delete_day(day, immutable)
                    append_record(cfg, "prune-empty", **{"class": day.cls, "day": day.day.isoformat()})
                continue
            if report.status != "ok":
                why = "; ".join(problem_text(f, p) for f, p in report.problems) or f"{report.status} (no token)"
                alerts.crit(f"prune refused {day.label} (older than {retention} days): it does not verify: {why}")
                if not args.dry_run:
                    append_record(
                        cfg,
                        "prune-refused",
                        **{"class": day.cls, "day": day.day.isoformat()},
                        status=report.status,
                        problems=[problem_text(f, p) for f, p in report.problems],
                    )
                rc = EXIT_FAILED
                continue
            if args.dry_run:
                print(f"would prune {day.label}: {plural(len(report.hashes), 'file')}, retention {retention} days")
                continue
            fields = {
                "class": day.cls,
                "day": day.day.isoformat(),
                "retention_days": retention,
                "files": report.hashes,
                "manifest_sha256": report.manifest_sha256,
                "token_gen_time": iso_utc(report.gen_time),
            }  # type: ignore[arg-type]
            try:
                delete_day(day, immutable)
            except OSError as exc:
                alerts.crit(f"prune {day.label} failed: {describe(exc)}")
                append_record(cfg, "prune-failed", error=describe(exc), **fields)
                rc = EXIT_IO
                continue
            append_record(cfg, "prune", **fields)
            pruned += 1
            line = f"pruned {day.label}: {plural(len(report.hashes), 'file')}, retention {retention} days"
            print(line)
            alerts.info(line)
    if not pruned and not args.dry_run and rc == EXIT_OK:
        print("nothing to prune")
    return rc


# --------------------------------------------------------------------------- export
_HEX = rb"[0-9A-Fa-f]"
_MAC_RUN = re.compile(
    rb"(?<![0-9A-Fa-f])(?<![0-9A-Fa-f][:-])" + _HEX + rb"{2}(?:[:-]" + _HEX + rb"{2}){5,}"
    rb"(?![0-9A-Fa-f])(?![:-][0-9A-Fa-f])"
)
_MAC_DOTTED = re.compile(
    rb"(?<![0-9A-Fa-f.])(" + _HEX + rb"{4})\.(" + _HEX + rb"{4})\.(" + _HEX + rb"{4})(?![0-9A-Fa-f]|\.[0-9A-Fa-f])"
)
_MAC_BARE = re.compile(rb"(?<![0-9A-Fa-f])" + _HEX + rb"{12}(?![0-9A-Fa-f])")
_IPV4_RUN = re.compile(rb"[0-9.]+")
_IPV6_RUN = re.compile(rb"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


def normalise_mac(text: str) -> str:
    """12 lowercase hex digits of a MAC written with ':', '-', '.' or no separators."""
    digits = re.sub(r"[:.-]", "", text).lower()
    if not re.fullmatch(r"[0-9a-f]{12}", digits):
        raise UsageError(f"--mac {text!r} is not a MAC address such as aa:bb:cc:dd:ee:ff")
    return digits


def macs_in(line: bytes) -> set[str]:
    """MAC addresses in a line: aa:bb:.., AA-BB-.., aabb.ccdd.eeff, aabbccddeeff, and Kea's forms:
    hwtype=1 aa:bb:.., client-id 01:aa:bb:.., DUID-LL 00:03:00:01:aa:.. and DUID-LLT 00:01:00:01:<time>:aa:..."""
    found = set()
    for m in _MAC_RUN.finditer(line):
        octets = re.split(rb"[:-]", m.group(0).lower())
        if len(octets) == 6:
            found.add(b"".join(octets).decode())
        elif len(octets) == 7 and octets[0] == b"01":
            found.add(b"".join(octets[1:]).decode())
        elif len(octets) == 10 and octets[:4] == [b"00", b"03", b"00", b"01"]:
            found.add(b"".join(octets[4:]).decode())
        elif len(octets) == 14 and octets[:4] == [b"00", b"01", b"00", b"01"]:
            found.add(b"".join(octets[8:]).decode())
    for m in _MAC_DOTTED.finditer(line):
        found.add(b"".join(m.groups()).lower().decode())
    for m in _MAC_BARE.finditer(line):
        found.add(m.group(0).lower().decode())
    return found


class Selector:
    """Which lines a request asks for: an IP address as a whole address, and/or a MAC in any form."""

    def __init__(self, ip: str | None, mac: str | None) -> None:
        if not ip and not mac:
            raise UsageError("export needs --ip or --mac (or both): a request names whom it concerns")
        try:
            self.ip = ipaddress.ip_address(ip) if ip else None
        except ValueError:
            raise UsageError(f"--ip {ip!r} is not an IP address") from None
        self.mac = normalise_mac(mac) if mac else None
        self._ip4 = str(self.ip).encode() if self.ip and self.ip.version == 4 else None

    def _ip_in(self, line: bytes) -> bool:
        if self._ip4 is not None:
            if self._ip4 not in line:
                return False
            return any(m.group(0).strip(b".") == self._ip4 for m in _IPV4_RUN.finditer(line))
        for m in _IPV6_RUN.finditer(line):
            try:
                candidate = ipaddress.ip_address(m.group(0).strip(b".:").decode())
            except ValueError:
                try:
                    candidate = ipaddress.ip_address(m.group(0).decode())
                except ValueError:
                    continue
            if candidate == self.ip:
                return True
        return False

    def matches(self, line: bytes) -> bool:
        return bool((self.ip and self._ip_in(line)) or (self.mac and self.mac in macs_in(line)))

    def to_json(self) -> dict:
        return {
            "ip": str(self.ip) if self.ip else None,
            "mac": self.mac and ":".join(self.mac[i : i + 2] for i in range(0, 12, 2)),
        }


def line_time(line: bytes) -> datetime | None:
    """The leading RFC 3339 timestamp of an RSYSLOG_FileFormat line."""
    head = line.split(b" ", 1)[0]
    try:
        value = datetime.fromisoformat(head.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if value.tzinfo else value.astimezone()


README_TEMPLATE = """\
5651 KAYIT TESLİM PAKETİ / LAW 5651 LOG EXPORT BUNDLE
==================================================

Türkçe
------
Bu paket {host} log sunucusundan log5651 {version} ile {created} tarihinde hazırlanmıştır.
Talep eden: {requester}
Gerekçe: {reason}
Aralık: {start} - {end}   Seçici: {selector}

İçerik:
  matches.log        istenen aralıkta ve seçiciye uyan satırlar (orijinal satırların birebir kopyası)
  days/SINIF/GÜN/    bu satırları içeren günlerin orijinal log dosyaları, MANIFEST.sha256 (SHA-256
                     özetleri) ve MANIFEST.sha256.tsr (RFC 3161 zaman damgası)
  tsa-ca.pem         zaman damgası otoritesinin (TSA) kök sertifikası
  export.json        talep bilgileri ve her dosyanın SHA-256 özeti

Doğrulama (yalnızca openssl ve sha256sum gerekir), her gün dizini için:
  cd days/SINIF/GÜN
  openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr -CAfile ../../../tsa-ca.pem
      -> "Verification: OK": özet listesi, damgada yazan zamanda vardı ve değişmedi
  sha256sum -c {sha_flags}MANIFEST.sha256
      -> her dosya için "OK": log dosyaları özet listesiyle aynı
  openssl ts -reply -in MANIFEST.sha256.tsr -text
      -> "Time stamp:" satırı damganın zamanıdır (UTC)
tsa-ca.pem dosyasının SHA-256 parmak izini TSA'nın yayımladığı değerle karşılaştırın:
  openssl x509 -in tsa-ca.pem -noout -fingerprint -sha256
  beklenen: {fingerprint}
matches.log içindeki her satır days/ altındaki bir dosyada aynen bulunur; export.json "sources"
alanı dosyayı ve satır numaralarını verir (ör. sed -n '12p' days/SINIF/GÜN/DOSYA).

English
-------
This bundle was made on log server {host} by log5651 {version} at {created}.
Requester: {requester}
Reason: {reason}
Range: {start} - {end}   Selector: {selector}

Contents:
  matches.log        the lines in the requested range that match the selector (verbatim copies)
  days/CLASS/DAY/    the original log files of every day that contributed lines, with
                     MANIFEST.sha256 (SHA-256 digests) and MANIFEST.sha256.tsr (RFC 3161 time stamp)
  tsa-ca.pem         the root certificate of the time-stamp authority (TSA)
  export.json        the request and the SHA-256 digest of every file

Verification (needs only openssl and sha256sum), for each day directory:
  cd days/CLASS/DAY
  openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr -CAfile ../../../tsa-ca.pem
      -> "Verification: OK": the digest list existed at the stamped time and is unchanged
  sha256sum -c {sha_flags}MANIFEST.sha256
      -> "OK" for every file: the log files are the ones the digest list names
  openssl ts -reply -in MANIFEST.sha256.tsr -text
      -> the "Time stamp:" line is when the day was signed (UTC)
Compare the SHA-256 fingerprint of tsa-ca.pem with the one the TSA publishes:
  openssl x509 -in tsa-ca.pem -noout -fingerprint -sha256
  expected: {fingerprint}
Every line of matches.log is found verbatim in a file under days/; the "sources" field of export.json
names the file and the line numbers (e.g. sed -n '12p' days/CLASS/DAY/FILE).
"""


def pem_fingerprint(pem: bytes) -> str:
    m = re.search(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", pem, re.DOTALL)
    if not m:
        raise UsageError("tsa.ca_file holds no PEM certificate")
    digest = hashlib.sha256(base64.b64decode(b"".join(m.group(1).split()))).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


@dataclasses.dataclass
class Matches:
    """Lines that matched, spooled to a file; the index (time, order, offset, length) stays in memory."""

    spool: Path
    index: list[tuple[datetime, int, int, int]] = dataclasses.field(default_factory=list)
    sources: dict[tuple[Day, str], list[int]] = dataclasses.field(default_factory=dict)  # -> line numbers

    def days(self) -> list[Day]:
        return sorted({day for day, _ in self.sources})

    def write_sorted(self, out: Path) -> None:
        """The lines in time order (ties: in the order found), verbatim."""
        with open(self.spool, "rb") as spool, open(out, "wb") as f:
            for _when, _order, offset, length in sorted(self.index):
                spool.seek(offset)
                f.write(spool.read(length))


def scan_matches(days: list[Day], selector: Selector, start: datetime, end: datetime, spool: Path) -> Matches:
    """Stream every file of the days; keep the lines the selector matches whose own time is in range."""
    found = Matches(spool)
    with open(spool, "wb") as out:
        for day in days:
            for name in sorted(p.name for p in day.path.iterdir() if p.name not in (MANIFEST, MANIFEST_TSR)):
                with open(day.path / name, "rb") as f:
                    for lineno, line in enumerate(f, 1):
                        if not selector.matches(line):
                            continue
                        when = line_time(line)
                        if when is None or not start <= when <= end:
                            continue
                        data = line if line.endswith(b"\n") else line + b"\n"
                        found.index.append((when, len(found.index), out.tell(), len(data)))
                        out.write(data)
                        found.sources.setdefault((day, name), []).append(lineno)
    return found


class _HashingReader(io.RawIOBase):
    """Hashes what tarfile reads from a file, so export.json states what went into the bundle."""

    def __init__(self, f) -> None:
        self.f, self.h = f, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.h.update(data)
        return data


class Bundle:
    """A deterministic tar.gz: members added in name order, owner 0:0, time 0, modes 0640/0750,
    gzip without a name or time stamp. Remembers the SHA-256 of every file member."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.hashes: dict[str, str] = {}

    @staticmethod
    @contextlib.contextmanager
    def create(raw) -> Iterator[Bundle]:
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
        ):
            yield Bundle(tar)

    @staticmethod
    def _info(name: str, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.uid, info.gid, info.uname, info.gname = size, 0, 0, 0, "", ""
        info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
        info.mode = 0o750 if directory else 0o640
        return info

    def add_dir(self, name: str) -> None:
        self.tar.addfile(self._info(name, directory=True))

    def add_bytes(self, name: str, data: bytes) -> None:
        self.tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self.hashes[name] = hashlib.sha256(data).hexdigest()

    def add_file(self, name: str, path: Path) -> str:
        """Stream a file into the bundle; returns the SHA-256 of what was written."""
        with open(path, "rb") as f:
            reader = _HashingReader(f)
            self.tar.addfile(self._info(name, os.fstat(f.fileno()).st_size), reader)
        self.hashes[name] = reader.h.hexdigest()
        return self.hashes[name]


def write_bundle(cfg: Config, args: argparse.Namespace, out: Path, matches: Matches, matches_log: Path,
                 request: dict) -> list[dict]:  # fmt: skip
    """Write the export bundle to out (via a temporary name, mode 0640); returns its day entries."""
    ca_pem = cfg.tsa.ca_file.read_bytes()
    fingerprint = pem_fingerprint(ca_pem)
    created = iso_utc(datetime.now(UTC))
    selector = ", ".join(f"{k}={v}" for k, v in request.items() if k in ("ip", "mac") and v)
    readme = README_TEMPLATE.format(
        host=socket.gethostname(), version=VERSION, created=created, requester=args.requester, reason=args.reason,
        start=request["from"], end=request["to"], selector=selector, fingerprint=fingerprint,
        sha_flags="--ignore-missing " if args.minimal else "",
    )  # fmt: skip
    day_entries = []
    tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    fd = os.open(tmp_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as raw:
            os.fchmod(raw.fileno(), 0o640)
            with Bundle.create(raw) as bundle:
                bundle.add_bytes("README.txt", readme.encode())
                bundle.add_dir("days")
                contributing = matches.days()
                for cls in sorted({d.cls for d in contributing}):
                    bundle.add_dir(f"days/{cls}")
                    for day in [d for d in contributing if d.cls == cls]:
                        base = f"days/{cls}/{day.day.isoformat()}"
                        bundle.add_dir(base)
                        listed, _ = parse_manifest((day.path / MANIFEST).read_bytes())
                        names = sorted({n for d, n in matches.sources if d == day}) if args.minimal else list(listed)
                        for name in sorted([*names, MANIFEST, MANIFEST_TSR], key=os.fsencode):
                            digest = bundle.add_file(f"{base}/{name}", day.path / name)
                            if name in listed and digest != listed[name]:
                                raise Log5651Error(f"export aborted: {day.label}/{name} changed while it was exported")
                        day_entries.append({"class": cls, "day": day.day.isoformat(),
                                            "gen_time": iso_utc(gen_time_of(day.path / MANIFEST_TSR)),
                                            "manifest_sha256": bundle.hashes[f"{base}/{MANIFEST}"]})  # fmt: skip
                bundle.add_file("matches.log", matches_log)
                bundle.add_bytes("tsa-ca.pem", ca_pem)
                meta = {
                    "tool": "log5651", "version": VERSION, "created": created, "host": socket.gethostname(),
                    "user": run_user(), "requester": args.requester, "reason": args.reason, "request": request,
                    "matched_lines": len(matches.index), "tsa_ca_sha256_fingerprint": fingerprint,
                    "minimal": bool(args.minimal), "days": day_entries,
                    "sources": [{"class": d.cls, "day": d.day.isoformat(), "file": n, "lines": lines}
                                for (d, n), lines in sorted(matches.sources.items())],
                    "files": dict(sorted(bundle.hashes.items())),
                }  # fmt: skip
                # export.json comes last, out of name order: it lists the digests of every other member
                bundle.add_bytes(
                    "export.json", (json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
                )
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp_out, out)
    except BaseException:
        tmp_out.unlink(missing_ok=True)
        raise
    return day_entries


def cmd_export(cfg: Config, args: argparse.Namespace, alerts: Alerts) -> int:
    start, end = parse_when(args.from_time, "--from"), parse_when(args.to_time, "--to")
    if end < start:
        raise UsageError("--to is earlier than --from")
    if not args.requester.strip() or not args.reason.strip():
        raise UsageError("--requester and --reason must not be empty")
    selector = Selector(args.ip, args.mac)
    classes = check_classes(cfg, args.cls)
    out = Path(args.out)
    if out.exists():
        raise UsageError(f"{out} exists; an export never overwrites a bundle")
    if not out.parent.is_dir():
        raise UsageError(f"directory {out.parent} does not exist")
    request = {"from": start.isoformat(), "to": end.isoformat(), **selector.to_json(), "classes": classes}
    margin = timedelta(days=args.margin_days)
    with (
        locked(cfg.lock_file, exclusive=False, wait=args.lock_wait),
        tempfile.TemporaryDirectory(prefix="log5651-export-") as tmp,
    ):
        days = list_days(cfg, classes, start.astimezone().date() - margin, end.astimezone().date() + margin)
        matches = scan_matches(days, selector, start, end, Path(tmp) / "spool")
        now = datetime.now().astimezone()
        for day in matches.days():  # only days that are signed and verify
            report = verify_day(cfg, day, now)
            if report.status != "ok":
                why = "; ".join(problem_text(f, p) for f, p in report.problems) or {
                    "open": "the day is still open; it can be exported once it is signed",
                }.get(report.status, "unsigned (queued)")
                append_record(cfg, "export-refused", requester=args.requester, reason=args.reason,
                              request=request, day=day.label, problem=why)  # fmt: skip
                raise RefusedError(f"export refused: {day.label} contributes lines but does not verify: {why}")
        matches_log = Path(tmp) / "matches.log"
        matches.write_sorted(matches_log)
        day_entries = write_bundle(cfg, args, out, matches, matches_log, request)
    bundle_sha = hash_file(out)
    append_record(cfg, "export", requester=args.requester, reason=args.reason, request=request,
                  days=[f"{d['class']}/{d['day']}" for d in day_entries], matched_lines=len(matches.index),
                  bundle=str(out.resolve()), bundle_sha256=bundle_sha)  # fmt: skip
    line = f"exported {plural(len(matches.index), 'line')} from {plural(len(day_entries), 'day')} to {out} "
    print(line + f"(sha256 {bundle_sha}) for {args.requester}")
    alerts.info(line + f"(sha256 {bundle_sha}) for {args.requester}")
    return EXIT_OK


# --------------------------------------------------------------------------- status
def disk_usage(path: Path) -> dict:
    """Like df: used / (used + available to unprivileged users), rounded up."""
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    percent = math.ceil(100 * used / (used + avail)) if used + avail else 0
    return {"percent": percent, "used_bytes": used, "available_bytes": avail, "total_bytes": st.f_blocks * st.f_frsize}


def cmd_status(cfg: Config, args: argparse.Namespace, alerts: Alerts) -> int:
    now = parse_when(args.now, "--now") if args.now else datetime.now().astimezone()
    days = list_days(cfg)
    per_class = {}
    backlog = []
    for cls in cfg.classes:
        mine = [d for d in days if d.cls == cls]
        signed = [d for d in mine if d.is_signed()]
        queued = [d for d in mine if not d.is_signed() and d.is_closed(now, cfg.grace_minutes) and d.has_logs()]
        for d in queued:
            overdue = now >= day_end(d.day) + timedelta(days=cfg.backlog_alert_days)
            backlog.append({"class": cls, "day": d.day.isoformat(), "overdue": overdue})
        per_class[cls] = {
            "days": len(mine),
            "oldest_day": mine[0].day.isoformat() if mine else None,
            "last_signed_day": signed[-1].day.isoformat() if signed else None,
            "unsigned": len(queued),
            "retention_days": cfg.classes[cls],
        }
    backlog.sort(key=lambda b: (b["day"], b["class"]))
    disk = {**disk_usage(cfg.root), "alert_percent": cfg.disk_alert_percent}
    alerts_out = []
    if disk["percent"] >= cfg.disk_alert_percent:
        alerts_out.append(
            f"disk almost full: {cfg.root} is {disk['percent']}% used (alert at {cfg.disk_alert_percent}%)"
        )
    overdue = [f"{b['class']}/{b['day']}" for b in backlog if b["overdue"]]
    if overdue:
        alerts_out.append(
            f"TSA signing backlog: {len(overdue)} closed days unsigned for more than "
            f"{cfg.backlog_alert_days} days (oldest {overdue[0]}); check the TSA and `log5651 sign`"
        )
    for a in alerts_out:
        alerts.crit(a)
    if args.json:
        json.dump(
            {"root": str(cfg.root), "disk": disk, "classes": per_class, "backlog": backlog, "alerts": alerts_out},
            sys.stdout,
            indent=1,
        )
        print()
    else:
        print(f"root {cfg.root}: {disk['percent']}% used (alert at {cfg.disk_alert_percent}%)")
        for cls, info in per_class.items():
            print(
                f"{cls}: {info['days']} days, oldest {info['oldest_day'] or '-'}, "
                f"last signed {info['last_signed_day'] or '-'}, {info['unsigned']} unsigned"
            )
        if backlog:
            print(
                "backlog: "
                + ", ".join(f"{b['class']}/{b['day']}{' (overdue)' if b['overdue'] else ''}" for b in backlog)
            )
        else:
            print("backlog: none")
    if disk["percent"] >= cfg.disk_alert_percent:
        return EXIT_DISK
    return EXIT_BACKLOG if overdue else EXIT_OK


# --------------------------------------------------------------------------- command line
def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="log5651",
        description="Law 5651 logs: daily RFC 3161 signing, verification, retention and export.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"log5651 {VERSION}")
    parser.add_argument("--config", help=f"JSON config (default: ${CONFIG_ENV} or {DEFAULT_CONFIG})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    now_help = "evaluate as if it were this ISO 8601 time (default: now; for tests and replays)"
    lock_help = "seconds to wait for another run's lock (default 60)"
    p = command("sign", cmd_sign, "time-stamp every closed, unsigned class-day, oldest first")
    p.add_argument("--now", help=now_help)
    p.add_argument("--lock-wait", type=float, default=60, help=lock_help)
    p = command("verify", cmd_verify, "verify signed class-days: token, manifest, every file, nothing extra")
    p.add_argument("--from", dest="from_day", metavar="DAY", help="first day (YYYY-MM-DD)")
    p.add_argument("--to", dest="to_day", metavar="DAY", help="last day (YYYY-MM-DD)")
    p.add_argument("--class", dest="cls", action="append", metavar="C", help="only this class (repeatable)")
    p.add_argument("--json", action="store_true", help="a JSON list of {class, day, status, problems}")
    p.add_argument("--quiet", "-q", action="store_true", help="print only problems and the summary")
    p.add_argument("--jobs", type=int, default=min(8, os.cpu_count() or 1), help="days verified in parallel")
    p.add_argument("--now", help=now_help)
    p = command("prune", cmd_prune, "delete class-days past retention that verify; refuse (and alert) others")
    p.add_argument("--now", help=now_help)
    p.add_argument("--dry-run", action="store_true", help="only print what would be pruned")
    p.add_argument("--lock-wait", type=float, default=60, help=lock_help)
    p = command("export", cmd_export, "bundle the lines of one IP/MAC in a time range with their signed days")
    p.add_argument("--from", dest="from_time", required=True, metavar="DATETIME", help="ISO 8601, inclusive")
    p.add_argument("--to", dest="to_time", required=True, metavar="DATETIME", help="ISO 8601, inclusive")
    p.add_argument("--ip", help="IPv4 or IPv6 address, matched as a whole address")
    p.add_argument("--mac", help="MAC address, any notation; also found in Kea client-id and DUID forms")
    p.add_argument("--class", dest="cls", nargs="+", action="extend", metavar="C", help="only these classes")
    p.add_argument("--out", required=True, metavar="BUNDLE.tar.gz", help="new file (never overwritten)")
    p.add_argument("--requester", required=True, help="who asked (authority, file number)")
    p.add_argument("--reason", required=True, help="the legal basis or reason of the request")
    p.add_argument(
        "--minimal",
        action="store_true",
        help="only the source files that matched (KVKK); verify then with sha256sum -c --ignore-missing",
    )
    p.add_argument(
        "--margin-days",
        type=int,
        default=1,
        help="also scan this many day directories before and after the range (late or early clocks)",
    )
    p.add_argument("--lock-wait", type=float, default=60, help=lock_help)
    p = command("status", cmd_status, "backlog, last signed and oldest day per class, disk usage; alerts")
    p.add_argument("--json", action="store_true")
    p.add_argument("--now", help=now_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    alerts = Alerts()
    try:
        cfg = load_config(Path(args.config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG))
        alerts.open(cfg.syslog_facility)
        return args.func(cfg, args, alerts)
    except Log5651Error as exc:
        alerts.crit(f"error: {exc}" if isinstance(exc, UsageError) else str(exc))
        return exc.exit_code
    except OSError as exc:
        alerts.crit(f"{args.command}: {describe(exc)}")
        return EXIT_IO
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
