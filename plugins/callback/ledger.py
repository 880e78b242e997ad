"""Run ledger: one hash-chained JSON line per ansible-playbook run, for change evidence (ISO 27001).

The plugin gathers what the run did (who, from which commit, against which inventory, what changed and
what failed), and when the run ends it appends one line to an append-only file.  Each line carries the
SHA-256 of the line before it, so removing, editing or reordering lines breaks the chain; tools/ledger.py
verifies it.  A copy of each line goes to the local syslog socket so that a central log server holds the
chain head as well.

The ledger must never break a run: every callback method is wrapped so that no exception reaches Ansible,
and a ledger that cannot be written produces a loud warning while the run keeps its own exit code.
"""

from __future__ import annotations

DOCUMENTATION = """
    name: ledger
    type: notification
    short_description: Append one hash-chained JSON line per playbook run to the run ledger
    description:
      - Writes one JSON object per C(ansible-playbook) run to an append-only file (line format v1, see
        C(plugins/callback/README.md)). Each line holds the SHA-256 of the line before it, so a removed,
        edited or reordered line breaks the chain; C(tools/ledger.py verify) reports where.
      - The line records the actor (user, sudo user, GitLab CI job), the git commit of the playbook and whether the
        work tree was dirty, playbooks, inventory, limit, tags, check or apply mode, the names (never the values)
        of extra vars, per-host statistics, every changed task result with its diff, and every failure.
      - Results of C(no_log) tasks, or loop items marked C(no_log), are recorded as C(REDACTED (no_log)).
      - Diffs are only present when the run uses C(--diff); each is capped at 64 KiB.
      - A copy of the line is sent as one datagram to the local syslog socket (facility C(local0) by default).
      - If the ledger cannot be written the run goes on with its own exit code and a loud warning is shown.
        A run that ends before its recap (interrupted, killed with SIGTERM, an error between playbooks) is
        recorded with status C(interrupted) when at least one play had started.
      - C(--syntax-check) and the C(--list-*) options write nothing.
    requirements:
      - enable in configuration (C(callbacks_enabled = ledger) in C(ansible.cfg))
    options:
      path:
        description: The ledger file. Its directory is created (mode 0750) and the file (mode 0640) if missing.
        type: path
        default: /var/log/belediye-iac/ledger.jsonl
        env:
          - name: BELEDIYE_LEDGER_PATH
        ini:
          - section: callback_ledger
            key: path
      syslog:
        description: Send a copy of each ledger line to the local syslog socket.
        type: bool
        default: true
        env:
          - name: BELEDIYE_LEDGER_SYSLOG
        ini:
          - section: callback_ledger
            key: syslog
      syslog_socket:
        description: The unix datagram socket of the local syslog daemon.
        type: path
        default: /dev/log
        env:
          - name: BELEDIYE_LEDGER_SYSLOG_SOCKET
        ini:
          - section: callback_ledger
            key: syslog_socket
      syslog_facility:
        description: The syslog facility of the copy; the severity is always C(info).
        type: str
        default: local0
        choices: [user, daemon, auth, authpriv, local0, local1, local2, local3, local4, local5, local6, local7]
        env:
          - name: BELEDIYE_LEDGER_SYSLOG_FACILITY
        ini:
          - section: callback_ledger
            key: syslog_facility
"""

import atexit
import contextlib
import copy
import fcntl
import functools
import getpass
import hashlib
import json
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import time
import uuid
from datetime import UTC, datetime

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ANSIBLE_VERSION
from ansible.utils import color as ansible_color
from ansible.utils.display import Display

display = Display()

FORMAT_VERSION = 1
ZERO_SHA256 = "0" * 64
REDACTED = "REDACTED (no_log)"
MAX_DIFF_BYTES = 64 * 1024
MAX_MSG_CHARS = 2000
MAX_SYSLOG_BYTES = 7000
LOCK_TIMEOUT_S = 30.0
GIT_TIMEOUT_S = 3.0
SYSLOG_TIMEOUT_S = 2.0
READ_CHUNK = 64 * 1024
SYSLOG_FACILITIES = {
    "user": 1,
    "daemon": 3,
    "auth": 4,
    "authpriv": 10,
    **{f"local{n}": 16 + n for n in range(8)},
}
SYSLOG_SEVERITY_INFO = 6
STAT_NAMES = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "unreachable": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


class LedgerError(Exception):
    """The ledger line could not be written; the message says why, for the operator."""


def canonical_line(record: dict) -> bytes:
    """Serialise a record exactly as line format v1 requires (without the trailing newline)."""
    text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def line_sha256(line: bytes) -> str:
    """Hex SHA-256 of a ledger line's bytes, without its trailing newline."""
    return hashlib.sha256(line).hexdigest()


def _clean_text(value):
    """Make every string in a record encodable as UTF-8 (task output may carry lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {str(_clean_text(k)): _clean_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_text(v) for v in value]
    return value


def read_last_line(fd: int) -> bytes | None:
    """Return the last line of an open ledger (without its newline), reading backwards from the end.

    Returns None for an empty file.  Raises LedgerError when the file does not end with a newline,
    which means its last line is incomplete (a write cut short, or an edit).
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    if os.pread(fd, 1, size - 1) != b"\n":
        raise LedgerError(
            "the ledger's last line is incomplete (no newline at the end of the file): a write was cut short "
            "or the file was edited; run tools/ledger.py verify"
        )
    end = size - 1
    pieces: list[bytes] = []
    while end > 0:
        start = max(0, end - READ_CHUNK)
        chunk = os.pread(fd, end - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            pieces.append(chunk[cut + 1 :])
            break
        pieces.append(chunk)
        end = start
    return b"".join(reversed(pieces))


def _open_ledger(path: str) -> int:
    """Open (creating if needed) the ledger for reading and appending; return the descriptor."""
    directory = os.path.dirname(path) or "."
    try:
        os.makedirs(directory, mode=0o750, exist_ok=True)
    except OSError as exc:
        raise LedgerError(f"cannot create the ledger directory {directory}: {exc.strerror or exc}") from exc
    created = False
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
        created = True
    except FileExistsError:
        fd = None
    except OSError as exc:
        raise LedgerError(f"cannot create {path}: {exc.strerror or exc}") from exc
    if fd is None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except OSError as exc:
            raise LedgerError(f"cannot open {path} for appending: {exc.strerror or exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LedgerError(f"{path} is not a regular file")
        if created:
            os.fchmod(fd, 0o640)  # the mode, whatever the umask
            _fsync_directory(directory)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_directory(directory: str) -> None:
    """Persist a newly created directory entry; best effort (some file systems refuse)."""
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # the line itself is fsynced; the directory entry is a bonus
            os.fsync(dfd)
    finally:
        os.close(dfd)


def _lock(fd: int, path: str, timeout: float = LOCK_TIMEOUT_S) -> None:
    """Take an exclusive flock, waiting at most `timeout` seconds so that a stuck holder cannot hang a run."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LedgerError(f"{path} stayed locked by another process for {timeout:.0f} s") from None
            time.sleep(0.05)
        except OSError as exc:
            raise LedgerError(f"cannot lock {path}: {exc.strerror or exc}") from exc


def append_record(path: str, build) -> tuple[dict, bytes]:
    """Append one record to the ledger at `path`, chained to the line before it.

    `build(seq, prev_sha256)` returns the record to write.  The exclusive lock is held from reading the
    last line until the new line is written and fsynced, so concurrent runs keep one unbroken chain.
    Returns the record and its line (without newline).  Raises LedgerError with a reason for the operator.
    """
    fd = _open_ledger(path)
    try:
        _lock(fd, path)
        last = read_last_line(fd)
        if last is None:
            seq, prev = 1, ZERO_SHA256
        else:
            try:
                previous = json.loads(last.decode("utf-8"))
                prev_seq = previous["seq"]
                if isinstance(prev_seq, bool) or not isinstance(prev_seq, int):
                    raise TypeError("seq is not an integer")
            except (ValueError, TypeError, KeyError) as exc:
                raise LedgerError(
                    f"the ledger's last line is not a valid ledger record ({exc}); run tools/ledger.py verify"
                ) from exc
            seq, prev = prev_seq + 1, line_sha256(last)
        record = _clean_text(build(seq, prev))
        line = canonical_line(record)
        data = line + b"\n"
        try:
            written = os.write(fd, data)
            while written < len(data):  # only on a nearly full disk; the next write then raises
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError as exc:
            raise LedgerError(f"writing {path} failed: {exc.strerror or exc}") from exc
        return record, line
    finally:
        os.close(fd)  # closing releases the flock


def syslog_message(record: dict, line: bytes, facility: str = "local0", pid: int | None = None) -> bytes:
    """Build the syslog copy of a ledger line: RFC 3164 local form, at most MAX_SYSLOG_BYTES.

    The header names the line's seq and the SHA-256 of the full stored line, so a central copy anchors the
    chain head even when the body has to be shortened: first "changes" becomes a count, then failures and
    hosts become counts too, and as a last resort only the run's identity and outcome remain.
    """
    pri = SYSLOG_FACILITIES[facility] * 8 + SYSLOG_SEVERITY_INFO
    header = f"<{pri}>belediye-ledger[{os.getpid() if pid is None else pid}]: "
    header += f"seq={record['seq']} sha256={line_sha256(line)} "
    head = header.encode("utf-8")
    if len(head) + len(line) <= MAX_SYSLOG_BYTES:
        return head + line
    shorter = dict(record, changes=len(record["changes"]), changes_omitted=True)
    body = canonical_line(shorter)
    if len(head) + len(body) <= MAX_SYSLOG_BYTES:
        return head + body
    shorter.update(
        failures=len(record["failures"]), failures_omitted=True, hosts=len(record["hosts"]), hosts_omitted=True
    )
    body = canonical_line(shorter)
    if len(head) + len(body) <= MAX_SYSLOG_BYTES:
        return head + body
    keep = ("v", "seq", "prev_sha256", "run_id", "start", "end", "status", "mode", "control_node")
    minimal = {k: record[k] for k in keep if k in record}
    minimal["omitted"] = True
    return head + canonical_line(minimal)


def send_syslog(socket_path: str, message: bytes) -> None:
    """Send one datagram to a unix syslog socket; never blocks for longer than SYSLOG_TIMEOUT_S."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.settimeout(SYSLOG_TIMEOUT_S)
        sock.connect(socket_path)
        sock.send(message)


def _git(directory: str, *args: str) -> str | None:
    """Run one git command in `directory`; its stripped output, or None when git fails or is missing."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        res = subprocess.run(
            ["git", "-C", directory, *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return res.stdout.strip()


def git_state(directory: str) -> tuple[dict, str | None]:
    """Return ({"commit", "branch", "dirty"}, top-level directory) for the git work tree holding `directory`.

    dirty is true when `git status --porcelain` prints anything: modified, staged, deleted and untracked
    files all count; only files matched by .gitignore do not.  A detached HEAD (as in GitLab CI) has no
    branch; CI_COMMIT_REF_NAME is used then when set.  Everything is None outside a work tree or without git.
    """
    top = _git(directory, "rev-parse", "--show-toplevel")
    if not top:
        return {"commit": None, "branch": None, "dirty": None}, None
    commit = _git(directory, "rev-parse", "--verify", "-q", "HEAD") or None
    branch = _git(directory, "symbolic-ref", "--short", "-q", "HEAD") or os.environ.get("CI_COMMIT_REF_NAME") or None
    porcelain = _git(directory, "--no-optional-locks", "status", "--porcelain")
    dirty = None if porcelain is None else bool(porcelain)
    return {"commit": commit, "branch": branch, "dirty": dirty}, os.path.realpath(top)


def repo_relative(path: str, top: str | None) -> str:
    """`path` relative to the git top-level when inside it, else absolute; non-paths (host lists) unchanged."""
    if "," in path and not os.path.exists(path):
        return path  # an inline host list such as "web01,web02,"
    real = os.path.realpath(path)
    if top and (real == top or real.startswith(top + os.sep)):
        return os.path.relpath(real, top)
    return os.path.abspath(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _truthy_no_log(value) -> bool:
    """A task's no_log as a bool; anything not clearly false (an unrendered template, say) counts as true."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() not in ("", "false", "no", "0", "off", "n", "f")


def _actor() -> dict:
    """Who ran the playbook: the account of the process (not $USER, which anyone can set), sudo and CI."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = str(os.getuid())
    env = os.environ
    return {
        "user": user,
        "sudo_user": env.get("SUDO_USER") or None,
        "ci_job_id": env.get("CI_JOB_ID") or env.get("JOB_ID") or None,  # JOB_ID: AWX / Ansible Tower
        "ci_pipeline_id": env.get("CI_PIPELINE_ID") or None,
        "ci_job_url": env.get("CI_JOB_URL") or None,
        "ci_user": env.get("GITLAB_USER_LOGIN") or None,
    }


def _extra_var_names_from_cli(extra_vars) -> list[str]:
    """Extra-var names from the raw -e arguments, used only when the variable manager is not reachable."""
    names: set[str] = set()
    for arg in extra_vars or ():
        text = str(arg).strip()
        if text.startswith("@"):
            names.add(text)
        elif text.startswith("{"):
            try:
                names.update(str(k) for k in json.loads(text))
            except ValueError:
                names.add("<unparsed -e value>")
        else:
            names.update(part.split("=", 1)[0] for part in text.split() if "=" in part)
    return sorted(names)


def _guarded(method):
    """Run a callback method so that no exception ever reaches Ansible; report it loudly instead."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # the ledger must never break a run
            self._internal_error(method.__name__, exc)
        return None

    return wrapper


class CallbackModule(CallbackBase):
    """Collect a run's facts from callback events and append them to the run ledger when the run ends."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "ledger"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._pid = os.getpid()
        self._run_id = os.environ.get("BELEDIYE_RUN_ID") or uuid.uuid4().hex
        self._start: str | None = None
        self._start_clock = time.monotonic()
        self._stats_seen = 0
        self._plays_started = 0
        self._play_name = ""
        self._extra_var_names: list[str] | None = None
        self._changes: list[dict] = []
        self._failures: list[dict] = []
        self._tally: dict[str, dict[str, int]] = {}
        self._hosts: dict[str, dict[str, int]] | None = None
        self._written = False
        self._writing = False
        self._exit_hooks = False
        self._warned: set[str] = set()
        # Ad-hoc commands (ansible, ansible-console) load this plugin only with bin_ansible_callbacks;
        # the ledger records playbook runs, so it stays out of their way.
        self._adhoc = context.CLIARGS.get("module_name") is not None
        self.disabled = self._adhoc

    # ----------------------------------------------------------------------------------- events

    @_guarded
    def v2_playbook_on_start(self, playbook):
        if self._start is None:
            self._start = _now()
            self._start_clock = time.monotonic()
        if self._written:
            self._warn_once(
                "late-playbook",
                "Run ledger: a further playbook started after this run's ledger line was written; "
                "its tasks are not in the ledger.",
            )

    @_guarded
    def v2_playbook_on_play_start(self, play):
        self._plays_started += 1
        self._play_name = play.get_name() or ""
        if self._extra_var_names is None:
            manager = play.get_variable_manager()
            if manager is not None:
                self._extra_var_names = sorted(str(name) for name in manager.extra_vars)
        if not self._exit_hooks:
            self._exit_hooks = True
            atexit.register(self._at_exit)
            self._chain_sigterm()

    @_guarded
    def v2_runner_on_ok(self, result):
        self._count(result, "ok")
        if result.is_changed():
            self._count(result, "changed")
            self._record_change(result)

    @_guarded
    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            self._count(result, "ok")
            self._count(result, "ignored")
        else:
            self._count(result, "failed")
        if result.is_changed():
            if ignore_errors:
                self._count(result, "changed")
            self._record_change(result)
        if not ignore_errors:
            self._record_failure(result, unreachable=False)

    @_guarded
    def v2_runner_on_unreachable(self, result):
        self._count(result, "unreachable")
        self._record_failure(result, unreachable=True)

    @_guarded
    def v2_runner_on_skipped(self, result):
        self._count(result, "skipped")

    @_guarded
    def v2_playbook_on_stats(self, stats):
        self._stats_seen += 1
        hosts = {}
        for host in sorted(stats.processed):
            summary = stats.summarize(host)
            hosts[host] = {name: int(summary.get(key, 0)) for key, name in STAT_NAMES.items()}
        self._hosts = hosts
        if self._written or self._adhoc:
            return
        # With several playbooks on the command line the stats arrive after each of them (cumulative);
        # the run goes on to the next one only when nothing failed or was unreachable.
        requested = len(context.CLIARGS.get("args") or ()) or 1
        troubled = any(h["failed"] or h["unreachable"] for h in hosts.values())
        if self._stats_seen >= requested or troubled:
            self._write(_status(hosts))

    # ------------------------------------------------------------------------ event helpers

    def _host_name(self, result) -> str:
        try:
            return result.host.get_name()
        except Exception:  # a label is all that is needed
            return "?"

    def _count(self, result, key: str) -> None:
        if getattr(result.task, "implicit", False):
            return
        counts = self._tally.setdefault(self._host_name(result), dict.fromkeys(STAT_NAMES.values(), 0))
        counts[key] += 1

    def _is_no_log(self, result) -> bool:
        if _truthy_no_log(getattr(result.task, "no_log", False)):
            return True
        res = result.result

        def censored(item) -> bool:
            return isinstance(item, dict) and (_truthy_no_log(item.get("_ansible_no_log")) or "censored" in item)

        if censored(res):
            return True
        return any(censored(item) for item in res.get("results") or ())

    def _render_diff(self, result) -> tuple[str | None, bool]:
        """The result's diff as unified text (loop items combined), capped at MAX_DIFF_BYTES."""
        res = result.result
        difflists = []
        if res.get("diff"):
            difflists.append(res["diff"])
        for item in res.get("results") or ():
            if isinstance(item, dict) and item.get("diff") and item.get("changed", True):
                difflists.append(item["diff"])
        if not difflists:
            return None, False
        text = "".join(self._get_diff(copy.deepcopy(diff)) for diff in difflists)
        text = _strip_diff_colours(text)
        if not text:
            return None, False
        raw = text.encode("utf-8", "backslashreplace")
        if len(raw) <= MAX_DIFF_BYTES:
            return text, False
        return raw[:MAX_DIFF_BYTES].decode("utf-8", "ignore"), True

    def _record_change(self, result) -> None:
        entry = {
            "host": self._host_name(result),
            "play": self._play_name,
            "task": "",
            "action": "",
            "diff": None,
            "redacted": False,
            "truncated": False,
        }
        try:
            entry["task"] = result.task.get_name() or ""
            entry["action"] = str(result.task.action or "")
            if self._is_no_log(result):
                entry.update(diff=REDACTED, redacted=True)
            else:
                entry["diff"], entry["truncated"] = self._render_diff(result)
        except Exception as exc:  # keep the change, say why its detail is missing
            entry.update(diff=f"LEDGER: the result could not be recorded ({type(exc).__name__})", truncated=True)
            self._warn_once("capture", f"Run ledger: could not record a task result ({exc}); the line is incomplete.")
        self._changes.append(entry)

    def _record_failure(self, result, unreachable: bool) -> None:
        entry = {"host": self._host_name(result), "task": "", "msg": "", "unreachable": unreachable}
        try:
            entry["task"] = result.task.get_name() or ""
            if self._is_no_log(result):
                entry["msg"] = REDACTED
            else:
                res = result.result
                msg = res.get("msg") or res.get("reason") or res.get("stderr") or res.get("module_stderr") or ""
                entry["msg"] = str(msg)[:MAX_MSG_CHARS]
        except Exception as exc:  # never break the run
            entry["msg"] = f"LEDGER: the failure could not be recorded ({type(exc).__name__})"
            self._warn_once("capture", f"Run ledger: could not record a task result ({exc}); the line is incomplete.")
        self._failures.append(entry)

    # --------------------------------------------------------------------------- writing

    def _record(self, status: str) -> dict:
        """This run's record without its place in the chain (seq, prev_sha256), which the lock holder adds."""
        cli = context.CLIARGS
        playbook_args = [str(p) for p in cli.get("args") or ()]
        base = os.path.dirname(os.path.realpath(playbook_args[0])) if playbook_args else os.getcwd()
        git, top = git_state(base)
        extra = self._extra_var_names
        if extra is None:
            extra = _extra_var_names_from_cli(cli.get("extra_vars"))
        return {
            "v": FORMAT_VERSION,
            "seq": 0,
            "prev_sha256": ZERO_SHA256,
            "run_id": self._run_id,
            "start": self._start or _now(),
            "end": _now(),
            "duration_s": round(time.monotonic() - self._start_clock, 1),
            "status": status,
            "git": git,
            "actor": _actor(),
            "control_node": socket.gethostname(),
            "playbooks": [repo_relative(p, top) for p in playbook_args],
            "inventory": [repo_relative(str(i), top) for i in cli.get("inventory") or ()],
            "limit": cli.get("subset") or None,
            "tags": [str(t) for t in cli.get("tags") or ()],
            "skip_tags": [str(t) for t in cli.get("skip_tags") or ()],
            "mode": "check" if cli.get("check") else "apply",
            "diff_mode": bool(cli.get("diff")),
            "extra_vars": extra,
            "ansible_version": ANSIBLE_VERSION,
            # an interrupted run has no final recap: its counts come from the results seen (no "rescued")
            "hosts": self._tally if status == "interrupted" or self._hosts is None else self._hosts,
            "changes": self._changes,
            "failures": self._failures,
        }

    def _write(self, status: str) -> None:
        """Append this run's line (once) and send its syslog copy; warn loudly on any failure."""
        if self._written or self._writing:
            return
        self._writing = True
        path = "(unknown)"
        try:
            path = self.get_option("path")
            base = self._record(status)  # git and the rest before taking the lock, which other runs wait on
            record, line = append_record(path, lambda seq, prev: dict(base, seq=seq, prev_sha256=prev))
        except LedgerError as exc:
            self._written = True
            self._not_written(path, str(exc))
            return
        except Exception as exc:  # never break the run
            self._written = True
            self._not_written(path, f"{type(exc).__name__}: {exc}")
            return
        finally:
            self._writing = False
        self._written = True
        display.vv(f"Run ledger: appended seq {record['seq']} to {path}")
        self._send_syslog(record, line)

    def _send_syslog(self, record: dict, line: bytes) -> None:
        try:
            if not self.get_option("syslog"):
                return
            target = self.get_option("syslog_socket")
            message = syslog_message(record, line, self.get_option("syslog_facility") or "local0")
            send_syslog(target, message)
        except Exception as exc:  # the copy is secondary; the file holds the record
            self._warn_once(
                "syslog",
                f"Run ledger: the syslog copy of seq {record.get('seq')} was not sent ({exc}); "
                "the local ledger line was written.",
            )

    def _not_written(self, path: str, reason: str) -> None:
        display.warning(f"Run ledger: LEDGER NOT WRITTEN to {path}: {reason}")
        rule = "*" * 79
        banner = "\n".join(
            [
                rule,
                f"*** LEDGER NOT WRITTEN: {reason} — this run has no change record",
                f"*** ledger: {path}    run_id: {self._run_id}",
                "*** The run itself went on; record the change by hand and tell the operations team (bim-ops).",
                rule,
            ]
        )
        display.display(banner, color=C.COLOR_ERROR, stderr=True)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            display.warning(message)

    def _internal_error(self, where: str, exc: Exception) -> None:
        with contextlib.suppress(Exception):  # even the warning must not break the run
            self._warn_once(
                f"internal:{where}",
                f"Run ledger: internal error in {where} ({type(exc).__name__}: {exc}); "
                "this run's ledger line may be incomplete.",
            )

    # --------------------------------------------------------------------- abnormal ends

    def _at_exit(self) -> None:
        """atexit: a run that started a play but never reached its final recap is recorded as interrupted."""
        try:
            if os.getpid() != self._pid or self._written or self._adhoc or not self._plays_started:
                return
            self._write("interrupted")
        except Exception as exc:  # never break the run
            self._internal_error("atexit", exc)

    def _chain_sigterm(self) -> None:
        """Record an interrupted run on SIGTERM (a cancelled CI job), then hand over to the previous handler.

        Ansible's own handler forwards the signal to its workers and re-raises it with the default action,
        which ends the process without running atexit handlers.
        """
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum, frame):
            if os.getpid() == self._pid:
                self._at_exit()
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except (ValueError, OSError) as exc:  # not the main thread: atexit still covers SIGINT and errors
            display.vv(f"Run ledger: no SIGTERM hook ({exc})")


def _status(hosts: dict) -> str:
    if any(h["failed"] for h in hosts.values()):
        return "failed"
    if any(h["unreachable"] for h in hosts.values()):
        return "unreachable"
    return "ok"


def _colour_codes() -> list[str]:
    codes = []
    for name in (C.COLOR_DIFF_ADD, C.COLOR_DIFF_REMOVE, C.COLOR_DIFF_LINES):
        try:
            codes.append(f"\033[{ansible_color.parsecolor(name)}m")
        except Exception:  # noqa: S112 - an unknown colour name just is not stripped
            continue
    return codes


def _strip_diff_colours(text: str) -> str:
    """CallbackBase._get_diff colours +/-/@@ lines when colour is on; the ledger keeps plain text."""
    if not ansible_color.ANSIBLE_COLOR:
        return text
    pattern = "|".join(re.escape(code) for code in [*_colour_codes(), "\033[0m"])
    return re.sub(pattern, "", text)
