#!/usr/bin/python
"""NDK radiation-licence and maintenance status of the X-ray scanners, with an optional report file."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: xray_compliance
short_description: Report expired or expiring NDK licences and overdue maintenance of X-ray scanners
description:
  - X-ray scanners in Turkey need a radiation licence from the Nükleer Düzenleme Kurumu (NDK). The
    scanners are assets in the inventory (model, serial, location, licence number and expiry, last
    maintenance and its interval); this module computes each scanner's status from those dates.
  - Status is C(expired) (licence past its expiry), C(overdue) (maintenance past due), C(due_soon)
    (licence expiry or maintenance due within O(warn_days)) or C(ok).
  - Optionally writes the report as Markdown or CSV to a path on the controller, mode 0640. The file
    is rewritten, and the task reports a change, only when its content differs.
  - Reads inventory data only; it contacts no device and never touches X-ray generator, conveyor or
    detection settings. Verify the licence obligations with the unit's radiation officer.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
options:
  scanners:
    description:
      - List of scanners, each with C(name), C(model), C(serial), C(location),
        C(licence) (C(number), C(authority) (NDK), C(expires) YYYY-MM-DD) and
        C(maintenance) (C(last) YYYY-MM-DD, C(interval_days)).
    type: list
    elements: dict
    required: true
  today:
    description: The date to evaluate against (YYYY-MM-DD), for tests and reports of a past day. Default today.
    type: str
  warn_days:
    description: Days before a licence expiry or maintenance due date from which the status is C(due_soon).
    type: int
    default: 60
  report_path:
    description: Controller path of the report file. Left out, no file is written.
    type: path
  report_format:
    description: Format of the report file.
    type: str
    choices: [markdown, csv]
    default: markdown
  fail_on:
    description: Fail the task when a scanner has one of these statuses (after writing the report).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: NDK licences and maintenance of the X-ray scanners are tracked
  xray_compliance:
    scanners: "{{ xray_scanners }}"
    warn_days: 60
    report_path: /var/lib/belediye-iac/reports/xray-compliance.md
  delegate_to: localhost
  run_once: true
  register: xray
"""

RETURN = r"""
scanners:
  description: Per scanner name, model, serial, location, licence_number, licence_expires, licence_days_left,
    maintenance_last, maintenance_due, maintenance_days_left, status and reasons; worst first.
  type: list
  returned: always
counts:
  description: Number of scanners per status (ok, due_soon, overdue, expired).
  type: dict
  returned: always
report_path:
  description: Path of the report file, when one was asked for.
  type: str
  returned: when report_path is set
"""

import datetime
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_xray import (
    STATUS_ORDER,
    InventoryError,
    compliance,
    report_csv,
    report_markdown,
    summary_counts,
)


def read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def write_report(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    # The report names scanners and licences, not people; still not for everyone (0750, files 0640).
    os.makedirs(directory, mode=0o750, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".xray-report-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "scanners": {"type": "list", "elements": "dict", "required": True},
            "today": {"type": "str"},
            "warn_days": {"type": "int", "default": 60},
            "report_path": {"type": "path"},
            "report_format": {"type": "str", "choices": ["markdown", "csv"], "default": "markdown"},
            "fail_on": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    bad = [status for status in params["fail_on"] if status not in STATUS_ORDER]
    if bad:
        module.fail_json(msg=f"fail_on: unknown status {', '.join(bad)} (use {', '.join(STATUS_ORDER)})")
    try:
        today = datetime.date.fromisoformat(params["today"]) if params["today"] else datetime.date.today()
    except ValueError:
        module.fail_json(msg=f"today {params['today']!r} is not a date (YYYY-MM-DD)")
    try:
        results = compliance(params["scanners"], today, params["warn_days"])
    except InventoryError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": False, "scanners": results, "counts": summary_counts(results)}

    path = params["report_path"]
    if path:
        if params["report_format"] == "csv":
            text = report_csv(results)
        else:
            text = report_markdown(results, today, params["warn_days"])
        result["report_path"] = path
        old = read_text(path)
        mode_ok = old is not None and (os.stat(path).st_mode & 0o777) == 0o640
        if old != text or not mode_ok:
            result["changed"] = True
            result["diff"] = {"before": old or "", "after": text, "before_header": path, "after_header": path}
            if not module.check_mode:
                try:
                    write_report(path, text)
                except OSError as exc:
                    module.fail_json(msg=f"X-ray compliance report {path}: cannot write: {exc}", **result)

    failing = [item["name"] for item in results if item["status"] in params["fail_on"]]
    if failing:
        module.fail_json(msg=f"X-ray scanners needing action: {', '.join(failing)}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
