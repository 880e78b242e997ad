"""The connection options every camera_* module shares (plugins/module_utils/belediye_camera.py's
CONNECTION_ARGS), documented once: modules say ``extends_documentation_fragment: [belediye_camera]``."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host: {description: Address of the camera., type: str, required: true}
  port: {description: HTTP port of the camera (ONVIF and the vendor API share it)., type: int, default: 80}
  username: {description: An account on the camera; changes need an Administrator., type: str, required: true}
  password: {description: Its password., type: str, required: true}
  name:
    description: Name of the camera in messages, usually C({{ inventory_hostname }}).
    type: str
  timeout: {description: Seconds to wait for each request., type: int, default: 10}
"""
