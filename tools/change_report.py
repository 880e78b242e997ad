#!/usr/bin/env python3
"""change_report: the changes of a period, joined with what the runs of them did.

    tools/change_report.py --since 2026-11-01 --until 2026-11-30
        [--repo .] [--rev HEAD] [--ledger PATH] [--formats md,html,csv]
        [--out-dir reports/changes] [--lang both|tr|en]

One row per non-merge commit reachable from --rev whose committer date falls in the range (UTC;
--until is inclusive, the whole day), newest first: the commit and its subject, date, author, the
merge on --rev's first-parent line that brought it in ("—" for a commit made on that line
itself), its request references (Talep: trailers), the files it changed, the hosts affected,
and the plan (check mode) and apply runs of the run ledger attributed to it.

A ledger run belongs to a commit when the run's git.commit is the commit itself or the merge that
brought it in. Hosts are those with changed or failed tasks in those apply runs, plus the hosts of
changed host_vars files and group:NAME for changed group_vars files.

The ledger is BELEDIYE_LEDGER_PATH, else /var/log/belediye-iac/ledger.jsonl. A missing ledger still
gives every row (results "—") and a warning; lines that are not valid JSON are skipped with a
warning. This report does not verify the ledger's hash chain: `tools/ledger.py verify` does.

Writes changes_<since>_<until>.<md|html|csv> into --out-dir and prints their paths. The CSV is
UTF-8 with a BOM, comma-separated, full commit hashes, several values in a cell joined with "; ";
a cell that would start with = + - @ gets a leading ' so a spreadsheet does not run it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import html
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

DEFAULT_LEDGER = "/var/log/belediye-iac/ledger.jsonl"
LEDGER_ENV = "BELEDIYE_LEDGER_PATH"
NONE = "—"
SHORT = 10  # characters of a short commit hash
FORMATS = ("md", "html", "csv")
FS, RS = "\x1f", "\x1e"
GIT_CONFIG = ("-c", "core.quotepath=false", "-c", "log.showSignature=false", "-c", "log.showRoot=true")
# (key, Turkish heading, English heading)
COLUMNS = (
    ("commit", "Değişiklik", "Commit"),
    ("subject", "Konu", "Subject"),
    ("date", "Tarih", "Date"),
    ("author", "Yazar", "Author"),
    ("merge", "Birleştirme", "Merge"),
    ("talep", "Talep", "Request"),
    ("files", "Dosyalar", "Files"),
    ("hosts", "Sunucular", "Hosts"),
    ("plan", "Plan", "Plan"),
    ("apply", "Uygulama", "Apply"),
)


class ReportError(Exception):
    """A problem that stops the report (bad arguments, git failing)."""


def git(args: list[str], repo: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *GIT_CONFIG, *args],
        cwd=repo,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if proc.returncode != 0:
        raise ReportError(f"git {args[0]}: {proc.stderr.strip() or f'exit {proc.returncode}'}")
    return proc.stdout


# --- language ----------------------------------------------------------------------------------


class Text:
    """Bilingual strings: Turkish, English or both ("Tarih / Date")."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, tr: str, en: str) -> str:
        if self.lang == "tr":
            return tr
        if self.lang == "en":
            return en
        return tr if tr == en else f"{tr} / {en}"

    def heading(self, tr: str, en: str) -> str:
        return f"{tr} / {en}" if self.lang == "both" else self(tr, en)

    def html(self, tr: str, en: str, sep: str = " / ") -> str:
        """Escaped; in both languages the English part is marked lang="en"."""
        if self.lang == "both":
            return f'{html.escape(tr)}{sep}<span lang="en">{html.escape(en)}</span>'
        return html.escape(self(tr, en))


# --- git history -------------------------------------------------------------------------------


@dataclass
class Change:
    sha: str
    subject: str
    author: str
    date: dt.datetime
    talep: list[str]
    files: list[str]
    merge: str | None = None
    hosts: list[str] = field(default_factory=list)
    plan: list[Run] = field(default_factory=list)
    apply: list[Run] = field(default_factory=list)


def merges_that_brought_in(parents: dict[str, list[str]], mainline: list[str]) -> dict[str, str]:
    """{commit: the first-parent-line merge that brought it in} for every commit off that line.

    Walks the first-parent line oldest first. `seen` is always everything reachable from the
    mainline commit just handled, so what a merge's other parents reach beyond it is exactly what
    that merge brought in.
    """
    brought: dict[str, str] = {}
    seen: set[str] = set()
    for merge in reversed(mainline):
        seen.add(merge)
        stack = list(parents.get(merge, [])[1:])
        while stack:
            sha = stack.pop()
            if sha in seen or sha not in parents:  # not in parents: beyond a shallow clone's edge
                continue
            seen.add(sha)
            brought[sha] = merge
            stack.extend(parents[sha])
    return brought


def read_changes(repo: str, rev: str, start: dt.datetime, end: dt.datetime) -> tuple[str, list[Change]]:
    """The full sha of rev and its non-merge commits with start <= committer date < end, newest first."""
    if rev.startswith("-"):
        raise ReportError(f"not a revision: {rev!r}")
    head = git(["rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}"], repo).strip()
    parents: dict[str, list[str]] = {}
    order: list[tuple[int, int, str]] = []
    for n, line in enumerate(git(["log", f"--format=%H{FS}%P{FS}%ct", head, "--"], repo).splitlines()):
        sha, plist, ctime = line.split(FS)
        parents[sha] = plist.split()
        stamp = int(ctime)
        if len(parents[sha]) <= 1 and start.timestamp() <= stamp < end.timestamp():
            order.append((-stamp, n, sha))
    mainline = git(["rev-list", "--first-parent", head, "--"], repo).split()
    brought = merges_that_brought_in(parents, mainline)
    wanted = [sha for _, _, sha in sorted(order)]
    if not wanted:
        return head, []
    fmt = f"{RS}%H{FS}%s{FS}%an{FS}%ae{FS}%ct{FS}%(trailers:key=Talep,valueonly,unfold){FS}"
    out = git(
        ["log", "--no-walk=unsorted", "--stdin", "--no-renames", "--name-only", "-z", f"--format={fmt}"],
        repo,
        stdin="\n".join(wanted) + "\n",
    )
    changes = []
    for record in out.split(RS)[1:]:
        sha, subject, name, email, ctime, trailers, rest = record.split(FS, 6)
        changes.append(
            Change(
                sha=sha,
                subject=subject,
                author=f"{name} <{email}>",
                date=dt.datetime.fromtimestamp(int(ctime), dt.UTC),
                talep=[v.strip() for v in trailers.split("\n")[:-1]],
                files=[p for p in rest.lstrip("\0\n").split("\0") if p],
                merge=brought.get(sha),
            )
        )
    return head, changes


def hosts_of_path(path: str) -> str | None:
    """app01 for .../host_vars/app01.yml or host_vars/app01/x.yml; group:NAME for group_vars."""
    parts = PurePosixPath(path).parts
    if len(parts) > 3 and parts[0] == "inventories":
        parts = parts[2:]
    if len(parts) < 2 or parts[0] not in ("host_vars", "group_vars"):
        return None
    name = parts[1]
    if len(parts) == 2:  # a file right in host_vars/ or group_vars/
        stem, dot, ext = name.rpartition(".")
        if dot and ext in ("yml", "yaml", "json"):
            name = stem
    return name if parts[0] == "host_vars" else f"group:{name}"


# --- run ledger --------------------------------------------------------------------------------


@dataclass
class Run:
    run_id: str
    start: dt.datetime | None
    status: str
    mode: str
    commit: str
    dirty: bool
    hosts: dict[str, dict[str, int]]

    def count(self, key: str) -> int:
        return sum(1 for stats in self.hosts.values() if _int(stats.get(key)) > 0)

    def render(self) -> str:
        when = self.start.strftime("%Y-%m-%d %H:%M") if self.start else "?"
        plural = "" if len(self.hosts) == 1 else "s"
        text = f"{when} {self.status}: {len(self.hosts)} host{plural}, {self.count('changed')} changed, "
        text += f"{self.count('failed')} failed"
        if self.count("unreachable"):
            text += f", {self.count('unreachable')} unreachable"
        if self.dirty:
            text += " (dirty)"
        return f"{text} [{self.run_id}]"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC)


@dataclass
class Ledger:
    path: str
    found: bool = False
    error: str = ""
    lines: int = 0
    invalid: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


def read_ledger(path: str) -> Ledger:
    ledger = Ledger(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            raw_lines = stream.read().splitlines()
    except FileNotFoundError:
        return ledger
    except OSError as exc:
        ledger.error = exc.strerror or str(exc)
        return ledger
    ledger.found = True
    for number, line in enumerate(raw_lines, 1):
        if not line.strip():
            continue
        ledger.lines += 1
        try:
            entry = json.loads(line)
        except ValueError:
            ledger.invalid.append(number)
            continue
        if not isinstance(entry, dict):
            ledger.invalid.append(number)
            continue
        if entry.get("v") != 1:
            ledger.unknown.append(number)
            continue
        gitinfo = entry.get("git") if isinstance(entry.get("git"), dict) else {}
        commit = gitinfo.get("commit")
        hosts = entry.get("hosts") if isinstance(entry.get("hosts"), dict) else {}
        ledger.runs.append(
            Run(
                run_id=str(entry.get("run_id", "?")),
                start=_time(entry.get("start")),
                status=str(entry.get("status", "?")),
                mode=str(entry.get("mode", "")),
                commit=commit.lower() if isinstance(commit, str) else "",
                dirty=gitinfo.get("dirty") is True,
                hosts={str(h): s for h, s in hosts.items() if isinstance(s, dict)},
            )
        )
    return ledger


def attribute(changes: list[Change], runs: list[Run]) -> None:
    by_commit: dict[str, list[Run]] = {}
    for run in runs:
        if run.commit:
            by_commit.setdefault(run.commit, []).append(run)
    for change in changes:
        mine = by_commit.get(change.sha, []) + (by_commit.get(change.merge, []) if change.merge else [])
        mine.sort(key=lambda r: r.start or dt.datetime.min.replace(tzinfo=dt.UTC))
        change.plan = [r for r in mine if r.mode == "check"]
        change.apply = [r for r in mine if r.mode == "apply"]
        hosts = {h for r in change.apply for h, s in r.hosts.items() if _int(s.get("changed")) or _int(s.get("failed"))}
        hosts.update(filter(None, (hosts_of_path(p) for p in change.files)))
        change.hosts = sorted(hosts)


# --- rendering ---------------------------------------------------------------------------------


@dataclass
class Report:
    since: dt.date
    until: dt.date
    rev: str
    head: str
    repo: str
    generated: dt.datetime
    ledger: Ledger
    shallow: bool
    changes: list[Change]


def cells(change: Change, full: bool) -> dict[str, list[str]]:
    """Each column's values (several for a multi-valued cell); empty means none."""
    sha = change.sha if full else change.sha[:SHORT]
    merge = [change.merge if full else change.merge[:SHORT]] if change.merge else []
    date = change.date.isoformat() if full else change.date.strftime("%Y-%m-%d %H:%M")
    return {
        "commit": [sha],
        "subject": [change.subject],
        "date": [date],
        "author": [change.author],
        "merge": merge,
        "talep": change.talep,
        "files": change.files,
        "hosts": change.hosts,
        "plan": [r.render() for r in change.plan],
        "apply": [r.render() for r in change.apply],
    }


def warnings(report: Report, t: Text) -> list[str]:
    ledger = report.ledger
    found: list[str] = []
    if not ledger.found:
        why_tr, why_en = ("yok", "missing")
        if ledger.error:
            why_tr, why_en = f"okunamadı ({ledger.error})", f"unreadable ({ledger.error})"
        found.append(
            t(
                f"Çalıştırma kaydı {why_tr}: {ledger.path}. Plan ve uygulama sonuçları gösterilemiyor ({NONE}).",
                f"Run ledger {why_en}: {ledger.path}. Plan and apply results cannot be shown ({NONE}).",
            )
        )
    if ledger.invalid:
        count = len(ledger.invalid)
        where = ", ".join(str(n) for n in ledger.invalid[:20]) + (" …" if count > 20 else "")
        english = (
            f"1 line of the run ledger is not valid JSON and was skipped (line {where})."
            if count == 1
            else f"{count} lines of the run ledger are not valid JSON and were skipped (lines {where})."
        )
        found.append(
            t(
                f"Çalıştırma kaydının {count} satırı geçerli JSON değil, atlandı (satır {where}). "
                "Kaydın bütünlüğünü tools/ledger.py verify ile denetleyin.",
                f"{english} Check the ledger's integrity with tools/ledger.py verify.",
            )
        )
    if ledger.unknown:
        found.append(
            t(
                f"Çalıştırma kaydının {len(ledger.unknown)} satırı bilinmeyen bir biçim sürümünde, atlandı.",
                f"Lines of the run ledger with an unknown format version were skipped: {len(ledger.unknown)}.",
            )
        )
    if report.shallow:
        found.append(
            t(
                "Depo sığ bir klon (shallow): sınırdaki commit'lerin dosya listeleri eksik ya da fazla olabilir.",
                "The repository is a shallow clone: the file lists of its boundary commits may be wrong.",
            )
        )
    return found


def meta(report: Report, t: Text) -> list[tuple[str, str]]:
    ledger = report.ledger
    if ledger.found:
        state = t(
            f"{ledger.lines} satır, {len(ledger.runs)} çalıştırma okundu",
            f"{ledger.lines} lines, {len(ledger.runs)} runs read",
        )
    else:
        state = t("yok", "missing")
    return [
        (t("Aralık", "Range"), f"{report.since} – {report.until} (UTC)"),
        (t("Oluşturulma", "Generated"), report.generated.strftime("%Y-%m-%d %H:%M:%S UTC")),
        (t("Revizyon", "Revision"), f"{report.rev} = {report.head}"),
        (t("Depo", "Repository"), report.repo),
        (t("Çalıştırma kaydı", "Run ledger"), f"{ledger.path} ({state})"),
        (
            t("Kayıt bütünlüğü", "Ledger integrity"),
            t(
                "bu rapor denetlemez; tools/ledger.py verify denetler",
                "not checked by this report; tools/ledger.py verify checks it",
            ),
        ),
        (t("Değişiklik sayısı", "Changes"), str(len(report.changes))),
    ]


def title(report: Report, t: Text) -> str:
    return f"{t('Değişiklik raporu', 'Change report')}: {report.since} – {report.until}"


def md_cell(values: list[str], sep: str = "<br>") -> str:
    if not values:
        return NONE
    return sep.join(html.escape(v.replace("\n", " "), quote=False).replace("|", "\\|") for v in values)


def render_md(report: Report, t: Text) -> str:
    out = [f"# {title(report, t)}", ""]
    out += [f"- {label}: {html.escape(value, quote=False)}" for label, value in meta(report, t)]
    out.append("")
    for warning in warnings(report, t):
        out += [f"> **{t('Uyarı', 'Warning')}:** {html.escape(warning, quote=False)}", ""]
    if not report.changes:
        out += [t("Bu aralıkta değişiklik yok.", "No changes in this range."), ""]
        return "\n".join(out)
    out.append("| " + " | ".join(t.heading(tr, en) for _, tr, en in COLUMNS) + " |")
    out.append("|" + "---|" * len(COLUMNS))
    for change in report.changes:
        row = cells(change, full=False)
        out.append(
            "| " + " | ".join(md_cell(row[key], ", " if key == "talep" else "<br>") for key, _, _ in COLUMNS) + " |"
        )
    out.append("")
    return "\n".join(out)


STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #eef; }
tr:nth-child(even) td { background: #f8f8f8; }
td.sha { font-family: monospace; white-space: nowrap; }
.warn { border-left: 4px solid #c60; background: #fff4e5; padding: 0.4em 0.8em; margin: 0.5em 0; }
"""


def render_html(report: Report, t: Text) -> str:
    lang = "en" if t.lang == "en" else "tr"
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title(report, t))}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title(report, t))}</h1>",
        "<ul>",
    ]
    out += [f"<li>{html.escape(label)}: {html.escape(value)}</li>" for label, value in meta(report, t)]
    out.append("</ul>")
    out += [f'<p class="warn">{html.escape(warning)}</p>' for warning in warnings(report, t)]
    if not report.changes:
        out.append(f"<p>{html.escape(t('Bu aralıkta değişiklik yok.', 'No changes in this range.'))}</p>")
    else:
        out += ["<table>", "<thead><tr>"]
        out += [f"<th>{t.html(tr, en, '<br>/ ')}</th>" for _, tr, en in COLUMNS]
        out += ["</tr></thead>", "<tbody>"]
        for change in report.changes:
            row = cells(change, full=False)
            tds = []
            for key, _, _ in COLUMNS:
                sep = ", " if key == "talep" else "<br>"
                values = row[key]
                text = sep.join(html.escape(v) for v in values) if values else NONE
                css = ' class="sha"' if key in ("commit", "merge") else ""
                title_attr = ""
                if key == "commit":
                    title_attr = f' title="{html.escape(change.sha)}"'
                elif key == "merge" and change.merge:
                    title_attr = f' title="{html.escape(change.merge)}"'
                tds.append(f"<td{css}{title_attr}>{text}</td>")
            out.append("<tr>" + "".join(tds) + "</tr>")
        out += ["</tbody>", "</table>"]
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def csv_safe(value: str) -> str:
    """A cell a spreadsheet would take for a formula is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(report: Report, t: Text, path: Path) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([t.heading(tr, en) for _, tr, en in COLUMNS])
        for change in report.changes:
            row = cells(change, full=True)
            writer.writerow([csv_safe("; ".join(row[key])) if row[key] else NONE for key, _, _ in COLUMNS])


# --- command line ------------------------------------------------------------------------------


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="change_report.py",
        description=doc.split("\n", 1)[0],
        epilog=doc.split("\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", required=True, type=parse_day, metavar="YYYY-MM-DD", help="first day (UTC)")
    parser.add_argument("--until", required=True, type=parse_day, metavar="YYYY-MM-DD", help="last day, inclusive")
    parser.add_argument("--repo", default=".", help="the git repository (default: .)")
    parser.add_argument("--rev", default="HEAD", help="the branch or commit whose history is reported (default: HEAD)")
    parser.add_argument("--ledger", help=f"run ledger (default: ${LEDGER_ENV}, else {DEFAULT_LEDGER})")
    parser.add_argument("--formats", default="md,html,csv", help="comma-separated: md, html, csv (default: all)")
    parser.add_argument("--out-dir", default="reports/changes", help="where the files go (default: reports/changes)")
    parser.add_argument("--lang", default="both", choices=("both", "tr", "en"), help="headings (default: both)")
    args = parser.parse_args(argv)

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        parser.error(f"--formats takes md, html, csv; got {args.formats!r}")
    if args.since > args.until:
        parser.error("--since is after --until")
    start = dt.datetime.combine(args.since, dt.time(), dt.UTC)
    end = dt.datetime.combine(args.until + dt.timedelta(days=1), dt.time(), dt.UTC)
    ledger_path = args.ledger or os.environ.get(LEDGER_ENV) or DEFAULT_LEDGER

    try:
        repo = git(["rev-parse", "--show-toplevel"], args.repo).strip()
        head, changes = read_changes(repo, args.rev, start, end)
        shallow = git(["rev-parse", "--is-shallow-repository"], repo).strip() == "true"
    except (ReportError, OSError) as exc:
        print(f"change_report: {exc}", file=sys.stderr)
        return 2
    ledger = read_ledger(ledger_path)
    attribute(changes, ledger.runs)
    report = Report(
        since=args.since,
        until=args.until,
        rev=args.rev,
        head=head,
        repo=repo,
        generated=dt.datetime.now(dt.UTC),
        ledger=ledger,
        shallow=shallow,
        changes=changes,
    )
    t = Text(args.lang)
    for warning in warnings(report, Text("en")):
        print(f"change_report: warning: {warning}", file=sys.stderr)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"changes_{args.since}_{args.until}"
    for fmt in FORMATS:
        if fmt not in formats:
            continue
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "md":
            path.write_text(render_md(report, t), encoding="utf-8")
        elif fmt == "html":
            path.write_text(render_html(report, t), encoding="utf-8")
        else:
            write_csv(report, t, path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
