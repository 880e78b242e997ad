"""Print an inventory as Ansible parses it: {host: {"groups": [...], "vars": {...}}} (host-level variables only).

Run as a subprocess by the tests (Ansible keeps global state), from the repository root so that ansible.cfg
applies: python tests/netbox/inventory_view.py SOURCE [SOURCE ...]. group_vars are not read, so a
vaulted production file needs no password. Dynamic sources are read afresh, not from their cache.
"""

import json
import sys

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()

from ansible.inventory.manager import InventoryManager  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402

# cache=False is --flush-cache: a dynamic source is asked afresh (and its cache refilled).
inventory = InventoryManager(loader=DataLoader(), sources=sys.argv[1:], cache=False)
view = {}
for host in inventory.get_hosts():
    groups = sorted({g.name for g in host.get_groups()} - {"all", "ungrouped"})
    own = {k: v for k, v in host.vars.items() if k not in ("inventory_file", "inventory_dir")}
    view[host.name] = {"groups": groups, "vars": own}
print(json.dumps(view, default=str, sort_keys=True))
