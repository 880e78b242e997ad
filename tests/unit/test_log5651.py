"""roles/log_server/files/log5651.py: daily RFC 3161 signing of 5651 logs, verification, prune, export, status.

The tool runs as a subprocess (as systemd runs it) against lab TSAs that `lab/tsa/tsa.py serve` starts on
127.0.0.1, and its functions are imported from the file for table-driven tests. Subprocesses run with
TZ=UTC+3 (Turkey's clock) so that local days and UTC genTimes really differ.
"""

import hashlib
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from labtsa import TSAServer, init_tsa

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "roles" / "log_server" / "files" / "log5651.py"
TZ = "<+03>-3"  # POSIX TZ for UTC+3 without tzdata
LOCAL = timezone(timedelta(hours=3))

_spec = importlib.util.spec_from_file_location("log5651", TOOL)
lf = importlib.util.module_from_spec(_spec)
sys.modules["log5651"] = lf
_spec.loader.exec_module(lf)


def today() -> date:
    return datetime.now(LOCAL).date()


def ago(days: int) -> str:
    return (today() - timedelta(days=days)).isoformat()


def safe_now() -> str:
    """01:00 local today: yesterday is closed (its grace is over), today is still open. Tests that
    need 'yesterday is closed' pass this as --now, because in the first grace minutes after local
    midnight (21:00 UTC) the real now would still hold yesterday open."""
    return datetime.combine(today(), datetime.min.time(), LOCAL).replace(hour=1).isoformat()


def line(day: str, hour: int, text: str) -> str:
    return f"{day}T{hour:02d}:15:01.123456+03:00 {text}\n"


# --------------------------------------------------------------------------- lab TSAs


@pytest.fixture(scope="module")
def tsa_dir(tmp_path_factory) -> Path:
    return init_tsa(tmp_path_factory.mktemp("tsa") / "trusted", "Trusted test TSA")


@pytest.fixture(scope="module")
def rogue_tsa_dir(tmp_path_factory) -> Path:
    """A second TSA with its own CA: its tokens are well-formed but not trusted."""
    return init_tsa(tmp_path_factory.mktemp("tsa") / "rogue", "Rogue test TSA")


@pytest.fixture(scope="module")
def tsa(tsa_dir, tmp_path_factory):
    srv = TSAServer(tsa_dir, tmp_path_factory.mktemp("tsa-run"))
    yield srv
    srv.stop()


# --------------------------------------------------------------------------- a log server in tmp_path
class LogServer:
    def __init__(self, tmp_path: Path, tsa_dir: Path, url: str) -> None:
        self.tmp = tmp_path
        self.root = tmp_path / "srv" / "log5651"
        self.root.mkdir(parents=True)
        self.records = tmp_path / "var" / "records.jsonl"
        self.config_path = tmp_path / "etc" / "config.json"
        self.config_path.parent.mkdir()
        self.ca = tsa_dir / "ca.crt"
        self.cfg = {
            "root": str(self.root),
            "classes": {"dhcp": {"retention_days": 730}, "web": {"retention_days": 730},
                        "traffic": {"retention_days": 365}},
            "grace_minutes": 10,
            "tsa": {"url": url, "ca_file": str(self.ca), "username": "", "password_file": "", "client_cert": "",
                    "client_key": "", "tls_ca_file": "", "timeout": 5, "policy": "", "headers": {}},
            "immutable": False,
            "group": "",
            "records_file": str(self.records),
            "disk_alert_percent": 100,
            "syslog_facility": "local5",
            "lock_file": str(tmp_path / "run" / "log5651.lock"),
        }  # fmt: skip
        self.write_config()
        self.env = {**os.environ, "TZ": TZ, "LOG5651_CONFIG": str(self.config_path)}

    def write_config(self, **changes) -> None:
        for key, value in changes.items():
            if key == "tsa":
                self.cfg["tsa"].update(value)
            else:
                self.cfg[key] = value
        self.config_path.write_text(json.dumps(self.cfg, indent=1))

    def day(self, cls: str, day: str, files: dict[str, str | bytes]) -> Path:
        d = self.root / cls / day
        d.mkdir(parents=True)
        for name, content in files.items():
            (d / name).write_bytes(content.encode() if isinstance(content, str) else content)
        return d

    def run(self, *args: str, python: str = sys.executable, env: dict | None = None) -> subprocess.CompletedProcess:
        res = subprocess.run([python, str(TOOL), *args], capture_output=True, text=True, timeout=60,
                             env={**self.env, **(env or {})})  # fmt: skip
        assert "Traceback" not in res.stderr, res.stderr
        return res

    def records_lines(self) -> list[dict]:
        if not self.records.exists():
            return []
        return [json.loads(x) for x in self.records.read_text().splitlines()]


@pytest.fixture
def srv(tmp_path, tsa_dir, tsa) -> LogServer:
    return LogServer(tmp_path, tsa_dir, tsa.url)


def writable(path: Path) -> Path:
    """Signed files are 0440; a test that tampers makes them writable first (root would not need to)."""
    path.chmod(0o640)
    return path


def snapshot(directory: Path) -> dict:
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(directory.iterdir())}


def token_time(day_dir: Path) -> datetime:
    return lf.token_info((day_dir / lf.MANIFEST_TSR).read_bytes()).gen_time


DHCP_DAY = {
    "10.231.0.15.log": line("2026-11-27", 8, "kea kea-dhcp4[812]: DHCP4_LEASE_ALLOC [hwtype=1 aa:bb:cc:dd:ee:ff], "
                                             "cid=[01:aa:bb:cc:dd:ee:ff], tid=0x5: lease 10.0.0.2 has been allocated"),
    "kea-02.log": line("2026-11-27", 9, "kea kea-dhcp4[813]: DHCP4_LEASE_ALLOC lease 10.0.0.23 allocated"),
}  # fmt: skip


# --------------------------------------------------------------------------- hashing and manifests
@pytest.mark.parametrize(
    "size",
    [0, 1, lf.BUF_SIZE - 1, lf.BUF_SIZE, lf.BUF_SIZE + 1, 3 * lf.BUF_SIZE + 7],
    ids=["empty", "one-byte", "buffer-minus-one", "one-buffer", "buffer-plus-one", "several-buffers"],
)
def test_hash_file_equals_sha256_of_the_content(tmp_path, size):
    data = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    (tmp_path / "f").write_bytes(data)
    assert lf.hash_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_manifest_is_what_sha256sum_writes_and_checks(tmp_path):
    d = tmp_path / "2026-11-27"
    d.mkdir()
    for name, content in {"10.231.0.15.log": "a\n", "Kamera-01.log": "b\n", "kea 02.log": "", "z.log": "c"}.items():
        (d / name).write_text(content)
    manifest = lf.build_manifest(d)
    names = sorted(os.listdir(d), key=os.fsencode)
    expected = subprocess.run(["sha256sum", "--", *names], cwd=d, capture_output=True, check=True).stdout
    assert manifest == expected
    (d / lf.MANIFEST).write_bytes(manifest)
    check = subprocess.run(["sha256sum", "-c", lf.MANIFEST], cwd=d, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 4


def test_manifest_refuses_a_directory_inside_a_day(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(lf.Log5651Error, match="sub is not a regular file"):
        lf.build_manifest(tmp_path)


@pytest.mark.parametrize(
    ("text", "hashes", "problems"),
    [
        pytest.param(f"{'a' * 64}  x.log\n{'b' * 64}  y.log\n", {"x.log": "a" * 64, "y.log": "b" * 64}, [],
                     id="two-lines"),
        pytest.param(f"{'a' * 64} *x.log\n", {"x.log": "a" * 64}, [], id="binary-mode-marker"),
        pytest.param(f"{'a' * 63}  x.log\n", {}, ["MANIFEST.sha256 line 1 is malformed"], id="short-hash"),
        pytest.param(f"{'a' * 64}  ../x.log\n", {}, ["MANIFEST.sha256 line 1 is malformed"], id="path-escape"),
        pytest.param(f"{'a' * 64}  x.log\n{'b' * 64}  x.log\n", {"x.log": "a" * 64},
                     ["MANIFEST.sha256 lists x.log twice"], id="duplicate"),
    ],
)  # fmt: skip
def test_parse_manifest(text, hashes, problems):
    assert lf.parse_manifest(text.encode()) == (hashes, problems)


# --------------------------------------------------------------------------- sign and verify
def test_sign_then_verify(srv, tsa_dir):
    d1 = srv.day("dhcp", ago(3), DHCP_DAY)
    d2 = srv.day("web", ago(2), {"web01.log": line(ago(2), 10, "web01 nginx: 10.0.0.2 GET /")})
    res = srv.run("sign")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].startswith(f"signed dhcp/{ago(3)}: 2 files, genTime ")
    assert res.stdout.splitlines()[1].startswith(f"signed web/{ago(2)}: 1 file, genTime ")
    assert sorted(os.listdir(d1)) == sorted([*DHCP_DAY, "MANIFEST.sha256", "MANIFEST.sha256.tsr"])
    for d in (d1, d2):
        assert {stat.S_IMODE(p.stat().st_mode) for p in d.iterdir()} == {0o440}
        plain = subprocess.run(["openssl", "ts", "-verify", "-data", "MANIFEST.sha256", "-in", "MANIFEST.sha256.tsr",
                                "-CAfile", str(tsa_dir / "ca.crt")], cwd=d, capture_output=True, text=True)  # fmt: skip
        assert "Verification: OK" in plain.stdout, plain.stderr
        assert subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=d, capture_output=True).returncode == 0
    res = srv.run("verify")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"OK dhcp/{ago(3)}: 2 files, genTime " in res.stdout
    assert res.stdout.splitlines()[-1] == "2 days verified, 0 failed, 0 unsigned"


def test_gen_time_from_der_agrees_with_openssl_text(srv):
    d = srv.day("dhcp", ago(3), DHCP_DAY)
    assert srv.run("sign").returncode == 0
    text = subprocess.run(["openssl", "ts", "-reply", "-in", str(d / lf.MANIFEST_TSR), "-text"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    parsed = lf.parse_reply_text(text)
    info = lf.token_info((d / lf.MANIFEST_TSR).read_bytes())
    assert (info.gen_time, info.serial) == (parsed["gen_time"], parsed["serial"])
    assert info.digest == hashlib.sha256((d / lf.MANIFEST).read_bytes()).digest()
    assert abs(info.gen_time - datetime.now(UTC)) < timedelta(minutes=1)


def test_sign_is_idempotent(srv):
    d = srv.day("dhcp", ago(3), DHCP_DAY)
    assert srv.run("sign").returncode == 0
    before = snapshot(d)
    again = srv.run("sign")
    assert again.returncode == 0
    assert again.stdout.strip() == "nothing to sign"
    assert snapshot(d) == before


def test_open_day_and_grace_are_not_signed(srv):
    now = datetime.now(LOCAL)
    srv.day("dhcp", now.date().isoformat(), {"a.log": "today\n"})
    y = srv.day("dhcp", ago(1), {"a.log": "yesterday\n"})
    midnight = datetime.combine(now.date(), datetime.min.time(), LOCAL)
    res = srv.run("sign", "--now", (midnight + timedelta(minutes=9)).isoformat())  # grace is 10 minutes
    assert (res.returncode, res.stdout.strip()) == (0, "nothing to sign")
    assert not (y / lf.MANIFEST).exists()
    res = srv.run("sign", "--now", safe_now())  # yesterday is closed, today is open
    assert res.returncode == 0
    assert res.stdout.count("signed ") == 1
    assert f"signed dhcp/{ago(1)}" in res.stdout
    verify = srv.run("verify")
    assert f"OPEN dhcp/{now.date().isoformat()}: still being written" in verify.stdout
    assert verify.returncode == 0


def test_interrupted_run_manifest_is_rebuilt(srv):
    d = srv.day("dhcp", ago(3), DHCP_DAY)
    (d / lf.MANIFEST).write_text(f"{'0' * 64}  stale.log\n")
    (d / f"{lf.TMP_PREFIX}abc").write_text("half-written token")
    assert srv.run("verify").stdout.startswith(f"UNSIGNED dhcp/{ago(3)}: unsigned (queued), overdue")
    assert srv.run("sign").returncode == 0
    assert (d / lf.MANIFEST).read_bytes() == lf.manifest_bytes({n: lf.hash_file(d / n) for n in DHCP_DAY})
    assert not list(d.glob(f"{lf.TMP_PREFIX}*"))
    assert srv.run("verify").returncode == 0


def test_a_day_that_cannot_be_signed_is_named_and_the_others_are_signed(srv):
    bad = srv.day("dhcp", ago(4), DHCP_DAY)
    (bad / "subdir").mkdir()
    srv.day("web", ago(3), {"w.log": "x\n"})
    res = srv.run("sign")
    assert res.returncode == lf.EXIT_IO
    assert f"sign dhcp/{ago(4)}: " in res.stderr
    assert "subdir is not a regular file" in res.stderr
    assert f"signed web/{ago(3)}" in res.stdout
    assert not (bad / lf.MANIFEST).exists()


def _sign_with_rogue_tsa(day_dir: Path, rogue: Path) -> None:
    q = day_dir.parent / "rogue.tsq"
    subprocess.run(["openssl", "ts", "-query", "-data", str(day_dir / lf.MANIFEST), "-sha256", "-cert", "-out", str(q)],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["openssl", "ts", "-reply", "-config", str(rogue / "tsa.cnf"), "-section", "tsa_config1",
                    "-queryfile", str(q), "-inkey", str(rogue / "tsa.key"), "-signer", str(rogue / "tsa.crt"),
                    "-out", str(writable(day_dir / lf.MANIFEST_TSR))], check=True, capture_output=True)  # fmt: skip
    q.unlink()


def _flip_byte(d: Path, _other: Path, _rogue: Path) -> None:
    f = writable(d / "10.231.0.15.log")
    data = bytearray(f.read_bytes())
    data[40] ^= 0x01
    f.write_bytes(bytes(data))


def _edit_manifest_to_match(d: Path, _other: Path, _rogue: Path) -> None:
    writable(d / "kea-02.log").write_text("rewritten history\n")
    writable(d / lf.MANIFEST).write_bytes(lf.manifest_bytes({n: lf.hash_file(d / n) for n in DHCP_DAY}))


TAMPERS = [
    pytest.param(_flip_byte, "10.231.0.15.log: hash mismatch", ("10.231.0.15.log", "hash mismatch"), id="flipped-byte"),
    pytest.param(lambda d, _o, _r: (d / "kea-02.log").unlink(), "kea-02.log: missing", ("kea-02.log", "missing"),
                 id="file-deleted"),
    pytest.param(lambda d, _o, _r: (d / "evil.log").write_text("planted\n"), "extra file evil.log not in the manifest",
                 ("evil.log", "extra"), id="file-added"),
    pytest.param(lambda d, o, _r: writable(d / lf.MANIFEST_TSR).write_bytes((o / lf.MANIFEST_TSR).read_bytes()),
                 "token does not match the manifest (message imprint mismatch)",
                 (None, "token does not match the manifest (message imprint mismatch)"), id="other-days-token"),
    pytest.param(_edit_manifest_to_match, "token does not match the manifest (message imprint mismatch)",
                 (None, "token does not match the manifest (message imprint mismatch)"), id="manifest-rewritten"),
    pytest.param(lambda d, _o, r: _sign_with_rogue_tsa(d, r), "token not signed by the trusted TSA",
                 None, id="untrusted-tsa"),
]  # fmt: skip


@pytest.mark.parametrize(("tamper", "message", "json_problem"), TAMPERS)
def test_tampering_is_detected_and_named(srv, rogue_tsa_dir, tamper, message, json_problem):
    d = srv.day("dhcp", ago(4), DHCP_DAY)
    other = srv.day("dhcp", ago(3), {"other.log": line(ago(3), 1, "x y: other day")})
    assert srv.run("sign").returncode == 0
    tamper(d, other, rogue_tsa_dir)
    res = srv.run("verify")
    assert res.returncode == lf.EXIT_FAILED
    assert f"FAIL dhcp/{ago(4)}: {message}" in res.stdout.splitlines()[0]
    assert f"OK dhcp/{ago(3)}" in res.stdout  # the other day is untouched
    assert res.stdout.splitlines()[-1] == "1 days verified, 1 failed, 0 unsigned"
    report = json.loads(srv.run("verify", "--json", "--from", ago(4), "--to", ago(4)).stdout)
    assert [(r["class"], r["day"], r["status"]) for r in report] == [("dhcp", ago(4), "failed")]
    if json_problem:
        assert {"file": json_problem[0], "problem": json_problem[1]} in report[0]["problems"]


def test_token_older_than_the_day_fails(srv):
    future = (today() + timedelta(days=3)).isoformat()
    srv.day("web", future, {"w.log": "stamped before the day ended\n"})
    later = (datetime.now(LOCAL) + timedelta(days=5)).isoformat()
    assert srv.run("sign", "--now", later).returncode == 0
    res = srv.run("verify", "--now", later)
    assert res.returncode == lf.EXIT_FAILED
    assert f"FAIL web/{future}: token genTime " in res.stdout
    assert "is earlier than the end of the day" in res.stdout


# --------------------------------------------------------------------------- TSA problems
def test_tsa_outage_keeps_days_queued_and_the_next_run_signs_them(tmp_path, tsa_dir):
    own = TSAServer(tsa_dir, tmp_path / "own-tsa")
    try:
        srv = LogServer(tmp_path, tsa_dir, own.url)
        d1 = srv.day("dhcp", ago(4), DHCP_DAY)
        d2 = srv.day("traffic", ago(3), {"fw.log": line(ago(3), 5, "fw kernel: SRC=10.0.0.2 DST=1.1.1.1")})
        before = {d: snapshot(d) for d in (d1, d2)}
        outage_began = datetime.now(UTC).replace(microsecond=0)
        own.stop()
        res = srv.run("sign")
        assert res.returncode == lf.EXIT_TSA
        assert len(res.stderr.splitlines()) == 1
        assert "unreachable" in res.stderr
        assert f"dhcp/{ago(4)} stays unsigned (2 days queued)" in res.stderr
        assert {d: snapshot(d) for d in (d1, d2)} == before  # nothing deleted, nothing half-written
        verify = srv.run("verify")
        assert f"UNSIGNED dhcp/{ago(4)}: unsigned (queued)" in verify.stdout
        assert verify.stdout.splitlines()[-1] == "0 days verified, 0 failed, 2 unsigned"
        status = json.loads(srv.run("status", "--json").stdout)
        assert [(b["class"], b["day"]) for b in status["backlog"]] == [("dhcp", ago(4)), ("traffic", ago(3))]
        own.start()
        srv.write_config(tsa={"url": own.url})
        res = srv.run("sign")
        assert res.returncode == 0, res.stderr
        signed = [x.split(":")[0] for x in res.stdout.splitlines()]
        assert signed == [f"signed dhcp/{ago(4)}", f"signed traffic/{ago(3)}"]  # oldest first
        assert token_time(d1) >= outage_began
        assert token_time(d2) >= outage_began
        assert srv.run("verify").returncode == 0
    finally:
        own.stop()


def test_tsa_refusal_stops_the_run(srv):
    srv.day("dhcp", ago(3), DHCP_DAY)
    srv.write_config(tsa={"policy": "1.2.3.4.5"})  # a policy the lab TSA does not serve
    res = srv.run("sign")
    assert res.returncode == lf.EXIT_TSA
    assert f"refused dhcp/{ago(3)}: status Rejected" in res.stderr
    assert "policy" in res.stderr
    assert not (srv.root / "dhcp" / ago(3) / lf.MANIFEST).exists()


def test_tsa_basic_auth(tmp_path, tsa_dir):
    (tmp_path / "auth").write_text("log5651:gizli-parola\n")
    own = TSAServer(tsa_dir, tmp_path / "auth-tsa", "--auth-file", str(tmp_path / "auth"))
    try:
        srv = LogServer(tmp_path, tsa_dir, own.url)
        srv.day("dhcp", ago(3), DHCP_DAY)
        (tmp_path / "etc" / "tsa.pass").write_text("wrong\n")
        srv.write_config(tsa={"username": "log5651", "password_file": str(tmp_path / "etc" / "tsa.pass")})
        res = srv.run("sign")
        assert res.returncode == lf.EXIT_TSA
        assert "refused the query: HTTP 401" in res.stderr
        (tmp_path / "etc" / "tsa.pass").write_text("gizli-parola\n")
        assert srv.run("sign").returncode == 0
    finally:
        own.stop()


def _issue(ca_dir: Path, out: Path, name: str, extensions: str) -> tuple[str, str]:
    """A TLS key and certificate signed by the CA in ca_dir."""
    key, csr, crt, ext = (out / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
    ext.write_text(extensions)
    for argv in (
        ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)],
        ["req", "-new", "-key", str(key), "-subj", f"/CN={name}", "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca_dir / "ca.crt"), "-CAkey", str(ca_dir / "ca.key"),
         "-set_serial", str(time.time_ns()), "-days", "2", "-extfile", str(ext), "-out", str(crt)],
    ):  # fmt: skip
        subprocess.run(["openssl", *argv], check=True, capture_output=True)
    return str(key), str(crt)


def test_tsa_over_https_with_a_client_certificate(tmp_path, tsa_dir, rogue_tsa_dir):
    """TLS to the TSA: the server is trusted through tls_ca_file (here another CA than the TSA's own),
    and the TSA requires log5651's client certificate."""
    pki = tmp_path / "pki"
    pki.mkdir()
    server_key, server_crt = _issue(
        rogue_tsa_dir, pki, "tsa", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    )
    client_key, client_crt = _issue(rogue_tsa_dir, pki, "log01", "extendedKeyUsage=clientAuth\n")
    own = TSAServer(tsa_dir, tmp_path / "tls-tsa", "--tls-cert", server_crt, "--tls-key", server_key,
                    "--tls-client-ca", str(rogue_tsa_dir / "ca.crt"))  # fmt: skip
    try:
        srv = LogServer(tmp_path, tsa_dir, own.url.replace("http://", "https://"))
        srv.day("dhcp", ago(3), DHCP_DAY)
        res = srv.run("sign")
        assert res.returncode == lf.EXIT_TSA
        assert "CERTIFICATE_VERIFY_FAILED" in res.stderr  # the lab CA is not in the system store
        srv.write_config(tsa={"tls_ca_file": str(rogue_tsa_dir / "ca.crt")})
        res = srv.run("sign")
        assert res.returncode == lf.EXIT_TSA  # no client certificate yet
        assert "unreachable" in res.stderr
        srv.write_config(tsa={"client_cert": client_crt, "client_key": client_key})
        res = srv.run("sign")
        assert res.returncode == 0, res.stderr
        assert srv.run("verify").returncode == 0
    finally:
        own.stop()


def test_a_reply_from_another_tsa_is_not_stored(tmp_path, tsa_dir, rogue_tsa_dir):
    rogue = TSAServer(rogue_tsa_dir, tmp_path / "rogue-tsa")
    try:
        srv = LogServer(tmp_path, tsa_dir, rogue.url)  # trusts tsa_dir's CA, talks to the rogue TSA
        d = srv.day("dhcp", ago(3), DHCP_DAY)
        res = srv.run("sign")
        assert res.returncode == lf.EXIT_TSA
        assert "does not verify against" in res.stderr
        assert sorted(os.listdir(d)) == sorted(DHCP_DAY)
    finally:
        rogue.stop()


# --------------------------------------------------------------------------- immutability
def test_chattr_refusal_is_reported_once_and_is_not_an_error(srv, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "chattr").write_text('#!/bin/sh\necho "chattr: Operation not permitted while setting flags on $2" >&2\n'
                                 "exit 1\n")  # fmt: skip
    (fake / "chattr").chmod(0o755)
    srv.write_config(immutable=True)
    srv.day("dhcp", ago(3), DHCP_DAY)
    srv.day("web", ago(3), {"w.log": "x\n"})
    res = srv.run("sign", env={"PATH": f"{fake}:{os.environ['PATH']}"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("signed ") == 2
    notes = [x for x in res.stdout.splitlines() if x.startswith("note: immutable flag not set")]
    assert len(notes) == 1
    assert "Operation not permitted" in notes[0]


def _chattr_works(path: Path) -> bool:
    probe = path / "probe"
    probe.write_text("")
    ok = subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0
    subprocess.run(["chattr", "-i", str(probe)], capture_output=True)
    probe.unlink()
    return ok


@pytest.fixture
def immutable_srv(srv):
    if shutil.which("chattr") is None or not _chattr_works(srv.tmp):
        pytest.skip("chattr +i is not permitted here (no CAP_LINUX_IMMUTABLE or no support in this file system)")
    srv.write_config(immutable=True)
    yield srv
    subprocess.run(["chattr", "-R", "-i", str(srv.root)], capture_output=True)  # let pytest clean tmp_path


def test_immutable_flag_is_set_and_prune_clears_it(immutable_srv):
    srv = immutable_srv
    d = srv.day("dhcp", ago(800), DHCP_DAY)
    assert srv.run("sign").returncode == 0
    attrs = subprocess.run(["lsattr", "-d", str(d), *map(str, sorted(d.iterdir()))], capture_output=True, text=True)
    assert all(x.split()[0].count("i") == 1 for x in attrs.stdout.splitlines()), attrs.stdout
    with pytest.raises(PermissionError):
        (d / "evil.log").write_text("x")
    res = srv.run("prune")
    assert res.returncode == 0, res.stderr
    assert not d.exists()


# --------------------------------------------------------------------------- prune
def test_prune_respects_retention_and_refuses_a_day_that_does_not_verify(srv):
    old_ok = srv.day("dhcp", ago(800), DHCP_DAY)
    old_bad = srv.day("dhcp", ago(790), DHCP_DAY)
    old_unsigned_traffic = srv.day("traffic", ago(400), {"fw.log": "x\n"})
    recent = srv.day("dhcp", ago(10), DHCP_DAY)
    assert srv.run("sign").returncode == 0
    # an unsigned day past retention: only reachable if signing failed for a year; it must never be deleted
    for p in old_unsigned_traffic.iterdir():
        writable(p)
    (old_unsigned_traffic / lf.MANIFEST_TSR).unlink()
    writable(old_bad / "kea-02.log").write_text("changed after signing\n")
    dry = srv.run("prune", "--dry-run")
    assert dry.returncode == lf.EXIT_FAILED
    assert f"would prune dhcp/{ago(800)}: 2 files" in dry.stdout
    assert old_ok.exists()
    assert srv.records_lines() == []
    res = srv.run("prune")
    assert res.returncode == lf.EXIT_FAILED
    assert f"pruned dhcp/{ago(800)}: 2 files, retention 730 days" in res.stdout
    assert f"prune refused dhcp/{ago(790)}" in res.stderr
    assert "kea-02.log: hash mismatch" in res.stderr
    assert f"prune refused traffic/{ago(400)}" in res.stderr
    assert not old_ok.exists()
    assert old_bad.exists()
    assert old_unsigned_traffic.exists()
    assert recent.exists()
    records = srv.records_lines()
    assert [(r["action"], r["class"], r["day"]) for r in records] == [
        ("prune", "dhcp", ago(800)),
        ("prune-refused", "dhcp", ago(790)),
        ("prune-refused", "traffic", ago(400)),
    ]
    pruned = records[0]
    assert pruned["files"] == {n: hashlib.sha256(c.encode()).hexdigest() for n, c in DHCP_DAY.items()}
    assert len(pruned["manifest_sha256"]) == 64
    assert pruned["token_gen_time"].endswith("Z")
    assert pruned["user"]
    assert "kea-02.log: hash mismatch" in records[1]["problems"]


@pytest.mark.parametrize(
    ("minutes_from_expiry", "kept"),
    [pytest.param(-1, True, id="one-minute-before-retention-ends"), pytest.param(0, False, id="at-the-end")],
)
def test_prune_boundary(srv, minutes_from_expiry, kept):
    day = date(2024, 11, 27)
    d = srv.day("traffic", day.isoformat(), {"fw.log": "x\n"})
    assert srv.run("sign").returncode == 0
    expiry = datetime.combine(day + timedelta(days=365 + 1), datetime.min.time(), LOCAL)
    res = srv.run("prune", "--now", (expiry + timedelta(minutes=minutes_from_expiry)).isoformat())
    assert res.returncode == 0, res.stderr
    assert d.exists() == kept


# --------------------------------------------------------------------------- export
EXPORT_DAY = ago(5)
EXPORT_LINES = {
    "dhcp": {
        "10.231.0.15.log": [
            line(EXPORT_DAY, 8, "kea kea-dhcp4[812]: DHCP4_LEASE_ALLOC [hwtype=1 aa:bb:cc:dd:ee:ff], "
                                "cid=[01:aa:bb:cc:dd:ee:ff], tid=0x5: lease 10.0.0.2 has been allocated"),
            line(EXPORT_DAY, 9, "kea kea-dhcp4[812]: DHCP4_LEASE_ALLOC [hwtype=1 aa:bb:cc:dd:ee:01]: lease 10.0.0.23"),
            line(EXPORT_DAY, 23, "kea kea-dhcp4[812]: late lease 10.0.0.2 outside the requested range"),
        ],
    },
    "web": {"web01.log": [line(EXPORT_DAY, 10, "web01 nginx: 10.0.0.2 - - \"GET /haberler HTTP/1.1\" 200"),
                          line(EXPORT_DAY, 11, "web01 nginx: 110.0.0.2 - - \"GET / HTTP/1.1\" 200")],
            "web02.log": [line(EXPORT_DAY, 10, "web02 nginx: 10.0.0.24 \"GET /\"")]},
}  # fmt: skip


@pytest.fixture
def export_srv(srv):
    for cls, files in EXPORT_LINES.items():
        srv.day(cls, EXPORT_DAY, {name: "".join(lines) for name, lines in files.items()})
    assert srv.run("sign").returncode == 0
    return srv


def _export(srv, out: Path, *selector: str, extra=()):
    return srv.run("export", "--from", f"{EXPORT_DAY}T00:00:00+03:00", "--to", f"{EXPORT_DAY}T22:00:00+03:00",
                   *selector, "--out", str(out), "--requester", "İstanbul 5. Sulh Ceza Hakimliği, 2026/4711 D. İş",
                   "--reason", "5651 s.K. m.5 kapsamında talep", *extra)  # fmt: skip


def test_export_bundle_verifies_with_plain_openssl_and_sha256sum(export_srv, tmp_path, tsa_dir):
    out = tmp_path / "talep.tar.gz"
    res = _export(export_srv, out, "--ip", "10.0.0.2")
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    x = tmp_path / "x"
    with tarfile.open(out) as tar:
        tar.extractall(x, filter="data")
    assert (x / "matches.log").read_text() == EXPORT_LINES["dhcp"]["10.231.0.15.log"][0] + EXPORT_LINES["web"][
        "web01.log"][0]  # whole-address match, in time order, range respected  # fmt: skip
    for cls in ("dhcp", "web"):
        day_dir = x / "days" / cls / EXPORT_DAY
        argv = ["openssl", "ts", "-verify", "-data", "MANIFEST.sha256", "-in", "MANIFEST.sha256.tsr"]
        res = subprocess.run([*argv, "-CAfile", "../../../tsa-ca.pem"], cwd=day_dir, capture_output=True, text=True)
        assert "Verification: OK" in res.stdout, res.stderr
        assert subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=day_dir, capture_output=True).returncode == 0
    assert (x / "tsa-ca.pem").read_bytes() == (tsa_dir / "ca.crt").read_bytes()
    meta = json.loads((x / "export.json").read_text())
    assert meta["request"]["ip"] == "10.0.0.2"
    assert meta["requester"].startswith("İstanbul 5. Sulh Ceza")
    assert meta["matched_lines"] == 2
    assert {(s["class"], s["file"], tuple(s["lines"])) for s in meta["sources"]} == {
        ("dhcp", "10.231.0.15.log", (1,)), ("web", "web01.log", (1,))}  # fmt: skip
    for name, digest in meta["files"].items():
        assert hashlib.sha256((x / name).read_bytes()).hexdigest() == digest, name
    readme = (x / "README.txt").read_text()
    assert "Doğrulama" in readme
    assert "Verification" in readme
    assert "openssl ts -verify -data MANIFEST.sha256" in readme
    with tarfile.open(out) as tar:
        members = tar.getmembers()
    assert {(m.uid, m.gid, m.mtime) for m in members} == {(0, 0, 0)}
    assert {m.mode for m in members if m.isfile()} == {0o640}


@pytest.mark.parametrize(
    ("selector", "expected_hours"),
    [
        pytest.param(("--mac", "AA-BB-CC-DD-EE-FF"), [8], id="mac-dashes-uppercase"),
        pytest.param(("--mac", "aabb.ccdd.eeff"), [8], id="mac-cisco-dots"),
        pytest.param(("--mac", "aa:bb:cc:dd:ee:01"), [9], id="other-mac"),
        pytest.param(("--ip", "10.0.0.23"), [9], id="ip-not-a-prefix-of-more"),
        pytest.param(("--ip", "10.0.0.2", "--mac", "aa:bb:cc:dd:ee:01"), [8, 9, 10], id="ip-or-mac"),
    ],
)
def test_export_selectors(export_srv, tmp_path, selector, expected_hours):
    out = tmp_path / "b.tar.gz"
    assert _export(export_srv, out, *selector).returncode == 0
    with tarfile.open(out) as tar:
        lines = tar.extractfile("matches.log").read().decode().splitlines()
    assert [int(x[11:13]) for x in lines] == expected_hours


def test_export_minimal_holds_only_matching_sources(export_srv, tmp_path):
    out = tmp_path / "b.tar.gz"
    assert _export(export_srv, out, "--ip", "10.0.0.2", extra=("--class", "web", "--minimal")).returncode == 0
    x = tmp_path / "x"
    with tarfile.open(out) as tar:
        tar.extractall(x, filter="data")
    assert sorted(os.listdir(x / "days")) == ["web"]
    assert "web02.log" not in os.listdir(x / "days" / "web" / EXPORT_DAY)
    ok = subprocess.run(["sha256sum", "-c", "--ignore-missing", "MANIFEST.sha256"], cwd=x / "days" / "web" / EXPORT_DAY)
    assert ok.returncode == 0


def test_export_refuses_a_day_that_does_not_verify(export_srv, tmp_path):
    writable(export_srv.root / "web" / EXPORT_DAY / "web02.log").write_text("edited\n")
    out = tmp_path / "b.tar.gz"
    res = _export(export_srv, out, "--ip", "10.0.0.2")
    assert res.returncode == lf.EXIT_FAILED
    assert f"export refused: web/{EXPORT_DAY} contributes lines but does not verify: web02.log: hash mismatch" in (
        res.stderr)  # fmt: skip
    assert not out.exists()
    assert list(tmp_path.glob("*.tmp")) == []
    assert export_srv.records_lines()[-1]["action"] == "export-refused"


def test_export_of_an_unsigned_day_is_refused(srv, tmp_path):
    # Two days ago: closed whatever the time of day (export has no --now; yesterday is still open
    # in the grace minutes after local midnight).
    srv.day("dhcp", ago(2), {"a.log": line(ago(2), 8, "kea x: lease 10.0.0.2")})
    res = srv.run("export", "--from", f"{ago(2)}T00:00", "--to", f"{ago(2)}T23:59", "--ip", "10.0.0.2", "--out",
                  str(tmp_path / "b.tgz"), "--requester", "r", "--reason", "r")  # fmt: skip
    assert res.returncode == lf.EXIT_FAILED
    assert f"export refused: dhcp/{ago(2)} contributes lines but does not verify: unsigned (queued)" in res.stderr


def test_export_is_recorded_without_log_content(export_srv, tmp_path, monkeypatch):
    sent = []
    monkeypatch.setattr(lf.syslog, "syslog", lambda *a: sent.append(a))
    monkeypatch.setenv("LOG5651_CONFIG", str(export_srv.config_path))
    out = tmp_path / "b.tar.gz"
    rc = lf.main(["export", "--from", f"{EXPORT_DAY}T00:00:00+03:00", "--to", f"{EXPORT_DAY}T22:00:00+03:00",
                  "--mac", "aa:bb:cc:dd:ee:ff", "--out", str(out), "--requester", "Savcılık 2026/99",
                  "--reason", "soruşturma"])  # fmt: skip
    assert rc == 0
    (record,) = export_srv.records_lines()
    assert record["action"] == "export"
    assert (record["requester"], record["reason"]) == ("Savcılık 2026/99", "soruşturma")
    assert record["request"]["mac"] == "aa:bb:cc:dd:ee:ff"
    assert record["bundle_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    logged = json.dumps(record) + json.dumps(sent)
    for secret in ("DHCP4_LEASE_ALLOC", "10.0.0.2", "hwtype", "tid=0x5"):
        assert secret not in logged
    assert any("exported 1 line from 1 day" in msg for _prio, msg in sent)


@pytest.mark.parametrize(
    ("text", "macs"),
    [
        pytest.param("hwaddr aa:bb:cc:dd:ee:ff end", {"aabbccddeeff"}, id="colons"),
        pytest.param("MAC=AA-BB-CC-DD-EE-FF,", {"aabbccddeeff"}, id="dashes-upper"),
        pytest.param("[hwtype=1 aa:bb:cc:dd:ee:ff]", {"aabbccddeeff"}, id="kea-hwtype"),
        pytest.param("cid=[01:aa:bb:cc:dd:ee:ff]", {"aabbccddeeff"}, id="kea-client-id"),
        pytest.param("duid=[00:03:00:01:aa:bb:cc:dd:ee:ff]", {"aabbccddeeff"}, id="kea-duid-ll"),
        pytest.param("duid=[00:01:00:01:2c:1f:3a:4b:aa:bb:cc:dd:ee:ff]", {"aabbccddeeff"}, id="kea-duid-llt"),
        pytest.param("sw: aabb.ccdd.eeff Gi0/1", {"aabbccddeeff"}, id="cisco-dots"),
        pytest.param("win AABBCCDDEEFF ok", {"aabbccddeeff"}, id="bare-hex"),
        pytest.param("x aa:bb:cc:dd:ee:ff:01 y", set(), id="seven-octets-is-no-mac"),
        pytest.param("cid=[ff:aa:bb:cc:dd:ee:ff]", set(), id="client-id-of-another-hw-type"),
        pytest.param("sha 0123456789abcdef0123", set(), id="longer-hex-is-no-mac"),
    ],
)
def test_macs_in(text, macs):
    assert lf.macs_in(text.encode()) == macs


@pytest.mark.parametrize(
    ("ip", "text", "hit"),
    [
        pytest.param("10.0.0.2", "lease 10.0.0.2 allocated", True, id="plain"),
        pytest.param("10.0.0.2", "to 10.0.0.2:53 udp", True, id="with-port"),
        pytest.param("10.0.0.2", "from 10.0.0.2.", True, id="sentence-end"),
        pytest.param("10.0.0.2", "SRC=10.0.0.2 DST=1.1.1.1", True, id="iptables"),
        pytest.param("10.0.0.2", "client ::ffff:10.0.0.2 port", True, id="v4-mapped"),
        pytest.param("10.0.0.2", "lease 10.0.0.23", False, id="longer-last-octet"),
        pytest.param("10.0.0.2", "lease 110.0.0.2", False, id="longer-first-octet"),
        pytest.param("10.0.0.2", "oid 1.10.0.0.2.5", False, id="inside-a-dotted-number"),
        pytest.param("2001:db8::1", "from [2001:0db8:0:0::1]:443", True, id="v6-other-spelling"),
        pytest.param("2001:db8::1", "from 2001:db8::10", False, id="v6-longer"),
    ],
)
def test_ip_selector_matches_whole_addresses(ip, text, hit):
    assert lf.Selector(ip, None).matches(f"2026-11-27T08:00:00+03:00 h t: {text}\n".encode()) is hit


# --------------------------------------------------------------------------- status
def test_status_is_quiet_when_all_is_well(srv):
    srv.day("dhcp", ago(1), {"a.log": "x\n"})
    res = srv.run("status", "--json", "--now", safe_now())
    assert res.returncode == 0, res.stderr
    status = json.loads(res.stdout)
    assert status["backlog"] == [{"class": "dhcp", "day": ago(1), "overdue": False}]
    assert status["classes"]["dhcp"]["oldest_day"] == ago(1)
    assert status["alerts"] == []


def test_status_alerts_on_disk_usage(srv):
    srv.write_config(disk_alert_percent=0)
    res = srv.run("status")
    assert res.returncode == lf.EXIT_DISK
    assert "disk almost full" in res.stderr


def test_status_alerts_on_an_old_backlog_and_names_the_last_signed_day(srv):
    srv.day("web", ago(8), {"a.log": "x\n"})
    assert srv.run("sign").returncode == 0
    srv.day("web", ago(5), {"a.log": "x\n"})
    res = srv.run("status")
    assert res.returncode == lf.EXIT_BACKLOG
    assert f"(oldest web/{ago(5)})" in res.stderr
    assert f"web: 2 days, oldest {ago(8)}, last signed {ago(8)}, 1 unsigned" in res.stdout
    assert f"backlog: web/{ago(5)} (overdue)" in res.stdout


# --------------------------------------------------------------------------- configuration and CLI
BAD_CONFIGS = [
    pytest.param({"classes": {"dhcp": {"retention_days": -1}}}, "classes.dhcp.retention_days must be a positive int",
                 id="negative-retention"),
    pytest.param({"classes": {"dhcp": {"retention_days": "730"}}}, "classes.dhcp.retention_days must be a positive",
                 id="retention-as-string"),
    pytest.param({"classes": {"dhcp": {"retention_days": True}}}, "classes.dhcp.retention_days must be a positive",
                 id="retention-as-bool"),
    pytest.param({"classes": {"dhcp": {"retention": 730}}}, "unknown key classes.dhcp.retention", id="class-typo"),
    pytest.param({"classes": {}}, "classes must name at least one class", id="no-classes"),
    pytest.param({"tsa": {"ca_file": "/nonexistent/tsa-ca.pem"}}, "tsa.ca_file /nonexistent/tsa-ca.pem does not exist",
                 id="missing-ca-file"),
    pytest.param({"tsa": {"url": "ftp://tsa/"}}, "tsa.url must be an http:// or https:// URL", id="bad-url"),
    pytest.param({"tsa": {"username": "u"}}, "tsa.password_file is missing", id="user-without-password-file"),
    pytest.param({"tsa": {"policy": "kamusm"}}, "tsa.policy must be an OID", id="bad-policy"),
    pytest.param({"rot": "/srv"}, "unknown key rot", id="top-level-typo"),
    pytest.param({"root": "srv/log5651"}, "root must be an absolute path", id="relative-root"),
    pytest.param({"disk_alert_percent": 150}, "disk_alert_percent must be an integer from 0 to 100", id="percent"),
    pytest.param({"syslog_facility": "local9"}, "syslog_facility must be one of", id="facility"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), BAD_CONFIGS)
def test_bad_config_is_named_in_one_line(srv, change, message):
    tsa_change = change.pop("tsa", {})
    srv.cfg.update(change)
    srv.write_config(tsa=tsa_change)
    res = srv.run("status")
    assert res.returncode == lf.EXIT_USAGE
    assert len(res.stderr.splitlines()) == 1
    assert message in res.stderr
    assert str(srv.config_path) in res.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [pytest.param('{"root": ', "not valid JSON", id="truncated-json"), pytest.param(None, "cannot read", id="absent")],
)
def test_unreadable_config(srv, text, message):
    if text is None:
        srv.config_path.unlink()
    else:
        srv.config_path.write_text(text)
    res = srv.run("verify")
    assert res.returncode == lf.EXIT_USAGE
    assert message in res.stderr


def test_unknown_group_is_a_config_error(srv):
    srv.write_config(group="no-such-group-5651")
    srv.day("dhcp", ago(3), DHCP_DAY)
    res = srv.run("sign")
    assert res.returncode == lf.EXIT_USAGE
    assert "group 'no-such-group-5651' does not exist" in res.stderr


def test_unknown_class_in_a_command(srv):
    res = srv.run("verify", "--class", "mail")
    assert res.returncode == lf.EXIT_USAGE
    assert "unknown class 'mail' (configured: dhcp, traffic, web)" in res.stderr


def test_a_second_run_waits_for_the_lock_then_gives_up(srv):
    import fcntl

    lock = Path(srv.cfg["lock_file"])
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        res = srv.run("sign", "--lock-wait", "0.3")
    assert res.returncode == lf.EXIT_LOCKED
    assert "another log5651 run holds the lock" in res.stderr


def test_help_and_version(srv):
    res = srv.run("--help")
    assert res.returncode == 0
    for code in range(8):
        assert f"\n  {code}  " in res.stdout
    assert srv.run("--version").stdout.strip() == f"log5651 {lf.VERSION}"


def test_runs_on_python_3_11(srv):
    """Debian 12's own /usr/bin/python3.11 is what runs the tool on the log servers."""
    python311 = "/usr/bin/python3.11" if os.access("/usr/bin/python3.11", os.X_OK) else shutil.which("python3.11")
    if python311 is None:
        pytest.skip("no python3.11 on this machine")
    srv.day("dhcp", ago(3), DHCP_DAY)
    assert srv.run("sign", python=python311).returncode == 0
    res = srv.run("verify", python=python311)
    assert res.returncode == 0
    assert res.stdout.splitlines()[-1] == "1 days verified, 0 failed, 0 unsigned"


def test_tool_uses_only_the_standard_library():
    imports = [x.split()[1] for x in TOOL.read_text().splitlines() if x.startswith(("import ", "from "))]
    assert [m for m in imports if m.split(".")[0] not in set(sys.stdlib_module_names) | {"__future__"}] == []


def _kamusm_decode(identity: str, password: str) -> tuple[int, bytes, int, bytes]:
    """Take an identity header apart as Kamu SM's side would: DER fields, then AES-256-CBC decrypt."""
    der = bytes.fromhex(identity)
    (seq,) = lf._der_children(der, 0, len(der))
    assert seq[0] == 0x30
    fields = lf._der_children(der, seq[1], seq[2])
    assert [f[0] for f in fields] == [0x02, 0x04, 0x02, 0x04, 0x04]
    customer = int.from_bytes(der[fields[0][1] : fields[0][2]], "big")
    salt, iv = der[fields[1][1] : fields[1][2]], der[fields[3][1] : fields[3][2]]
    iterations = int.from_bytes(der[fields[2][1] : fields[2][2]], "big")
    assert salt == iv
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    res = subprocess.run(
        ["openssl", "enc", "-d", "-aes-256-cbc", "-K", key.hex(), "-iv", iv.hex()],
        input=der[fields[4][1] : fields[4][2]],
        capture_output=True,
        check=True,
    )
    return customer, salt, iterations, res.stdout


def test_kamusm_identity_carries_the_encrypted_imprint_with_a_fresh_salt():
    digest = hashlib.sha256(b"MANIFEST").digest()
    first = lf.kamusm_identity(123456, "gizli", digest)
    second = lf.kamusm_identity(123456, "gizli", digest)
    assert first != second  # a fresh salt per query: a captured header cannot be replayed
    customer, salt, iterations, plain = _kamusm_decode(first, "gizli")
    assert (customer, len(salt), iterations, plain) == (123456, 16, 100, digest)
    # The wrong password does not give the imprint back.
    wrong = subprocess.run(
        [
            "openssl", "enc", "-d", "-aes-256-cbc",
            "-K", hashlib.pbkdf2_hmac("sha256", b"yanlis", salt, 100, 32).hex(), "-iv", salt.hex(),
        ],
        input=bytes.fromhex(first)[-48:],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert wrong.returncode != 0 or wrong.stdout != digest


def test_kamusm_auth_needs_a_customer_number_and_a_password_file(tmp_path, tsa_dir):
    srv = LogServer(tmp_path, tsa_dir, "http://127.0.0.1:9/")
    srv.write_config(tsa={"auth": "kamusm", "username": "musteri"})
    res = srv.run("status")
    assert res.returncode == lf.EXIT_USAGE
    assert "tsa.username" in res.stderr or "tsa.password_file" in res.stderr
