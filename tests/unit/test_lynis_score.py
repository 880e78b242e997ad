"""Parsers of bench/lynis/lynis_score.py: report.dat, lynis.log points, sysctl files and profile."""

import io
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "lynis"))
import lynis_score as ls  # noqa: E402

# --- report.dat ------------------------------------------------------------------------------

REPORT = """\
# Lynis Report
report_version_major=1
lynis_version=3.0.8
hardening_index=61
warning[]=PKGS-7388|Ensure security repository is found in sources.list|-|-|
suggestion[]=DEB-0280|Install libpam-tmpdir to set $TMP and $TMPDIR for PAM sessions|-|-|
suggestion[]=SSH-7408|Consider hardening SSH configuration|MaxAuthTries (set 6 to 3)|-|
suggestion[]=LYNIS|This release is more than 4 months old.
tests_executed=DEB-0280|SSH-7408|
tests_skipped=KRNL-6000|
"""


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        pytest.param("hardening_index", 61, id="index-is-an-int"),
        pytest.param("lynis_version", "3.0.8", id="version"),
        pytest.param("tests_executed", ["DEB-0280", "SSH-7408"], id="executed-tests-without-empty-tail"),
        pytest.param("tests_skipped", ["KRNL-6000"], id="skipped-tests"),
        pytest.param("warnings", [ls.Finding("PKGS-7388", "Ensure security repository is found in sources.list")],
                     id="warning-fields-split-on-bars"),
        pytest.param(
            "suggestions",
            [
                ls.Finding("DEB-0280", "Install libpam-tmpdir to set $TMP and $TMPDIR for PAM sessions"),
                ls.Finding("SSH-7408", "Consider hardening SSH configuration", "MaxAuthTries (set 6 to 3)"),
                ls.Finding("LYNIS", "This release is more than 4 months old."),
            ],
            id="repeated-suggestions-keep-order-and-short-lines-are-padded",
        ),
    ],
)  # fmt: skip
def test_parse_report(attribute, expected):
    assert getattr(ls.parse_report(REPORT), attribute) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("lynis_version=3.0.8\n", None, id="missing-index-is-none"),
        pytest.param("hardening_index=\n", None, id="empty-index-is-none"),
        pytest.param("hardening_index=100\n", 100, id="full-marks"),
    ],
)
def test_report_index_edge_cases(text, expected):
    assert ls.parse_report(text).hardening_index == expected


# --- lynis.log points ------------------------------------------------------------------------

T = "2026-11-28 08:15:49 "
LOG_308 = f"""\
{T}====
{T}Performing test ID DEB-0280 (Checking if libpam-tmpdir is installed and enabled.)
{T}Hardening: assigned partial number of hardening points (0 of 2). Currently having 0 points (out of 2)
{T}====
{T}Performing test ID KRNL-5820 (Checking core dumps configuration)
{T}Hardening: assigned partial number of hardening points (0 of 1). Currently having 0 points (out of 3)
{T}Hardening: assigned maximum number of hardening points for this item (3). Currently having 3 points (out of 6)
{T}====
{T}Skipped test KRNL-6000 (Check sysctl key pairs in scan profile)
{T}Hardening: assigned maximum number of hardening points for this item (1). Currently having 4 points (out of 7)
{T}====
{T}Performing test ID SSH-7408 (Check SSH specific defined options)
{T}Hardening: assigned 2 hardening points (max for this item: 3)
{T}Hardening index : [85] [#################   ]
"""


@pytest.mark.parametrize(
    ("test", "points", "max_points"),
    [
        pytest.param("DEB-0280", 0, 2, id="partial-zero-points"),
        pytest.param("KRNL-5820", 3, 4, id="several-lines-of-one-test-add-up"),
        pytest.param(ls.NO_TEST, 1, 1, id="points-after-a-skipped-test-belong-to-no-test"),
        pytest.param("SSH-7408", 2, 3, id="other-release-wording"),
    ],
)
def test_parse_log_points_per_test(test, points, max_points):
    entry = ls.parse_log_points(LOG_308).tests[test]
    assert (entry.points, entry.max_points) == (points, max_points)


def test_parse_log_points_totals_and_index():
    log = ls.parse_log_points(LOG_308)
    assert (log.points, log.max_points, log.log_index) == (6, 10, 85)


@pytest.mark.parametrize(
    ("points", "max_points", "index"),
    [
        pytest.param(152, 247, 61, id="rounds-down-like-lynis"),
        pytest.param(210, 247, 85, id="target"),
        pytest.param(5, 5, 100, id="full"),
        pytest.param(0, 0, 0, id="no-points-at-all"),
    ],
)
def test_hardening_index(points, max_points, index):
    assert ls.hardening_index(points, max_points) == index


def test_top_losses_are_sorted_and_carry_suggestions():
    log = ls.parse_log_points(LOG_308)
    report = ls.parse_report(REPORT)
    losses = ls.top_losses(log, report.suggestions, 2)
    assert [(x["test"], x["lost"]) for x in losses] == [("DEB-0280", 2), ("KRNL-5820", 1)]
    assert losses[0]["suggestions"] == ["Install libpam-tmpdir to set $TMP and $TMPDIR for PAM sessions"]


# --- sysctl files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("kernel.sysrq = 0\n", {"kernel.sysrq": "0"}, id="spaces-around-equals"),
        pytest.param("kernel.sysrq=0\nkernel.sysrq=1\n", {"kernel.sysrq": "1"}, id="later-line-wins"),
        pytest.param("# kernel.sysrq = 0\n; fs.suid_dumpable = 0\n\n", {}, id="comments-and-blank-lines"),
        pytest.param("-net.ipv4.tcp_syncookies = 1\n", {"net.ipv4.tcp_syncookies": "1"}, id="dash-prefix"),
        pytest.param("net/ipv4/conf/all/rp_filter = 1\n", {"net.ipv4.conf.all.rp_filter": "1"}, id="slash-form"),
        pytest.param("net/ipv4/conf/eth0.5/rp_filter=1\n", {"net.ipv4.conf.eth0/5.rp_filter": "1"},
                     id="dot-inside-slash-form-is-literal"),
        pytest.param("net.ipv4.tcp_rmem = 4096   87380 6291456\n", {"net.ipv4.tcp_rmem": "4096 87380 6291456"},
                     id="multi-value-whitespace-collapsed"),
        pytest.param("net.ipv4.conf.*.rp_filter = 1\n", {}, id="glob-keys-ignored"),
        pytest.param("not a setting\n", {}, id="line-without-equals-ignored"),
    ],
)  # fmt: skip
def test_parse_sysctl_conf(text, expected):
    assert ls.parse_sysctl_conf(text) == expected


@pytest.mark.parametrize(
    ("paths", "order"),
    [
        pytest.param(
            ["/usr/lib/sysctl.d/99-protect-links.conf", "/usr/lib/sysctl.d/50-pid-max.conf"],
            ["/usr/lib/sysctl.d/50-pid-max.conf", "/usr/lib/sysctl.d/99-protect-links.conf"],
            id="sorted-by-name",
        ),
        pytest.param(
            ["/usr/lib/sysctl.d/10-a.conf", "/etc/sysctl.d/20-b.conf", "/run/sysctl.d/30-c.conf"],
            ["/usr/lib/sysctl.d/10-a.conf", "/etc/sysctl.d/20-b.conf", "/run/sysctl.d/30-c.conf"],
            id="names-sort-across-directories",
        ),
        pytest.param(
            ["/usr/lib/sysctl.d/50-x.conf", "/etc/sysctl.d/50-x.conf", "/run/sysctl.d/50-x.conf"],
            ["/etc/sysctl.d/50-x.conf"],
            id="etc-hides-same-name-in-run-and-usr-lib",
        ),
        pytest.param(
            ["/usr/lib/sysctl.d/50-x.conf", "/lib/sysctl.d/50-x.conf"], ["/usr/lib/sysctl.d/50-x.conf"],
            id="usr-lib-before-lib",
        ),
        pytest.param(
            ["/etc/sysctl.conf", "/etc/sysctl.d/60-isms.conf", "/usr/lib/sysctl.d/99-protect-links.conf"],
            ["/etc/sysctl.d/60-isms.conf", "/usr/lib/sysctl.d/99-protect-links.conf", "/etc/sysctl.conf"],
            id="sysctl-conf-is-read-as-99-sysctl-conf",
        ),
        pytest.param(
            ["/etc/sysctl.conf", "/etc/sysctl.d/99-sysctl.conf"], ["/etc/sysctl.d/99-sysctl.conf"],
            id="existing-99-sysctl-link-is-not-read-twice",
        ),
        pytest.param(
            ["/etc/sysctl.d/README.sysctl", "/etc/sysctl.d/old.conf.dpkg-old", "/opt/sysctl.d/1.conf"], [],
            id="only-conf-files-in-known-directories",
        ),
    ],
)  # fmt: skip
def test_sysctl_file_order(paths, order):
    assert ls.sysctl_file_order(paths) == order


@pytest.mark.parametrize(
    ("files", "key", "expected"),
    [
        pytest.param(
            {"/usr/lib/sysctl.d/99-protect-links.conf": "fs.protected_fifos = 1\n",
             "/etc/sysctl.d/60-isms.conf": "fs.protected_fifos = 2\n"},
            "fs.protected_fifos", ("1", "/usr/lib/sysctl.d/99-protect-links.conf"),
            id="later-file-name-wins-even-from-usr-lib",
        ),
        pytest.param(
            {"/usr/lib/sysctl.d/99-protect-links.conf": "fs.protected_fifos = 1\n",
             "/etc/sysctl.d/99-protect-links.conf": "fs.protected_fifos = 2\n"},
            "fs.protected_fifos", ("2", "/etc/sysctl.d/99-protect-links.conf"),
            id="etc-override-of-the-same-name",
        ),
        pytest.param(
            {"/usr/lib/sysctl.d/99-protect-links.conf": "fs.protected_fifos = 1\n",
             "/etc/sysctl.d/99-protect-links.conf": None},
            "fs.protected_fifos", None,
            id="masked-file-sets-nothing",
        ),
        pytest.param(
            {"/etc/sysctl.conf": "kernel.sysrq = 0\n", "/etc/sysctl.d/99-zz.conf": "kernel.sysrq = 1\n"},
            "kernel.sysrq", ("1", "/etc/sysctl.d/99-zz.conf"),
            id="file-sorting-after-99-sysctl-overrides-sysctl-conf",
        ),
    ],
)  # fmt: skip
def test_effective_sysctl(files, key, expected):
    assert ls.effective_sysctl(files).get(key) == expected


PROFILE = """\
config-data=sysctl;fs.protected_fifos;2;1;Restrict FIFO special device creation behavior;sysctl -a;url:https;//x;
config-data=sysctl;kernel.yama.ptrace_scope;1|2|3;1;Disable process tracing for everyone;-;category:security;
config-data=sysctl;net.ipv4.tcp_timestamps;0|1;1;Do not use TCP time stamps;-;category:security;
#config-data=sysctl;kern.randompid=2345;Randomize PID numbers;sysctl -a;-;category:security;
config-data=sysctl;net.inet.ip.linklocal.in.allowbadttl;0;
config-data=sysctl;kernel.sysrq;0;1;Disable magic SysRQ;sysctl -a;-;category:security;
"""


def test_parse_profile_sysctl():
    expected = ls.parse_profile_sysctl(PROFILE)
    assert sorted(expected) == [
        "fs.protected_fifos",
        "kernel.sysrq",
        "kernel.yama.ptrace_scope",
        "net.inet.ip.linklocal.in.allowbadttl",
        "net.ipv4.tcp_timestamps",
    ]
    assert expected["kernel.yama.ptrace_scope"].values == ["1", "2", "3"]
    assert expected["net.inet.ip.linklocal.in.allowbadttl"].description == ""


@pytest.mark.parametrize(
    ("configured", "present", "matched", "total", "mismatched"),
    [
        pytest.param({}, None, 0, 5, ["fs.protected_fifos", "kernel.sysrq", "kernel.yama.ptrace_scope",
                                      "net.inet.ip.linklocal.in.allowbadttl", "net.ipv4.tcp_timestamps"],
                     id="unset-key-is-a-mismatch"),
        pytest.param({"kernel.yama.ptrace_scope": ("2", "/etc/sysctl.d/60.conf")},
                     {"kernel.yama.ptrace_scope"}, 1, 1, [], id="any-of-the-alternatives-matches"),
        pytest.param({"fs.protected_fifos": ("1", "/usr/lib/sysctl.d/99-protect-links.conf")},
                     {"fs.protected_fifos", "kernel.sysrq"}, 0, 2, ["fs.protected_fifos", "kernel.sysrq"],
                     id="wrong-value-and-unset-value"),
        pytest.param({"fs.protected_fifos": ("2", "/etc/sysctl.d/60.conf"), "kernel.sysrq": ("0", "/etc/x.conf")},
                     {"fs.protected_fifos", "kernel.sysrq", "vm.swappiness"}, 2, 2, [],
                     id="only-keys-present-on-the-host-and-expected-by-lynis-count"),
    ],
)  # fmt: skip
def test_compare_sysctl(configured, present, matched, total, mismatched):
    score = ls.compare_sysctl(ls.parse_profile_sysctl(PROFILE), configured, present)
    assert (score.matched, score.total) == (matched, total)
    assert [m["key"] for m in score.mismatches] == mismatched


def test_compare_sysctl_reports_source_and_expected_value():
    configured = {"fs.protected_fifos": ("1", "/usr/lib/sysctl.d/99-protect-links.conf")}
    score = ls.compare_sysctl(ls.parse_profile_sysctl(PROFILE), configured, {"fs.protected_fifos"})
    assert score.mismatches == [
        {
            "key": "fs.protected_fifos",
            "expected": "2",
            "configured": "1",
            "source": "/usr/lib/sysctl.d/99-protect-links.conf",
            "description": "Restrict FIFO special device creation behavior",
        }
    ]


def _tar(entries: list[tuple[str, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.CHRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_sysctl_files_from_tar():
    data = _tar(
        [
            ("etc/sysctl.conf", b"kernel.sysrq = 0\n"),
            ("etc/sysctl.d/99-protect-links.conf", None),
            ("usr/lib/sysctl.d/50-pid-max.conf", b"kernel.pid_max = 4194304\n"),
            ("usr/lib/sysctl.d/sub/ignored.conf", b"x = 1\n"),
        ]
    )
    assert ls.sysctl_files_from_tar(data) == {
        "/etc/sysctl.conf": "kernel.sysrq = 0\n",
        "/etc/sysctl.d/99-protect-links.conf": None,
        "/usr/lib/sysctl.d/50-pid-max.conf": "kernel.pid_max = 4194304\n",
    }


# --- CLI helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "opts", "expected"),
    [
        pytest.param("app01", None, ["ssh", "-o", "BatchMode=yes", "-F", "/cfg", "app01"], id="lab-ssh-config"),
        pytest.param("ansible@10.0.0.5", ["-i /k -o StrictHostKeyChecking=accept-new", "-p 22"],
                     ["ssh", "-o", "BatchMode=yes", "-i", "/k", "-o", "StrictHostKeyChecking=accept-new", "-p", "22",
                      "ansible@10.0.0.5"], id="explicit-options-replace-the-config"),
    ],
)  # fmt: skip
def test_ssh_prefix(target, opts, expected):
    assert ls.ssh_prefix(target, opts, Path("/cfg")) == expected


@pytest.mark.parametrize(
    ("spec", "ok"),
    [
        pytest.param("app01=app01", ("app01", "app01"), id="label-and-target"),
        pytest.param("fresh=ansible@10.231.0.140", ("fresh", "ansible@10.231.0.140"), id="user-at-address"),
        pytest.param("app01", None, id="missing-label-is-refused"),
        pytest.param("=app01", None, id="empty-label-is-refused"),
    ],
)
def test_parse_hostspec(spec, ok):
    if ok is None:
        with pytest.raises(Exception, match="LABEL=SSH-TARGET"):
            ls.parse_hostspec(spec)
    else:
        assert ls.parse_hostspec(spec) == ok
