"""Filter for the TLS material of a service: a certificate, its private key and the CA bundle.

The roles that serve TLS (backup_target, log_server, mail_server) check their inventory PKI with
this one filter in their tasks/assert.yml, on the control node, before anything changes. It is a
pure function built on the ``cryptography`` library (a dependency of ansible-core): bad material
never raises a traceback, it is reported as a list of messages, each naming the host and the
variable (the caller says which) and what is wrong. The private key is read but never quoted.

Filter:

``pki_tls_problems(cert, key, ca, names, host='', now=None)``
    Return a list of problems (strings); an empty list means the material is sound. ``names``
    maps ``cert``, ``key`` and ``ca`` to the variable names the messages use. Checked, in order:
    each of the three is PEM; the certificate (first block of ``cert``), the CA bundle and the
    key can be read, the key unencrypted; the key belongs to the certificate (same public key);
    the certificate is valid at ``now`` (a datetime or an ISO 8601 string, naive means UTC;
    default: the current time); and it was issued by a certificate of the bundle, directly or
    through the intermediates that follow it in ``cert``, each used at most once.

Example (roles/backup_target/tasks/assert.yml)::

    - name: The target's CA, certificate and key are checked on the control node (the key is never shown)
      no_log: true
      ansible.builtin.set_fact:
        __backup_target_tls_problems: >-
          {{ backup_target_tls_cert | pki_tls_problems(backup_target_tls_key, backup_target_tls_ca_cert,
             __backup_target_tls_names, inventory_hostname) }}
      vars:
        __backup_target_tls_names:
          cert: backup_target_tls_cert
          key: backup_target_tls_key
          ca: backup_target_tls_ca_cert
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
except ImportError as exc:  # reported when the filter is called, not when Ansible loads the plugin
    CRYPTOGRAPHY_IMPORT_ERROR: ImportError | None = exc
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

# One PEM block with a body and matching markers; line ends are made "\n" before the search.
PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\n.+?\n-----END \1-----", re.S)
NAME_KEYS = ("cert", "key", "ca")


def _who(host: str, name: str) -> str:
    return f"{host}: {name}" if host else name


def _is_pem(value: object) -> bool:
    return isinstance(value, str) and PEM_RE.search(value.replace("\r\n", "\n")) is not None


def _moment(now: object) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    if isinstance(now, datetime.datetime):
        moment = now
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(now))
        except ValueError:
            raise AnsibleFilterError(
                f"pki_tls_problems: now must be a datetime or an ISO 8601 time such as 2026-11-30T12:00:00+00:00,"
                f" got {now!r}"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _issued_by(cert, issuer) -> bool:
    """Whether ``issuer``'s subject is ``cert``'s issuer and its key verifies ``cert``'s signature."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def tls_problems(
    cert_pem: object, key_pem: object, ca_pem: object, names: Mapping[str, str], host: str = "", now: object = None
) -> list[str]:
    """Problems of a certificate, its key and the CA bundle; an empty list means they fit together.

    ``names`` gives the variable named in the messages for ``cert``, ``key`` and ``ca``. The key's
    text never appears in a message.
    """
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"pki: the cryptography Python library is required: {CRYPTOGRAPHY_IMPORT_ERROR}")
    if not isinstance(names, Mapping) or any(not isinstance(names.get(k), str) for k in NAME_KEYS):
        raise AnsibleFilterError(f"pki_tls_problems: names must map cert, key and ca to variable names, got {names!r}")
    moment = _moment(now)
    cert_name, key_name, ca_name = (names[k] for k in NAME_KEYS)
    problems = [
        f"{_who(host, name)} is empty or not PEM"
        for name, value in ((cert_name, cert_pem), (key_name, key_pem), (ca_name, ca_pem))
        if not _is_pem(value)
    ]
    if problems:
        return problems
    try:
        chain = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        return [f"{_who(host, cert_name)} cannot be read as an X.509 certificate"]
    try:
        cas = x509.load_pem_x509_certificates(ca_pem.encode())
    except ValueError:
        return [f"{_who(host, ca_name)} cannot be read as X.509 certificates"]
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):  # TypeError: the key is encrypted
        return [f"{_who(host, key_name)} cannot be read as an unencrypted private key"]
    except UnsupportedAlgorithm:
        return [f"{_who(host, key_name)} is a private key of a type that cannot be checked"]
    leaf = chain[0]
    subject = leaf.subject.rfc4514_string()
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        problems.append(f"{_who(host, key_name)} does not belong to {cert_name} ({subject})")
    if moment < leaf.not_valid_before_utc:
        problems.append(f"{_who(host, cert_name)} ({subject}) is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}")
    if moment > leaf.not_valid_after_utc:
        problems.append(f"{_who(host, cert_name)} ({subject}) expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    # Walk up through the intermediates given after the certificate until a CA of the bundle
    # signed one. Each intermediate is used once at most, so the walk ends.
    current, rest = leaf, list(chain[1:])
    while not any(_issued_by(current, ca) for ca in cas):
        parent = next((c for c in rest if _issued_by(current, c)), None)
        if parent is None:
            problems.append(
                f"{_who(host, cert_name)} ({subject}) was not issued by a certificate of {ca_name}"
                f" (its issuer is {current.issuer.rfc4514_string()})"
            )
            break
        rest.remove(parent)
        current = parent
    return problems


class FilterModule:
    """Ansible entry point: the pki_* filter."""

    def filters(self) -> dict:
        return {"pki_tls_problems": tls_problems}
