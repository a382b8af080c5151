"""Readiness rules: for each rule a config that breaks it (rule ID, line, dotted path) and one that passes.

Every case starts from the shipped config (all placeholders, all pending) or the deployed
one (every engine real and validated) and changes one thing. ``test_every_rule_has_cases``
fails when a rule is registered without both kinds of case.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import NamedTuple

import pytest
from conftest import WriteConfig, mutate, remove_env, replace_promotion, set_env_field, where

from generator import cli, ledger, rules
from generator.loader import load_config
from generator.model import Config
from generator.rules import RULES, Severity, Violation


class Spot(NamedTuple):
    """Where a violation must be: its dotted path, and a needle (+ part) locating it in the text."""

    path: str
    needle: str
    at: str | None = None


class Case(NamedTuple):
    id: str
    rule: str
    base: str  # "shipped" or "deployed"
    edit: Callable[[str], str]
    spots: tuple[Spot, ...] = ()  # empty: the config passes the rule
    message: str = ""
    step: tuple[str, str, list[str]] | None = None  # (from, to, agents) for promotion-scope rules
    history: tuple[str, ...] | None = None  # ledger entry names, for history-scope rules


def unchanged(text: str) -> str:
    return text


def env(agent: str, name: str, **fields: str | None) -> Callable[[str], str]:
    def edit(text: str) -> str:
        for field, value in fields.items():
            text = set_env_field(text, agent, name, field, value)
        return text

    return edit


def chain(*edits: Callable[[str], str]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        for step in edits:
            text = step(text)
        return text

    return edit


def entry_name(agent: str, env: str, number: str, at: str = "20261201T100000.000000Z", action: str = "record") -> str:
    return f"{at}.{agent}.{env}.{action}.{number}.a1b2c3.yaml"


def promotion(*entries: str) -> Callable[[str], str]:
    return lambda text: replace_promotion(text, "promotion:\n" + "".join(entries))


DEV_TO_STAGE = "  dev_to_stage:\n    required_checks:\n      - name: Unit tests passing\n        command: make test\n"
STAGE_TO_PROD = '  stage_to_prod:\n    required_checks:\n      - Stage smoke tests passing\n    manual_approval: true\n    approval_channel: "#deployments"\n'
NUMBER = "5000000000000000017"  # used nowhere else
ENGINE = f"reasoningEngines/{NUMBER}"
BOB = "agents.bob.environments"

BREAKING = [
    Case(
        "PR001-placeholder-validated", "PR001", "shipped", env("bob", "dev", status="validated"),
        (Spot(f"{BOB}.dev.engine_id", "engine_id: TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev", "TODO"),),
        "is a placeholder but status is `validated`",
    ),
    Case(
        "PR002-malformed", "PR002", "deployed", env("bob", "stage", engine_id="projects/bobs-brain-stage/reasoningEngines/5000000000000000017"),
        (Spot(f"{BOB}.stage.engine_id", "projects/bobs-brain-stage/reasoningEngines"),),
        "is not a reasoning engine resource name",
    ),
    Case(
        "PR002-wrong-location", "PR002", "deployed", env("bob", "stage", engine_id=f"projects/bobs-brain-stage/locations/europe-west1/{ENGINE}"),
        (Spot(f"{BOB}.stage.engine_id", "projects/bobs-brain-stage/locations/europe-west1"),),
        "location `europe-west1` but the environment's region is `us-central1`",
    ),
    Case(
        "PR002-wrong-project", "PR002", "deployed", env("bob", "stage", engine_id=f"projects/bobs-brain-dev/locations/us-central1/{ENGINE}"),
        (Spot(f"{BOB}.stage.engine_id", f"projects/bobs-brain-dev/locations/us-central1/{ENGINE}"),),
        "project `bobs-brain-dev` but the environment's project is `bobs-brain-stage`",
    ),
    Case(
        "PR002-project-number-not-declared", "PR002", "deployed", env("bob", "stage", engine_id=f"projects/123456789012/locations/us-central1/{ENGINE}"),
        (Spot(f"{BOB}.stage.engine_id", "projects/123456789012"),),
        "project `123456789012`",
    ),
    Case(
        "PR003-stage-validated-dev-pending", "PR003", "deployed", env("bob", "dev", engine_id="TODO-SET-DEV-ENGINE-ID", status="pending"),
        (Spot(f"{BOB}.stage.status", "engine_name: bobs-brain-stage\n        status: validated", "validated"),),
        "`stage` is `validated` while `dev` is only `pending`",
    ),
    Case(
        "PR003-prod-deployed-stage-deployed", "PR003", "deployed", chain(env("bob", "stage", status="deployed"), env("bob", "prod", status="deployed")),
        (Spot(f"{BOB}.prod.status", "engine_name: bobs-brain-prod\n        status: deployed", "deployed"),),
        "`prod` is `deployed` while `stage` is only `deployed`",
    ),
    Case(
        "PR004-same-engine-two-agents", "PR004", "deployed",
        chain(env("bob", "dev", engine_id=f'"{NUMBER}"'), env("foreman", "dev", engine_id=f"projects/bobs-brain-dev/locations/us-central1/{ENGINE}")),
        (Spot("agents.foreman.environments.dev.engine_id", f"projects/bobs-brain-dev/locations/us-central1/{ENGINE}"),),
        "is also used by `bob` in `dev`",
    ),
    Case(
        "PR004-same-engine-two-envs", "PR004", "deployed",
        chain(
            env("bob", "dev", engine_id=f"projects/bobs-brain-dev/locations/us-central1/{ENGINE}"),
            env("bob", "stage", engine_id=f"projects/bobs-brain-stage/locations/us-central1/{ENGINE}"),
        ),
        (Spot(f"{BOB}.stage.engine_id", f"projects/bobs-brain-stage/locations/us-central1/{ENGINE}"),),
        "is also used by `bob` in `dev`",
    ),
    Case(
        "PR005-missing-pair", "PR005", "shipped", promotion(DEV_TO_STAGE),
        (Spot("promotion", "\n  dev_to_stage:", "dev_to_stage"),),
        "no promotion entry for `stage` -> `prod`",
    ),
    Case(
        "PR005-non-consecutive", "PR005", "shipped", promotion(DEV_TO_STAGE, STAGE_TO_PROD, "  dev_to_prod:\n    required_checks:\n      - Everything\n"),
        (Spot("promotion.dev_to_prod", "dev_to_prod:\n    required_checks", "required_checks"),),
        "`dev` -> `prod` is not a consecutive step",
    ),
    Case(
        "PR005-unknown-pair", "PR005", "shipped", promotion(DEV_TO_STAGE, STAGE_TO_PROD, "  dev_to_qa:\n    required_checks:\n      - QA sign-off\n"),
        (Spot("promotion.dev_to_qa", "dev_to_qa:\n    required_checks", "required_checks"),),
        "`dev_to_qa` does not name two environments",
    ),
    Case(
        "PR006-empty-checks", "PR006", "shipped", promotion("  dev_to_stage:\n    required_checks: []\n", STAGE_TO_PROD),
        (Spot("promotion.dev_to_stage.required_checks", "required_checks: []", "[]"),),
        "`dev_to_stage` has no required checks",
    ),
    Case(
        "PR006-inherit-from-later", "PR006", "shipped", promotion(DEV_TO_STAGE + "    inherit_checks_from: stage_to_prod\n", STAGE_TO_PROD),
        (Spot("promotion.dev_to_stage.inherit_checks_from", "inherit_checks_from: stage_to_prod", "stage_to_prod"),),
        "`stage_to_prod` is not an earlier step than `dev_to_stage`",
    ),
    Case(
        "PR006-inherit-from-unknown", "PR006", "shipped", promotion(DEV_TO_STAGE, STAGE_TO_PROD + "    inherit_checks_from: qa_to_stage\n"),
        (Spot("promotion.stage_to_prod.inherit_checks_from", "qa_to_stage"),),
        "`qa_to_stage` is not a promotion entry",
    ),
    Case(
        "PR007-approval-without-channel", "PR007", "shipped", promotion(DEV_TO_STAGE, STAGE_TO_PROD.replace('    approval_channel: "#deployments"\n', "")),
        (Spot("promotion.stage_to_prod.manual_approval", "manual_approval: true", "true"),),
        "`stage_to_prod` needs manual approval but names no `approval_channel`",
    ),
    Case(
        "PR008-missing-env", "PR008", "shipped", lambda text: remove_env(text, "bob", "prod"),
        (Spot(f"{BOB}", "      dev:\n        project_id: bobs-brain-dev\n        region: us-central1\n        engine_id: TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev", "dev"),),
        "agent `bob` does not define environment `prod`",
    ),
    Case(
        "PR008-extra-env", "PR008", "shipped",
        lambda text: mutate(
            text,
            "        engine_name: bobs-brain-prod\n        status: pending\n",
            "        engine_name: bobs-brain-prod\n        status: pending\n      qa:\n        project_id: bobs-brain-qa\n"
            "        region: us-central1\n        engine_id: TODO-SET-QA-ENGINE-ID\n        status: pending\n",
        ),
        (Spot(f"{BOB}.qa", "project_id: bobs-brain-qa", None),),
        "`qa` is not one of the pipeline's environments (dev, stage, prod)",
    ),
    Case(
        "PR009-real-engine-still-pending", "PR009", "deployed", env("bob", "prod", status="pending"),
        (Spot(f"{BOB}.prod.status", "status: pending", "pending"),),
        "is set but status is still `pending`",
    ),
    Case(
        "PR010-source-placeholder", "PR010", "shipped", unchanged,
        (Spot(f"{BOB}.dev.engine_id", "TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev"),),
        "`bob` is blocked on dev -> stage: dev engine ID is a placeholder",
        step=("dev", "stage", ["bob"]),
    ),
    Case(
        "PR010-source-only-deployed", "PR010", "deployed",
        chain(env("bob", "dev", status="deployed"), env("bob", "stage", engine_id="TODO-SET-STAGE-ENGINE-ID", status="pending"), env("bob", "prod", engine_id="TODO-SET-PROD-ENGINE-ID", status="pending")),
        (Spot(f"{BOB}.dev.status", "status: deployed", "deployed"),),
        "dev is only `deployed`, not `validated`",
        step=("dev", "stage", ["bob"]),
    ),
    Case(
        "PR010-not-promoted-to-source-yet", "PR010", "shipped", unchanged,
        (Spot(f"{BOB}.stage.engine_id", "TODO-SET-STAGE-ENGINE-ID\n        engine_name: bobs-brain-stage"),),
        "not promoted to stage yet",
        step=("stage", "prod", ["bob"]),
    ),
    Case(
        "PR012-hand-edit-never-recorded", "PR012", "deployed", unchanged,
        (Spot(f"{BOB}.dev.engine_id", "engine_id: projects/bobs-brain-dev/locations/us-central1/reasoningEngines/1000000000000000001", "projects/"),),
        "is not the one the ledger last recorded for `bob` in `dev` (`42`, 2026-12-01)",
        history=(entry_name("bob", "dev", "1000000000000000001", "20261130T100000.000000Z"), entry_name("bob", "dev", "42")),
    ),
    Case(  # the newest entry decides, wherever it stands in the history
        "PR012-newest-listed-first", "PR012", "deployed", unchanged,
        (Spot(f"{BOB}.dev.engine_id", "engine_id: projects/bobs-brain-dev/locations/us-central1/reasoningEngines/1000000000000000001", "projects/"),),
        "is not the one the ledger last recorded for `bob` in `dev` (`42`, 2026-12-01)",
        history=(entry_name("bob", "dev", "42"), entry_name("bob", "dev", "1000000000000000001", "20261130T100000.000000Z")),
    ),
    Case(
        "PR011-seed-inheritance-line", "PR011", "shipped",
        promotion(DEV_TO_STAGE, STAGE_TO_PROD.replace("      - Stage smoke tests passing\n", '      - "All dev_to_stage checks"\n      - Stage smoke tests passing\n')),
        (Spot("promotion.stage_to_prod.required_checks[0]", '"All dev_to_stage checks"'),),
        "is read as `inherit_checks_from: dev_to_stage`",
    ),
]

PASSING = [
    Case("PR001-placeholders-pending", "PR001", "shipped", unchanged),
    Case("PR001-real-engines-validated", "PR001", "deployed", unchanged),
    Case("PR002-full-resource-names", "PR002", "deployed", unchanged),
    Case(
        "PR002-project-number-declared", "PR002", "deployed",
        env("bob", "stage", project_number='"123456789012"', engine_id=f"projects/123456789012/locations/us-central1/{ENGINE}"),
    ),
    Case("PR002-bare-number", "PR002", "deployed", env("bob", "stage", engine_id=f'"{NUMBER}"')),
    Case("PR003-all-validated", "PR003", "deployed", unchanged),
    Case("PR003-deployed-after-validated", "PR003", "deployed", env("bob", "prod", status="deployed")),
    Case("PR003-all-pending", "PR003", "shipped", unchanged),
    Case("PR004-unique-engines", "PR004", "deployed", unchanged),
    Case("PR004-placeholders-exempt", "PR004", "shipped", unchanged),  # TODO-SET-DEV-ENGINE-ID is there twice
    Case("PR005-consecutive-pairs", "PR005", "shipped", unchanged),
    Case("PR006-checks-listed", "PR006", "shipped", unchanged),
    Case("PR006-inherited-checks-suffice", "PR006", "shipped", promotion(DEV_TO_STAGE, STAGE_TO_PROD.replace("required_checks:\n      - Stage smoke tests passing\n", "required_checks: []\n    inherit_checks_from: dev_to_stage\n"))),
    Case("PR007-channel-named", "PR007", "shipped", unchanged),
    Case("PR007-no-approval-no-channel", "PR007", "shipped", promotion(DEV_TO_STAGE, STAGE_TO_PROD.replace("manual_approval: true", "manual_approval: false").replace('    approval_channel: "#deployments"\n', ""))),
    Case("PR008-every-env", "PR008", "shipped", unchanged),
    Case("PR009-statuses-set", "PR009", "deployed", unchanged),
    Case("PR009-placeholders-pending", "PR009", "shipped", unchanged),
    Case("PR010-done", "PR010", "deployed", unchanged, step=("dev", "stage", ["bob", "foreman"])),
    Case(
        "PR010-ready-target-still-a-placeholder", "PR010", "deployed",
        chain(env("bob", "stage", engine_id="TODO-SET-STAGE-ENGINE-ID", status="pending"), env("bob", "prod", engine_id="TODO-SET-PROD-ENGINE-ID", status="pending")),
        step=("dev", "stage", ["bob"]),
    ),
    Case("PR010-promoted", "PR010", "deployed", chain(env("bob", "stage", status="deployed"), env("bob", "prod", engine_id="TODO-SET-PROD-ENGINE-ID", status="pending")), step=("dev", "stage", ["bob"])),
    Case("PR010-other-agents-blocked", "PR010", "deployed", env("foreman", "prod", engine_id="TODO-SET-PROD-ENGINE-ID", status="pending"), step=("stage", "prod", ["bob"])),
    Case("PR011-inherit-key", "PR011", "shipped", unchanged),
    Case("PR012-latest-entry-matches", "PR012", "deployed", unchanged, history=(entry_name("bob", "dev", "42", "20261130T100000.000000Z"), entry_name("bob", "dev", "1000000000000000001"))),
    Case("PR012-latest-entry-listed-first-matches", "PR012", "deployed", unchanged, history=(entry_name("bob", "dev", "1000000000000000001"), entry_name("bob", "dev", "42", "20261130T100000.000000Z"))),
    Case("PR012-entry-for-an-agent-no-longer-in-the-config", "PR012", "deployed", unchanged, history=(entry_name("ghost", "dev", "77"),)),
    Case("PR012-approvals-do-not-set-engines", "PR012", "deployed", unchanged, history=(entry_name("bob", "dev", "1000000000000000001", "20261130T100000.000000Z"), entry_name("bob", "dev", "42", action="approve"))),
    Case("PR011-unknown-step-is-a-plain-check", "PR011", "shipped", promotion(DEV_TO_STAGE, STAGE_TO_PROD.replace("      - Stage smoke tests passing\n", '      - "All qa_to_stage checks"\n'))),
]


def base_text(case: Case, shipped: str, deployed: str) -> str:
    return {"shipped": shipped, "deployed": deployed}[case.base]


def run_rules(config: Config, step: tuple[str, str, list[str]] | None, history: tuple[str, ...] | None = None) -> list[Violation]:
    names = [ledger.parse_name(name) for name in history] if history is not None else None
    return rules.run(config, [rules.Step(*step)] if step else [], names)



def rule_by_id(rule_id: str) -> rules.Rule:
    return next(r for r in RULES if r.id == rule_id)


@pytest.mark.parametrize("case", BREAKING, ids=[c.id for c in BREAKING])
def test_rule_broken(case: Case, placeholder_config_text: str, deployed_config_text: str, write_config: WriteConfig) -> None:
    text = case.edit(base_text(case, placeholder_config_text, deployed_config_text))
    path = write_config(text)
    found = run_rules(load_config(path), case.step, case.history)
    mine = [v for v in found if v.code == case.rule]
    expected = [(spot.path, path, *where(text, spot.needle, spot.at)) for spot in case.spots]
    assert [(v.path, v.location.file, v.location.line, v.location.col) for v in mine] == expected
    for v in mine:
        assert v.rule is rule_by_id(case.rule)
        assert case.message in v.message
        assert v.hint
    # the edit breaks this rule and no other
    assert {v.code for v in rules.errors(found)} == ({case.rule} if mine[0].severity is Severity.ERROR else set())


@pytest.mark.parametrize("case", PASSING, ids=[c.id for c in PASSING])
def test_rule_passes(case: Case, placeholder_config_text: str, deployed_config_text: str, write_config: WriteConfig) -> None:
    text = case.edit(base_text(case, placeholder_config_text, deployed_config_text))
    found = run_rules(load_config(write_config(text)), case.step, case.history)
    assert [v.format() for v in found if v.code == case.rule] == []
    assert [v.format() for v in rules.errors(found)] == []


@pytest.mark.parametrize("rule_id", [r.id for r in RULES])
def test_every_rule_has_cases(rule_id: str) -> None:
    assert rule_id in {c.rule for c in BREAKING}, f"{rule_id} has no config that breaks it in BREAKING"
    assert rule_id in {c.rule for c in PASSING}, f"{rule_id} has no config that passes it in PASSING"


def test_registry_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({r.name for r in RULES}) == len(RULES)
    for r in RULES:
        assert r.id.startswith("PR") and r.id[2:].isdigit()
        assert r.title and r.hint and r.explanation, r.id


def test_pr010_covers_only_selected_agents(placeholder_config_text: str, write_config: WriteConfig) -> None:
    config = load_config(write_config(placeholder_config_text))
    found = rules.run(config, [rules.Step("stage", "prod", ["foreman"])])
    assert [(v.agent, v.environment, v.path) for v in found] == [("foreman", "stage", "agents.foreman.environments.stage.engine_id")]


def test_exit_codes_come_from_the_rule_scope() -> None:
    assert {r.id: int(r.exit_code) for r in RULES if r.severity is Severity.ERROR} == {f"PR00{i}": 1 for i in range(1, 9)} | {"PR010": 2}
    assert {r.id for r in RULES if r.severity is Severity.WARNING} == {"PR009", "PR011", "PR012"}


def test_seed_inheritance_line_is_read_as_inheritance(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = replace_promotion(placeholder_config_text, "promotion:\n" + DEV_TO_STAGE + STAGE_TO_PROD.replace("      - Stage smoke tests passing\n", '      - "All dev_to_stage checks"\n      - Stage smoke tests passing\n'))
    config = load_config(write_config(text))
    stage_to_prod = config.promotion["stage_to_prod"]
    assert stage_to_prod.inherit_checks_from == "dev_to_stage"
    assert [c.name for c in config.effective_checks(stage_to_prod)] == ["Unit tests passing", "Stage smoke tests passing"]


def test_pr009_is_a_warning_validate_exits_0(deployed_config_text: str, write_config: WriteConfig) -> None:
    path = write_config(set_env_field(deployed_config_text, "bob", "prod", "status", "pending"))
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["validate", "--config", path], out, err) == 0
    assert "warning [PR009] agents.bob.environments.prod.status" in err.getvalue()
    assert "1 warning" in out.getvalue()


def test_check_config_sorted_by_position(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(placeholder_config_text, "foreman", "dev", "status", "deployed")
    text = set_env_field(text, "bob", "dev", "status", "validated")
    found = rules.run(load_config(write_config(text)))
    assert [(v.code, v.agent) for v in found] == [("PR001", "bob"), ("PR001", "foreman")]
    assert found[0].location.line < found[1].location.line
