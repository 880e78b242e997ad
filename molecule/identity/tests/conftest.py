"""Fixtures of the identity scenario's tests (tests/scenario.py has the shared names and helpers)."""

from __future__ import annotations

import pytest
from scenario import dc_host


@pytest.fixture(scope="module")
def root(host):
    with host.sudo():
        yield host


@pytest.fixture(scope="session")
def dc():
    """The first DC (dc-mol) as root, for the tests of the other hosts."""
    return dc_host()
