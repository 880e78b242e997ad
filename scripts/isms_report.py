#!/usr/bin/env python3
"""Turn the raw results of the ISMS audit into a report an auditor can read and a test can check.

    scripts/isms_report.py build --catalogue roles/isms_baseline/controls.yml --raw RAW.json --out DIR
    scripts/isms_report.py check-html DIR

build checks the raw results against the catalogue and writes into DIR:
    report.json                  the raw results, the catalogue entry of each control, and the totals
    report.tr.html, report.en.html   self-contained pages (inline CSS, no scripts, no external URLs)
    report.tr.md, report.en.md       the same content as Markdown tables
It refuses (exit 1, every problem listed) raw results that name a control the catalogue does not
have, that miss a control or list it twice on a host, or that were made with another catalogue
version.

Totals count each result once per host, once overall and once under every Annex A reference of
its control. "findings" counts the results that carry a finding (an expired exception, a control
switched off without one), whatever their result: a pass with a finding is still a finding.

check-html renders both HTML pages with headless Chromium (`chromium` on PATH, or the CHROMIUM
environment variable), reads the result rows and total cells back from the rendered DOM and
compares them with report.json; it also takes a screenshot of each page (DIR/report.LANG.png).
The pages mark their data for this: each result row is
    <tr class="result result-pass" data-host="log01" data-control="BGYS-SSH-01" data-result="pass" ...>
and each total cell is
    <td class="total" data-host="log01" data-result="pass">12</td>
with data-annex="A.8.5" for an Annex A total and data-scope="overall" for the overall total.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isms_soa import APPLIES_TO, CatalogueError, annex_key, load_catalogue, md_cell  # noqa: E402

RESULTS = ("pass", "fail", "exception", "not_applicable")
COUNTERS = (*RESULTS, "findings")
LANGS = ("tr", "en")
SCREENSHOT_MIN_BYTES = 20_000  # a blank 1280x2000 page is about 12 kB
CHROMIUM_TIMEOUT = 120

LABELS = {
    "tr": {
        "title": "BGYS denetim raporu",
        "commit": "Commit",
        "dirty": "kaydedilmemiş değişiklikler var",
        "clean": "temiz",
        "date": "Denetim tarihi",
        "generated": "Üretim zamanı",
        "catalogue": "Katalog",
        "catalogue_version": "Katalog sürümü",
        "inventory": "Envanter",
        "playbook": "Playbook",
        "totals_hosts": "Makinelere göre toplamlar",
        "totals_annex": "Ek A referanslarına göre toplamlar",
        "annex_note": "Bir sonuç, kontrolünün her Ek A referansında bir kez sayılır.",
        "host": "Makine",
        "class": "Sınıf",
        "virtualization": "Sanallaştırma",
        "overall": "Genel toplam",
        "annex": "Ek A",
        "control": "Kontrol",
        "control_title": "Başlık",
        "result": "Sonuç",
        "mode": "Yöntem",
        "evidence": "Kanıt",
        "exception": "İstisna",
        "justification": "Gerekçe",
        "owner": "Sorumlu",
        "expires": "Bitiş tarihi",
        "talep": "Talep",
        "source": "Kaynak",
        "expired": "süresi doldu",
        "finding": "Bulgu",
        "findings": "Bulgu",
        "reason": "Neden",
        "none": "—",
        "results": {"pass": "geçti", "fail": "kaldı", "exception": "istisna", "not_applicable": "uygulanmaz"},
        "modes": {"live": "canlı", "config": "yapılandırma", "catalogue": "katalog", "": "—"},
        "sources": {"catalogue": "katalog", "inventory": "envanter"},
        "mode_note": "Yöntem: canlı = çalışan sistemde denendi; yapılandırma = makine bir kapsayıcı olduğu için"
        " yapılandırmadan doğrulandı; katalog = katalogdaki istisna.",
    },
    "en": {
        "title": "ISMS audit report",
        "commit": "Commit",
        "dirty": "uncommitted changes",
        "clean": "clean",
        "date": "Audit date",
        "generated": "Generated",
        "catalogue": "Catalogue",
        "catalogue_version": "Catalogue version",
        "inventory": "Inventory",
        "playbook": "Playbook",
        "totals_hosts": "Totals per host",
        "totals_annex": "Totals per Annex A reference",
        "annex_note": "A result counts once under each Annex A reference of its control.",
        "host": "Host",
        "class": "Class",
        "virtualization": "Virtualisation",
        "overall": "Overall",
        "annex": "Annex A",
        "control": "Control",
        "control_title": "Title",
        "result": "Result",
        "mode": "Mode",
        "evidence": "Evidence",
        "exception": "Exception",
        "justification": "Justification",
        "owner": "Owner",
        "expires": "Expires",
        "talep": "Request",
        "source": "Source",
        "expired": "expired",
        "finding": "Finding",
        "findings": "Findings",
        "reason": "Reason",
        "none": "—",
        "results": {"pass": "pass", "fail": "fail", "exception": "exception", "not_applicable": "not applicable"},
        "modes": {"live": "live", "config": "config", "catalogue": "catalogue", "": "—"},
        "sources": {"catalogue": "catalogue", "inventory": "inventory"},
        "mode_note": "Mode: live = tested on the running system; config = verified from configuration because the"
        " host is a container; catalogue = exception recorded in the catalogue.",
    },
}
CLASSES = {lang: {cls: names[lang] for cls, names in APPLIES_TO.items()} for lang in LANGS}


class ReportError(Exception):
    """The report cannot be built; the message lists every problem."""


# --- building -------------------------------------------------------------------------------


def load_raw(path: Path | str) -> dict:
    """Read the audit playbook's raw results; raise ReportError if the file is not of that shape."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"raw results {path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"raw results {path}: not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("stamp"), dict) or not isinstance(raw.get("hosts"), dict):
        raise ReportError(f"raw results {path}: needs a 'stamp' mapping and a 'hosts' mapping")
    return raw


def raw_problems(catalogue: dict, raw: dict) -> list[str]:
    """Every reason the raw results do not match the catalogue, or an empty list."""
    problems = []
    want = catalogue["catalogue"]["version"]
    got = raw["stamp"].get("catalogue_version")
    if got != want:
        problems.append(f"the results were made with catalogue version {got!r}, the catalogue is version {want!r}")
    if not raw["hosts"]:
        problems.append("the results name no host")
    known = [c["id"] for c in catalogue["controls"]]
    for host, entry in sorted(raw["hosts"].items()):
        results = entry.get("results") if isinstance(entry, dict) else None
        if not isinstance(results, list):
            problems.append(f"host {host}: has no 'results' list")
            continue
        seen: dict[str, int] = {}
        for index, result in enumerate(results):
            cid = result.get("id") if isinstance(result, dict) else None
            if not isinstance(cid, str):
                problems.append(f"host {host}: result {index} has no control id")
                continue
            seen[cid] = seen.get(cid, 0) + 1
            if cid not in known:
                problems.append(f"host {host}: {cid} is not in the catalogue")
            if result.get("result") not in RESULTS:
                problems.append(
                    f"host {host}: {cid}: result {result.get('result')!r} is not one of {', '.join(RESULTS)}"
                )
        problems += [f"host {host}: {cid} has {n} results, not one" for cid, n in seen.items() if n > 1]
        problems += [f"host {host}: no result for {cid}" for cid in known if cid not in seen]
    return problems


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def _count(bucket: dict[str, int], result: dict) -> None:
    bucket[result["result"]] += 1
    if result.get("finding"):
        bucket["findings"] += 1


def compute_totals(catalogue: dict, raw: dict) -> dict:
    """Totals per host, per Annex A reference (a result counts under each of its control's) and overall."""
    annex_of = {c["id"]: c["annex_a"] for c in catalogue["controls"]}
    overall = _zero()
    hosts = {}
    annex: dict[str, dict[str, int]] = {}
    for host in sorted(raw["hosts"]):
        hosts[host] = _zero()
        for result in raw["hosts"][host]["results"]:
            _count(hosts[host], result)
            _count(overall, result)
            for ref in annex_of[result["id"]]:
                _count(annex.setdefault(ref, _zero()), result)
    return {
        "overall": overall,
        "hosts": hosts,
        "annex_a": {ref: annex[ref] for ref in sorted(annex, key=annex_key)},
    }


def build_report(catalogue: dict, raw: dict) -> dict:
    """The content of report.json: raw results in catalogue order, catalogue entries and totals."""
    problems = raw_problems(catalogue, raw)
    if problems:
        raise ReportError("the raw results do not match the catalogue:\n  " + "\n  ".join(problems))
    order = {c["id"]: n for n, c in enumerate(catalogue["controls"])}
    hosts = {}
    for host in sorted(raw["hosts"]):
        entry = dict(raw["hosts"][host])
        entry["results"] = sorted(entry["results"], key=lambda r: order[r["id"]])
        hosts[host] = entry
    referenced = {r["id"] for entry in hosts.values() for r in entry["results"]}
    controls = {
        c["id"]: {k: v for k, v in c.items() if k not in ("id", "checks")}
        for c in catalogue["controls"]
        if c["id"] in referenced
    }
    meta = catalogue["catalogue"]
    return {
        "stamp": raw["stamp"],
        "catalogue": {k: meta[k] for k in ("name", "version", "released", "iso27001", "cis", "anssi") if k in meta},
        "controls": controls,
        "hosts": hosts,
        "totals": compute_totals(catalogue, {"hosts": hosts}),
    }


# --- rendering ------------------------------------------------------------------------------

HTML_TEMPLATE = """\
<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<title>{{ L.title }} — {{ stamp.date }}</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 13px; margin: 1.5em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 2px solid #345; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #e8ecf0; }
td.total { text-align: right; font-variant-numeric: tabular-nums; }
tr.overall td, tr.overall th { font-weight: bold; border-top: 2px solid #345; }
table.stamp th { background: none; font-weight: normal; color: #555; }
table.results { width: 100%; }
td.cid { white-space: nowrap; }
.res { font-weight: bold; white-space: nowrap; }
tr.result-pass .res { background: #d6f0d6; color: #14561a; }
tr.result-fail .res { background: #f7d4d4; color: #8a1010; }
tr.result-exception .res { background: #fbe9c4; color: #6b4a00; }
tr.result-not_applicable .res { background: #eceff1; color: #555; }
tr.has-finding td.finding { background: #f7d4d4; color: #8a1010; font-weight: bold; }
code { font-size: .95em; white-space: pre-wrap; }
ul.evidence { margin: 0; padding-left: 1.1em; }
.alert { color: #8a1010; font-weight: bold; }
.note { color: #555; font-size: .92em; }
</style>
</head>
<body>
<h1>{{ L.title }}</h1>
<p>{{ catalogue.name[lang] }}</p>
<table class="stamp">
<tr><th>{{ L.commit }}</th><td>
<span class="stamp" data-commit="{{ stamp.commit }}" data-dirty="{{ 'true' if stamp.dirty else 'false' }}">
<code>{{ stamp.commit }}</code>
{%- if stamp.dirty %} <span class="alert">({{ L.dirty }})</span>{% else %} ({{ L.clean }}){% endif -%}
</span></td></tr>
<tr><th>{{ L.date }}</th><td>{{ stamp.date }}</td></tr>
<tr><th>{{ L.generated }}</th><td>{{ stamp.generated }}</td></tr>
<tr><th>{{ L.catalogue_version }}</th>
<td>{{ catalogue.version }}{% if catalogue.released %} ({{ catalogue.released }}){% endif %}</td></tr>
<tr><th>{{ L.inventory }}</th><td><code>{{ stamp.inventory }}</code></td></tr>
<tr><th>{{ L.playbook }}</th><td><code>{{ stamp.playbook }}</code></td></tr>
</table>

<h2>{{ L.totals_hosts }}</h2>
<table class="totals-hosts">
<thead><tr><th>{{ L.host }}</th><th>{{ L.class }}</th><th>{{ L.virtualization }}</th>
{%- for key in counters %}<th>{{ counter_label(key) }}</th>{% endfor %}</tr></thead>
<tbody>
{%- for host, entry in hosts.items() %}
<tr><th><a href="#host-{{ host }}">{{ host }}</a></th>
<td>{{ classes.get(entry.class, entry.class) }}</td><td>{{ entry.virtualization }}</td>
{%- for key in counters %}
<td class="total" data-host="{{ host }}" data-result="{{ key }}">{{ totals.hosts[host][key] }}</td>
{%- endfor %}</tr>
{%- endfor %}
<tr class="overall"><th colspan="3">{{ L.overall }}</th>
{%- for key in counters %}
<td class="total" data-scope="overall" data-result="{{ key }}">{{ totals.overall[key] }}</td>
{%- endfor %}</tr>
</tbody>
</table>

<h2>{{ L.totals_annex }}</h2>
<p class="note">{{ L.annex_note }}</p>
<table class="totals-annex">
<thead><tr><th>{{ L.annex }}</th><th>{{ L.control }}</th>
{%- for key in counters %}<th>{{ counter_label(key) }}</th>{% endfor %}</tr></thead>
<tbody>
{%- for ref, bucket in totals.annex_a.items() %}
<tr><th>{{ ref }}</th><td>{{ annex_controls[ref] | join(", ") }}</td>
{%- for key in counters %}
<td class="total" data-annex="{{ ref }}" data-result="{{ key }}">{{ bucket[key] }}</td>
{%- endfor %}</tr>
{%- endfor %}
</tbody>
</table>
<p class="note">{{ L.mode_note }}</p>
{% for host, entry in hosts.items() %}
<h2 id="host-{{ host }}">{{ L.host }}: {{ host }}
<span class="note">({{ classes.get(entry.class, entry.class) }}, {{ entry.virtualization }})</span></h2>
<table class="results" data-host="{{ host }}">
<thead><tr><th>{{ L.control }}</th><th>{{ L.control_title }}</th><th>{{ L.annex }}</th><th>{{ L.result }}</th>
<th>{{ L.mode }}</th><th>{{ L.evidence }}</th><th>{{ L.exception }}</th><th>{{ L.finding }}</th></tr></thead>
<tbody>
{%- for r in entry.results %}{% set c = controls[r.id] %}{% set x = r.exception or {} %}
<tr class="result result-{{ r.result }}{% if r.finding %} has-finding{% endif %}"
 data-host="{{ host }}" data-control="{{ r.id }}" data-result="{{ r.result }}"
 data-annex="{{ c.annex_a | join(' ') }}" data-finding="{{ 'yes' if r.finding else 'no' }}">
<td class="cid"><code>{{ r.id }}</code></td>
<td>{{ c.title[lang] }}</td>
<td>{{ c.annex_a | join(", ") }}</td>
<td class="res">{{ L.results[r.result] }}</td>
<td>{{ L.modes.get(r.mode or "", r.mode) }}</td>
<td>
{%- if r.evidence %}<ul class="evidence">
{%- for line in r.evidence %}<li><code>{{ line }}</code></li>{% endfor %}</ul>{% endif %}
{%- if r.reason %}<span class="note">{{ L.reason }}: {{ r.reason }}</span>{% endif -%}
</td>
<td>
{%- if x.justification %}<div><b>{{ L.justification }}:</b> {{ x.justification }}</div>{% endif %}
{%- if x.owner %}<div><b>{{ L.owner }}:</b> {{ x.owner }}</div>{% endif %}
{%- if x.expires %}<div><b>{{ L.expires }}:</b> {{ x.expires }}
{%- if x.expired %} <span class="alert">({{ L.expired }})</span>{% endif %}</div>{% endif %}
{%- if x.talep %}<div><b>{{ L.talep }}:</b> {{ x.talep }}</div>{% endif %}
{%- if x.source %}<div class="note">{{ L.source }}: {{ L.sources.get(x.source, x.source) }}</div>{% endif -%}
</td>
<td class="finding">{{ r.finding or "" }}</td>
</tr>
{%- endfor %}
</tbody>
</table>
{% endfor %}
</body>
</html>
"""

# Markdown has no escaping of its own: every value goes through the `cell` filter (isms_soa.md_cell),
# which keeps it on one line, escapes the column separator and turns HTML into text.
MD_TEMPLATE = """\
# {{ L.title }}

{{ catalogue.name[lang] | cell }}

| | |
|---|---|
| {{ L.commit }} | `{{ stamp.commit | cell }}` ({{ L.dirty if stamp.dirty else L.clean }}) |
| {{ L.date }} | {{ stamp.date | cell }} |
| {{ L.generated }} | {{ stamp.generated | cell }} |
| {{ L.catalogue_version }} | {{ catalogue.version | cell }}\
{% if catalogue.released %} ({{ catalogue.released | cell }}){% endif %} |
| {{ L.inventory }} | {{ stamp.inventory | cell }} |
| {{ L.playbook }} | {{ stamp.playbook | cell }} |

## {{ L.totals_hosts }}

| {{ L.host }} | {{ L.class }} | {{ L.virtualization }} |\
{% for key in counters %} {{ counter_label(key) }} |{% endfor %}
|---|---|---|{% for key in counters %}---:|{% endfor %}
{% for host, entry in hosts.items() -%}
| {{ host | cell }} | {{ classes.get(entry.class, entry.class) | cell }} | {{ entry.virtualization | cell }} |
{%- for key in counters %} {{ totals.hosts[host][key] }} |{% endfor %}
{% endfor -%}
| **{{ L.overall }}** | | |{% for key in counters %} **{{ totals.overall[key] }}** |{% endfor %}

## {{ L.totals_annex }}

{{ L.annex_note }}

| {{ L.annex }} | {{ L.control }} |{% for key in counters %} {{ counter_label(key) }} |{% endfor %}
|---|---|{% for key in counters %}---:|{% endfor %}
{% for ref, bucket in totals.annex_a.items() -%}
| {{ ref }} | {{ annex_controls[ref] | join(", ") | cell }} |{% for key in counters %} {{ bucket[key] }} |{% endfor %}
{% endfor %}
{{ L.mode_note }}
{% for host, entry in hosts.items() %}
## {{ L.host }}: {{ host | cell }} \
({{ classes.get(entry.class, entry.class) | cell }}, {{ entry.virtualization | cell }})

| {{ L.control }} | {{ L.control_title }} | {{ L.annex }} | {{ L.result }} | {{ L.mode }} | {{ L.evidence }} \
| {{ L.exception }} | {{ L.finding }} |
|---|---|---|---|---|---|---|---|
{% for r in entry.results %}{% set c = controls[r.id] %}{% set x = r.exception or {} %}{% set parts = [] %}
{%- if x.justification %}{% do parts.append(L.justification ~ ": " ~ (x.justification | cell)) %}{% endif %}
{%- if x.owner %}{% do parts.append(L.owner ~ ": " ~ (x.owner | cell)) %}{% endif %}
{%- if x.expires %}{% do parts.append(L.expires ~ ": " ~ (x.expires | cell)) %}{% endif %}
{%- if x.expired %}{% do parts.append("**" ~ L.expired ~ "**") %}{% endif %}
{%- if x.talep %}{% do parts.append(L.talep ~ ": " ~ (x.talep | cell)) %}{% endif %}
{%- if x.source %}{% do parts.append(L.source ~ ": " ~ (L.sources.get(x.source, x.source) | cell)) %}{% endif -%}
| {{ r.id | cell }} | {{ c.title[lang] | cell }} | {{ c.annex_a | join(", ") | cell }} | **{{ L.results[r.result] }}** \
| {{ L.modes.get(r.mode or "", r.mode) | cell }} | {{ r.evidence | map("cell") | join("<br>") }}
{%- if r.reason %}{% if r.evidence %}<br>{% endif %}{{ L.reason }}: {{ r.reason | cell }}{% endif %} \
| {{ parts | join("<br>") }} | {% if r.finding %}**{{ r.finding | cell }}**{% endif %} |
{% endfor %}{% endfor %}"""


def _environment(autoescape: bool) -> jinja2.Environment:
    # Markdown pages (autoescape off) escape each value with the cell filter instead.
    env = jinja2.Environment(
        autoescape=autoescape,  # noqa: S701
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters["cell"] = md_cell
    return env


def render(report: dict, lang: str, fmt: str) -> str:
    """One page of the report: lang is 'tr' or 'en', fmt is 'html' or 'md'."""
    labels = LABELS[lang]
    annex_controls: dict[str, list[str]] = {}
    for cid, control in report["controls"].items():
        for ref in control["annex_a"]:
            annex_controls.setdefault(ref, []).append(cid)
    template = _environment(autoescape=fmt == "html").from_string(HTML_TEMPLATE if fmt == "html" else MD_TEMPLATE)
    return template.render(
        lang=lang,
        L=labels,
        stamp=report["stamp"],
        catalogue=report["catalogue"],
        controls=report["controls"],
        hosts=report["hosts"],
        totals=report["totals"],
        counters=COUNTERS,
        counter_label=lambda key: labels["findings"] if key == "findings" else labels["results"][key],
        classes=CLASSES[lang],
        annex_controls=annex_controls,
    )


def write_report(report: dict, out: Path) -> list[Path]:
    """Write report.json and the four pages into out; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json"]
    written[0].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for lang in LANGS:
        for fmt in ("html", "md"):
            path = out / f"report.{lang}.{fmt}"
            path.write_text(render(report, lang, fmt), encoding="utf-8")
            written.append(path)
    return written


# --- checking the rendered HTML -------------------------------------------------------------


class DomFacts(HTMLParser):
    """The result rows and total cells of a rendered page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, str]] = []
        self.cells: list[tuple[tuple[str, str, str], str]] = []
        self._cell: tuple[tuple[str, str, str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        classes = attr.get("class", "").split()
        if tag == "tr" and "result" in classes:
            self.rows.append(attr)
        elif tag == "td" and "total" in classes:
            if "data-host" in attr:
                scope = ("host", attr["data-host"])
            elif "data-annex" in attr:
                scope = ("annex", attr["data-annex"])
            else:
                scope = (attr.get("data-scope", "?"), "")
            self._cell = ((*scope, attr.get("data-result", "?")), [])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell[0], "".join(self._cell[1]).strip()))
            self._cell = None


def parse_dom(html: str) -> DomFacts:
    facts = DomFacts()
    facts.feed(html)
    facts.close()
    return facts


def _expected_cells(totals: dict) -> dict[tuple[str, str, str], int]:
    cells = {("overall", "", key): n for key, n in totals["overall"].items()}
    for host, bucket in totals["hosts"].items():
        cells.update({("host", host, key): n for key, n in bucket.items()})
    for ref, bucket in totals["annex_a"].items():
        cells.update({("annex", ref, key): n for key, n in bucket.items()})
    return cells


def _label(key: tuple[str, str, str]) -> str:
    scope, name, result = key
    return f"{scope} total {result}" if scope == "overall" else f"{scope} {name} total {result}"


def dom_mismatches(report: dict, facts: DomFacts) -> list[str]:
    """Where the rendered rows and total cells disagree with report.json; empty when all agree."""
    counted: dict[tuple[str, str, str], int] = dict.fromkeys(_expected_cells(report["totals"]), 0)
    for row in facts.rows:
        result = row.get("data-result", "")
        keys = [("overall", "", result), ("host", row.get("data-host", "?"), result)]
        keys += [("annex", ref, result) for ref in row.get("data-annex", "").split()]
        if row.get("data-finding") == "yes":
            keys += [(scope, name, "findings") for scope, name, _ in list(keys)]
        for key in keys:
            counted[key] = counted.get(key, 0) + 1
    expected = _expected_cells(report["totals"])
    problems = [
        f"rows: {_label(key)}: the page has {counted.get(key, 0)} rows, report.json says {expected.get(key, 0)}"
        for key in sorted(set(counted) | set(expected))
        if counted.get(key, 0) != expected.get(key, 0)
    ]
    seen: dict[tuple[str, str, str], list[str]] = {}
    for key, text in facts.cells:
        seen.setdefault(key, []).append(text)
    for key in sorted(set(seen) | set(expected)):
        values = seen.get(key, [])
        if key not in expected:
            problems.append(f"cells: {_label(key)} is on the page but not in report.json")
        elif len(values) != 1:
            problems.append(f"cells: {_label(key)} appears {len(values)} times on the page, not once")
        elif values[0] != str(expected[key]):
            problems.append(f"cells: {_label(key)} shows {values[0]!r}, report.json says {expected[key]}")
    return problems


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM if set, else chromium (or chromium-browser) on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(binary: str, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium once with a throw-away profile (as root it needs --no-sandbox)."""
    with tempfile.TemporaryDirectory(prefix="isms-chromium-") as profile:
        argv = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(f"chromium did not finish within {CHROMIUM_TIMEOUT}s: {' '.join(args)}") from None
        except OSError as exc:
            raise ReportError(f"cannot run chromium {binary}: {exc.strerror}") from None


def dump_dom(binary: str, page: Path) -> str:
    proc = _chromium(binary, "--dump-dom", page.resolve().as_uri())
    if proc.returncode != 0 or "<html" not in proc.stdout:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise ReportError(f"chromium could not render {page} (exit {proc.returncode}): {' / '.join(tail)}")
    return proc.stdout


def screenshot_problems(binary: str, page: Path, png: Path) -> list[str]:
    """Take a 1280x2000 screenshot of page into png; return what is wrong with it, if anything."""
    png.unlink(missing_ok=True)
    proc = _chromium(binary, f"--screenshot={png.resolve()}", "--window-size=1280,2000", page.resolve().as_uri())
    if not png.is_file():
        return [f"{page.name}: chromium wrote no screenshot (exit {proc.returncode})"]
    head = png.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return [f"{png.name}: not a PNG file"]
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    size = png.stat().st_size
    if width != 1280 or height != 2000:
        return [f"{png.name}: {width}x{height} pixels, expected 1280x2000"]
    if size < SCREENSHOT_MIN_BYTES:
        return [f"{png.name}: only {size} bytes; the page looks blank"]
    return []


def check_html(out: Path, binary: str | None = None) -> tuple[list[str], str]:
    """Render both pages of the report in out; return (mismatches, one-line summary)."""
    binary = binary or find_chromium()
    if not binary:
        raise ReportError("chromium not found: install it (scripts/deps.sh) or set CHROMIUM to its path")
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read {out / 'report.json'}: {exc}") from None
    problems: list[str] = []
    rows = cells = 0
    for lang in LANGS:
        page = out / f"report.{lang}.html"
        if not page.is_file():
            problems.append(f"{page.name}: missing")
            continue
        facts = parse_dom(dump_dom(binary, page))
        rows += len(facts.rows)
        cells += len(facts.cells)
        problems += [f"{page.name}: {p}" for p in dom_mismatches(report, facts)]
        problems += screenshot_problems(binary, page, out / f"report.{lang}.png")
    summary = (
        f"{len(LANGS)} pages, {rows} result rows and {cells} total cells agree with report.json"
        f" ({len(report['hosts'])} hosts); screenshots in {out}"
    )
    return problems, summary


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write report.json and the HTML and Markdown pages")
    build.add_argument("--catalogue", type=Path, required=True, help="control catalogue (YAML)")
    build.add_argument("--raw", type=Path, required=True, help="raw results of the audit playbook (JSON)")
    build.add_argument("--out", type=Path, required=True, help="directory to write the report into")
    check = sub.add_parser("check-html", help="render the HTML pages in Chromium and check them against report.json")
    check.add_argument("dir", type=Path, help="directory written by build")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            report = build_report(load_catalogue(args.catalogue), load_raw(args.raw))
            written = write_report(report, args.out)
            overall = report["totals"]["overall"]
            print(
                f"isms_report: wrote {len(written)} files to {args.out}: "
                + ", ".join(f"{key} {overall[key]}" for key in COUNTERS)
            )
            return 0
        problems, summary = check_html(args.dir)
    except (CatalogueError, ReportError) as exc:
        print(f"isms_report: {exc}", file=sys.stderr)
        return 1
    if problems:
        print(f"isms_report: check-html {args.dir}: {len(problems)} mismatches:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"isms_report: check-html: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
