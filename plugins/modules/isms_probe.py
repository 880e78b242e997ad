#!/usr/bin/python
"""Read-only probe of a Linux host's state for the ISMS (BGYS) audit and the lockout check."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: isms_probe
short_description: Collect the state of ISMS (BGYS) controls on a Linux host, changing nothing
description:
  - Evaluates the audit checks of the control catalogue (C(roles/isms_baseline/controls.yml)) on the
    host and returns, per control, whether every check passed, with the evidence it saw.
  - In a container the kernel, the clock and the mounts belong to the machine that runs it, so
    checks that would read that shared state (live sysctl values, loaded modules, mount options,
    daemons that cannot run there such as auditd and chrony) are answered from the host's
    configuration instead, and the result says C(mode=config). On a real host they are read live
    (C(mode=live)) as well as from the configuration.
  - With O(admins=true) it also lists the accounts that could administer the host after SSH and sudo
    hardening (an SSH key and full sudo rights); the role refuses to harden a host where none remain.
  - Never changes anything; it is safe in check mode.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
options:
  checks:
    description:
      - Mapping of control id to a list of checks. Each check is a mapping with a C(type) and
        the type's keys; see the README of the isms_baseline role for the types.
    type: dict
    default: {}
  container:
    description:
      - Whether the host is a container. Left out, the module asks C(systemd-detect-virt).
    type: bool
  admins:
    description: Also list the accounts that hold an SSH key and full sudo rights.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Audit the catalogue's controls on this host
  isms_probe:
    checks:
      BGYS-SSH-02:
        - {type: sshd, key: permitrootlogin, equals: "no"}
      BGYS-FS-01:
        - {type: mount, path: /tmp, options: [nodev, nosuid, noexec]}
  become: true
  register: probe
"""

RETURN = r"""
results:
  description: Per control id, C(passed), C(mode) (live or config) and C(evidence) (list of lines).
  type: dict
  returned: always
container:
  description: Whether the host was treated as a container.
  type: bool
  returned: always
admins:
  description: Accounts with an SSH key and full sudo rights (user, uid, groups, keys, sudo_all).
  type: list
  returned: when admins is true
"""

import glob
import grp
import os
import pwd
import re
import shlex
import stat
import subprocess

from ansible.module_utils.basic import AnsibleModule

SYSCTL_DIRS = ("/usr/lib/sysctl.d", "/lib/sysctl.d", "/run/sysctl.d", "/etc/sysctl.d")
NOLOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync")


class CheckError(Exception):
    """A check that is malformed (a catalogue bug, not a host finding)."""


def run(argv, env=None):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=120)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, "", f"{argv[0]}: timed out"
    return proc.returncode, proc.stdout, proc.stderr


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


# --- pure parsers (unit-tested) -----------------------------------------------------------


def parse_sshd_t(text):
    """`sshd -T` output to {key: value}; repeated keys (e.g. hostkey) are joined with commas."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if not key:
            continue
        key = key.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def sysctl_files(roots=SYSCTL_DIRS, extra=("/etc/sysctl.conf",), exists=os.path.exists, listdir=glob.glob):
    """Files in the order systemd-sysctl applies them: by name across the directories, a file in a
    later directory hiding a same-named one in an earlier; /etc/sysctl.conf last."""
    by_name = {}
    for root in roots:
        for path in listdir(os.path.join(root, "*.conf")):
            by_name[os.path.basename(path)] = path
    ordered = [by_name[name] for name in sorted(by_name)]
    ordered += [path for path in extra if exists(path) and path not in ordered]
    return ordered


def parse_sysctl_conf(text):
    """{key: value} from one sysctl.conf-style text; keys normalised to dots."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        out[key.strip().lstrip("-").replace("/", ".")] = " ".join(value.split())
    return out


def parse_fstab(text):
    """{mount point: [options]} from an fstab text."""
    out = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 4:
            out[fields[1]] = fields[3].split(",")
    return out


def parse_mountinfo(text):
    """{mount point: [options]} from /proc/self/mountinfo (per-mount and super-block options)."""
    out = {}
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 6:
            continue
        point = fields[4].replace("\\040", " ")
        options = fields[5].split(",")
        rest = right.split()
        if len(rest) >= 3:
            options += rest[2].split(",")
        out[point] = options
    return out


def unit_options(text):
    """The Options= values of a systemd mount unit text (last one wins), as a list."""
    options = None
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "Options":
            options = value.strip().split(",") if value.strip() else []
    return options


def modprobe_blocked(texts, module):
    """Whether modprobe.d texts make `module` impossible to load (install ... /bin/false or /bin/true)."""
    names = {module.replace("-", "_"), module.replace("_", "-")}
    blocked = blacklisted = False
    for text in texts:
        for line in text.splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 3 and fields[0] == "install" and fields[1] in names:
                blocked = os.path.basename(fields[2]) in ("false", "true") or fields[2] == "/bin/false"
            if len(fields) >= 2 and fields[0] == "blacklist" and fields[1] in names:
                blacklisted = True
    return blocked, blacklisted


def compare(value, check):
    """Compare an observed text value with the expectation keys of a check; return (ok, why)."""
    if value is None:
        return False, "not set"
    if "equals" in check:
        want = str(check["equals"])
        return value == want, f"{value!r} (want {want!r})"
    if "in" in check:
        allowed = [str(v) for v in check["in"]]
        return value in allowed, f"{value!r} (want one of {allowed})"
    if "max" in check or "min" in check:
        try:
            number = int(value)
        except ValueError:
            return False, f"{value!r} is not a number"
        ok = True
        if "max" in check:
            ok = ok and number <= int(check["max"])
        if "min" in check:
            ok = ok and number >= int(check["min"])
        return ok, f"{number} (want {check.get('min', '-')}..{check.get('max', '-')})"
    if "subset_of" in check:
        allowed = set(check["subset_of"])
        extra = sorted(set(filter(None, value.split(","))) - allowed)
        return not extra, f"{value} ({'outside the allowed list: ' + ','.join(extra) if extra else 'all allowed'})"
    if "regex" in check:
        return re.search(str(check["regex"]), value) is not None, f"{value!r} (want /{check['regex']}/)"
    raise CheckError(f"check {check!r} has no expectation (equals, in, min/max, subset_of or regex)")


# --- the probe ----------------------------------------------------------------------------


class Probe:
    def __init__(self, container):
        self.container = container
        self._sshd = None

    @property
    def live(self):
        return not self.container

    def sshd(self):
        if self._sshd is None:
            rc, out, err = run(["sshd", "-T"]) if os.path.exists("/usr/sbin/sshd") else (127, "", "sshd not installed")
            if rc == 127:
                rc, out, err = run(["/usr/sbin/sshd", "-T"])
            self._sshd = parse_sshd_t(out) if rc == 0 else {"__error__": (err or out).strip()}
        return self._sshd

    # each check_* returns (ok, [evidence], used_live)

    def check_sshd(self, check):
        conf = self.sshd()
        if "__error__" in conf:
            return False, [f"sshd -T failed: {conf['__error__']}"], False
        key = str(check["key"]).lower()
        ok, why = compare(conf.get(key), check)
        return ok, [f"sshd {key} = {why}"], False

    def check_file_line(self, check):
        paths = []
        for pattern in check.get("paths") or [check["path"]]:
            paths += sorted(glob.glob(pattern))
        present = check.get("present", True)
        regex = re.compile(check["regex"], re.MULTILINE)
        hits = []
        for path in paths:
            text = read(path)
            if text is None:
                continue
            match = regex.search(text)
            if match:
                hits.append(f"{path}: {match.group(0).strip()[:160]}")
        if not paths and check.get("missing_ok"):
            return True, [f"{check.get('path') or check.get('paths')}: absent (allowed)"], False
        if present:
            where = ", ".join(paths) or "no file"
            return bool(hits), hits or [f"no line matching /{check['regex']}/ in {where}"], False
        return not hits, hits or [f"no line matching /{check['regex']}/ (as required)"], False

    def check_file_mode(self, check):
        path = check["path"]
        try:
            st = os.stat(path)
        except OSError:
            ok = bool(check.get("missing_ok"))
            return ok, [f"{path}: absent{' (allowed)' if ok else ''}"], False
        mode = stat.S_IMODE(st.st_mode)
        problems = []
        if "mode" in check:
            limit = int(str(check["mode"]), 8)
            if mode & ~limit:
                problems.append(f"mode {mode:04o} exceeds {limit:04o}")
        try:
            owner = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            owner = str(st.st_uid)
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = str(st.st_gid)
        if "owner" in check and owner != check["owner"]:
            problems.append(f"owner {owner} (want {check['owner']})")
        if "group" in check:
            groups = check["group"] if isinstance(check["group"], list) else [check["group"]]
            if group not in groups:
                problems.append(f"group {group} (want {'/'.join(groups)})")
        line = f"{path}: {mode:04o} {owner}:{group}" + (f" - {'; '.join(problems)}" if problems else "")
        return not problems, [line], False

    def check_sysctl(self, check):
        key = str(check["key"])
        want = " ".join(str(check["value"]).split())
        configured = None
        source = None
        for path in sysctl_files():
            values = parse_sysctl_conf(read(path) or "")
            if key in values:
                configured, source = values[key], path
        evidence = [f"{key} configured {configured!r} in {source or 'no file'} (want {want!r})"]
        ok = configured == want
        used_live = False
        if self.live:
            used_live = True
            live = read("/proc/sys/" + key.replace(".", "/"))
            live = " ".join(live.split()) if live is not None else None
            evidence.append(f"{key} live {live!r}")
            ok = ok and live == want
        return ok, evidence, used_live

    def check_mount(self, check):
        path = check["path"]
        wanted = list(check["options"])
        sources = []
        fstab = parse_fstab(read("/etc/fstab") or "")
        if path in fstab:
            sources.append(("/etc/fstab", fstab[path]))
        unit = "-".join(filter(None, path.strip("/").split("/"))) or "-"
        unit_path = f"/etc/systemd/system/{unit}.mount"
        unit_text = read(unit_path)
        if unit_text is not None:
            sources.append((unit_path, unit_options(unit_text) or []))
        for dropin in sorted(glob.glob(f"/etc/systemd/system/{unit}.mount.d/*.conf")):
            options = unit_options(read(dropin) or "")
            if options is not None:
                sources.append((dropin, options))
        evidence = [f"{src}: {','.join(opts)}" for src, opts in sources] or [f"{path}: no fstab entry or mount unit"]
        ok = bool(sources) and all(opt in sources[-1][1] for opt in wanted)
        used_live = False
        if self.live:
            used_live = True
            mounts = parse_mountinfo(read("/proc/self/mountinfo") or "")
            live = mounts.get(path)
            evidence.append(f"{path} live: {','.join(live) if live else 'not a mount point'}")
            ok = ok and live is not None and all(opt in live for opt in wanted)
        missing = [opt for opt in wanted if not sources or opt not in sources[-1][1]]
        if missing:
            evidence.append(f"missing in configuration: {','.join(missing)}")
        return ok, evidence, used_live

    def check_unit(self, check):
        name = check["name"]
        rc, out, _ = run(["systemctl", "show", "--property=LoadState,UnitFileState,ActiveState", name])
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        load, active = props.get("LoadState", ""), props.get("ActiveState", "")
        filestate = props.get("UnitFileState", "")
        evidence = [f"{name}: load={load} file={filestate or '-'} active={active}"]
        ok = rc == 0
        used_live = False
        if "masked" in check:
            ok = ok and ((load == "masked") == bool(check["masked"]))
        if check.get("masked_or_absent"):
            ok = ok and load in ("masked", "not-found")
        if "enabled" in check:
            ok = ok and ((filestate in ("enabled", "static", "alias", "enabled-runtime")) == bool(check["enabled"]))
        if "active" in check:
            ok = ok and ((active == "active") == bool(check["active"]))
        if "active_live" in check and self.live:
            used_live = True
            ok = ok and ((active == "active") == bool(check["active_live"]))
        return ok, evidence, used_live

    def check_package(self, check):
        names = check.get("names") or [check["name"]]
        want = check.get("installed", True)
        evidence, ok = [], True
        for name in names:
            rc, out, _ = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", name])
            installed = rc == 0 and out.startswith("ii")
            evidence.append(f"package {name}: {'installed' if installed else 'not installed'}")
            ok = ok and installed == want
        return ok, evidence, False

    def check_modprobe(self, check):
        module = check["module"]
        want = bool(check.get("blocked", True))
        texts = [read(path) or "" for path in sorted(glob.glob("/etc/modprobe.d/*.conf"))]
        blocked, blacklisted = modprobe_blocked(texts, module)
        evidence = [f"{module}: {'install blocked' if blocked else 'loadable'}{', blacklisted' if blacklisted else ''}"]
        ok = (blocked and blacklisted) == want if want else not blocked
        used_live = False
        if self.live and want:
            used_live = True
            loaded = module.replace("-", "_") in (read("/proc/modules") or "").split()
            evidence.append(f"{module}: {'loaded' if loaded else 'not loaded'} in the running kernel")
            ok = ok and not loaded
        return ok, evidence, used_live

    def check_accounts(self, check):
        evidence, ok = [], True
        passwd = [line.split(":") for line in (read("/etc/passwd") or "").splitlines() if line.count(":") >= 6]
        if check.get("uid0_only_root"):
            uid0 = [f[0] for f in passwd if f[2] == "0"]
            good = uid0 == ["root"]
            ok = ok and good
            evidence.append(f"accounts with UID 0: {', '.join(uid0)}")
        if check.get("no_empty_passwords"):
            shadow = [line.split(":") for line in (read("/etc/shadow") or "").splitlines() if line.count(":") >= 8]
            empty = [f[0] for f in shadow if f[1] == ""]
            ok = ok and not empty
            evidence.append(f"accounts with an empty password: {', '.join(empty) or 'none'}")
        return ok, evidence, False

    def check_command(self, check):
        argv = [str(a) for a in check["argv"]]
        rc, out, err = run(argv)
        want = int(check.get("rc", 0))
        ok = rc == want
        text = (out + err).strip().splitlines()
        if "regex" in check:
            ok = ok and re.search(check["regex"], out + err, re.MULTILINE) is not None
        return ok, [f"{shlex.join(argv)}: rc={rc}" + (f": {text[-1][:160]}" if text else "")], False

    def evaluate(self, checks):
        passed, evidence, live = True, [], False
        for check in checks:
            kind = check.get("type")
            method = getattr(self, f"check_{kind}", None)
            if method is None:
                raise CheckError(f"unknown check type {kind!r}")
            if check.get("live_only") and not self.live:
                what = check.get("name") or check.get("key") or check.get("path") or " ".join(check.get("argv", []))
                evidence.append(f"{kind} {what}: not checked in a container")
                continue
            ok, lines, used_live = method(check)
            passed = passed and ok
            live = live or used_live
            evidence += [("" if ok else "FAIL ") + line for line in lines]
        return {"passed": passed, "mode": "live" if live else "config", "evidence": evidence}

    def admins(self):
        authorized = self.sshd().get("authorizedkeysfile", ".ssh/authorized_keys .ssh/authorized_keys2").split()
        out = []
        for entry in pwd.getpwall():
            if entry.pw_shell in NOLOGIN_SHELLS or not entry.pw_shell:
                continue
            keys = 0
            for pattern in authorized:
                path = pattern.replace("%h", entry.pw_dir).replace("%u", entry.pw_name).replace("%%", "%")
                if not path.startswith("/"):
                    path = os.path.join(entry.pw_dir, path)
                text = read(path) or ""
                keys += sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
            if not keys:
                continue
            rc, out_groups, _ = run(["id", "-Gn", entry.pw_name])
            rc_sudo, sudo_out, _ = run(["sudo", "-n", "-l", "-U", entry.pw_name])
            sudo_all = rc_sudo == 0 and re.search(r"\(ALL(\s*:\s*ALL)?\)\s+(NOPASSWD:\s*)?ALL\b", sudo_out) is not None
            out.append(
                {
                    "user": entry.pw_name,
                    "uid": entry.pw_uid,
                    "groups": out_groups.split() if rc == 0 else [],
                    "keys": keys,
                    "sudo_all": sudo_all,
                }
            )
        return out


def detect_container():
    rc, out, _ = run(["systemd-detect-virt", "--container"])
    return rc == 0 and out.strip() not in ("", "none")


def main():
    module = AnsibleModule(
        argument_spec={
            "checks": {"type": "dict", "default": {}},
            "container": {"type": "bool"},
            "admins": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    container = module.params["container"]
    if container is None:
        container = detect_container()
    probe = Probe(container)
    results = {}
    for cid, checks in sorted((module.params["checks"] or {}).items()):
        if not isinstance(checks, list):
            module.fail_json(msg=f"isms_probe: the checks of control {cid} must be a list, not {checks!r}")
        try:
            results[cid] = probe.evaluate(checks)
        except (CheckError, KeyError, TypeError, ValueError) as exc:
            module.fail_json(msg=f"isms_probe: control {cid} has a malformed audit check: {exc}")
    out = {"changed": False, "results": results, "container": container}
    if module.params["admins"]:
        out["admins"] = probe.admins()
    module.exit_json(**out)


if __name__ == "__main__":
    main()
