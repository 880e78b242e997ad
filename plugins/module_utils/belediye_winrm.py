"""WinRM connection options and error messages shared by the modules that speak to Windows.

windows_baseline (servers and workstations) and xray_workstation (the X-ray scanners' Windows PCs)
take the same connection options, pick the port the same way and turn pywinrm's exceptions into the
same one-line messages, so a sysadmin reads one vocabulary in both. The modules keep their own
operation timeout (a baseline read takes longer than the workstation's).
"""

from __future__ import annotations

try:
    from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMTransportError

    HAS_WINRM = True
except ImportError:  # the modules report it; nothing below needs pywinrm to be imported
    HAS_WINRM = False

TRANSPORTS = ["basic", "ntlm", "kerberos", "credssp"]

# The connection part of an argument_spec; each module adds operation_timeout and its own options.
CONNECTION_SPEC = {
    "name": {"type": "str"},
    "host": {"type": "str", "required": True},
    "port": {"type": "int"},
    "scheme": {"type": "str", "choices": ["http", "https"], "default": "https"},
    "transport": {"type": "str", "choices": TRANSPORTS, "default": "ntlm"},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_trust_path": {"type": "path"},
}


def connection_spec(**more):
    """CONNECTION_SPEC with a module's own options added (a new dict; the shared one is not changed)."""
    spec = {key: dict(value) for key, value in CONNECTION_SPEC.items()}
    spec.update(more)
    return spec


def endpoint(params):
    """(WS-Man URL, port) from the module's parameters: the port follows the scheme unless given."""
    port = params["port"] or (5986 if params["scheme"] == "https" else 5985)
    return f"{params['scheme']}://{params['host']}:{port}/wsman", port


def device_label(kind, params):
    """How messages name the host: '<kind> <name> (<address>:<port>)'."""
    return f"{kind} {params['name'] or params['host']} ({params['host']}:{endpoint(params)[1]})"


def session_options(params, operation_timeout):
    """Keyword arguments for winrm.Session / winrm.protocol.Protocol from the connection options."""
    options = {
        "transport": params["transport"],
        "server_cert_validation": "validate" if params["validate_certs"] else "ignore",
        "operation_timeout_sec": operation_timeout,
        # pywinrm wants the HTTP read timeout above the WS-Man operation timeout.
        "read_timeout_sec": operation_timeout + 10,
    }
    if params.get("ca_trust_path"):
        options["ca_trust_path"] = params["ca_trust_path"]
    return options


def failure_message(exc):
    """One line for an exception raised while talking WinRM; never the request or the password."""
    if HAS_WINRM:
        if isinstance(exc, InvalidCredentialsError):
            return "WinRM authentication rejected"
        if isinstance(exc, WinRMTransportError):
            return f"WinRM transport error (HTTP {exc.code})"
        if isinstance(exc, WinRMError):
            text = str(exc)
            return f"WinRM error: {text.splitlines()[0] if text else exc.__class__.__name__}"
    # requests' connection errors, timeouts, TLS failures
    return f"WinRM unreachable ({exc.__class__.__name__})"
