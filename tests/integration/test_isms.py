"""The ISMS (BGYS) baseline across the converged lab: the audit report, lockout safety, and bad
input that must never reach a host's disk."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from labctl import group_members  # lab/ is on sys.path (conftest.py)
from playrecap import recap

from .conftest import BIN, ROOT

CATALOGUE = ROOT / "roles" / "isms_baseline" / "controls.yml"
PY = BIN / "python"


def playbook(name: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", f"playbooks/{name}", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
        timeout=900,
    )


def checksums(host, *paths: str) -> str:
    return host.check_output("sha256sum " + " ".join(paths))


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return yaml.safe_load(CATALOGUE.read_text())


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("isms-report")
    res = playbook("isms-audit.yml", "-e", f"isms_audit_out={out}")
    assert res.returncode == 0, res.stdout[-4000:]
    return out, res


# --- Audit mode ------------------------------------------------------------------------------


def test_the_audit_changes_nothing_on_any_host(audit, inventory):
    _, res = audit
    hosts = recap(res.stdout)
    linux = [h for h in hosts if h != "localhost"]
    assert linux, res.stdout[-2000:]
    assert all(hosts[h]["changed"] == 0 for h in linux), {h: hosts[h] for h in linux}


def test_every_control_passes_on_the_lab_apart_from_documented_exceptions(audit, catalogue):
    out, _ = audit
    report = json.loads((out / "report.json").read_text())
    ids = {c["id"] for c in catalogue["controls"]}
    failures = []
    for host, data in report["hosts"].items():
        lines = {line["id"]: line for line in data["results"]}
        assert set(lines) == ids, f"{host}: the report and the catalogue list different controls"
        for line in lines.values():
            if line["result"] == "fail" or line.get("finding"):
                failures.append(f"{host} {line['id']}: {line.get('finding', '')} {line['evidence']}")
            if line["result"] == "exception":
                exc = line["exception"]
                assert exc["justification"], f"{host} {line['id']}: an exception without a justification"
                if exc["source"] == "inventory":
                    assert exc["owner"], f"{host} {line['id']}: an exception without an owner"
                    assert exc["expires"], f"{host} {line['id']}: an exception without an expiry date"
    assert not failures, "\n".join(failures)


def test_the_catalogue_the_soa_and_the_report_agree(audit, catalogue):
    out, _ = audit
    report = json.loads((out / "report.json").read_text())
    version = catalogue["catalogue"]["version"]
    assert report["stamp"]["catalogue_version"] == version
    soa = (ROOT / "docs" / "controls" / "soa.md").read_text()
    assert version in soa
    for control in catalogue["controls"]:
        assert control["id"] in soa
    check = subprocess.run(
        [str(PY), "scripts/isms_soa.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert report["stamp"]["commit"] == head.stdout.strip()


def test_the_html_report_renders_in_chromium_with_the_totals_of_the_json(audit):
    out, _ = audit
    res = subprocess.run(
        [str(PY), "scripts/isms_report.py", "check-html", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    for lang in ("tr", "en"):
        assert (out / f"report.{lang}.md").stat().st_size > 1000


def test_exceptions_are_reported_active_or_expired_never_hidden(tmp_path):
    exceptions = {
        "isms_baseline_exceptions": {
            "BGYS-SES-02": {
                "justification": "Eski uygulama kendi karşılama metnini gösteriyor",
                "owner": "deniz.kaya",
                "expires": "2099-01-31",
                "talep": "2026/9100",
            },
            "BGYS-CRN-02": {"justification": "Geçici bakım işi", "owner": "deniz.kaya", "expires": "2020-06-30"},
        }
    }
    res = playbook(
        "isms-audit.yml", "-l", "app01,localhost", "-e", json.dumps(exceptions), "-e", f"isms_audit_out={tmp_path}"
    )
    assert res.returncode == 0, res.stdout[-3000:]
    assert "EXCEPTION until 2099-01-31" in res.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    lines = {line["id"]: line for line in report["hosts"]["app01"]["results"]}
    assert lines["BGYS-SES-02"]["result"] == "exception"
    assert lines["BGYS-SES-02"]["exception"]["owner"] == "deniz.kaya"
    assert lines["BGYS-CRN-02"]["result"] == "pass"
    assert "expired on 2020-06-30" in lines["BGYS-CRN-02"]["finding"]
    html = (tmp_path / "report.en.html").read_text()
    assert "Eski uygulama" in html
    assert "2020-06-30" in html


def test_a_malformed_exception_stops_the_run_before_any_change():
    bad = {"isms_baseline_exceptions": {"BGYS-SSH-02": {"justification": "neden", "expires": "2027-13-40"}}}
    res = playbook("isms.yml", "-l", "app01", "-e", json.dumps(bad))
    assert res.returncode != 0
    assert "app01: isms_baseline_exceptions[BGYS-SSH-02].owner" in res.stdout
    assert "is not a date" in res.stdout
    assert recap(res.stdout)["app01"]["changed"] == 0


# --- Lockout safety and validation before writing --------------------------------------------

SSHD_FILES = (
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d/10-bgys-ssh-03.conf",
    "/etc/ssh/sshd_config.d/10-bgys-ssh-07.conf",
)


def test_hardening_that_would_lock_every_administrator_out_is_refused(lab_hosts):
    app01 = lab_hosts["app01"]
    before = checksums(app01, *SSHD_FILES)
    res = playbook(
        "isms.yml",
        "-l",
        "app01",
        "-e",
        json.dumps({"isms_baseline_bgys_ssh_07": True, "isms_baseline_ssh_allow_groups": ["kimsenin-grubu"]}),
    )
    assert res.returncode != 0
    assert "refusing SSH and sudo hardening, nothing was changed" in res.stdout
    assert "kimsenin-grubu" in res.stdout
    assert recap(res.stdout)["app01"]["changed"] == 0
    assert checksums(app01, *SSHD_FILES) == before
    assert "kimsenin-grubu" not in app01.check_output("sshd -T | grep -i '^allowgroups' || true")


def test_a_broken_sshd_setting_never_reaches_the_disk(lab_hosts):
    app01 = lab_hosts["app01"]
    before = checksums(app01, *SSHD_FILES)
    res = playbook(
        "isms.yml",
        "-l",
        "app01",
        "--tags",
        "BGYS-SSH-03",
        "-e",
        json.dumps({"isms_baseline_ssh_ciphers": ["aes256-gcm@openssh.com", "rot13-cbc"]}),
    )
    assert res.returncode != 0
    assert "rot13-cbc" in res.stdout
    assert checksums(app01, *SSHD_FILES) == before
    assert app01.run("sshd -t").rc == 0
    still = subprocess.run(
        ["ssh", "-F", str(ROOT / ".lab/ssh/config"), "-o", "ControlMaster=no", "app01", "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert still.returncode == 0, still.stderr


def test_a_broken_sudoers_setting_never_reaches_the_disk(lab_hosts):
    app01 = lab_hosts["app01"]
    before = checksums(app01, "/etc/sudoers.d/10-bgys-acc-01")
    res = playbook(
        "isms.yml",
        "-l",
        "app01",
        "--tags",
        "BGYS-ACC-01",
        "-e",
        json.dumps({"isms_baseline_sudo_defaults": ["use_pty", "bu_bir_ayar_degil=1"]}),
    )
    assert res.returncode != 0
    assert "visudo" in res.stdout or "failed to validate" in res.stdout
    assert checksums(app01, "/etc/sudoers.d/10-bgys-acc-01") == before
    assert "bu_bir_ayar_degil" not in app01.check_output("cat /etc/sudoers.d/10-bgys-acc-01")
    assert app01.run("visudo -c").rc == 0
    assert app01.run("sudo -n -u ansible sudo -n true").rc == 0


# --- Host class and directorate ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["app01", "pardus01", "pardus02"])
def test_the_baseline_follows_the_host_class_and_the_directorate(lab_hosts, inventory, name):
    """A server refuses USB storage and mounts /proc with hidepid; a desktop does neither, unless
    its directorate's data refuses USB (the lab: Fen İşleri allows it, Bilgi İşlem does not). The
    default locale is the inventory's. The molecule scenario has a server only."""
    data = inventory["_meta"]["hostvars"][name]
    desktop = name in group_members(inventory, "desktops")
    usb_allowed = desktop and bool(data.get("isms_baseline_usb_storage_allowed", False))
    host = lab_hosts[name]
    with host.sudo():
        usb = host.file("/etc/modprobe.d/bgys-usb-01.conf").content_string
        fstab = host.file("/etc/fstab").content_string
        lang = host.check_output(". /etc/default/locale && echo $LANG")
    assert ("install usb-storage /bin/false" in usb) == (not usb_allowed), f"{name}: {usb}"
    assert ("hidepid=invisible" in fstab) == (not desktop), f"{name}: {fstab}"
    assert lang == data.get("common_default_locale", "en_US.UTF-8")
