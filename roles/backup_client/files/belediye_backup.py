#!/usr/bin/python3
"""belediye-backup: the backup client of role backup_client (restic to the backup target).

Installed by the Ansible role `backup_client` as /usr/local/lib/belediye/belediye-backup. It reads
/etc/belediye/backup-client.json (no secrets) and the secret files it names (root-only, 0600):

    belediye-backup run        dump the databases, then `restic backup` the paths (belediye-backup.service)
    belediye-backup dump       only dump the databases and write their manifest
    belediye-backup verify     restore verification, evidence JSON (belediye-backup-verify.service)
    belediye-backup check      missed-backup check on status.json (belediye-backup-check.service)
    belediye-backup alarm UNIT log an alarm at crit level, mail root if a local MTA exists (OnFailure=)
    belediye-backup restic ... any restic command against this host's repository (for operators)

Secrets never reach a command line: the repository password is a file restic reads itself
(RESTIC_PASSWORD_FILE) and the HTTP password goes into RESTIC_REPOSITORY in restic's environment,
which only root can read. Anything printed is passed through `redact` first.

A failure is loud: a line at err level (systemd reads the "<3>" prefix), a non-zero exit, and the
error in /var/lib/belediye/backup/status.json. Nothing on the client is ever deleted: a dump that
fails leaves the previous dump in place, and a run that cannot reach the target changes nothing.

Python 3 standard library only; the logic is tested without a host with fake restic, pg_dump,
psql and mariadb programs (tests/unit/test_backup_client_tools.py).
"""

from __future__ import annotations

import contextlib
import datetime
import grp
import hashlib
import json
import os
import random
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

CONFIG = Path("/etc/belediye/backup-client.json")
PROG = "belediye-backup"
ERR = "<3>"  # sd-daemon(3) prefix: journald and syslog record the line at err level
CRIT = "<2>"
# Restic include patterns are globs: a path with these characters cannot be named exactly.
GLOB_CHARS = frozenset("*?[\\")
CONTROL = "ISO/IEC 27001:2022 A.8.13 (Information backup)"


class BackupError(Exception):
    """A failure with a message fit for the log: what failed, on which host, never a secret."""


# --- small helpers ---------------------------------------------------------------------------


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def iso(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime.datetime:
    """An ISO 8601 / RFC 3339 time (restic's has nanoseconds) as an aware datetime (microseconds)."""
    ns = rfc3339_ns(text)
    return datetime.datetime.fromtimestamp(ns // 1_000_000_000, datetime.UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE
)


def rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time such as restic's 2026-11-30T15:01:02.123456789+03:00."""
    m = RFC3339_RE.match(text.strip())
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    base = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=datetime.UTC)
    if zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        base -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    nanos = int((frac or "0").ljust(9, "0"))
    return int(base.timestamp()) * 1_000_000_000 + nanos


def redact(text: str, secrets: list[str]) -> str:
    """text with every secret (and its URL-quoted form) replaced by ***."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, "***")
    return text


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_private(path: Path, data: dict, mode: int = 0o640) -> None:
    """Write data as JSON, atomically, mode 0640 root:adm (file paths may name people: KVKK)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        os.chmod(tmp, mode)
        with contextlib.suppress(KeyError, PermissionError):
            os.chown(tmp, 0, grp.getgrnam("adm").gr_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default=None):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def read_secret(path: str) -> str:
    """A secret file's content without its final line break. The file must be root's and 0600."""
    try:
        st = os.stat(path)
        with open(path, encoding="utf-8") as f:
            value = f.read()
    except OSError as exc:
        raise BackupError(f"cannot read the secret file {path}: {exc.strerror}") from None
    if st.st_mode & 0o077:
        raise BackupError(f"the secret file {path} is readable by others (mode {oct(st.st_mode & 0o777)}); want 0600")
    value = value.rstrip("\n")
    if not value:
        raise BackupError(f"the secret file {path} is empty")
    return value


# --- restic ----------------------------------------------------------------------------------


def repository_url(base_url: str, user: str, password: str) -> str:
    """restic's rest: repository with the HTTP credentials: rest:https://user:pw@host:8000/user/."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BackupError(f"repository URL {base_url!r} is not an https:// URL")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return "rest:" + urlunsplit((parts.scheme, netloc, path, "", ""))


class Restic:
    """Runs restic against this host's repository; secrets only in its environment."""

    def __init__(self, config: dict):
        self.config = config
        self.http_password = read_secret(config["http_password_file"])
        read_secret(config["repository_password_file"])  # restic reads it itself; fail early and clearly
        self.secrets = [self.http_password]
        self.env = dict(os.environ)
        for key in list(self.env):
            if key.startswith("RESTIC_"):
                del self.env[key]
        self.env.update(
            RESTIC_REPOSITORY=repository_url(config["repository_url"], config["http_user"], self.http_password),
            RESTIC_PASSWORD_FILE=config["repository_password_file"],
            RESTIC_CACHE_DIR=config.get("cache_dir", "/var/cache/belediye-backup"),
            LC_ALL="C.UTF-8",
        )

    def argv(self, *args: str) -> list[str]:
        base = [self.config.get("restic", "/usr/bin/restic")]
        if self.config.get("cacert"):
            base.append(f"--cacert={self.config['cacert']}")
        return [*base, *args]

    def run(self, *args: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self.argv(*args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="surrogateescape",
            timeout=timeout,
        )
        proc.stdout = redact(proc.stdout, self.secrets)
        proc.stderr = redact(proc.stderr, self.secrets)
        if check and proc.returncode != 0:
            raise BackupError(f"restic {args[0]} failed (exit {proc.returncode}): {last_lines(proc.stderr)}")
        return proc


def last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) if lines else "no message"


def backup_command(config: dict, paths: list[str]) -> list[str]:
    """The arguments of `restic backup` for the paths, the dumps and the exclusions."""
    args = ["backup", "--json", "--host", config["host"], "--tag", config["tag"], "--exclude-caches"]
    # The secrets and the restore scratch folder are never backed up.
    for pattern in [*config.get("exclude", []), *filter(None, [config.get("secret_dir"), config.get("scratch_dir")])]:
        args += ["--exclude", pattern]
    paths = list(paths)
    if config.get("databases_configured") and config["dump_dir"] not in paths:
        paths.append(config["dump_dir"])
    return args + sorted(set(paths), key=paths.index)


def parse_backup_output(stdout: str) -> tuple[dict, list[str]]:
    """restic backup --json: the summary message and the messages of the files it could not read."""
    summary: dict = {}
    errors: list[str] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        kind = msg.get("message_type")
        if kind == "summary":
            summary = msg
        elif kind == "error":
            err = msg.get("error")
            # restic 0.14 writes the error as {} (Go's error type has no JSON form); later ones give a message.
            text = (err.get("message") if isinstance(err, dict) else str(err or "")) or "could not be read"
            errors.append(f"{msg.get('item', '?')}: {text}")
    return summary, errors


def target_reachable(base_url: str, timeout: float) -> str | None:
    """None when the target's port answers, else why not: a clear message before restic starts."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"backup target {parts.hostname}:{port} is unreachable: {exc.strerror or exc}"


# --- database dumps --------------------------------------------------------------------------


def pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def sql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def dump_file_name(database: str, suffix: str) -> str:
    """A file name for a database name that may contain anything (quoted, never a path)."""
    return quote(database, safe="") + suffix


PG_TABLES_SQL = (
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1, 2;"
)
PG_DATABASES_SQL = "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1;"
MY_SKIP = ("information_schema", "performance_schema", "sys", "mysql")
SCRATCH_RE = re.compile(r"^scratch_.*_verify$")


def pg_count_sql(tables: list[tuple[str, str]]) -> str:
    """One REPEATABLE READ transaction counting every table, one count per result."""
    lines = ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"]
    # Names come from the catalogue and are quoted as identifiers, never spliced in raw.
    lines += [f"SELECT count(*) FROM {pg_ident(s)}.{pg_ident(t)};" for s, t in tables]  # noqa: S608
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def my_count_sql(database: str, tables: list[str]) -> str:
    lines = ["SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;", "START TRANSACTION WITH CONSISTENT SNAPSHOT;"]
    lines += [f"SELECT COUNT(*) FROM {my_ident(database)}.{my_ident(t)};" for t in tables]  # noqa: S608
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def my_tables_sql(database: str) -> str:
    literal = sql_literal(database)
    return f"SELECT table_name FROM information_schema.tables WHERE table_schema = {literal} AND table_type = 'BASE TABLE' ORDER BY 1;\n"  # noqa: E501, S608


class Engine:
    """Commands of one database engine, run as the engine's administrator."""

    name = ""
    suffix = ""

    def __init__(self, config: dict):
        self.config = config
        self.tools = config.get("tools", {})

    def _run(self, argv: list[str], sql: str | None = None, stdin=None, stdout=None) -> subprocess.CompletedProcess:
        kwargs: dict = {"capture_output": stdout is None, "cwd": "/"}
        if stdout is not None:
            kwargs.update(stdout=stdout, stderr=subprocess.PIPE)
        if sql is not None:
            kwargs["input"] = sql.encode()
        else:
            kwargs["stdin"] = stdin if stdin is not None else subprocess.DEVNULL
        proc = subprocess.run(argv, **kwargs)
        if proc.returncode != 0:
            message = (proc.stderr or b"").decode(errors="replace")
            raise BackupError(f"{self.name}: {Path(argv[len(self.runas)]).name} failed (exit {proc.returncode}): "
                              f"{last_lines(message)}")  # fmt: skip
        return proc

    @property
    def runas(self) -> list[str]:
        return []


class PostgreSQL(Engine):
    name = "postgresql"
    suffix = ".dump"

    @property
    def runas(self) -> list[str]:
        return list(self.tools.get("postgresql_runas", ["/usr/sbin/runuser", "-u", "postgres", "--"]))

    def psql(self, database: str, sql: str) -> list[str]:
        psql = self.tools.get("psql", "/usr/bin/psql")
        argv = [*self.runas, psql, "-X", "-q", "-A", "-t", "--field-separator-zero", "--record-separator-zero",
                "-v", "ON_ERROR_STOP=1", "-d", database]  # fmt: skip
        out = self._run(argv, sql=sql).stdout.decode("utf-8", errors="surrogateescape")
        return [rec for rec in out.split("\0") if rec.strip("\n")]

    def databases(self, wanted: list[str]) -> list[str]:
        if "all" not in wanted:
            return list(wanted)
        found = [r.strip("\n") for r in self.psql("postgres", PG_DATABASES_SQL)]
        return [d for d in found if not SCRATCH_RE.match(d)]

    def tables(self, database: str) -> list[tuple[str, str]]:
        rows = []
        for rec in self.psql(database, PG_TABLES_SQL):
            # records end in \0; fields are separated by \0 too, so a record is "schema\0table" split apart
            rows.append(rec.strip("\n"))
        return [(rows[i], rows[i + 1]) for i in range(0, len(rows) - 1, 2)]

    def counts(self, database: str) -> dict[str, int]:
        tables = self.tables(database)
        if not tables:
            return {}
        values = [int(r.strip()) for r in self.psql(database, pg_count_sql(tables))]
        if len(values) != len(tables):
            raise BackupError(f"postgresql: {database}: counted {len(values)} tables of {len(tables)}")
        return {f"{s}.{t}": n for (s, t), n in zip(tables, values, strict=True)}

    def dump(self, database: str, out) -> None:
        argv = [*self.runas, self.tools.get("pg_dump", "/usr/bin/pg_dump"), "-Fc", "-d", database]
        self._run(argv, stdout=out)

    def dump_globals(self, out) -> None:
        argv = [*self.runas, self.tools.get("pg_dumpall", "/usr/bin/pg_dumpall"), "--globals-only"]
        self._run(argv, stdout=out)

    def create(self, database: str) -> None:
        self.psql("postgres", f"DROP DATABASE IF EXISTS {pg_ident(database)};\nCREATE DATABASE {pg_ident(database)};\n")

    def drop(self, database: str) -> None:
        self.psql("postgres", f"DROP DATABASE IF EXISTS {pg_ident(database)};\n")

    def restore(self, database: str, dump: Path) -> None:
        argv = [*self.runas, self.tools.get("pg_restore", "/usr/bin/pg_restore"),
                "--no-owner", "--no-privileges", "--exit-on-error", "-d", database]  # fmt: skip
        with open(dump, "rb") as f:  # a regular file on stdin: pg_restore can seek in it
            self._run(argv, stdin=f)


class MariaDB(Engine):
    name = "mariadb"
    suffix = ".sql"

    def client(self, sql: str, database: str | None = None) -> list[str]:
        argv = [self.tools.get("mariadb", "/usr/bin/mariadb"), "--batch", "--raw", "--skip-column-names"]
        if database:
            argv.append(database)
        out = self._run(argv, sql=sql).stdout.decode("utf-8", errors="surrogateescape")
        return [line for line in out.split("\n") if line != ""]

    def databases(self, wanted: list[str]) -> list[str]:
        if "all" not in wanted:
            return list(wanted)
        found = self.client("SHOW DATABASES;\n")
        return [d for d in found if d not in MY_SKIP and not SCRATCH_RE.match(d)]

    def tables(self, database: str) -> list[str]:
        return self.client(my_tables_sql(database))

    def counts(self, database: str) -> dict[str, int]:
        tables = self.tables(database)
        if not tables:
            return {}
        values = [int(v) for v in self.client(my_count_sql(database, tables))]
        if len(values) != len(tables):
            raise BackupError(f"mariadb: {database}: counted {len(values)} tables of {len(tables)}")
        return dict(zip(tables, values, strict=True))

    def dump(self, database: str, out) -> None:
        argv = [self.tools.get("mariadb_dump", "/usr/bin/mariadb-dump"), "--single-transaction", "--routines",
                "--events", "--triggers", "--hex-blob", "--default-character-set=utf8mb4", database]  # fmt: skip
        self._run(argv, stdout=out)

    def dump_globals(self, out) -> None:
        return None

    def create(self, database: str) -> None:
        ident = my_ident(database)
        self.client(f"DROP DATABASE IF EXISTS {ident};\nCREATE DATABASE {ident} CHARACTER SET utf8mb4;\n")

    def drop(self, database: str) -> None:
        self.client(f"DROP DATABASE IF EXISTS {my_ident(database)};\n")

    def restore(self, database: str, dump: Path) -> None:
        argv = [self.tools.get("mariadb", "/usr/bin/mariadb"), "--batch", database]
        with open(dump, "rb") as f:
            self._run(argv, stdin=f)


ENGINES = {"postgresql": PostgreSQL, "mariadb": MariaDB}


def engine(config: dict, name: str) -> Engine:
    return ENGINES[name](config)


def write_dump(dump_dir: Path, relative: str, writer) -> dict:
    """Run writer(file) into a temporary file and move it into place only when it succeeded, so a
    failed dump never replaces the last good one. Returns the file's record for the manifest."""
    target = dump_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"file": relative, "sha256": sha256_file(target), "size": target.stat().st_size}


def dump_databases(config: dict, log=print) -> tuple[dict, list[str]]:
    """Dump every configured database with its row counts; write manifest.json. Returns the manifest
    and the errors (one per database that could not be dumped; the others are still dumped)."""
    dump_dir = Path(config["dump_dir"])
    dump_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(dump_dir, 0o700)
    manifest: dict = {"host": config["host"], "created": iso(now_utc()), "dumps": []}
    errors: list[str] = []
    for name, wanted in sorted(config.get("databases", {}).items()):
        if not wanted:
            continue
        eng = engine(config, name)
        try:
            databases = eng.databases(wanted)
        except BackupError as exc:
            errors.append(str(exc))
            continue
        for database in databases:
            try:
                before = eng.counts(database)
                record = write_dump(dump_dir, f"{name}/{dump_file_name(database, eng.suffix)}",
                                    lambda f, eng=eng, database=database: eng.dump(database, f))  # fmt: skip
                after = eng.counts(database)
            except BackupError as exc:
                errors.append(f"{exc} (database {database}; the previous dump is kept)")
                continue
            tables = {t: {"rows": after.get(t), "rows_before": before.get(t)} for t in sorted(set(before) | set(after))}
            manifest["dumps"].append(
                {"engine": name, "database": database, "dumped_at": iso(now_utc()), "tables": tables, **record}
            )
            log(f"{PROG}: dumped {name} database {database}: {len(tables)} tables, {record['size']} bytes")
        try:
            if name == "postgresql":
                record = write_dump(dump_dir, f"{name}/globals.sql", eng.dump_globals)
                manifest["dumps"].append({"engine": name, "database": None, "kind": "globals", **record})
        except BackupError as exc:
            errors.append(f"{exc} (roles and settings; the previous dump is kept)")
    manifest["errors"] = errors
    write_private(dump_dir / "manifest.json", manifest, mode=0o600)
    return manifest, errors


def compare_counts(expected: dict, restored: dict) -> list[str]:
    """Differences between the manifest's tables and the restored database's counts. A table whose
    count changed while it was dumped (rows_before != rows) may have any count between the two."""
    problems = []
    for table, want in sorted(expected.items()):
        if table not in restored:
            problems.append(f"table {table} is missing from the restored dump")
            continue
        got = restored[table]
        counts = [c for c in (want.get("rows_before"), want.get("rows")) if c is not None]
        if not counts:
            continue
        low, high = min(counts), max(counts)
        if not low <= got <= high:
            shown = str(low) if low == high else f"{low}-{high}"
            problems.append(f"table {table} has {got} rows restored, {shown} when dumped")
    for table in sorted(set(restored) - set(expected)):
        problems.append(f"table {table} is in the restored dump but not in the manifest")
    return problems


def scratch_name(database: str) -> str:
    safe = re.sub(r"[^a-z0-9_]", "_", database.lower())[:40]
    tag = hashlib.sha256(database.encode()).hexdigest()[:8]
    return f"scratch_{safe}_{tag}_verify"


# --- status and the backup run ---------------------------------------------------------------


def status_path(config: dict) -> Path:
    return Path(config["state_dir"]) / "status.json"


def record_attempt(config: dict, attempt: dict) -> dict:
    """Merge one attempt into status.json: last_attempt always, last_success only on success."""
    path = status_path(config)
    status = read_json(path, {}) or {}
    status.update(host=config["host"], last_attempt=attempt)
    if attempt["result"] == "success":
        status["last_success"] = attempt["end"]
        status["last_snapshot_id"] = attempt.get("snapshot_id")
        status["consecutive_failures"] = 0
    else:
        status["consecutive_failures"] = int(status.get("consecutive_failures", 0)) + 1
    status.setdefault("last_success", None)
    write_private(path, status)
    return status


def fail_line(message: str) -> None:
    print(f"{ERR}{PROG}: FAILED: {message}", file=sys.stderr, flush=True)


def cmd_run(config: dict) -> int:
    start = now_utc()
    attempt: dict = {"start": iso(start), "result": "failure", "errors": []}
    errors: list[str] = attempt["errors"]
    try:
        restic = Restic(config)
    except BackupError as exc:
        errors.append(str(exc))
        restic = None
    if config.get("databases_configured"):
        _manifest, dump_errors = dump_databases(config)
        errors += dump_errors
    if restic is not None:
        unreachable = target_reachable(config["repository_url"], float(config.get("connect_timeout", 15)))
        if unreachable:
            errors.append(unreachable + "; nothing was sent, nothing on this host was changed")
        else:
            paths = [p for p in config["paths"] if os.path.lexists(p)]
            attempt["skipped_paths"] = [p for p in config["paths"] if p not in paths]
            try:
                proc = restic.run(*backup_command(config, paths), check=False, timeout=config.get("timeout"))
                summary, file_errors = parse_backup_output(proc.stdout)
                attempt["restic_exit"] = proc.returncode
                if summary:
                    attempt["snapshot_id"] = summary.get("snapshot_id")
                    for key in ("files_new", "files_changed", "files_unmodified", "data_added",
                                "total_files_processed", "total_bytes_processed", "total_duration"):  # fmt: skip
                        attempt[key] = summary.get(key)
                if proc.returncode == 3:
                    errors.append(
                        f"restic could not read {len(file_errors)} files (snapshot {attempt.get('snapshot_id')} "
                        "is incomplete): " + "; ".join(file_errors[:5])
                    )
                elif proc.returncode != 0 or not summary:
                    errors.append(f"restic backup failed (exit {proc.returncode}): {last_lines(proc.stderr)}")
            except subprocess.TimeoutExpired:
                errors.append(f"restic backup did not finish in {config.get('timeout')} s")
    end = now_utc()
    attempt.update(end=iso(end), seconds=round((end - start).total_seconds(), 1))
    if not errors:
        attempt["result"] = "success"
    status = record_attempt(config, attempt)
    if errors:
        fail_line(f"backup of {config['host']} failed: " + "; ".join(errors)
                  + f". Last successful backup: {status.get('last_success') or 'never'}.")  # fmt: skip
        return 1
    print(f"{PROG}: backup of {config['host']} done: snapshot {attempt.get('snapshot_id')}, "
          f"{attempt.get('files_new')} new and {attempt.get('files_changed')} changed files, "
          f"{attempt.get('data_added')} bytes added in {attempt['seconds']} s")  # fmt: skip
    return 0


def cmd_dump(config: dict) -> int:
    _manifest, errors = dump_databases(config)
    if errors:
        fail_line(f"database dumps of {config['host']} failed: " + "; ".join(errors))
        return 1
    return 0


def backup_age_problem(last_success: str | None, max_age_hours: float, now: datetime.datetime) -> str | None:
    """Why the last successful backup is too old (or missing), or None."""
    if not last_success:
        return f"no successful backup recorded (limit {max_age_hours:g} h)"
    age = now - parse_iso(last_success)
    hours = age.total_seconds() / 3600
    if hours > max_age_hours:
        return f"last successful backup {last_success} is {hours:.1f} h old (limit {max_age_hours:g} h)"
    return None


def cmd_check(config: dict) -> int:
    """Fail when the last successful backup is older than max_age_hours. A host that has never had
    one is given max_age_hours from the first check (first_seen), so a new host does not alarm
    before its first scheduled backup."""
    path = status_path(config)
    status = read_json(path, {}) or {}
    now = now_utc()
    limit = float(config["max_age_hours"])
    if status.get("last_success"):
        problem = backup_age_problem(status["last_success"], limit, now)
    else:
        if not status.get("first_seen"):
            status["first_seen"] = iso(now)
            write_private(path, status)
        too_old = backup_age_problem(status["first_seen"], limit, now)
        problem = f"no successful backup since {status['first_seen']} (limit {limit:g} h)" if too_old else None
        if not problem:
            print(f"{PROG}: {config['host']} has no successful backup yet (watched since {status['first_seen']})")
            return 0
    if problem:
        last_error = "; ".join((status.get("last_attempt") or {}).get("errors", []))
        fail_line(
            f"missed backup on {config['host']}: {problem}" + (f"; last error: {last_error}" if last_error else "")
        )
        return 1
    print(f"{PROG}: last successful backup of {config['host']}: {status['last_success']}")
    return 0


# --- restore verification --------------------------------------------------------------------


def under(path: str, parent: str) -> bool:
    return parent == "/" or path == parent or path.startswith(parent.rstrip("/") + "/")


def parse_ls(stdout: str) -> tuple[dict, list[dict]]:
    """restic ls --json: the snapshot (first object) and its nodes."""
    snapshot: dict = {}
    nodes: list[dict] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("struct_type") == "snapshot" or ("tree" in obj and "paths" in obj):
            snapshot = obj
        elif obj.get("struct_type", "node") == "node" and "path" in obj:
            nodes.append(obj)
    return snapshot, nodes


def candidates(nodes: list[dict], paths: list[str], skip: list[str], lstat=os.lstat) -> tuple[list[dict], int]:
    """Files of the snapshot that can be compared with the live file: under the backed-up paths,
    not under skip (the dumps), named without glob characters, and whose live file still has the
    snapshot's size and modification time. Returns them and how many had changed or gone."""
    usable, changed = [], 0
    for node in nodes:
        path = node.get("path", "")
        if node.get("type") != "file" or not any(under(path, p) for p in paths):
            continue
        if any(under(path, s) for s in skip) or GLOB_CHARS & set(path):
            continue
        try:
            st = lstat(path)
            same = (
                stat.S_ISREG(st.st_mode)
                and st.st_size == int(node.get("size", -1))
                and st.st_mtime_ns == rfc3339_ns(node["mtime"])
            )
        except (OSError, KeyError, ValueError):
            same = False
        if same:
            usable.append(node)
        else:
            changed += 1
    return usable, changed


def latest_snapshot(snapshots: list[dict]) -> dict | None:
    return max(snapshots, key=lambda s: rfc3339_ns(s["time"]), default=None)


def verify_files(sample: list[dict], scratch: Path) -> list[dict]:
    results = []
    for node in sample:
        path = node["path"]
        restored = scratch / path.lstrip("/")
        entry = {"path": path, "size": node.get("size")}
        try:
            entry["sha256_restored"] = sha256_file(restored)
        except OSError as exc:
            entry.update(result="missing", detail=f"not restored: {exc.strerror}")
            results.append(entry)
            continue
        try:
            entry["sha256_live"] = sha256_file(path)
            still = os.lstat(path).st_mtime_ns == rfc3339_ns(node["mtime"])
        except OSError as exc:
            entry.update(result="skipped", detail=f"live file vanished: {exc.strerror}")
            results.append(entry)
            continue
        if not still:
            entry.update(result="skipped", detail="live file changed while it was compared")
        else:
            entry["result"] = "match" if entry["sha256_live"] == entry["sha256_restored"] else "mismatch"
        results.append(entry)
    return results


def verify_dumps(config: dict, restored_dump_dir: Path) -> list[dict]:
    """Every dump of the snapshot's manifest: checksum, restore into a scratch database, row counts."""
    manifest = read_json(restored_dump_dir / "manifest.json")
    if manifest is None:
        return [{"result": "mismatch", "detail": "the snapshot holds no readable dump manifest"}]
    results = []
    for dump in manifest.get("dumps", []):
        entry = {"engine": dump.get("engine"), "database": dump.get("database"), "file": dump.get("file")}
        path = restored_dump_dir / str(dump.get("file", ""))
        try:
            digest = sha256_file(path)
        except OSError as exc:
            entry.update(result="mismatch", detail=f"dump not restored: {exc.strerror}")
            results.append(entry)
            continue
        if digest != dump.get("sha256"):
            entry.update(result="mismatch", detail="the dump's sha256 differs from the manifest (corrupted)")
            results.append(entry)
            continue
        if dump.get("kind") == "globals" or dump.get("engine") not in ENGINES:
            entry.update(result="match", detail="checksum only")
            results.append(entry)
            continue
        eng = engine(config, dump["engine"])
        scratch_db = scratch_name(dump["database"])
        entry["scratch_database"] = scratch_db
        try:
            eng.create(scratch_db)
            eng.restore(scratch_db, path)
            counts = eng.counts(scratch_db)
            problems = compare_counts(dump.get("tables", {}), counts)
            entry.update(tables=len(counts), rows=sum(counts.values()), problems=problems)
            entry["result"] = "mismatch" if problems else "match"
        except BackupError as exc:
            entry.update(result="mismatch", detail=f"restore failed: {exc}")
        finally:
            try:
                eng.drop(scratch_db)
                entry["scratch_dropped"] = True
            except BackupError as exc:
                entry["scratch_dropped"] = False
                entry.setdefault("problems", []).append(f"scratch database not dropped: {exc}")
        results.append(entry)
    return results


def cmd_verify(config: dict, rng: random.Random | None = None) -> int:
    rng = rng or random.SystemRandom()
    started = now_utc()
    evidence: dict = {
        "control": CONTROL,
        "host": config["host"],
        "started": iso(started),
        "repository": config["repository_url"],
        "result": "fail",
        "problems": [],
    }
    problems: list[str] = evidence["problems"]
    scratch: Path | None = None
    secrets: list[str] = []
    try:
        restic = Restic(config)
        secrets = restic.secrets
        proc = restic.run("snapshots", "--json", "--host", config["host"], "--tag", config["tag"], timeout=600)
        snap = latest_snapshot(json.loads(proc.stdout or "[]") or [])
        if snap is None:
            raise BackupError(f"the repository holds no snapshot of {config['host']}")
        evidence["snapshot"] = {"id": snap.get("id"), "time": snap.get("time"), "paths": snap.get("paths")}
        age = backup_age_problem(iso(parse_iso(snap["time"])), float(config["max_age_hours"]), started)
        evidence["snapshot_age_ok"] = age is None
        if age:
            problems.append(f"missed backup: the latest snapshot: {age}")
        _info, nodes = parse_ls(restic.run("ls", "--json", snap["id"], timeout=3600).stdout)
        skip = [config["dump_dir"]]
        usable, changed = candidates(nodes, config["paths"], skip)
        sample = rng.sample(usable, min(int(config.get("sample", 20)), len(usable)))
        has_dumps = any(under(n.get("path", ""), config["dump_dir"]) for n in nodes)
        root = Path(config["scratch_dir"])
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(root, 0o700)
        scratch = Path(tempfile.mkdtemp(prefix="restore-", dir=root))
        includes = [n["path"] for n in sample] + ([config["dump_dir"]] if has_dumps else [])
        if includes:
            args = ["restore", snap["id"], "--target", str(scratch)]
            for path in includes:
                args += ["--include", path]
            restic.run(*args, timeout=6 * 3600)
        files = verify_files(sample, scratch)
        evidence["files"] = {
            "in_snapshot": sum(1 for n in nodes if n.get("type") == "file"),
            "comparable": len(usable),
            "changed_since_snapshot": changed,
            "sampled": len(sample),
            "matched": sum(1 for f in files if f["result"] == "match"),
            "results": files,
        }
        if not sample:
            problems.append("no file of the snapshot could be compared with an unchanged live file")
        for f in files:
            if f["result"] in ("mismatch", "missing"):
                problems.append(f"file {f['path']}: {f.get('detail', 'restored sha256 differs from the live file')}")
        if config.get("databases_configured"):
            if not has_dumps:
                problems.append(f"the snapshot holds no database dumps ({config['dump_dir']})")
                evidence["databases"] = []
            else:
                evidence["databases"] = verify_dumps(config, scratch / config["dump_dir"].lstrip("/"))
                for d in evidence["databases"]:
                    if d["result"] != "match" or d.get("problems"):
                        detail = "; ".join(d.get("problems") or [d.get("detail", "mismatch")])
                        problems.append(f"{d.get('engine')} database {d.get('database')}: {detail}")
    except BackupError as exc:
        problems.append(str(exc))
    except (OSError, ValueError, KeyError) as exc:
        problems.append(f"verification stopped: {type(exc).__name__}: {redact(str(exc), secrets)}")
    except subprocess.TimeoutExpired as exc:
        problems.append(f"restic did not finish in {exc.timeout} s")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    finished = now_utc()
    evidence.update(finished=iso(finished), result="pass" if not problems else "fail")
    out_dir = Path(config["verify_dir"])
    name = finished.strftime("%Y-%m-%dT%H%M%SZ") + ".json"
    write_private(out_dir / name, evidence)
    write_private(out_dir / "latest.json", evidence)
    if problems:
        fail_line(f"restore verification of {config['host']} failed: " + "; ".join(problems)
                  + f" (evidence {out_dir / name})")  # fmt: skip
        return 1
    files = evidence.get("files", {})
    print(f"{PROG}: restore verification of {config['host']} passed: snapshot {evidence['snapshot']['id'][:8]}, "
          f"{files.get('matched')} of {files.get('sampled')} sampled files match, "
          f"{len(evidence.get('databases', []))} dumps restored and counted (evidence {out_dir / name})")  # fmt: skip
    return 0


# --- alarm and operator access ---------------------------------------------------------------


def cmd_alarm(config: dict, unit: str) -> int:
    status = read_json(status_path(config), {}) or {}
    errors = "; ".join((status.get("last_attempt") or {}).get("errors", []))
    message = (f"backup ALARM on {config['host']}: {unit} failed. Last successful backup: "
               f"{status.get('last_success') or 'never'}." + (f" Last error: {errors}." if errors else "")
               + f" See: journalctl -u {unit}")  # fmt: skip
    print(f"{CRIT}{PROG}: {message}", file=sys.stderr, flush=True)
    sendmail = config.get("sendmail", "/usr/sbin/sendmail")
    if config.get("alarm_mail_to") and os.access(sendmail, os.X_OK):
        mail = (f"To: {config['alarm_mail_to']}\nSubject: [belediye-backup] {config['host']}: {unit} failed\n"
                f"Content-Type: text/plain; charset=utf-8\n\n{message}\n")  # fmt: skip
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([sendmail, "-t", "-oi"], input=mail.encode(), timeout=60, check=False)
    return 0


def cmd_restic(config: dict, args: list[str]) -> int:
    restic = Restic(config)
    proc = subprocess.run(restic.argv(*args), env=restic.env, check=False)
    return proc.returncode


def load_config(path: Path) -> dict:
    config = json.loads(path.read_text(encoding="utf-8"))
    config["databases_configured"] = any(config.get("databases", {}).values())
    return config


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config_path = CONFIG
    if len(args) >= 2 and args[0] == "--config":
        config_path, args = Path(args[1]), args[2:]
    if not args or args[0] not in ("run", "dump", "verify", "check", "alarm", "restic"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        config = load_config(config_path)
    except (OSError, ValueError) as exc:
        fail_line(f"cannot read {config_path}: {exc}")
        return 2
    os.umask(0o077)
    command, rest = args[0], args[1:]
    try:
        if command == "run":
            return cmd_run(config)
        if command == "dump":
            return cmd_dump(config)
        if command == "verify":
            return cmd_verify(config)
        if command == "check":
            return cmd_check(config)
        if command == "alarm":
            return cmd_alarm(config, rest[0] if rest else "unknown unit")
        return cmd_restic(config, rest)
    except BackupError as exc:
        fail_line(f"{command} on {config.get('host')}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
