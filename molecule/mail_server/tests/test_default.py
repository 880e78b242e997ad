"""Behaviour of the corporate mail server on one converged Debian 12 instance.

Every client runs on the instance itself, with Debian's python3 (smtplib, imaplib, ssl) and the
scenario's CA from /root/mol-tls, and connects to the instance's lab name and address: that source
is not in mynetworks, so the server treats it as any other host. The DKIM check feeds the record
from the DNS records file that the role wrote on the control node to python3-dkim (no DNS in the
lab), which proves that the published record and the signing key belong together.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
import uuid
from pathlib import Path

import pytest

DOMAIN = "lab.ornek.bel.tr"
NAME = f"mail-debian.{DOMAIN}"
ALIAS = f"destek@{DOMAIN}"
LIST = f"bilgi-islem@{DOMAIN}"
SELECTOR = "posta2026"
VMAIL = "/var/vmail"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
DELIVERED_COPY = "/root/mol-delivered.eml"
SECRETS = EPHEMERAL / "secrets"


def _secret(name: str) -> str:
    """A password that molecule.yml's password lookup made in the ephemeral directory (first line)."""
    return (SECRETS / name).read_text(encoding="utf-8").split()[0]


AYSE = (f"ayse.yilmaz@{DOMAIN}", _secret("ayse") if SECRETS.is_dir() else "")
MEHMET = (f"mehmet.demir@{DOMAIN}", _secret("mehmet") if SECRETS.is_dir() else "")
ABSENT = (f"eski.personel@{DOMAIN}", _secret("eski") if SECRETS.is_dir() else "")
CLAMAV = os.environ.get("MOL_MAIL_CLAMAV", "true").lower() not in ("false", "0", "no")

# One SMTP session, described by a JSON argument; prints what the server answered at each step.
SMTP_CLIENT = r"""
import json, smtplib, ssl, sys
from email.message import EmailMessage
from email.utils import formatdate
cfg = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile="/root/mol-tls/ca.crt")
out = {}
s = smtplib.SMTP(cfg["server"], cfg["port"], local_hostname="istemci.test.example", timeout=60)
s.ehlo()
out["auth_offered_before_tls"] = s.has_extn("auth")
if cfg.get("mail_before_tls"):
    code, msg = s.mail(cfg["from"])
    out["mail_before_tls"] = [code, msg.decode()]
    s.rset()
if cfg.get("starttls"):
    s.starttls(context=ctx)
    s.ehlo()
    out["auth_offered"] = s.has_extn("auth")
if cfg.get("user"):
    try:
        code, msg = s.login(cfg["user"], cfg["password"])
    except smtplib.SMTPAuthenticationError as exc:
        code, msg = exc.smtp_code, exc.smtp_error
    out["auth"] = [code, msg.decode()]
code, msg = s.mail(cfg["from"])
out["mail"] = [code, msg.decode()]
if code == 250:
    code, msg = s.rcpt(cfg["to"])
    out["rcpt"] = [code, msg.decode()]
    if code in (250, 251):
        m = EmailMessage()
        m["From"] = cfg["from"]
        m["To"] = cfg["to"]
        m["Subject"] = cfg.get("subject", "Deneme")
        m["Message-ID"] = cfg["msgid"]
        m["Date"] = formatdate(localtime=True)
        m.set_content("Merhaba, bu bir deneme iletisidir.\n")
        if cfg.get("attachment"):
            m.add_attachment(cfg["attachment"].encode(), maintype="application", subtype="octet-stream",
                             filename="belge.com")
        try:
            code, msg = s.data(m.as_bytes())
        except smtplib.SMTPDataError as exc:
            code, msg = exc.smtp_code, exc.smtp_error
        out["data"] = [code, msg.decode()]
s.quit()
print(json.dumps(out))
"""

# Logs in over IMAPS and looks for a message by Message-ID; prints the quota and the message.
IMAP_CLIENT = r"""
import base64, imaplib, json, ssl, sys
server, user, password, msgid = sys.argv[1:]
ctx = ssl.create_default_context(cafile="/root/mol-tls/ca.crt")
out = {}
m = imaplib.IMAP4_SSL(server, 993, ssl_context=ctx, timeout=30)
try:
    m.login(user, password)
except imaplib.IMAP4.error as exc:
    print(json.dumps({"login": "refused", "error": str(exc)}))
    sys.exit(0)
out["login"] = "ok"
m.select("INBOX")
typ, data = m.getquotaroot("INBOX")
out["quota"] = [x.decode() if isinstance(x, bytes) else str(x) for part in data for x in part]
typ, data = m.search(None, "HEADER", "Message-ID", msgid)
ids = data[0].split()
if ids:
    typ, data = m.fetch(ids[-1], "(RFC822)")
    out["message"] = base64.b64encode(data[0][1]).decode()
m.logout()
print(json.dumps(out))
"""

# Verifies the DKIM signature of a message file with python3-dkim, answering the key lookup from
# the given record; prints the selector asked for and the verdict.
DKIM_CHECK = r"""
import dkim, json, sys
path, record = sys.argv[1:]
asked = []
def dnsfunc(name, timeout=5):
    asked.append(name.decode() if isinstance(name, bytes) else name)
    return record.encode()
data = open(path, "rb").read()
print(json.dumps({"verified": bool(dkim.verify(data, dnsfunc=dnsfunc)), "asked": asked}))
"""


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(host):
    """The instance, with commands run as root."""
    with host.sudo():
        yield host


def lab_address(host) -> str:
    return host.check_output("hostname -I").split()[0]


def python(root, script: str, *args: str) -> dict:
    res = root.run("python3 -c " + shlex.quote(script) + " " + " ".join(shlex.quote(a) for a in args))
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def smtp(root, **cfg) -> dict:
    cfg.setdefault("server", NAME)
    cfg.setdefault("msgid", f"<{uuid.uuid4().hex}@mol.test>")
    return python(root, SMTP_CLIENT, json.dumps(cfg))


def submit(root, login: tuple[str, str], recipient: str, msgid: str, sender: str = "") -> dict:
    """Log in as login (address, password) on 587 after STARTTLS and send as sender (default: the login)."""
    user, password = login
    return smtp(
        root,
        port=587,
        starttls=True,
        user=user,
        password=password,
        to=recipient,
        msgid=msgid,
        **{"from": sender or user},
    )


def maildir(box: str) -> str:
    local, domain = box.split("@")
    return f"{VMAIL}/{domain}/{local}/Maildir"


def wait_for_delivery(root, box: str, msgid: str, timeout: float = 120) -> str:
    """The maildir file of box that holds msgid, once it is there ("" after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        res = root.run(f"grep -rlF -- {shlex.quote(msgid)} {maildir(box)}/new {maildir(box)}/cur")
        if res.stdout.strip() or time.monotonic() > deadline:
            return res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
        time.sleep(1)


def new_msgid() -> str:
    return f"<{uuid.uuid4().hex}@mol.test>"


def dns_records() -> str:
    path = EPHEMERAL / "dns" / f"{DOMAIN}.txt"
    assert path.is_file(), f"the role wrote no DNS records file at {path}"
    return path.read_text()


def dkim_record(text: str) -> str:
    """The value of the DKIM TXT record in the records file, its quoted strings joined."""
    match = re.search(rf"^{SELECTOR}\._domainkey\s+IN\s+TXT\s+(\(.*?\)|\".*?\")\s*$", text, re.M | re.S)
    assert match, text
    return "".join(re.findall(r'"([^"]*)"', match.group(1)))


# --- services and ports --------------------------------------------------------------------------


def test_services_are_running(host):
    units = ["postfix@-", "dovecot", "opendkim"] + (["clamav-milter", "clamav-daemon"] if CLAMAV else [])
    for unit in units:
        assert host.service(unit).is_running, unit
        assert host.service(unit.replace("@-", "")).is_enabled, unit


def listening_ports(root) -> set[int]:
    """TCP ports in LISTEN state (0A), read from /proc: the base image has no ss or netstat."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in root.file(table).content_string.splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_smtp_submission_and_imaps_listen_and_plain_imap_and_pop3_do_not(root):
    ports = listening_ports(root)
    assert {25, 587, 993} <= ports
    assert 143 not in ports
    assert 110 not in ports


def test_plain_imap_is_refused(root):
    res = root.run(f"python3 -c 'import socket; socket.create_connection((\"{NAME}\", 143), timeout=5)'")
    assert res.rc != 0
    assert "refused" in res.stderr.lower()


# --- relay and submission rules ------------------------------------------------------------------


def test_an_unauthenticated_client_cannot_relay_to_an_outside_domain(root):
    out = smtp(root, server=lab_address(root), port=25, to="alici@baska.example", **{"from": "dis@dis.example"})
    assert out["mail"][0] == 250, out
    assert out["rcpt"][0] == 554, out
    assert "Relay access denied" in out["rcpt"][1]


def test_a_forged_own_domain_sender_from_outside_is_refused_on_port_25(root):
    out = smtp(root, server=lab_address(root), port=25, to=MEHMET[0], **{"from": AYSE[0]})
    refused = out.get("rcpt", out["mail"])
    assert refused[0] == 554, out
    assert "submission (587)" in refused[1]
    assert "data" not in out


def test_submission_needs_tls_first_and_offers_auth_only_inside_tls(root):
    out = smtp(root, port=587, mail_before_tls=True, starttls=True, to=MEHMET[0], **{"from": AYSE[0]})
    assert out["auth_offered_before_tls"] is False
    assert out["mail_before_tls"][0] == 530, out
    assert out["auth_offered"] is True


def test_submission_without_login_is_refused(root):
    out = smtp(root, port=587, starttls=True, to=MEHMET[0], **{"from": AYSE[0]})
    refused = out.get("rcpt", out["mail"])
    assert 500 <= refused[0] < 600, out
    assert "data" not in out


def test_a_wrong_password_is_refused(root):
    out = submit(root, (AYSE[0], "yanlis-parola-123"), MEHMET[0], new_msgid())
    assert out["auth"][0] == 535, out


def test_a_user_cannot_send_as_a_colleague(root):
    out = submit(root, AYSE, MEHMET[0], new_msgid(), sender=MEHMET[0])
    assert 500 <= out["rcpt"][0] < 600, out
    assert "not owned" in out["rcpt"][1]


def test_an_absent_mailbox_neither_logs_in_nor_receives(root):
    out = python(root, IMAP_CLIENT, NAME, ABSENT[0], ABSENT[1], new_msgid())
    assert out["login"] == "refused"
    out = smtp(root, server=lab_address(root), port=25, to=ABSENT[0], **{"from": "dis@dis.example"})
    assert out["rcpt"][0] == 550, out


# --- delivery, IMAPS, DKIM -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def delivered(root):
    """A message Ayşe submitted to Mehmet (587, TLS, login): its Message-ID and maildir file."""
    msgid = new_msgid()
    out = submit(root, AYSE, MEHMET[0], msgid)
    assert out["auth"][0] == 235, out
    assert out["data"][0] == 250, out
    path = wait_for_delivery(root, MEHMET[0], msgid)
    assert path, f"{msgid} never reached {maildir(MEHMET[0])}"
    # A copy for the DKIM checks: reading the message over IMAP moves the file from new/ to cur/.
    root.check_output(f"cp -p -- {shlex.quote(path)} {DELIVERED_COPY}")
    return msgid, path


def test_an_authenticated_message_is_delivered_to_the_maildir(root, delivered):
    f = root.file(DELIVERED_COPY)
    assert f.user == "vmail"
    assert f.group == "vmail"
    assert f.mode == 0o600


def test_the_message_is_fetched_over_imaps(root, delivered):
    msgid, _ = delivered
    out = python(root, IMAP_CLIENT, NAME, MEHMET[0], MEHMET[1], msgid)
    assert out["login"] == "ok"
    assert "message" in out, out


def test_quotas_come_from_the_inventory(root):
    ayse = python(root, IMAP_CLIENT, NAME, AYSE[0], AYSE[1], new_msgid())
    mehmet = python(root, IMAP_CLIENT, NAME, MEHMET[0], MEHMET[1], new_msgid())
    assert any("STORAGE" in q and q.rstrip(")").endswith(" 1048576") for q in ayse["quota"]), ayse["quota"]
    assert any("STORAGE" in q and q.rstrip(")").endswith(" 2097152") for q in mehmet["quota"]), mehmet["quota"]


def test_the_delivered_message_carries_a_dkim_signature_that_verifies_against_the_published_record(root, delivered):
    assert "DKIM-Signature:" in root.file(DELIVERED_COPY).content_string
    record = dkim_record(dns_records())
    out = python(root, DKIM_CHECK, DELIVERED_COPY, record)
    assert out["verified"] is True, out
    assert out["asked"]
    assert out["asked"][0].rstrip(".") == f"{SELECTOR}._domainkey.{DOMAIN}"


def test_a_changed_message_no_longer_verifies(root, delivered):
    root.check_output(f"sed 's/deneme iletisidir/degistirilmis ileti/' {DELIVERED_COPY} > /root/mol-changed.eml")
    out = python(root, DKIM_CHECK, "/root/mol-changed.eml", dkim_record(dns_records()))
    assert out["verified"] is False


def test_the_alias_and_the_directorate_list_reach_their_mailboxes(root):
    alias_id, list_id = new_msgid(), new_msgid()
    assert submit(root, MEHMET, ALIAS, alias_id)["data"][0] == 250
    assert submit(root, AYSE, LIST, list_id)["data"][0] == 250
    assert wait_for_delivery(root, AYSE[0], alias_id)
    assert wait_for_delivery(root, AYSE[0], list_id)
    assert wait_for_delivery(root, MEHMET[0], list_id)


def test_mail_logs_go_through_syslog(root, delivered):
    msgid, _ = delivered
    deadline = time.monotonic() + 60
    while True:
        log = root.run(f"grep -F -- {shlex.quote(msgid)} /var/log/mail.log").stdout
        if ("postfix/cleanup" in log and "dovecot" in log) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "postfix/cleanup" in log
    assert "dovecot" in log
    assert "postfix/submission/smtpd" in root.check_output("grep -F sasl_username= /var/log/mail.log || true")


# --- antivirus -----------------------------------------------------------------------------------


@pytest.mark.skipif(not CLAMAV, reason="scenario run without clamd (MOL_MAIL_CLAMAV=false)")
def test_an_infected_attachment_is_refused_at_data(root):
    # The EICAR test file, put together at run time so that this source file is not itself a hit.
    eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS" + "-TEST-FILE!$H+H*"
    msgid = new_msgid()
    out = smtp(
        root,
        server=lab_address(root),
        port=25,
        to=MEHMET[0],
        msgid=msgid,
        attachment=eicar,
        **{"from": "dis@dis.example"},
    )
    assert out["rcpt"][0] == 250, out
    assert 500 <= out["data"][0] < 600, out
    assert not wait_for_delivery(root, MEHMET[0], msgid, timeout=5)


@pytest.mark.skipif(not CLAMAV, reason="scenario run without clamd (MOL_MAIL_CLAMAV=false)")
def test_while_the_scanner_is_down_mail_is_deferred_never_accepted_unscanned(root):
    msgid = new_msgid()
    root.check_output("systemctl stop clamav-milter")
    try:
        out = smtp(root, server=lab_address(root), port=25, to=MEHMET[0], msgid=msgid, **{"from": "dis@dis.example"})
    finally:
        root.check_output("systemctl start clamav-milter")
    answers = [out[step][0] for step in ("mail", "rcpt", "data") if step in out]
    assert any(400 <= code < 500 for code in answers), out
    assert 250 not in answers[-1:], out
    assert not wait_for_delivery(root, MEHMET[0], msgid, timeout=3)


# --- files and records ---------------------------------------------------------------------------


def test_the_users_file_holds_salted_hashes_only(root):
    f = root.file("/etc/dovecot/users")
    assert (f.user, f.group, f.mode) == ("root", "dovecot", 0o640)
    content = f.content_string
    assert AYSE[1] not in content
    assert MEHMET[1] not in content
    lines = [line for line in content.splitlines() if line and not line.startswith("#")]
    assert sorted(line.split(":")[0] for line in lines) == sorted([AYSE[0], MEHMET[0]])
    assert all(":{SHA512-CRYPT}$6$rounds=100000$" in line for line in lines)


def test_the_signing_key_is_readable_by_opendkim_only(root):
    f = root.file(f"/etc/opendkim/keys/{DOMAIN}/{SELECTOR}.private")
    assert (f.user, f.mode) == ("opendkim", 0o600)


def test_the_dns_records_file_lists_mx_spf_dkim_and_dmarc():
    text = dns_records()
    assert f"$ORIGIN {DOMAIN}." in text
    assert re.search(rf"^@\s+IN\s+MX\s+10 {re.escape(NAME)}\.$", text, re.M)
    assert re.search(r'^@\s+IN\s+TXT\s+"v=spf1 mx -all"$', text, re.M)
    assert re.search(
        r'^_dmarc\s+IN\s+TXT\s+"v=DMARC1; p=quarantine; rua=mailto:dmarc@lab\.ornek\.bel\.tr"$', text, re.M
    )
    assert dkim_record(text).startswith("v=DKIM1; h=sha256; k=rsa; p=MII")


def test_postfix_config_checker_refuses_a_misspelt_parameter(root):
    root.check_output("cp /etc/postfix/main.cf /root/mol-bad-main.cf")
    root.check_output("echo 'smtpd_tls_secruity_level = may' >> /root/mol-bad-main.cf")
    res = root.run("/usr/local/lib/belediye/postfix-config-check main /root/mol-bad-main.cf")
    assert res.rc != 0
    assert "smtpd_tls_secruity_level" in res.stderr
    assert root.run("/usr/local/lib/belediye/postfix-config-check main /etc/postfix/main.cf").rc == 0
