"""Helpers for the tests of the repository's stand-alone scripts (ci/, tools/).

`load_script` imports a script by path, as a module, so its functions can be tested directly;
`hermetic_git_env` runs git without the user's or the machine's configuration, so tests that
build their own repositories do not depend on who runs them.
"""

import importlib.util
import os
import sys
from pathlib import Path


def load_script(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def hermetic_git_env() -> dict[str, str]:
    """The environment without GIT_* variables or a ledger path, and without global git config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "BELEDIYE_LEDGER_PATH"}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C.UTF-8")
    return env
