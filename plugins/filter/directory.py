"""Filters for the directory data: users, groups and directorate OUs kept in the inventory.

The data model (``directory_ous``, ``directory_groups``, ``directory_users``) is described in the
README of the directory accounts role. Every filter is a pure function: "today" is an argument, so
a test can move the clock.

Filters:

``directory_users | directory_problems(directory_groups, directory_ous, today=None)``
    Every problem in the three lists, as messages naming the item (``directory_users[3]
    (ayse.yilmaz)``, indexed from 0 as in Jinja), the field and what is wrong; an empty list means
    the data is sound. Run before any change, so bad data is refused as a whole. People's names
    and leaving reasons are personal data: they are checked, never quoted.

``directory_users | directory_account_plan(today, retention_days)``
    One entry per user, sorted by username: a copy of the user's fields (``leaving`` as a
    YYYY-MM-DD string) plus ``state``:

    * ``present``: no leaving date, or a leaving date after today;
    * ``disabled``: from the leaving date (inclusive) until the retention period has run;
    * ``absent``: from ``leaving + retention_days`` on; such an entry also carries ``reason`` (the
      ``leaving_reason``), since nothing is deleted without a recorded reason.

    Leavers also carry ``delete_on`` (YYYY-MM-DD), the first day the account is absent.

``directory_share_access(shares, directory_groups, directory_users, today=None)``
    The "from the data" half of the share access review (ISO 27001 A.5.18): one row
    ``{share, user, rights, via_group}`` for every active user (no leaving date, or one after today)
    who reaches a share through a group. Membership is the union of the users' ``groups`` lists and
    the groups' ``members`` lists. A user who reaches a share through several groups gets the
    strongest right (read < change < full); ``via_group`` is the group that gives it (the first by
    name when two give the same right). Rows are sorted by share, then user.

The plan and the access filters raise AnsibleFilterError on data they cannot use; the full list of
problems is ``directory_problems``' job, and the role runs it first.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

USER_REQUIRED = ("username", "given_name", "surname", "ou", "talep")
USER_KEYS = frozenset(USER_REQUIRED) | {"title", "groups", "leaving", "leaving_reason"}
GROUP_REQUIRED = ("name", "ou", "talep")
GROUP_KEYS = frozenset(GROUP_REQUIRED) | {"description", "members"}
OU_REQUIRED = ("name", "directorate")
OU_KEYS = frozenset(OU_REQUIRED) | {"description"}

USERNAME_RE = re.compile(r"^[a-z][a-z0-9.-]*$")
USERNAME_MAX = 20  # sAMAccountName: the pre-Windows 2000 logon name holds at most 20 characters
GROUP_RE = re.compile(r"^[a-z0-9-]+$")
OU_RE = re.compile(r"^[A-Za-z0-9-]+$")
NAME_MAX = 64  # cn, ou, givenName and sn: the AD schema's upper bound
DIRECTORATE_RE = re.compile(r"^dir_[a-z0-9_]+$")
TALEP_RE = re.compile(r"^BIM-(\d{4})/\d{4}$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RIGHTS = ("read", "change", "full")  # weakest first

# Well-known accounts and groups of AD and Samba (compared case-insensitively). An inventory entry
# with one of these names would take over or collide with a built-in principal. root and nobody
# are there because joined Linux hosts (sssd, winbind) would map them onto local accounts.
RESERVED = frozenset(
    name.lower()
    for name in (
        "Administrator",
        "Guest",
        "krbtgt",
        "root",
        "nobody",
        "Administrators",
        "Users",
        "Guests",
        "Domain Admins",
        "Domain Users",
        "Domain Guests",
        "Domain Computers",
        "Domain Controllers",
        "Enterprise Admins",
        "Schema Admins",
        "Key Admins",
        "Enterprise Key Admins",
        "Protected Users",
        "Read-only Domain Controllers",
        "Enterprise Read-only Domain Controllers",
        "Cloneable Domain Controllers",
        "Group Policy Creator Owners",
        "Cert Publishers",
        "DnsAdmins",
        "DnsUpdateProxy",
        "RAS and IAS Servers",
        "Allowed RODC Password Replication Group",
        "Denied RODC Password Replication Group",
        "Account Operators",
        "Server Operators",
        "Print Operators",
        "Backup Operators",
        "Replicator",
        "Remote Desktop Users",
        "Remote Management Users",
        "Network Configuration Operators",
        "Performance Monitor Users",
        "Performance Log Users",
        "Distributed COM Users",
        "IIS_IUSRS",
        "Cryptographic Operators",
        "Event Log Readers",
        "Certificate Service DCOM Access",
        "Windows Authorization Access Group",
        "Terminal Server License Servers",
        "Pre-Windows 2000 Compatible Access",
        "Incoming Forest Trust Builders",
        "Access Control Assistance Operators",
        "Hyper-V Administrators",
        "Storage Replica Administrators",
    )
)


# --- helpers ---------------------------------------------------------------------------------


def _where(var, index, name=None):
    return f"{var}[{index}] ({name})" if name else f"{var}[{index}]"


def _parse_date(value):
    """A date from YAML (a date object) or a YYYY-MM-DD string; None when it is neither.

    A datetime is refused: a leaving date is a whole day, and a time in it is a typo to look at.
    """
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and ISO_DATE_RE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _today(value, what="today"):
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.datetime):
        return value.date()
    parsed = _parse_date(value)
    if parsed is None:
        raise AnsibleFilterError(f"{what}: {value!r} is not a date (YYYY-MM-DD)")
    return parsed


def _retention(value):
    if isinstance(value, bool):
        raise AnsibleFilterError(f"retention_days: {value!r} is not a number of days")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise AnsibleFilterError(f"retention_days: {value!r} is not a whole number of days >= 0")
    return value


def _is_text(value):
    return isinstance(value, str) and value.strip() != ""


def _person_name_problem(value):
    """What is wrong with a given name or surname, without quoting it (personal data)."""
    if not _is_text(value):
        return "is required and must be a non-empty string"
    if value != value.strip():
        return "has leading or trailing spaces (value not shown)"
    if len(value) > NAME_MAX:
        return f"is longer than {NAME_MAX} characters (value not shown)"
    if not all(ch.isalpha() or ch in " '-." for ch in value):
        return "may hold letters, spaces, hyphens, apostrophes and periods only (value not shown)"
    return None


def _talep_problem(value, today):
    if not isinstance(value, str) or not value.strip():
        return "talep is required: the request reference (BIM-YYYY/NNNN) that asked for it"
    match = TALEP_RE.match(value)
    if not match:
        return f"talep {value!r} is not a request reference of the form BIM-YYYY/NNNN (e.g. BIM-2026/0140)"
    if int(match.group(1)) > today.year:
        return f"talep {value!r} has a year after {today.year}"
    return None


def _list_of_mappings(value, var):
    """(entries, problems): the list's mappings with their index, or why the list is unusable."""
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], [f"{var} must be a list of mappings, got {type(value).__name__}"]
    entries, problems = [], []
    for index, entry in enumerate(value):
        if isinstance(entry, Mapping):
            entries.append((index, entry))
        else:
            problems.append(f"{_where(var, index)} must be a mapping, got {type(entry).__name__}")
    return entries, problems


def _unknown_keys(where, entry, allowed):
    unknown = sorted(str(key) for key in entry if key not in allowed)
    if not unknown:
        return []
    return [f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"]


def _name_list(where, entry, field):
    """(names, problems) for an optional list of strings such as a user's groups."""
    value = entry.get(field)
    if value is None:
        return [], []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        return [], [f"{where}: {field} must be a list of names"]
    problems = [f"{where}: {field} lists {name} more than once" for name in sorted(set(value)) if value.count(name) > 1]
    return value, problems


def _check_name(where, field, name, pattern, rule, max_len, seen, reserved=True):
    """Problems of a name field; adds a good name (lower-cased) to seen."""
    if name is None or name == "":
        return [f"{where}: {field} is required"]
    if not isinstance(name, str):
        return [f"{where}: {field} must be a string, got {type(name).__name__}"]
    problems = []
    if not pattern.match(name):
        problems.append(f"{where}: {field} {name!r} must match {rule}")
    if len(name) > max_len:
        problems.append(f"{where}: {field} {name!r} is longer than {max_len} characters")
    if reserved and name.lower() in RESERVED:
        problems.append(f"{where}: {field} {name!r} is a built-in account or group name of the directory")
    if name.lower() in seen:
        problems.append(f"{where}: {field} {name!r} is used more than once")
    seen.add(name.lower())
    return problems


# --- directory_problems ----------------------------------------------------------------------


def _ou_problems(ous):
    entries, problems = _list_of_mappings(ous, "directory_ous")
    seen = set()
    for index, ou in entries:
        name = ou.get("name")
        where = _where("directory_ous", index, name if isinstance(name, str) else None)
        problems += _unknown_keys(where, ou, OU_KEYS)
        problems += _check_name(where, "name", name, OU_RE, "[A-Za-z0-9-]+", NAME_MAX, seen, reserved=False)
        directorate = ou.get("directorate")
        if not isinstance(directorate, str) or not DIRECTORATE_RE.match(directorate):
            problems.append(
                f"{where}: directorate {directorate!r} must be a directorate key starting with dir_"
                " (dir_[a-z0-9_]+, as in ipplan)"
            )
        if "description" in ou and not isinstance(ou["description"], str):
            problems.append(f"{where}: description must be a string")
    known = {ou["name"] for _, ou in entries if isinstance(ou.get("name"), str)}
    return problems, known


def _group_problems(groups, ou_names, today):
    entries, problems = _list_of_mappings(groups, "directory_groups")
    seen, members = set(), {}
    for index, group in entries:
        name = group.get("name")
        where = _where("directory_groups", index, name if isinstance(name, str) else None)
        problems += _unknown_keys(where, group, GROUP_KEYS)
        problems += _check_name(where, "name", name, GROUP_RE, "[a-z0-9-]+", NAME_MAX, seen)
        problems += _ou_ref(where, group.get("ou"), ou_names)
        talep = _talep_problem(group.get("talep"), today)
        if talep:
            problems.append(f"{where}: {talep}")
        if "description" in group and not isinstance(group["description"], str):
            problems.append(f"{where}: description must be a string")
        listed, wrong = _name_list(where, group, "members")
        problems += wrong
        members[index] = (where, listed)
    known = {group["name"] for _, group in entries if isinstance(group.get("name"), str)}
    return problems, known, members


def _ou_ref(where, ou, ou_names):
    if not isinstance(ou, str) or not ou:
        return [f"{where}: ou is required: the name of an OU in directory_ous"]
    if ou not in ou_names:
        return [f"{where}: ou {ou!r} is not an OU in directory_ous"]
    return []


def _leaving_problems(where, user):
    leaving = user.get("leaving")
    if "leaving" not in user:
        if "leaving_reason" in user:
            return [f"{where}: leaving_reason is set but leaving is not; give the leaving date too"]
        return []
    if leaving in (None, ""):
        return [f"{where}: leaving is empty; give a date (YYYY-MM-DD) or remove the key"]
    problems = []
    if _parse_date(leaving) is None:
        problems.append(f"{where}: leaving {leaving!r} is not a date (YYYY-MM-DD)")
    if not _is_text(user.get("leaving_reason")):
        problems.append(
            f"{where}: leaving_reason is required when leaving is set (the written reason, e.g. the HR letter)"
        )
    return problems


def _user_problems(users, ou_names, group_names, today):
    entries, problems = _list_of_mappings(users, "directory_users")
    seen = set()
    for index, user in entries:
        username = user.get("username")
        where = _where("directory_users", index, username if isinstance(username, str) else None)
        problems += _unknown_keys(where, user, USER_KEYS)
        problems += _check_name(where, "username", username, USERNAME_RE, "[a-z][a-z0-9.-]*", USERNAME_MAX, seen)
        if isinstance(username, str) and username.endswith("."):
            problems.append(f"{where}: username {username!r} must not end with a period (AD refuses it)")
        if isinstance(username, str) and username.lower() in {g.lower() for g in group_names}:
            problems.append(
                f"{where}: username {username!r} is also a group name; users and groups share one name space in AD"
            )
        for field in ("given_name", "surname"):
            wrong = _person_name_problem(user.get(field))
            if wrong:
                problems.append(f"{where}: {field} {wrong}")
        problems += _ou_ref(where, user.get("ou"), ou_names)
        talep = _talep_problem(user.get("talep"), today)
        if talep:
            problems.append(f"{where}: {talep}")
        if "title" in user and not _is_text(user["title"]):
            problems.append(f"{where}: title must be a non-empty string when given")
        listed, wrong = _name_list(where, user, "groups")
        problems += wrong
        problems += [
            f"{where}: groups: {name!r} is not a group in directory_groups"
            for name in listed
            if name not in group_names
        ]
        problems += _leaving_problems(where, user)
    known = {user["username"] for _, user in entries if isinstance(user.get("username"), str)}
    return problems, known


def directory_problems(users, groups, ous, today=None):
    """Problems of the directory data (see the module docstring); an empty list means it is sound."""
    today = _today(today)
    ou_problems, ou_names = _ou_problems(ous)
    group_problems, group_names, members = _group_problems(groups, ou_names, today)
    user_problems, usernames = _user_problems(users, ou_names, group_names, today)
    for where, listed in members.values():
        group_problems += [
            f"{where}: members: {name!r} is not a username in directory_users"
            for name in listed
            if name not in usernames
        ]
    return ou_problems + group_problems + user_problems


# --- directory_account_plan ------------------------------------------------------------------


def _usable_users(users, what):
    """The users as {username: (index, user)}, raising on what the plan and the report cannot use."""
    if not isinstance(users, list):
        raise AnsibleFilterError(f"{what}: directory_users must be a list of mappings, got {type(users).__name__}")
    by_name = {}
    for index, user in enumerate(users):
        if not isinstance(user, Mapping):
            raise AnsibleFilterError(f"{what}: {_where('directory_users', index)} must be a mapping")
        username = user.get("username")
        if not isinstance(username, str) or not username:
            raise AnsibleFilterError(f"{what}: {_where('directory_users', index)} has no username")
        if username in by_name:
            raise AnsibleFilterError(f"{what}: {_where('directory_users', index, username)} is listed more than once")
        by_name[username] = (index, user)
    return by_name


def _leaving(user, index, what):
    """The user's leaving date or None, raising when it is set and not a date."""
    if user.get("leaving") in (None, ""):
        return None
    leaving = _parse_date(user["leaving"])
    if leaving is None:
        where = _where("directory_users", index, user["username"])
        raise AnsibleFilterError(f"{what}: {where}: leaving {user['leaving']!r} is not a date (YYYY-MM-DD)")
    return leaving


def directory_account_plan(users, today, retention_days):
    """Each user with the state the account must be in today (see the module docstring)."""
    what = "directory_account_plan"
    today = _today(today)
    retention = dt.timedelta(days=_retention(retention_days))
    plan = []
    for username, (index, user) in sorted(_usable_users(users, what).items()):
        entry = copy.deepcopy(dict(user))
        leaving = _leaving(user, index, what)
        if leaving is None:
            entry["state"] = "present"
            plan.append(entry)
            continue
        if not _is_text(user.get("leaving_reason")):
            raise AnsibleFilterError(
                f"{what}: {_where('directory_users', index, username)}: leaving is set without a leaving_reason;"
                " nothing is disabled or deleted without a recorded reason"
            )
        entry["leaving"] = leaving.isoformat()
        entry["delete_on"] = (leaving + retention).isoformat()
        if today < leaving:
            entry["state"] = "present"
        elif today < leaving + retention:
            entry["state"] = "disabled"
        else:
            entry["state"] = "absent"
            entry["reason"] = user["leaving_reason"]
        plan.append(entry)
    return plan


# --- directory_share_access ------------------------------------------------------------------


def directory_share_access(shares, groups, users, today=None):
    """Who reaches which share through which group, from the data (see the module docstring)."""
    what = "directory_share_access"
    today = _today(today)
    by_user = _usable_users(users, what)
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) and _is_text(g.get("name")) for g in groups):
        raise AnsibleFilterError(f"{what}: directory_groups must be a list of mappings with a name")

    members = {group["name"]: set() for group in groups}
    for index, group in enumerate(groups):
        for username in group.get("members") or []:
            if not isinstance(username, str) or username not in by_user:
                where = _where("directory_groups", index, group["name"])
                raise AnsibleFilterError(f"{what}: {where}: members: {username!r} is not a username in directory_users")
            members[group["name"]].add(username)
    for username, (index, user) in by_user.items():
        for name in user.get("groups") or []:
            if not isinstance(name, str) or name not in members:
                where = _where("directory_users", index, username)
                raise AnsibleFilterError(f"{what}: {where}: groups: {name!r} is not a group in directory_groups")
            members[name].add(username)

    active = set()
    for username, (index, user) in by_user.items():
        leaving = _leaving(user, index, what)
        if leaving is None or today < leaving:
            active.add(username)

    if not isinstance(shares, list):
        raise AnsibleFilterError(f"{what}: shares must be a list of mappings, got {type(shares).__name__}")
    best = {}  # (share, user) -> (rank, group)
    for s_index, share in enumerate(shares):
        name = share.get("name") if isinstance(share, Mapping) else None
        if not isinstance(name, str) or not name:
            raise AnsibleFilterError(f"{what}: {_where('shares', s_index)} must be a mapping with a name")
        access = share.get("access") or []
        if not isinstance(access, list):
            raise AnsibleFilterError(f"{what}: {_where('shares', s_index, name)}: access must be a list")
        for a_index, grant in enumerate(access):
            where = f"{_where('shares', s_index, name)}: access[{a_index}]"
            if not isinstance(grant, Mapping):
                raise AnsibleFilterError(f"{what}: {where} must be a mapping with group and rights")
            group, rights = grant.get("group"), grant.get("rights")
            if not isinstance(group, str) or group not in members:
                raise AnsibleFilterError(f"{what}: {where}: group {group!r} is not a group in directory_groups")
            if rights not in RIGHTS:
                raise AnsibleFilterError(f"{what}: {where}: rights {rights!r} must be one of {', '.join(RIGHTS)}")
            rank = RIGHTS.index(rights)
            for username in members[group] & active:
                key = (name, username)
                # Strongest right wins; between groups giving the same right, the first by name.
                if key not in best or (-rank, group) < (-best[key][0], best[key][1]):
                    best[key] = (rank, group)
    return [
        {"share": share, "user": user, "rights": RIGHTS[rank], "via_group": group}
        for (share, user), (rank, group) in sorted(best.items())
    ]


class FilterModule:
    """Ansible entry point: the directory filters."""

    def filters(self) -> dict:
        return {
            "directory_problems": directory_problems,
            "directory_account_plan": directory_account_plan,
            "directory_share_access": directory_share_access,
        }
