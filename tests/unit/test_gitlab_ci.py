"""The GitLab pipeline (.gitlab-ci.yml): the structure that change management relies on.

The file is read with yaml.safe_load (it uses no GitLab-only tags). Its `rules:` are evaluated by a
small evaluator of the subset of GitLab's expression syntax the file uses (`$VAR`, quoted strings,
==, !=, &&, ||); anything outside that subset raises, so the evaluator can never silently misjudge a
rule it does not understand. Each pipeline scenario is a row: which pipeline GitLab creates for a
merge request, a merge to main, a push to a branch, a schedule, and which jobs it holds.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CI_FILE = ROOT / ".gitlab-ci.yml"

# Top-level keys that are not jobs.
GLOBAL_KEYS = {"stages", "variables", "workflow", "default", "include", "image", "services", "cache", "spec"}

JOBS = {
    # job: (stage, the one script it runs, runner tag)
    "lint": ("lint", "ci/lint.sh", "belediye-test"),
    "talep": ("lint", "ci/talep.sh", "belediye-test"),
    "test": ("test", "ci/test.sh", "belediye-test"),
    "plan": ("plan", "ci/plan.sh", "belediye-kontrol"),
    "apply": ("apply", "ci/apply.sh", "belediye-kontrol"),
}

# Variables the scripts read, with the defaults the pipeline declares for them.
SCRIPT_VARIABLES = {
    "INVENTORY": "inventories/production",
    "PLAYBOOK": "playbooks/site.yml",
    "LIMIT": "",
    "APPLY_SERIAL": "1,25%",
    "APPLY_MAX_FAIL_PERCENTAGE": "0",
}
DECLARED_VARIABLES = {
    **SCRIPT_VARIABLES,
    "APPLY_MANUAL": "false",
    "BELEDIYE_LEDGER_PATH": "/var/log/belediye-iac/ledger.jsonl",
}


@functools.cache
def pipeline_file() -> dict:
    return yaml.safe_load(CI_FILE.read_text(encoding="utf-8"))


def jobs() -> dict[str, dict]:
    return {k: v for k, v in pipeline_file().items() if k not in GLOBAL_KEYS and not k.startswith(".")}


def script_text(name: str) -> str:
    return (ROOT / "ci" / name).read_text(encoding="utf-8")


# --- a small evaluator of GitLab `rules:` expressions ---------------------------------------------

_TOKEN = re.compile(r'\s*(\$[A-Za-z_][A-Za-z0-9_]*|"[^"]*"|==|!=|&&|\|\||null\b)')


def _tokens(expr: str) -> list[str]:
    expr, pos, out = expr.strip(), 0, []
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"unsupported rule syntax at {expr[pos:]!r} in {expr!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def _split(tokens: list[str], op: str, expr: str) -> list[list[str]]:
    parts, cur = [], []
    for t in tokens:
        if t == op:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    if any(not p for p in parts):
        raise ValueError(f"empty operand of {op} in {expr!r}")
    return parts


def _operand(tok: str, env: dict) -> str | None:
    if tok.startswith("$"):
        return env.get(tok[1:])
    if tok == "null":
        return None
    if tok.startswith('"'):
        return tok[1:-1]
    raise ValueError(f"not an operand: {tok!r}")


def _comparison(toks: list[str], env: dict, expr: str) -> bool:
    if len(toks) == 1 and toks[0].startswith("$"):
        return bool(env.get(toks[0][1:]))  # a variable alone: defined and not empty
    if len(toks) == 3 and toks[1] in ("==", "!="):
        equal = _operand(toks[0], env) == _operand(toks[2], env)
        return equal if toks[1] == "==" else not equal
    raise ValueError(f"unsupported comparison {' '.join(toks)!r} in {expr!r}")


def evaluate(expr: str, env: dict) -> bool:
    """GitLab's precedence: && binds tighter than ||."""
    toks = _tokens(expr)
    return any(all(_comparison(c, env, expr) for c in _split(d, "&&", expr)) for d in _split(toks, "||", expr))


def first_matching_rule(rules: list[dict], env: dict) -> dict | None:
    for rule in rules:
        unsupported = set(rule) - {"if", "when", "allow_failure", "variables"}
        if unsupported:
            raise ValueError(f"rule keys this test does not evaluate: {sorted(unsupported)}")
        if "if" not in rule or evaluate(rule["if"], env):
            return rule
    return None


def simulate(variables: dict) -> dict[str, dict] | None:
    """The pipeline GitLab would create: None for no pipeline, else {job: the rule that added it}.

    Variables given here (predefined, project or "Run pipeline" variables) win over the file's own
    `variables:` defaults, as in GitLab."""
    ci = pipeline_file()
    env = {k: (v["value"] if isinstance(v, dict) else v) for k, v in ci.get("variables", {}).items()}
    env.update({"CI_DEFAULT_BRANCH": "main", **variables})
    rule = first_matching_rule(ci["workflow"]["rules"], env)
    if rule is None or rule.get("when") == "never":
        return None
    created = {}
    for name, job in jobs().items():
        if "rules" in job:
            rule = first_matching_rule(job["rules"], env)
            if rule is None:
                continue
        else:
            rule = {}
        rule = {"when": job.get("when", "on_success"), **rule}
        if rule["when"] != "never":
            created[name] = rule
    return created


@pytest.mark.parametrize(
    ("expr", "env", "expected"),
    [
        ('$A == "x"', {"A": "x"}, True),
        ('$A == "x"', {}, False),
        ('$A != "x"', {}, True),
        ("$A == $B", {"A": "main", "B": "main"}, True),
        ("$A", {"A": ""}, False),
        ('$A == "1" || $B == "1" && $C == "1"', {"A": "1"}, True),
        ('$A == "1" || $B == "1" && $C == "1"', {"B": "1"}, False),
        ('$A == "1" && $B == "1" || $C == "1"', {"C": "1"}, True),
    ],
    ids=["equal", "undefined-is-not-equal", "undefined-differs", "two-variables", "empty-is-false",
         "and-binds-tighter-1", "and-binds-tighter-2", "or-of-ands"],
)  # fmt: skip
def test_the_rule_evaluator_follows_gitlab(expr, env, expected):
    assert evaluate(expr, env) is expected


@pytest.mark.parametrize("expr", ["$A =~ /x/", '($A == "x")', '$A == "x" &&', "A == B"])
def test_the_rule_evaluator_refuses_what_it_does_not_understand(expr):
    with pytest.raises(ValueError, match="unsupported|empty operand|not an operand"):
        evaluate(expr, {})


# --- pipelines ----------------------------------------------------------------------------------

PUSH_MAIN = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"}
MR_MAIN = {
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_COMMIT_REF_NAME": "talep/2026-1234",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "talep/2026-1234",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
}
CHECKS = {"lint": "on_success", "talep": "on_success", "test": "on_success"}
PLANNED = {**CHECKS, "plan": "on_success"}

SCENARIOS = [
    ("merge to main: checks, plan, apply at once", PUSH_MAIN, {**PLANNED, "apply": "on_success"}),
    ("merge to main, APPLY_MANUAL=true: apply waits", {**PUSH_MAIN, "APPLY_MANUAL": "true"},
     {**PLANNED, "apply": "manual"}),
    ("merge to main, APPLY_MANUAL mistyped: apply waits", {**PUSH_MAIN, "APPLY_MANUAL": "True"},
     {**PLANNED, "apply": "manual"}),
    ("merge to main, APPLY_MANUAL=false: apply at once", {**PUSH_MAIN, "APPLY_MANUAL": "false"},
     {**PLANNED, "apply": "on_success"}),
    ("merge request into main: checks and plan, never apply", MR_MAIN, PLANNED),
    ("merge request, APPLY_MANUAL=false: still never apply", {**MR_MAIN, "APPLY_MANUAL": "false"}, PLANNED),
    ("merge request into another branch: no plan", {**MR_MAIN, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "yedek"},
     CHECKS),
    ("push to a merge request's branch: no second pipeline",
     {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "talep/2026-1234", "CI_OPEN_MERGE_REQUESTS": "bim/iac!12"},
     None),
    ("push to a branch without a merge request: no pipeline",
     {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "deneme"}, None),
    ("tag: no pipeline", {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0", "CI_COMMIT_REF_NAME": "v1.0"}, None),
    ("schedule on main: drift plan, no apply", {**PUSH_MAIN, "CI_PIPELINE_SOURCE": "schedule"}, PLANNED),
    ("Run pipeline on main: plan, no apply", {**PUSH_MAIN, "CI_PIPELINE_SOURCE": "web"}, PLANNED),
    ("API trigger on main: plan, no apply", {**PUSH_MAIN, "CI_PIPELINE_SOURCE": "trigger"}, PLANNED),
    ("schedule on another branch: no pipeline",
     {"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "deneme"}, None),
]  # fmt: skip


@pytest.mark.parametrize(("variables", "expected"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_which_pipeline_and_jobs_gitlab_creates(variables, expected):
    created = simulate(variables)
    got = None if created is None else {job: rule["when"] for job, rule in created.items()}
    assert got == expected


def test_a_manual_apply_blocks_the_pipeline_until_someone_presses_play():
    rule = simulate({**PUSH_MAIN, "APPLY_MANUAL": "true"})["apply"]
    assert rule["when"] == "manual"
    assert rule.get("allow_failure") is False, "a manual job with allow_failure lets the pipeline pass unapplied"


def test_a_scheduled_plan_is_a_drift_check_and_a_merge_request_plan_is_not():
    scheduled = simulate({**PUSH_MAIN, "CI_PIPELINE_SOURCE": "schedule"})["plan"]
    assert scheduled.get("variables", {}).get("PLAN_EXPECT_NO_CHANGES") == "1"
    assert "PLAN_EXPECT_NO_CHANGES" in script_text("plan.sh")
    for variables in (MR_MAIN, PUSH_MAIN):
        assert "PLAN_EXPECT_NO_CHANGES" not in simulate(variables)["plan"].get("variables", {})


# --- structure ----------------------------------------------------------------------------------


def test_stages_run_in_order_lint_test_plan_apply():
    assert pipeline_file()["stages"] == ["lint", "test", "plan", "apply"]


def test_every_job_is_known_and_in_its_stage():
    assert {name: job["stage"] for name, job in jobs().items()} == {n: v[0] for n, v in JOBS.items()}


def test_nothing_is_included_from_elsewhere():
    text = CI_FILE.read_text(encoding="utf-8")
    assert "include" not in pipeline_file()
    assert not re.search(r"^\s*(include|extends|trigger):", text, re.M)
    assert "!reference" not in text


@pytest.mark.parametrize("job", JOBS)
def test_a_job_only_calls_its_executable_script_in_ci(job):
    definition = jobs()[job]
    script = JOBS[job][1]
    assert definition["script"] == [script]
    for key in ("before_script", "after_script"):
        assert key not in definition
        assert key not in pipeline_file()
        assert key not in pipeline_file().get("default", {})
    path = ROOT / script
    assert path.is_file(), f"{script} is missing"
    assert os.access(path, os.X_OK), f"{script} is not executable"


@pytest.mark.parametrize("job", JOBS)
def test_a_job_runs_on_its_runner(job):
    assert jobs()[job]["tags"] == [JOBS[job][2]]


@pytest.mark.parametrize("job", JOBS)
def test_no_job_may_fail_without_failing_the_pipeline(job):
    definition = jobs()[job]
    assert definition.get("allow_failure", False) is False
    for rule in definition.get("rules", []):
        assert rule.get("allow_failure", False) is False


@pytest.mark.parametrize("job", JOBS)
def test_only_apply_is_never_interrupted(job):
    default = pipeline_file().get("default", {}).get("interruptible", False)
    assert jobs()[job].get("interruptible", default) is (job != "apply")


@pytest.mark.parametrize("job", ["talep", "plan", "apply"])
def test_jobs_that_read_history_get_the_full_clone(job):
    variables = {**pipeline_file()["variables"], **jobs()[job].get("variables", {})}
    assert str(variables.get("GIT_DEPTH")) == "0"


def test_apply_is_one_at_a_time_after_the_plan_and_never_retried():
    apply = jobs()["apply"]
    assert apply["resource_group"] == "production"
    assert apply["environment"]["name"] == "production"
    assert [n if isinstance(n, str) else n["job"] for n in apply["needs"]] == ["plan"]
    assert apply.get("retry", 0) == 0


@pytest.mark.parametrize(
    ("job", "script", "directory"), [("plan", "plan.sh", "PLAN_DIR"), ("apply", "apply.sh", "APPLY_DIR")]
)
def test_the_artifacts_are_what_the_script_writes_kept_for_a_year(job, script, directory):
    m = re.search(r"\$\{" + directory + r":-([^}]+)\}", script_text(script))
    assert m, f"ci/{script} does not set a default for {directory}"
    definition = jobs()[job]
    assert directory not in definition.get("variables", {}), f"{job} moves the reports away from the artifacts"
    artifacts = definition["artifacts"]
    assert artifacts["paths"] == [m.group(1).rstrip("/") + "/"]
    assert artifacts["when"] == "always"
    assert artifacts["expire_in"] == "1 year"


def test_the_plan_is_shown_on_the_merge_request():
    assert jobs()["plan"]["artifacts"]["expose_as"] == "plan"


@pytest.mark.parametrize(("name", "default"), DECLARED_VARIABLES.items())
def test_settings_are_declared_with_their_default_and_a_description(name, default):
    declared = pipeline_file()["variables"][name]
    assert declared["value"] == default
    assert declared["description"].strip()


def test_apply_manual_offers_only_true_and_false():
    assert sorted(pipeline_file()["variables"]["APPLY_MANUAL"]["options"]) == ["false", "true"]


@pytest.mark.parametrize(("name", "default"), SCRIPT_VARIABLES.items())
def test_the_scripts_read_each_setting_with_the_same_default(name, default):
    found = {
        m.group(1)
        for script in sorted((ROOT / "ci").glob("*.sh"))
        for m in re.finditer(r"\$\{" + name + r":-([^}]*)\}", script.read_text(encoding="utf-8"))
    }
    assert found == {default}, f"ci/*.sh default {name} to {found}, the pipeline to {default!r}"


def test_the_ledger_reads_the_path_the_pipeline_sets():
    ledger = (ROOT / "plugins" / "callback" / "ledger.py").read_text(encoding="utf-8")
    assert "BELEDIYE_LEDGER_PATH" in ledger
    assert DECLARED_VARIABLES["BELEDIYE_LEDGER_PATH"] in ledger


@pytest.mark.parametrize(("job", "control_node"), [("test", False), ("plan", True), ("apply", True)])
def test_only_plan_and_apply_write_to_the_control_nodes_ledger(job, control_node):
    path = {**pipeline_file()["variables"], **jobs()[job].get("variables", {})}["BELEDIYE_LEDGER_PATH"]
    path = path["value"] if isinstance(path, dict) else path
    assert (path == DECLARED_VARIABLES["BELEDIYE_LEDGER_PATH"]) is control_node, f"{job} writes its runs to {path}"


def test_the_vault_password_is_never_in_the_file():
    text = CI_FILE.read_text(encoding="utf-8")
    assert "VAULT_PASSWORD_FILE" in text, "the file should say where the vault password comes from"
    assert "VAULT_PASSWORD_FILE" not in pipeline_file()["variables"]
    for definition in jobs().values():
        assert "VAULT_PASSWORD_FILE" not in definition.get("variables", {})
        for rule in definition.get("rules", []):
            assert "VAULT_PASSWORD_FILE" not in rule.get("variables", {})
    assert "VAULT_PASSWORD_FILE" in script_text("lib.sh")
