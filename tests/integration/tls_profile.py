"""Check one HTTPS server against one of Mozilla's TLS profiles with sslyze; print the issues as JSON.

Run with sslyze's own interpreter, not the control node's: `.venv-sslyze/bin/python` (scripts/venv.sh
builds it from requirements-sslyze.txt; sslyze's pins do not fit .venv). tests/integration/test_web.py
calls it for app01.

    .venv-sslyze/bin/python tests/integration/tls_profile.py NAME ADDRESS PORT CA_FILE [PROFILE]

PROFILE is modern, intermediate (the default) or old. Prints {"issues": {name: text}}, empty when the
server complies; exits 2 when the scan itself failed (no connection, no TLS), with the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sslyze import (
    CertificateInfoExtraArgument,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanStatusEnum,
)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)


def main(argv: list[str]) -> int:
    name, address, port, ca_file = argv[:4]
    profile_name = argv[4] if len(argv) > 4 else "intermediate"
    scanner = Scanner()
    scanner.queue_scans(
        [
            ServerScanRequest(
                server_location=ServerNetworkLocation(hostname=name, port=int(port), ip_address=address),
                scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
                scan_commands_extra_arguments=ScanCommandsExtraArguments(
                    certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file))
                ),
            )
        ]
    )
    (result,) = list(scanner.get_results())
    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        print(json.dumps({"error": f"{name} ({address}:{port}): {result.connectivity_error_trace}"}))
        return 2
    profile = MozillaTlsConfiguration.get(TlsConfigurationEnum(profile_name))
    try:
        check_server_against_tls_configuration(result, profile)
        issues: dict[str, str] = {}
    except ServerNotCompliantWithTlsConfiguration as exc:
        issues = {str(key): str(value) for key, value in exc.issues.items()}
    print(json.dumps({"profile": profile_name, "issues": issues}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
