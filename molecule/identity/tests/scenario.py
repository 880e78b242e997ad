"""What the identity scenario's tests share: the domain's names (molecule.yml), the per-run secrets
that molecule.yml's password lookups write into the ephemeral directory, and a user's first log-on.

directory_accounts makes every account with "must change at first logon", as new staff get it: a
test that logs a user on with a password first lets the user set one of their own, over Kerberos
on the DC (own_password), exactly as test_directory_accounts.py shows it for cagri.ozturk.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
SECRETS = EPHEMERAL / "secrets"

REALM = "MOL.BELEDIYE.LOCAL"
DOMAIN = REALM.lower()
WORKGROUP = "MOLBEL"
DOMAIN_DN = "DC=mol,DC=belediye,DC=local"
DC = "dc-mol"  # the first DC: it provisioned the domain and holds the accounts (directory_accounts)
SAM = "/var/lib/samba/private/sam.ldb"
SUFFIX = ".Aa7"  # molecule.yml adds it to every random password for Samba's complexity rule


def secret(name: str) -> str:
    """A per-run password as molecule.yml makes it: the lookup file's random part (a salt may follow
    after a space) and the fixed tail."""
    return (SECRETS / name).read_text(encoding="utf-8").split()[0] + SUFFIX


def dc_host():
    """The first DC, as root."""
    return testinfra.get_host(f"ansible://{DC}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"], sudo=True)


def put_secret(root, name: str, *lines: str) -> str:
    """A file on the host holding the lines, written by Ansible's copy module (its content is no_log).

    Passwords never go on a command line in these tests: sudo would log it in the journal, and
    the test that looks for passwords on the DC would find the test's own traces.
    """
    path = f"/root/mol-secrets/{name}"
    args = json.dumps({"dest": path, "content": "".join(f"{ln}\n" for ln in lines), "mode": "0600"})
    root.ansible("file", "path=/root/mol-secrets state=directory mode=0700", check=False, become=True)
    root.ansible("copy", args, check=False, become=True)
    return path


def kinit(root, principal: str, cache: str, *answers: str):
    """kinit with its prompts answered from a file, one line each (testinfra's run has no stdin)."""
    answers_file = put_secret(root, f"{principal}-{len(answers)}", *answers)
    try:
        return root.run(f"kinit -c {cache} {principal}@{REALM} < {answers_file}")
    finally:
        root.run(f"rm -f {answers_file}")


_OWN: dict[str, str] = {}


def own_password(dc, username: str) -> str:
    """The user's password after the first log-on, which the user makes now if it is still due.

    The new password is kept beside the initial one in the ephemeral directory (mode 0600), so that
    a second `molecule verify` finds it; the DC says whether the change is due (pwdLastSet 0).
    """
    if username in _OWN:
        return _OWN[username]
    own = SECRETS / f"{username}.own"
    pwd_last_set = dc.check_output(f"ldbsearch -H {SAM} '(sAMAccountName={username})' pwdLastSet")
    if not re.search(r"^pwdLastSet: 0$", pwd_last_set, re.M):
        _OWN[username] = own.read_text(encoding="utf-8").strip() if own.exists() else secret(username)
        return _OWN[username]
    new = f"Kendi-{secrets.token_hex(8)}{SUFFIX}"
    cache = f"/root/krb5cc_mol_first_{username}"
    res = kinit(dc, username, cache, secret(username), new, new)
    dc.run(f"kdestroy -c {cache}")
    assert res.rc == 0, f"{username} could not set a password at the first log-on: {res.stderr}"
    descriptor = os.open(own, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        f.write(new + "\n")
    _OWN[username] = new
    return new
