#!/usr/bin/env python3
"""check_talep: changes to production inventory and group_vars name their written request.

The rule (change management, ISO 27001 A.8.32; issue 5):

  A commit that changes a path under inventories/production/, or a path with a group_vars/
  directory component (group_vars/... at the top level, inventories/*/group_vars/...), carries
  a git trailer with the number of the written request from the requesting directorate:

      Fix the NTP servers of the production desktops

      Talep: 2026/1234

  A value is an optional prefix of 2-12 capital letters (Turkish capitals ÇĞİÖŞÜ allowed) and a
  hyphen, then a year 2000-2099, "/", and 1-6 digits: 2026/1234, BIM-2026/0001. A commit may
  carry several Talep trailers; each must be well formed (on any commit, also one that needs
  none). Commits that change only code or docs need no trailer. Merge commits are not checked:
  the commits they bring in are. Trailers are what git itself parses as trailers (the last
  paragraph of the message), so "Talep:" in the middle of the body does not count.

Modes:
  --commit-msg FILE   the commit-msg hook (githooks/commit-msg): the staged files against the
                      message in FILE. `git commit --amend` is checked on what is newly staged.
  --range A..B        every non-merge commit of `git rev-list A..B`; --range B alone: B and all
                      its ancestors. One line per offending commit on stdout.
  --all               HEAD and all its ancestors (what `make test` runs).

Commits listed in the exemption file (default ci/talep-exempt.txt at the top of the work tree;
"<full sha> <reason>" per line, # comments) are not checked in --range and --all. In a shallow
clone a boundary commit whose parent is missing cannot be diffed: it is skipped with a warning.

Exit status: 0 all well, 1 a commit (or the commit being made) breaks the rule, 2 usage or git
error.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

PROG = "check_talep"
TALEP_KEY = "talep"
TALEP_RE = re.compile(r"(?:[A-ZÇĞİÖŞÜ]{2,12}-)?20[0-9]{2}/[0-9]{1,6}")
EXAMPLES = "2026/1234, BIM-2026/0001"
DEFAULT_EXEMPT = "ci/talep-exempt.txt"
SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# Settings that would change what git prints for the commands below.
SETTINGS = ("core.quotepath=false", "log.showSignature=false", "log.showRoot=true", "trailer.separators=:")
GIT_CONFIG = tuple(arg for setting in SETTINGS for arg in ("-c", setting))
# Field and record separators of the `git log` format (not found in subjects or trailers).
FS, RS = "\x1f", "\x1e"
LOG_FORMAT = f"{RS}%H{FS}%h{FS}%P{FS}%s{FS}%(trailers:key=Talep,valueonly,unfold){FS}"


class GitError(Exception):
    """A git command failed; the message names it and carries git's own error."""


def git(args: list[str], cwd: str | os.PathLike[str], stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *GIT_CONFIG, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"git {args[0]}: {proc.stderr.strip() or f'exit {proc.returncode}'}")
    return proc.stdout


def needs_talep(path: str) -> bool:
    """True for a path under inventories/production/ or with a group_vars directory component."""
    if path.startswith("inventories/production/"):
        return True
    return "group_vars" in PurePosixPath(path).parts[:-1]


def valid_talep(value: str) -> bool:
    return TALEP_RE.fullmatch(value) is not None


def shorten(paths: list[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    rest = len(paths) - limit
    return f"{shown} … (+{rest} more)" if rest > 0 else shown


# --- hook mode -------------------------------------------------------------------------------


def comment_char(top: str) -> str:
    try:
        value = git(["config", "--get", "core.commentChar"], top).strip()
    except GitError:  # not set
        return "#"
    return value if len(value) == 1 else "#"


def clean_message(text: str, cc: str = "#") -> str:
    """The message as git will store it: cut at the scissors line (commit -v), comments dropped."""
    scissors = f"{cc} ------------------------ >8 ------------------------"
    kept: list[str] = []
    for line in text.splitlines():
        if line == scissors:
            break
        if not line.startswith(cc):
            kept.append(line)
    return "\n".join(kept).strip("\n") + "\n"


def message_talep_values(message: str, cwd: str) -> list[str]:
    """The values of the Talep trailers, as `git interpret-trailers --parse` finds them."""
    out = git(["interpret-trailers", "--parse", "--no-divider"], cwd, stdin=message)
    values = []
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == TALEP_KEY:
            values.append(value.strip())
    return values


def hint(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def run_commit_msg(msg_file: str) -> int:
    top = git(["rev-parse", "--show-toplevel"], ".").strip()
    merging = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", "MERGE_HEAD"], cwd=top, capture_output=True, check=False
    )
    if merging.returncode == 0:
        return 0  # a merge commit: the commits it brings in were checked when they were made
    try:
        text = Path(msg_file).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        print(f"{PROG}: cannot read the commit message: {exc}", file=sys.stderr)
        return 2
    message = clean_message(text, comment_char(top))
    values = message_talep_values(message, top)
    staged = [p for p in git(["diff", "--cached", "--name-only", "--no-renames", "-z"], top).split("\0") if p]
    sensitive = [p for p in staged if needs_talep(p)]
    malformed = [v for v in values if not valid_talep(v)]
    if malformed:
        bad = ", ".join(f"'{v}'" for v in malformed)
        sys.stderr.write(
            hint(
                [
                    f"commit-msg: malformed Talep: {bad}",
                    f"  Bir Talep değeri şu biçimde olmalı / a Talep value looks like: {EXAMPLES}",
                    "  (an optional prefix of 2-12 capital letters and '-', the year, '/', the number)",
                    f"  Your message is kept in {msg_file}: git commit -e -F {msg_file}",
                ]
            )
        )
        return 1
    if sensitive and not values:
        listed = [f"    {p}" for p in sensitive[:20]]
        if len(sensitive) > 20:
            listed.append(f"    … and {len(sensitive) - 20} more")
        sys.stderr.write(
            hint(
                [
                    "commit-msg: this commit needs a Talep: trailer (the written request number).",
                    "  Bu commit talep numarası gerektiren dosyaları değiştiriyor:",
                    "  It changes production inventory or group_vars files:",
                    *listed,
                    "  Add the request as the last paragraph of the message, e.g.:",
                    "",
                    "    Fix the NTP servers of the production desktops",
                    "",
                    "    Talep: 2026/1234",
                    "",
                    f"  Accepted forms: {EXAMPLES}. Several Talep: lines are allowed.",
                    f"  Your message is kept in {msg_file}: git commit -e -F {msg_file}",
                ]
            )
        )
        return 1
    return 0


# --- history mode ----------------------------------------------------------------------------


@dataclass
class Commit:
    sha: str
    short: str
    parents: list[str]
    subject: str
    talep: list[str]
    files: list[str] = field(default_factory=list)


def parse_log(out: str) -> list[Commit]:
    commits = []
    for record in out.split(RS)[1:]:
        sha, short, parents, subject, trailers, rest = record.split(FS, 5)
        values = trailers.split("\n")[:-1]  # each value ends in a newline; none: ""
        files = [p for p in rest.lstrip("\0\n").split("\0") if p]
        commits.append(Commit(sha, short, parents.split(), subject, [v.strip() for v in values], files))
    return commits


def shallow_commits(top: str) -> set[str]:
    path = git(["rev-parse", "--git-path", "shallow"], top).strip()
    shallow = Path(top, path) if not os.path.isabs(path) else Path(path)
    try:
        return set(shallow.read_text(encoding="ascii").split())
    except OSError:
        return set()


def real_parents(sha: str, top: str) -> list[str]:
    """Parents as recorded in the commit object (a shallow clone's boundary hides them)."""
    header = git(["cat-file", "commit", sha], top).split("\n\n", 1)[0]
    return [line.split()[1] for line in header.splitlines() if line.startswith("parent ")]


def have_object(sha: str, top: str) -> bool:
    proc = subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=top, capture_output=True, check=False)
    return proc.returncode == 0


def read_exempt(path: Path) -> dict[str, str]:
    """{full sha: reason}; a line without a full sha or a reason is an error."""
    exempt: dict[str, str] = {}
    if not path.is_file():
        return exempt
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        sha, _, reason = line.partition(" ")
        if not SHA_RE.fullmatch(sha) or not reason.strip():
            raise ValueError(f"{path}:{number}: expected '<full sha> <reason>', got {raw!r}")
        exempt[sha] = reason.strip()
    return exempt


def problem(commit: Commit) -> str | None:
    malformed = [v for v in commit.talep if not valid_talep(v)]
    if malformed:
        return "; ".join(f"malformed Talep: '{v}'" for v in malformed)
    sensitive = [p for p in commit.files if needs_talep(p)]
    if sensitive and not commit.talep:
        return f"changes {shorten(sensitive)} but has no Talep: trailer"
    return None


def run_history(rev: str, exempt_file: Path, top: str, whole: bool) -> int:
    if rev.startswith("-"):
        print(f"{PROG}: not a revision range: {rev!r}", file=sys.stderr)
        return 2
    exempt = read_exempt(exempt_file)
    out = git(["log", "--no-merges", "--no-renames", "--name-only", "-z", f"--format={LOG_FORMAT}", rev, "--"], top)
    commits = parse_log(out)
    shallow = shallow_commits(top)
    checked = needing = skipped = 0
    offending: list[str] = []
    seen: set[str] = set()
    for commit in commits:
        seen.add(commit.sha)
        if commit.sha in exempt:
            skipped += 1
            if problem(commit) is None and whole:
                print(f"{PROG}: warning: exempt {commit.short} does not need an exemption", file=sys.stderr)
            continue
        if commit.sha in shallow:
            parents = real_parents(commit.sha, top)
            if len(parents) > 1:
                continue  # a merge, grafted to look like a root
            if parents and not have_object(parents[0], top):
                print(
                    f"{PROG}: warning: history is shallow: {commit.short} is not checked (its parent "
                    f"{parents[0][:12]} is not in this clone; `git fetch --unshallow` checks it)",
                    file=sys.stderr,
                )
                continue
            if parents:
                diff = git(["diff-tree", "-r", "--no-renames", "--name-only", "-z", parents[0], commit.sha], top)
                commit.files = [p for p in diff.split("\0") if p]
        checked += 1
        if any(needs_talep(p) for p in commit.files):
            needing += 1
        issue = problem(commit)
        if issue:
            offending.append(f"{commit.short} {commit.subject}: {issue}")
    if whole:
        for sha in sorted(set(exempt) - seen):
            print(f"{PROG}: warning: exempt {sha[:12]} is not in the checked history", file=sys.stderr)
    for line in offending:
        print(line)
    verdict = f"{len(offending)} break the rule" if offending else "all well"
    shown_exempt = os.path.relpath(exempt_file, top) if exempt_file.is_absolute() else exempt_file
    print(
        f"{PROG}: {rev}: {checked} commits checked, {needing} change production inventory or group_vars, "
        f"{skipped} exempt ({shown_exempt}): {verdict}",
        file=sys.stderr,
    )
    return 1 if offending else 0


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="check_talep.py",
        description=doc.split("\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--commit-msg", metavar="FILE", help="hook mode: the staged change against this message")
    mode.add_argument("--range", metavar="A..B", help="every non-merge commit of A..B (B alone: all its ancestors)")
    mode.add_argument("--all", action="store_true", help="HEAD's whole history")
    parser.add_argument(
        "--exempt",
        metavar="FILE",
        help=f"exemption list for --range and --all (default: {DEFAULT_EXEMPT} at the top of the work tree)",
    )
    args = parser.parse_args(argv)
    try:
        if args.commit_msg is not None:
            return run_commit_msg(args.commit_msg)
        top = git(["rev-parse", "--show-toplevel"], ".").strip()
        exempt = Path(args.exempt) if args.exempt else Path(top, DEFAULT_EXEMPT)
        return run_history("HEAD" if args.all else args.range, exempt, top, whole=args.all)
    except GitError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
