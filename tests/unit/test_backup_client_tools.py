"""The backup tool of role backup_client (files/belediye_backup.py) without a host: the backup runner,
the database dumps and their manifest, and the restore verification, against fake restic, psql,
pg_dump, pg_restore, pg_dumpall, mariadb and mariadb-dump programs.

The fake restic keeps its "repository" in a folder: `backup` copies the paths there (with their
modification times), `ls`, `snapshots` and `restore` read it back. The fake database programs keep
their databases in one JSON file: table -> rows; a dump is that JSON, and a restore of anything
else fails as pg_restore does on a damaged archive.
"""

import datetime
import json
import os
import random
import socket
import stat
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripttools import load_script  # noqa: E402

tool = load_script(ROOT / "roles" / "backup_client" / "files" / "belediye_backup.py", "belediye_backup")

HTTP_PASSWORD = "http-Sifre/with:odd@chars"  # noqa: S105 (a test value)
REPO_PASSWORD = "depo-sifresi-0123456789"  # noqa: S105

FAKE_RESTIC = r"""#!{python}
import json, os, shutil, sys, time
from pathlib import Path
store = Path(os.environ["FAKE_STORE"])
log = Path(os.environ["FAKE_LOG"])
with log.open("a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "repository": os.environ.get("RESTIC_REPOSITORY"),
                        "password_file": os.environ.get("RESTIC_PASSWORD_FILE")}}) + "\n")
args = [a for a in sys.argv[1:] if not a.startswith("--cacert=")]
if os.environ.get("FAKE_FAIL"):
    print("Fatal: unable to open config file: Stat: Get https://host: connection refused", file=sys.stderr)
    sys.exit(1)
def ns_to_rfc3339(ns):
    s, n = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{{n:09d}}+00:00"
cmd = args[0]
if cmd == "backup":
    paths = [a for i, a in enumerate(args) if a.startswith("/") and args[i - 1] != "--exclude"]
    tree = store / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    for p in paths:
        shutil.copytree(p, tree / p.lstrip("/"), copy_function=shutil.copy2)
    (store / "meta.json").write_text(json.dumps({{"time": ns_to_rfc3339(time.time_ns()), "paths": paths}}))
    unreadable = os.environ.get("FAKE_UNREADABLE")
    if unreadable:
        print(json.dumps({{"message_type": "error", "error": {{"message": "permission denied"}}, "during": "archival",
                          "item": unreadable}}))
    print(json.dumps({{"message_type": "summary", "files_new": 3, "files_changed": 0, "files_unmodified": 0,
                      "data_added": 1234, "total_files_processed": 3, "total_bytes_processed": 99,
                      "total_duration": 0.1, "snapshot_id": "abcdef0123456789"}}))
    sys.exit(3 if unreadable else 0)
if cmd == "snapshots":
    if not (store / "meta.json").exists():
        print("[]"); sys.exit(0)
    meta = json.loads((store / "meta.json").read_text())
    print(json.dumps([{{"id": "abcdef0123456789", "short_id": "abcdef01", "time": meta["time"],
                       "paths": meta["paths"], "hostname": "h1", "tags": ["belediye-backup"]}}]))
    sys.exit(0)
if cmd == "ls":
    meta = json.loads((store / "meta.json").read_text())
    print(json.dumps({{"time": meta["time"], "tree": "x", "paths": meta["paths"], "id": "abcdef0123456789",
                      "struct_type": "snapshot"}}))
    tree = store / "tree"
    for dirpath, dirs, files in os.walk(tree):
        for name in sorted(dirs) + sorted(files):
            full = Path(dirpath) / name
            st = full.lstat()
            print(json.dumps({{"name": name, "type": "dir" if full.is_dir() else "file",
                              "path": "/" + str(full.relative_to(tree)), "size": st.st_size,
                              "mtime": ns_to_rfc3339(st.st_mtime_ns), "struct_type": "node"}}))
    sys.exit(0)
if cmd == "restore":
    target = Path(args[args.index("--target") + 1])
    includes = [args[i + 1] for i, a in enumerate(args) if a == "--include"]
    tree = store / "tree"
    for dirpath, dirs, files in os.walk(tree):
        for name in files:
            full = Path(dirpath) / name
            path = "/" + str(full.relative_to(tree))
            if any(path == inc or path.startswith(inc + "/") for inc in includes):
                dest = target / path.lstrip("/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(full, dest)
    sys.exit(0)
print("unknown command", cmd, file=sys.stderr)
sys.exit(1)
"""

# One fake for psql, pg_dump, pg_restore, pg_dumpall, mariadb and mariadb-dump, chosen by its name.
FAKE_DB = r"""#!{python}
import json, os, re, sys
from pathlib import Path
prog = Path(sys.argv[0]).name
args = sys.argv[1:]
state_file = Path(os.environ["FAKE_DB_STATE"])
state = json.loads(state_file.read_text())
engine = "mariadb" if prog.startswith("mariadb") else "postgresql"
dbs = state.setdefault(engine, {{}})
def save():
    state_file.write_text(json.dumps(state))
def arg_db():
    if "-d" in args:
        return args[args.index("-d") + 1]
    plain = [a for a in args if not a.startswith("-")]
    return plain[-1] if plain else None
if prog == "pg_dump" or prog == "mariadb-dump":
    db = arg_db()
    if db not in dbs:
        print(f"{{prog}}: error: database \"{{db}}\" does not exist", file=sys.stderr); sys.exit(1)
    sys.stdout.write(json.dumps({{"db": db, "tables": dbs[db]}}))
    sys.exit(0)
if prog == "pg_dumpall":
    sys.stdout.write("CREATE ROLE fake;\n"); sys.exit(0)
if prog == "pg_restore" or (prog == "mariadb" and "--skip-column-names" not in args):
    db = arg_db()
    try:
        dump = json.loads(sys.stdin.read())
    except ValueError:
        print("pg_restore: error: input file does not appear to be a valid archive", file=sys.stderr); sys.exit(1)
    dbs[db] = dump["tables"]; save(); sys.exit(0)
sql = sys.stdin.read()
out = []
if engine == "postgresql":
    db = arg_db()
    sep = "\0"
    if "pg_database" in sql:
        out = list(dbs)
    elif "pg_class" in sql:
        for name in sorted(dbs[db]):
            schema, table = name.split(".", 1)
            out += [schema, table]
    else:
        for m in re.finditer(r'CREATE DATABASE "((?:[^"]|"")+)"', sql):
            dbs[m.group(1).replace('""', '"')] = {{}}
        for m in re.finditer(r'DROP DATABASE IF EXISTS "((?:[^"]|"")+)"', sql):
            if not re.search(r'CREATE DATABASE', sql):
                dbs.pop(m.group(1).replace('""', '"'), None)
        for m in re.finditer(r'SELECT count\(\*\) FROM "((?:[^"]|"")+)"\."((?:[^"]|"")+)"', sql):
            out.append(str(dbs[db][m.group(1).replace('""', '"') + "." + m.group(2).replace('""', '"')]))
    save()
    sys.stdout.write("".join(x + sep for x in out))
    sys.exit(0)
sep = "\n"
if "SHOW DATABASES" in sql:
    out = ["information_schema", "mysql", "performance_schema", "sys"] + list(dbs)
elif "information_schema.tables" in sql:
    db = re.search(r"table_schema = '((?:[^']|'')*)'", sql).group(1).replace("''", "'")
    out = sorted(dbs[db])
else:
    for m in re.finditer(r"CREATE DATABASE `((?:[^`]|``)+)`", sql):
        dbs[m.group(1).replace("``", "`")] = {{}}
    if "CREATE DATABASE" not in sql:
        for m in re.finditer(r"DROP DATABASE IF EXISTS `((?:[^`]|``)+)`", sql):
            dbs.pop(m.group(1).replace("``", "`"), None)
    for m in re.finditer(r"SELECT COUNT\(\*\) FROM `((?:[^`]|``)+)`\.`((?:[^`]|``)+)`", sql):
        out.append(str(dbs[m.group(1).replace("``", "`")][m.group(2).replace("``", "`")]))
save()
sys.stdout.write("".join(x + sep for x in out))
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A host in a folder: documents, secrets, a fake repository, fake database servers, a config."""
    docs = tmp_path / "srv" / "belgeler"
    (docs / "imar").mkdir(parents=True)
    for name, text in {"karar-1.txt": "bir\n", "karar-2.txt": "iki\n", "imar/plan.txt": "plan\n" * 50,
                       "imar/parsel listesi.csv": "ada;parsel\n"}.items():  # fmt: skip
        (docs / name).write_text(text)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for name, value in {"http.password": HTTP_PASSWORD, "repository.password": REPO_PASSWORD}.items():
        (secrets / name).write_text(value + "\n")
        (secrets / name).chmod(0o600)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    restic = executable(bin_dir / "restic", FAKE_RESTIC.format(python=sys.executable))
    fake_db = FAKE_DB.format(python=sys.executable)
    tools = {"postgresql_runas": []}
    programs = {"psql": "psql", "pg_dump": "pg_dump", "pg_restore": "pg_restore", "pg_dumpall": "pg_dumpall",
                "mariadb": "mariadb", "mariadb-dump": "mariadb_dump"}  # fmt: skip
    for prog, key in programs.items():
        tools[key] = str(executable(bin_dir / prog, fake_db))
    db_state = tmp_path / "db.json"
    db_state.write_text(json.dumps({
        "postgresql": {"belediye": {"public.vatandas": 120, 'arsiv.Eski "Kayıt"': 37}, "postgres": {}},
        "mariadb": {"ruhsat": {"izin": 55, "iş yeri": 9}},
    }))  # fmt: skip
    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.setenv("FAKE_STORE", str(store))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "restic.log"))
    monkeypatch.setenv("FAKE_DB_STATE", str(db_state))
    # A port that answers, for the reachability check.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    config = {
        "host": "h1",
        "repository_url": f"https://127.0.0.1:{port}/h1/",
        "http_user": "h1",
        "http_password_file": str(secrets / "http.password"),
        "repository_password_file": str(secrets / "repository.password"),
        "cacert": str(tmp_path / "ca.crt"),
        "restic": str(restic),
        "tag": "belediye-backup",
        "paths": [str(docs), str(tmp_path / "yok")],
        "exclude": ["*.tmp"],
        "databases": {"postgresql": ["all"], "mariadb": ["ruhsat"]},
        "dump_dir": str(tmp_path / "dumps"),
        "state_dir": str(tmp_path / "state"),
        "verify_dir": str(tmp_path / "state" / "verify"),
        "cache_dir": str(tmp_path / "cache"),
        "scratch_dir": str(tmp_path / "scratch"),
        "sample": 3,
        "max_age_hours": 26,
        "connect_timeout": 2,
        "tools": tools,
    }
    (tmp_path / "backup-client.json").write_text(json.dumps(config))
    yield {"config": tool.load_config(tmp_path / "backup-client.json"), "tmp": tmp_path, "docs": docs,
           "db_state": db_state, "log": tmp_path / "restic.log", "server": server}  # fmt: skip
    server.close()


def seeded(seed: int) -> random.Random:
    """A repeatable draw for the tests; the tool itself draws with SystemRandom."""
    return random.Random(seed)  # noqa: S311


def restic_calls(lab) -> list[dict]:
    return [json.loads(line) for line in lab["log"].read_text().splitlines()]


def status(lab) -> dict:
    return json.loads((lab["tmp"] / "state" / "status.json").read_text())


def db_state(lab) -> dict:
    return json.loads(lab["db_state"].read_text())


# --- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "user", "password", "url"),
    [
        ("https://10.231.0.13:8000/app01/", "app01", "pw", "rest:https://app01:pw@10.231.0.13:8000/app01/"),
        ("https://yedek01.ornek.bel.tr:8000/app01", "app01", "a/b:c@d%", "rest:https://app01:a%2Fb%3Ac%40d%25@yedek01.ornek.bel.tr:8000/app01/"),
        ("https://[fd00::13]:8000/app01/", "app01", "pw", "rest:https://app01:pw@[fd00::13]:8000/app01/"),
    ],
    ids=["address", "password-quoted-and-slash-added", "ipv6"],
)  # fmt: skip
def test_repository_url_carries_the_quoted_credentials(base, user, password, url):
    assert tool.repository_url(base, user, password) == url


def test_repository_url_must_be_https():
    with pytest.raises(tool.BackupError, match="is not an https:// URL"):
        tool.repository_url("sftp://x/y", "u", "p")


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-11-30T15:01:02.123456789+00:00", 1796050862123456789),
        ("2026-11-30T18:01:02.123456789+03:00", 1796050862123456789),
        ("2026-11-30T15:01:02Z", 1796050862000000000),
        ("2026-11-30T15:01:02.5Z", 1796050862500000000),
    ],
    ids=["restic-utc", "restic-turkey", "no-fraction", "short-fraction"],
)
def test_rfc3339_times_keep_their_nanoseconds(text, ns):
    assert tool.rfc3339_ns(text) == ns


def test_a_bad_time_is_refused():
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        tool.rfc3339_ns("30.11.2026 15:01")


def test_secrets_are_redacted_plain_and_quoted():
    text = "Get https://h1:a%2Fb@host/ failed; password a/b"
    assert tool.redact(text, ["a/b", ""]) == "Get https://h1:***@host/ failed; password ***"


@pytest.mark.parametrize(
    ("mode", "content", "message"),
    [(0o644, "x\n", "is readable by others"), (0o600, "\n", "is empty"), (None, "", "cannot read the secret file")],
    ids=["world-readable", "empty", "missing"],
)
def test_secret_files_must_be_private_and_set(tmp_path, mode, content, message):
    path = tmp_path / "s"
    if mode is not None:
        path.write_text(content)
        path.chmod(mode)
    with pytest.raises(tool.BackupError, match=message):
        tool.read_secret(str(path))


BACKUP_JSON = "\n".join([
    '{"message_type":"status","percent_done":0.5}',
    '{"message_type":"error","error":{"message":"open /srv/kilitli: permission denied"},"during":"archival",'
    '"item":"/srv/kilitli"}',
    "not json",
    '{"message_type":"error","error":{},"during":"archival","item":"/srv/gizli"}',
    '{"message_type":"summary","files_new":2,"snapshot_id":"0123abcd"}',
])  # fmt: skip


def test_backup_output_gives_the_summary_and_the_unreadable_files():
    summary, errors = tool.parse_backup_output(BACKUP_JSON)
    assert summary["snapshot_id"] == "0123abcd"
    assert errors == ["/srv/kilitli: open /srv/kilitli: permission denied", "/srv/gizli: could not be read"]


def test_backup_command_adds_the_dumps_and_exclusions_and_never_a_secret():
    config = {"host": "h1", "tag": "t", "exclude": ["*.tmp"], "dump_dir": "/var/backups/belediye/db",
              "databases_configured": True, "secret_dir": "/etc/belediye-backup",
              "scratch_dir": "/srv/geri-yukleme"}  # fmt: skip
    assert tool.backup_command(config, ["/etc", "/srv"]) == [
        "backup", "--json", "--host", "h1", "--tag", "t", "--exclude-caches", "--exclude", "*.tmp",
        "--exclude", "/etc/belediye-backup", "--exclude", "/srv/geri-yukleme",
        "/etc", "/srv", "/var/backups/belediye/db",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("expected", "restored", "problems"),
    [
        ({"a": {"rows": 5, "rows_before": 5}}, {"a": 5}, []),
        ({"a": {"rows": 5, "rows_before": 5}}, {"a": 4}, ["table a has 4 rows restored, 5 when dumped"]),
        ({"a": {"rows": 7, "rows_before": 5}}, {"a": 6}, []),
        ({"a": {"rows": 7, "rows_before": 5}}, {"a": 8}, ["table a has 8 rows restored, 5-7 when dumped"]),
        ({"a": {"rows": 5, "rows_before": 5}}, {}, ["table a is missing from the restored dump"]),
        ({}, {"b": 1}, ["table b is in the restored dump but not in the manifest"]),
    ],
    ids=["equal", "row-lost", "written-during-dump-within-range", "outside-range", "table-missing", "table-extra"],
)
def test_row_counts_are_compared_with_the_manifest(expected, restored, problems):
    assert tool.compare_counts(expected, restored) == problems


@pytest.mark.parametrize(
    ("last", "hours", "problem"),
    [
        (None, 26, "no successful backup recorded (limit 26 h)"),
        ("2026-11-30T10:00:00Z", 26, None),
        ("2026-11-28T10:00:00Z", 26, "last successful backup 2026-11-28T10:00:00Z is 50.0 h old (limit 26 h)"),
    ],
    ids=["never", "recent", "missed"],
)
def test_missed_backups_are_found(last, hours, problem):
    now = tool.parse_iso("2026-11-30T12:00:00Z")
    assert tool.backup_age_problem(last, hours, now) == problem


def test_scratch_database_names_are_safe_distinct_and_recognisable():
    a, b = tool.scratch_name("Belediye-Test"), tool.scratch_name("belediye_test")
    assert a != b
    assert all(tool.SCRATCH_RE.match(n) and len(n) <= 63 and n.replace("_", "").isalnum() for n in (a, b))


def test_sql_quoting_of_names():
    assert tool.pg_ident('Eski "Kayıt"') == '"Eski ""Kayıt"""'
    assert tool.my_ident("iş`yeri") == "`iş``yeri`"
    assert tool.sql_literal("o'ne\\") == "'o''ne\\\\'"


def test_sampling_skips_changed_files_glob_names_and_dumps(tmp_path):
    same = tmp_path / "same.txt"
    same.write_text("x")
    changed = tmp_path / "changed.txt"
    changed.write_text("y")
    glob = tmp_path / "a[1].txt"
    glob.write_text("z")

    def node(path, size=1, mtime_ns=None):
        ns = mtime_ns if mtime_ns is not None else os.lstat(path).st_mtime_ns
        seconds, nanos = divmod(ns, 10**9)
        stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return {"type": "file", "path": str(path), "size": size, "mtime": f"{stamp}.{nanos:09d}Z"}

    nodes = [
        node(same),
        node(changed, mtime_ns=os.lstat(changed).st_mtime_ns - 1),
        node(glob),
        node(tmp_path / "dumps" / "x.dump", mtime_ns=0),
        node(tmp_path / "gone.txt", mtime_ns=0),
        {"type": "dir", "path": str(tmp_path), "mtime": "2026-01-01T00:00:00Z"},
        {"type": "file", "path": "/etc/hostname", "size": 1, "mtime": "2026-01-01T00:00:00Z"},
    ]
    usable, changed_count = tool.candidates(nodes, [str(tmp_path)], [str(tmp_path / "dumps")])
    assert [n["path"] for n in usable] == [str(same)]
    assert changed_count == 2  # changed.txt (other mtime) and gone.txt (no live file)


# --- the backup run ------------------------------------------------------------------------------


def test_a_run_dumps_backs_up_and_records_success(lab, capsys):
    assert tool.cmd_run(lab["config"]) == 0
    manifest = json.loads((lab["tmp"] / "dumps" / "manifest.json").read_text())
    by_db = {(d["engine"], d["database"]): d for d in manifest["dumps"]}
    assert set(by_db) == {("postgresql", "belediye"), ("postgresql", "postgres"), ("postgresql", None),
                          ("mariadb", "ruhsat")}  # fmt: skip
    assert by_db[("postgresql", "belediye")]["tables"] == {
        'arsiv.Eski "Kayıt"': {"rows": 37, "rows_before": 37},
        "public.vatandas": {"rows": 120, "rows_before": 120},
    }
    assert by_db[("mariadb", "ruhsat")]["file"] == "mariadb/ruhsat.sql"
    assert by_db[("mariadb", "ruhsat")]["tables"]["iş yeri"] == {"rows": 9, "rows_before": 9}
    assert stat.S_IMODE((lab["tmp"] / "dumps").stat().st_mode) == 0o700
    assert stat.S_IMODE((lab["tmp"] / "dumps" / "mariadb" / "ruhsat.sql").stat().st_mode) == 0o600
    st = status(lab)
    assert st["last_attempt"]["result"] == "success"
    assert st["last_success"] == st["last_attempt"]["end"]
    assert st["last_snapshot_id"] == "abcdef0123456789"
    assert st["last_attempt"]["skipped_paths"] == [str(lab["tmp"] / "yok")]
    (call,) = restic_calls(lab)
    assert call["argv"][-2:] == [str(lab["docs"]), str(lab["tmp"] / "dumps")]
    assert f"--cacert={lab['tmp'] / 'ca.crt'}" in call["argv"]
    assert call["repository"].startswith("rest:https://h1:http-Sifre%2Fwith%3Aodd%40chars@127.0.0.1:")
    assert call["password_file"].endswith("repository.password")
    assert not any(HTTP_PASSWORD in a or REPO_PASSWORD in a for a in call["argv"])
    assert "backup of h1 done: snapshot abcdef0123456789" in capsys.readouterr().out


def test_an_unreachable_target_fails_loudly_and_changes_nothing(lab, capsys):
    assert tool.cmd_run(lab["config"]) == 0
    first = status(lab)["last_success"]
    stored = sorted(p.name for p in (lab["tmp"] / "store" / "tree").rglob("*"))
    lab["server"].close()
    calls_before = len(restic_calls(lab))
    assert tool.cmd_run(lab["config"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("<3>belediye-backup: FAILED: backup of h1 failed: backup target 127.0.0.1:")
    assert "is unreachable" in err
    assert f"Last successful backup: {first}" in err
    assert HTTP_PASSWORD not in err
    st = status(lab)
    assert (st["last_attempt"]["result"], st["last_success"], st["consecutive_failures"]) == ("failure", first, 1)
    assert len(restic_calls(lab)) == calls_before  # restic was not even started
    assert sorted(p.name for p in (lab["tmp"] / "store" / "tree").rglob("*")) == stored
    assert (lab["docs"] / "karar-1.txt").read_text() == "bir\n"
    assert (lab["tmp"] / "dumps" / "postgresql" / "belediye.dump").exists()


def test_restic_failure_is_recorded_with_its_message_and_without_the_password(lab, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "1")
    assert tool.cmd_run(lab["config"]) == 1
    err = capsys.readouterr().err
    assert "restic backup failed (exit 1): Fatal: unable to open config file" in err
    assert status(lab)["last_success"] is None


def test_unreadable_files_make_the_run_fail_though_a_snapshot_was_made(lab, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_UNREADABLE", "/srv/kilitli")
    assert tool.cmd_run(lab["config"]) == 1
    assert "restic could not read 1 files (snapshot abcdef0123456789 is incomplete): /srv/kilitli" in (
        capsys.readouterr().err
    )


def test_a_failed_dump_keeps_the_previous_dump_and_fails_the_run_after_the_backup(lab, capsys):
    assert tool.cmd_run(lab["config"]) == 0
    good = (lab["tmp"] / "dumps" / "mariadb" / "ruhsat.sql").read_bytes()
    lab["config"]["databases"]["mariadb"] = ["ruhsat", "yok_db"]
    state = db_state(lab)
    state["mariadb"]["ruhsat"]["izin"] = 56
    lab["db_state"].write_text(json.dumps(state))
    Path(lab["config"]["tools"]["mariadb_dump"]).write_text(f"#!{sys.executable}\nimport sys\nsys.exit(2)\n")
    assert tool.cmd_run(lab["config"]) == 1
    err = capsys.readouterr().err
    assert "mariadb: mariadb-dump failed (exit 2)" in err
    assert "(database ruhsat; the previous dump is kept)" in err
    assert (lab["tmp"] / "dumps" / "mariadb" / "ruhsat.sql").read_bytes() == good
    assert not [p for p in (lab["tmp"] / "dumps" / "mariadb").iterdir() if p.name.startswith(".")]
    assert status(lab)["last_attempt"]["snapshot_id"] == "abcdef0123456789"  # the files were still backed up


def test_a_secret_readable_by_others_stops_the_run(lab, capsys):
    Path(lab["config"]["http_password_file"]).chmod(0o644)
    assert tool.cmd_run(lab["config"]) == 1
    assert "is readable by others (mode 0o644); want 0600" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("status", "rc", "stream", "text"),
    [
        (None, 0, "out", "h1 has no successful backup yet (watched since"),
        ({"first_seen": "2020-01-01T00:00:00Z"}, 1, "err",
         "<3>belediye-backup: FAILED: missed backup on h1: no successful backup since 2020-01-01T00:00:00Z "
         "(limit 26 h)"),
        ({"last_success": "2020-01-01T00:00:00Z", "last_attempt": {"errors": ["backup target x is unreachable"]}},
         1, "err", "last successful backup 2020-01-01T00:00:00Z is"),
        ({"last_success": "now"}, 0, "out", "last successful backup of h1:"),
    ],
    ids=["new-host-watched-from-now", "never-since-long", "too-old-with-last-error", "recent"],
)  # fmt: skip
def test_the_missed_backup_check(lab, capsys, status, rc, stream, text):
    if status:
        if status.get("last_success") == "now":
            status["last_success"] = tool.iso(tool.now_utc())
        tool.write_private(tool.status_path(lab["config"]), status)
    assert tool.cmd_check(lab["config"]) == rc
    out = capsys.readouterr()
    assert text in (out.err if stream == "err" else out.out)
    if status and "last_attempt" in status:
        assert "; last error: backup target x is unreachable" in out.err


def test_a_new_host_is_watched_from_its_first_check(lab):
    assert tool.cmd_check(lab["config"]) == 0
    first = json.loads(tool.status_path(lab["config"]).read_text())["first_seen"]
    assert tool.cmd_check(lab["config"]) == 0
    assert json.loads(tool.status_path(lab["config"]).read_text())["first_seen"] == first


def test_the_alarm_logs_at_crit_and_mails_when_there_is_an_mta(lab, capsys):
    mails = lab["tmp"] / "mail.txt"
    sendmail = executable(lab["tmp"] / "sendmail", f"#!/bin/sh\ncat > {mails}\n")
    lab["config"].update(sendmail=str(sendmail), alarm_mail_to="root")
    tool.record_attempt(lab["config"], {"result": "failure", "errors": ["backup target x:8000 is unreachable"],
                                        "end": "2026-11-30T01:30:00Z"})  # fmt: skip
    assert tool.cmd_alarm(lab["config"], "belediye-backup.service") == 0
    err = capsys.readouterr().err
    assert err.startswith("<2>belediye-backup: backup ALARM on h1: belediye-backup.service failed.")
    assert "Last error: backup target x:8000 is unreachable" in err
    mail = mails.read_text()
    assert "To: root\nSubject: [belediye-backup] h1: belediye-backup.service failed" in mail


# --- restore verification ------------------------------------------------------------------------


def evidence(lab) -> dict:
    return json.loads((lab["tmp"] / "state" / "verify" / "latest.json").read_text())


def test_verification_passes_and_writes_evidence_and_drops_the_scratch_databases(lab, capsys):
    assert tool.cmd_run(lab["config"]) == 0
    assert tool.cmd_verify(lab["config"], seeded(7)) == 0
    ev = evidence(lab)
    assert (ev["result"], ev["problems"], ev["control"]) == ("pass", [], tool.CONTROL)
    assert ev["snapshot"]["id"] == "abcdef0123456789"
    assert (ev["files"]["sampled"], ev["files"]["matched"], ev["files"]["comparable"]) == (3, 3, 4)
    assert {(d["engine"], d["database"], d["result"]) for d in ev["databases"]} == {
        ("postgresql", "belediye", "match"), ("postgresql", "postgres", "match"), ("postgresql", None, "match"),
        ("mariadb", "ruhsat", "match")}  # fmt: skip
    assert all(d.get("scratch_dropped", True) for d in ev["databases"])
    state = db_state(lab)
    assert not [d for e in state.values() for d in e if d.endswith("_verify")]  # every scratch database dropped
    assert list((lab["tmp"] / "scratch").iterdir()) == []  # the scratch folder is emptied
    files = sorted(p.name for p in (lab["tmp"] / "state" / "verify").iterdir())
    assert len(files) == 2
    assert "latest.json" in files
    assert stat.S_IMODE((lab["tmp"] / "state" / "verify" / "latest.json").stat().st_mode) == 0o640
    assert "restore verification of h1 passed" in capsys.readouterr().out


def test_verification_fails_on_a_corrupted_dump(lab, capsys):
    assert tool.cmd_run(lab["config"]) == 0
    dump = lab["tmp"] / "store" / "tree" / str(lab["tmp"] / "dumps" / "mariadb" / "ruhsat.sql").lstrip("/")
    dump.write_text("garbage")
    assert tool.cmd_verify(lab["config"], seeded(1)) == 1
    ev = evidence(lab)
    assert ev["result"] == "fail"
    assert "mariadb database ruhsat: the dump's sha256 differs from the manifest (corrupted)" in ev["problems"]
    assert "<3>belediye-backup: FAILED: restore verification of h1 failed" in capsys.readouterr().err


def test_verification_fails_when_restored_rows_differ_from_the_manifest(lab):
    assert tool.cmd_run(lab["config"]) == 0
    manifest_path = lab["tmp"] / "store" / "tree" / str(lab["tmp"] / "dumps" / "manifest.json").lstrip("/")
    manifest = json.loads(manifest_path.read_text())
    for d in manifest["dumps"]:
        if d["database"] == "belediye":
            d["tables"]["public.vatandas"] = {"rows": 121, "rows_before": 121}
    manifest_path.write_text(json.dumps(manifest))
    assert tool.cmd_verify(lab["config"], seeded(1)) == 1
    assert ("postgresql database belediye: table public.vatandas has 120 rows restored, 121 when dumped"
            in evidence(lab)["problems"])  # fmt: skip
    assert not [d for d in db_state(lab)["postgresql"] if d.endswith("_verify")]


def test_verification_fails_when_a_restored_file_differs_from_the_live_file(lab):
    assert tool.cmd_run(lab["config"]) == 0
    stored = lab["tmp"] / "store" / "tree" / str(lab["docs"] / "karar-1.txt").lstrip("/")
    st = stored.stat()
    stored.write_text("BOZ\n")  # same size, same mtime: bit rot in the repository
    os.utime(stored, ns=(st.st_atime_ns, st.st_mtime_ns))
    lab["config"]["sample"] = 10
    assert tool.cmd_verify(lab["config"], seeded(1)) == 1
    assert (
        f"file {lab['docs'] / 'karar-1.txt'}: restored sha256 differs from the live file" in evidence(lab)["problems"]
    )


def test_verification_skips_files_changed_since_the_snapshot(lab):
    assert tool.cmd_run(lab["config"]) == 0
    (lab["docs"] / "karar-2.txt").write_text("iki, değişti\n")
    lab["config"]["sample"] = 10
    assert tool.cmd_verify(lab["config"], seeded(1)) == 0
    ev = evidence(lab)
    assert (ev["files"]["changed_since_snapshot"], ev["files"]["sampled"]) == (1, 3)


def test_verification_without_any_snapshot_fails(lab):
    assert tool.cmd_verify(lab["config"]) == 1
    assert evidence(lab)["problems"] == ["the repository holds no snapshot of h1"]


def test_verification_fails_when_the_latest_snapshot_is_too_old(lab):
    assert tool.cmd_run(lab["config"]) == 0
    meta = lab["tmp"] / "store" / "meta.json"
    data = json.loads(meta.read_text())
    data["time"] = "2020-01-01T00:00:00.000000001+00:00"
    meta.write_text(json.dumps(data))
    assert tool.cmd_verify(lab["config"], seeded(1)) == 1
    assert evidence(lab)["problems"][0].startswith("missed backup: the latest snapshot: last successful backup")


def test_main_refuses_unknown_commands_and_reads_the_config_given(lab, capsys):
    assert tool.main(["nonsense"]) == 2
    cfg = lab["tmp"] / "backup-client.json"
    tool.write_private(tool.status_path(lab["config"]), {"last_success": "2020-01-01T00:00:00Z"})
    assert tool.main(["--config", str(cfg), "check"]) == 1
    assert "missed backup on h1" in capsys.readouterr().err


def test_the_restic_passthrough_never_puts_a_secret_on_the_command_line(lab):
    assert tool.main(["--config", str(lab["tmp"] / "backup-client.json"), "restic", "snapshots"]) == 0
    (call,) = restic_calls(lab)
    assert call["argv"][1:] == ["snapshots"]
    assert not any(HTTP_PASSWORD in a for a in call["argv"])


def test_the_tool_has_no_dependencies_beyond_the_standard_library():
    source = (ROOT / "roles" / "backup_client" / "files" / "belediye_backup.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= set(sys.stdlib_module_names) | {"__future__"}


def test_the_docstring_names_every_command():
    doc = textwrap.dedent(tool.__doc__)
    for command in ("run", "dump", "verify", "check", "alarm", "restic"):
        assert f"belediye-backup {command}" in doc
