"""The municipality's web sites and the blocking of attackers across the lab (roles/web_server and
roles/fail2ban on app01, the blocklist of roles/firewall on fw01).

- The control node (10.231.0.1, on the lab bridge) is the HTTPS client: the main site and its
  English section answer with the security headers, checked against the lab CA; sslyze holds the
  server to Mozilla's "intermediate" profile.
- A request's Law 5651 line reaches log01's web class.
- backup01 plays the attacker: a few scanner requests get it banned on app01 (it can no longer
  connect), the ban reaches fw01's blocklist set and the log server, and unbanning removes it from
  both. mail01 is in the lab's allow-list: the same requests never get it banned, and fw01's wrapper
  refuses it even when asked directly with app01's own key.
Every ban is lifted at the end, so that a rerun starts clean. Traffic stays on the lab bridge.
"""

from __future__ import annotations

import http.client
import json
import shlex
import socket
import ssl
import subprocess
import uuid
from pathlib import Path

import pytest

from .conftest import ROOT, wait_for

APP = "10.231.0.14"
NAME = "app01.lab.ornek.bel.tr"
KIDS = "cocuk.lab.ornek.bel.tr"
CA = ROOT / "inventories" / "lab" / "files" / "pki" / "ca.crt"
ATTACKER, ATTACKER_IP = "backup01", "10.231.0.13"
ALLOWED, ALLOWED_IP = "mail01", "10.231.0.12"
JAIL = "belediye-nginx-scan"
FW_SET = "nft list set inet belediye_blocklist banned4"
SHARE_SSH = (
    "ssh -n -T -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes"
    " -o UserKnownHostsFile=/etc/fail2ban/belediye/known_hosts -i /etc/fail2ban/belediye/blocklist_ed25519"
    " f2b-blocklist@10.231.0.16"
)

# Run on a lab host with Debian's python3: scanner requests to app01, then one plain connection
# attempt; prints what happened as JSON. The certificate is not checked: this is an attacker.
SCANNER = r"""
import json, socket, ssl, sys, urllib.request, urllib.error
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
statuses = []
for path in sys.argv[2:]:
    try:
        statuses.append(urllib.request.urlopen("https://%s%s" % (sys.argv[1], path), context=ctx, timeout=5).status)
    except urllib.error.HTTPError as exc:
        statuses.append(exc.code)
    except OSError as exc:
        statuses.append(type(exc).__name__)
print(json.dumps(statuses))
"""
CONNECT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], 443), timeout=3).close(); print("open")
except OSError as exc:
    print(type(exc).__name__)
"""


@pytest.fixture(scope="module")
def app(lab_hosts):
    return lab_hosts["app01"]


def https_get(path: str, sni: str = NAME, check_hostname: bool = True):
    context = ssl.create_default_context(cafile=str(CA))
    context.check_hostname = check_hostname
    conn = http.client.HTTPConnection(APP, 443, timeout=10)
    conn.sock = context.wrap_socket(socket.create_connection((APP, 443), timeout=10), server_hostname=sni)
    conn.request("GET", path, headers={"Host": sni})
    response = conn.getresponse()
    body = response.read().decode(errors="replace")
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, body


def run_python(host, script: str, *args: str) -> str:
    res = host.run(f"python3 -c {shlex.quote(script)} {' '.join(shlex.quote(a) for a in args)}")
    assert res.rc == 0, res.stderr
    return res.stdout.strip()


def banned_here(app) -> str:
    return app.run(f"fail2ban-client status {JAIL}").stdout


def in_fw_set(fw, address: str) -> bool:
    return address in fw.run(FW_SET).stdout


@pytest.fixture
def clean_bans(app, lab_hosts):
    """No lab host is banned before or after the test (a failed run must not poison the next)."""

    def lift():
        for ip in (ATTACKER_IP, ALLOWED_IP):
            app.run(f"fail2ban-client unban {ip}")  # every jail
            lab_hosts["fw01"].run(f"nft delete element inet belediye_blocklist banned4 {{ {ip} }}")

    lift()
    yield
    lift()


def test_main_site_answers_over_https_with_the_security_headers():
    status, headers, _ = https_get("/")
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=63072000"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'self'" in headers["content-security-policy"]
    status, headers, _ = https_get("/en/")
    assert status == 200
    assert headers["content-language"] == "en"
    assert headers["strict-transport-security"] == "max-age=63072000"


def test_childrens_site_is_its_own_site():
    # The lab certificate names app01 only (no DNS in the lab): the CA is checked, the name is not.
    status, headers, body = https_get("/", sni=KIDS, check_hostname=False)
    assert status == 200
    assert KIDS in body
    assert headers["x-content-type-options"] == "nosniff"


def test_tls_passes_sslyze_mozilla_intermediate():
    # sslyze runs in its own venv (requirements-sslyze.txt): its pins would break .venv's pysnmp.
    sslyze_python = ROOT / ".venv-sslyze" / "bin" / "python"
    assert sslyze_python.exists(), "no .venv-sslyze: make venv builds it"
    res = subprocess.run(
        [str(sslyze_python), str(Path(__file__).with_name("tls_profile.py")), NAME, APP, "443", str(CA)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    issues = json.loads(res.stdout)["issues"]
    # The one waiver: the lab CA's throw-away certificates live ten years, longer than the profile's
    # 366 days. Production takes 90-day certificates from an ACME CA. Everything else must hold.
    lifespan = issues.pop("maximum_certificate_lifespan", "")
    assert issues == {}
    assert lifespan == "" or "366" in lifespan


def test_access_log_line_reaches_the_log_servers_web_class(lab_hosts):
    marker = f"mol5651-{uuid.uuid4().hex[:12]}"
    assert https_get(f"/?{marker}")[0] == 200
    log01 = lab_hosts["log01"]

    def arrived():
        return log01.run(f"grep -rh {marker} /srv/log5651/web/ 2>/dev/null").stdout

    line = wait_for(arrived, timeout=30)
    assert f'request="GET /?{marker} HTTP/1.1" status=200' in line
    assert "src=10.231.0.1 sport=" in line
    # Filed per day and per source host: <root>/web/<YYYY-MM-DD>/app01.log.
    (path,) = log01.run(f"grep -rl {marker} /srv/log5651/web/").stdout.split()
    assert path.startswith("/srv/log5651/web/20")
    assert path.endswith("/app01.log")


def test_scanner_is_banned_shared_with_fw01_and_unbanned_while_the_allow_list_never_is(app, lab_hosts, clean_bans):
    attacker, allowed, fw01 = lab_hosts[ATTACKER], lab_hosts[ALLOWED], lab_hosts["fw01"]
    scans = ["/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/"]
    log01 = lab_hosts["log01"]
    ban_lines = f"cat /var/log/remote/app01/*.log 2>/dev/null | grep -c 'Ban {ATTACKER_IP}'"
    bans_before = int(log01.run(ban_lines).stdout.strip() or 0)
    # The allow-listed host scans first: by the time the attacker is banned, fail2ban has read its lines.
    # Dot files are refused (403), the rest do not exist (404).
    assert json.loads(run_python(allowed, SCANNER, APP, *scans)) == [404, 403, 403, 404]
    assert json.loads(run_python(attacker, SCANNER, APP, *scans)) == [404, 403, 403, 404]

    assert wait_for(lambda: ATTACKER_IP in banned_here(app), timeout=20), banned_here(app)
    assert ALLOWED_IP not in banned_here(app)
    assert run_python(attacker, CONNECT, APP) in ("TimeoutError", "timeout", "ConnectionRefusedError")
    assert run_python(allowed, CONNECT, APP) == "open"
    assert wait_for(lambda: in_fw_set(fw01, ATTACKER_IP), timeout=15), fw01.run(FW_SET).stdout
    assert not in_fw_set(fw01, ALLOWED_IP)
    # The ban went to syslog on app01 and on to log01.
    assert wait_for(lambda: int(log01.run(ban_lines).stdout.strip() or 0) > bans_before, timeout=30)

    app.run_expect([0], f"fail2ban-client unban {ATTACKER_IP}")
    assert wait_for(lambda: not in_fw_set(fw01, ATTACKER_IP), timeout=15)
    assert run_python(attacker, CONNECT, APP) == "open"


def test_fw01s_wrapper_refuses_the_allow_list_and_anything_but_a_ban(app, lab_hosts, clean_bans):
    fw01 = lab_hosts["fw01"]
    for request in (f"ban {ALLOWED_IP} 60", "ban 10.231.8.50 60", f"ban {ATTACKER_IP} 60; id", "id"):
        res = app.run(f"{SHARE_SSH} {shlex.quote(request)}")
        assert res.rc == 2, (request, res.stdout, res.stderr)
        assert "refused" in res.stderr
    assert not in_fw_set(fw01, ALLOWED_IP)
    assert not in_fw_set(fw01, ATTACKER_IP)
    # The key is good for the wrapper only: a sound request is carried out.
    app.run_expect([0], f"{SHARE_SSH} 'ban {ATTACKER_IP} 60'")
    assert in_fw_set(fw01, ATTACKER_IP)
