"""The connection options every pdks_* module shares (plugins/module_utils/belediye_pdks.py's
CONNECTION_SPEC), documented once: modules say ``extends_documentation_fragment: [belediye_pdks]``."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host: {description: Address of the terminal., type: str, required: true}
  port: {description: TCP port of the ZK protocol., type: int, default: 4370}
  comm_key: {description: The terminal's communication key (0 for none)., type: int, default: 0}
  timeout: {description: Socket timeout in seconds., type: int, default: 10}
  encoding:
    description: Code page of the terminal's names (utf-8 or a legacy one such as cp1254).
    type: str
    default: utf-8
  terminal: {description: Name of the terminal in messages (and attendance folders). Defaults to O(host)., type: str}
requirements: [pyzk]
"""
