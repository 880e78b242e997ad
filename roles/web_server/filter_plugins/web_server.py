"""Filters of the web_server role: the input checks of tasks/assert.yml and the site list with every
default filled in, which the nginx template reads.

Both are pure functions: nothing here reads facts or touches a host. ``web_server_site_problems``
never raises on bad input: it returns a list of messages, each naming the host, the variable and
what is wrong (an empty list means the sites are sound), and assert.yml joins them into one failure.
Certificates and keys are checked by the repository's ``pki_tls_problems`` filter
(plugins/filter/pki.py); a key is never quoted here.

Filters:

``web_server_site_problems(sites, host='')``
    Check ``web_server_sites``: names, server names (DNS names or IP addresses, netaddr), no name
    served twice, at most one default site, roots, sections, certificate sources, PHP switches.
``web_server_normalise_sites(sites, root_dir, tls_source, csp)``
    The sites sorted by name, each with ``root``, ``default_server``, ``php``, ``sections``,
    ``tls_source``, ``content_security_policy``, ``cert_file`` and ``key_file`` filled in.

Example (roles/web_server/tasks/assert.yml)::

    - name: The sites are valid
      ansible.builtin.assert:
        that: problems | length == 0
        fail_msg: "{{ problems | join('; ') }}"
      vars:
        problems: "{{ web_server_sites | web_server_site_problems(inventory_hostname) }}"
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    from netaddr import AddrFormatError, IPAddress
except ImportError as exc:  # reported when a filter is called, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR: ImportError | None = exc
else:
    NETADDR_IMPORT_ERROR = None

SITE_KEYS = frozenset(
    {
        "name",
        "server_names",
        "default_server",
        "root",
        "php",
        "sections",
        "tls_source",
        "content_security_policy",
    }
)
SECTION_KEYS = frozenset({"path", "language", "description"})
TLS_SOURCES = ("files", "acme")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
PATH_RE = re.compile(r"^/(?:[A-Za-z0-9._~-]+/)*$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")
ROOT_RE = re.compile(r"^/(?:[A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+$")
FORBIDDEN_ROOTS = frozenset({"/", "/etc", "/var", "/usr", "/root", "/home", "/boot", "/srv", "/var/www"})


def _is_ip(value: str) -> bool:
    if NETADDR_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"web_server filters need the Python package netaddr: {NETADDR_IMPORT_ERROR}")
    if not re.fullmatch(r"[0-9a-fA-F:.]+", value) or value.replace(".", "").isalpha():
        return False
    try:
        IPAddress(value)
    except (AddrFormatError, ValueError, TypeError):
        return False
    return True


def _is_dns_name(value: str) -> bool:
    labels = value.split(".")
    # A top-level label is never all digits: 10.231.0.300 is a bad address, not a name.
    return len(value) <= 253 and not labels[-1].isdigit() and all(LABEL_RE.match(label) for label in labels)


def _site_label(index: int, site: object) -> str:
    name = site.get("name") if isinstance(site, Mapping) else None
    return f"web_server_sites[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")


def _check_sections(sections: object, where: str, problems: list[str]) -> None:
    if not isinstance(sections, list):
        problems.append(f"{where}: sections must be a list of {{path, language}}, not {sections!r}")
        return
    seen: set[str] = set()
    for number, section in enumerate(sections):
        here = f"{where}: sections[{number}]"
        if not isinstance(section, Mapping):
            problems.append(f"{here} must be a mapping with path and language")
            continue
        unknown = sorted(set(section) - SECTION_KEYS)
        if unknown:
            problems.append(f"{here} has unknown keys {unknown}")
        path = section.get("path")
        if not isinstance(path, str) or not PATH_RE.match(path) or path == "/":
            problems.append(
                f"{here}: path must be a sub-path that starts and ends with '/', such as /en/, not {path!r}"
            )
        elif path in seen:
            problems.append(f"{here}: path {path} is listed twice")
        else:
            seen.add(path)
        language = section.get("language")
        if not isinstance(language, str) or not LANGUAGE_RE.match(language):
            problems.append(f"{here}: language must be a language tag such as en or tr, not {language!r}")


def web_server_site_problems(sites: object, host: str = "") -> list[str]:
    """Every problem of ``web_server_sites``; an empty list when the sites are sound."""
    prefix = f"{host}: " if host else ""
    if not isinstance(sites, list):
        return [f"{prefix}web_server_sites must be a list of sites, not {sites!r}"]
    problems: list[str] = []
    names: dict[str, str] = {}
    served: dict[str, str] = {}
    defaults: list[str] = []
    for index, site in enumerate(sites):
        where = prefix + _site_label(index, site)
        if not isinstance(site, Mapping):
            problems.append(f"{where} must be a mapping with at least name and server_names")
            continue
        unknown = sorted(set(site) - SITE_KEYS)
        if unknown:
            problems.append(f"{where} has unknown keys {unknown} (known: {sorted(SITE_KEYS)})")
        name = site.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(f"{where}: name must be lower-case letters, digits, '-' or '_' (at most 40), not {name!r}")
        elif name in names:
            problems.append(f"{where}: name {name} is already used by {names[name]}")
        else:
            names[name] = where
        server_names = site.get("server_names")
        if not isinstance(server_names, list) or not server_names:
            problems.append(f"{where}: server_names must be a non-empty list of host names or addresses")
            server_names = []
        for server_name in server_names:
            if not isinstance(server_name, str) or not (_is_ip(server_name) or _is_dns_name(server_name)):
                problems.append(
                    f"{where}: server name {server_name!r} is neither a lower-case DNS name nor an IP address"
                )
            elif server_name in served:
                problems.append(f"{where}: server name {server_name} is already served by {served[server_name]}")
            else:
                served[server_name] = where
        for flag in ("default_server", "php"):
            if flag in site and not isinstance(site[flag], bool):
                problems.append(f"{where}: {flag} must be true or false, not {site[flag]!r}")
        if site.get("default_server") is True:
            defaults.append(where)
        root = site.get("root")
        if root is not None and (not isinstance(root, str) or not ROOT_RE.match(root) or root in FORBIDDEN_ROOTS):
            problems.append(f"{where}: root must be a dedicated absolute directory, not {root!r}")
        tls_source = site.get("tls_source")
        if tls_source is not None and tls_source not in TLS_SOURCES:
            problems.append(f"{where}: tls_source must be one of {list(TLS_SOURCES)}, not {tls_source!r}")
        csp = site.get("content_security_policy")
        if csp is not None and (not isinstance(csp, str) or any(c in csp for c in '"\n\r\\')):
            problems.append(f"{where}: content_security_policy must be one line without double quotes or backslashes")
        if "sections" in site:
            _check_sections(site["sections"], where, problems)
    if len(defaults) > 1:
        problems.append(f"{prefix}web_server_sites: only one site may be the default, not {', '.join(defaults)}")
    return problems


def web_server_normalise_sites(sites: object, root_dir: str, tls_source: str, csp: str) -> list[dict]:
    """The sites sorted by name with every default filled in. Raises on a list that is not sound."""
    problems = web_server_site_problems(sites)
    if problems:
        raise AnsibleFilterError("web_server_normalise_sites: " + "; ".join(problems))
    result = []
    for site in sorted(sites, key=lambda s: s["name"]):
        name = site["name"]
        source = site.get("tls_source", tls_source)
        if source == "acme":
            live = f"/etc/letsencrypt/live/{site['server_names'][0]}"
            cert_file, key_file = f"{live}/fullchain.pem", f"{live}/privkey.pem"
        else:
            cert_file = "/etc/belediye/web-tls/server.crt"
            key_file = "/etc/belediye/web-tls/server.key"
        result.append(
            {
                "name": name,
                "server_names": list(site["server_names"]),
                "default_server": bool(site.get("default_server", False)),
                "root": site.get("root", f"{root_dir.rstrip('/')}/{name}"),
                "php": bool(site.get("php", False)),
                "sections": [
                    {"path": s["path"], "language": s["language"], "description": s.get("description", "")}
                    for s in site.get("sections", [])
                ],
                "tls_source": source,
                "content_security_policy": site.get("content_security_policy", csp),
                "cert_file": cert_file,
                "key_file": key_file,
            }
        )
    return result


class FilterModule:
    def filters(self):
        return {
            "web_server_site_problems": web_server_site_problems,
            "web_server_normalise_sites": web_server_normalise_sites,
        }
