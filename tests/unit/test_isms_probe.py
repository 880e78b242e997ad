"""plugins/modules/isms_probe.py: the parsers and the checks of the read-only ISMS audit probe.

The checks read the host through the module's helpers (``read``, ``glob``, ``run``, ``sysctl_files``);
the tests replace those with a small in-memory file system, or point the checks at files in tmp_path.
"""

# The fake host's mount points (/tmp, /dev/shm) are data under test, not temporary files.
# ruff: noqa: S108

import fnmatch
import functools
import grp
import os
import pwd
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "modules"))

import isms_probe  # noqa: E402


class FakeHost:
    """Files of a host held in a dict, served through the probe's read/glob helpers."""

    def __init__(self, files=None):
        self.files = dict(files or {})

    def read(self, path):
        return self.files.get(path)

    def glob(self, pattern):
        return sorted(path for path in self.files if fnmatch.fnmatch(path, pattern))

    def exists(self, path):
        return path in self.files


@pytest.fixture
def host(monkeypatch):
    fake = FakeHost()
    monkeypatch.setattr(isms_probe, "read", fake.read)
    monkeypatch.setattr(isms_probe, "glob", types.SimpleNamespace(glob=fake.glob))
    monkeypatch.setattr(
        isms_probe,
        "sysctl_files",
        functools.partial(isms_probe.sysctl_files, exists=fake.exists, listdir=fake.glob),
    )
    return fake


@pytest.fixture
def commands(monkeypatch):
    """Answers of `run` by argv tuple; anything else is 'not found'."""
    answers = {}
    calls = []

    def run(argv, env=None):
        calls.append(tuple(argv))
        return answers.get(tuple(argv), (127, "", f"{argv[0]}: not found"))

    monkeypatch.setattr(isms_probe, "run", run)
    answers["calls"] = calls
    return answers


def probe(live=False):
    return isms_probe.Probe(container=not live)


# --- pure parsers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("port 22\npermitrootlogin no\n", {"port": "22", "permitrootlogin": "no"}, id="key-value-lines"),
        pytest.param("PermitRootLogin no", {"permitrootlogin": "no"}, id="keys-are-lowercased"),
        pytest.param(
            "hostkey /etc/ssh/ssh_host_ed25519_key\nhostkey /etc/ssh/ssh_host_rsa_key",
            {"hostkey": "/etc/ssh/ssh_host_ed25519_key,/etc/ssh/ssh_host_rsa_key"},
            id="repeated-keys-are-joined-with-commas",
        ),
        pytest.param("allowgroups bim-admins ansible", {"allowgroups": "bim-admins ansible"}, id="value-keeps-spaces"),
        pytest.param("\n   \nbanner none\n", {"banner": "none"}, id="blank-lines-are-skipped"),
    ],
)
def test_parse_sshd_t(text, expected):
    assert isms_probe.parse_sshd_t(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("kernel.sysrq = 0", {"kernel.sysrq": "0"}, id="key-equals-value"),
        pytest.param("kernel.sysrq=0", {"kernel.sysrq": "0"}, id="no-spaces"),
        pytest.param("# kernel.sysrq = 1\n; kernel.sysrq = 1\n", {}, id="hash-and-semicolon-comments"),
        pytest.param("kernel/yama/ptrace_scope = 1", {"kernel.yama.ptrace_scope": "1"}, id="slashes-become-dots"),
        pytest.param(
            "-net.ipv4.conf.all.rp_filter = 1",
            {"net.ipv4.conf.all.rp_filter": "1"},
            id="leading-dash-ignore-errors-is-dropped",
        ),
        pytest.param(
            "net.ipv4.ip_local_port_range =  32768\t60999",
            {"net.ipv4.ip_local_port_range": "32768 60999"},
            id="whitespace-in-values-is-collapsed",
        ),
        pytest.param("kernel.sysrq", {}, id="line-without-equals-is-ignored"),
        pytest.param("kernel.sysrq = 1\nkernel.sysrq = 0", {"kernel.sysrq": "0"}, id="later-line-wins"),
    ],
)
def test_parse_sysctl_conf(text, expected):
    assert isms_probe.parse_sysctl_conf(text) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            ["/usr/lib/sysctl.d/50-default.conf", "/etc/sysctl.d/60-bgys.conf"],
            ["/usr/lib/sysctl.d/50-default.conf", "/etc/sysctl.d/60-bgys.conf"],
            id="files-are-ordered-by-name-across-directories",
        ),
        pytest.param(
            ["/usr/lib/sysctl.d/50-default.conf", "/etc/sysctl.d/50-default.conf"],
            ["/etc/sysctl.d/50-default.conf"],
            id="same-named-file-in-etc-hides-the-one-in-usr-lib",
        ),
        pytest.param(
            ["/etc/sysctl.d/10-local.conf", "/run/sysctl.d/10-local.conf", "/usr/lib/sysctl.d/10-local.conf"],
            ["/etc/sysctl.d/10-local.conf"],
            id="etc-beats-run-beats-usr-lib",
        ),
        pytest.param(
            ["/etc/sysctl.d/99-zz.conf", "/usr/lib/sysctl.d/10-a.conf", "/etc/sysctl.conf"],
            ["/usr/lib/sysctl.d/10-a.conf", "/etc/sysctl.d/99-zz.conf", "/etc/sysctl.conf"],
            id="etc-sysctl-conf-comes-last",
        ),
        pytest.param(["/etc/sysctl.d/README"], [], id="only-conf-files-count"),
    ],
)
def test_sysctl_files_order(files, expected):
    fake = FakeHost(dict.fromkeys(files, ""))
    assert isms_probe.sysctl_files(exists=fake.exists, listdir=fake.glob) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "tmpfs /tmp tmpfs defaults,nodev,nosuid,noexec 0 0",
            {"/tmp": ["defaults", "nodev", "nosuid", "noexec"]},
            id="one-entry",
        ),
        pytest.param("# tmpfs /tmp tmpfs nodev 0 0\n\n", {}, id="comments-and-blank-lines"),
        pytest.param("tmpfs /dev/shm tmpfs nodev # keep\n", {"/dev/shm": ["nodev"]}, id="trailing-comment"),
        pytest.param("tmpfs /tmp tmpfs", {}, id="entry-without-options-is-skipped"),
    ],
)
def test_parse_fstab(text, expected):
    assert isms_probe.parse_fstab(text) == expected


MOUNTINFO = (
    "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible\n"
    "25 22 0:23 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=4096k\n"
    "26 22 0:24 / /mnt/my\\040disk rw - ext4 /dev/sdb1 rw\n"
    "27 22 0:25 / /tmp rw,nosuid,nodev,noexec - tmpfs tmpfs rw\n"
    "garbage line\n"
)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        pytest.param(
            "/proc",
            ["rw", "nosuid", "nodev", "noexec", "relatime", "rw", "hidepid=invisible"],
            id="per-mount-and-super-block-options-are-joined",
        ),
        pytest.param("/tmp", ["rw", "nosuid", "nodev", "noexec", "rw"], id="last-mount-on-a-point-wins"),
        pytest.param("/mnt/my disk", ["rw", "rw"], id="escaped-space-in-mount-point"),
        pytest.param("garbage", None, id="malformed-line-is-skipped"),
    ],
)
def test_parse_mountinfo(point, expected):
    assert isms_probe.parse_mountinfo(MOUNTINFO).get(point) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("[Mount]\nWhat=tmpfs\nOptions=nodev,nosuid\n", ["nodev", "nosuid"], id="options-line"),
        pytest.param("[Mount]\nOptions=nodev\nOptions=nodev,noexec\n", ["nodev", "noexec"], id="last-one-wins"),
        pytest.param("[Mount]\nOptions=\n", [], id="empty-options-reset"),
        pytest.param("[Mount]\nWhat=tmpfs\n", None, id="no-options-line"),
    ],
)
def test_unit_options(text, expected):
    assert isms_probe.unit_options(text) == expected


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        pytest.param(
            ["install usb-storage /bin/false\nblacklist usb-storage\n"], (True, True), id="blocked-and-blacklisted"
        ),
        pytest.param(["blacklist usb-storage\n"], (False, True), id="blacklisted-only"),
        pytest.param(["install usb-storage /bin/true\n"], (True, False), id="install-bin-true-blocks"),
        pytest.param(["install usb-storage /usr/bin/false\n"], (True, False), id="install-usr-bin-false-blocks"),
        pytest.param(
            ["install usb_storage /bin/false\nblacklist usb_storage\n"], (True, True), id="underscore-spelling-matches"
        ),
        pytest.param(
            ["install usb-storage /sbin/modprobe --ignore-install usb-storage\n"],
            (False, False),
            id="install-that-loads-the-module-does-not-block",
        ),
        pytest.param(
            ["# install usb-storage /bin/false\n#blacklist usb-storage\n"],
            (False, False),
            id="commented-lines-are-ignored",
        ),
        pytest.param(["install uas /bin/false\nblacklist uas\n"], (False, False), id="other-module-does-not-count"),
        pytest.param(
            ["install usb-storage /bin/false\n", "blacklist usb-storage\n"], (True, True), id="lines-from-several-files"
        ),
    ],
)
def test_modprobe_blocked(texts, expected):
    assert isms_probe.modprobe_blocked(texts, "usb-storage") == expected


@pytest.mark.parametrize(
    ("value", "check", "ok"),
    [
        pytest.param("no", {"equals": "no"}, True, id="equals-match"),
        pytest.param("yes", {"equals": "no"}, False, id="equals-mismatch"),
        pytest.param("0", {"equals": 0}, True, id="equals-compares-as-text"),
        pytest.param("prohibit-password", {"in": ["no", "prohibit-password"]}, True, id="in-match"),
        pytest.param("yes", {"in": ["no", "prohibit-password"]}, False, id="in-mismatch"),
        pytest.param("4", {"min": 1, "max": "4"}, True, id="max-is-inclusive"),
        pytest.param("5", {"min": 1, "max": 4}, False, id="above-max"),
        pytest.param("0", {"min": 1, "max": 4}, False, id="below-min"),
        pytest.param("300", {"max": 300}, True, id="max-alone"),
        pytest.param("1", {"min": 2}, False, id="min-alone"),
        pytest.param("1m", {"max": 60}, False, id="not-a-number"),
        pytest.param(
            "aes256-ctr,aes128-ctr",
            {"subset_of": ["aes256-ctr", "aes128-ctr", "aes192-ctr"]},
            True,
            id="subset-of-all-allowed",
        ),
        pytest.param("aes256-ctr,aes128-cbc", {"subset_of": ["aes256-ctr"]}, False, id="subset-of-one-outside"),
        pytest.param("", {"subset_of": ["aes256-ctr"]}, True, id="subset-of-empty-value"),
        pytest.param("VERBOSE", {"regex": "^(VERBOSE|DEBUG)$"}, True, id="regex-match"),
        pytest.param("INFO", {"regex": "^(VERBOSE|DEBUG)$"}, False, id="regex-mismatch"),
        pytest.param(None, {"equals": "no"}, False, id="value-not-set"),
    ],
)
def test_compare(value, check, ok):
    assert isms_probe.compare(value, check)[0] is ok


@pytest.mark.parametrize(
    ("value", "check", "why"),
    [
        pytest.param("yes", {"equals": "no"}, "'yes' (want 'no')", id="equals"),
        pytest.param("5", {"min": 1, "max": 4}, "5 (want 1..4)", id="range"),
        pytest.param("7", {"max": 4}, "7 (want -..4)", id="open-range"),
        pytest.param("a,b,c", {"subset_of": ["a"]}, "a,b,c (outside the allowed list: b,c)", id="subset-names-extras"),
        pytest.param(None, {"equals": "no"}, "not set", id="unset"),
    ],
)
def test_compare_explains_what_it_saw(value, check, why):
    assert isms_probe.compare(value, check)[1] == why


def test_compare_without_expectation_is_a_check_error():
    with pytest.raises(isms_probe.CheckError, match="no expectation"):
        isms_probe.compare("no", {"type": "sshd", "key": "permitrootlogin"})


# --- sshd -------------------------------------------------------------------------------------

SSHD_T = """\
permitrootlogin no
passwordauthentication yes
maxauthtries 4
logingracetime 120
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-cbc
macs hmac-sha2-512-etm@openssh.com
"""


@pytest.mark.parametrize(
    ("check", "ok", "evidence"),
    [
        pytest.param(
            {"key": "PermitRootLogin", "equals": "no"},
            True,
            "sshd permitrootlogin = 'no' (want 'no')",
            id="equals-passes-and-key-case-does-not-matter",
        ),
        pytest.param(
            {"key": "passwordauthentication", "equals": "no"},
            False,
            "sshd passwordauthentication = 'yes' (want 'no')",
            id="equals-fails",
        ),
        pytest.param(
            {"key": "maxauthtries", "min": 1, "max": 4}, True, "sshd maxauthtries = 4 (want 1..4)", id="within-min-max"
        ),
        pytest.param(
            {"key": "logingracetime", "min": 1, "max": 60},
            False,
            "sshd logingracetime = 120 (want 1..60)",
            id="above-max",
        ),
        pytest.param(
            {"key": "ciphers", "subset_of": ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]},
            False,
            "outside the allowed list: aes256-cbc",
            id="subset-of-with-a-cbc-cipher",
        ),
        pytest.param(
            {"key": "macs", "subset_of": ["hmac-sha2-512-etm@openssh.com"]},
            True,
            "all allowed",
            id="subset-of-all-allowed",
        ),
        pytest.param(
            {"key": "allowgroups", "equals": "bim-admins"},
            False,
            "sshd allowgroups = not set",
            id="key-absent-from-sshd-t",
        ),
    ],
)
def test_check_sshd(commands, check, ok, evidence):
    commands[("sshd", "-T")] = (0, SSHD_T, "")
    commands[("/usr/sbin/sshd", "-T")] = (0, SSHD_T, "")
    passed, lines, used_live = probe().check_sshd({"type": "sshd", **check})
    assert passed is ok
    assert len(lines) == 1
    assert evidence in lines[0]
    assert used_live is False


def test_check_sshd_fails_with_sshd_s_error_when_sshd_t_fails(commands):
    error = (255, "", "/etc/ssh/sshd_config.d/10-bgys.conf line 3: Bad configuration option: Ciphrs\n")
    commands[("sshd", "-T")] = error
    commands[("/usr/sbin/sshd", "-T")] = error
    passed, lines, _ = probe().check_sshd({"type": "sshd", "key": "permitrootlogin", "equals": "no"})
    assert passed is False
    assert lines == ["sshd -T failed: /etc/ssh/sshd_config.d/10-bgys.conf line 3: Bad configuration option: Ciphrs"]


def test_sshd_t_runs_once_for_all_checks(commands):
    commands[("sshd", "-T")] = (0, SSHD_T, "")
    commands[("/usr/sbin/sshd", "-T")] = (0, SSHD_T, "")
    checker = probe()
    checker.evaluate([{"type": "sshd", "key": "permitrootlogin", "equals": "no"}] * 3)
    assert len(commands["calls"]) == 1


# --- sysctl -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "ok", "source"),
    [
        pytest.param(
            {
                "/usr/lib/sysctl.d/50-default.conf": "kernel.sysrq = 16\n",
                "/etc/sysctl.d/60-bgys-krn-02.conf": "kernel.sysrq = 0\n",
            },
            True,
            "/etc/sysctl.d/60-bgys-krn-02.conf",
            id="later-name-wins",
        ),
        pytest.param(
            {
                "/etc/sysctl.d/60-bgys-krn-02.conf": "kernel.sysrq = 0\n",
                "/etc/sysctl.d/99-local.conf": "kernel.sysrq = 1\n",
            },
            False,
            "/etc/sysctl.d/99-local.conf",
            id="later-name-overrides-the-baseline",
        ),
        pytest.param(
            {
                "/usr/lib/sysctl.d/60-bgys-krn-02.conf": "kernel.sysrq = 1\n",
                "/etc/sysctl.d/60-bgys-krn-02.conf": "kernel.sysrq = 0\n",
            },
            True,
            "/etc/sysctl.d/60-bgys-krn-02.conf",
            id="same-named-file-in-etc-overrides-usr-lib",
        ),
        pytest.param(
            {
                "/etc/sysctl.d/60-bgys-krn-02.conf": "kernel.sysrq = 1\n",
                "/usr/lib/sysctl.d/60-bgys-krn-02.conf": "kernel.sysrq = 0\n",
            },
            False,
            "/etc/sysctl.d/60-bgys-krn-02.conf",
            id="usr-lib-file-hidden-by-etc-does-not-count",
        ),
        pytest.param(
            {"/etc/sysctl.d/60-bgys-krn-02.conf": "kernel.sysrq = 0\n", "/etc/sysctl.conf": "kernel.sysrq = 1\n"},
            False,
            "/etc/sysctl.conf",
            id="etc-sysctl-conf-is-applied-last",
        ),
        pytest.param(
            {"/etc/sysctl.d/10-other.conf": "kernel.dmesg_restrict = 1\n"},
            False,
            "no file",
            id="key-not-configured-anywhere",
        ),
    ],
)
def test_check_sysctl_configured_value_follows_systemd_precedence(host, files, ok, source):
    host.files.update(files)
    passed, lines, used_live = probe().check_sysctl({"type": "sysctl", "key": "kernel.sysrq", "value": 0})
    assert passed is ok
    assert lines[0].endswith(f"in {source} (want '0')")
    assert used_live is False


@pytest.mark.parametrize(
    ("live_value", "ok"),
    [
        pytest.param("0\n", True, id="live-value-matches"),
        pytest.param("16\n", False, id="live-value-differs-although-configured"),
        pytest.param(None, False, id="live-value-unreadable"),
    ],
)
def test_check_sysctl_on_a_real_host_also_reads_the_live_value(host, live_value, ok):
    host.files["/etc/sysctl.d/60-bgys-krn-02.conf"] = "kernel.sysrq = 0\n"
    if live_value is not None:
        host.files["/proc/sys/kernel/sysrq"] = live_value
    passed, lines, used_live = probe(live=True).check_sysctl({"type": "sysctl", "key": "kernel.sysrq", "value": "0"})
    assert passed is ok
    assert used_live is True
    assert lines[1] == f"kernel.sysrq live {live_value.strip() if live_value else None!r}"


# --- mount ------------------------------------------------------------------------------------

TMP_UNIT = "/etc/systemd/system/tmp.mount"
TMP_DROPIN = "/etc/systemd/system/tmp.mount.d/50-options.conf"


@pytest.mark.parametrize(
    ("files", "ok", "missing"),
    [
        pytest.param(
            {"/etc/fstab": "tmpfs /tmp tmpfs defaults,nodev,nosuid,noexec 0 0\n"},
            True,
            None,
            id="fstab-entry-with-all-options",
        ),
        pytest.param(
            {"/etc/fstab": "tmpfs /tmp tmpfs defaults,nodev 0 0\n"},
            False,
            "nosuid,noexec",
            id="fstab-entry-missing-options",
        ),
        pytest.param(
            {TMP_UNIT: "[Mount]\nWhat=tmpfs\nOptions=mode=1777,nodev,nosuid,noexec\n"},
            True,
            None,
            id="mount-unit-with-all-options",
        ),
        pytest.param(
            {
                "/etc/fstab": "tmpfs /tmp tmpfs defaults,nodev,nosuid,noexec 0 0\n",
                TMP_UNIT: "[Mount]\nOptions=mode=1777,nodev\n",
            },
            False,
            "nosuid,noexec",
            id="mount-unit-overrides-fstab",
        ),
        pytest.param(
            {TMP_UNIT: "[Mount]\nOptions=mode=1777\n", TMP_DROPIN: "[Mount]\nOptions=mode=1777,nodev,nosuid,noexec\n"},
            True,
            None,
            id="drop-in-overrides-the-unit",
        ),
        pytest.param(
            {TMP_UNIT: "[Mount]\nOptions=mode=1777,nodev,nosuid,noexec\n", TMP_DROPIN: "[Mount]\nOptions=mode=1777\n"},
            False,
            "nodev,nosuid,noexec",
            id="drop-in-can-also-drop-options",
        ),
        pytest.param(
            {TMP_UNIT: "[Mount]\nOptions=nodev,nosuid,noexec\n", TMP_DROPIN: "[Unit]\nDescription=x\n"},
            True,
            None,
            id="drop-in-without-options-changes-nothing",
        ),
        pytest.param(
            {"/etc/fstab": "tmpfs /var/tmp tmpfs nodev,nosuid,noexec 0 0\n"},
            False,
            "nodev,nosuid,noexec",
            id="no-entry-for-the-path",
        ),
    ],
)
def test_check_mount_from_configuration(host, files, ok, missing):
    host.files.update(files)
    passed, lines, used_live = probe().check_mount(
        {"type": "mount", "path": "/tmp", "options": ["nodev", "nosuid", "noexec"]}
    )
    assert passed is ok
    assert used_live is False
    assert (f"missing in configuration: {missing}" in lines) is (missing is not None)


def test_check_mount_without_configuration_says_so(host):
    _, lines, _ = probe().check_mount({"type": "mount", "path": "/dev/shm", "options": ["nodev"]})
    assert lines[0] == "/dev/shm: no fstab entry or mount unit"


def test_check_mount_finds_the_unit_by_its_escaped_name(host):
    host.files["/etc/systemd/system/dev-shm.mount"] = "[Mount]\nOptions=nodev,nosuid,noexec\n"
    passed, lines, _ = probe().check_mount({"type": "mount", "path": "/dev/shm", "options": ["nodev"]})
    assert passed is True
    assert lines == ["/etc/systemd/system/dev-shm.mount: nodev,nosuid,noexec"]


@pytest.mark.parametrize(
    ("mountinfo", "ok"),
    [
        pytest.param("25 22 0:23 / /tmp rw,nosuid,nodev,noexec - tmpfs tmpfs rw\n", True, id="live-mount-has-options"),
        pytest.param("25 22 0:23 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw\n", False, id="live-mount-lacks-noexec"),
        pytest.param("25 22 0:23 / / rw - ext4 /dev/sda1 rw\n", False, id="not-a-mount-point-yet"),
    ],
)
def test_check_mount_on_a_real_host_also_reads_the_live_mount(host, mountinfo, ok):
    host.files["/etc/fstab"] = "tmpfs /tmp tmpfs defaults,nodev,nosuid,noexec 0 0\n"
    host.files["/proc/self/mountinfo"] = mountinfo
    passed, _, used_live = probe(live=True).check_mount(
        {"type": "mount", "path": "/tmp", "options": ["nodev", "nosuid", "noexec"]}
    )
    assert passed is ok
    assert used_live is True


# --- modprobe ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conf", "blocked", "ok"),
    [
        pytest.param(
            "install usb-storage /bin/false\nblacklist usb-storage\n", True, True, id="blocked-and-blacklisted-passes"
        ),
        pytest.param("blacklist usb-storage\n", True, False, id="blacklisted-only-fails"),
        pytest.param("install usb-storage /bin/false\n", True, False, id="install-line-without-blacklist-fails"),
        pytest.param("", True, False, id="nothing-configured-fails"),
        pytest.param("", False, True, id="allowed-and-loadable-passes"),
        pytest.param("blacklist usb-storage\n", False, True, id="allowed-and-only-blacklisted-passes"),
        pytest.param(
            "install usb-storage /bin/false\nblacklist usb-storage\n", False, False, id="allowed-but-blocked-fails"
        ),
    ],
)
def test_check_modprobe_from_configuration(host, conf, blocked, ok):
    host.files["/etc/modprobe.d/bgys-usb-01.conf"] = conf
    passed, _, used_live = probe().check_modprobe({"type": "modprobe", "module": "usb-storage", "blocked": blocked})
    assert passed is ok
    assert used_live is False


@pytest.mark.parametrize(
    ("modules", "ok"),
    [
        pytest.param("ext4 1040384 2 - Live 0x0\n", True, id="module-not-loaded"),
        pytest.param("usb_storage 86016 0 - Live 0x0\n", False, id="module-already-loaded"),
    ],
)
def test_check_modprobe_on_a_real_host_also_reads_loaded_modules(host, modules, ok):
    host.files["/etc/modprobe.d/bgys-usb-01.conf"] = "install usb-storage /bin/false\nblacklist usb-storage\n"
    host.files["/proc/modules"] = modules
    passed, lines, used_live = probe(live=True).check_modprobe({"type": "modprobe", "module": "usb-storage"})
    assert passed is ok
    assert used_live is True
    assert lines[0] == "usb-storage: install blocked, blacklisted"


# --- file_mode --------------------------------------------------------------------------------

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
NOBODY = "bgys-no-such-account"


@pytest.mark.parametrize(
    ("mode", "check", "ok", "problem"),
    [
        pytest.param(0o600, {"mode": "0600"}, True, None, id="exact-mode"),
        pytest.param(0o400, {"mode": "0600"}, True, None, id="stricter-mode"),
        pytest.param(0o644, {"mode": "0600"}, False, "mode 0644 exceeds 0600", id="group-and-world-readable"),
        pytest.param(0o660, {"mode": "0640"}, False, "mode 0660 exceeds 0640", id="group-writable"),
        pytest.param(0o4755, {"mode": "0755"}, False, "mode 4755 exceeds 0755", id="setuid-bit"),
        pytest.param(0o000, {"mode": "0000"}, True, None, id="mode-zero"),
        pytest.param(0o600, {"mode": "0600", "owner": ME}, True, None, id="right-owner"),
        pytest.param(0o600, {"owner": NOBODY}, False, f"owner {ME} (want {NOBODY})", id="wrong-owner"),
        pytest.param(0o640, {"group": [NOBODY, MY_GROUP]}, True, None, id="group-in-allowed-list"),
        pytest.param(0o640, {"group": NOBODY}, False, f"group {MY_GROUP} (want {NOBODY})", id="wrong-group"),
    ],
)
def test_check_file_mode(tmp_path, mode, check, ok, problem):
    path = tmp_path / "shadow"
    path.write_text("")
    path.chmod(mode)
    passed, lines, used_live = probe().check_file_mode({"type": "file_mode", "path": str(path), **check})
    assert passed is ok
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: {mode:04o} {ME}:{MY_GROUP}")
    assert (problem is not None and problem in lines[0]) or (problem is None and " - " not in lines[0])
    assert used_live is False


@pytest.mark.parametrize(
    ("missing_ok", "ok", "line"),
    [
        pytest.param(True, True, "absent (allowed)", id="missing-file-allowed"),
        pytest.param(False, False, "absent", id="missing-file-fails"),
    ],
)
def test_check_file_mode_of_a_missing_file(tmp_path, missing_ok, ok, line):
    path = tmp_path / "cron.deny"
    passed, lines, _ = probe().check_file_mode(
        {"type": "file_mode", "path": str(path), "mode": "0000", "missing_ok": missing_ok}
    )
    assert passed is ok
    assert lines == [f"{path}: {line}"]


# --- file_line --------------------------------------------------------------------------------


@pytest.fixture
def etc(tmp_path):
    (tmp_path / "login.defs").write_text("PASS_MAX_DAYS\t180\nUMASK 027\n")
    (tmp_path / "profile.d").mkdir()
    (tmp_path / "profile.d" / "10-lang.sh").write_text("export LANG=tr_TR.UTF-8\n")
    (tmp_path / "profile.d" / "bgys-ses-01.sh").write_text("TMOUT=900\nreadonly TMOUT\nexport TMOUT\n")
    return tmp_path


@pytest.mark.parametrize(
    ("where", "regex", "extra", "ok", "evidence"),
    [
        pytest.param(
            {"path": "login.defs"},
            r"^PASS_MAX_DAYS\s+180\s*$",
            {},
            True,
            "login.defs: PASS_MAX_DAYS\t180",
            id="present-line-found",
        ),
        pytest.param(
            {"path": "login.defs"}, r"^PASS_MAX_DAYS\s+90\s*$", {}, False, "no line matching", id="present-line-missing"
        ),
        pytest.param(
            {"path": "login.defs"},
            r"^UMASK\s+022",
            {"present": False},
            True,
            "(as required)",
            id="absent-line-not-found",
        ),
        pytest.param(
            {"path": "login.defs"},
            r"^UMASK\s+027",
            {"present": False},
            False,
            "login.defs: UMASK 027",
            id="absent-line-found",
        ),
        pytest.param(
            {"paths": ["profile.d/*.sh"]},
            r"^\s*readonly\s+TMOUT\s*$",
            {},
            True,
            "bgys-ses-01.sh: readonly TMOUT",
            id="glob-finds-the-line-in-one-of-several-files",
        ),
        pytest.param({"paths": ["profile.d/*.sh"]}, r"^TMOUT=600$", {}, False, "10-lang.sh", id="glob-names-the-files"),
        pytest.param({"paths": ["nothing/*.conf"]}, r"^x$", {}, False, "in no file", id="glob-matches-no-file"),
        pytest.param(
            {"paths": ["nothing/*.conf"]},
            r"^x$",
            {"missing_ok": True},
            True,
            "absent (allowed)",
            id="glob-matches-no-file-but-missing-is-allowed",
        ),
        pytest.param({"path": "cron.allow"}, r"^root$", {}, False, "no line matching", id="missing-file"),
    ],
)
def test_check_file_line(etc, where, regex, extra, ok, evidence):
    check = {"type": "file_line", "regex": regex, **extra}
    if "path" in where:
        check["path"] = str(etc / where["path"])
    else:
        check["paths"] = [str(etc / pattern) for pattern in where["paths"]]
    passed, lines, used_live = probe().check_file_line(check)
    assert passed is ok
    assert any(evidence in line for line in lines), lines
    assert used_live is False


# --- accounts ---------------------------------------------------------------------------------

USERS = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
SHADOW = "root:$y$j9T$abc:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n"


@pytest.mark.parametrize(
    ("passwd", "shadow", "check", "ok", "evidence"),
    [
        pytest.param(USERS, SHADOW, {"uid0_only_root": True}, True, "accounts with UID 0: root", id="only-root-uid0"),
        pytest.param(
            USERS + "toor:x:0:0::/root:/bin/sh\n",
            SHADOW,
            {"uid0_only_root": True},
            False,
            "accounts with UID 0: root, toor",
            id="second-uid0-account",
        ),
        pytest.param(
            USERS.replace("root:x:0", "admin:x:0"),
            SHADOW,
            {"uid0_only_root": True},
            False,
            "accounts with UID 0: admin",
            id="root-renamed",
        ),
        pytest.param(
            USERS,
            SHADOW,
            {"no_empty_passwords": True},
            True,
            "accounts with an empty password: none",
            id="no-empty-password",
        ),
        pytest.param(
            USERS,
            SHADOW + "guest::19700:0:99999:7:::\n",
            {"no_empty_passwords": True},
            False,
            "accounts with an empty password: guest",
            id="empty-password",
        ),
        pytest.param(
            USERS,
            SHADOW + "locked:!:19700:0:99999:7:::\n",
            {"no_empty_passwords": True},
            True,
            "empty password: none",
            id="locked-account-is-not-empty",
        ),
        pytest.param(
            USERS + "toor:x:0:0::/root:/bin/sh\n",
            SHADOW,
            {"no_empty_passwords": True},
            True,
            "empty password: none",
            id="only-the-asked-question-is-checked",
        ),
    ],
)
def test_check_accounts(host, passwd, shadow, check, ok, evidence):
    host.files.update({"/etc/passwd": passwd, "/etc/shadow": shadow})
    passed, lines, _ = probe().check_accounts({"type": "accounts", **check})
    assert passed is ok
    assert any(evidence in line for line in lines), lines


# --- unit, package, command -------------------------------------------------------------------


def show(load, filestate, active):
    return (0, f"LoadState={load}\nUnitFileState={filestate}\nActiveState={active}\n", "")


@pytest.mark.parametrize(
    ("state", "check", "live", "ok"),
    [
        pytest.param(
            show("loaded", "enabled", "active"), {"enabled": True, "active": True}, False, True, id="enabled-and-active"
        ),
        pytest.param(show("loaded", "disabled", "active"), {"enabled": True}, False, False, id="disabled"),
        pytest.param(
            show("loaded", "static", "inactive"), {"enabled": True}, False, True, id="static-counts-as-enabled"
        ),
        pytest.param(show("loaded", "enabled", "inactive"), {"active": True}, False, False, id="inactive"),
        pytest.param(show("masked", "masked", "inactive"), {"masked": True}, False, True, id="masked"),
        pytest.param(show("loaded", "enabled", "active"), {"masked": True}, False, False, id="not-masked"),
        pytest.param(
            show("not-found", "", "inactive"),
            {"masked_or_absent": True},
            False,
            True,
            id="absent-counts-as-masked-or-absent",
        ),
        pytest.param(
            show("loaded", "enabled", "inactive"),
            {"enabled": True, "active_live": True},
            False,
            True,
            id="active-live-ignored-in-a-container",
        ),
        pytest.param(
            show("loaded", "enabled", "inactive"),
            {"enabled": True, "active_live": True},
            True,
            False,
            id="active-live-checked-on-a-real-host",
        ),
        pytest.param((1, "", "Failed to connect to bus"), {"enabled": True}, False, False, id="systemctl-fails"),
    ],
)
def test_check_unit(commands, state, check, live, ok):
    commands[("systemctl", "show", "--property=LoadState,UnitFileState,ActiveState", "auditd.service")] = state
    passed, lines, used_live = probe(live).check_unit({"type": "unit", "name": "auditd.service", **check})
    assert passed is ok
    assert lines[0].startswith("auditd.service: load=")
    assert used_live is ("active_live" in check and live)


@pytest.mark.parametrize(
    ("installed", "check", "ok"),
    [
        pytest.param({"aide", "aide-common"}, {"names": ["aide", "aide-common"]}, True, id="all-installed"),
        pytest.param({"aide"}, {"names": ["aide", "aide-common"]}, False, id="one-missing"),
        pytest.param(set(), {"name": "telnet", "installed": False}, True, id="absent-as-required"),
        pytest.param(
            {"telnet"},
            {"names": ["telnet", "rsh-client"], "installed": False},
            False,
            id="one-that-must-be-absent-is-installed",
        ),
    ],
)
def test_check_package(commands, installed, check, ok):
    for name in ["aide", "aide-common", "telnet", "rsh-client"]:
        answer = (0, "ii ", "") if name in installed else (1, "", f"dpkg-query: no packages found matching {name}")
        commands[("dpkg-query", "-W", "-f=${db:Status-Abbrev}", name)] = answer
    passed, _, _ = probe().check_package({"type": "package", **check})
    assert passed is ok


def test_check_package_removed_but_configured_is_not_installed(commands):
    commands[("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "telnet")] = (0, "rc ", "")
    passed, lines, _ = probe().check_package({"type": "package", "name": "telnet", "installed": False})
    assert passed is True
    assert lines == ["package telnet: not installed"]


@pytest.mark.parametrize(
    ("answer", "check", "ok"),
    [
        pytest.param((0, "enabled 2\nfailure 1\n", ""), {"rc": 0, "regex": "enabled 2"}, True, id="rc-and-regex"),
        pytest.param((0, "enabled 1\n", ""), {"rc": 0, "regex": "enabled 2"}, False, id="regex-mismatch"),
        pytest.param((1, "", "You must be root"), {"rc": 0}, False, id="wrong-rc"),
        pytest.param((0, "", ""), {}, True, id="rc-defaults-to-zero"),
    ],
)
def test_check_command(commands, answer, check, ok):
    commands[("/usr/sbin/auditctl", "-s")] = answer
    passed, lines, _ = probe().check_command({"type": "command", "argv": ["/usr/sbin/auditctl", "-s"], **check})
    assert passed is ok
    assert lines[0].startswith(f"/usr/sbin/auditctl -s: rc={answer[0]}")


# --- evaluate ---------------------------------------------------------------------------------


def test_evaluate_skips_live_only_checks_in_a_container_and_says_so(host, commands):
    result = probe().evaluate([{"type": "command", "argv": ["/usr/sbin/auditctl", "-s"], "live_only": True}])
    assert result["passed"] is True
    assert result["mode"] == "config"
    assert len(result["evidence"]) == 1
    assert "not checked in a container" in result["evidence"][0]
    assert commands["calls"] == []


def test_evaluate_runs_live_only_checks_on_a_real_host(host, commands):
    commands[("/usr/sbin/auditctl", "-s")] = (0, "enabled 1\n", "")
    result = probe(live=True).evaluate(
        [{"type": "command", "argv": ["/usr/sbin/auditctl", "-s"], "regex": "enabled 2", "live_only": True}]
    )
    assert result["passed"] is False
    assert commands["calls"] == [("/usr/sbin/auditctl", "-s")]


def test_evaluate_prefixes_failing_lines_with_fail_and_fails_the_control(host):
    host.files["/etc/passwd"] = USERS + "toor:x:0:0::/root:/bin/sh\n"
    host.files["/etc/shadow"] = SHADOW
    result = probe().evaluate(
        [
            {"type": "accounts", "no_empty_passwords": True},
            {"type": "accounts", "uid0_only_root": True},
        ]
    )
    assert result["passed"] is False
    assert result["evidence"] == [
        "accounts with an empty password: none",
        "FAIL accounts with UID 0: root, toor",
    ]


@pytest.mark.parametrize(
    ("live", "mode"),
    [
        pytest.param(True, "live", id="real-host-reading-live-state-is-live"),
        pytest.param(False, "config", id="container-is-config"),
    ],
)
def test_evaluate_mode(host, live, mode):
    host.files["/etc/sysctl.d/60-bgys-krn-03.conf"] = "fs.suid_dumpable = 0\n"
    host.files["/proc/sys/fs/suid_dumpable"] = "0\n"
    result = probe(live).evaluate([{"type": "sysctl", "key": "fs.suid_dumpable", "value": "0"}])
    assert result == {
        "passed": True,
        "mode": mode,
        "evidence": ["fs.suid_dumpable configured '0' in /etc/sysctl.d/60-bgys-krn-03.conf (want '0')"]
        + (["fs.suid_dumpable live '0'"] if live else []),
    }


def test_evaluate_on_a_real_host_with_only_configuration_checks_is_config(host):
    host.files["/etc/passwd"] = USERS
    assert probe(live=True).evaluate([{"type": "accounts", "uid0_only_root": True}])["mode"] == "config"


@pytest.mark.parametrize("live", [True, False], ids=["real-host", "container-even-if-live-only"])
def test_evaluate_rejects_an_unknown_check_type(host, live):
    with pytest.raises(isms_probe.CheckError, match="unknown check type 'sysctll'"):
        probe(live).evaluate([{"type": "sysctll", "key": "kernel.sysrq", "value": "0", "live_only": True}])


def test_evaluate_with_no_checks_passes_in_config_mode():
    assert probe().evaluate([]) == {"passed": True, "mode": "config", "evidence": []}
