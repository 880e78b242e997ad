"""Make the repository's filter plugins importable by their module name (``import ipplan``).

Ansible loads plugins from their directory without packages, so the tests do the same.
"""

import sys
from pathlib import Path

FILTER_DIR = Path(__file__).resolve().parents[2] / "plugins" / "filter"

if str(FILTER_DIR) not in sys.path:
    sys.path.insert(0, str(FILTER_DIR))
