"""Filters of the mail_server role: input checks of tasks/assert.yml, and the values derived from the
inventory for Postfix, Dovecot and the DNS records file.

Every filter is a pure function: nothing here reads facts or touches a host. The ``*_problems``
filters never raise on bad input: they return a list of messages, each naming the host, the
variable and what is wrong (an empty list means the input is sound), and assert.yml joins them into
one failure. Passwords and the salt key are read but never quoted in a message. The TLS
certificate, key and CA are checked by the repository's ``pki_tls_problems`` filter
(plugins/filter/pki.py).

Filters:

``mail_server_problems(inputs, host='')``
    Check the domains, the server's name, the relay networks (netaddr), the mailboxes, aliases and
    distribution lists: addresses well formed and in a served domain, no address defined twice,
    quotas, directorates, passwords present, every list reaching somebody.
``mail_server_range_problems(rows, host='')``
    Check ``[{key, value, min, max}]`` rows: each value a whole number from min to max.
``mail_server_salt(address, key)``
    A stable 16-character crypt salt for a mailbox: HMAC-SHA256 of the lower-cased address under
    the vault secret ``key``, written in crypt's alphabet. Never derived from the password.
``mail_server_virtual_aliases(aliases, lists, mailboxes)``
    ``[{address, targets}]`` for Postfix's virtual alias map: the aliases as given and each
    directorate list expanded to the present mailboxes of its directorate plus its extra members.
``mail_server_quota(value, default)``
    A quota as Dovecot's storage rule wants it (``2g`` -> ``2G``).
``mail_server_present(mailboxes, default_quota, with_password=False)``
    The present mailboxes sorted by address, each with ``local``, ``domain`` and its ``quota``
    filled in (the mailbox's own or the default); the password only when asked for.
``mail_server_dkim_public_key(pem)``
    The base64 body of a PEM public key (``openssl pkey -pubout``), the ``p=`` of a DKIM record.
``mail_server_dns_records(domain, params)``
    The zone-file-style text of a domain's records (MX, SPF, DKIM, DMARC) for the DNS
    administrators. The same input gives the same text, so writing it is idempotent.

Example (roles/mail_server/tasks/assert.yml)::

    - name: Domains, mailboxes, aliases and lists are valid
      ansible.builtin.assert:
        that: problems | length == 0
        fail_msg: "{{ problems | join('; ') }}"
      vars:
        problems: "{{ __mail_server_inputs | mail_server_problems(inventory_hostname) }}"
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPNetwork
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})+$")
# ASCII local parts only: letters, digits, '.', '_', '-' and '+'; no leading, trailing or double dot.
LOCAL_RE = re.compile(r"^[a-z0-9_+-]+(\.[a-z0-9_+-]+)*$")
QUOTA_RE = re.compile(r"^[1-9][0-9]*[KMGT]?$")
DIRECTORATE_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

MAILBOX_KEYS = frozenset({"address", "name", "password", "quota", "directorate", "state"})
ALIAS_KEYS = frozenset({"address", "to", "description"})
LIST_KEYS = frozenset({"address", "directorate", "members", "description"})
STATES = ("present", "absent")
PASSWORD_MIN = 12
SALT_KEY_MIN = 16
SALT_LEN = 16
CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Relay networks shorter than these would open the relay to a large part of the internet.
MIN_PREFIX = {4: 8, 6: 16}
TXT_CHUNK = 250
DMARC_POLICIES = ("none", "quarantine", "reject")

PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\n(.*?)\n-----END \1-----", re.S)


# --- small helpers -----------------------------------------------------------------------------


def _who(host: str, key: str) -> str:
    return f"{host}: {key}" if host else key


def _show(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r} ({type(value).__name__})"


def _one_line(value: object) -> bool:
    return isinstance(value, str) and "\n" not in value and "\r" not in value


def _address_reason(value: object) -> str | None:
    """Why value is not a mail address we can use, or None."""
    if not isinstance(value, str) or value.count("@") != 1:
        return "is not an address of the form local@domain"
    if value != value.lower():
        return "must be written in lower case"
    local, domain = value.split("@")
    if not local or len(local) > 64 or not LOCAL_RE.match(local):
        return (
            "has a local part that is not ASCII letters, digits, '.', '_', '-' or '+'"
            " (no leading, trailing or double dot)"
        )
    if not DOMAIN_RE.match(domain):
        return "has a domain that is not a DNS name"
    return None


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def _address_list(value: object, where: str, problems: list[str]) -> list[str]:
    if not isinstance(value, list):
        problems.append(f"{where} must be a list of addresses, got {_show(value)}")
        return []
    good = []
    for item in value:
        reason = _address_reason(item)
        if reason:
            problems.append(f"{where} has {_show(item)}, which {reason}")
        else:
            good.append(item)
    return good


def _present(mailbox: Mapping) -> bool:
    return mailbox.get("state", "present") == "present"


# --- input checks --------------------------------------------------------------------------------


def _domain_problems(domains: object, host: str) -> list[str]:
    where = _who(host, "mail_server_domains")
    if not isinstance(domains, list) or not domains:
        return [f"{where} must be a non-empty list of mail domains such as ornek.bel.tr, got {_show(domains)}"]
    problems = []
    seen = set()
    for domain in domains:
        if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
            problems.append(f"{where} has {_show(domain)}, which is not a lower-case DNS name with a dot")
        elif domain in seen:
            problems.append(f"{where} lists {domain} twice")
        else:
            seen.add(domain)
    return problems


def _hostname_problems(hostname: object, host: str) -> list[str]:
    if hostname == "" or hostname is None:
        return []
    if not isinstance(hostname, str) or not DOMAIN_RE.match(hostname):
        return [f"{_who(host, 'mail_server_hostname')} must be empty or a lower-case DNS name, got {_show(hostname)}"]
    return []


def _network_problems(networks: object, host: str) -> list[str]:
    where = _who(host, "mail_server_mynetworks")
    if not isinstance(networks, list):
        return [f"{where} must be a list of networks such as 10.20.30.0/24, got {_show(networks)}"]
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"mail_server: the netaddr Python library is required: {NETADDR_IMPORT_ERROR}")
    problems = []
    for value in networks:
        if not isinstance(value, str) or "/" not in value:
            problems.append(f"{where}: {_show(value)} is not a network in CIDR notation such as 10.20.30.0/24")
            continue
        try:
            net = IPNetwork(value)
        except (AddrFormatError, ValueError, TypeError):
            problems.append(f"{where}: {_show(value)} is not a valid network")
            continue
        if net.ip != net.network:
            problems.append(f"{where}: {_show(value)} has host bits set (the network is {net.cidr})")
        elif net.prefixlen < MIN_PREFIX[net.version]:
            problems.append(
                f"{where}: {_show(value)} is wider than /{MIN_PREFIX[net.version]}; hosts there could relay"
                " mail anywhere without logging in (an open relay)"
            )
    return problems


def _mailbox_problems(mailboxes: object, domains: set, inputs: Mapping, host: str, owners: dict) -> list[str]:
    where = _who(host, "mail_server_mailboxes")
    if not isinstance(mailboxes, list):
        return [f"{where} must be a list of mailboxes, got {_show(mailboxes)}"]
    problems = []
    for index, box in enumerate(mailboxes):
        if not isinstance(box, Mapping):
            problems.append(f"{where}[{index}] must be a mapping, got {_show(box)}")
            continue
        address = box.get("address")
        label = f"{where} '{address}'" if isinstance(address, str) else f"{where}[{index}]"
        unknown = sorted(set(box) - MAILBOX_KEYS)
        if unknown:
            problems.append(f"{label} has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(MAILBOX_KEYS))})")
        problems += _owned_address(address, label, "mailbox", domains, owners)
        state = box.get("state", "present")
        if state not in STATES:
            problems.append(f"{label}: state must be present or absent, got {_show(state)}")
        name = box.get("name", "")
        if not _one_line(name):
            problems.append(f"{label}: name must be one line of text, got {_show(name)}")
        password = box.get("password")
        if state == "present" and (not isinstance(password, str) or len(password) < PASSWORD_MIN):
            # The password itself is never shown.
            problems.append(
                f"{label}: password must be a string of at least {PASSWORD_MIN} characters (from the vault)"
            )
        quota = box.get("quota", inputs.get("mail_server_default_quota"))
        if not isinstance(quota, str) or not QUOTA_RE.match(quota.upper()):
            problems.append(f"{label}: quota must be a size such as 500M, 2G or 1T, got {_show(quota)}")
        directorate = box.get("directorate", "")
        if directorate != "" and (not isinstance(directorate, str) or not DIRECTORATE_RE.match(directorate)):
            problems.append(
                f"{label}: directorate must be a lower-case name of letters, digits and '_' such as fen_isleri,"
                f" got {_show(directorate)}"
            )
    return problems


def _owned_address(address: object, label: str, kind: str, domains: set, owners: dict) -> list[str]:
    reason = _address_reason(address)
    if reason:
        return [f"{label}: address {_show(address)} {reason}"]
    if _domain_of(address) not in domains:
        return [
            f"{label}: address {address} is not in a served domain (mail_server_domains: {', '.join(sorted(domains))})"
        ]
    if address in owners:
        return [f"{label}: address {address} is already defined as a {owners[address]}"]
    owners[address] = kind
    return []


def _alias_problems(aliases: object, domains: set, host: str, owners: dict) -> list[str]:
    where = _who(host, "mail_server_aliases")
    if not isinstance(aliases, list):
        return [f"{where} must be a list of aliases, got {_show(aliases)}"]
    problems = []
    for index, alias in enumerate(aliases):
        if not isinstance(alias, Mapping):
            problems.append(f"{where}[{index}] must be a mapping, got {_show(alias)}")
            continue
        address = alias.get("address")
        label = f"{where} '{address}'" if isinstance(address, str) else f"{where}[{index}]"
        unknown = sorted(set(alias) - ALIAS_KEYS)
        if unknown:
            problems.append(f"{label} has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(ALIAS_KEYS))})")
        problems += _owned_address(address, label, "alias", domains, owners)
        targets = _address_list(alias.get("to"), f"{label}: to", problems)
        if isinstance(alias.get("to"), list) and not alias.get("to"):
            problems.append(f"{label}: to must name at least one address")
        if address in targets:
            problems.append(f"{label}: an alias cannot point to itself")
        if not _one_line(alias.get("description", "")):
            problems.append(f"{label}: description must be one line of text")
    return problems


def _list_problems(lists: object, mailboxes: object, domains: set, host: str, owners: dict) -> list[str]:
    where = _who(host, "mail_server_lists")
    if not isinstance(lists, list):
        return [f"{where} must be a list of distribution lists, got {_show(lists)}"]
    problems = []
    boxes = [b for b in mailboxes if isinstance(b, Mapping)] if isinstance(mailboxes, list) else []
    for index, entry in enumerate(lists):
        if not isinstance(entry, Mapping):
            problems.append(f"{where}[{index}] must be a mapping, got {_show(entry)}")
            continue
        address = entry.get("address")
        label = f"{where} '{address}'" if isinstance(address, str) else f"{where}[{index}]"
        unknown = sorted(set(entry) - LIST_KEYS)
        if unknown:
            problems.append(f"{label} has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(LIST_KEYS))})")
        problems += _owned_address(address, label, "list", domains, owners)
        directorate = entry.get("directorate")
        if not isinstance(directorate, str) or not DIRECTORATE_RE.match(directorate):
            problems.append(
                f"{label}: directorate must be a lower-case name of letters, digits and '_' such as fen_isleri,"
                f" got {_show(directorate)}"
            )
        members = _address_list(entry.get("members", []), f"{label}: members", problems)
        if address in members:
            problems.append(f"{label}: a list cannot be its own member")
        reached = [b for b in boxes if b.get("directorate") == directorate and _present(b)]
        if not reached and not members:
            problems.append(
                f"{label} reaches nobody: no present mailbox has directorate {_show(directorate)} and it has no members"
            )
        if not _one_line(entry.get("description", "")):
            problems.append(f"{label}: description must be one line of text")
    return problems


def _target_problems(inputs: Mapping, domains: set, host: str, owners: dict) -> list[str]:
    """Alias targets and list members in a served domain must be a present mailbox, an alias or a
    list here: a typo would bounce, and a leaver's address would keep receiving the team's mail."""
    mailboxes = inputs.get("mail_server_mailboxes", [])
    absent = {
        b.get("address") for b in mailboxes if isinstance(b, Mapping) and not _present(b)
    } if isinstance(mailboxes, list) else set()  # fmt: skip
    problems = []
    for var, field in (("mail_server_aliases", "to"), ("mail_server_lists", "members")):
        entries = inputs.get(var, [])
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get(field, []), list):
                continue
            label = f"{_who(host, var)} '{entry.get('address')}'"
            for target in entry.get(field, []):
                if not isinstance(target, str) or _domain_of(target) not in domains:
                    continue
                if target in absent:
                    problems.append(f"{label}: {field} names {target}, whose mailbox is absent (a leaver): remove it")
                elif target not in owners:
                    problems.append(f"{label}: {field} names {target}, which is no mailbox, alias or list here")
    return problems


def mail_server_problems(inputs: Mapping, host: str = "") -> list[str]:
    """Problems of the role's inputs (a mapping of its variables); an empty list means they are sound."""
    domains_value = inputs.get("mail_server_domains")
    problems = _domain_problems(domains_value, host)
    domains = {d for d in domains_value if isinstance(d, str)} if isinstance(domains_value, list) else set()
    problems += _hostname_problems(inputs.get("mail_server_hostname", ""), host)
    problems += _network_problems(inputs.get("mail_server_mynetworks", []), host)
    default_quota = inputs.get("mail_server_default_quota", "")
    if not isinstance(default_quota, str) or not QUOTA_RE.match(default_quota.upper()):
        problems.append(
            f"{_who(host, 'mail_server_default_quota')} must be a size such as 500M, 2G or 1T,"
            f" got {_show(default_quota)}"
        )
    owners: dict[str, str] = {}
    mailboxes = inputs.get("mail_server_mailboxes", [])
    problems += _mailbox_problems(mailboxes, domains, inputs, host, owners)
    problems += _alias_problems(inputs.get("mail_server_aliases", []), domains, host, owners)
    problems += _list_problems(inputs.get("mail_server_lists", []), mailboxes, domains, host, owners)
    problems += _target_problems(inputs, domains, host, owners)
    key = inputs.get("mail_server_password_salt_key", "")
    has_boxes = isinstance(mailboxes, list) and any(isinstance(b, Mapping) and _present(b) for b in mailboxes)
    if has_boxes and (not isinstance(key, str) or len(key) < SALT_KEY_MIN):
        problems.append(
            f"{_who(host, 'mail_server_password_salt_key')} must be a secret of at least {SALT_KEY_MIN} characters"
            " (from the vault): the mailboxes' password-hash salts are derived from it"
        )
    return problems


def mail_server_range_problems(rows: list, host: str = "") -> list[str]:
    """Problems of ``[{key, value, min, max}]`` rows: each value must be a whole number in min..max."""
    problems = []
    for row in rows:
        value, key = row["value"], _who(host, row["key"])
        if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{key} must be a whole number, got {_show(row['value'])}")
        elif not row["min"] <= value <= row["max"]:
            problems.append(f"{key} must be from {row['min']} to {row['max']}, got {value}")
    return problems


# --- derived values ------------------------------------------------------------------------------


def mail_server_salt(address: str, key: str) -> str:
    """A stable crypt salt for one mailbox, from the vault secret and the address (never the password)."""
    if not isinstance(address, str) or not isinstance(key, str) or not key:
        raise AnsibleFilterError("mail_server_salt: needs the address and a non-empty salt key (run assert.yml)")
    digest = hmac.new(key.encode(), address.lower().encode(), hashlib.sha256).digest()
    return "".join(CRYPT_ALPHABET[b % 64] for b in digest[:SALT_LEN])


def mail_server_quota(value: object, default: object = "") -> str:
    """A Dovecot storage size in upper case (2g -> 2G); the default when value is empty or None."""
    chosen = value if value not in (None, "") else default
    if not isinstance(chosen, str) or not QUOTA_RE.match(chosen.upper()):
        raise AnsibleFilterError(f"mail_server_quota: {_show(chosen)} is not a size such as 2G (run assert.yml)")
    return chosen.upper()


def mail_server_present(mailboxes: list, default_quota: str = "", with_password: bool = False) -> list[dict]:
    """Present mailboxes by address, with local part, domain and the quota (own or default) filled in.

    The password is left out unless ``with_password``: only the no_log task that writes the hashes
    asks for it.
    """
    rows = []
    try:
        for box in mailboxes or []:
            if not _present(box):
                continue
            local, _, domain = box["address"].partition("@")
            row = {k: v for k, v in box.items() if with_password or k != "password"}
            row.update(local=local, domain=domain, quota=mail_server_quota(box.get("quota"), default_quota))
            rows.append(row)
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError(f"mail_server_present: malformed mailboxes ({exc}); run assert.yml") from None
    return sorted(rows, key=lambda r: r["address"])


def mail_server_virtual_aliases(aliases: list, lists: list, mailboxes: list) -> list[dict]:
    """Postfix virtual alias entries: aliases as given, lists expanded from the directorate's mailboxes."""
    entries: dict[str, list[str]] = {}
    try:
        for alias in aliases or []:
            entries[alias["address"]] = list(dict.fromkeys(alias["to"]))
        for entry in lists or []:
            reached = [
                b["address"] for b in mailboxes or [] if b.get("directorate") == entry["directorate"] and _present(b)
            ]
            targets = sorted(set(reached) | set(entry.get("members", [])))
            if not targets:
                raise AnsibleFilterError(f"mail_server_virtual_aliases: list {entry['address']} reaches nobody")
            entries[entry["address"]] = targets
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"mail_server_virtual_aliases: malformed input ({exc}); run assert.yml") from None
    return [{"address": a, "targets": entries[a]} for a in sorted(entries)]


def mail_server_dkim_public_key(pem: object) -> str:
    """The base64 body of a PEM public key, on one line: the p= value of a DKIM record."""
    if not isinstance(pem, str):
        raise AnsibleFilterError(f"mail_server_dkim_public_key: expected PEM text, got {_show(pem)}")
    match = PEM_BLOCK_RE.search(pem.replace("\r\n", "\n").strip())
    if not match or match.group(1) != "PUBLIC KEY":
        raise AnsibleFilterError("mail_server_dkim_public_key: no '-----BEGIN PUBLIC KEY-----' block found")
    body = "".join(match.group(2).split())
    try:
        base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise AnsibleFilterError("mail_server_dkim_public_key: the key's body is not base64") from None
    return body


def _txt(value: str) -> str:
    """A TXT record value as quoted strings of at most TXT_CHUNK characters (RFC 1035 limits one to 255)."""
    chunks = [value[i : i + TXT_CHUNK] for i in range(0, len(value), TXT_CHUNK)] or [""]
    quoted = [f'"{c}"' for c in chunks]
    if len(quoted) == 1:
        return quoted[0]
    return "( " + "\n      ".join(quoted) + " )"


def mail_server_dns_records(domain: str, params: Mapping) -> str:
    """Zone-file-style records of one mail domain, for the DNS administrators.

    ``params``: hostname (the MX target), mx_priority, spf (empty: ``v=spf1 mx -all``), selector and
    dkim_key (base64; empty: no DKIM record), dmarc_policy, dmarc_rua (empty: no rua tag), source
    (the inventory host the records describe).
    """
    try:
        hostname = params["hostname"]
        priority = int(params.get("mx_priority", 10))
        spf = params.get("spf") or "v=spf1 mx -all"
        dkim_key = params.get("dkim_key", "")
        selector = params.get("selector", "")
        policy = params.get("dmarc_policy", "quarantine")
        rua = params.get("dmarc_rua", "")
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"mail_server_dns_records: malformed parameters ({exc})") from None
    if policy not in DMARC_POLICIES:
        raise AnsibleFilterError(
            f"mail_server_dns_records: DMARC policy {_show(policy)} is not one of {DMARC_POLICIES}"
        )
    dmarc = f"v=DMARC1; p={policy}" + (f"; rua={rua}" if rua else "")
    rows = [
        ("@", "MX", f"{priority} {hostname}."),
        ("@", "TXT", _txt(spf)),
    ]
    if dkim_key:
        rows.append((f"{selector}._domainkey", "TXT", _txt(f"v=DKIM1; h=sha256; k=rsa; p={dkim_key}")))
    rows.append(("_dmarc", "TXT", _txt(dmarc)))
    width = max(len(name) for name, _, _ in rows)
    lines = [
        f"; Mail records of {domain}, written by Ansible (role mail_server, host {params.get('source', '?')}).",
        "; For the DNS administrators: publish these in the zone; the file is rewritten on every run.",
        f"; The MX target {hostname} needs its own A/AAAA record.",
        f"$ORIGIN {domain}.",
    ]
    lines += [f"{name.ljust(width)}  IN  {kind:<3}  {value}" for name, kind, value in rows]
    if not dkim_key:
        lines.append("; DKIM: no key yet (the signing key is made on the mail server at its first real run).")
    return "\n".join(lines) + "\n"


class FilterModule:
    """Filters of the mail_server role."""

    def filters(self):
        return {
            "mail_server_problems": mail_server_problems,
            "mail_server_range_problems": mail_server_range_problems,
            "mail_server_salt": mail_server_salt,
            "mail_server_quota": mail_server_quota,
            "mail_server_present": mail_server_present,
            "mail_server_virtual_aliases": mail_server_virtual_aliases,
            "mail_server_dkim_public_key": mail_server_dkim_public_key,
            "mail_server_dns_records": mail_server_dns_records,
        }
