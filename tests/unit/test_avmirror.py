"""lab/avmirror.py without podman: the signature sources, the build's cache and checks (with a
fake container), the header reader, and the HTTP server's Last-Modified / If-Modified-Since (304)
behaviour on loopback."""

import email.utils
import http.client
import os
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
import avmirror  # noqa: E402

HEADER = "ClamAV-VDB:30 Nov 2026 12-37 +0000:3:2:216:6aa32fb75d41c3136d6c6cd6e0b29cb0:X:belediye-lab:1796042279"


def test_eicar_is_the_68_byte_test_file_and_not_in_the_source_as_one_string():
    data = avmirror.eicar()
    assert len(data) == 68
    assert data.startswith(b"X5O!P%@AP")
    assert data.endswith(b"H+H*")
    source = (ROOT / "lab" / "avmirror.py").read_bytes()
    assert data not in source
    assert b"EICAR-STANDARD-ANTIVIRUS" not in source


@pytest.mark.parametrize(
    ("version", "names"),
    [
        (1, ["Belediye.Test.EICAR", "Belediye.Test.Marker"]),
        (2, ["Belediye.Test.EICAR", "Belediye.Test.Marker", "Belediye.Test.Bump2"]),
        (4, ["Belediye.Test.EICAR", "Belediye.Test.Marker", "Belediye.Test.Bump2", "Belediye.Test.Bump3",
             "Belediye.Test.Bump4"]),
    ],
    ids=["first-version-eicar-and-marker", "a-bump-adds-one-signature", "later-versions-keep-earlier-bumps"],
)  # fmt: skip
def test_signature_sources_are_body_signatures_of_any_file_type(version, names):
    sources = avmirror.signature_sources(version)
    assert set(sources) == {"belediye-lab.ndb", "COPYING"}
    lines = sources["belediye-lab.ndb"].splitlines()
    assert [line.split(":")[0] for line in lines] == names
    for line in lines:
        name, target, offset, body = line.split(":")
        assert (target, offset) == ("0", "*")
        bytes.fromhex(body)
    assert lines[0] == "Belediye.Test.EICAR:0:*:" + avmirror.eicar().hex()


def test_version_zero_is_refused():
    with pytest.raises(ValueError, match="version must be 1 or more"):
        avmirror.signature_sources(0)


def test_inputs_hash_is_stable_and_changes_with_the_version():
    assert avmirror.inputs_hash(1) == avmirror.inputs_hash(1)
    assert avmirror.inputs_hash(1) != avmirror.inputs_hash(2)


@pytest.mark.parametrize(
    ("output", "version", "problems"),
    [
        ("/build/samples/eicar.com: Belediye.Test.EICAR.UNOFFICIAL FOUND\n"
         "/build/samples/marker.txt: Belediye.Test.Marker.UNOFFICIAL FOUND\n", 1, []),
        ("/build/samples/eicar.com: OK\n/build/samples/marker.txt: Belediye.Test.Marker.UNOFFICIAL FOUND\n", 1,
         ["eicar.com was not reported as Belediye.Test.EICAR.UNOFFICIAL"]),
        ("/build/samples/eicar.com: Belediye.Test.EICAR.UNOFFICIAL FOUND\n"
         "/build/samples/marker.txt: Belediye.Test.Marker.UNOFFICIAL FOUND\n", 3,
         ["bump-3.txt was not reported as Belediye.Test.Bump3.UNOFFICIAL"]),
    ],
    ids=["all-found", "eicar-missed", "bump-missed"],
)  # fmt: skip
def test_scan_problems_name_each_missed_sample(output, version, problems):
    assert avmirror.scan_problems(output, version) == problems


def fake_container(calls, rc=0, found=True):
    def run(staging: Path, env: dict) -> tuple[int, str]:
        calls.append((staging, dict(env), sorted(p.name for p in (staging / "src").iterdir())))
        assert (staging / "01proxy").read_text() == "proxy\n"
        out = staging / "out"
        out.mkdir()
        (out / env["DB_NAME"]).write_text(HEADER.ljust(512) + "body")
        (out / "info.txt").write_text(f"Version: {env['DB_VERSION']}\n")
        lines = [
            f"/build/samples/{name}: {sig if found else 'OK'}{' FOUND' if found else ''}"
            for name, sig in avmirror.expected_detections(int(env["DB_VERSION"])).items()
        ]
        (out / "scan.txt").write_text("\n".join(lines) + "\n")
        (staging / "sigtool.err").write_text("sigtool said no\n")
        return rc, "container error" if rc else ""

    return run


def test_build_runs_once_per_version_and_cleans_its_staging(tmp_path):
    calls = []
    first = avmirror.build(tmp_path, 1, fake_container(calls), "proxy\n")
    again = avmirror.build(tmp_path, 1, fake_container(calls), "proxy\n")
    assert first == again == tmp_path / "builds" / f"{avmirror.inputs_hash(1)}.cud"
    assert len(calls) == 1
    staging, env, sources = calls[0]
    assert env == {"DB_NAME": "belediye-lab.cud", "DB_VERSION": "1", "BUILDER": "belediye-lab"}
    assert sources == ["COPYING", "belediye-lab.ndb"]
    assert not staging.exists()
    assert not list(tmp_path.glob("staging-*"))
    avmirror.build(tmp_path, 2, fake_container(calls), "proxy\n")
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("rc", "found", "message"),
    [(7, True, "failed \\(exit 7\\): container error"), (0, False, "eicar.com was not reported")],
    ids=["container-fails", "database-misses-eicar"],
)
def test_a_failed_build_says_why_and_caches_nothing(tmp_path, rc, found, message):
    with pytest.raises(RuntimeError, match=message) as info:
        avmirror.build(tmp_path, 1, fake_container([], rc=rc, found=found), "proxy\n")
    assert "sigtool said no" in str(info.value)
    assert not list((tmp_path / "builds").glob("*.cud"))


def test_publish_keeps_the_build_time_and_replaces_only_a_different_file(tmp_path):
    built = tmp_path / "a.cud"
    built.write_bytes(b"one")
    os.utime(built, (1_700_000_000, 1_700_000_000))
    dest = avmirror.publish(built, tmp_path / "www")
    assert dest.read_bytes() == b"one"
    assert int(dest.stat().st_mtime) == 1_700_000_000
    os.utime(dest, (1_700_000_500, 1_700_000_500))
    avmirror.publish(built, tmp_path / "www")
    assert int(dest.stat().st_mtime) == 1_700_000_500, "an unchanged database was copied again"
    other = tmp_path / "b.cud"
    other.write_bytes(b"two")
    avmirror.publish(other, tmp_path / "www")
    assert dest.read_bytes() == b"two"


def test_database_header_fields(tmp_path):
    db = tmp_path / "x.cud"
    db.write_bytes(HEADER.ljust(512).encode() + b"\x1f\x8b")
    head = avmirror.database_header(db)
    assert (head["magic"], head["version"], head["signatures"], head["builder"], head["stime"]) == (
        "ClamAV-VDB",
        "3",
        "2",
        "belediye-lab",
        "1796042279",
    )


def test_read_version_defaults_to_one(tmp_path):
    assert avmirror.read_version(tmp_path) == 1
    (tmp_path / "version").write_text("5\n")
    assert avmirror.read_version(tmp_path) == 5
    (tmp_path / "version").write_text("garbage")
    assert avmirror.read_version(tmp_path) == 1


@pytest.fixture
def server(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "belediye-lab.cud").write_bytes(b"database")
    os.utime(www / "belediye-lab.cud", (1_790_000_000, 1_790_000_000))
    (www / ".hidden").write_text("no")
    srv = avmirror.make_server(www, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv.server_address[1], www
    srv.shutdown()
    srv.server_close()


def get(port, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


LAST_MODIFIED = email.utils.formatdate(1_790_000_000, usegmt=True)


@pytest.mark.parametrize(
    ("path", "headers", "status", "body"),
    [
        ("/belediye-lab.cud", {}, 200, b"database"),
        ("/belediye-lab.cud", {"If-Modified-Since": LAST_MODIFIED}, 304, b""),
        ("/belediye-lab.cud", {"If-Modified-Since": email.utils.formatdate(1_790_000_100, usegmt=True)}, 304, b""),
        ("/belediye-lab.cud", {"If-Modified-Since": email.utils.formatdate(1_789_999_999, usegmt=True)}, 200,
         b"database"),
        ("/belediye-lab.cud", {"If-Modified-Since": "not a date"}, 200, b"database"),
        ("/belediye-lab.cud?x=1", {}, 200, b"database"),
        ("/missing.cud", {}, 404, None),
        ("/.hidden", {}, 404, None),
        ("/../etc/passwd", {}, 404, None),
        ("/", {}, 404, None),
    ],
    ids=["plain-get", "ims-equal-304", "ims-newer-304", "ims-older-200", "bad-ims-ignored", "query-ignored",
         "missing-404", "hidden-404", "traversal-404", "no-listing-404"],
)  # fmt: skip
def test_server_answers_with_last_modified_and_304(server, path, headers, status, body):
    port, _www = server
    got_status, got_headers, got_body = get(port, path, headers)
    assert got_status == status
    if status in (200, 304):
        assert got_headers["Last-Modified"] == LAST_MODIFIED
    if body is not None:
        assert got_body == body


def test_server_head_has_no_body_and_a_rebuilt_file_is_new(server):
    port, www = server
    status, headers, body = get(port, "/belediye-lab.cud", method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", "8")
    os.utime(www / "belediye-lab.cud", (1_790_000_600, 1_790_000_600))
    status, _h, body = get(port, "/belediye-lab.cud", {"If-Modified-Since": LAST_MODIFIED})
    assert (status, body) == (200, b"database")


def test_sources_command_writes_the_files(tmp_path):
    assert avmirror.main(["sources", str(tmp_path), "--version", "2"]) == 0
    assert "Belediye.Test.Bump2" in (tmp_path / "belediye-lab.ndb").read_text()
