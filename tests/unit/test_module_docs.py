"""Every module of plugins/modules documents itself in valid YAML, and documents exactly the options it takes.

`ansible-doc` reads DOCUMENTATION, EXAMPLES and RETURN as YAML: a description with an unquoted
``key: value`` in it breaks the module's page. The options a module declares in its argument spec
and the options its DOCUMENTATION lists must be the same set, so the page never lies. The spec is
captured by importing the module with AnsibleModule replaced by a recorder (the module_utils of
this repository are made importable under ansible.module_utils as Ansible itself does).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))


class Captured(Exception):
    def __init__(self, spec: dict):
        super().__init__("captured")
        self.spec = spec


def _load(path: Path):
    import ansible.module_utils as module_utils_pkg

    for util in (ROOT / "plugins" / "module_utils").glob("*.py"):
        name = f"ansible.module_utils.{util.stem}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, util)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            setattr(module_utils_pkg, util.stem, module)
    spec = importlib.util.spec_from_file_location(f"belediye_doc_test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documentation(path: Path) -> dict:
    """The module's DOCUMENTATION with its doc fragments merged in, as ansible-doc shows it."""
    from ansible.plugins.loader import fragment_loader
    from ansible.utils.plugin_docs import get_docstring

    fragment_loader.add_directory(str(ROOT / "plugins" / "doc_fragments"))
    return get_docstring(str(path), fragment_loader, is_module=True)[0]


def _argument_spec(module) -> dict:
    def recorder(*args, **kwargs):
        raise Captured(kwargs.get("argument_spec") or (args[0] if args else {}))

    module.AnsibleModule = recorder
    with pytest.raises(Captured) as caught:
        module.main()
    return caught.value.spec


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_documentation_examples_and_return_are_yaml(path):
    module = _load(path)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == path.stem
    assert doc.get("short_description")
    assert isinstance(yaml.safe_load(module.EXAMPLES), list)
    ret = yaml.safe_load(module.RETURN)
    assert ret is None or isinstance(ret, dict)


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_documented_options_are_the_argument_spec(path):
    module = _load(path)
    documented = set(_documentation(path).get("options") or {})
    assert documented == set(_argument_spec(module))


SECRET_NAMES = {"password", "comm_key", "community", "auth_key", "priv_key"}


def _secret_options(spec: dict, prefix: str = ""):
    for name, option in spec.items():
        if name in SECRET_NAMES or (name.endswith("_password") and not name.startswith("update_")):
            yield prefix + name, option
        yield from _secret_options(option.get("options") or {}, f"{prefix}{name}.")


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_secret_options_are_no_log(path):
    spec = _argument_spec(_load(path))
    for name, option in _secret_options(spec):
        assert option.get("no_log") is True, f"{path.stem}: option {name} is not no_log"
