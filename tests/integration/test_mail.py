"""Corporate mail across the lab (roles/mail_server on mail01, clamd from roles/antivirus).

Two kinds of client, as in a real estate:
- app01, an application server in mail_server_mynetworks, sends notifications to port 25 with
  STARTTLS and no password (the client runs on app01 with Debian's python3);
- the control node (10.231.0.1, on the lab bridge and outside mynetworks) plays both a stranger's
  server on the internet and a member of staff: relaying and unauthenticated submission must be
  refused to it, and a user who logs in on 587 may send, as herself only. It reads mailboxes over
  IMAPS, checking mail01's certificate against the lab CA.

The DKIM signatures are checked on the control node with dkimpy (not the signer's own library),
the key lookup answered from the DNS records file that the role wrote for the DNS administrators:
a pass proves that the record to publish and the signing key belong together. Mailbox passwords
come from the lab vault and stay in this process: nothing is passed on a command line.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import json
import re
import shlex
import smtplib
import socket
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import dkim
import pytest

from .conftest import ROOT

DOMAIN = "lab.ornek.bel.tr"
SERVER = f"mail01.{DOMAIN}"
SERVER_IP = "10.231.0.12"
SELECTOR = "posta2026"
CA = ROOT / "inventories" / "lab" / "files" / "pki" / "ca.crt"
RECORDS = ROOT / "reports" / "dns" / f"{DOMAIN}.txt"
STRANGER_HELO = "mx.dis-kurum.example"
EICAR_NAME = "Belediye.Test.EICAR.UNOFFICIAL"

# One SMTP session on app01, described by a JSON argument (no secrets in it); prints each answer.
APP_CLIENT = r"""
import json, smtplib, socket, ssl, sys
cfg = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cadata=cfg["ca"])
out = {}
s = smtplib.SMTP(local_hostname=cfg["helo"], timeout=90)
code, text = s.connect(cfg["server_ip"], 25)
out["banner"] = [code, text.decode()]
s._host = cfg["server"]  # the name STARTTLS checks the certificate against
s.ehlo()
s.starttls(context=ctx)
out["tls"] = s.sock.version()
s.ehlo()
try:
    s.sendmail(cfg["from"], cfg["to"], cfg["message"].encode())
    out["sent"] = [250, "ok"]
except smtplib.SMTPDataError as exc:
    out["sent"] = [exc.smtp_code, exc.smtp_error.decode()]
except smtplib.SMTPRecipientsRefused as exc:
    out["sent"] = [550, str(exc.recipients)]
s.quit()
print(json.dumps(out))
"""


def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(CA))


def message(sender: str, to: list[str], subject: str, body: str, attachment: bytes | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain="itest.lab.ornek.bel.tr")
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="ek.com")
    return msg


def send_from_app01(app01, msg: EmailMessage, to: list[str]) -> dict:
    cfg = {
        "ca": CA.read_text(),
        "server": SERVER,
        "server_ip": SERVER_IP,
        "helo": f"app01.{DOMAIN}",
        "from": msg["From"],
        "to": to,
        "message": msg.as_string(),
    }
    res = app01.run(f"python3 -c {shlex.quote(APP_CLIENT)} {shlex.quote(json.dumps(cfg))}")
    assert res.rc == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def stranger(port: int) -> smtplib.SMTP:
    """An SMTP session from the control node (outside mynetworks) to mail01."""
    s = smtplib.SMTP(local_hostname=STRANGER_HELO, timeout=90)
    s.connect(SERVER_IP, port)
    s._host = SERVER  # noqa: SLF001 - the name that STARTTLS checks the certificate against
    s.ehlo()
    return s


def fetch(address: str, password: str, msgid: str, wait: float = 60) -> bytes | None:
    """The message with this Message-ID in the mailbox's INBOX, read over IMAPS; None if it never came."""
    with LabIMAP() as imap:
        imap.login(address, password)
        deadline = time.monotonic() + wait
        while True:
            imap.select("INBOX")
            _, data = imap.search(None, "HEADER", "Message-ID", msgid)
            ids = data[0].split()
            if ids:
                _, parts = imap.fetch(ids[-1], "(BODY.PEEK[])")
                return parts[0][1]
            if time.monotonic() > deadline:
                return None
            time.sleep(1)


class LabIMAP(imaplib.IMAP4_SSL):
    """IMAPS to mail01's lab address, checking that its certificate names mail01.lab.ornek.bel.tr
    (the control node has no DNS name for it)."""

    def __init__(self) -> None:
        super().__init__(SERVER, 993, ssl_context=tls_context())

    def _create_socket(self, timeout):
        sock = socket.create_connection((SERVER_IP, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=SERVER)


def dkim_record() -> bytes:
    """The DKIM TXT record (quoted strings joined) from the records file the role wrote."""
    text = RECORDS.read_text(encoding="utf-8")
    match = re.search(rf"^{SELECTOR}\._domainkey\s+IN\s+TXT\s+(\(.*?\)|\".*?\")\s*$", text, re.M | re.S)
    assert match, text
    return "".join(re.findall(r'"([^"]*)"', match.group(1))).encode()


def dkim_verifies(raw: bytes) -> tuple[bool, list[str]]:
    asked: list[str] = []

    def dnsfunc(name, timeout=5):
        asked.append(name.decode() if isinstance(name, bytes) else name)
        return dkim_record()

    return bool(dkim.verify(raw, dnsfunc=dnsfunc)), asked


@pytest.fixture(scope="module")
def mailbox(vault_value):
    """Address and vault password of a lab mailbox, by local part."""

    def get(local: str) -> tuple[str, str]:
        return f"{local}@{DOMAIN}", vault_value(f"vault_lab_mail_password_{local.replace('.', '_')}").strip()

    return get


@pytest.fixture(scope="module")
def notification(lab_hosts):
    """app01 notifies Ayşe, with the Fen İşleri list in copy, over STARTTLS without logging in."""
    to = [f"ayse.yilmaz@{DOMAIN}", f"fen-isleri@{DOMAIN}"]
    msg = message(f"e-belediye@{DOMAIN}", to, "Başvuru 2026/4711 alındı", "Başvurunuz kayda alınmıştır.\n")
    out = send_from_app01(lab_hosts["app01"], msg, to)
    return {"msgid": msg["Message-ID"], "out": out}


def test_app_server_sends_over_starttls_with_the_lab_certificate(notification):
    out = notification["out"]
    assert out["banner"][0] == 220
    assert out["tls"] in ("TLSv1.2", "TLSv1.3")
    assert out["sent"][0] == 250, out


def test_the_mailbox_owner_reads_it_over_imaps_and_it_came_encrypted(notification, mailbox):
    raw = fetch(*mailbox("ayse.yilmaz"), notification["msgid"])
    assert raw is not None, "the notification never reached Ayşe's INBOX"
    received = email.message_from_bytes(raw, policy=email.policy.default).get_all("Received")
    hop = next(r for r in received if "app01" in r)
    assert "ESMTPS" in hop, hop  # Postfix writes ESMTPS for a session that ran TLS


def test_the_directorate_list_reaches_its_members_only(notification, mailbox):
    assert fetch(*mailbox("zeynep.arslan"), notification["msgid"]) is not None
    assert fetch(*mailbox("mehmet.demir"), notification["msgid"], wait=3) is None


def test_outgoing_mail_is_dkim_signed_and_verifies_against_the_published_record(notification, mailbox):
    raw = fetch(*mailbox("ayse.yilmaz"), notification["msgid"])
    assert raw is not None
    signature = email.message_from_bytes(raw, policy=email.policy.default)["DKIM-Signature"]
    assert signature, "no DKIM-Signature header"
    assert f"d={DOMAIN}" in signature
    assert f"s={SELECTOR}" in signature
    ok, asked = dkim_verifies(raw)
    assert ok
    assert asked == [f"{SELECTOR}._domainkey.{DOMAIN}."]
    assert b"2026/4711" in raw
    assert not dkim_verifies(raw.replace(b"2026/4711", b"2026/4712"))[0], "a changed subject still verifies"


def test_the_records_file_gives_the_dns_administrators_mx_spf_dkim_and_dmarc():
    text = RECORDS.read_text(encoding="utf-8")
    assert re.search(rf"^@\s+IN\s+MX\s+10\s+{re.escape(SERVER)}\.", text, re.M), text
    assert '"v=spf1 mx -all"' in text
    assert re.search(r'^_dmarc\s+IN\s+TXT\s+"v=DMARC1; p=quarantine;.*rua=mailto:dmarc@', text, re.M), text
    assert dkim_record().startswith(b"v=DKIM1; h=sha256; k=rsa; p=")


def test_eicar_is_refused_at_smtp_time_and_never_delivered(lab_hosts, mailbox):
    to = [f"mehmet.demir@{DOMAIN}"]
    msg = message(f"e-belediye@{DOMAIN}", to, "Fatura", "Ekte.\n", attachment=_eicar())
    out = send_from_app01(lab_hosts["app01"], msg, to)
    assert 500 <= out["sent"][0] < 600, out
    assert fetch(*mailbox("mehmet.demir"), msg["Message-ID"], wait=5) is None
    journal = lab_hosts["mail01"].run("journalctl -u clamav-milter --since -10min --no-pager -o cat")
    assert EICAR_NAME in journal.stdout, journal.stdout[-2000:]


def _eicar() -> bytes:
    import sys

    sys.path.insert(0, str(ROOT / "lab"))
    import avmirror

    return avmirror.eicar()


def test_a_stranger_cannot_relay_through_port_25():
    with stranger(25) as s:
        assert s.has_extn("starttls")
        assert not s.has_extn("auth"), "port 25 offers AUTH: users must submit on 587"
        assert s.mail("biri@dis-kurum.example")[0] == 250
        code, text = s.rcpt("kurban@baska-kurum.example")
    assert code == 554, (code, text)
    assert b"Relay access denied" in text


def test_a_stranger_reaches_a_mailbox_but_not_a_leaver_or_an_unknown_address():
    with stranger(25) as s:
        s.starttls(context=tls_context())
        s.ehlo()
        assert s.mail("biri@dis-kurum.example")[0] == 250
        assert s.rcpt(f"destek@{DOMAIN}")[0] == 250
        assert s.rcpt(f"eski.personel@{DOMAIN}")[0] == 550
        assert s.rcpt(f"olmayan.kisi@{DOMAIN}")[0] == 550


def test_a_stranger_cannot_forge_a_sender_of_the_municipality():
    with stranger(25) as s:
        s.starttls(context=tls_context())
        s.ehlo()
        assert s.mail(f"baskan@{DOMAIN}")[0] == 250  # refused at RCPT, where Postfix decides
        code, text = s.rcpt(f"mehmet.demir@{DOMAIN}")
    assert code == 554, (code, text)
    assert b"submission (587)" in text


def test_submission_needs_tls_and_a_password():
    with stranger(587) as s:
        assert not s.has_extn("auth"), "AUTH is offered before STARTTLS"
        code, _ = s.mail(f"ayse.yilmaz@{DOMAIN}")
        assert code == 530, code  # encryption first
        s.starttls(context=tls_context())
        s.ehlo()
        assert s.has_extn("auth")
        code, _ = s.mail(f"ayse.yilmaz@{DOMAIN}")
        if code == 250:
            code, _ = s.rcpt("biri@dis-kurum.example")
        assert code in (530, 554), code  # no relay, and no sending as a member of staff, without login
        s.rset()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login(f"ayse.yilmaz@{DOMAIN}", "yanlis-parola-" + uuid.uuid4().hex)


def test_a_user_who_logs_in_sends_as_herself_only_and_the_mail_arrives(mailbox):
    user, password = mailbox("zeynep.arslan")
    msg = message(user, [f"mehmet.demir@{DOMAIN}"], "Şantiye raporu", "Rapor ektedir.\n")
    with stranger(587) as s:
        s.starttls(context=tls_context())
        s.ehlo()
        s.login(user, password)
        code, text = s.mail(f"ayse.yilmaz@{DOMAIN}")
        if code == 250:
            code, text = s.rcpt(f"mehmet.demir@{DOMAIN}")
        assert code == 553, (code, text)  # not her address
        s.rset()
        s.send_message(msg)
    raw = fetch(*mailbox("mehmet.demir"), msg["Message-ID"])
    assert raw is not None
    assert dkim_verifies(raw)[0], "mail a user submitted was not signed"


def test_imaps_refuses_a_wrong_password():
    with LabIMAP() as imap, pytest.raises(imaplib.IMAP4.error):
        imap.login(f"mehmet.demir@{DOMAIN}", "yanlis-parola-" + uuid.uuid4().hex)


def test_mail_logs_reach_the_central_log_server(notification, lab_hosts):
    log01 = lab_hosts["log01"]
    day = log01.check_output("date +%F")
    msgid = notification["msgid"]
    path = f"/var/log/remote/mail01/{day}.log"
    for _ in range(60):
        if log01.run(f"grep -qF {shlex.quote('message-id=' + msgid)} {path}").rc == 0:
            return
        time.sleep(1)
    pytest.fail(f"postfix's line for {msgid} never reached {path} on log01")
