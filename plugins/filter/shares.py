"""Filters for directorate file shares: the shares as data, their POSIX ACLs, and the access review.

Role ``file_server`` writes the shares of ``file_server_shares`` (smb.conf sections and POSIX ACLs
on the share directories); ``playbooks/share-access-report.yml`` reads the live state back and
compares it with the same data for the access review (ISO 27001:2022 A.5.18). Everything that
decides is here, as pure functions that the unit tests (tests/unit/test_share_filters.py) run
without Ansible.

Rights and what they become on the server (Samba, ``nt acl support = no``):

==========  ==================  ===================  ==================================
right       POSIX ACL (+default) smb.conf             meaning
==========  ==================  ===================  ==================================
read        ``r-x``             ``read list``        list and open files
change      ``rwx``             ``write list``       also create, change, delete
full        ``rwx``             ``write list``       recorded as full; on a Linux server
                                                     the same as change (nobody changes
                                                     ACLs over SMB, they are data)
==========  ==================  ===================  ==================================

Filters:

``file_server_share_problems(shares, base, directory_groups=None, host='')``
    Problems of the share data (list of strings naming host, variable and share); empty is sound.
``file_server_smb_lists(access, workgroup)``
    ``{valid_users, read_list, write_list}``: the smb.conf values of one share's ``access``.
``file_server_acl_entries(access, workgroup)``
    The ACL entries (access and default) one share must carry, for ``ansible.posix.acl``.
``file_server_acl_extras(acl_lines, access, workgroup)``
    Named entries of a live ACL (getfacl lines) that the data does not give: to be removed.
``share_parse_getfacl(text)``, ``share_parse_testparm(text)``, ``share_parse_groups(text)``
    The live state as read on the server: getfacl output, ``testparm -s`` output, getent lines.
``share_access_review(shares, live, workgroup, directory_groups=None, directory_users=None)``
    Per share: who can reach it with which right through which group (live), who should (data),
    and every difference between the two.
``share_review_markdown(review)``
    The review as Markdown for the auditor (Turkish and English headings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

RIGHTS = ("read", "change", "full")
PERMS = {"read": "r-x", "change": "rwx", "full": "rwx"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# smb.conf sections that are never directorate shares.
SPECIAL_SECTIONS = {"global", "homes", "printers", "print$", "netlogon", "sysvol"}
# Characters written as octal escapes in a name given to setfacl. getfacl prints a backslash as
# "\\\\", but setfacl (acl 2.3.1) reads only the octal form back ("\\134"): measured.
QUOTED = set(" \t\n\r\\")


def _fail(msg: str):
    raise AnsibleFilterError(msg)


def _acl_quote(name: str) -> str:
    """A user or group name as setfacl reads it (octal escapes)."""
    return "".join(f"\\{ord(c):03o}" if c in QUOTED else c for c in name)


def _acl_unquote(text: str) -> str:
    return re.sub(r"\\(\\|[0-7]{3})", lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1), 8)), text)


def _key(name: str, workgroup: str) -> str:
    """Comparison key of a user or group name: ``workgroup\\name`` in lower case for the domain's
    names (given with or without the prefix), the name as it is for a local one (no prefix)."""
    if "\\" in name:
        dom, _, short = name.partition("\\")
        return f"{dom.lower()}\\{short.lower()}"
    return name.lower()


def _domain_key(group: str, workgroup: str) -> str:
    return f"{workgroup.lower()}\\{group.lower()}"


def _display(name: str, workgroup: str) -> str:
    """A live name as the report shows it: without the prefix for the domain's own names."""
    dom, sep, short = name.partition("\\")
    return short if sep and dom.lower() == workgroup.lower() else name


# --- the data -------------------------------------------------------------------------------------


def share_problems(shares, base, directory_groups=None, host: str = "") -> list[str]:
    """Problems of ``file_server_shares``; an empty list means the data is sound."""
    who = f"{host}: file_server_shares" if host else "file_server_shares"
    if not isinstance(shares, list):
        return [f"{who} must be a list of shares, not {type(shares).__name__}"]
    if not isinstance(base, str) or not base.startswith("/") or ".." in base.split("/"):
        return [
            f"{host + ': ' if host else ''}file_server_share_base must be an absolute path without '..', not {base!r}"
        ]
    base = base.rstrip("/")
    known = None
    if directory_groups is not None:
        known = {str(g.get("name", "")).lower() for g in directory_groups if isinstance(g, Mapping)}
    problems: list[str] = []
    names: set[str] = set()
    paths: set[str] = set()
    for i, share in enumerate(shares):
        if not isinstance(share, Mapping):
            problems.append(f"{who}[{i}] must be a dict, not {type(share).__name__}")
            continue
        name = share.get("name")
        at = f"{who}[{i}] ({name})"
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(f"{at}: name must be lower case letters, digits and '-' (at most 80), not {name!r}")
        elif name in names:
            problems.append(f"{at}: name is given twice")
        elif name in SPECIAL_SECTIONS:
            problems.append(f"{at}: name {name!r} is reserved by Samba")
        names.add(str(name))
        directorate = share.get("directorate")
        if not isinstance(directorate, str) or not re.match(r"^dir_[a-z0-9_]+$", directorate):
            problems.append(f"{at}: directorate must name a directorate (dir_...), not {directorate!r}")
        path = share.get("path")
        if not isinstance(path, str) or not path.startswith(base + "/") or ".." in path.split("/"):
            problems.append(f"{at}: path must be a directory under {base}/ without '..', not {path!r}")
        elif not re.match(r"^[A-Za-z0-9/._-]+$", path) or path.endswith("/") or "//" in path:
            problems.append(f"{at}: path {path!r} may hold only letters, digits, '/', '.', '_' and '-'")
        elif path in paths:
            problems.append(f"{at}: path {path} is given to another share too")
        else:
            for other in paths:
                if path.startswith(other + "/") or other.startswith(path + "/"):
                    problems.append(f"{at}: path {path} and {other} are nested; a share's ACLs would govern the other")
        paths.add(str(path))
        description = share.get("description", "")
        if not isinstance(description, str) or any(c in description for c in "\n\r[]"):
            problems.append(f"{at}: description must be one line of text without brackets")
        access = share.get("access")
        if not isinstance(access, list) or not access:
            problems.append(f"{at}: access must be a non-empty list of {{group, rights}}")
            continue
        seen: set[str] = set()
        for j, entry in enumerate(access):
            where = f"{at}: access[{j}]"
            if not isinstance(entry, Mapping):
                problems.append(f"{where} must be a dict with group and rights")
                continue
            group, rights = entry.get("group"), entry.get("rights")
            if not isinstance(group, str) or not GROUP_RE.match(group):
                problems.append(f"{where}: group must be a group name without the domain prefix, not {group!r}")
                continue
            if group.lower() in seen:
                problems.append(f"{where}: group {group} is given twice; give it one right")
            seen.add(group.lower())
            if rights not in RIGHTS:
                problems.append(f"{where} ({group}): rights must be one of {', '.join(RIGHTS)}, not {rights!r}")
            if known is not None and group.lower() not in known:
                problems.append(f"{where}: group {group} is not in directory_groups")
    return problems


def smb_lists(access, workgroup: str) -> dict:
    """smb.conf ``valid users``, ``read list`` and ``write list`` of a share (``+`` = a group)."""

    def fmt(entries):
        return " ".join(f"+{workgroup}\\{e['group']}" for e in entries)

    access = list(access or [])
    return {
        "valid_users": fmt(access),
        "read_list": fmt([e for e in access if e.get("rights") == "read"]),
        "write_list": fmt([e for e in access if e.get("rights") in ("change", "full")]),
    }


def acl_entries(access, workgroup: str) -> list[dict]:
    """Entries for ansible.posix.acl, access ACL then default ACL. The owning user (root) keeps
    rwx, the owning group and everyone else get nothing; each group of the data gets its right,
    and the default ACL gives new files and folders the same. The access mask is given last and
    explicitly (rwx), so that the folder's mode stays 0770 whatever the rights are: the named
    entries alone decide."""
    entries = []
    for default in (False, True):
        entries += [
            {"etype": "user", "entity": "", "permissions": "rwx", "default": default},
            {"etype": "group", "entity": "", "permissions": "---", "default": default},
            {"etype": "other", "entity": "", "permissions": "---", "default": default},
        ]
        for e in access or []:
            entries.append(
                {
                    "etype": "group",
                    "entity": _acl_quote(f"{workgroup}\\{e['group']}"),
                    "permissions": PERMS[e["rights"]],
                    "default": default,
                }
            )
        if not default:
            entries.append({"etype": "mask", "entity": "", "permissions": "rwx", "default": False})
    return entries


def share_acl_plan(share, workgroup: str) -> list[list]:
    """``[share, entry]`` pairs of one share, for a loop over every share's ACL entries."""
    return [[share, e] for e in acl_entries(share.get("access"), workgroup)]


def acl_extras(acl_lines, access, workgroup: str) -> list[dict]:
    """Named user and group entries of a live ACL (the ``acl`` list of ansible.posix.acl with
    ``state: query``, i.e. getfacl lines) that the data does not give; each as an entry for
    ``state: absent`` (the name quoted for setfacl)."""
    wanted = {_domain_key(e["group"], workgroup) for e in access or []}
    extras = []
    for entry in share_parse_getfacl("\n".join(acl_lines or []))["entries"]:
        if not entry["qualifier"]:
            continue
        if entry["tag"] == "group" and _key(entry["qualifier"], workgroup) in wanted:
            continue
        extras.append({"etype": entry["tag"], "entity": _acl_quote(entry["qualifier"]), "default": entry["default"]})
    return extras


def share_acl_extras(result, workgroup: str) -> list[list]:
    """``[share, entry]`` pairs of the extras of one ``state: query`` loop result (its ``item``
    is the share, its ``acl`` the live ACL)."""
    share = result["item"]
    return [[share, e] for e in acl_extras(result.get("acl"), share.get("access"), workgroup)]


# --- the live state -------------------------------------------------------------------------------


def share_parse_getfacl(text: str) -> dict:
    """getfacl output (with or without header) as {owner, group, entries}; each entry has
    default, tag (user/group/mask/other), qualifier (unquoted name, '' for the base entries),
    raw_qualifier and perms."""
    out = {"owner": None, "group": None, "entries": []}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = re.match(r"#\s*(owner|group):\s*(\S+)", line)
            if m:
                out[m.group(1)] = _acl_unquote(m.group(2))
            continue
        line = line.split("#", 1)[0].strip()  # drop "#effective:r-x"
        default = False
        if line.startswith("default:"):
            default, line = True, line[len("default:") :]
        parts = line.split(":")
        if len(parts) != 3:
            _fail(f"share_parse_getfacl: cannot read the ACL line {line!r}")
        tag, qualifier, perms = parts
        tag = {"u": "user", "g": "group", "m": "mask", "o": "other"}.get(tag, tag)
        out["entries"].append(
            {
                "default": default,
                "tag": tag,
                "qualifier": _acl_unquote(qualifier),
                "raw_qualifier": qualifier,
                "perms": perms,
            }
        )
    return out


def share_parse_testparm(text: str) -> dict:
    """``testparm -s`` output as {section: {option: value}} (options in lower case)."""
    sections: dict[str, dict] = {}
    current = None
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            current = sections.setdefault(m.group(1), {})
            continue
        if current is not None and "=" in line:
            key, _, value = line.partition("=")
            current[" ".join(key.split()).lower()] = value.strip()
    return sections


def share_parse_groups(text: str) -> dict:
    """``getent group`` lines as {group name: [member names]}."""
    groups = {}
    for line in (text or "").splitlines():
        parts = line.rstrip("\n").split(":")
        if len(parts) < 4:
            continue
        groups[parts[0]] = [m for m in parts[3].split(",") if m]
    return groups


def _smb_names(value: str | None) -> set[str]:
    """Names of an smb.conf user list, without the group markers (+ @ &) and quotes."""
    names = set()
    for token in re.findall(r'"[^"]*"|[^\s,]+', value or ""):
        token = token.strip('"').lstrip("+@&").strip('"')
        if token:
            names.add(token)
    return names


def _effective(perms: str, mask: str | None) -> str:
    if mask is None:
        return perms
    return "".join(p if p == m else "-" for p, m in zip(perms, mask, strict=True))


def _right_label(perms: str, intended: str | None = None) -> str:
    if perms == "rwx":
        return intended if intended in ("change", "full") else "change"
    if perms == "r-x":
        return "read"
    return f"other ({perms})"


def _intended_members(directory_groups, directory_users) -> dict | None:
    """{group key (lower case): set of usernames} from the directory data; None without data."""
    if directory_groups is None and directory_users is None:
        return None
    members: dict[str, set] = {}
    for g in directory_groups or []:
        members.setdefault(str(g.get("name", "")).lower(), set()).update(str(m).lower() for m in g.get("members") or [])
    for u in directory_users or []:
        for g in u.get("groups") or []:
            members.setdefault(str(g).lower(), set()).add(str(u.get("username", "")).lower())
    return members


def share_access_review(
    shares, live, workgroup: str, directory_groups=None, directory_users=None, host: str = ""
) -> dict:
    """Compare the intended access (``shares``, the data) with the live state of one server.

    ``live`` is {"shares": {name: {"path", "exists", "getfacl"}}, "testparm": text,
    "groups": getent lines}. Returns {host, shares: [...], extra_shares: [...], differences: n}.
    """
    if not isinstance(live, Mapping):
        _fail(f"share_access_review: live state of {host or 'the server'} must be a dict")
    smb = share_parse_testparm(live.get("testparm", ""))
    members_live = {_key(k, workgroup): v for k, v in share_parse_groups(live.get("groups", "")).items()}
    members_data = _intended_members(directory_groups, directory_users)
    result = []
    total = 0
    data_names = set()
    for share in shares or []:
        name = share["name"]
        data_names.add(name)
        state = (live.get("shares") or {}).get(name) or {}
        diffs: list[dict] = []

        def diff(kind, detail, group=None, diffs=diffs):
            diffs.append({"kind": kind, "group": group, "detail": detail})

        intended = {_domain_key(e["group"], workgroup): e for e in share.get("access") or []}
        intended_users = []
        for e in share.get("access") or []:
            for user in sorted((members_data or {}).get(e["group"].lower(), set())):
                intended_users.append({"user": user, "rights": e["rights"], "via_group": e["group"]})

        # POSIX ACL of the share directory.
        acl_groups: dict[bool, dict[str, dict]] = {False: {}, True: {}}
        if not state.get("exists", False):
            diff("path_missing", f"{share['path']} does not exist on the server")
        else:
            acl = share_parse_getfacl(state.get("getfacl", ""))
            if acl["owner"] not in (None, "root") or acl["group"] not in (None, "root"):
                diff("owner_differs", f"owner {acl['owner']}:{acl['group']}, the data wants root:root")
            for default in (False, True):
                entries = [e for e in acl["entries"] if e["default"] == default]
                mask = next((e["perms"] for e in entries if e["tag"] == "mask"), None)
                scope = "default ACL" if default else "ACL"
                prefix = "default_" if default else ""
                if default and not entries:
                    diff("default_acl_missing", "the directory has no default ACL; new files would not inherit access")
                    continue
                for e in entries:
                    eff = _effective(e["perms"], mask if e["tag"] == "group" or e["qualifier"] else None)
                    if e["tag"] == "other" and e["perms"] != "---":
                        diff(prefix + "other_access", f"everyone else has {e['perms']} in the {scope}")
                    elif e["tag"] == "group" and not e["qualifier"] and eff != "---":
                        diff(prefix + "owning_group_access", f"the owning group has {eff} in the {scope}")
                    elif e["tag"] == "user" and e["qualifier"]:
                        diff(
                            prefix + "acl_entry_not_in_data",
                            f"user {e['qualifier']} has {eff} in the {scope}; the data grants shares to groups only",
                        )
                    elif e["tag"] == "group" and e["qualifier"]:
                        key = _key(e["qualifier"], workgroup)
                        acl_groups[default][key] = {"name": e["qualifier"], "perms": eff}
                        if key not in intended:
                            diff(
                                prefix + "acl_entry_not_in_data",
                                f"group {e['qualifier']} has {eff} in the {scope}, which the data does not grant",
                                _display(e["qualifier"], workgroup),
                            )
                        elif eff != PERMS[intended[key]["rights"]]:
                            want = intended[key]["rights"]
                            diff(
                                prefix + "right_differs",
                                f"group {e['qualifier']} has {eff} ({_right_label(eff)}) in the {scope}; "
                                f"the data says {want} ({PERMS[want]})",
                                intended[key]["group"],
                            )
                for key, e in intended.items():
                    if key not in acl_groups[default]:
                        diff(
                            prefix + "group_missing_from_acl",
                            f"group {e['group']} ({e['rights']}) is in the data but not in the {scope}",
                            e["group"],
                        )

        # Samba's view of the share (testparm -s: the configuration smbd runs with).
        section = smb.get(name)
        smb_lists_live = {"valid users": set(), "read list": set(), "write list": set()}
        if section is None:
            diff("share_not_in_smb_conf", f"smb.conf has no share [{name}]")
        else:
            if section.get("path", "").rstrip("/") != share["path"]:
                diff(
                    "smb_path_differs",
                    f"smb.conf serves {section.get('path')} as [{name}], the data says {share['path']}",
                )
            want = smb_lists(share.get("access"), workgroup)
            for option, field in (
                ("valid users", "valid_users"),
                ("read list", "read_list"),
                ("write list", "write_list"),
            ):
                have = {_key(n, workgroup) for n in _smb_names(section.get(option))}
                smb_lists_live[option] = have
                wanted = {_key(n, workgroup) for n in _smb_names(want[field])}
                for n in sorted(have - wanted):
                    diff(
                        f"smb_{field}_not_in_data",
                        f"{option} names {n}, which the data does not",
                        _display(n, workgroup),
                    )
                for n in sorted(wanted - have):
                    diff(f"smb_{field}_missing", f"{option} lacks {n}, which the data gives", _display(n, workgroup))
            if section.get("guest ok", "no").lower() in ("yes", "true", "1"):
                diff("smb_guest_ok", "guests may connect")

        # Who can reach the share now: a group with an ACL entry that Samba lets in.
        live_users = []
        valid = smb_lists_live["valid users"]
        read_only = section is None or section.get("read only", "yes").lower() in ("yes", "true", "1")
        for key, entry in sorted(acl_groups[False].items()):
            perms = entry["perms"]
            if section is None or (valid and key not in valid) or "r" not in perms or "x" not in perms:
                continue
            smb_write = key in smb_lists_live["write list"] or (
                not read_only and key not in smb_lists_live["read list"]
            )
            intended_right = intended.get(key, {}).get("rights")
            right = _right_label(perms if smb_write else perms.replace("w", "-"), intended_right)
            group = intended.get(key, {}).get("group") or _display(entry["name"], workgroup)
            if key not in members_live:
                diff("group_unknown", f"the server cannot resolve group {entry['name']} (winbind)", group)
            for member in sorted(members_live.get(key, [])):
                live_users.append({"user": _display(member, workgroup), "rights": right, "via_group": group})

        # Membership: who is in the groups now, against the directory data (when it is given).
        if members_data is not None:
            want_pairs = {(u["user"].lower(), u["via_group"].lower()) for u in intended_users}
            have_pairs = {(u["user"].lower(), u["via_group"].lower()) for u in live_users}
            for user, group in sorted(have_pairs - want_pairs):
                diff(
                    "member_not_in_data",
                    f"{user} reaches the share through {group}, which the data does not say",
                    group,
                )
            for user, group in sorted(want_pairs - have_pairs):
                if _domain_key(group, workgroup) in acl_groups[False]:
                    diff("member_missing", f"{user} should reach the share through {group} but does not", group)

        total += len(diffs)
        result.append(
            {
                "share": name,
                "path": share["path"],
                "directorate": share.get("directorate"),
                "description": share.get("description", ""),
                "intended_access": [{"group": e["group"], "rights": e["rights"]} for e in share.get("access") or []],
                "intended_users": intended_users if members_data is not None else None,
                "live_acl": [
                    {"group": _display(v["name"], workgroup), "perms": v["perms"], "default": d}
                    for d in (False, True)
                    for _, v in sorted(acl_groups[d].items())
                ],
                "live_users": live_users,
                "differences": diffs,
            }
        )

    base_paths = {s["path"].rsplit("/", 1)[0] for s in shares or []}
    extra = []
    for section, options in sorted(smb.items()):
        if section.lower() in SPECIAL_SECTIONS or section in data_names:
            continue
        path = options.get("path", "")
        if any(path.startswith(b + "/") for b in base_paths):
            extra.append({"share": section, "path": path, "detail": "shared by smb.conf, not in the data"})
    total += len(extra)
    return {"host": host, "shares": result, "extra_shares": extra, "differences": total}


def live_share(result) -> dict:
    """The live state of one share from a ``getfacl`` loop result (its ``item`` is the share)."""
    return {
        "path": result["item"]["path"],
        "exists": result.get("rc") == 0,
        "getfacl": result.get("stdout", "") if result.get("rc") == 0 else "",
    }


def report_group_names(shares, getfacl_results, workgroup: str) -> list[str]:
    """Every group whose members the review needs: the named groups of the live ACLs (as the
    server names them) and the groups of the data (with the domain prefix), once each."""
    names = []
    for result in getfacl_results or []:
        for entry in share_parse_getfacl(result.get("stdout", "") if result.get("rc") == 0 else "")["entries"]:
            if entry["tag"] == "group" and entry["qualifier"]:
                names.append(entry["qualifier"])
    for share in shares or []:
        names += [f"{workgroup}\\{e['group']}" for e in share.get("access") or []]
    seen, out = set(), []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def report_host(pair) -> dict:
    """``[host, review or None]``: the review, or a host that could not be read (one difference:
    the review of that server is missing)."""
    host, review = pair
    if review:
        return dict(review)
    error = "unreachable or failed: not read"
    return {"host": host, "error": error, "shares": [], "extra_shares": [], "differences": 1}


def report_total(report) -> dict:
    """The whole report with ``differences``, the sum over its hosts."""
    out = dict(report)
    out["differences"] = sum(int(h.get("differences", 0)) for h in report.get("hosts", []))
    return out


# --- the report -----------------------------------------------------------------------------------


def _cell(value) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def share_review_markdown(review: Mapping) -> str:
    """The whole review ({stamp, hosts: [share_access_review results]}) as Markdown."""
    stamp = review.get("stamp", {})
    lines = [
        "# Paylaşım erişim gözden geçirmesi / Share access review",
        "",
        "> **Erişim gözden geçirmesi içindir (ISO 27001:2022 A.5.18).** Bu rapor kullanıcı adları, yani kişisel veri "
        "içerir (KVKK): yalnız erişim gözden geçirmesi için kullanın, paylaşmayın, saklama süresi bitince silin.",
        "> **For the access review only (ISO 27001:2022 A.5.18).** This report names users (personal data): use it "
        "for the access review, do not pass it on, delete it when its retention ends.",
        "",
        f"- Tarih / date: {stamp.get('generated', '')}",
        f"- Commit: {stamp.get('commit', '')}{' (dirty)' if stamp.get('dirty') else ''}",
        f"- Envanter / inventory: {stamp.get('inventory', '')}",
        f"- Fark / differences: **{review.get('differences', 0)}**"
        + (" — canlı durum veriyle uyuşmuyor / live state differs from the data" if review.get("differences") else ""),
        "",
        "Haklar / rights: read = okuma (r-x), change = değiştirme (rwx), full = tam (rwx; Samba'da change ile aynı, "
        "ACL'ler SMB üzerinden değiştirilemez / same as change on Samba, ACLs cannot be changed over SMB).",
    ]
    for host in review.get("hosts", []):
        lines += ["", f"## {host.get('host')}"]
        if host.get("error"):
            lines += ["", f"**Okunamadı / not read:** {_cell(host['error'])}"]
            continue
        for share in host.get("shares", []):
            lines += [
                "",
                f"### [{share['share']}] {_cell(share['path'])}",
                "",
                f"{_cell(share.get('description'))} ({share.get('directorate')})",
                "",
                "Verideki erişim / intended access: "
                + ", ".join(f"{a['group']} ({a['rights']})" for a in share["intended_access"]),
                "",
                "| Kullanıcı / user | Hak / right | Grup / via group |",
                "|---|---|---|",
            ]
            lines += [f"| {_cell(u['user'])} | {u['rights']} | {_cell(u['via_group'])} |" for u in share["live_users"]]
            if not share["live_users"]:
                lines.append("| (kimse / nobody) | | |")
            lines += ["", "Farklar / differences:" if share["differences"] else "Farklar / differences: yok / none"]
            lines += [f"- `{d['kind']}`: {_cell(d['detail'])}" for d in share["differences"]]
        for extra in host.get("extra_shares", []):
            lines += ["", f"- `share_not_in_data`: [{_cell(extra['share'])}] {_cell(extra['path'])}"]
    return "\n".join(lines) + "\n"


class FilterModule:
    """Ansible entry point: the file share filters."""

    def filters(self) -> dict:
        return {
            "file_server_share_problems": share_problems,
            "file_server_smb_lists": smb_lists,
            "file_server_acl_entries": acl_entries,
            "file_server_acl_extras": acl_extras,
            "file_server_share_acl_plan": share_acl_plan,
            "file_server_share_acl_extras": share_acl_extras,
            "share_parse_getfacl": share_parse_getfacl,
            "share_parse_testparm": share_parse_testparm,
            "share_parse_groups": share_parse_groups,
            "share_access_review": share_access_review,
            "share_review_markdown": share_review_markdown,
            "share_access_report_live_share": live_share,
            "share_access_report_host": report_host,
            "share_access_report_group_names": report_group_names,
            "share_access_report_total": report_total,
        }
