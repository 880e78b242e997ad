#!/usr/bin/python
"""Set several key/value lines of a configuration file in one call, keeping everything else."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: keyvalue_settings
short_description: Set key/value lines of a package-owned configuration file in one call
description:
  - Sets each key of O(settings) in O(path), a file of C(key = value) or C(KEY value) lines such
    as C(/etc/audit/auditd.conf) or C(/etc/login.defs). One call does what one
    M(ansible.builtin.lineinfile) per key did, and gives the same file.
  - For each key, in the order given, the last line that sets it (for O(commented=true), also a
    commented-out default such as C(#KEY value)) is replaced by the wanted line; a key that no
    line sets is appended at the end. Comments and lines of other keys are left as they are.
  - The file is written once, atomically, and only when a line differs. Its owner, group and mode
    are kept.
  - Supports check mode and C(--diff) (the whole file before and after).
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
options:
  path:
    description: The file. It must exist; the module never creates it.
    type: path
    required: true
  settings:
    description:
      - Mapping of key to value. Values are written as text (C(50), C(25%), C(YESCRYPT)).
    type: dict
    required: true
  style:
    description:
      - C(equals) for C(key = value) files; a line sets a key when it reads C(key) then C(=).
      - C(space) for C(KEY value) files; a line sets a key when it reads C(KEY) then whitespace.
    type: str
    choices: [equals, space]
    default: equals
  separator:
    description:
      - What is written between key and value. Left out, C(" = ") for O(style=equals) and a tab
        for O(style=space).
    type: str
  commented:
    description: Also replace a commented-out line of the key (C(#KEY ...)) when no live one follows it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: auditd keeps its logs
  keyvalue_settings:
    path: /etc/audit/auditd.conf
    settings:
      max_log_file: 50
      max_log_file_action: keep_logs

- name: Password ageing in login.defs
  keyvalue_settings:
    path: /etc/login.defs
    style: space
    commented: true
    settings:
      PASS_MAX_DAYS: 180
      ENCRYPT_METHOD: YESCRYPT
"""

RETURN = r"""
changed_keys:
  description: Keys whose line was replaced or appended (empty when the file already matched).
  type: list
  elements: str
  returned: always
  sample: [max_log_file, num_logs]
"""

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

SEPARATORS = {"equals": " = ", "space": "\t"}


def key_pattern(key: str, style: str, commented: bool) -> re.Pattern:
    """The lines that set `key`: the regular expressions the lineinfile tasks used."""
    tail = r"\s*=" if style == "equals" else r"\s"
    return re.compile(("^#?" if commented else "^") + r"\s*" + re.escape(key) + tail)


def apply_settings(
    text: str, settings: dict, style: str = "equals", separator: str | None = None, commented: bool = False
) -> tuple[str, list[str]]:
    """The file's text with every setting in place, and the keys whose line changed.

    Like lineinfile with `regexp`: the last matching line is replaced; without one, the line is
    appended (after a newline, if the file does not end with one).
    """
    sep = SEPARATORS[style] if separator is None else separator
    lines = text.splitlines(keepends=True)
    changed = []
    for key, value in settings.items():
        wanted = f"{key}{sep}{value}"
        pattern = key_pattern(str(key), style, commented)
        matches = [n for n, line in enumerate(lines) if pattern.search(line)]
        if matches:
            last = matches[-1]
            if lines[last].rstrip("\r\n") == wanted:
                continue
            lines[last] = wanted + "\n"
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines.append(wanted + "\n")
        changed.append(str(key))
    return "".join(lines), changed


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "settings": {"type": "dict", "required": True},
            "style": {"type": "str", "choices": ["equals", "space"], "default": "equals"},
            "separator": {"type": "str"},
            "commented": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    if not os.path.isfile(path):
        module.fail_json(msg=f"{path} does not exist (keyvalue_settings never creates it); is its package installed?")
    try:
        with open(path, encoding="utf-8") as handle:
            before = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=f"{path} cannot be read: {exc}")

    after, changed_keys = apply_settings(
        before,
        module.params["settings"],
        module.params["style"],
        module.params["separator"],
        module.params["commented"],
    )
    result = {"changed": bool(changed_keys), "changed_keys": changed_keys}
    if module._diff:
        result["diff"] = {"before": before, "after": after, "before_header": path, "after_header": path}
    if changed_keys and not module.check_mode:
        fd, tmp = tempfile.mkstemp(prefix=".keyvalue_settings.", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(after)
        except OSError as exc:
            os.unlink(tmp)
            module.fail_json(msg=f"{path} cannot be written: {exc}")
        module.atomic_move(tmp, path, unsafe_writes=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
