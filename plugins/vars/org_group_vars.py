"""Load the organisation-wide group_vars/ at the top of the repository for every inventory."""

from __future__ import annotations

DOCUMENTATION = """
    name: org_group_vars
    short_description: Organisation-wide group_vars shared by every inventory
    description:
      - Loads C(group_vars/) at the top of the belediye-iac repository (next to C(ansible.cfg)) for every
        inventory, that is C(inventories/lab), C(inventories/production), molecule's generated inventories and
        any inventory a user passes with C(-i).
      - Ansible itself only reads C(group_vars/) next to an inventory source or a playbook. Organisation-wide
        defaults (time zone, locales, sudo and update policy) would otherwise have to be copied into each
        inventory.
      - The files are read while the inventory is parsed, as if they were written in the inventory file.
        Anything an inventory sets in its own C(group_vars/) or C(host_vars/) therefore wins over them;
        the top level holds defaults, each inventory holds its estate.
      - Files follow the usual layout, C(group_vars/<group>.yml) or C(group_vars/<group>/*.yml), and may be
        vault-encrypted.
    options:
      stage:
        description: When the plugin runs. It must stay C(inventory), so that its values rank as inventory-file
          values, below the inventory's own C(group_vars/).
        default: inventory
        choices: [inventory]
        ini:
          - key: stage
            section: vars_org_group_vars
        env:
          - name: BELEDIYE_ORG_GROUP_VARS_STAGE
      path:
        description: The directory whose C(group_vars/) is loaded. Defaults to the repository holding this plugin.
        ini:
          - key: path
            section: vars_org_group_vars
        env:
          - name: BELEDIYE_ORG_GROUP_VARS_PATH
"""

import os

from ansible.errors import AnsibleParserError
from ansible.inventory.group import InventoryObjectType
from ansible.plugins.vars import BaseVarsPlugin
from ansible.utils.vars import combine_vars

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


class VarsModule(BaseVarsPlugin):
    REQUIRES_ENABLED = True
    is_stateless = True

    def _group_vars_dir(self) -> str:
        try:
            base = self.get_option("path")
        except KeyError:
            base = None
        return os.path.join(os.path.realpath(base or REPO_ROOT), "group_vars")

    def get_vars(self, loader, path, entities, cache=True):
        if not isinstance(entities, list):
            entities = [entities]
        directory = self._group_vars_dir()
        if not os.path.isdir(directory):
            return {}
        data = {}
        for entity in entities:
            if getattr(entity, "base_type", None) is not InventoryObjectType.GROUP:
                continue
            for found in loader.find_vars_files(directory, entity.name):
                new = loader.load_from_file(found, cache="all", unsafe=True, trusted_as_template=True)
                if not new:
                    continue
                try:
                    data = combine_vars(data, new)
                except Exception as exc:  # a file that is not a mapping, for example
                    raise AnsibleParserError(f"org_group_vars: cannot load {found}: {exc}") from exc
        return data
