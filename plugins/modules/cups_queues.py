#!/usr/bin/python
"""Keep a host's CUPS print queues to a list: create, update, purge those it made, set the default."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cups_queues
short_description: Manage the CUPS print queues of a desktop from a list
description:
  - Reads the queues with C(lpstat -v), C(lpstat -d) and C(lpoptions -p), compares them with O(queues)
    and creates or rewrites with C(lpadmin) only the queues that differ in device URI, description,
    location or driver; the queue is enabled and accepts jobs.
  - Remembers the queues it made, and their drivers, in O(state_file). With O(purge), queues it made
    before that are no longer listed are deleted; queues made by hand or by another tool are never
    touched.
  - Sets the system default queue to the one marked C(default), if any.
  - Supports check mode and C(--diff). Runs on the desktop (needs C(cups) and C(cups-client)).
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
options:
  queues:
    description: The queues the host should have.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Queue name (letters, digits, C(-) and C(_))., type: str, required: true}
      uri:
        description: Device URI such as C(ipp://10.10.20.250/ipp/print) or C(socket://10.10.20.250:9100).
        type: str
        required: true
      description: {description: Human-readable name (C(printer-info))., type: str, default: ""}
      location: {description: Where the printer is (C(printer-location))., type: str, default: ""}
      driver: {description: Model for C(lpadmin -m); defaults to O(default_driver)., type: str}
      default: {description: Make it the system default queue., type: bool, default: false}
  default_driver:
    description: Model used for queues without C(driver) (C(lpinfo -m) lists the models).
    type: str
    default: drv:///sample.drv/generpcl.ppd
  purge:
    description: Delete queues this module made earlier that are no longer in O(queues).
    type: bool
    default: true
  state_file:
    description: Where the module remembers the queues it made.
    type: path
    default: /etc/cups/belediye-queues.json
"""

EXAMPLES = r"""
- name: The site's printers are set up
  cups_queues:
    queues:
      - {name: merkez-2-kat, uri: "ipp://10.10.20.250/ipp/print", description: "2. kat ortak yazıcı",
         location: "Ana bina 2. kat", default: true}
  become: true
"""

RETURN = r"""
created: {description: Queues created., type: list, elements: str, returned: always}
updated: {description: Queues rewritten, with the fields that differed., type: dict, returned: always}
removed: {description: Queues deleted by purge., type: list, elements: str, returned: always}
default: {description: The system default queue after the run (planned in check mode)., type: str, returned: always}
"""

import json
import os
import re
import shlex

from ansible.module_utils.basic import AnsibleModule

DEVICE_LINE = re.compile(r"^device for (?P<name>[^:]+):\s*(?P<uri>\S+)\s*$")


def parse_devices(text):
    """`lpstat -v` output -> {queue: uri}."""
    found = {}
    for line in text.splitlines():
        match = DEVICE_LINE.match(line.strip())
        if match:
            found[match.group("name")] = match.group("uri")
    return found


def parse_default(text):
    """`lpstat -d` output -> the default queue's name, or ''."""
    match = re.search(r"system default destination:\s*(\S+)", text)
    return match.group(1) if match else ""


def parse_options(text):
    """`lpoptions -p NAME` output (key=value pairs, values quoted for the shell) -> dict."""
    pairs = {}
    for token in shlex.split(text):
        key, sep, value = token.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def plan(current, remembered, wanted, default_driver, purge, current_default):
    """What to do, from the current queues and what to have.

    current: {name: {uri, description, location}}; remembered: {name: {driver}} from the state file;
    wanted: the module's queues. Returns a dict with create (names), update ({name: [fields]}),
    remove (names), default (name or None when unchanged) and the diff's before/after.
    """
    create, update = [], {}
    for queue in wanted:
        name = queue["name"]
        want = {
            "uri": queue["uri"],
            "description": queue.get("description") or "",
            "location": queue.get("location") or "",
            "driver": queue.get("driver") or default_driver,
        }
        if name not in current:
            create.append(name)
            continue
        have = dict(current[name], driver=(remembered.get(name) or {}).get("driver"))
        fields = [field for field in ("uri", "description", "location", "driver") if have.get(field) != want[field]]
        if fields:
            update[name] = fields
    wanted_names = {q["name"] for q in wanted}
    remove = sorted(n for n in remembered if n not in wanted_names and n in current) if purge else []
    want_default = next((q["name"] for q in wanted if q.get("default")), None)
    default = want_default if want_default and want_default != current_default else None
    before = {n: current[n] for n in sorted(set(current) & (wanted_names | set(remembered)))}
    after = {n: v for n, v in before.items() if n not in remove}
    for queue in wanted:
        after[queue["name"]] = {
            "uri": queue["uri"],
            "description": queue.get("description") or "",
            "location": queue.get("location") or "",
        }
    return {
        "create": create,
        "update": update,
        "remove": remove,
        "default": default,
        "diff": {
            "before": {"queues": before, "default": current_default},
            "after": {"queues": dict(sorted(after.items())), "default": default or current_default},
        },
    }


def run(module, argv):
    rc, out, err = module.run_command(argv, environ_update={"LC_ALL": "C"})
    return rc, out, err


def read_current(module):
    rc, out, err = run(module, ["lpstat", "-v"])
    # lpstat says "No destinations added." with rc 1 on a host without queues.
    if rc != 0 and "No destinations" not in (out + err):
        module.fail_json(msg=f"lpstat -v failed ({rc}): {err.strip() or out.strip()}; is cups running?")
    devices = parse_devices(out)
    current = {}
    for name, uri in devices.items():
        rc, out, err = run(module, ["lpoptions", "-p", name])
        options = parse_options(out) if rc == 0 else {}
        current[name] = {
            "uri": uri,
            "description": options.get("printer-info", ""),
            "location": options.get("printer-location", ""),
        }
    rc, out, _ = run(module, ["lpstat", "-d"])
    return current, parse_default(out)


def read_state(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle).get("queues", {})
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}


def write_state(path, queues):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"managed_by": "belediye-iac cups_queues", "queues": queues}, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec={
            "queues": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "uri": {"type": "str", "required": True},
                    "description": {"type": "str", "default": ""},
                    "location": {"type": "str", "default": ""},
                    "driver": {"type": "str"},
                    "default": {"type": "bool", "default": False},
                },
            },
            "default_driver": {"type": "str", "default": "drv:///sample.drv/generpcl.ppd"},
            "purge": {"type": "bool", "default": True},
            "state_file": {"type": "path", "default": "/etc/cups/belediye-queues.json"},
        },
        supports_check_mode=True,
    )
    params = module.params
    names = [q["name"] for q in params["queues"]]
    if len(set(names)) != len(names):
        module.fail_json(msg=f"a queue name appears more than once in queues: {', '.join(sorted(names))}")
    if sum(bool(q["default"]) for q in params["queues"]) > 1:
        module.fail_json(msg="only one queue can be the default")
    remembered = read_state(params["state_file"])
    current, current_default = read_current(module)
    todo = plan(current, remembered, params["queues"], params["default_driver"], params["purge"], current_default)
    wanted_state = {q["name"]: {"driver": q["driver"] or params["default_driver"]} for q in params["queues"]}
    if not params["purge"]:
        # Without purge, queues made earlier stay ours: keep remembering them.
        wanted_state = {**{n: v for n, v in remembered.items() if n in current}, **wanted_state}
    changed = bool(todo["create"] or todo["update"] or todo["remove"] or todo["default"] or wanted_state != remembered)
    if not module.check_mode:
        for queue in params["queues"]:
            if queue["name"] not in todo["create"] and queue["name"] not in todo["update"]:
                continue
            argv = ["lpadmin", "-p", queue["name"], "-E", "-v", queue["uri"],
                    "-m", queue["driver"] or params["default_driver"],
                    "-D", queue["description"], "-L", queue["location"]]  # fmt: skip
            rc, out, err = run(module, argv)
            if rc != 0:
                module.fail_json(msg=f"lpadmin could not set up queue {queue['name']}: {err.strip() or out.strip()}")
        for name in todo["remove"]:
            rc, out, err = run(module, ["lpadmin", "-x", name])
            if rc != 0:
                module.fail_json(msg=f"lpadmin could not delete queue {name}: {err.strip() or out.strip()}")
        if todo["default"]:
            rc, out, err = run(module, ["lpadmin", "-d", todo["default"]])
            if rc != 0:
                module.fail_json(
                    msg=f"lpadmin could not make {todo['default']} the default: {err.strip() or out.strip()}"
                )
        if wanted_state != remembered:
            write_state(params["state_file"], wanted_state)
    module.exit_json(
        changed=changed,
        created=todo["create"],
        updated=todo["update"],
        removed=todo["remove"],
        default=todo["default"] or current_default,
        diff=todo["diff"] if changed else {},
    )


if __name__ == "__main__":
    main()
