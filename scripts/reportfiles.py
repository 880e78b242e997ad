"""Writing the bilingual reports' files: CSV text and private files in a private folder.

Shared by scripts/antivirus_report.py and scripts/migration_report.py. Reports can name people
(file paths, machine owners), so a report folder is 0750 and each file 0640 from the moment it is
created, never world-readable in between.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV with a header row, LF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def private_dir(path: Path) -> None:
    """Make the report folder (and parents) and keep it to its owner and group."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o750)  # noqa: S103 - group adm may read the reports


def write_private(path: Path, text: str) -> None:
    """Write a file created with mode 0640 (the mode is set again if the file existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o640)


def write_files(out: Path, files: dict[str, str]) -> list[Path]:
    """Write every {name: text} into the private folder out; return the paths written."""
    private_dir(out)
    written = []
    for name, text in files.items():
        write_private(out / name, text)
        written.append(out / name)
    return written
