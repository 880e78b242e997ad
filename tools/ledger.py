#!/usr/bin/env python3
"""Read the run ledger written by plugins/callback/ledger.py: verify its hash chain, show or list runs.

    tools/ledger.py verify [PATH] [--expect-head SHA256]
    tools/ledger.py show (--run-id ID | --seq N) [--format md|json] [PATH]
    tools/ledger.py list [PATH] [--since DATE] [--until DATE]

PATH defaults to $BELEDIYE_LEDGER_PATH, else /var/log/belediye-iac/ledger.jsonl.

verify exits 0 when the chain is intact, 1 at the first broken, removed or reordered line (one line on
stdout says which line and what it means), 2 for usage or I/O errors.  show exits 1 when no line matches.
Standard library only, so that an auditor can run it on any machine with Python 3.11 or later.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import UTC, datetime, timedelta

DEFAULT_PATH = "/var/log/belediye-iac/ledger.jsonl"
ZERO_SHA256 = "0" * 64
FORMAT_VERSION = 1
REQUIRED_FIELDS = (
    "v",
    "seq",
    "prev_sha256",
    "run_id",
    "start",
    "end",
    "duration_s",
    "status",
    "git",
    "actor",
    "control_node",
    "playbooks",
    "inventory",
    "limit",
    "tags",
    "skip_tags",
    "mode",
    "diff_mode",
    "extra_vars",
    "ansible_version",
    "hosts",
    "changes",
    "failures",
)
EXIT_OK, EXIT_BROKEN, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or with reading the file (exit status 2)."""


def default_path() -> str:
    return os.environ.get("BELEDIYE_LEDGER_PATH") or DEFAULT_PATH


def canonical(record: dict) -> bytes:
    """The bytes the ledger plugin writes for `record` (line format v1, without the newline)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def open_ledger(path: str):
    """Open the ledger for reading in binary mode; UsageError when it is missing or unreadable."""
    try:
        return open(path, "rb")  # the callers close it
    except FileNotFoundError:
        raise UsageError(f"no ledger at {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def iter_lines(path: str):
    """Yield (line number, line without its newline, complete) for each line, streaming the file.

    complete is False only for a last line that has no newline (an incomplete write, or a cut file).
    """
    with open_ledger(path) as handle:
        try:
            for number, raw in enumerate(handle, 1):
                if raw.endswith(b"\n"):
                    yield number, raw[:-1], True
                else:
                    yield number, raw, False
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse(line: bytes) -> tuple[dict | None, str | None]:
    """(record, None) for a well-formed v1 line, else (None or the partial object, what is wrong)."""
    if not line.strip():
        return None, "empty line: not written by the ledger plugin (the file was edited)"
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"not valid JSON ({exc}): the line was damaged or edited"
    if not isinstance(obj, dict):
        return None, f"not a JSON object but a {type(obj).__name__}: the line was replaced or edited"
    missing = [name for name in REQUIRED_FIELDS if name not in obj]
    if missing:
        return obj, f"missing field(s) {', '.join(missing)}: not a complete v1 ledger record (edited)"
    if obj["v"] != FORMAT_VERSION:
        return obj, f"format version {obj['v']!r} is not {FORMAT_VERSION}: this tool cannot check it"
    seq = obj["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return obj, f"seq {seq!r} is not a positive integer: the line was edited"
    prev = obj["prev_sha256"]
    if not isinstance(prev, str) or len(prev) != 64 or any(c not in "0123456789abcdef" for c in prev):
        return obj, f"prev_sha256 {prev!r} is not a lowercase hex SHA-256: the line was edited"
    if canonical(obj) != line:
        return obj, "not in the ledger's canonical JSON form: the line was rewritten or edited after it was written"
    return obj, None


def where(number: int, obj: dict | None) -> str:
    seq = obj.get("seq") if isinstance(obj, dict) else None
    if isinstance(seq, int) and not isinstance(seq, bool):
        return f"line {number} (seq {seq})"
    return f"line {number}"


def verify(path: str) -> tuple[str | None, int, int | None, str | None]:
    """Check the chain of the ledger at `path`, stopping at the first problem.

    Returns (problem or None, number of lines read, head seq, head sha256).  The file is read twice,
    streaming: first to learn where each seq occurs (to tell a removed line from a moved one), then to check.
    """
    seq_lines: dict[int, list[int]] = {}
    for number, line, _complete in iter_lines(path):
        obj, problem = parse(line)
        if problem is None:
            seq_lines.setdefault(obj["seq"], []).append(number)

    prev_obj: dict | None = None
    prev_line = b""
    count = 0
    for number, line, complete in iter_lines(path):
        count = number
        problem = check_line(number, line, complete, prev_obj, prev_line, seq_lines)
        if problem:
            return problem, count, None, None
        prev_obj, prev_line = json.loads(line.decode("utf-8")), line
    if prev_obj is None:
        return None, 0, None, None
    return None, count, prev_obj["seq"], sha256(prev_line)


def check_line(
    number: int, line: bytes, complete: bool, prev_obj: dict | None, prev_line: bytes, seq_lines: dict[int, list[int]]
) -> str | None:
    """What is wrong with line `number` given the line before it (None for the first line), or None."""
    obj, problem = parse(line)
    if not complete:
        problem = "the last line has no newline: it is incomplete (a write was cut short, or the file was edited)"
    if problem:
        return f"{where(number, obj)}: {problem}"
    here = where(number, obj)
    seq, prev = obj["seq"], obj["prev_sha256"]
    if prev_obj is None:
        if seq != 1 and prev != ZERO_SHA256:
            return (
                f"{here}: the ledger starts at seq {seq} and chains to an earlier line: "
                f"the start of the ledger was removed ({seq - 1} line(s) before this one)"
            )
        if seq != 1:
            return f"{here}: the first line must have seq 1 (its prev_sha256 is 64 zeros): the line was edited"
        if prev != ZERO_SHA256:
            return (
                f"{here}: the first line's prev_sha256 is not 64 zeros: the line was edited, "
                "or lines before it were removed and it was renumbered"
            )
        return None
    last = prev_obj["seq"]
    if seq == last + 1:
        if prev != sha256(prev_line):
            return (
                f"{where(number - 1, prev_obj)}: was altered after it was written: its SHA-256 does not match "
                f"prev_sha256 of line {number} (seq {seq})"
            )
        return None
    if seq > last + 1:
        moved = sorted(s for s, found in seq_lines.items() if last < s < seq and any(n > number for n in found))
        if moved:
            later = seq_lines[moved[0]][-1]
            return (
                f"{here}: out of order: seq {last} is followed by seq {seq}, and seq {moved[0]} comes later "
                f"at line {later}: lines were reordered"
            )
        return f"{here}: seq jumps from {last} to {seq}: {seq - last - 1} line(s) removed before this one"
    return f"{here}: seq goes from {last} back to {seq}: lines were reordered or duplicated"


def cmd_verify(args) -> int:
    path = args.path or default_path()
    problem, count, head_seq, head_sha = verify(path)
    if problem:
        print(problem)
        return EXIT_BROKEN
    expected = (args.expect_head or "").strip().lower()
    if not count:
        if expected:
            print(f"ledger empty ({path}), but the expected head is {expected}: every line was removed")
            return EXIT_BROKEN
        print(f"ledger empty: 0 lines ({path})")
        return EXIT_OK
    if expected and expected != head_sha:
        found = [n for n, line, _complete in iter_lines(path) if sha256(line) == expected]
        if found:
            n = found[-1]
            print(
                f"line {count} (seq {head_seq}): the head is not the expected one; the expected head is line "
                f"{n}, so {count - n} line(s) follow it that the reference copy does not know"
            )
        else:
            print(
                f"line {count} (seq {head_seq}): the head sha256 {head_sha} is not the expected {expected}, "
                "which is nowhere in this ledger: lines were removed from the end (or the ledger was replaced)"
            )
        return EXIT_BROKEN
    print(f"ledger intact: {count} lines, head seq={head_seq} sha256={head_sha}")
    return EXIT_OK


def records(path: str) -> list[dict]:
    """Every readable record of the file, in file order; unreadable lines are reported on stderr."""
    out = []
    for number, line, _complete in iter_lines(path):
        obj, problem = parse(line)
        if isinstance(obj, dict) and "seq" in obj:
            out.append(obj)
        else:
            print(f"warning: line {number} skipped: {problem}", file=sys.stderr)
    return out


def _md_cell(value) -> str:
    text = "—" if value in (None, "", []) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _code(value) -> str:
    if value in (None, "", []):
        return "—"
    text = ", ".join(value) if isinstance(value, list) else str(value)
    return f"`{text}`" if "`" not in text else text


def _fence(text: str) -> str:
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def render_markdown(rec: dict) -> str:
    """A readable report of one ledger line (the plan or apply report that CI publishes)."""
    kind = "Plan" if rec.get("mode") == "check" else "Apply"
    playbooks = ", ".join(rec.get("playbooks") or []) or "(no playbook)"
    git = rec.get("git") or {}
    actor = rec.get("actor") or {}
    commit = git.get("commit")
    commit_text = f"`{commit}`" if commit else "not a git work tree"
    if git.get("branch"):
        commit_text += f" on `{git['branch']}`"
    if git.get("dirty") is True:
        commit_text += " — **dirty**: uncommitted or untracked files"
    elif git.get("dirty") is False:
        commit_text += " (clean)"
    who = f"`{actor.get('user')}`"
    if actor.get("sudo_user"):
        who += f" (sudo from `{actor['sudo_user']}`)"
    if actor.get("ci_job_id"):
        who += f", CI job {actor['ci_job_id']}"
        if actor.get("ci_pipeline_id"):
            who += f" of pipeline {actor['ci_pipeline_id']}"
        if actor.get("ci_user"):
            who += f" started by `{actor['ci_user']}`"
        if actor.get("ci_job_url"):
            who += f" <{actor['ci_job_url']}>"
    mode = "check mode (plan)" if rec.get("mode") == "check" else "apply"
    if rec.get("diff_mode"):
        mode += ", with diff"
    rows = [
        ("Run", f"`{rec.get('run_id')}` (ledger seq {rec.get('seq')})"),
        ("Status", f"**{rec.get('status')}**"),
        ("Mode", mode),
        ("Playbooks", _code(rec.get("playbooks"))),
        ("Inventory", _code(rec.get("inventory"))),
        ("Limit", _code(rec.get("limit"))),
        ("Tags", _code(rec.get("tags"))),
        ("Skip tags", _code(rec.get("skip_tags"))),
        ("Extra vars (names)", _code(rec.get("extra_vars"))),
        ("Commit", commit_text),
        ("Actor", who),
        ("Control node", _code(rec.get("control_node"))),
        ("Started", rec.get("start")),
        ("Ended", f"{rec.get('end')} ({rec.get('duration_s')} s)"),
        ("Ansible", rec.get("ansible_version")),
    ]
    out = [f"# {kind}: {playbooks}", "", "| | |", "|---|---|"]
    out += [f"| {name} | {_md_cell(value)} |" for name, value in rows]
    out += ["", "## Hosts", ""]
    hosts = rec.get("hosts") or {}
    if hosts:
        out += ["| Host | ok | changed | failed | unreachable | skipped | rescued | ignored |"]
        out += ["|---|---:|---:|---:|---:|---:|---:|---:|"]
        for host in sorted(hosts):
            h = hosts[host]
            cells = [h.get(k, 0) for k in ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")]
            out.append(f"| {_md_cell(host)} | " + " | ".join(str(c) for c in cells) + " |")
    else:
        out.append("No host was processed.")
    changes = rec.get("changes") or []
    out += ["", f"## Changes ({len(changes)})", ""]
    if not changes:
        out.append("No task reported a change.")
    for change in changes:
        out += [f"### {change.get('host')} — {change.get('task')}", ""]
        note = f"Play `{change.get('play')}`, action `{change.get('action')}`."
        if change.get("truncated"):
            note += " The diff was cut at 64 KiB."
        out += [note, ""]
        diff = change.get("diff")
        if change.get("redacted"):
            out += ["REDACTED (no_log): the task hides its output, so its diff is not recorded.", ""]
        elif diff:
            fence = _fence(diff)
            out += [f"{fence}diff", diff.rstrip("\n"), fence, ""]
        else:
            out += ["No diff recorded (the run did not use --diff, or the module gives none).", ""]
    failures = rec.get("failures") or []
    out += [f"## Failures ({len(failures)})", ""]
    if not failures:
        out.append("None.")
    for failure in failures:
        label = "unreachable" if failure.get("unreachable") else "failed"
        msg = " ".join(str(failure.get("msg") or "").split())
        out.append(f"- **{failure.get('host')}** — {failure.get('task')} ({label}): {msg}")
    return "\n".join(out).rstrip("\n") + "\n"


def cmd_show(args) -> int:
    path = args.path or default_path()
    if args.run_id is not None:
        found = [r for r in records(path) if r.get("run_id") == args.run_id]
        label = f"run_id {args.run_id}"
    else:
        found = [r for r in records(path) if r.get("seq") == args.seq]
        label = f"seq {args.seq}"
    if not found:
        print(f"no ledger line with {label} in {path}", file=sys.stderr)
        return EXIT_BROKEN
    if len(found) > 1:
        seqs = ", ".join(str(r.get("seq")) for r in found)
        print(f"note: {len(found)} lines have {label} (seq {seqs}); showing the last", file=sys.stderr)
    rec = found[-1]
    if args.format == "json":
        print(json.dumps(rec, ensure_ascii=False, sort_keys=True, indent=2))
    else:
        sys.stdout.write(render_markdown(rec))
    return EXIT_OK


def parse_when(text: str, end_of_day: bool = False) -> datetime:
    """A date (YYYY-MM-DD) or an ISO 8601 time; naive times are UTC.  A bare --until date includes that day."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"not a date or ISO 8601 time: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end_of_day and len(text) == 10:
        when += timedelta(days=1)
    return when


def cmd_list(args) -> int:
    path = args.path or default_path()
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, end_of_day=True) if args.until else None
    header = (
        f"{'seq':>6}  {'start':25}  {'mode':5}  {'status':11}  {'commit':11}  {'hosts':>5}  {'changed':>7}  playbooks"
    )
    print(header)
    for rec in records(path):
        try:
            start = datetime.fromisoformat(str(rec.get("start")))
        except ValueError:
            start = None
        if (since and (start is None or start < since)) or (until and (start is None or start >= until)):
            continue
        git = rec.get("git") or {}
        commit = (git.get("commit") or "-")[:10] + ("*" if git.get("dirty") else "")
        hosts = rec.get("hosts") or {}
        changed = sum(1 for h in hosts.values() if isinstance(h, dict) and h.get("changed"))
        playbooks = ",".join(rec.get("playbooks") or [])
        print(
            f"{rec.get('seq')!s:>6}  {rec.get('start')!s:25}  {rec.get('mode')!s:5}  {rec.get('status')!s:11}  "
            f"{commit:11}  {len(hosts):>5}  {changed:>7}  {playbooks}"
        )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger.py",
        description="Verify, show and list the belediye-iac run ledger (one hash-chained JSON line per run).",
        epilog=f"PATH defaults to $BELEDIYE_LEDGER_PATH, else {DEFAULT_PATH}.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_verify = sub.add_parser("verify", help="check the hash chain; exit 1 at the first broken line")
    p_verify.add_argument("path", nargs="?", metavar="PATH")
    p_verify.add_argument(
        "--expect-head",
        metavar="SHA256",
        help="the SHA-256 the last line must have (e.g. from the central syslog copy): catches a cut tail",
    )
    p_verify.set_defaults(func=cmd_verify)

    p_show = sub.add_parser("show", help="print one run's line as Markdown or JSON")
    which = p_show.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", metavar="ID")
    which.add_argument("--seq", type=int, metavar="N")
    p_show.add_argument("--format", choices=("md", "json"), default="md")
    p_show.add_argument("path", nargs="?", metavar="PATH")
    p_show.set_defaults(func=cmd_show)

    p_list = sub.add_parser("list", help="one summary row per run")
    p_list.add_argument("path", nargs="?", metavar="PATH")
    p_list.add_argument("--since", metavar="DATE", help="runs started at or after DATE (YYYY-MM-DD or ISO time)")
    p_list.add_argument("--until", metavar="DATE", help="runs started before DATE (a bare date includes that day)")
    p_list.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"ledger.py: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
