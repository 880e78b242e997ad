"""Behaviour of the pardus_desktop role on two Pardus 23 desktops: pd-bim (Bilgi İşlem, USB storage
refused) and pd-fen (Fen İşleri, USB storage allowed). The checks ask the desktop's own tools
(dconf, lpstat, pkcheck, id, openssl) as a user would meet them, not only the files."""

import json
import xml.etree.ElementTree as ET

import pytest

USER = "ayse.yilmaz"
LOCKED_KEYS = {
    "/org/gnome/desktop/session/idle-delay",
    "/org/gnome/desktop/screensaver/lock-enabled",
    "/org/gnome/desktop/screensaver/lock-delay",
    "/org/gnome/desktop/screensaver/idle-activation-enabled",
    "/org/gnome/desktop/lockdown/disable-lock-screen",
}


def as_user(host, command):
    return host.run(f"runuser -u {USER} -- sh -c {command!r}")


def test_the_screen_lock_is_set_and_locked_for_users(host):
    assert as_user(host, "dconf read /org/gnome/desktop/session/idle-delay").stdout.strip() == "uint32 300"
    assert as_user(host, "dconf read /org/gnome/desktop/screensaver/lock-enabled").stdout.strip() == "true"
    locks = set()
    for directory in ("/org/gnome/desktop/session/", "/org/gnome/desktop/screensaver/", "/org/gnome/desktop/lockdown/"):
        locks |= set(as_user(host, f"dconf list-locks {directory}").stdout.split())
    assert locks >= LOCKED_KEYS


def test_xfce_screensaver_defaults_are_locked(host):
    channel = ET.fromstring(host.file("/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml").content_string)  # noqa: S314 - the role's own file
    valued = [p for p in channel.iter("property") if p.get("value") is not None]
    assert len(valued) == 6
    assert all(p.get("locked") == "*" for p in valued)
    idle = channel.find("./property[@name='saver']/property[@name='idle-activation']/property[@name='delay']")
    assert idle.get("value") == "5"  # 300 seconds, in XFCE's minutes


def test_the_site_printers_exist_and_the_hand_made_queue_survives(host):
    devices = host.run("lpstat -v").stdout
    assert "device for lab-ortak: ipp://10.231.0.1:6310/ipp/print" in devices
    assert "device for lab-arsiv: socket://10.231.0.1:9100" in devices
    assert "device for elle-kurulan:" in devices
    assert host.run("lpstat -d").stdout.strip() == "system default destination: lab-ortak"
    assert "printer-location='Lab 1. kat'" in host.run("lpoptions -p lab-ortak").stdout


def test_firefox_policies_are_valid_json_with_the_organisation_policies(host):
    policies = json.loads(host.file("/etc/firefox/policies/policies.json").content_string)["policies"]
    assert policies["DisableTelemetry"] is True
    assert policies["Homepage"] == {
        "URL": "https://intranet.lab.belediye.local/",
        "StartPage": "homepage",
        "Locked": True,
    }
    assert policies["Proxy"]["HTTPProxy"] == "10.231.0.1:3142"
    assert policies["Proxy"]["Locked"] is True
    assert policies["Certificates"]["Install"] == ["/usr/local/share/ca-certificates/belediye-lab-ca.crt"]


def test_the_lab_ca_is_trusted_by_the_system(host):
    cert = "/usr/local/share/ca-certificates/belediye-lab-ca.crt"
    assert host.run(f"openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt {cert}").rc == 0
    assert host.file("/etc/ssl/certs/belediye-lab-ca.pem").is_symlink


def usb_mount_check(host):
    command = "pkcheck --action-id org.freedesktop.udisks2.filesystem-mount --process $$"
    return as_user(host, command)


def test_usb_storage_mounts_follow_the_directorate(host):
    result = usb_mount_check(host)
    if host.backend.get_hostname() == "pd-bim":
        # Refused by the rule: "not authorized" (rc 1), no prompt offered.
        assert result.rc == 1, result.stderr
    else:
        # No rule: udisks2's default for a process outside an active session asks for a password
        # (a challenge, rc 2), which an active desktop session would not need.
        assert result.rc == 2, result.stderr


def test_users_have_no_administrator_rights(host):
    groups = host.run(f"id -nG {USER}").stdout.split()
    assert not {"sudo", "adm", "lpadmin"} & set(groups)
    assert "unix-group:bim-admins" in host.file("/etc/polkit-1/rules.d/49-belediye-admin.rules").content_string


@pytest.mark.parametrize(("package", "where"), [("telnet", None), ("units", "pd-fen")])
def test_applications_follow_the_directorate(host, package, where):
    installed = host.package(package).is_installed
    assert installed is (where == host.backend.get_hostname())
