"""Throw-away PKI for the tests of the TLS check (plugins/filter/pki.py) and of the roles that use it.

`make_cert` issues a certificate with the cryptography library, `pem` writes a certificate or a key
as PEM text, and `throwaway_pki` makes the usual set: a CA, a server key and certificate it issued,
and a spare key that fits nothing. `tls_task_problems` renders the ``pki_tls_problems`` expression
of a role's tasks/assert.yml with Ansible's own templating, so a test sees the filter resolve and
the task pass the variable names the messages use. Nothing made here is ever written to the
repository.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_cert(subject: str, key, issuer: str, issuer_key, days=(-1, 30), ca=False, now=NOW) -> x509.Certificate:
    """A certificate for ``key`` named ``subject``, signed by ``issuer_key`` under the name ``issuer``,
    valid from ``now + days[0]`` to ``now + days[1]`` days."""
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def pem(obj, password: bytes | None = None) -> str:
    """PEM text of a certificate, or of a private key (PKCS#8, encrypted when a password is given)."""
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def throwaway_pki(subject: str, now: datetime.datetime | None = None) -> dict[str, str]:
    """PEM texts: ``ca``, the server's ``key`` and ``cert`` (issued by the CA, valid around ``now``,
    by default the current time), and a ``spare_key``."""
    now = now or datetime.datetime.now(datetime.UTC)
    ca_key, key, spare_key = new_key(), new_key(), new_key()
    return {
        "ca": pem(make_cert("Test CA", ca_key, "Test CA", ca_key, ca=True, now=now)),
        "key": pem(key),
        "cert": pem(make_cert(subject, key, "Test CA", ca_key, now=now)),
        "spare_key": pem(spare_key),
    }


def tls_task_problems(role: str, host: str, material: dict[str, str]) -> list[str]:
    """The problems the ``pki_tls_problems`` task of roles/<role>/tasks/assert.yml finds when
    ``<role>_tls_cert``, ``<role>_tls_key`` and ``<role>_tls_ca_cert`` are the ``cert``, ``key``
    and ``ca`` of ``material``, rendered as Ansible renders it (the task's own vars, plugins/filter)."""
    variables = {f"{role}_tls_{k}": material[m] for k, m in (("cert", "cert"), ("key", "key"), ("ca_cert", "ca"))}
    return render_tls_check(role, {**variables, "inventory_hostname": host})


def render_tls_check(role: str, variables: dict) -> list[str]:
    """The ``pki_tls_problems`` expression of roles/<role>/tasks/assert.yml rendered with ``variables``."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import filter_loader
    from ansible.template import Templar, trust_as_template

    filter_loader.add_directory(str(ROOT / "plugins" / "filter"))
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / "assert.yml").read_text(encoding="utf-8"))
    [task] = [t for t in tasks if "pki_tls_problems" in yaml.safe_dump(t)]
    task_vars = task.get("vars", {})
    values = [*task.get("ansible.builtin.set_fact", {}).values(), *task_vars.values()]
    [expression] = [v for v in values if isinstance(v, str) and "pki_tls_problems" in v]
    templar = Templar(loader=DataLoader(), variables={**variables, **task_vars})
    return templar.template(trust_as_template(expression))
