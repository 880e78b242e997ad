#!/usr/bin/python
"""Make one object of a Samba AD domain (an OU, a group or a user) match its description."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: samba_directory
short_description: Manage one OU, group or user of a Samba Active Directory domain, on the DC
description:
  - Runs on a Samba AD domain controller. Reads the object with C(ldbsearch) on the local C(sam.ldb),
    compares it with the options, and changes only what differs, with C(samba-tool) (create, move,
    enable, disable, delete, group membership) and C(ldbmodify) (attributes C(samba-tool) cannot set).
  - Managed objects live under the OU O(base_ou) (C(OU=Belediye)); OUs are made directly under it,
    users and groups in one of those OUs (O(ou)).
  - A user's password is used only when the user is created, and reaches C(samba-tool) on standard
    input, never on its command line. An existing user's password is never read nor changed.
  - Deleting needs O(reason), which is returned in the result for the run's record. Only users and
    groups under O(base_ou) can be deleted; built-in and critical objects (Administrator, Domain
    Admins, ...) are refused.
  - Supports check mode and C(--diff) (the attributes the module manages, before and after).
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
options:
  kind:
    description: The kind of object.
    type: str
    required: true
    choices: [ou, group, user]
  name:
    description:
      - The OU's name (C(ou) attribute), or the group's or user's C(sAMAccountName).
      - An OU named like O(base_ou) is the base OU itself, made under the domain's root.
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the object (and enables a disabled user); C(disabled) disables
        an existing user (a missing one is not created); C(absent) deletes it and needs O(reason).
    type: str
    choices: [present, disabled, absent]
    default: present
  ou:
    description: For users and groups, the OU (under O(base_ou)) the object lives in; it is moved there if elsewhere.
    type: str
  base_ou:
    description: The OU under the domain's root that holds every managed OU.
    type: str
    default: Belediye
  description:
    description: The C(description) attribute (OUs, groups, users). Not given leaves it as it is; empty removes it.
    type: str
  info:
    description:
      - "The C(info) attribute (notes) of a group or user, such as C(Talep: BIM-2026/0140). Not given
        leaves it as it is; empty removes it."
    type: str
  talep:
    description:
      - "The written request behind the object, such as C(BIM-2026/0140); stored as C(info) =
        C(Talep: <talep>). Ignored when O(info) is given."
    type: str
  members:
    description:
      - Group members (C(sAMAccountName) of users or groups) that must be in the group.
      - With O(exclusive_members) other members are removed; without it they are left alone (the
        users' O(groups) are then the source of the membership).
    type: list
    elements: str
  exclusive_members:
    description: Remove group members that are not in O(members).
    type: bool
    default: false
  given_name:
    description: The user's given name (C(givenName)).
    type: str
  surname:
    description: The user's surname (C(sn)); C(displayName) follows as C(<given_name> <surname>).
    type: str
  title:
    description: The user's job title (C(title)). Not given leaves it as it is; empty removes it.
    type: str
  groups:
    description:
      - Groups under O(base_ou) the user must be a member of. The user is removed from other groups
        under O(base_ou); built-in groups (Domain Users, ...) are never touched.
    type: list
    elements: str
  password:
    description:
      - Initial password of a user, used only when the user is created. Required to create a user.
    type: str
  change_at_first_logon:
    description: A created user must change the password at the first logon.
    type: bool
    default: true
  reason:
    description: Why the object is deleted (such as the HR letter). Required with O(state=absent).
    type: str
  sam_ldb:
    description: The DC's local database.
    type: path
    default: /var/lib/samba/private/sam.ldb
notes:
  - Needs C(samba-tool) and C(ldb-tools) on the DC, and root.
"""

EXAMPLES = r"""
- name: The directorate's OU exists
  samba_directory:
    kind: ou
    name: Fen-Isleri
    description: Fen İşleri Müdürlüğü

- name: Ayşe Yılmaz's account exists with its request reference
  samba_directory:
    kind: user
    name: ayse.yilmaz
    ou: Fen-Isleri
    given_name: Ayşe
    surname: Yılmaz
    title: Harita Mühendisi
    groups: [fen-isleri-personel]
    talep: BIM-2026/0140
    password: "{{ directory_initial_passwords['ayse.yilmaz'] }}"
  no_log: true

- name: A leaver's account is deleted after the retention period
  samba_directory:
    kind: user
    name: eski.personel
    state: absent
    reason: "İK yazısı 2026/455, istifa"
"""

RETURN = r"""
dn:
  description: The object's distinguished name (after the change; before it, for a deleted object).
  type: str
  returned: always
actions:
  description: What was done (or, in check mode, would be done), such as C(create), C(move), C(modify), C(disable).
  type: list
  elements: str
  returned: always
reason:
  description: The recorded reason of a deletion.
  type: str
  returned: when state is absent
diff:
  description: The managed attributes before and after.
  type: dict
  returned: when changed
"""

import base64
import re

from ansible.module_utils.basic import AnsibleModule

UF_ACCOUNTDISABLE = 0x2
ENV = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
USER_ATTRS = {
    "givenName": "given_name",
    "sn": "surname",
    "title": "title",
    "description": "description",
    "info": "info",
    "displayName": None,
}


# --- LDIF ------------------------------------------------------------------------------------------


def parse_ldif(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    """Entries of ldbsearch's LDIF output as (dn, {attribute: [values]}); referrals and comments skipped.

    Handles folded lines (a continuation starts with one space) and base64 values (`attr:: ...`),
    which is how ldbsearch returns anything that is not plain ASCII, such as Turkish names.
    """
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    entries = []
    dn = None
    attrs: dict[str, list[str]] = {}
    for line in lines + [""]:
        if not line.strip():
            if dn is not None:
                entries.append((dn, attrs))
            dn, attrs = None, {}
            continue
        if line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        value = base64.b64decode(value[1:].strip()).decode("utf-8") if value.startswith(":") else value.strip()
        if key.lower() == "dn":
            dn = value
        elif key.lower() == "ref" and dn is None:
            continue
        elif dn is not None:
            attrs.setdefault(key, []).append(value)
    return entries


def ldif_value(attr: str, value: str) -> str:
    """One LDIF attribute line; base64 whenever the value is not safe as plain text (RFC 2849)."""
    safe = re.fullmatch(r"[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*", value)
    if value and safe and not value.endswith(" "):
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}"


def modify_ldif(dn: str, changes: dict[str, str | None]) -> str:
    """An LDIF that replaces each attribute with its value, or deletes it when the value is None."""
    out = [ldif_value("dn", dn), "changetype: modify"]
    for attr, value in sorted(changes.items()):
        if value is None:
            out += [f"delete: {attr}", "-"]
        else:
            out += [f"replace: {attr}", ldif_value(attr, value), "-"]
    return "\n".join(out) + "\n"


def escape_filter(value: str) -> str:
    """An LDAP filter value with its special characters escaped (RFC 4515)."""
    return "".join(f"\\{ord(c):02x}" if c in "\\*()\x00" else c for c in value)


def escape_rdn(value: str) -> str:
    """An RDN value with its special characters escaped (RFC 4514)."""
    out = re.sub(r'([,+"\\<>;=])', r"\\\1", value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


def first(attrs: dict, name: str, default=None):
    for key, values in attrs.items():
        if key.lower() == name.lower():
            return values[0] if values else default
    return default


def values_of(attrs: dict, name: str) -> list[str]:
    for key, values in attrs.items():
        if key.lower() == name.lower():
            return list(values)
    return []


def dn_eq(a: str | None, b: str | None) -> bool:
    return (a or "").lower().replace(", ", ",") == (b or "").lower().replace(", ", ",")


def parent_of(dn: str) -> str:
    """The parent DN (the DN without its first RDN), honouring escaped commas."""
    match = re.match(r"(?:[^,\\]|\\.)*,(.*)$", dn)
    return match.group(1) if match else ""


# --- desired and current state ----------------------------------------------------------------------


def wanted_info(params: dict) -> str | None:
    if params.get("info") is not None:
        return params["info"]
    if params.get("talep"):
        return f"Talep: {params['talep']}"
    return None


def ou_dn(name: str, base_ou: str, domain_dn: str) -> str:
    if name == base_ou:
        return f"OU={escape_rdn(base_ou)},{domain_dn}"
    return f"OU={escape_rdn(name)},OU={escape_rdn(base_ou)},{domain_dn}"


def is_managed(dn: str, attrs: dict, base_ou: str, domain_dn: str) -> bool:
    """Whether the object lies under the base OU and is not a critical system object."""
    base = f"ou={escape_rdn(base_ou)},{domain_dn}".lower()
    if first(attrs, "isCriticalSystemObject", "FALSE").upper() == "TRUE":
        return False
    return dn.lower().endswith("," + base)


def attr_changes(current: dict, wanted: dict[str, str | None]) -> dict[str, str | None]:
    """Attribute changes to make: wanted values that differ from the current ones.

    A wanted value None means "leave it alone"; an empty string means "remove it".
    """
    changes: dict[str, str | None] = {}
    for attr, value in wanted.items():
        if value is None:
            continue
        have = first(current, attr)
        if value == "":
            if have is not None:
                changes[attr] = None
        elif have != value:
            changes[attr] = value
    return changes


def user_wanted_attrs(params: dict, current: dict | None) -> dict[str, str | None]:
    """The LDAP attributes the user must have, from the options (None: not managed by this call)."""
    wanted = {
        "givenName": params.get("given_name"),
        "sn": params.get("surname"),
        "title": params.get("title"),
        "description": params.get("description"),
        "info": wanted_info(params),
    }
    given = params.get("given_name") if params.get("given_name") is not None else first(current or {}, "givenName")
    surname = params.get("surname") if params.get("surname") is not None else first(current or {}, "sn")
    if params.get("given_name") is not None or params.get("surname") is not None:
        wanted["displayName"] = " ".join(p for p in (given, surname) if p)
    return wanted


def view(kind: str, dn: str | None, attrs: dict | None, member_names=None, group_names=None) -> dict:
    """The managed attributes as shown in --diff."""
    if attrs is None:
        return {"exists": False}
    shown = {"exists": True, "dn": dn}
    if kind == "ou":
        shown["description"] = first(attrs, "description", "")
    elif kind == "group":
        shown.update(description=first(attrs, "description", ""), info=first(attrs, "info", ""))
        shown["members"] = sorted(member_names or [])
    else:
        for attr in ("givenName", "sn", "displayName", "title", "description", "info"):
            shown[attr] = first(attrs, attr, "")
        shown["groups"] = sorted(group_names or [])
        shown["enabled"] = not int(first(attrs, "userAccountControl", "0")) & UF_ACCOUNTDISABLE
    return shown


# --- the DC ----------------------------------------------------------------------------------------


class Directory:
    """Reads and writes the DC's directory through ldbsearch, ldbmodify and samba-tool.

    `runner(argv, stdin)` returns (rc, stdout, stderr); tests pass a fake one.
    """

    def __init__(self, runner, sam_ldb: str):
        self.runner = runner
        self.sam_ldb = sam_ldb
        self._domain_dn = None

    def run(self, argv: list[str], stdin: str | None = None, what: str = "") -> str:
        rc, out, err = self.runner(argv, stdin)
        if rc != 0:
            lines = [ln for ln in (err or out or "").splitlines() if ln.strip() and "getpass" not in ln]
            lines = [ln for ln in lines if "Password" not in ln and "Warning:" not in ln]
            raise DirectoryError(f"{what or argv[0]} failed (rc {rc}): {' / '.join(lines[-3:]) or 'no error output'}")
        return out

    def search(self, base: str, ldap_filter: str, attrs: list[str], scope: str = "sub") -> list:
        argv = ["ldbsearch", "-H", self.sam_ldb, "-b", base, "-s", scope, ldap_filter, *attrs]
        rc, out, err = self.runner(argv, None)
        if rc == 32 and "No such Base DN" in (err or "") + (out or ""):
            return []  # the OU searched in does not exist (yet): nothing in it
        if rc != 0:
            raise DirectoryError(
                f"ldbsearch {ldap_filter} under {base or 'the root'} failed (rc {rc}): {(err or out).strip()}"
            )
        return parse_ldif(out)

    @property
    def domain_dn(self) -> str:
        if self._domain_dn is None:
            entries = self.search("", "(objectClass=*)", ["defaultNamingContext"], scope="base")
            found = [first(attrs, "defaultNamingContext") for _, attrs in entries]
            if not found or not found[0]:
                raise DirectoryError(f"{self.sam_ldb} has no defaultNamingContext: is this host a provisioned DC?")
            self._domain_dn = found[0]
        return self._domain_dn

    def find(self, kind: str, name: str, base_ou: str) -> tuple[str | None, dict | None]:
        if kind == "ou":
            dn = ou_dn(name, base_ou, self.domain_dn)
            scope_base = parent_of(dn)
            entries = self.search(
                scope_base,
                f"(&(objectClass=organizationalUnit)(ou={escape_filter(name)}))",
                ["ou", "description", "isCriticalSystemObject"],
                scope="one",
            )
        else:
            cls = "group" if kind == "group" else "user"
            entries = self.search(
                self.domain_dn,
                f"(&(objectClass={cls})(sAMAccountName={escape_filter(name)}))",
                [
                    "sAMAccountName",
                    "description",
                    "info",
                    "givenName",
                    "sn",
                    "displayName",
                    "title",
                    "userAccountControl",
                    "memberOf",
                    "member",
                    "isCriticalSystemObject",
                    "objectClass",
                ],
            )
            if kind == "user":
                entries = [
                    (dn, a) for dn, a in entries if "computer" not in [c.lower() for c in values_of(a, "objectClass")]
                ]
        if not entries:
            return None, None
        return entries[0]

    def refind(self, kind: str, name: str, base_ou: str) -> tuple[str, dict]:
        """The object just written; an error if the DC does not show it."""
        dn, attrs = self.find(kind, name, base_ou)
        if attrs is None:
            raise DirectoryError(f"{kind} {name}: samba-tool reported success but the object is not in {self.sam_ldb}")
        return dn, attrs

    def names_of(self, dns: list[str]) -> dict[str, str]:
        """{dn (lower case): sAMAccountName} of the given objects."""
        if not dns:
            return {}
        terms = "".join(f"(distinguishedName={escape_filter(dn)})" for dn in dns)
        entries = self.search(self.domain_dn, f"(|{terms})", ["sAMAccountName"])
        return {dn.lower(): first(attrs, "sAMAccountName", "") for dn, attrs in entries}

    def managed_groups(self, base_ou: str) -> dict[str, str]:
        """{sAMAccountName (lower case): dn} of the groups under the base OU."""
        base = f"OU={escape_rdn(base_ou)},{self.domain_dn}"
        entries = self.search(base, "(objectClass=group)", ["sAMAccountName"])
        return {first(attrs, "sAMAccountName", "").lower(): dn for dn, attrs in entries}

    def modify(self, dn: str, changes: dict[str, str | None]) -> None:
        self.run(["ldbmodify", "-H", self.sam_ldb], stdin=modify_ldif(dn, changes), what=f"ldbmodify of {dn}")


class DirectoryError(Exception):
    pass


# --- what to do ------------------------------------------------------------------------------------


def manage(directory: Directory, params: dict, check_mode: bool) -> dict:
    """Make the object match params; returns the module's result (changed, actions, dn, diff, ...)."""
    kind, name, state, base_ou = params["kind"], params["name"], params["state"], params["base_ou"]
    label = f"{kind} {name}"
    dn, attrs = directory.find(kind, name, base_ou)
    actions: list[str] = []
    result: dict = {"changed": False, "actions": actions, "dn": dn}
    member_names: list[str] = []
    group_names: list[str] = []
    managed_groups: dict[str, str] = {}
    if attrs is not None and kind == "group":
        member_names = sorted(directory.names_of(values_of(attrs, "member")).values())
    if kind == "user":
        managed_groups = directory.managed_groups(base_ou)
        by_dn = {dn_.lower(): n for n, dn_ in managed_groups.items()}
        if attrs is not None:
            group_names = sorted(by_dn[m.lower()] for m in values_of(attrs, "memberOf") if m.lower() in by_dn)
    before = view(kind, dn, attrs, member_names, group_names)

    if state == "absent":
        result["reason"] = params["reason"]
        if attrs is None:
            result["diff"] = {"before": before, "after": before}
            return result
        if kind == "ou":
            raise DirectoryError(f"{label}: OUs are never deleted by this module; move or delete its objects by hand")
        if not is_managed(dn, attrs, base_ou, directory.domain_dn):
            raise DirectoryError(
                f"{label} ({dn}) is not under OU={base_ou} or is a critical system object: refused to delete it"
            )
        actions.append("delete")
        if not check_mode:
            directory.run(["samba-tool", kind, "delete", name], what=f"samba-tool {kind} delete {name}")
        result.update(changed=True, diff={"before": before, "after": {"exists": False}})
        return result

    if state == "disabled" and kind != "user":
        raise DirectoryError(f"{label}: only users can be disabled")

    if kind == "ou":
        target = ou_dn(name, base_ou, directory.domain_dn)
        wanted = {"description": params.get("description")}
        if attrs is None:
            actions.append("create")
            argv = ["samba-tool", "ou", "create", target]
            if params.get("description"):
                argv.append(f"--description={params['description']}")
            if not check_mode:
                directory.run(argv, what=f"samba-tool ou create {target}")
            after = {"exists": True, "dn": target, "description": params.get("description") or ""}
            result.update(changed=True, dn=target, diff={"before": before, "after": after})
            return result
        changes = attr_changes(attrs, wanted)
        if changes:
            actions.append("modify")
            if not check_mode:
                directory.modify(dn, changes)
        after = dict(before, **{k: v or "" for k, v in changes.items()})
        result.update(changed=bool(actions), diff={"before": before, "after": after})
        return result

    if not params.get("ou"):
        raise DirectoryError(f"{label}: ou is required for state {state}")
    parent = ou_dn(params["ou"], base_ou, directory.domain_dn)

    if kind == "group":
        return manage_group(directory, params, check_mode, dn, attrs, parent, before, member_names, result)
    return manage_user(directory, params, check_mode, dn, attrs, parent, before, group_names, managed_groups, result)


def manage_group(directory, params, check_mode, dn, attrs, parent, before, member_names, result) -> dict:
    name = params["name"]
    actions = result["actions"]
    wanted = {"description": params.get("description"), "info": wanted_info(params)}
    target_dn = f"CN={escape_rdn(name)},{parent}"
    if attrs is None:
        actions.append("create")
        if not check_mode:
            relative = parent[: -len(directory.domain_dn) - 1]
            directory.run(
                ["samba-tool", "group", "add", name, f"--groupou={relative}"], what=f"samba-tool group add {name}"
            )
            dn, attrs = directory.refind("group", name, params["base_ou"])
        else:
            dn, attrs = target_dn, {}
    elif not dn_eq(parent_of(dn), parent):
        actions.append("move")
        if not check_mode:
            directory.run(["samba-tool", "group", "move", name, parent], what=f"samba-tool group move {name}")
            dn, attrs = directory.refind("group", name, params["base_ou"])
        else:
            dn = f"{dn.split(',', 1)[0]},{parent}"
    changes = attr_changes(attrs, wanted)
    if changes:
        actions.append("modify")
        if not check_mode:
            directory.modify(dn, changes)
    members_now = {m.lower() for m in member_names}
    wanted_members = {m.lower() for m in params.get("members") or []}
    add = sorted(wanted_members - members_now)
    remove = sorted(members_now - wanted_members) if params.get("exclusive_members") else []
    if add:
        actions.append("add_members")
        if not check_mode:
            directory.run(
                ["samba-tool", "group", "addmembers", name, ",".join(add)], what=f"samba-tool group addmembers {name}"
            )
    if remove:
        actions.append("remove_members")
        if not check_mode:
            directory.run(
                ["samba-tool", "group", "removemembers", name, ",".join(remove)],
                what=f"samba-tool group removemembers {name}",
            )
    after = {
        "exists": True,
        "dn": dn,
        "description": first(attrs, "description", "")
        if "description" not in changes
        else changes["description"] or "",
        "info": first(attrs, "info", "") if "info" not in changes else changes["info"] or "",
        "members": sorted((members_now | wanted_members) - set(remove)),
    }
    result.update(changed=bool(actions), dn=dn, diff={"before": before, "after": after})
    return result


def manage_user(directory, params, check_mode, dn, attrs, parent, before, group_names, managed_groups, result) -> dict:
    name = params["name"]
    state = params["state"]
    actions = result["actions"]
    if attrs is None and state == "disabled":
        # Nothing to disable; a leaver's account is not created just to be disabled.
        result["diff"] = {"before": before, "after": before}
        return result
    if attrs is None:
        if not params.get("password"):
            raise DirectoryError(f"user {name}: password is required to create the account (it is used only then)")
        actions.append("create")
        if not check_mode:
            relative = parent[: -len(directory.domain_dn) - 1]
            argv = ["samba-tool", "user", "create", name, "--use-username-as-cn", f"--userou={relative}"]
            if params.get("change_at_first_logon", True):
                argv.append("--must-change-at-next-login")
            # No password argument: samba-tool asks for it (twice) and reads the answers from stdin.
            directory.run(
                argv, stdin=f"{params['password']}\n{params['password']}\n", what=f"samba-tool user create {name}"
            )
            dn, attrs = directory.refind("user", name, params["base_ou"])
        else:
            dn, attrs = f"CN={escape_rdn(name)},{parent}", {"userAccountControl": ["512"]}
    elif not dn_eq(parent_of(dn), parent):
        actions.append("move")
        if not check_mode:
            directory.run(["samba-tool", "user", "move", name, parent], what=f"samba-tool user move {name}")
            dn, attrs = directory.refind("user", name, params["base_ou"])
        else:
            dn = f"{dn.split(',', 1)[0]},{parent}"
    changes = attr_changes(attrs, user_wanted_attrs(params, attrs))
    if changes:
        actions.append("modify")
        if not check_mode:
            directory.modify(dn, changes)

    groups_after = set(group_names)
    if params.get("groups") is not None:
        wanted = {g.lower() for g in params["groups"]}
        unknown = sorted(g for g in wanted if g not in managed_groups)
        if unknown and not check_mode:
            raise DirectoryError(
                f"user {name}: group(s) {', '.join(unknown)} do not exist under OU={params['base_ou']}"
            )
        for group in sorted(wanted - set(group_names)):
            actions.append(f"join {group}")
            if not check_mode:
                directory.run(
                    ["samba-tool", "group", "addmembers", group, name], what=f"samba-tool group addmembers {group}"
                )
        for group in sorted(set(group_names) - wanted):
            actions.append(f"leave {group}")
            if not check_mode:
                directory.run(
                    ["samba-tool", "group", "removemembers", group, name],
                    what=f"samba-tool group removemembers {group}",
                )
        groups_after = wanted

    enabled = not int(first(attrs, "userAccountControl", "512")) & UF_ACCOUNTDISABLE
    if state == "disabled" and enabled:
        actions.append("disable")
        if not check_mode:
            directory.run(["samba-tool", "user", "disable", name], what=f"samba-tool user disable {name}")
    elif state == "present" and not enabled:
        actions.append("enable")
        if not check_mode:
            directory.run(["samba-tool", "user", "enable", name], what=f"samba-tool user enable {name}")

    after = {"exists": True, "dn": dn}
    for attr in ("givenName", "sn", "displayName", "title", "description", "info"):
        after[attr] = (changes[attr] or "") if attr in changes else first(attrs, attr, "")
    after["groups"] = sorted(groups_after)
    after["enabled"] = state == "present"
    result.update(changed=bool(actions), dn=dn, diff={"before": before, "after": after})
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "kind": {"type": "str", "required": True, "choices": ["ou", "group", "user"]},
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "disabled", "absent"]},
            "ou": {"type": "str"},
            "base_ou": {"type": "str", "default": "Belediye"},
            "description": {"type": "str"},
            "info": {"type": "str"},
            "talep": {"type": "str"},
            "members": {"type": "list", "elements": "str"},
            "exclusive_members": {"type": "bool", "default": False},
            "given_name": {"type": "str"},
            "surname": {"type": "str"},
            "title": {"type": "str"},
            "groups": {"type": "list", "elements": "str"},
            "password": {"type": "str", "no_log": True},
            "change_at_first_logon": {"type": "bool", "default": True},
            "reason": {"type": "str"},
            "sam_ldb": {"type": "path", "default": "/var/lib/samba/private/sam.ldb"},
        },
        required_if=[("state", "absent", ["reason"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "absent" and not (params["reason"] or "").strip():
        module.fail_json(msg=f"{params['kind']} {params['name']}: reason is required to delete it, and is empty")

    def runner(argv, stdin=None):
        return module.run_command(argv, data=stdin, binary_data=False, environ_update=ENV)

    directory = Directory(runner, params["sam_ldb"])
    try:
        result = manage(directory, params, module.check_mode)
    except DirectoryError as exc:
        module.fail_json(msg=str(exc))
    if not result["changed"]:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
