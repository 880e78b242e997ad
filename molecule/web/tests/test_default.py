"""Behaviour of the web server and fail2ban on one converged Debian 12 instance.

The HTTPS client is the control node itself (Python's ssl and http.client), on the lab bridge
(10.231.0.1), checking the instance's certificate against the scenario's throw-away CA. The same
address then plays the attacker: three scanner requests get it banned on 80/443 (SSH, and so this
verifier, keeps working), and it is unbanned at the end. The allow-list is shown with log lines of
an allow-listed address written into the access log before the attack: when the attacker's later
lines have got it banned, fail2ban has read those too and banned nobody for them.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://web-debian"]

CA = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "pki" / "ca.crt"
NAME = "web-debian.lab.ornek.bel.tr"
ATTACKER = "10.231.0.1"
ALLOWED = "10.231.250.7"
JAIL = "belediye-nginx-scan"


@pytest.fixture(scope="module")
def address(host) -> str:
    return host.ansible.get_variables()["ansible_host"]


@pytest.fixture(scope="module")
def root(host):
    """The instance as root: the access log, fail2ban-client and the journal are root's."""
    with host.sudo():
        yield host


def tls_context(check_hostname: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(CA))
    context.check_hostname = check_hostname
    return context


def get(address: str, path: str, sni: str = NAME, check_hostname: bool = True, timeout: float = 5):
    """GET over TLS to the address, with the given SNI and Host header; (status, headers, body)."""
    raw = socket.create_connection((address, 443), timeout=timeout)
    conn = http.client.HTTPConnection(address, 443, timeout=timeout)
    conn.sock = tls_context(check_hostname).wrap_socket(raw, server_hostname=sni)
    conn.request("GET", path, headers={"Host": sni})
    response = conn.getresponse()
    body = response.read().decode(errors="replace")
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, body


def test_main_site_answers_over_https_with_the_security_headers(address):
    status, headers, body = get(address, "/")
    assert status == 200
    assert "içerik" in body
    assert headers["strict-transport-security"] == "max-age=63072000"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["server"] == "nginx"  # no version


def test_english_section_keeps_the_headers_and_says_its_language(address):
    status, headers, body = get(address, "/en/")
    assert status == 200
    assert "content coming soon" in body
    assert headers["content-language"] == "en"
    assert headers["strict-transport-security"] == "max-age=63072000"
    assert headers["x-content-type-options"] == "nosniff"


def test_http_redirects_to_https_and_unknown_names_get_no_answer(address):
    conn = http.client.HTTPConnection(address, 80, timeout=5)
    conn.request("GET", "/en/?q=1", headers={"Host": NAME})
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{NAME}/en/?q=1"
    conn.close()
    conn = http.client.HTTPConnection(address, 80, timeout=5)
    conn.request("GET", "/", headers={"Host": "baska.example"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        conn.getresponse()


@pytest.mark.parametrize(
    ("version", "accepted"),
    [(ssl.TLSVersion.TLSv1_1, False), (ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_3, True)],
)
def test_only_tls_1_2_and_1_3_are_spoken(address, version, accepted):
    context = tls_context()
    context.minimum_version = context.maximum_version = version
    if version == ssl.TLSVersion.TLSv1_1:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with (
            socket.create_connection((address, 443), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=NAME) as tls,
        ):
            got = tls.version()
    except (ssl.SSLError, ConnectionResetError):
        got = None
    assert (got is not None) == accepted


def test_php_site_runs_php_through_fpm(root, address):
    script = "/srv/www/cocuk/mol-check.php"
    root.run_expect([0], f"printf '<?php echo \"php-\" . (6 * 7);' > {script}")
    try:
        status, headers, body = get(address, "/mol-check.php", sni="cocuk.lab.ornek.bel.tr", check_hostname=False)
    finally:
        root.run(f"rm -f {script}")
    assert status == 200
    assert body == "php-42"
    assert headers["x-content-type-options"] == "nosniff"


def test_access_log_has_the_law_5651_fields(root, address):
    get(address, "/?mol=5651")
    line = next(
        (ln for ln in reversed(root.file("/var/log/nginx/access.log").content_string.splitlines()) if "mol=5651" in ln),
        "",
    )
    assert line.startswith(f"src={ATTACKER} sport=")
    assert " time=" in line
    assert 'request="GET /?mol=5651 HTTP/1.1" status=200 ' in line
    assert root.run("/usr/sbin/rsyslogd -N1").rc == 0


def test_configuration_passes_fail2ban_client_test(root):
    assert root.run("fail2ban-client -t").rc == 0


def _banned(root) -> str:
    return root.run(f"fail2ban-client status {JAIL}").stdout


def test_scanner_is_banned_the_allow_list_never_and_the_ban_reaches_syslog(root, address):
    now = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    lines = "".join(
        f'src={ALLOWED} sport=4000{n} time={now} dst={address}:443 host="{NAME}" '
        f'request="GET /wp-login.php HTTP/1.1" status=404 bytes=0 referer="-" agent="mol" rt=0.000\n'
        for n in range(5)
    )
    root.run_expect([0], f"printf '%s' '{lines}' >> /var/log/nginx/access.log")
    try:
        for n in range(3):
            status, _, _ = get(address, f"/.env?try={n}")
            assert status == 403  # dot files are never served
        deadline = time.monotonic() + 20
        while ATTACKER not in _banned(root) and time.monotonic() < deadline:
            time.sleep(0.5)
        status_text = _banned(root)
        assert ATTACKER in status_text
        assert ALLOWED not in status_text
        with pytest.raises((TimeoutError, ConnectionRefusedError)):
            socket.create_connection((address, 443), timeout=3).close()
        journal = root.run("journalctl --since -5min --no-pager").stdout
        assert f"Ban {ATTACKER}" in journal
    finally:
        root.run(f"fail2ban-client unban {ATTACKER}")  # every jail (the 403s count as brute force too)
    status, _, _ = get(address, "/")
    assert status == 200
