"""export: the engines as shell variables, Terraform variables and JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DEPLOYED_FIXTURE, WriteConfig, mutate, set_env_field, where

from generator.errors import ConfigError, ExitCode, NotReady, SelectionError
from generator.export import ExportFormat, export
from generator.loader import load_config
from generator.model import Config

BOB_DEV = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/4971253843961757696"
FOREMAN_DEV = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/3315572609187643392"
BOB_PROD = "projects/482915307716/locations/us-central1/reasoningEngines/8123456789012345678"


@pytest.fixture
def deployed_text() -> str:
    return DEPLOYED_FIXTURE.read_text(encoding="utf-8")


@pytest.fixture
def deployed(write_config: WriteConfig, deployed_text: str) -> Config:
    return load_config(write_config(deployed_text))


def test_env_format_for_several_agents(deployed: Config) -> None:
    assert export(deployed, "dev", ["bob", "foreman"], ExportFormat.ENV) == (
        f"AGENT_ENGINE_BOB_DEV_RESOURCE={BOB_DEV}\n"
        "AGENT_ENGINE_BOB_DEV_ID=4971253843961757696\n"
        f"AGENT_ENGINE_FOREMAN_DEV_RESOURCE={FOREMAN_DEV}\n"
        "AGENT_ENGINE_FOREMAN_DEV_ID=3315572609187643392\n"
    )


def test_env_format_for_one_agent_adds_the_plain_names(deployed: Config) -> None:
    assert export(deployed, "prod", ["bob"], ExportFormat.ENV) == (
        f"AGENT_ENGINE_BOB_PROD_RESOURCE={BOB_PROD}\n"
        "AGENT_ENGINE_BOB_PROD_ID=8123456789012345678\n"
        f"AGENT_ENGINE_RESOURCE={BOB_PROD}\n"
        "AGENT_ENGINE_ID=8123456789012345678\n"
        "PROJECT_ID=bobs-brain\n"
        "LOCATION=us-central1\n"
    )


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_env_format_can_be_sourced(deployed: Config, tmp_path: Path) -> None:
    env_file = tmp_path / "engines.env"
    env_file.write_text(export(deployed, "dev", ["foreman"], ExportFormat.ENV))
    script = 'set -eu; set -a; . "$1"; printf "%s|%s|%s|%s" "$AGENT_ENGINE_ID" "$AGENT_ENGINE_RESOURCE" "$PROJECT_ID" "$AGENT_ENGINE_FOREMAN_DEV_ID"'
    done = subprocess.run(["sh", "-c", script, "sh", str(env_file)], capture_output=True, text=True, check=True)
    assert done.stdout == f"3315572609187643392|{FOREMAN_DEV}|bobs-brain-dev|3315572609187643392"


def test_names_upper_case_dashes_become_underscores(write_config: WriteConfig, deployed_text: str) -> None:
    text = mutate(deployed_text, "\n  foreman:\n", "\n  iam-foreman:\n")
    config = load_config(write_config(text))
    out = export(config, "stage", ["iam-foreman"], ExportFormat.ENV)
    assert "AGENT_ENGINE_IAM_FOREMAN_STAGE_ID=7740384128936263680\n" in out
    assert 'iam_foreman_agent_engine_id = "7740384128936263680"\n' in export(config, "stage", ["iam-foreman"], ExportFormat.TFVARS)


def test_tfvars_format(deployed: Config) -> None:
    assert export(deployed, "prod", ["bob", "foreman"], ExportFormat.TFVARS) == (
        'bob_agent_engine_id = "8123456789012345678"\n'
        f'bob_agent_engine_resource = "{BOB_PROD}"\n'
        'foreman_agent_engine_id = "2209381945837568000"\n'
        'foreman_agent_engine_resource = "projects/bobs-brain/locations/us-central1/reasoningEngines/2209381945837568000"\n'
    )


def test_json_format(deployed: Config) -> None:
    data = json.loads(export(deployed, "dev", ["bob"], ExportFormat.JSON))
    assert data["environment"] == "dev"
    assert data["agents"] == {"bob": {"engine_id": "4971253843961757696", "resource": BOB_DEV, "project_id": "bobs-brain-dev", "location": "us-central1"}}
    assert data["variables"]["AGENT_ENGINE_RESOURCE"] == BOB_DEV
    assert data["variables"]["AGENT_ENGINE_BOB_DEV_ID"] == "4971253843961757696"
    several = json.loads(export(deployed, "dev", ["bob", "foreman"], ExportFormat.JSON))
    assert list(several["agents"]) == ["bob", "foreman"]
    assert "AGENT_ENGINE_ID" not in several["variables"]  # which one would it be?


def test_a_bare_number_gets_its_resource_name_from_the_environment(write_config: WriteConfig, deployed_text: str) -> None:
    text = set_env_field(deployed_text, "foreman", "stage", "engine_id", '"7740384128936263680"')
    config = load_config(write_config(text))
    assert export(config, "stage", ["foreman"], ExportFormat.ENV).splitlines()[:2] == [
        "AGENT_ENGINE_FOREMAN_STAGE_RESOURCE=projects/bobs-brain-stage/locations/us-central1/reasoningEngines/7740384128936263680",
        "AGENT_ENGINE_FOREMAN_STAGE_ID=7740384128936263680",
    ]


def test_a_placeholder_is_not_ready(write_config: WriteConfig, deployed_text: str) -> None:
    text = set_env_field(deployed_text, "bob", "stage", "engine_id", "TODO-SET-BOB-STAGE")
    text = set_env_field(text, "foreman", "stage", "engine_id", "TODO-SET-FOREMAN-STAGE")
    path = write_config(text)
    config = load_config(path)
    for fmt in ExportFormat:
        with pytest.raises(NotReady) as caught:
            export(config, "stage", ["bob", "foreman"], fmt)
        assert caught.value.exit_code == ExitCode.NOT_READY == 2
        bob, foreman = caught.value.problems()
        assert (bob.location.file, bob.location.line, bob.location.col) == (path, *where(text, "engine_id: TODO-SET-BOB-STAGE", "TODO"))
        assert (foreman.location.line, foreman.location.col) == where(text, "engine_id: TODO-SET-FOREMAN-STAGE", "TODO")
        assert bob.path == "agents.bob.environments.stage.engine_id"
        assert "`bob` in `stage` still has placeholder engine ID `TODO-SET-BOB-STAGE`" in bob.message
        assert "`foreman` in `stage`" in foreman.message
        assert bob.hint
    # Only the selected environment counts.
    assert export(config, "dev", ["bob", "foreman"], ExportFormat.ENV)


def test_a_placeholder_of_another_agent_does_not_matter(write_config: WriteConfig, deployed_text: str) -> None:
    text = set_env_field(deployed_text, "bob", "stage", "engine_id", "TODO-SET-BOB-STAGE")
    config = load_config(write_config(text))
    assert "AGENT_ENGINE_FOREMAN_STAGE_ID=7740384128936263680\n" in export(config, "stage", ["foreman"], ExportFormat.ENV)


def test_unknown_environment_or_agent(deployed: Config) -> None:
    with pytest.raises(SelectionError, match="no environment `qa`") as caught:
        export(deployed, "qa", ["bob"], ExportFormat.ENV)
    assert caught.value.exit_code == ExitCode.CONFIG
    with pytest.raises(SelectionError, match="no agent `alice`"):
        export(deployed, "dev", ["alice"], ExportFormat.ENV)


@pytest.mark.parametrize(
    "engine",
    [
        '"projects/bobs-brain-dev/locations/us-central1/reasoningEngines/12; rm -rf ~"',
        '"projects/bobs-brain-dev/locations/us-central1/reasoningEngines/$(id)"',
        '"projects/Bobs Brain/locations/us-central1/reasoningEngines/12"',
        "my-engine",
    ],
)
def test_a_value_that_is_not_a_resource_name_is_refused_not_quoted(write_config: WriteConfig, deployed_text: str, engine: str) -> None:
    text = set_env_field(deployed_text, "bob", "dev", "engine_id", engine)
    config = load_config(write_config(text))
    with pytest.raises(ConfigError) as caught:
        export(config, "dev", ["bob"], ExportFormat.ENV)
    (problem,) = caught.value.problems()
    assert caught.value.exit_code == ExitCode.CONFIG
    assert problem.path == "agents.bob.environments.dev.engine_id"
    assert "PR002" in problem.hint


def _with_copy_of_foreman(text: str, key: str) -> str:
    """The config with another agent ``key``, a copy of foreman's block (its keys never spelled out here)."""
    start = text.index("\n  foreman:\n") + 1
    end = text.index("\npromotion:")
    block = text[start:end].rstrip("\n") + "\n"
    return text[:end] + "\n" + block.replace("  foreman:\n", f"  {key}:\n", 1) + text[end:]


def test_two_agents_that_make_one_variable_name(write_config: WriteConfig, deployed_text: str) -> None:
    text = mutate(_with_copy_of_foreman(deployed_text, "iam_lead"), "\n  foreman:\n", "\n  iam-lead:\n")
    config = load_config(write_config(text))
    for fmt in (ExportFormat.ENV, ExportFormat.TFVARS, ExportFormat.JSON):
        with pytest.raises(ConfigError) as caught:
            export(config, "dev", ["iam-lead", "iam_lead"], fmt)
        (problem,) = caught.value.problems()
        assert "agents `iam-lead` and `iam_lead` both export as" in problem.message
        assert problem.path == "agents.iam_lead"


def test_tfvars_refuses_an_agent_key_that_starts_with_a_digit(write_config: WriteConfig, deployed_text: str) -> None:
    config = load_config(write_config(mutate(deployed_text, "\n  foreman:\n", "\n  1foreman:\n")))
    with pytest.raises(ConfigError, match="not a Terraform variable name"):
        export(config, "dev", ["1foreman"], ExportFormat.TFVARS)
    assert "AGENT_ENGINE_1FOREMAN_DEV_ID=3315572609187643392\n" in export(config, "dev", ["1foreman"], ExportFormat.ENV)
