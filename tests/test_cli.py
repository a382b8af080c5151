"""The `promotion` CLI: every command in text and JSON, GitHub annotations, every exit code.

Most tests run ``generator.cli.main`` in-process with StringIO streams; a few run the
installed console script and ``python -m generator`` end to end.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PLACEHOLDER_FIXTURE, ROOT, WriteConfig, run_cli, set_env_field, where

from generator import cli
from generator.errors import UsageError
from generator.rules import RULES
from generator.schema import json_schema_text

PROMOTION = ROOT / ".venv" / "bin" / "promotion"
PYTHON = ROOT / ".venv" / "bin" / "python"
GITHUB_LINE = re.compile(r"^::(error|warning) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),title=(?P<title>[^:]+)::(?P<message>.+)$")


def run_json(*argv: str) -> tuple[int, Any]:
    code, out, err = run_cli([*argv, "--format", "json"])
    return code, json.loads(out)


@pytest.fixture
def shipped(placeholder_config_path: str) -> list[str]:
    return ["--config", placeholder_config_path]


# --- show --------------------------------------------------------------------------------


def test_show_text(shipped: list[str]) -> None:
    code, out, err = run_cli(["show", *shipped])
    assert code == 0 and err == ""
    assert "Promotion order: dev -> stage -> prod" in out
    assert "bob: Bob's Brain (agents/bob)" in out
    assert "foreman: IAM Senior ADK DevOps Lead (agents/iam-senior-adk-devops-lead)" in out
    assert re.search(r"^  stage +pending +bobs-brain-stage +us-central1 +TODO-SET-STAGE-ENGINE-ID  <- PLACEHOLDER$", out, re.M)
    assert out.count("<- PLACEHOLDER") == 6
    assert out.rstrip().endswith("Placeholders: 6 of 6 engines")


def test_show_one_agent(shipped: list[str]) -> None:
    code, out, _ = run_cli(["show", *shipped, "--agent", "foreman"])
    assert code == 0
    assert "foreman:" in out and "bob:" not in out
    assert "Placeholders: 3 of 3 engines" in out


def test_show_json(shipped: list[str], placeholder_config_path: str) -> None:
    code, data = run_json("show", *shipped)
    assert code == 0
    assert data["config"] == placeholder_config_path
    assert (data["schema_version"], data["app_version"], data["last_updated"]) == ("1.0.0", "0.14.1", "2025-12-11")
    assert data["environment_order"] == ["dev", "stage", "prod"]
    assert (data["engines"], data["placeholders"]) == (6, 6)
    assert [a["key"] for a in data["agents"]] == ["bob", "foreman"]
    bob_prod = data["agents"][0]["environments"][2]
    assert bob_prod["environment"] == "prod"
    assert bob_prod["engine_id"] == "TODO-SET-PROD-ENGINE-ID"
    assert bob_prod["placeholder"] is True
    assert (bob_prod["project_id"], bob_prod["region"], bob_prod["status"]) == ("bobs-brain", "us-central1", "pending")
    assert bob_prod["engine_name"] == "bobs-brain-prod"


def test_show_marks_only_placeholders(deployed_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(deployed_config_text, "bob", "prod", "engine_id", "TODO-SET-PROD-ENGINE-ID")
    path = write_config(set_env_field(text, "bob", "prod", "status", "pending"))
    code, out, _ = run_cli(["show", "--config", path])
    assert code == 0
    marked = [line for line in out.splitlines() if "PLACEHOLDER" in line]
    assert len(marked) == 1 and marked[0].split()[0] == "prod"
    assert "Placeholders: 1 of 6 engines" in out


# --- path --------------------------------------------------------------------------------


def test_path_text(shipped: list[str]) -> None:
    code, out, err = run_cli(["path", *shipped, "--from-env", "dev", "--to-env", "stage"])
    assert code == 0 and err == ""
    assert out.startswith("Promotion dev -> stage (promotion.dev_to_stage)\n")
    assert "Manual approval: not required" in out
    assert "  [ ] Unit tests passing  ->  make test\n" in out
    assert "  [ ] Drift detection clean  ->  make check-drift\n" in out
    assert "  state: blocked (dev engine ID is a placeholder)\n" in out
    assert "  next: deploy `bob` to `dev`, then record it: `promotion record --agent bob --env dev --from-deploy-log <log>`" in out
    assert out.rstrip().endswith("dev -> stage: blocked (2 blocked, 0 ready, 0 promoted, 0 done of 2 agents)")


def test_path_text_manual_approval_and_inherited_checks(shipped: list[str]) -> None:
    code, out, _ = run_cli(["path", *shipped, "--from-env", "stage", "--to-env", "prod", "--agent", "bob"])
    assert code == 0
    assert "Manual approval: required, in #deployments" in out
    checks = re.findall(r"^  \[ \] (.+?)(?:  ->  .*)?$", out, re.M)
    assert checks == [
        "Unit tests passing",
        "A2A contract validation",
        "ARV department checks",
        "Drift detection clean",
        "Stage smoke tests passing",
        "Stage health check OK",
    ]
    assert "foreman" not in out


def test_path_json(shipped: list[str]) -> None:
    code, data = run_json("path", *shipped, "--from-env", "stage", "--to-env", "prod")
    assert code == 0
    assert (data["source"], data["target"], data["key"], data["defined"]) == ("stage", "prod", "stage_to_prod", True)
    assert (data["manual_approval"], data["approval_channel"]) == (True, "#deployments")
    assert data["checks"][0] == {"name": "Unit tests passing", "command": "make test"}
    assert data["checks"][-1] == {"name": "Stage health check OK", "command": "make health-check-stage"}
    assert (data["state"], data["ready"], data["counts"], data["total_agents"]) == ("blocked", False, {"blocked": 2, "ready": 0, "promoted": 0, "done": 0}, 2)
    bob = data["agents"][0]
    assert bob["state"] == "blocked"
    assert bob["blockers"] == [{"environment": "stage", "reason": "not promoted to stage yet (stage engine ID is a placeholder)", "next_step": "promote `bob` dev -> stage first"}]
    assert {c["field"]: (c["from"], c["to"]) for c in bob["changes"]}["engine_id"] == ("TODO-SET-STAGE-ENGINE-ID", "TODO-SET-PROD-ENGINE-ID")


def test_path_shows_app_version_move(deployed_fixture_path: str) -> None:
    code, data = run_json("path", "--config", deployed_fixture_path, "--from-env", "stage", "--to-env", "prod")
    assert code == 0
    changes = {c["field"]: (c["from"], c["to"]) for c in data["agents"][0]["changes"]}
    assert changes["app_version"] == ("0.14.1", "0.14.0")
    assert "status" not in changes
    assert data["ready"] is True


# --- validate ----------------------------------------------------------------------------


def test_validate_text_ok(shipped: list[str], placeholder_config_path: str) -> None:
    code, out, err = run_cli(["validate", *shipped])
    assert code == 0 and err == ""
    assert out == f"OK: {placeholder_config_path} passes 10 rules (0 warnings)\n"


def test_validate_json_ok(shipped: list[str]) -> None:
    code, data = run_json("validate", *shipped)
    assert code == 0
    assert data == {"ok": True, "exit_code": 0, "config": shipped[1], "rules_checked": 10, "step": None, "errors": [], "warnings": [], "summary": f"0 errors, 0 warnings in {shipped[1]}"}


def test_validate_step_blocked_on_source_placeholders(shipped: list[str], placeholder_config_text: str) -> None:
    code, out, err = run_cli(["validate", *shipped, "--from-env", "dev", "--to-env", "stage"])
    assert code == 2
    assert out == ""
    assert err.count("error [PR010]") == 2  # dev's two placeholders; stage's are created by the deploy
    line, col = where(placeholder_config_text, "TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev")
    assert f"{shipped[1]}:{line}:{col}: error [PR010] agents.bob.environments.dev.engine_id: `bob` is blocked on dev -> stage: dev engine ID is a placeholder\n" in err
    assert "    fix: deploy `bob` to `dev`, then record it: `promotion record --agent bob --env dev" in err
    assert "Not ready: dev -> stage: blocked (2 blocked, 0 ready, 0 promoted, 0 done of 2 agents)\n" in err
    assert err.rstrip().endswith(f"2 errors, 0 warnings in {shipped[1]}")


def test_validate_prints_a_screen_of_problems_and_counts_the_rest(tmp_path: Path) -> None:
    """30 blocked agents: the text shows the first LISTED_PROBLEMS and a count (--verbose:
    all of them); JSON and GitHub annotations always carry every one."""
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    (tmp_path / "config.yaml").write_text(bench.synthetic_config(30, deployed=False), encoding="utf-8")
    step = ["--config", "config.yaml", "validate", "--from-env", "dev", "--to-env", "qa"]
    code, out, err = run_cli(step, cwd=tmp_path)
    assert code == 2 and out == ""
    assert err.count("error [PR010]") == cli.LISTED_PROBLEMS
    assert f"... and {30 - cli.LISTED_PROBLEMS} more problems (--verbose prints every one, --format json lists them all)\n" in err
    assert err.endswith("Not ready: dev -> qa: blocked (30 blocked, 0 ready, 0 promoted, 0 done of 30 agents)\n30 errors, 0 warnings in config.yaml\n")
    code, _, err = run_cli([*step, "--verbose"], cwd=tmp_path)
    assert code == 2 and err.count("error [PR010]") == 30 and "more problems" not in err
    code, out, _ = run_cli([*step, "--format", "github"], cwd=tmp_path)
    assert code == 2 and out.count("::error ") == 30
    code, out, _ = run_cli([*step, "--format", "json"], cwd=tmp_path)
    assert code == 2 and len(json.loads(out)["errors"]) == 30


def test_validate_lists_the_errors_first_when_it_cuts_the_list(tmp_path: Path) -> None:
    """25 warnings (PR009: a real engine still `pending`) before the one error (PR002, in the
    last agent): the error that fails the run is among the problems printed."""
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    text = bench.synthetic_config(26, deployed=False)
    for number in range(26):
        region = "us-east1" if number == 25 else "europe-west4"  # the last agent's engine is in the wrong region
        engine = f"projects/fleet-prod-{number:02d}/locations/{region}/reasoningEngines/{9000 + number}"
        text = text.replace("engine_id: TODO-SET-PROD-ENGINE-ID", f"engine_id: {engine}", 1)
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    code, _, err = run_cli(["--config", "config.yaml", "validate"], cwd=tmp_path)
    assert code == 1
    assert err.count("warning [PR009]") == cli.LISTED_PROBLEMS - 1 and err.count("error [PR002]") == 1
    assert err.index("error [PR002]") < err.index("warning [PR009]")
    assert "... and 7 more problems" in err and err.endswith("1 error, 26 warnings in config.yaml\n")


def test_validate_step_json(shipped: list[str]) -> None:
    code, data = run_json("validate", *shipped, "--from-env", "dev", "--to-env", "stage")
    assert code == 2
    assert (data["ok"], data["exit_code"], data["rules_checked"]) == (False, 2, 11)
    assert (data["step"]["source"], data["step"]["target"], data["step"]["state"]) == ("dev", "stage", "blocked")
    got = [(e["code"], e["agent"], e["environment"], e["path"], e["severity"]) for e in data["errors"]]
    assert got == [
        ("PR010", "bob", "dev", "agents.bob.environments.dev.engine_id", "error"),
        ("PR010", "foreman", "dev", "agents.foreman.environments.dev.engine_id", "error"),
    ]
    assert all(e["file"] == shipped[1] and e["line"] > 0 and e["col"] > 0 and e["hint"] for e in data["errors"])
    assert data["summary"] == f"2 errors, 0 warnings in {shipped[1]}"


def test_validate_step_one_agent(shipped: list[str]) -> None:
    code, data = run_json("validate", *shipped, "--from-env", "stage", "--to-env", "prod", "--agent", "foreman")
    assert code == 2
    assert data["step"]["counts"]["blocked"] == 1
    assert {e["agent"] for e in data["errors"]} == {"foreman"}


def test_validate_rule_failure_text_and_json(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(placeholder_config_text, "bob", "dev", "status", "deployed")
    path = write_config(text)
    line, col = where(text, "TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev")
    code, out, err = run_cli(["validate", "--config", path])
    assert code == 1  # the config is wrong in itself: never 2 (that means "not ready")
    assert err.startswith(f"{path}:{line}:{col}: error [PR001] agents.bob.environments.dev.engine_id: ")
    assert "fix: " in err
    assert err.endswith(f"1 error, 0 warnings in {path}\n")
    code, data = run_json("validate", "--config", path)
    assert code == 1
    (error,) = data["errors"]
    assert (error["code"], error["rule"], error["line"], error["col"]) == ("PR001", "placeholder-needs-pending", line, col)


def test_validate_github_annotations(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(placeholder_config_text, "bob", "dev", "status", "deployed")
    path = write_config(text)
    code, out, err = run_cli(["validate", "--config", path, "--format", "github"])
    assert code == 1
    assert err == f"1 error, 0 warnings in {path}\n"
    (line,) = out.splitlines()
    match = GITHUB_LINE.match(line)
    assert match, line
    assert match["file"] == path
    assert (int(match["line"]), int(match["col"])) == where(text, "TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev")
    assert match["title"] == "PR001 agents.bob.environments.dev.engine_id"
    assert "-- fix: " in match["message"]


def test_validate_github_warning_and_step(deployed_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(deployed_config_text, "bob", "prod", "status", "pending")
    text = set_env_field(text, "foreman", "dev", "status", "deployed")
    for env in ("stage", "prod"):
        text = set_env_field(text, "foreman", env, "engine_id", f"TODO-SET-{env.upper()}-ENGINE-ID")
        text = set_env_field(text, "foreman", env, "status", "pending")
    path = write_config(text)
    code, out, _ = run_cli(["validate", "--config", path, "--format", "github", "--from-env", "dev", "--to-env", "stage"])
    assert code == 2
    lines = [GITHUB_LINE.match(line) for line in out.splitlines()]
    assert all(lines), out
    assert [(m[1], m["title"].split()[0]) for m in lines if m] == [("warning", "PR009"), ("error", "PR010")]


def test_validate_github_config_error(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(placeholder_config_text, "bob", "stage", "engine_id", "0123")
    path = write_config(text)
    code, out, err = run_cli(["validate", "--config", path, "--format", "github"])
    assert code == 1
    line, col = where(text, "engine_id: 0123", "0123")
    assert out.startswith(f"::error file={path},line={line},col={col},title=type agents.bob.environments.stage.engine_id::")
    assert f"{path}:{line}:{col}: error [type]" in err


def test_validate_warning_only_exits_0(deployed_config_text: str, write_config: WriteConfig) -> None:
    path = write_config(set_env_field(deployed_config_text, "bob", "prod", "status", "pending"))
    code, data = run_json("validate", "--config", path)
    assert code == 0
    assert data["ok"] is True and data["errors"] == []
    assert [w["code"] for w in data["warnings"]] == ["PR009"]


# --- rules and schema --------------------------------------------------------------------


def test_rules_text() -> None:
    code, out, _ = run_cli(["rules"])
    assert code == 0
    for r in RULES:
        assert f"{r.id}  {r.name}  [{r.severity.value}, {r.scope.value}]\n    {r.title}\n    fix: {r.hint}\n" in out


def test_rules_json() -> None:
    code, data = run_json("rules")
    assert code == 0
    assert [r["id"] for r in data] == [f"PR{i:03d}" for i in range(1, 13)]
    assert {r["severity"] for r in data} == {"error", "warning"}
    assert (next(r for r in data if r["id"] == "PR010")["scope"], next(r for r in data if r["id"] == "PR010")["exit_code"]) == ("step", 2)
    assert {r["exit_code"] for r in data if r["scope"] == "config" and r["severity"] == "error"} == {1}
    assert all(r["title"] and r["hint"] and r["explanation"] for r in data)


def test_schema_command() -> None:
    code, out, err = run_cli(["schema"])
    assert code == 0 and err == ""
    assert out == json_schema_text()
    assert json.loads(out)["required"] == ["schema_version", "app_version", "last_updated", "environments", "agents", "promotion"]


# --- exit code 1: the config or a name on the command line is wrong ----------------------


@pytest.mark.parametrize("command", [["show"], ["path", "--from-env", "dev", "--to-env", "stage"], ["validate"]])
def test_broken_config_exits_1(command: list[str], placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(placeholder_config_text, "bob", "stage", "region", "no")
    path = write_config(text)
    line, col = where(text, "region: no", "no")
    code, out, err = run_cli([*command, "--config", path])
    assert code == 1 and out == ""
    assert err.startswith(f"{path}:{line}:{col}: error [type] agents.bob.environments.stage.region: expected a string, got a boolean")
    assert "fix: YAML 1.1 reads unquoted `no` as a boolean" in err
    code, data = run_json(*command, "--config", path)
    assert code == 1
    assert (data["ok"], data["exit_code"]) == (False, 1)
    assert [(e["line"], e["col"], e["path"], e["code"]) for e in data["errors"]] == [(line, col, "agents.bob.environments.stage.region", "type")]


def test_many_problems_all_printed(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(placeholder_config_text, "bob", "stage", "region", "no")
    text = set_env_field(text, "foreman", "prod", "status", "on")
    path = write_config(text)
    code, _, err = run_cli(["validate", "--config", path])
    assert code == 1
    assert err.index("region") < err.index("status")
    assert err.rstrip().endswith(f"2 errors, 0 warnings in {path}")


def test_missing_config_exits_1(tmp_path: Path) -> None:
    code, _, err = run_cli(["validate", "--config", str(tmp_path / "missing.yaml")])
    assert code == 1
    assert f"{tmp_path / 'missing.yaml'}:1:1: error [io]" in err


@pytest.mark.parametrize(
    ("argv", "code_name", "message", "hint"),
    [
        (["show", "--agent", "carol"], "unknown-agent", "no agent `carol` in the config", "bob, foreman, or all"),
        (["validate", "--agent", "carol"], "unknown-agent", "no agent `carol`", "bob, foreman, or all"),
        (["path", "--from-env", "dev", "--to-env", "qa"], "unknown-environment", "no environment `qa`", "dev, stage, prod"),
        (["validate", "--from-env", "test", "--to-env", "stage"], "unknown-environment", "no environment `test`", "dev, stage, prod"),
        (["path", "--from-env", "dev", "--to-env", "prod"], "unknown-step", "`dev` -> `prod` is not one step", "--from-env dev --to-env stage"),
        (["validate", "--from-env", "dev", "--to-env", "prod"], "unknown-step", "not one step of the pipeline (dev -> stage -> prod)", "--from-env stage --to-env prod"),
        (["path", "--from-env", "prod", "--to-env", "stage"], "unknown-step", "`prod` -> `stage` is not one step", "one step at a time"),
    ],
    ids=["show-agent", "validate-agent", "path-env", "validate-env", "path-skip", "validate-skip", "path-backwards"],
)
def test_selection_errors_exit_1(argv: list[str], code_name: str, message: str, hint: str, shipped: list[str]) -> None:
    code, out, err = run_cli([*argv, *shipped])
    assert code == 1 and out == ""
    assert re.match(rf"^{re.escape(shipped[1])}:\d+:\d+: error \[{code_name}\] (agents|environments): ", err), err
    assert message in err and hint in err
    code, data = run_json(*argv, *shipped)
    assert code == 1
    (error,) = data["errors"]
    assert error["code"] == code_name and error["line"] > 0


# --- exit code 64: usage -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "--bogus"], "unrecognized arguments: --bogus"),
        (["validate", "--from-env", "dev"], "--from-env and --to-env go together"),
        (["validate", "--to-env", "stage"], "--from-env and --to-env go together"),
        (["path", "--from-env", "dev"], "the following arguments are required: --to-env"),
        (["show", "--format", "xml"], "invalid choice: 'xml'"),
        (["show", "--format", "github"], "invalid choice: 'github'"),
        (["validate", "--format", "yaml"], "invalid choice: 'yaml'"),
        (["deploy"], "invalid choice: 'deploy'"),
        ([], "the following arguments are required: COMMAND"),
    ],
    ids=["bad-flag", "from-without-to", "to-without-from", "path-without-to", "bad-format", "github-on-show", "bad-format-validate", "unknown-command", "no-command"],
)
def test_usage_errors_exit_64(argv: list[str], message: str) -> None:
    code, out, err = run_cli([*argv])
    assert code == 64
    assert out == ""
    assert message in err
    assert err.startswith("promotion")


def test_usage_error_wins_over_broken_config(tmp_path: Path) -> None:
    # the config is never read when the flags are wrong: 64, not 1
    code, _, err = run_cli(["validate", "--config", str(tmp_path / "missing.yaml"), "--from-env", "dev"])
    assert code == 64


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["validate"], "validate"),
        (["--config", "c.yaml", "generate", "--check"], "generate"),
        (["--config=c.yaml", "show"], "show"),
        (["--config"], None),
        (["--help", "validate"], None),
        (["--version"], None),
        (["deploy"], None),
        ([], None),
    ],
)
def test_the_lean_parser_is_used_only_when_argv_names_a_command(argv: list[str], named: str | None) -> None:
    assert cli._command_in(argv) == named


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_the_lean_parser_reads_and_refuses_like_the_full_one(command: str) -> None:
    # each command parsed by a parser holding it alone: the same namespace, and the same
    # words for a mistake as the parser of every command
    argv = ["--config", "c.yaml", command, "--bogus"]
    with pytest.raises(UsageError) as full:
        cli.build_parser().parse_args(argv)
    with pytest.raises(UsageError) as lean:
        cli._parse(argv)
    assert str(lean.value) == str(full.value)
    ok = ["--config", "c.yaml", command, *_required_flags(command)]
    assert vars(cli._parse(ok)) == vars(cli.build_parser().parse_args(ok))


def _required_flags(command: str) -> list[str]:
    """A value for each flag the command requires, read from its parser."""
    (subparsers,) = [a for a in cli.build_parser(command)._actions if isinstance(a, argparse._SubParsersAction)]
    flags: list[str] = []
    for action in subparsers.choices[command]._actions:
        if action.required and action.option_strings:
            flags += [action.option_strings[0], str(next(iter(action.choices))) if action.choices else "x"]
    return flags


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"], ["show", "--help"]])
def test_help_documents_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(argv, io.StringIO(), io.StringIO())
    assert excinfo.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    for code, meaning in [("0", "ok"), ("1", "the config is wrong"), ("2", "a promotion step is not ready"), ("64", "usage error")]:
        assert re.search(rf"^  {code} +.*{meaning}", text, re.M), (code, text)


def test_default_config_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, data = run_json("show")
    assert code == 0
    assert data["config"] == "config/agent_engine_envs.yaml"


# --- the fixtures: deployed passes everything, four environments need no code change -----

DEPLOYED_COMMANDS = [
    ["show"],
    ["show", "--agent", "bob"],
    ["path", "--from-env", "dev", "--to-env", "stage"],
    ["path", "--from-env", "stage", "--to-env", "prod"],
    ["validate"],
    ["validate", "--from-env", "dev", "--to-env", "stage"],
    ["validate", "--from-env", "stage", "--to-env", "prod"],
    ["validate", "--from-env", "stage", "--to-env", "prod", "--agent", "foreman"],
    ["rules"],
]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("command", DEPLOYED_COMMANDS, ids=[" ".join(c) for c in DEPLOYED_COMMANDS])
def test_deployed_fixture_passes_every_command(command: list[str], fmt: str, deployed_fixture_path: str) -> None:
    config = [] if command[0] == "rules" else ["--config", deployed_fixture_path]
    code, out, err = run_cli([*command, *config, "--format", fmt])
    assert code == 0, err
    assert err == ""
    if fmt == "json":
        data = json.loads(out)
        if command[0] == "validate":
            assert data["ok"] is True and data["errors"] == [] and data["warnings"] == []
        if command[0] == "show":
            assert data["placeholders"] == 0
        if command[0] == "path":
            assert data["ready"] is True and data["state"] in ("done", "promoted")


def test_deployed_fixture_github_is_silent(deployed_fixture_path: str) -> None:
    assert run_cli(["validate", "--config", deployed_fixture_path, "--format", "github"]) == (0, f"OK: {deployed_fixture_path} passes 10 rules (0 warnings)\n", "")


def test_deployed_config_fixture_passes(deployed_config_text: str, write_config: WriteConfig) -> None:
    path = write_config(deployed_config_text)
    for step in (["--from-env", "dev", "--to-env", "stage"], ["--from-env", "stage", "--to-env", "prod"]):
        code, out, err = run_cli(["validate", "--config", path, *step])
        assert code == 0, err
        assert out.endswith(": done (0 blocked, 0 ready, 0 promoted, 2 done of 2 agents)\n")


def test_four_envs_path_qa_to_preprod(four_envs_fixture_path: str) -> None:
    code, out, err = run_cli(["path", "--config", four_envs_fixture_path, "--from-env", "qa", "--to-env", "preprod"])
    assert code == 0, err
    assert out.startswith("Promotion qa -> preprod (promotion.qa_to_preprod)\n")
    assert "Manual approval: required, in #qa-signoff" in out
    assert "  [ ] Unit tests passing  ->  make test\n" in out  # inherited from dev_to_qa
    assert "  [ ] QA sign-off recorded in the release ticket\n" in out
    assert "qa -> preprod: blocked (2 blocked, 0 ready, 0 promoted, 0 done of 2 agents)" in out
    code, data = run_json("path", "--config", four_envs_fixture_path, "--from-env", "qa", "--to-env", "preprod")
    assert [(a["key"], a["state"], [b["environment"] for b in a["blockers"]]) for a in data["agents"]] == [("scout", "blocked", ["qa"]), ("scribe", "blocked", ["qa"])]


def test_four_envs_show_and_validate(four_envs_fixture_path: str) -> None:
    config = ["--config", four_envs_fixture_path]
    code, out, _ = run_cli(["show", *config])
    assert code == 0
    assert "Promotion order: dev -> qa -> preprod -> prod" in out
    assert run_cli(["validate", *config])[0] == 0
    code, data = run_json("validate", *config, "--from-env", "dev", "--to-env", "qa")
    assert code == 0  # scribe's qa engine is a placeholder: the deploy into qa creates it
    assert data["step"]["counts"] == {"blocked": 0, "ready": 1, "promoted": 1, "done": 0}
    code, data = run_json("validate", *config, "--from-env", "qa", "--to-env", "preprod")
    assert code == 2
    assert [(e["agent"], e["environment"]) for e in data["errors"]] == [("scout", "qa"), ("scribe", "qa")]
    code, _, err = run_cli(["validate", *config, "--from-env", "dev", "--to-env", "stage"])
    assert code == 1
    assert "no environment `stage`" in err and "dev, qa, preprod, prod" in err


# --- end to end: the installed command and python -m generator ---------------------------


def e2e(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_e2e_validate_dev_to_stage_exits_2() -> None:
    result = e2e(PROMOTION, "validate", "--config", PLACEHOLDER_FIXTURE, "--from-env", "dev", "--to-env", "stage")
    assert result.returncode == 2
    assert "Not ready: dev -> stage: blocked (2 blocked" in result.stderr


def test_e2e_python_m_generator() -> None:
    result = e2e(PYTHON, "-m", "generator", "show", "--config", PLACEHOLDER_FIXTURE, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["placeholders"] == 6


@pytest.mark.parametrize(("argv", "code"), [(["--help"], 0), (["--version"], 0), (["show", "--bogus"], 64), (["show", "--config", "nope.yaml"], 1)])
def test_e2e_exit_codes(argv: list[str], code: int) -> None:
    result = e2e(PROMOTION, *argv)
    assert result.returncode == code, result.stderr


def test_e2e_validate_imports_no_jinja_or_mkdocs() -> None:
    script = (
        f"import sys; from generator.cli import main; main(['validate', '--config', {str(PLACEHOLDER_FIXTURE)!r}]); "
        "assert 'jinja2' not in sys.modules and 'mkdocs' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith(('jinja2', 'mkdocs')))"
    )
    result = e2e(PYTHON, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: {PLACEHOLDER_FIXTURE} passes")


def test_e2e_validate_without_a_ledger_imports_no_locale_and_no_ledger_reader() -> None:
    # Budget: 1.3x `import yaml`. argparse's strings go through gettext, whose first look
    # imports `locale` (~2.5 ms of a small validate): the console command skips the lookups.
    # With no ledger folder beside the config, the ledger's reader is not imported (~1 ms).
    result = e2e(PYTHON, "-X", "importtime", PROMOTION, "validate", "--config", PLACEHOLDER_FIXTURE)
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "generator.rules" in imported  # the listing is real
    assert "locale" not in imported
    assert "generator.gates" in imported and "generator.ledger" not in imported
    assert result.stdout.startswith(f"OK: {PLACEHOLDER_FIXTURE} passes")


@pytest.mark.parametrize("argv", [("show",), ("path", "--from-env", "dev", "--to-env", "stage")])
def test_text_output_escapes_control_characters_in_config_values(
    write_config: WriteConfig, placeholder_config_text: str, argv: tuple[str, ...]
) -> None:
    hostile = placeholder_config_text.replace("display_name: Bob's Brain", 'display_name: "Bob\\x1b[31mRED\\nFAKE: line"')
    assert hostile != placeholder_config_text
    code, out, _ = run_cli([*argv, "--config", write_config(hostile)])
    assert code == 0
    assert "\x1b" not in out
    assert not any(line.startswith("FAKE") for line in out.splitlines()), out
    assert "Bob\\x1b[31mRED\\nFAKE: line" in out
