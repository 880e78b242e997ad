#!/usr/bin/env python3
"""tsa.py: the lab's RFC 3161 time-stamp authority (TSA), built on `openssl ts`.

    tsa.py init DIR [--name NAME]
        Issue a throw-away CA (ca.key, ca.crt), a TSA signing certificate (tsa.key, tsa.crt) and the
        `openssl ts` configuration (tsa.cnf, serial). Idempotent: material that exists is kept.
    tsa.py serve DIR --bind ADDR --port N [--port-file F] [--pid-file F] [--auth-file F]
                 [--tls-cert F --tls-key F [--tls-client-ca F]]
        Answer POSTed time-stamp queries (Content-Type application/timestamp-query) with a reply
        (application/timestamp-reply) made by `openssl ts -reply`. GET /health answers "ok".
        Port 0 picks a free port; --port-file receives it. SIGTERM (or SIGINT) stops it cleanly.
        --auth-file F holds one line "user:password": queries then need that HTTP basic auth.
        --tls-cert/--tls-key serve HTTPS; --tls-client-ca also requires a client certificate.

The signing certificate carries extendedKeyUsage=critical,timeStamping (openssl refuses to sign with
anything else) and keyUsage=critical,digitalSignature,nonRepudiation. The reply holds the signing
certificate when the query asks for it (`-cert`), never the CA: openssl writes a CA added to the reply
in an unsorted DER SET, which strict clients such as rfc3161-client reject
(../shared/research/lynis-and-tsa.md, section 4). Clients verify with the CA (ca.crt) as trust anchor.

Only the standard library and the openssl CLI are needed. This is lab equipment: the keys are not
protected by anything but file modes.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import http.server
import os
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_QUERY_BYTES = 64 * 1024
CA_DAYS = 3650
TSA_DAYS = 1825
# A fixed OID under the UUID arc (2.25, ITU-T X.667): unique without registering anything.
LAB_POLICY = "2.25.248224839437612931232419113434657945681"

TSA_CNF = """\
# openssl ts configuration of the lab TSA ({name}); written by lab/tsa/tsa.py init.
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
other_policies = {policy}.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
# No "certs =": the CA must not go into the reply (see the module docstring).
"""

TSA_EXT = """\
[ v3_tsa ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


class TSAError(Exception):
    """An expected failure, reported as one line."""


def openssl(*args: str, stdin: bytes | None = None) -> bytes:
    res = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)
    if res.returncode != 0:
        detail = res.stderr.decode(errors="replace").strip().splitlines()
        raise TSAError(f"openssl {args[0]} failed: {detail[-1] if detail else 'exit ' + str(res.returncode)}")
    return res.stdout


# --------------------------------------------------------------------------- init
def _new_key(path: Path) -> None:
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path))
    path.chmod(0o600)


def init(directory: Path, name: str) -> list[str]:
    """Create what is missing in directory; return one line per file created or kept."""
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    report: list[str] = []

    def step(filename: str, make) -> None:
        path = directory / filename
        if path.exists():
            report.append(f"kept {path}")
        else:
            make(path)
            report.append(f"created {path}")

    step("ca.key", _new_key)

    def make_ca(path: Path) -> None:
        openssl(
            "req", "-x509", "-new", "-key", str(directory / "ca.key"), "-sha256", "-days", str(CA_DAYS),
            "-subj", f"/O={name}/CN={name} Root CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
            "-out", str(path),
        )  # fmt: skip

    step("ca.crt", make_ca)
    step("tsa.key", _new_key)

    def make_tsa_cert(path: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="tsa-init-") as tmp:
            csr, ext = Path(tmp) / "tsa.csr", Path(tmp) / "tsa.ext"
            ext.write_text(TSA_EXT)
            openssl("req", "-new", "-key", str(directory / "tsa.key"), "-subj", f"/O={name}/CN={name}",
                    "-out", str(csr))  # fmt: skip
            openssl(
                "x509", "-req", "-in", str(csr), "-CA", str(directory / "ca.crt"),
                "-CAkey", str(directory / "ca.key"), "-set_serial", "0x" + secrets.token_hex(16),
                "-days", str(TSA_DAYS), "-sha256", "-extfile", str(ext), "-extensions", "v3_tsa",
                "-out", str(path),
            )  # fmt: skip

    step("tsa.crt", make_tsa_cert)
    step("serial", lambda path: path.write_text("01\n"))
    step("tsa.cnf", lambda path: path.write_text(TSA_CNF.format(name=name, dir=directory.resolve(), policy=LAB_POLICY)))
    return report


# --------------------------------------------------------------------------- serve
class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "belediye-lab-tsa/1.0"
    protocol_version = "HTTP/1.0"

    def _answer(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.rstrip("/") == "/health":
            self._answer(200, b"ok\n")
        else:
            self._answer(404, b"not found; POST a time-stamp query or GET /health\n")

    def _authorised(self) -> bool:
        expected = self.server.auth  # type: ignore[attr-defined]
        if expected is None:
            return True
        given = self.headers.get("Authorization", "")
        return given.startswith("Basic ") and hmac.compare_digest(given[6:].strip().encode(), expected)

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorised():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="lab TSA"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != QUERY_TYPE:
            self._answer(415, f"Content-Type must be {QUERY_TYPE}\n".encode())
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(411, b"Content-Length required\n")
            return
        if not 0 < length <= MAX_QUERY_BYTES:
            self._answer(413, b"query empty or too large\n")
            return
        query = self.rfile.read(length)
        try:
            reply = self.server.stamp(query)  # type: ignore[attr-defined]
        except TSAError as exc:
            self.log_message("refused: %s", exc)
            self._answer(400, f"{exc}\n".encode())
            return
        self._answer(200, reply, REPLY_TYPE)


class TSAServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], directory: Path, auth: bytes | None) -> None:
        super().__init__(address, Handler)
        self.directory = directory
        self.auth = auth
        self._serial_lock = threading.Lock()  # openssl updates the serial file in place

    def stamp(self, query: bytes) -> bytes:
        d = self.directory
        with tempfile.TemporaryDirectory(prefix="tsa-req-") as tmp:
            q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            q.write_bytes(query)
            with self._serial_lock:
                openssl(
                    "ts", "-reply", "-config", str(d / "tsa.cnf"), "-section", "tsa_config1",
                    "-queryfile", str(q), "-inkey", str(d / "tsa.key"), "-signer", str(d / "tsa.crt"),
                    "-out", str(r),
                )  # fmt: skip
            return r.read_bytes()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)


def serve(directory: Path, bind: str, port: int, port_file: Path | None, pid_file: Path | None,
          auth_file: Path | None, tls: tuple[Path, Path, Path | None] | None = None) -> None:  # fmt: skip
    for needed in ("tsa.cnf", "tsa.key", "tsa.crt", "serial"):
        if not (directory / needed).exists():
            raise TSAError(f"{directory / needed} is missing; run: tsa.py init {directory}")
    auth = None
    if auth_file is not None:
        auth = base64.b64encode(auth_file.read_text().strip().encode())
    server = TSAServer((bind, port), directory, auth)
    scheme = "http"
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(tls[0]), str(tls[1]))
        if tls[2]:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(str(tls[2]))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)  # a failed handshake drops that client
        scheme = "https"
    actual_port = server.server_address[1]

    def stop(signum, _frame) -> None:
        print(f"tsa: signal {signum}, stopping", file=sys.stderr, flush=True)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if pid_file:
        _write_atomic(pid_file, f"{os.getpid()}\n")
    if port_file:
        _write_atomic(port_file, f"{actual_port}\n")
    print(f"tsa: serving {directory} on {scheme}://{bind}:{actual_port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for f in (port_file, pid_file):
            if f:
                f.unlink(missing_ok=True)
        print("tsa: stopped", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsa.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_init = sub.add_parser("init", help="create the CA, the TSA certificate and tsa.cnf (idempotent)")
    p_init.add_argument("dir", type=Path)
    p_init.add_argument("--name", default="Belediye lab TSA", help="organisation and CN prefix")
    p_serve = sub.add_parser("serve", help="answer RFC 3161 queries over HTTP")
    p_serve.add_argument("dir", type=Path)
    p_serve.add_argument("--bind", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=3318, help="0 picks a free port")
    p_serve.add_argument("--port-file", type=Path, help="write the port here once listening")
    p_serve.add_argument("--pid-file", type=Path)
    p_serve.add_argument("--auth-file", type=Path, help='file with "user:password": require basic auth')
    p_serve.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    p_serve.add_argument("--tls-key", type=Path, help="key of --tls-cert")
    p_serve.add_argument("--tls-client-ca", type=Path, help="require client certificates issued by this CA")
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            for line in init(args.dir, args.name):
                print(line)
        else:
            if bool(args.tls_cert) != bool(args.tls_key):
                parser.error("--tls-cert and --tls-key go together")
            tls = (args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
            serve(args.dir.resolve(), args.bind, args.port, args.port_file, args.pid_file, args.auth_file, tls)
    except (TSAError, OSError) as exc:
        print(f"tsa.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
