"""Action `role_inputs`: one host's inventory values against the argument specs and the own checks
(tasks/assert.yml) of the roles it receives, in one task on the control node.

playbooks/validate.yml used to run, per host and role, an argument-spec task and then every task of
the role's assert.yml: about sixty task executions per host, each a forked worker with the host's
variables assembled again (some 160 ms of controller CPU each, measured on the production
inventory). This action reads the same files and evaluates the same Jinja conditions with the same
variables (role defaults < the host's variables < role vars < task vars < loop variables), in one
worker per host. The first failure stops the host, as the task would have, with the same message.

Supported in assert.yml, which is all the roles use: assert, set_fact, debug (its message becomes a
warning), include_vars (file and name) and fail, with name, when, loop, loop_control (loop_var,
index_var, label), vars, no_log and tags. Anything else is refused, so that a new kind of task in an
assert.yml cannot be skipped silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import add_all_plugin_dirs
from ansible.utils.vars import combine_vars

ACTIONS = frozenset({"assert", "set_fact", "debug", "include_vars", "fail"})
KEYWORDS = {"name", "when", "loop", "loop_control", "vars", "no_log", "tags"}
# The same options as the documentation stub plugins/modules/role_inputs.py.
ARGUMENT_SPEC = {
    "roles": {"type": "list", "elements": "str", "required": True},
    "roles_path": {"type": "path", "required": True},
}


def action_of(task: Mapping) -> tuple[str, Mapping]:
    """The task's action (without the ansible.builtin. prefix) and its arguments."""
    found = [key for key in task if key not in KEYWORDS]
    if len(found) != 1:
        raise AnsibleError(f"role_inputs: task {task.get('name')!r}: expected one action, found {found}")
    key = found[0]
    short = key.removeprefix("ansible.builtin.").removeprefix("ansible.legacy.")
    if short not in ACTIONS:
        raise AnsibleError(f"role_inputs: task {task.get('name')!r}: {key} is not supported in an assert.yml")
    args = task[key]
    if not isinstance(args, Mapping):
        raise AnsibleError(f"role_inputs: task {task.get('name')!r}: the arguments of {key} must be a mapping")
    return short, args


def without_defaults(spec):
    """The argument spec without `default` keys, at every level (only what the inventory gives is checked)."""
    if isinstance(spec, Mapping):
        return {k: without_defaults(v) for k, v in spec.items() if k != "default"}
    if isinstance(spec, list):
        return [without_defaults(v) for v in spec]
    return spec


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class Failure(Exception):
    """The first failed check of a host: what the task would have reported."""

    def __init__(self, msg: str, role: str, task: str):
        super().__init__(msg)
        self.msg, self.role, self.task = msg, role, task


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        roles, roles_path = args["roles"], args["roles_path"]
        if not os.path.isdir(roles_path):
            raise AnsibleError(f"role_inputs: roles_path {roles_path!r} is not a directory")
        host = task_vars.get("inventory_hostname", "?")
        notes: list[str] = []
        # One templar for the whole host; each check sets the variables it sees.
        self._checks = self._templar.copy_with_new_env(available_variables=task_vars)
        try:
            for role in roles:
                role_dir = os.path.join(roles_path, role)
                if not os.path.isdir(role_dir):
                    raise AnsibleError(f"role_inputs: role {role!r} is not in {roles_path}")
                # The role's own filter_plugins/ and the like, as loading the role would add them.
                add_all_plugin_dirs(role_dir)
                self._check_spec(host, role, role_dir, task_vars)
                self._check_asserts(role, role_dir, task_vars, notes)
        except Failure as failure:
            result.update(failed=True, msg=failure.msg, role=failure.role, task=failure.task)
            return result
        checked = ", ".join(roles) or "no role"
        result.update(changed=False, roles=roles, msg=f"{host}: the inputs of {checked} are valid")
        if notes:
            result["warnings"] = notes
        return result

    # --- meta/argument_specs.yml ---------------------------------------------------------------

    def _check_spec(self, host: str, role: str, role_dir: str, task_vars: Mapping) -> None:
        path = os.path.join(role_dir, "meta", "argument_specs.yml")
        if not os.path.exists(path):
            return
        data = self._loader.load_from_file(path, trusted_as_template=True)
        spec = without_defaults(data["argument_specs"]["main"].get("options", {}))
        given = {name: task_vars[name] for name in spec if name in task_vars}
        self._checks.available_variables = task_vars
        given = self._checks.template(given)
        errors = ArgumentSpecValidator(spec).validate(given, validate_role_argument_spec=True).error_messages
        if errors:
            raise Failure(f"host {host}: role {role}: {'; '.join(errors)}", role, "argument spec")

    # --- tasks/assert.yml ----------------------------------------------------------------------

    def _role_vars(self, role_dir: str, kind: str) -> dict:
        """defaults/ or vars/ of a role: main.yml, or every file of main/ in name order."""
        found = {}
        single = os.path.join(role_dir, kind, "main.yml")
        folder = os.path.join(role_dir, kind, "main")
        paths = [single] if os.path.exists(single) else []
        if os.path.isdir(folder):
            paths += sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith((".yml", ".yaml")))
        for path in paths:
            found = combine_vars(found, self._loader.load_from_file(path, trusted_as_template=True) or {})
        return found

    def _check_asserts(self, role: str, role_dir: str, task_vars: Mapping, notes: list[str]) -> None:
        path = os.path.join(role_dir, "tasks", "assert.yml")
        if not os.path.exists(path):
            return
        tasks = self._loader.load_from_file(path, trusted_as_template=True) or []
        variables = combine_vars(self._role_vars(role_dir, "defaults"), task_vars)
        variables = combine_vars(variables, self._role_vars(role_dir, "vars"))
        variables.update(role_path=role_dir, role_name=role)
        for task in tasks:
            self._run_task(role, task, variables, notes)

    def _run_task(self, role: str, task: Mapping, variables: dict, notes: list[str]) -> None:
        name = str(task.get("name", ""))
        action, args = action_of(task)
        scope = combine_vars(variables, task.get("vars") or {})
        control = task.get("loop_control") or {}
        loop_var = control.get("loop_var", "item")
        index_var = control.get("index_var")
        try:
            if "loop" in task:
                self._checks.available_variables = scope
                items = self._checks.template(task["loop"])
                if not isinstance(items, list):
                    raise AnsibleError(f"the loop gave {type(items).__name__}, not a list")
                runs = []
                for index, item in enumerate(items):
                    extra = {loop_var: item, **({index_var: index} if index_var else {})}
                    runs.append(combine_vars(scope, extra))
            else:
                runs = [scope]
            for run_vars in runs:
                templar = self._checks
                templar.available_variables = run_vars
                if not all(templar.evaluate_conditional(c) for c in as_list(task.get("when"))):
                    continue
                self._act(role, name, action, args, templar, variables, notes)
        except AnsibleError as exc:  # a Failure is not an AnsibleError: it passes through
            host = variables.get("inventory_hostname", "?")
            raise Failure(f"host {host}: role {role}: task '{name}': {exc.message}", role, name) from exc

    def _act(self, role, name, action, args, templar, variables: dict, notes: list[str]) -> None:
        if action == "assert":
            that = as_list(args.get("that"))
            if not that:
                raise AnsibleError("an assert without conditions ('that')")
            for condition in that:
                if not templar.evaluate_conditional(condition):
                    msg = args.get("fail_msg", args.get("msg", f"Assertion failed: {condition}"))
                    raise Failure(str(templar.template(msg)), role, name)
        elif action == "fail":
            raise Failure(str(templar.template(args.get("msg", "Failed as requested from task"))), role, name)
        elif action == "set_fact":
            for key, value in args.items():
                if key != "cacheable":
                    variables[key] = templar.template(value)
        elif action == "debug":
            if "msg" in args:
                notes.append(str(templar.template(args["msg"])))
        elif action == "include_vars":
            data = self._loader.load_from_file(templar.template(args["file"]), trusted_as_template=True) or {}
            target = args.get("name")
            if target:
                variables[templar.template(target)] = data
            else:
                variables.update(data)
