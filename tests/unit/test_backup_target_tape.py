"""roles/backup_target/files/belediye_backup_tape.py: the tape stage, on a file-backed tape in tmp_path."""

import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "backup_target" / "files"))

import belediye_backup_tape as tape  # noqa: E402 - an installed script, not a package

BLOCK = 10240


def fake_repo(data: Path, name: str, snapshots: int = 2) -> dict[str, bytes]:
    """A directory shaped like a restic repository (contents are arbitrary bytes); returns its files."""
    files = {
        "config": b"config-" + name.encode(),
        "keys/" + "1" * 64: b"key",
        "index/" + "2" * 64: b"index",
        "data/ab/ab" + "3" * 62: os.urandom(30000),
        "data/cd/cd" + "4" * 62: b"",
        "locks/" + "5" * 64: b"lock",
        "data/ab/.tmp-upload": b"partial",
    }
    for n in range(snapshots):
        files[f"snapshots/{n}" + "6" * 63] = f"snapshot {n}".encode()
    for rel, content in files.items():
        path = data / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


@pytest.fixture
def lab(tmp_path):
    data = tmp_path / "restic"
    contents = {"app01": fake_repo(data, "app01"), "log01": fake_repo(data, "log01", 1)}
    (tmp_path / "tape").mkdir()
    config = {
        "device": str(tmp_path / "tape" / "tape0.img"),
        "changer": "",
        "slot": 1,
        "block_size": BLOCK,
        "data_dir": str(data),
        "repositories": ["app01", "log01"],
        "label_prefix": "MOL",
        "host": "yedek01",
        "catalogue": str(tmp_path / "tape-catalogue.jsonl"),
        "status_file": str(tmp_path / "tape-status.json"),
        "lock_file": str(tmp_path / "lock"),
        "password_file": str(tmp_path / "key"),
    }
    path = tmp_path / "tape.json"
    path.write_text(json.dumps(config))
    return {"tmp": tmp_path, "config": config, "path": str(path), "contents": contents}


def run(lab, *argv) -> int:
    return tape.main(["--config", lab["path"], *argv])


# --- blocks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "blocks"), [(0, 0), (1, 1), (BLOCK, 1), (BLOCK + 1, 2), (3 * BLOCK - 5, 3)])
def test_blocks_are_whole_and_the_last_is_padded_with_zeros(size, blocks):
    raw = io.BytesIO()
    writer = tape.BlockWriter(raw, BLOCK)
    payload = os.urandom(size)
    for start in range(0, size, 777):
        writer.write(payload[start : start + 777])
    writer.close()
    out = raw.getvalue()
    assert len(out) == blocks * BLOCK
    assert out[:size] == payload
    assert out[size:] == b"\0" * (len(out) - size)
    assert writer.blocks == blocks


def test_the_reader_hands_out_what_the_blocks_held():
    payload = os.urandom(3 * BLOCK)
    reader = tape.BlockReader(io.BytesIO(payload), BLOCK)
    assert reader.read(5) + reader.read(BLOCK) + reader.read() == payload
    assert reader.read(10) == b""


# --- the changer and the device ------------------------------------------------------------------------

MTX_STATUS = """  Storage Changer /dev/sg3:1 Drives, 24 Slots ( 1 Import/Export )
Data Transfer Element 0:Full (Storage Element 5 Loaded):VolumeTag = BEL005L6
      Storage Element 1:Full :VolumeTag=BEL001L6
"""


@pytest.mark.parametrize(
    ("status", "drive", "slot"),
    [
        pytest.param(MTX_STATUS, 0, 5, id="loaded"),
        pytest.param(MTX_STATUS, 1, None, id="other-drive"),
        pytest.param("Data Transfer Element 0:Empty\n", 0, None, id="empty"),
    ],
)
def test_loaded_slot(status, drive, slot):
    assert tape.loaded_slot(status, drive) == slot


@pytest.mark.parametrize(
    ("status", "calls"),
    [
        pytest.param(MTX_STATUS.replace("Element 5", "Element 2"), [["status"]], id="already-loaded"),
        pytest.param(MTX_STATUS, [["status"], ["unload", "5", "0"], ["load", "2", "0"]], id="other-tape-first-out"),
        pytest.param("Data Transfer Element 0:Empty\n", [["status"], ["load", "2", "0"]], id="empty-drive"),
    ],
)
def test_the_changer_loads_the_configured_slot(monkeypatch, status, calls):
    seen = []

    def fake(argv, what):
        seen.append(argv[3:])
        assert argv[:3] == ["/usr/sbin/mtx", "-f", "/dev/sg3"]
        return status

    monkeypatch.setattr(tape, "run_tool", fake)
    tape.load_tape({"changer": "/dev/sg3", "slot": 2})
    assert seen == calls


def test_no_changer_no_mtx(monkeypatch):
    monkeypatch.setattr(tape, "run_tool", lambda *a: pytest.fail("mtx was called"))
    tape.load_tape({"changer": "", "slot": 1})


def test_only_a_tape_device_is_rewound(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(tape, "run_tool", lambda argv, what: seen.append(argv))
    tape.rewind({"device": str(tmp_path / "tape0.img")})
    assert seen == []
    monkeypatch.setattr(tape, "is_tape_device", lambda path: True)
    tape.rewind({"device": "/dev/nst0", "mt": "/bin/mt-st"})
    assert seen == [["/bin/mt-st", "-f", "/dev/nst0", "rewind"]]


def test_a_failing_tool_is_a_tape_error():
    with pytest.raises(tape.TapeError, match="rewinding the tape: .* exited 1"):
        tape.run_tool([sys.executable, "-c", "import sys; sys.exit(1)"], "rewinding the tape")


# --- label, write, read back -----------------------------------------------------------------------------


def test_repository_files_put_snapshots_first_and_leave_locks_and_uploads_out(lab):
    rels = tape.repository_files(str(lab["tmp"] / "restic" / "app01"))
    assert rels[:2] == sorted(r for r in lab["contents"]["app01"] if r.startswith("snapshots/"))
    assert not any(r.startswith("locks/") or "/." in r for r in rels)
    assert set(rels) == {r for r in lab["contents"]["app01"] if not r.startswith("locks/") and ".tmp" not in r}


def test_write_reads_back_and_catalogues_a_tape(lab, capsys):
    assert run(lab, "write") == 0
    device = Path(lab["config"]["device"])
    assert device.stat().st_size % BLOCK == 0
    with tarfile.open(device) as tar:
        names = tar.getnames()
        label = json.load(tar.extractfile(names[0]))
    assert names[0] == "TAPE-LABEL.json"
    assert label["format"] == "belediye-backup-tape/1"
    assert label["label"].startswith("MOL-")
    assert label["host"] == "yedek01"
    assert set(label["repositories"]) == {"app01", "log01"}
    assert label["repositories"]["app01"]["snapshots"] == sorted(
        Path(r).name for r in lab["contents"]["app01"] if r.startswith("snapshots/")
    )
    for entry in label["files"]:
        repo, rel = entry["path"].split("/", 1)
        assert entry["sha256"] == hashlib.sha256(lab["contents"][repo][rel]).hexdigest()
    assert names[1:] == [f["path"] for f in label["files"]]
    lines = Path(lab["config"]["catalogue"]).read_text().splitlines()
    entry = json.loads(lines[-1])
    assert (entry["label"], entry["verify"], entry["files"]) == (label["label"], "ok", len(label["files"]))
    assert entry["repositories"]["log01"]["files"] == 6
    status = json.loads(Path(lab["config"]["status_file"]).read_text())
    assert status["result"] == "ok"
    assert "read back: ok" in capsys.readouterr().out


def test_write_only_the_asked_repository(lab):
    assert run(lab, "write", "--repo", "log01") == 0
    entry = json.loads(Path(lab["config"]["catalogue"]).read_text().splitlines()[-1])
    assert list(entry["repositories"]) == ["log01"]
    assert run(lab, "write", "--repo", "mail01") == 2


def test_a_changed_byte_fails_verification_naming_the_file(lab, capsys):
    assert run(lab, "write") == 0
    device = Path(lab["config"]["device"])
    with tarfile.open(device) as tar:
        member = next(m for m in tar if m.name.startswith("app01/data/") and m.size)
    raw = bytearray(device.read_bytes())
    raw[member.offset_data + 100] ^= 0xFF
    device.write_bytes(bytes(raw))
    capsys.readouterr()
    assert run(lab, "verify") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == [f"{member.name} does not match its label (sha256 or size differs)"]


def test_a_tape_not_written_by_the_tool_is_refused(lab, capsys):
    device = Path(lab["config"]["device"])
    with tarfile.open(device, "w") as tar:
        tar.add(lab["path"], arcname="something.json")
    assert run(lab, "verify") == 1
    assert "does not start with TAPE-LABEL.json" in capsys.readouterr().err


def write_crafted(device: str, label: dict, members: dict[str, bytes]) -> None:
    """A tape made by hand: the given label, then the given members."""
    with open(device, "wb") as raw:
        blocks = tape.BlockWriter(raw, BLOCK)
        with tarfile.open(fileobj=blocks, mode="w|") as tar:
            for name, content in [("TAPE-LABEL.json", json.dumps(label).encode()), *members.items()]:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        blocks.close()


def test_missing_and_unlabelled_members_are_reported():
    def entry(path, content):
        return {"path": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}

    label = {
        "format": tape.LABEL_FORMAT,
        "label": "MOL-1",
        "files": [entry("app01/config", b"c"), entry("app01/keys/k", b"k")],
    }
    raw = io.BytesIO()
    blocks = tape.BlockWriter(raw, BLOCK)
    with tarfile.open(fileobj=blocks, mode="w|") as tar:
        for name, content in (
            ("TAPE-LABEL.json", json.dumps(label).encode()),
            ("app01/config", b"c"),
            ("app01/extra", b"x"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    blocks.close()
    result = tape.read_stream(io.BytesIO(raw.getvalue()), BLOCK)
    assert not result["ok"]
    assert result["errors"] == [
        "app01/extra is on the tape but not in its label",
        "app01/keys/k is in the label but not on the tape",
    ]


def test_a_file_that_changes_during_writing_stops_the_tape(lab):
    config = lab["config"]
    label = tape.build_label(config, ["app01"], tape.datetime.datetime.now(tape.datetime.UTC))
    victim = next(f for f in label["files"] if f["path"].startswith("app01/index/"))
    (Path(config["data_dir"]) / victim["path"]).write_bytes(b"INDEX")  # same size, other bytes
    with open(config["device"], "wb") as raw, pytest.raises(tape.VerifyError, match="changed between labelling"):
        tape.write_stream(raw, label, config["data_dir"], BLOCK)


def test_a_file_that_grew_is_written_as_labelled(lab):
    """An upload in progress may grow; the tape keeps the bytes that were labelled."""
    config = lab["config"]
    label = tape.build_label(config, ["app01"], tape.datetime.datetime.now(tape.datetime.UTC))
    grown = next(f for f in label["files"] if f["path"].startswith("app01/data/ab/"))
    with open(Path(config["data_dir"]) / grown["path"], "ab") as handle:
        handle.write(b"more")
    with open(config["device"], "wb") as raw:
        tape.write_stream(raw, label, config["data_dir"], BLOCK)
    with open(config["device"], "rb") as raw:
        assert tape.read_stream(raw, BLOCK)["ok"]


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "app01/../../x", "App01/config"])
def test_members_outside_a_repository_are_never_extracted(lab, name):
    config = lab["config"]
    write_crafted(config["device"], {"format": tape.LABEL_FORMAT, "label": "MOL-1", "files": []}, {name: b"bad"})
    dest = lab["tmp"] / "dest"
    with open(config["device"], "rb") as raw:
        result = tape.read_stream(raw, BLOCK, "app01", str(dest))
    assert not result["ok"]
    assert result["errors"][0].startswith("unexpected member")
    assert not dest.exists()


# --- restore ------------------------------------------------------------------------------------------------


def test_restore_brings_one_repository_back(lab, capsys):
    assert run(lab, "write") == 0
    capsys.readouterr()
    dest = lab["tmp"] / "geri"
    assert run(lab, "restore", "--repo", "log01", "--dest", str(dest)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"]
    assert report["repository"] == str(dest / "log01")
    expected = {r: c for r, c in lab["contents"]["log01"].items() if not r.startswith("locks/") and ".tmp" not in r}
    assert report["files"] == len(expected)
    for rel, content in expected.items():
        assert (dest / "log01" / rel).read_bytes() == content
    assert not (dest / "app01").exists()


def test_restore_with_a_file_runs_restic_with_the_targets_key(lab, monkeypatch, capsys):
    assert run(lab, "write") == 0
    seen = []

    def fake_run(argv, **_kw):
        seen.append(argv)
        return tape.subprocess.CompletedProcess(argv, 0, "restoring <Snapshot>", "")

    monkeypatch.setattr(tape.subprocess, "run", fake_run)
    dest, target = lab["tmp"] / "geri", lab["tmp"] / "dosyalar"
    argv = ["restore", "--repo", "app01", "--dest", str(dest), "--file", "/etc/fstab", "--target", str(target)]
    assert run(lab, *argv) == 0
    assert seen == [
        ["/usr/bin/restic", "--repo", str(dest / "app01"), "--password-file", lab["config"]["password_file"],
         "--no-cache", "restore", "latest", "--include", "/etc/fstab", "--target", str(target)]
    ]  # fmt: skip


def test_restore_refuses_a_directory_in_use_and_an_unknown_repository(lab, capsys):
    assert run(lab, "write", "--repo", "app01") == 0
    dest = lab["tmp"] / "geri"
    (dest / "app01").mkdir(parents=True)
    (dest / "app01" / "config").write_text("eski")
    assert run(lab, "restore", "--repo", "app01", "--dest", str(dest)) == 2
    assert "is not empty" in capsys.readouterr().err
    assert run(lab, "restore", "--repo", "log01", "--dest", str(lab["tmp"] / "yeni")) == 2
    assert "holds no repository log01" in capsys.readouterr().err


def test_label_and_catalogue_subcommands(lab, capsys):
    assert run(lab, "write") == 0
    assert run(lab, "write") == 0
    capsys.readouterr()
    assert run(lab, "label") == 0
    label = json.loads(capsys.readouterr().out)
    assert "files" not in label
    assert label["repositories"]["app01"]["files"] == 7
    assert run(lab, "catalogue", "--last", "1") == 0
    assert json.loads(capsys.readouterr().out)["label"] == label["label"]


def test_a_missing_device_directory_is_a_device_error(lab, capsys):
    config = dict(lab["config"], device=str(lab["tmp"] / "yok" / "tape0.img"))
    Path(lab["path"]).write_text(json.dumps(config))
    assert run(lab, "write") == 3
    assert "cannot open" in capsys.readouterr().err
    assert json.loads(Path(config["status_file"]).read_text())["result"] == "failed"
