"""lab/tsa/tsa.py: the lab's RFC 3161 TSA. init is idempotent and issues a timeStamping certificate that
openssl accepts; serve answers health checks and queries with replies that verify against the CA only."""

import base64
import os
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from labtsa import TSA_PY, TSAServer, run_init

MATERIAL = ("ca.key", "ca.crt", "tsa.key", "tsa.crt", "serial", "tsa.cnf")


def openssl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=check)


Server = TSAServer


@pytest.fixture(scope="module")
def tsa_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("labtsa") / "tsa"
    run_init(d)
    return d


@pytest.fixture
def server(tsa_dir, tmp_path):
    srv = Server(tsa_dir, tmp_path)
    yield srv
    srv.stop()


def post(url: str, body: bytes, ctype: str = "application/timestamp-query", headers: dict | None = None):
    headers = {"Content-Type": ctype, **(headers or {})}
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 (127.0.0.1)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type"), exc.read()


def make_query(tmp_path: Path, data: bytes = b"a day of logs\n") -> Path:
    (tmp_path / "data").write_bytes(data)
    openssl("ts", "-query", "-data", str(tmp_path / "data"), "-sha256", "-cert", "-out", str(tmp_path / "q.tsq"))
    return tmp_path / "q.tsq"


# --------------------------------------------------------------------------- init
def test_init_creates_material_and_a_second_run_keeps_it(tmp_path):
    d = tmp_path / "tsa"
    first = run_init(d)
    assert [line.split()[0] for line in first.stdout.splitlines()] == ["created"] * len(MATERIAL)
    before = {name: (d / name).read_bytes() for name in MATERIAL}
    second = run_init(d)
    assert [line.split()[0] for line in second.stdout.splitlines()] == ["kept"] * len(MATERIAL)
    assert {name: (d / name).read_bytes() for name in MATERIAL} == before
    assert oct((d / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert oct((d / "tsa.key").stat().st_mode & 0o777) == "0o600"


def test_init_reissues_only_what_is_missing(tmp_path):
    d = tmp_path / "tsa"
    run_init(d)
    ca = (d / "ca.crt").read_bytes()
    (d / "tsa.crt").unlink()
    out = run_init(d).stdout
    assert f"created {d / 'tsa.crt'}" in out
    assert (d / "ca.crt").read_bytes() == ca
    assert "OK" in openssl("verify", "-CAfile", str(d / "ca.crt"), str(d / "tsa.crt")).stdout


@pytest.mark.parametrize(
    ("cert", "extension", "value"),
    [
        pytest.param("tsa.crt", "X509v3 Extended Key Usage: critical", "Time Stamping", id="tsa-eku-critical"),
        pytest.param("tsa.crt", "X509v3 Key Usage: critical", "Digital Signature, Non Repudiation", id="tsa-key-usage"),
        pytest.param("tsa.crt", "X509v3 Basic Constraints: critical", "CA:FALSE", id="tsa-is-no-ca"),
        pytest.param("ca.crt", "X509v3 Basic Constraints: critical", "CA:TRUE", id="ca-is-a-ca"),
        pytest.param("ca.crt", "X509v3 Key Usage: critical", "Certificate Sign, CRL Sign", id="ca-key-usage"),
    ],
)  # fmt: skip
def test_certificate_extensions(tsa_dir, cert, extension, value):
    text = openssl("x509", "-in", str(tsa_dir / cert), "-noout", "-text").stdout.splitlines()
    stripped = [line.strip() for line in text]
    assert extension in stripped, "\n".join(text)
    assert stripped[stripped.index(extension) + 1] == value


def test_tsa_certificate_is_issued_by_the_ca(tsa_dir):
    res = openssl("verify", "-purpose", "timestampsign", "-CAfile", str(tsa_dir / "ca.crt"), str(tsa_dir / "tsa.crt"))
    assert res.stdout.strip().endswith("OK")


# --------------------------------------------------------------------------- serve
def test_health(server):
    with urllib.request.urlopen(server.url + "health", timeout=5) as resp:  # noqa: S310
        assert (resp.status, resp.read()) == (200, b"ok\n")


def test_reply_verifies_against_the_ca(server, tsa_dir, tmp_path):
    q = make_query(tmp_path)
    status, ctype, body = post(server.url, q.read_bytes())
    assert (status, ctype) == (200, "application/timestamp-reply")
    (tmp_path / "r.tsr").write_bytes(body)
    text = openssl("ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-text").stdout
    assert "Status: Granted." in text
    res = openssl("ts", "-verify", "-queryfile", str(q), "-in", str(tmp_path / "r.tsr"),
                  "-CAfile", str(tsa_dir / "ca.crt"), check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Verification: OK" in res.stdout
    assert " - - " in server.log.read_text()
    assert '"POST / HTTP' in server.log.read_text()


def test_reply_carries_the_signer_certificate_but_not_the_ca(server, tmp_path):
    _status, _ctype, body = post(server.url, make_query(tmp_path).read_bytes())
    (tmp_path / "r.tsr").write_bytes(body)
    openssl("ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-token_out", "-out", str(tmp_path / "token.der"))
    certs = openssl("pkcs7", "-inform", "DER", "-in", str(tmp_path / "token.der"), "-print_certs", "-noout").stdout
    subjects = [line for line in certs.splitlines() if line.startswith("subject=")]
    assert len(subjects) == 1, certs
    assert "Root CA" not in subjects[0]


def test_wrong_content_type_is_refused(server):
    assert post(server.url, b"\x30\x03\x02\x01\x01", "application/octet-stream")[0] == 415


def test_garbage_query_gets_an_rfc3161_rejection(server, tmp_path):
    status, ctype, body = post(server.url, b"not a query")
    assert (status, ctype) == (200, "application/timestamp-reply")
    (tmp_path / "r.tsr").write_bytes(body)
    text = openssl("ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-text").stdout
    assert "Status: Rejected." in text
    assert "wrong format" in text


def test_unknown_path_is_404(server):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + "nothing", timeout=5)  # noqa: S310
    assert err.value.code == 404


def test_concurrent_queries_get_distinct_serials(server, tmp_path):
    q = make_query(tmp_path).read_bytes()
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _i: post(server.url, q), range(8)))
    serials = set()
    for i, (status, _ctype, body) in enumerate(replies):
        assert status == 200
        (tmp_path / f"r{i}.tsr").write_bytes(body)
        text = openssl("ts", "-reply", "-in", str(tmp_path / f"r{i}.tsr"), "-text").stdout
        serials.add(next(line for line in text.splitlines() if line.startswith("Serial number:")))
    assert len(serials) == 8


def test_basic_auth_is_enforced_when_configured(tsa_dir, tmp_path):
    (tmp_path / "auth").write_text("stamper:s3cret\n")
    srv = Server(tsa_dir, tmp_path, "--auth-file", str(tmp_path / "auth"))
    try:
        q = make_query(tmp_path).read_bytes()
        assert post(srv.url, q)[0] == 401
        wrong = {"Authorization": "Basic " + base64.b64encode(b"stamper:nope").decode()}
        assert post(srv.url, q, headers=wrong)[0] == 401
        right = {"Authorization": "Basic " + base64.b64encode(b"stamper:s3cret").decode()}
        assert post(srv.url, q, headers=right)[0] == 200
    finally:
        srv.stop()


def test_sigterm_stops_cleanly_and_removes_its_files(tsa_dir, tmp_path):
    srv = Server(tsa_dir, tmp_path)
    assert int(srv.pid_file.read_text()) == srv.proc.pid
    assert srv.stop() == 0
    assert not srv.port_file.exists()
    assert not srv.pid_file.exists()
    assert "stopped" in srv.log.read_text()


def test_serve_without_init_fails_with_one_line(tmp_path):
    res = subprocess.run([sys.executable, str(TSA_PY), "serve", str(tmp_path / "none"), "--port", "0"],
                         capture_output=True, text=True, timeout=10)  # fmt: skip
    assert res.returncode == 1
    assert "run: tsa.py init" in res.stderr
    assert "Traceback" not in res.stderr


def test_tsa_py_has_no_third_party_imports():
    imports = [line.split()[1] for line in TSA_PY.read_text().splitlines() if line.startswith(("import ", "from "))]
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    assert [m for m in imports if m.split(".")[0] not in allowed] == []


def test_tsa_py_is_executable_script():
    assert TSA_PY.read_text().startswith("#!/usr/bin/env python3")
    assert os.access(TSA_PY, os.X_OK)
