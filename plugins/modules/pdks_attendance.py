#!/usr/bin/python
"""Pull the attendance records of a ZKTeco PDKS terminal into per-day files on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pdks_attendance
short_description: Pull a ZKTeco PDKS terminal's attendance records into one file per day on the controller
description:
  - Reads every attendance record of the terminal and appends the ones not yet stored to
    C(<dest>/<terminal>/<YYYY-MM-DD>.jsonl), one JSON object per line (C(sicil), C(timestamp) in the
    terminal's local time, C(status), C(punch)). Records are de-duplicated on (sicil, timestamp, punch),
    so a second pull appends nothing and reports no change.
  - "KVKK: attendance records are personal data. Directories are created 0700 and files 0600 (a wider
    mode found on an existing file or directory is narrowed, which counts as a change), and the result
    carries counts only, never record contents."
  - With O(clear_after_pull=true) the keypad is disabled for the whole pull, the files are written and
    fsynced, read back, and every record read from the terminal must be found in them and the
    terminal's record count must be unchanged; only then is the terminal's log cleared. Any mismatch
    fails the task and leaves the terminal untouched.
  - Runs on the controller (C(delegate_to=localhost) or C(connection=local)); needs pyzk there.
  - Supports check mode (nothing is written or cleared; counts show what would be).
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
extends_documentation_fragment: [belediye_pdks]
options:
  dest:
    description: Directory on the controller that holds one sub-directory per terminal.
    type: path
    required: true
  clear_after_pull:
    description: Clear the terminal's log once the records are safely stored.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Yesterday's punches are on the controller and the terminal's log is empty
  pdks_attendance:
    host: "{{ ansible_host }}"
    comm_key: "{{ vault_pdks_comm_key }}"
    terminal: "{{ inventory_hostname }}"
    dest: /srv/pdks/attendance
    clear_after_pull: true
  delegate_to: localhost
"""

RETURN = r"""
device_records: {description: Records the terminal held., type: int, returned: always}
new_records: {description: Records appended (would be appended, in check mode)., type: int, returned: always}
files_changed: {description: Day files appended to or whose mode was narrowed., type: int, returned: always}
days: {description: Days (YYYY-MM-DD) that had records on the terminal., type: list, returned: always}
cleared: {description: Whether the terminal's log was cleared (would be, in check mode)., type: bool, returned: always}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_pdks import (
    CONNECTION_SPEC,
    DeviceError,
    Terminal,
    attendance_days,
    attendance_key,
    new_attendance,
)

DIR_MODE = 0o700
FILE_MODE = 0o600


class StoreError(Exception):
    pass


def read_keys(path):
    """The (sicil, timestamp, punch) keys stored in one day file."""
    keys = set()
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    keys.add(attendance_key(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    raise StoreError(f"{path} line {number} is not an attendance record") from None
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    return keys


def ensure_mode(path, mode, check_mode):
    """Narrow a path's mode to ``mode``; True when it had to change."""
    current = os.stat(path).st_mode & 0o777
    if current == mode:
        return False
    if not check_mode:
        os.chmod(path, mode)
    return True


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store(directory, fresh, days, check_mode):
    """Append the fresh records per day; returns the number of files changed."""
    changed_files = set()
    if not os.path.isdir(directory):
        if not check_mode:
            os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
            os.chmod(directory, DIR_MODE)
    elif ensure_mode(directory, DIR_MODE, check_mode):
        changed_files.add(directory)
    for day in days:
        path = os.path.join(directory, f"{day}.jsonl")
        if os.path.exists(path) and ensure_mode(path, FILE_MODE, check_mode):
            changed_files.add(path)
        records = fresh.get(day)
        if not records:
            continue
        changed_files.add(path)
        if check_mode:
            continue
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            data = "".join(
                json.dumps(
                    {"sicil": r["sicil"], "timestamp": r["timestamp"], "status": r["status"], "punch": r["punch"]},
                    ensure_ascii=False,
                    sort_keys=True,
                )
                + "\n"
                for r in records
            ).encode("utf-8")
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    if changed_files and not check_mode:
        fsync_dir(directory)
    return len(changed_files)


def pull(module, term):
    p = module.params
    directory = os.path.join(p["dest"], term.name)
    records = term.attendance()
    days = attendance_days(records)
    existing = set()
    for day in days:
        existing |= read_keys(os.path.join(directory, f"{day}.jsonl"))
    fresh = new_attendance(records, existing)
    files_changed = store(directory, fresh, days, module.check_mode)
    cleared = False
    if p["clear_after_pull"] and records:
        if not module.check_mode:
            stored = set()
            for day in days:
                stored |= read_keys(os.path.join(directory, f"{day}.jsonl"))
            missing = sum(1 for r in records if attendance_key(r) not in stored)
            if missing:
                raise StoreError(f"{missing} records are not in the files after writing; the terminal was not cleared")
            count = term.sizes()["records"]
            if count != len(records):
                raise StoreError(
                    f"the terminal now holds {count} records, {len(records)} were read; the terminal was not cleared"
                )
            term.clear_attendance()
        cleared = True
    return {
        "changed": bool(files_changed or cleared),
        "device_records": len(records),
        "new_records": sum(len(v) for v in fresh.values()),
        "files_changed": files_changed,
        "days": days,
        "cleared": cleared,
    }


def main():
    module = AnsibleModule(
        argument_spec={
            **CONNECTION_SPEC,
            "dest": {"type": "path", "required": True},
            "clear_after_pull": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    term = Terminal(p["host"], p["port"], p["comm_key"], p["timeout"], p["encoding"], p["terminal"])
    term.name = p["terminal"] or p["host"]
    if term.name in ("", ".", "..") or "/" in term.name or "\0" in term.name:
        module.fail_json(msg=f"{term.label}: terminal name {term.name!r} cannot be a directory name")
    error = None
    try:
        with term:
            if p["clear_after_pull"]:
                with term.locked():
                    result = pull(module, term)
            else:
                result = pull(module, term)
    except DeviceError as exc:
        error = str(exc)
    except (StoreError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        error = f"{term.label}: storing attendance under {p['dest']} failed: {reason}"
    if error:
        # one exit for failures: the message names the terminal; no traceback is added
        module.fail_json(msg=error)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
