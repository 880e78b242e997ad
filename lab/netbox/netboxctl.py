#!/usr/bin/env python3
"""netboxctl: a real NetBox on loopback for the lab and the tests.

    netboxctl.py install        NetBox's own venv (.lab/netbox/venv) from lab/netbox/requirements.txt
    netboxctl.py up [--fresh]   PostgreSQL and Redis on loopback, the schema from the cached dump, an admin
                                user with an API token, and gunicorn (idempotent; --fresh restores the
                                database from the dump again, so the instance is empty)
    netboxctl.py down           stop gunicorn, Redis and PostgreSQL (the data is kept)
    netboxctl.py destroy        down, and remove the instance's state
    netboxctl.py status         what runs, and the API's answer
    netboxctl.py env            shell exports for the tools: NETBOX_API and NETBOX_TOKEN
    netboxctl.py dump           migrate an empty database from scratch (minutes: 202 s here, two cores) and
                                write the migrated schema to lab/netbox/netbox-<version>-schema.sql.gz

NetBox is the PyPI package `netbox` (the real NetBox: the same apps as the GitHub releases, with a
`netbox` command that is Django's manage.py). It pins about a hundred packages (Django 6.1 among them),
so it lives in a venv of its own, never in the control node's. PostgreSQL is Debian's 15, as a private
cluster under .lab/netbox/pg owned by the postgres user (or, when that user cannot reach the checkout,
as under a 0700 /root, in /var/lib/postgresql/belediye-iac/<hash of the state path>); Redis is Debian's
redis-server. All three listen on 127.0.0.1 only, on ports that the environment can move (NETBOX_PORT,
NETBOX_PG_PORT, NETBOX_REDIS_PORT).

A fresh `netbox migrate` runs 336 migrations (202 s here; about 15 minutes in research/devices.md), so the
migrated, empty schema is committed as a plain SQL dump (lab/netbox/netbox-<version>-schema.sql.gz,
87 KiB; read it with zcat). It holds no user, token or secret: `up` creates the admin user and its
token afterwards. `up` refuses a dump whose version differs from the installed NetBox, and it checks,
inside the same Django start, that the restored schema has no unapplied migration. When NetBox is bumped
in requirements.txt, run `netboxctl.py dump` and commit the new file (see docs/netbox.md).

The instance's secrets (Django's SECRET_KEY, the API token pepper, the admin password and the API token)
are generated on first `up`, kept mode 0600 under .lab/netbox/secrets/, and never leave the machine.
Facts this relies on are in ../shared/research/devices.md section 4 (v2 tokens need API_TOKEN_PEPPERS;
RELEASE_CHECK_URL and census reporting are turned off so that NetBox makes no outbound call).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = ROOT / "lab" / "netbox"
STATE = Path(os.environ.get("NETBOX_STATE", ROOT / ".lab" / "netbox"))
VENV = STATE / "venv"
RUN = STATE / "run"
LOGS = STATE / "log"
SECRETS = STATE / "secrets"
INSTANCE = STATE / "root"
REQUIREMENTS = HERE / "requirements.txt"
PGBIN = Path("/usr/lib/postgresql/15/bin")

HOST = "127.0.0.1"
PORT = int(os.environ.get("NETBOX_PORT", "8001"))
PG_PORT = int(os.environ.get("NETBOX_PG_PORT", "5433"))
REDIS_PORT = int(os.environ.get("NETBOX_REDIS_PORT", "6380"))
DB = "netbox"
ADMIN = "admin"
API = f"http://{HOST}:{PORT}"


def log(msg: str) -> None:
    print(f"netboxctl: {msg}", flush=True)


def die(msg: str) -> None:
    print(f"netboxctl: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


def as_postgres(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root; its tools run as the postgres user."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return run(cmd, **kw)


def netbox_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("netbox=="):
            return line.split("==", 1)[1].strip()
    die(f"{REQUIREMENTS} pins no netbox version")
    return ""


def schema_dump() -> Path:
    return HERE / f"netbox-{netbox_version()}-schema.sql.gz"


def installed_version() -> str | None:
    if not (VENV / "bin" / "python").exists():
        return None
    probe = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('netbox'))"],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


# --------------------------------------------------------------------------- install


def find_python() -> str:
    """A Python 3.12 or 3.13 (NetBox 4.7 needs >= 3.12; the machine's python3 may be 3.11)."""
    candidates = [os.environ.get("PYTHON", "")]
    candidates += sorted(str(p) for p in Path("/root/.pyenv/versions").glob("3.1[23]*/bin/python3"))
    candidates += ["/usr/bin/python3.12", "/usr/bin/python3.13", "/usr/bin/python3"]
    for cand in candidates:
        if not cand or not os.access(cand, os.X_OK):
            continue
        probe = subprocess.run(
            [cand, "-c", "import sys; print(sys.version_info >= (3, 12))"], capture_output=True, text=True
        )
        if probe.stdout.strip() == "True":
            return cand
    die("no Python >= 3.12 found (set PYTHON=/path/to/python3.12)")
    return ""


def cmd_install(_args: argparse.Namespace) -> None:
    want = netbox_version()
    stamp = VENV / ".requirements"
    if installed_version() == want and stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text():
        log(f"NetBox {want} venv is current ({VENV})")
        return
    py = find_python()
    if VENV.exists():
        shutil.rmtree(VENV)
    STATE.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    run([py, "-m", "venv", str(VENV)])
    # Every package is pinned in requirements.txt (psycopg's binary build instead of the C one that
    # NetBox's metadata asks for: the same driver, without compiling it for four minutes), so the
    # install takes no dependency from NetBox's metadata.
    run(
        [
            str(VENV / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "-r",
            str(REQUIREMENTS),
        ],
        stderr=subprocess.DEVNULL if os.environ.get("NETBOX_PIP_QUIET") else None,
    )
    (VENV / ".requirements").write_text(REQUIREMENTS.read_text())
    log(f"NetBox {want} installed in {VENV} in {time.monotonic() - t0:.0f}s")


# --------------------------------------------------------------------------- secrets and configuration


def secret(name: str, length: int = 50) -> str:
    SECRETS.mkdir(parents=True, exist_ok=True)
    os.chmod(SECRETS, 0o700)
    path = SECRETS / name
    if not path.exists():
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
    return path.read_text().strip()


def write_configuration(db: str = DB) -> None:
    if not (INSTANCE / "conf" / "__init__.py").exists():
        run([str(VENV / "bin" / "netbox"), "setup", "--target", str(INSTANCE)], stdout=subprocess.DEVNULL)
    conf = {
        "ALLOWED_HOSTS": [HOST, "localhost"],
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": db,
                "USER": "netbox",
                "PASSWORD": secret("db_password", 32),
                "HOST": HOST,
                "PORT": str(PG_PORT),
                "CONN_MAX_AGE": 300,
            }
        },
        "REDIS": {
            key: {"HOST": HOST, "PORT": REDIS_PORT, "USERNAME": "", "PASSWORD": "", "DATABASE": n, "SSL": False}
            for n, key in enumerate(("tasks", "caching"))
        },
        "SECRET_KEY": secret("secret_key", 60),
        # Pepper 1 hashes the v2 API tokens (NetBox >= 4.5 refuses to create them without one).
        "API_TOKEN_PEPPERS": {1: secret("token_pepper", 60)},
        "TIME_ZONE": "Europe/Istanbul",
        # No outbound call: no release check, no census, no plugin catalogue.
        "RELEASE_CHECK_URL": None,
        "CENSUS_REPORTING_ENABLED": False,
        "MEDIA_ROOT": str(INSTANCE / "media"),
    }
    lines = ["# Written by lab/netbox/netboxctl.py; rewritten on every `up`. Secrets: .lab/netbox/secrets/"]
    lines += [f"{key} = {value!r}" for key, value in conf.items()]
    path = INSTANCE / "conf" / "configuration.py"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")


def netbox_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NETBOX_ROOT"] = str(INSTANCE)
    env.pop("NETBOX_CONFIGURATION", None)
    env["PATH"] = f"{VENV / 'bin'}:{env['PATH']}"
    return env


def netbox(*args: str, **kw) -> subprocess.CompletedProcess:
    return run([str(VENV / "bin" / "netbox"), *args], env=netbox_env(), **kw)


# --------------------------------------------------------------------------- services


def pidfile_alive(path: Path) -> int | None:
    """The pid in a daemon's pid file, if that process still runs and is that daemon.

    A pid file left behind by a killed run may name a pid that the system has since given to another
    process: its command line must name the daemon (postgres, redis, gunicorn) before anyone signals it.
    """
    daemon = "postgres" if path.name == "postmaster.pid" else path.stem
    try:
        pid = int(path.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if daemon.encode() in cmdline else None


@functools.cache
def pg_base() -> Path:
    """Where the postgres user keeps the cluster, its socket and its log.

    Under the instance's state when the postgres user can reach it; a checkout under a private home
    (/root is 0700) cannot be, and then the cluster lives in postgres's own home, in a directory
    named after the state path, so that each checkout still has its own.
    """
    STATE.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return STATE
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(STATE)], check=False)
    if probe.returncode == 0:
        return STATE
    tag = hashlib.sha256(str(STATE).encode()).hexdigest()[:12]
    return Path("/var/lib/postgresql/belediye-iac") / tag


def pgdata() -> Path:
    return pg_base() / "pg"


def postgres_up() -> None:
    for d in (RUN, LOGS):
        d.mkdir(parents=True, exist_ok=True)
    pg_run = pg_base() / "pgrun"
    pg_run.mkdir(parents=True, exist_ok=True)
    shutil.chown(pg_run, "postgres")
    data = pgdata()
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        shutil.chown(data, "postgres")
        os.chmod(data, 0o700)
        as_postgres(
            [
                str(PGBIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            stdout=subprocess.DEVNULL,
        )
    if pidfile_alive(data / "postmaster.pid"):
        return
    opts = f"-c listen_addresses={HOST} -p {PG_PORT} -k {pg_run}"
    as_postgres(
        [str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(pg_run / "postgresql.log"), "-w", "-o", opts, "start"],
        stdout=subprocess.DEVNULL,
    )


def psql_cmd(user: str, db: str, *args: str) -> list[str]:
    """psql to the instance's cluster over loopback TCP, stopping at the first error."""
    return [str(PGBIN / "psql"), "-h", HOST, "-p", str(PG_PORT), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", *args]


def psql(sql: str, db: str = "postgres", **kw) -> subprocess.CompletedProcess:
    return as_postgres(psql_cmd("postgres", db, "-qAtc", sql), capture_output=True, text=True, **kw)


def redis_up() -> None:
    if pidfile_alive(RUN / "redis.pid"):
        return
    redis = shutil.which("redis-server")
    if not redis:
        die("redis-server is not installed (scripts/deps.sh installs it)")
    run(
        [
            redis,
            "--bind",
            HOST,
            "--port",
            str(REDIS_PORT),
            "--daemonize",
            "yes",
            "--pidfile",
            str(RUN / "redis.pid"),
            "--logfile",
            str(LOGS / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(RUN),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(50):
        if pidfile_alive(RUN / "redis.pid"):
            return
        time.sleep(0.1)
    die(f"redis did not start; see {LOGS / 'redis.log'}")


def database_exists(name: str) -> bool:
    # name is one of this file's constants, never input.
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").stdout.strip() == "1"  # noqa: S608


def empty_database(name: str) -> None:
    """Drop and create database name, owned by the netbox role (created with its password if missing)."""
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if psql("SELECT 1 FROM pg_roles WHERE rolname = 'netbox'").stdout.strip() != "1":
        psql(f"CREATE ROLE netbox LOGIN PASSWORD '{secret('db_password', 32)}'")
    psql(f"CREATE DATABASE {name} OWNER netbox")


def restore_database(fresh: bool) -> bool:
    """Create the netbox database from the committed schema dump. True when it was (re)created."""
    if database_exists(DB) and not fresh:
        return False
    dump = schema_dump()
    if not dump.exists():
        die(f"{dump.relative_to(ROOT)} is missing: run `netboxctl.py dump` once for NetBox {netbox_version()}")
    t0 = time.monotonic()
    empty_database(DB)
    with gzip.open(dump, "rb") as f:
        as_postgres(
            psql_cmd("netbox", DB, "-q"),
            input=f.read(),
            stdout=subprocess.DEVNULL,
        )
    log(f"database restored from {dump.name} in {time.monotonic() - t0:.1f}s")
    return True


# Runs inside `netbox shell` (one Django start, ~18 s, instead of three): refuses a schema with unapplied
# migrations, then makes sure the admin user exists with the password in .lab/netbox/secrets and holds
# exactly one API token, whose value it prints as JSON.
BOOTSTRAP = """
import json, sys
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
executor = MigrationExecutor(connection)
pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
if pending:
    print(json.dumps({"error": "unapplied migrations: %d, first %s" % (len(pending), pending[0][0])}))
    sys.exit(3)
from users.models import Token, User
user, _ = User.objects.get_or_create(username=ADMIN, defaults={"email": "admin@lab.invalid"})
user.is_superuser = True
user.is_staff = True
user.is_active = True
user.set_password(PASSWORD)
user.save()
Token.objects.filter(user=user).delete()
token = Token(user=user, description="belediye-iac lab", write_enabled=True)
token.save()
print(json.dumps({"token": "nbt_%s.%s" % (token.key, token.token)}))
"""


def bootstrap_admin() -> str:
    code = f"ADMIN = {ADMIN!r}\nPASSWORD = {secret('admin_password', 24)!r}\n" + BOOTSTRAP
    out = netbox("shell", "--no-imports", "-c", code, capture_output=True, text=True, check=False)
    result = None
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            break
    if out.returncode != 0 or not result or "token" not in result:
        detail = (result or {}).get("error") or (out.stderr.strip().splitlines() or ["no output"])[-1]
        die(f"NetBox bootstrap failed: {detail}")
    token = result["token"]
    path = SECRETS / "token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def api_status(token: str | None, timeout: float = 5) -> tuple[int, dict | None]:
    req = urllib.request.Request(f"{API}/api/status/", headers={"Accept": "application/json"})  # noqa: S310 (127.0.0.1)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError):
        return 0, None


def gunicorn_up() -> None:
    pid_path = RUN / "gunicorn.pid"
    if pidfile_alive(pid_path):
        return
    site = run(
        [
            str(VENV / "bin" / "python"),
            "-c",
            "import netbox, os; print(os.path.dirname(os.path.dirname(netbox.__file__)))",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    run(
        [
            str(VENV / "bin" / "gunicorn"),
            "--chdir",
            site,
            "--bind",
            f"{HOST}:{PORT}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "120",
            # Stop within seconds: a worker holding a keep-alive connection otherwise delays a restart.
            "--graceful-timeout",
            "3",
            # gunicorn's control socket defaults to one path per user (~/.gunicorn): instances would share it.
            "--no-control-socket",
            "--pid",
            str(pid_path),
            "--daemon",
            "--error-logfile",
            str(LOGS / "gunicorn.log"),
            "--capture-output",
            "netbox.wsgi",
        ],
        env=netbox_env(),
    )


def wait_api(token: str, deadline_s: float = 120) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        code, body = api_status(token, timeout=30)
        if code == 200 and body:
            return body
        time.sleep(1)
    die(f"NetBox did not answer on {API} within {deadline_s:.0f}s; see {LOGS / 'gunicorn.log'}")
    return {}


def stop_pid(path: Path, name: str, sig: int = signal.SIGTERM, port: int | None = None) -> None:
    """Stop a daemon by its pid file; with port, also wait until nothing listens there any more."""
    pid = pidfile_alive(path)
    if not pid:
        return
    os.kill(pid, sig)
    for _ in range(300):
        if not pidfile_alive(path):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    for _ in range(300):
        if port is None or not listening(port):
            break
        time.sleep(0.1)
    else:
        die(f"{name} stopped, but port {port} is still held")
    log(f"{name} stopped")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def cmd_up(args: argparse.Namespace) -> None:
    t0 = time.monotonic()
    cmd_install(args)
    dump_version = schema_dump().name.split("-")[1]
    if installed_version() != dump_version:
        die(f"installed NetBox {installed_version()} differs from the schema dump's {dump_version}")
    postgres_up()
    redis_up()
    write_configuration()
    recreated = restore_database(args.fresh)
    if recreated and pidfile_alive(RUN / "gunicorn.pid"):
        # Workers hold connections and cached objects of the old database.
        stop_pid(RUN / "gunicorn.pid", "gunicorn", signal.SIGQUIT, PORT)
    token_path = SECRETS / "token"
    token = token_path.read_text().strip() if token_path.exists() and not recreated else ""
    gunicorn_up()
    if not token or api_status(token, timeout=60)[0] not in (200, 0):
        token = bootstrap_admin()
    status = wait_api(token)
    log(
        f"NetBox {status.get('netbox-version')} answers on {API} ({time.monotonic() - t0:.0f}s); "
        f"token in {token_path.relative_to(ROOT) if token_path.is_relative_to(ROOT) else token_path}"
    )


def cmd_down(_args: argparse.Namespace) -> None:
    stop_pid(RUN / "gunicorn.pid", "gunicorn", signal.SIGQUIT, PORT)
    stop_pid(RUN / "redis.pid", "redis")
    if pidfile_alive(pgdata() / "postmaster.pid"):
        as_postgres([str(PGBIN / "pg_ctl"), "-D", str(pgdata()), "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL)
        log("postgresql stopped")


def cmd_destroy(args: argparse.Namespace) -> None:
    cmd_down(args)
    for path in (pgdata(), pg_base() / "pgrun", RUN, LOGS, SECRETS, INSTANCE):
        shutil.rmtree(path, ignore_errors=True)
    if pg_base() != STATE:
        shutil.rmtree(pg_base(), ignore_errors=True)
    log(f"state removed (the venv {VENV} is kept)")


def cmd_status(_args: argparse.Namespace) -> None:
    for name, path in (
        ("postgresql", pgdata() / "postmaster.pid"),
        ("redis", RUN / "redis.pid"),
        ("gunicorn", RUN / "gunicorn.pid"),
    ):
        pid = pidfile_alive(path)
        print(f"{name:11} {'running, pid ' + str(pid) if pid else 'stopped'}")
    token_path = SECRETS / "token"
    token = token_path.read_text().strip() if token_path.exists() else None
    code, body = api_status(token)
    print(f"{'api':11} {API}: " + (f"NetBox {body.get('netbox-version')}" if body else f"HTTP {code or 'no answer'}"))
    sys.exit(0 if body else 1)


def cmd_env(_args: argparse.Namespace) -> None:
    token_path = SECRETS / "token"
    if not token_path.exists():
        die("no token yet: run `netboxctl.py up`")
    print(f"export NETBOX_API={API}")
    print(f"export NETBOX_TOKEN={token_path.read_text().strip()}")


def cmd_dump(_args: argparse.Namespace) -> None:
    """Migrate a scratch database from nothing and dump its schema and data (no users, no secrets)."""
    scratch = "netbox_build"
    cmd_install(_args)
    postgres_up()
    redis_up()
    write_configuration(scratch)
    empty_database(scratch)
    t0 = time.monotonic()
    log(f"migrating NetBox {netbox_version()} from scratch (minutes: 202 s measured on two cores)")
    netbox("migrate", "--no-input", stdout=subprocess.DEVNULL)
    log(f"migrated in {time.monotonic() - t0:.0f}s")
    users = psql("SELECT count(*) FROM users_user", db=scratch).stdout.strip()
    if users != "0":
        die(f"the scratch database holds {users} users; refusing to dump it")
    dump = as_postgres(
        [
            str(PGBIN / "pg_dump"),
            "-h",
            HOST,
            "-p",
            str(PG_PORT),
            "-U",
            "netbox",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            scratch,
        ],
        capture_output=True,
    ).stdout
    target = schema_dump()
    # No file name or time in the gzip header (the SQL itself holds the times the migrations ran).
    with open(target, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(dump)
    psql(f"DROP DATABASE {scratch} WITH (FORCE)")
    write_configuration()
    log(f"wrote {target.relative_to(ROOT)} ({target.stat().st_size // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install")
    up = sub.add_parser("up")
    up.add_argument("--fresh", action="store_true", help="restore the database from the dump again (empty NetBox)")
    for name in ("down", "destroy", "status", "env", "dump"):
        sub.add_parser(name)
    args = parser.parse_args()
    {
        "install": cmd_install,
        "up": cmd_up,
        "down": cmd_down,
        "destroy": cmd_destroy,
        "status": cmd_status,
        "env": cmd_env,
        "dump": cmd_dump,
    }[args.cmd](args)


if __name__ == "__main__":
    main()
