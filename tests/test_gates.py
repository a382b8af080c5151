"""Gates real promotion systems have: approvals bound to an engine, freeze windows, soak time, checks that run.

Every test drives the real CLI on a project in tmp_path (config + config/ledger/), with
``--now`` for the clock, and asserts exit codes, messages and what the ledger holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DEPLOYED_FIXTURE, make_project, mutate, replace_promotion, run_cli, set_env_field

STAGE_2 = "projects/bobs-brain-stage/locations/us-central1/reasoningEngines/2999999999999999999"
PROD_NEW = "projects/bobs-brain/locations/us-central1/reasoningEngines/3999999999999999999"


def ready_for_prod() -> str:
    """The deployed fixture with bob's and foreman's prod still to come (stage validated)."""
    text = DEPLOYED_FIXTURE.read_text(encoding="utf-8")
    for agent in ("bob", "foreman"):
        text = set_env_field(text, agent, "prod", "engine_id", "TODO-SET-PROD-ENGINE-ID")
        text = set_env_field(text, agent, "prod", "status", "pending")
    return text


def with_prod_freeze(text: str, windows: str) -> str:
    return mutate(text, "    monitoring: full\n", "    monitoring: full\n    freeze:\n" + windows)


def step(root: Path, *more: str) -> tuple[int, dict]:
    code, out, _ = run_cli(["validate", "--from-env", "stage", "--to-env", "prod", "--format", "json", *more], cwd=root)
    return code, json.loads(out)


def blockers(data: dict, agent: str = "bob") -> list[str]:
    return [b["reason"] for a in data["step"]["agents"] if a["key"] == agent for b in a["blockers"]]


# --- approvals --------------------------------------------------------------------------------


def test_a_manual_step_is_ready_only_with_an_approval_for_the_current_engine(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", ready_for_prod())
    code, data = step(root, "--now", "2026-12-01T10:00:00Z")
    assert code == 2
    assert blockers(data) == ["needs a manual approval in #deployments: not approved yet"]
    code, out, _ = run_cli(["approve", "--from-env", "stage", "--to-env", "prod", "--agent", "bob", "--by", "Lead", "--link", "https://chat.example/1", "--now", "2026-12-01T10:05:00Z"], cwd=root)
    assert code == 0 and "approve: bob stage -> prod for engine projects/bobs-brain-stage/" in out
    code, data = step(root, "--agent", "bob", "--now", "2026-12-01T10:06:00Z")
    assert code == 0 and data["step"]["agents"][0]["state"] == "ready"
    code, data = step(root, "--now", "2026-12-01T10:06:00Z")
    assert code == 2 and blockers(data, "foreman") and not blockers(data, "bob")  # foreman is not approved


def test_a_new_source_engine_voids_the_approval(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", ready_for_prod())
    assert run_cli(["approve", "--from-env", "stage", "--to-env", "prod", "--agent", "all", "--by", "Lead"], cwd=root)[0] == 0
    assert run_cli(["record", "--agent", "bob", "--env", "stage", "--engine-id", STAGE_2, "--status", "validated"], cwd=root)[0] == 0
    code, data = step(root, "--agent", "bob")
    assert code == 2
    (reason,) = blockers(data)
    assert "the approval was for engine `projects/bobs-brain-stage/locations/us-central1/reasoningEngines/" in reason
    assert "not the current `2999999999999999999`" in reason


def test_recording_into_a_manual_step_without_an_approval_exits_2(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", ready_for_prod())
    before = (root / "config" / "agent_engine_envs.yaml").read_bytes()
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "prod", "--engine-id", PROD_NEW, "--link", "https://ci.example/run/9"], cwd=root)
    assert code == 2
    assert "needs a manual approval for `bob`'s stage engine" in err and "a --link is not an approval" in err
    assert (root / "config" / "agent_engine_envs.yaml").read_bytes() == before
    assert not (root / "config" / "ledger").exists() or not list((root / "config" / "ledger").glob("*.yaml"))
    assert run_cli(["approve", "--from-env", "stage", "--to-env", "prod", "--agent", "bob", "--by", "Lead"], cwd=root)[0] == 0
    assert run_cli(["record", "--agent", "bob", "--env", "prod", "--engine-id", PROD_NEW], cwd=root)[0] == 0


def test_an_agent_without_a_source_engine_cannot_be_approved(tmp_path: Path) -> None:
    text = set_env_field(set_env_field(ready_for_prod(), "bob", "stage", "engine_id", "TODO-SET-STAGE-ENGINE-ID"), "bob", "stage", "status", "pending")
    root = make_project(tmp_path / "project", text)
    code, _, err = run_cli(["approve", "--from-env", "stage", "--to-env", "prod", "--agent", "bob", "--by", "Lead"], cwd=root)
    assert code == 2 and "there is nothing to approve" in err


# --- freeze windows ---------------------------------------------------------------------------

YEAR_END = '      - {from: 2026-12-24T00:00:00+01:00, until: 2027-01-02T08:00:00+01:00, reason: "Year-end freeze"}\n'
WEEKEND = '      - {weekly: "Fri 16:00 - Mon 08:00", timezone: "Europe/Berlin", reason: "No weekend deploys"}\n'


def approved_project(tmp_path: Path, windows: str) -> Path:
    root = make_project(tmp_path / "project", with_prod_freeze(ready_for_prod(), windows))
    assert run_cli(["approve", "--from-env", "stage", "--to-env", "prod", "--agent", "all", "--by", "Lead", "--now", "2026-12-01T09:00:00Z"], cwd=root)[0] == 0
    return root


@pytest.mark.parametrize(
    ("now", "frozen"),
    [
        ("2026-12-23T22:59:59Z", False),
        ("2026-12-23T23:00:00Z", True),  # 00:00 +01:00
        ("2027-01-01T12:00:00Z", True),  # across the new year
        ("2027-01-02T06:59:59Z", True),
        ("2027-01-02T07:00:00Z", False),  # 08:00 +01:00: over
    ],
)
def test_a_fixed_window_across_the_new_year(tmp_path: Path, now: str, frozen: bool) -> None:
    root = approved_project(tmp_path, YEAR_END)
    code, data = step(root, "--now", now)
    assert code == (2 if frozen else 0), data
    if frozen:
        assert blockers(data) == [
            "prod is frozen from 2026-12-23 23:00 UTC (2026-12-24 00:00 +01:00) until 2027-01-02 07:00 UTC (2027-01-02 08:00 +01:00) "
            "(Year-end freeze): until 2027-01-02 07:00 UTC (2027-01-02 08:00 +01:00)"
        ]
        (error,) = [e for e in data["errors"] if e["agent"] == "bob"]
        line = with_prod_freeze(ready_for_prod(), YEAR_END).split("\n").index(YEAR_END.rstrip("\n")) + 1
        assert (error["path"], error["line"]) == ("environments.prod.freeze[0]", line)  # located at the window


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # winter: CET (+01:00). Fri 16:00 CET = 15:00 UTC; Mon 08:00 CET = 07:00 UTC
        ("2026-12-04T14:59:00Z", None),
        ("2026-12-04T15:00:00Z", "2026-12-07 07:00 UTC"),
        ("2026-12-07T06:59:00Z", "2026-12-07 07:00 UTC"),
        ("2026-12-07T07:00:00Z", None),
        # the weekend summer time starts (Sun 2027-03-28): frozen from Fri 15:00 UTC (CET) to Mon 06:00 UTC (CEST)
        ("2027-03-26T15:00:00Z", "2027-03-29 06:00 UTC"),
        ("2027-03-29T05:59:00Z", "2027-03-29 06:00 UTC"),
        ("2027-03-29T06:00:00Z", None),
        # the weekend summer time ends (Sun 2026-10-25): from Fri 14:00 UTC (CEST) to Mon 07:00 UTC (CET)
        ("2026-10-23T13:59:00Z", None),
        ("2026-10-23T14:00:00Z", "2026-10-26 07:00 UTC"),
        ("2026-10-26T06:59:00Z", "2026-10-26 07:00 UTC"),
        ("2026-10-26T07:00:00Z", None),
    ],
)
def test_a_weekly_window_follows_daylight_saving_time(tmp_path: Path, now: str, until: str | None) -> None:
    root = approved_project(tmp_path, WEEKEND)
    code, data = step(root, "--now", now)
    if until is None:
        assert code == 0, data
    else:
        assert code == 2
        (reason,) = blockers(data)
        assert reason.startswith("prod is frozen every week Fri 16:00 - Mon 08:00 Europe/Berlin (No weekend deploys): until ")
        assert reason.endswith(f"until {until} ({until[:10]} 08:00 CET)") or reason.endswith(f"until {until} ({until[:10]} 08:00 CEST)")


def test_recording_into_a_frozen_environment_needs_an_override_with_a_link(tmp_path: Path) -> None:
    root = approved_project(tmp_path, YEAR_END)
    now = "2026-12-28T10:00:00Z"
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "prod", "--engine-id", PROD_NEW, "--now", now], cwd=root)
    assert code == 2 and "`prod` is frozen from 2026-12-23 23:00 UTC" in err and "--override-freeze" in err
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "prod", "--engine-id", PROD_NEW, "--now", now, "--override-freeze"], cwd=root)
    assert code == 64 and "--override-freeze needs --link" in err
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "prod", "--engine-id", PROD_NEW, "--now", now, "--override-freeze", "--link", "https://chat.example/cab/7"], cwd=root)
    assert code == 0, err
    entry = next(p for p in (root / "config" / "ledger").glob("*.prod.record.*.yaml")).read_text()
    assert "override_freeze: true" in entry and 'link: "https://chat.example/cab/7"' in entry


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("      - {from: 2027-01-02T08:00:00+01:00, until: 2026-12-24T00:00:00+01:00}\n", "the window starts (2027-01-02 07:00 UTC (2027-01-02 08:00 +01:00)) at or after it ends"),
        ('      - {weekly: "Fri 16:00 - Mon 08:00", timezone: "Europe/Berlinn"}\n', "`Europe/Berlinn` is not a time zone"),
        ('      - {weekly: "Fri 25:00 - Mon 08:00", timezone: "UTC"}\n', "`25:00` is not a time of day"),
        ('      - {weekly: "Fry 16:00 - Mon 08:00", timezone: "UTC"}\n', "`Fry` is not a day"),
        ('      - {weekly: "Fri 16:00 - Mon 08:00"}\n', "a weekly window needs a `timezone`"),
        ("      - {from: 2026-12-24T00:00:00, until: 2027-01-02T08:00:00+01:00}\n", "has no time zone offset"),
        ("      - {from: 2026-12-24T00:00:00Z, untill: 2027-01-02T08:00:00Z}\n", "unknown key `untill` in a freeze window"),
    ],
)
def test_a_badly_formed_window_is_a_located_config_error(tmp_path: Path, window: str, message: str) -> None:
    text = with_prod_freeze(ready_for_prod(), window)
    root = make_project(tmp_path / "project", text)
    code, _, err = run_cli(["validate"], cwd=root)
    assert code == 1, err
    line = text.split("\n").index(window.rstrip("\n")) + 1
    assert f"config/agent_engine_envs.yaml:{line}:" in err and "environments.prod.freeze[0]" in err
    assert message in err and "fix: " in err


# --- soak -------------------------------------------------------------------------------------


def with_soak(text: str, soak: str = "24h", manual: bool = False) -> str:
    block = (
        "promotion:\n  dev_to_stage:\n    required_checks:\n      - name: Unit tests passing\n        command: make test\n"
        f"  stage_to_prod:\n    required_checks:\n      - Stage smoke tests passing\n    manual_approval: {'true' if manual else 'false'}\n    approval_channel: \"#deployments\"\n    soak: {soak}\n"
    )
    return replace_promotion(text, block)


def test_soak_holds_until_exactly_its_end(tmp_path: Path) -> None:
    text = set_env_field(with_soak(ready_for_prod()), "bob", "stage", "status", "deployed")
    root = make_project(tmp_path / "project", text)
    assert run_cli(["record", "--agent", "bob", "--env", "stage", "--status", "validated", "--now", "2026-12-01T10:00:00Z"], cwd=root)[0] == 0
    code, data = step(root, "--agent", "bob", "--now", "2026-12-02T09:59:59Z")
    assert code == 2
    assert blockers(data) == ["stage soaks 24 hours since 2026-12-01 10:00 UTC: until 2026-12-02 10:00 UTC"]
    code, data = step(root, "--agent", "bob", "--now", "2026-12-02T10:00:00Z")  # exactly at the boundary: ready
    assert code == 0, data


def test_soak_without_a_recorded_validation_says_how_to_record_it(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", with_soak(ready_for_prod(), "30m"))  # validated by hand, never recorded
    code, data = step(root, "--agent", "bob", "--now", "2026-12-02T10:00:00Z")
    assert code == 2
    (b,) = data["step"]["agents"][0]["blockers"]
    assert b["reason"] == "soak 30 minutes: the ledger has no entry for stage's validation"
    assert "promotion record --agent bob --env stage --status validated" in b["next_step"]


def test_a_bad_soak_is_a_config_error(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", with_soak(ready_for_prod(), "1 day"))
    code, _, err = run_cli(["validate"], cwd=root)
    assert code == 1 and "`1 day` is not a duration" in err and "promotion.stage_to_prod.soak" in err


# --- checks that run --------------------------------------------------------------------------


def checks_project(tmp_path: Path, commands: list[str | None], required: bool) -> Path:
    items = "".join(f"      - name: Check {i}\n        command: \"{c}\"\n" if c else f"      - Manual check {i}\n" for i, c in enumerate(commands))
    block = (
        "promotion:\n  dev_to_stage:\n    required_checks:\n      - name: Unit tests passing\n        command: make test\n"
        f"  stage_to_prod:\n    required_checks:\n{items}    require_recorded_checks: {'true' if required else 'false'}\n"
    )
    return make_project(tmp_path / "project", replace_promotion(ready_for_prod(), block))


def test_checks_lists_them_with_manual_ones(tmp_path: Path) -> None:
    root = checks_project(tmp_path, ["true", None], required=False)
    code, out, _ = run_cli(["checks", "--from-env", "stage", "--to-env", "prod"], cwd=root)
    assert code == 0
    assert "  [ ] Unit tests passing  ->  make test\n" not in out  # stage_to_prod does not inherit here
    assert "  [ ] Check 0  ->  true\n  [ ] Manual check 1  (manual)\n" in out


def test_checks_run_reports_a_failing_and_a_manual_check_and_exits_2(tmp_path: Path) -> None:
    root = checks_project(tmp_path, ["echo first-output", "echo broke >&2; exit 3", None], required=True)
    code, out, err = run_cli(["checks", "--from-env", "stage", "--to-env", "prod", "--run", "--record", "--by", "ci", "--now", "2026-12-01T10:00:00Z"], cwd=root)
    assert code == 2
    assert "first-output" in out and "broke" in out  # streamed, stderr too
    table = out[out.index("CHECK"):]
    assert "Check 0          passed  0" in table.replace("  ", "  ") or "passed" in table.split("\n")[1]
    assert table.split("\n")[2].split()[-3:] == ["failed", "3", table.split("\n")[2].split()[-1]]
    assert "manual" in table.split("\n")[3] and "1 passed, 1 failed, 1 manual" in table
    assert "1 check failed: Check 1" in err
    entries = sorted((root / "config" / "ledger").glob("*.prod.checks.*.yaml"))
    assert len(entries) == 2  # bob and foreman, bound to their stage engines
    assert 'result: "failed"' in entries[0].read_text() or '"result": "failed"' in entries[0].read_text()
    code, data = step(root, "--agent", "bob")
    assert code == 2 and blockers(data)[0].startswith("the recorded checks failed (2026-12-01T10:00Z) for stage engine")


def test_a_passing_recorded_run_opens_the_gate_until_the_engine_changes(tmp_path: Path) -> None:
    root = checks_project(tmp_path, ["true"], required=True)
    code, data = step(root, "--agent", "bob")
    assert code == 2 and blockers(data)[0].startswith("no recorded run of the checks for stage engine")
    assert run_cli(["checks", "--from-env", "stage", "--to-env", "prod", "--run", "--record"], cwd=root)[0] == 0
    assert step(root, "--agent", "bob")[0] == 0
    assert run_cli(["record", "--agent", "bob", "--env", "stage", "--engine-id", STAGE_2, "--status", "validated"], cwd=root)[0] == 0
    code, data = step(root, "--agent", "bob")
    assert code == 2 and blockers(data)[0].startswith("no recorded run of the checks for stage engine `2999999999999999999`")


def test_the_pages_state_the_gates_and_never_say_frozen_now(tmp_path: Path) -> None:
    root = approved_project(tmp_path, YEAR_END + WEEKEND)
    (root / "site-docs").mkdir()
    assert run_cli(["generate", "--no-claude-md"], cwd=root)[0] == 0
    page = (root / "site-docs" / "promotions" / "stage-to-prod.md").read_text(encoding="utf-8")
    assert "- bob: approved by Lead on 2026-12-01 09:00 UTC for engine" in page
    assert "Nothing is promoted into `prod` from 2026-12-23 23:00 UTC (2026-12-24 00:00 +01:00) until 2027-01-02 07:00 UTC" in page
    assert "every week Fri 16:00 - Mon 08:00 Europe/Berlin (No weekend deploys)" in page
    assert "frozen now" not in page.lower()
    env_page = (root / "site-docs" / "environments" / "prod.md").read_text(encoding="utf-8")
    assert "Freeze windows: from 2026-12-23 23:00 UTC" in env_page
    playbook = (root / "site-docs" / "playbook.md").read_text(encoding="utf-8")
    assert "- [ ] `prod` is not frozen: every week Fri 16:00 - Mon 08:00 Europe/Berlin (No weekend deploys)." in playbook


def test_a_check_named_result_cannot_overwrite_the_recorded_verdict(tmp_path: Path) -> None:
    root = checks_project(tmp_path, ["true", "exit 1"], required=True)
    text = (root / "config" / "agent_engine_envs.yaml").read_text().replace("name: Check 0", "name: Result").replace("name: Check 1", "name: to")
    (root / "config" / "agent_engine_envs.yaml").write_text(text)
    assert run_cli(["checks", "--from-env", "stage", "--to-env", "prod", "--run", "--record"], cwd=root)[0] == 2
    entry = next((root / "config" / "ledger").glob("*.prod.checks.*.yaml")).read_text()
    assert 'result: "failed"' in entry or '"result": "failed"' in entry
    assert '"check-1-result": "passed' in entry and '"check-2-to": "failed' in entry
    code, data = step(root, "--agent", "bob")
    assert code == 2 and blockers(data)[0].startswith("the recorded checks failed")


def test_approve_all_skips_agents_without_a_source_engine(tmp_path: Path) -> None:
    text = set_env_field(set_env_field(ready_for_prod(), "bob", "stage", "engine_id", "TODO-SET-STAGE-ENGINE-ID"), "bob", "stage", "status", "pending")
    root = make_project(tmp_path / "project", text)
    code, out, err = run_cli(["approve", "--from-env", "stage", "--to-env", "prod", "--agent", "all", "--by", "Lead"], cwd=root)
    assert code == 0
    assert "approve: foreman stage -> prod" in out and "approve: bob" not in out
    assert "warning [placeholder]" in err and "`bob` has no engine in `stage` yet" in err
