#!/usr/bin/env python3
"""Write the Statement of Applicability (Uygulanabilirlik Bildirgesi) from the control catalogue.

    scripts/isms_soa.py                       write docs/controls/soa.md
    scripts/isms_soa.py --check               exit 1 if docs/controls/soa.md is out of date
    scripts/isms_soa.py --catalogue PATH --out PATH

roles/isms_baseline/controls.yml is the single source of the controls: the role applies them,
the audit playbook checks them, scripts/isms_report.py reports on them and this script lists
them for the auditor, one bilingual (Turkish / English) table per Annex A theme. The output
carries the catalogue's version and release date and nothing time-dependent, so the same
catalogue always gives the same file and a unit test can keep the committed copy in step.

A control is listed under the theme of its first Annex A reference; the reverse index at the
end lists it under every reference it has. This module also holds the catalogue loader that
scripts/isms_report.py uses.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOGUE = ROOT / "roles" / "isms_baseline" / "controls.yml"
DEFAULT_OUT = ROOT / "docs" / "controls" / "soa.md"

STATUSES = {
    "implemented": {"tr": "uygulanıyor", "en": "implemented"},
    "opt-in": {"tr": "isteğe bağlı", "en": "opt-in"},
    "exception": {"tr": "istisna", "en": "exception"},
    "verify-only": {"tr": "yalnızca doğrulama", "en": "verify-only"},
}
THEMES = {
    "A.5": {"tr": "Kurumsal kontroller", "en": "Organisational controls"},
    "A.6": {"tr": "İnsanlara yönelik kontroller", "en": "People controls"},
    "A.7": {"tr": "Fiziksel kontroller", "en": "Physical controls"},
    "A.8": {"tr": "Teknolojik kontroller", "en": "Technological controls"},
}
APPLIES_TO = {
    "server": {"tr": "sunucu", "en": "server"},
    "desktop": {"tr": "masaüstü", "en": "desktop"},
}
ANNEX_RE = re.compile(r"^A\.([5-8])\.(\d{1,2})$")


class CatalogueError(Exception):
    """The catalogue cannot be used; the message names the file and every problem found."""


def annex_key(ref: str) -> tuple[int, int]:
    """Sort key for an Annex A reference, so that A.8.9 comes before A.8.10."""
    match = ANNEX_RE.match(ref)
    if not match:
        raise ValueError(f"not an ISO/IEC 27001:2022 Annex A reference: {ref!r}")
    return int(match.group(1)), int(match.group(2))


def annex_theme(ref: str) -> str:
    """The theme of an Annex A reference: 'A.8.5' -> 'A.8'."""
    return f"A.{annex_key(ref)[0]}"


def _bilingual_problems(where: str, value) -> list[str]:
    if not isinstance(value, dict) or not all(
        isinstance(value.get(lang), str) and value[lang] for lang in ("tr", "en")
    ):
        return [f"{where} needs a non-empty 'tr' and 'en' text"]
    return []


def catalogue_problems(data) -> list[str]:
    """Every reason the parsed catalogue cannot be used, or an empty list."""
    if not isinstance(data, dict) or not isinstance(data.get("catalogue"), dict):
        return ["the top level needs a 'catalogue' mapping and a 'controls' list"]
    problems = []
    meta = data["catalogue"]
    if not isinstance(meta.get("version"), str) or not meta["version"]:
        problems.append("catalogue.version must be a non-empty string (quote it in YAML)")
    problems += _bilingual_problems("catalogue.name", meta.get("name"))
    controls = data.get("controls")
    if not isinstance(controls, list) or not controls:
        return [*problems, "'controls' must be a non-empty list"]
    seen = set()
    for index, control in enumerate(controls):
        if not isinstance(control, dict) or not isinstance(control.get("id"), str):
            problems.append(f"controls[{index}] has no id")
            continue
        cid = control["id"]
        if cid in seen:
            problems.append(f"{cid}: the id appears more than once")
        seen.add(cid)
        problems += _bilingual_problems(f"{cid}: title", control.get("title"))
        problems += _bilingual_problems(f"{cid}: rationale", control.get("rationale"))
        refs = control.get("annex_a")
        if not isinstance(refs, list) or not refs:
            problems.append(f"{cid}: annex_a must list at least one Annex A reference")
        else:
            problems += [f"{cid}: {ref!r} is not an Annex A reference like A.8.5" for ref in refs if not _is_annex(ref)]
        status = control.get("status")
        if status not in STATUSES:
            problems.append(f"{cid}: status {status!r} is not one of {', '.join(STATUSES)}")
        elif status != "implemented":
            problems += _bilingual_problems(f"{cid}: status_note (required for {status})", control.get("status_note"))
        unknown = [c for c in control.get("applies_to") or [] if c not in APPLIES_TO]
        if not control.get("applies_to") or unknown:
            problems.append(f"{cid}: applies_to must list some of {', '.join(APPLIES_TO)}")
    return problems


def _is_annex(ref) -> bool:
    return isinstance(ref, str) and ANNEX_RE.match(ref) is not None


def load_catalogue(path: Path | str) -> dict:
    """Read and check the catalogue; raise CatalogueError naming the file and every problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"catalogue {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"catalogue {path}: not valid YAML: {exc}") from None
    problems = catalogue_problems(data)
    if problems:
        raise CatalogueError(f"catalogue {path}:\n  " + "\n  ".join(problems))
    return data


def md_cell(text) -> str:
    """Make text safe inside a Markdown table cell: one line, no column breaks, no raw HTML."""
    text = " ".join(str(text).split())
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`")):
        text = text.replace(raw, escaped)
    return text


def _both(value: dict) -> str:
    return f"{md_cell(value['tr'])}<br>*{md_cell(value['en'])}*"


def _applies(classes: list[str]) -> str:
    return " / ".join(", ".join(APPLIES_TO[c][lang] for c in classes) for lang in ("tr", "en"))


def render_soa(data: dict) -> str:
    """The Statement of Applicability as Markdown. Pure: the same catalogue gives the same text."""
    meta = data["catalogue"]
    controls = data["controls"]
    lines = [
        "<!-- Generated by scripts/isms_soa.py from roles/isms_baseline/controls.yml; do not edit. -->",
        "<!-- Üreten: scripts/isms_soa.py (kaynak: roles/isms_baseline/controls.yml); elle düzenlemeyin. -->",
        "",
        "# Uygulanabilirlik Bildirgesi / Statement of Applicability",
        "",
        f"**{md_cell(meta['name']['tr'])}** / *{md_cell(meta['name']['en'])}*",
        "",
        "| | |",
        "|---|---|",
        f"| Katalog sürümü / Catalogue version | {md_cell(meta['version'])} |",
        f"| Yayım tarihi / Released | {md_cell(meta.get('released', ''))} |",
        f"| Standart / Standard | {md_cell(meta.get('iso27001', 'ISO/IEC 27001:2022'))} |",
    ]
    if meta.get("cis"):
        lines.append(f"| CIS | {md_cell(meta['cis'])} |")
    if meta.get("anssi"):
        lines.append(f"| ANSSI | {md_cell(meta['anssi'])} |")
    lines += [
        "",
        "Bu bildirge, BGYS teknik temel yapılandırmasının (roles/isms_baseline) kapsadığı Ek A kontrollerini"
        " listeler. Her kontrol ilk Ek A referansının teması altında yer alır; tüm referansları aşağıdaki"
        " dizindedir. Gerekçe sütunu, durum notunu ya da (uygulanan kontrollerde) kontrolün amacını verir.",
        "",
        "*This statement lists the Annex A controls covered by the ISMS technical baseline"
        " (roles/isms_baseline). Each control appears under the theme of its first Annex A reference; the"
        " index below lists all its references. The justification column gives the status note or, for"
        " implemented controls, the control's purpose.*",
    ]
    for theme, names in THEMES.items():
        members = [c for c in controls if annex_theme(c["annex_a"][0]) == theme]
        lines += ["", f"## {theme} {names['tr']} / {names['en']}", ""]
        if not members:
            lines.append("Bu temada katalog kontrolü yok. / *No catalogue control in this theme.*")
            continue
        lines += [
            "| Kontrol / Control | Başlık / Title | Ek A / Annex A | Kapsam / Applies to | Durum / Status"
            " | Gerekçe / Justification |",
            "|---|---|---|---|---|---|",
        ]
        for control in members:
            status = STATUSES[control["status"]]
            why = control.get("status_note") if control["status"] != "implemented" else None
            lines.append(
                f"| {md_cell(control['id'])} | {_both(control['title'])} | {md_cell(', '.join(control['annex_a']))}"
                f" | {_applies(control['applies_to'])} | {status['tr']}<br>*{status['en']}*"
                f" | {_both(why or control['rationale'])} |"
            )
    index: dict[str, list[str]] = {}
    for control in controls:
        for ref in control["annex_a"]:
            index.setdefault(ref, []).append(control["id"])
    lines += [
        "",
        "## Ek A dizini / Annex A index",
        "",
        "| Ek A / Annex A | Kontroller / Controls |",
        "|---|---|",
    ]
    lines += [f"| {ref} | {md_cell(', '.join(index[ref]))} |" for ref in sorted(index, key=annex_key)]
    lines += [
        "",
        "## Durumlara göre sayılar / Counts per status",
        "",
        "| Durum / Status | Sayı / Count |",
        "|---|---|",
    ]
    for status, names in STATUSES.items():
        count = sum(1 for c in controls if c["status"] == status)
        lines.append(f"| {names['tr']} / {names['en']} | {count} |")
    lines += [f"| **Toplam / Total** | **{len(controls)}** |", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE, help="control catalogue (YAML)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file to write")
    parser.add_argument("--check", action="store_true", help="exit 1 if --out differs from what would be written")
    args = parser.parse_args(argv)
    try:
        data = load_catalogue(args.catalogue)
    except CatalogueError as exc:
        print(f"isms_soa: {exc}", file=sys.stderr)
        return 1
    text = render_soa(data)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
        if current != text:
            state = "is missing" if current is None else "is out of date"
            print(f"isms_soa: {args.out} {state}; run scripts/isms_soa.py and commit the result", file=sys.stderr)
            return 1
        print(f"isms_soa: {args.out} is up to date ({len(data['controls'])} controls)")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"isms_soa: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
