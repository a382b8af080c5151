"""`promotion record`, `rollback`, `history`, `export`: a deploy writes the config, the ledger keeps itself.

Every test runs the real CLI on a project in tmp_path (config/agent_engine_envs.yaml and
config/ledger/), real git where history or merges matter, and checks bytes, exit codes and
what was (not) written.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DEPLOYED_FIXTURE, FIXTURES, ROOT, make_project, run_cli

COMMENTED = FIXTURES / "commented.yaml"
BOB_DEV = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/1234567890123456789"
BOB_PROD = "projects/bobs-brain/locations/us-central1/reasoningEngines/1234567890123456789"
BOB_PROD_2 = "projects/bobs-brain/locations/us-central1/reasoningEngines/2234567890123456789"
BOB_PROD_3 = "projects/bobs-brain/locations/us-central1/reasoningEngines/3234567890123456789"
GIT = shutil.which("git")
NOW = "2026-12-01T10:00:00Z"


def config_bytes(root: Path) -> bytes:
    return (root / "config" / "agent_engine_envs.yaml").read_bytes()


def ledger_files(root: Path) -> list[str]:
    folder = root / "config" / "ledger"
    return sorted(p.name for p in folder.glob("*.yaml")) if folder.is_dir() else []


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    """(old line, new line) for every line that differs; the files must keep their line count."""
    old, new = before.split(b"\n"), after.split(b"\n")
    assert len(old) == len(new), "an edit in place never adds or removes lines"
    return [(a.decode(), b.decode()) for a, b in zip(old, new, strict=True) if a != b]


# --- the edit in place ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["lf", "crlf", "bom", "bom-crlf"])
def test_record_changes_only_the_edited_values(tmp_path: Path, variant: str) -> None:
    data = COMMENTED.read_bytes()
    if "crlf" in variant:
        data = data.replace(b"\n", b"\r\n")
    if "bom" in variant:
        data = b"\xef\xbb\xbf" + data
    root = make_project(tmp_path / "project", data)
    code, out, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--by", "ci", "--now", NOW], cwd=root)
    assert code == 0, err
    after = config_bytes(root)
    eol = "\r" if "crlf" in variant else ""
    assert changed_lines(data, after) == [
        (f"last_updated: 2025-12-11       # bumped on every record{eol}", f"last_updated: 2026-12-01       # bumped on every record{eol}"),
        (f'        engine_id: "TODO-SET-DEV-ENGINE-ID"     # placeholder until deployed{eol}', f'        engine_id: "{BOB_DEV}"     # placeholder until deployed{eol}'),
        (f'        status: "pending"                       # pending | deployed | validated{eol}', f'        status: "deployed"                       # pending | deployed | validated{eol}'),
    ]
    assert after.startswith(b"\xef\xbb\xbf") == ("bom" in variant)
    assert out.splitlines()[-1].startswith("next: `make docs`")
    assert 'git commit -m "config: update bob dev engine ID after deployment"' in out


def test_a_single_quoted_value_stays_single_quoted_and_a_plain_one_plain(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    before = config_bytes(root)
    assert run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--now", NOW], cwd=root)[0] == 0
    assert run_cli(["record", "--agent", "bob", "--env", "dev", "--status", "validated", "--now", NOW], cwd=root)[0] == 0
    stage = "projects/bobs-brain-stage/locations/us-central1/reasoningEngines/42"
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "stage", "--engine-id", stage, "--now", NOW], cwd=root)
    assert code == 0, err
    lines = dict(changed_lines(before, config_bytes(root)))
    assert lines["        status: 'pending'                       # stays single-quoted"] == "        status: 'deployed'                       # stays single-quoted"
    assert len(ledger_files(root)) == 3


def test_status_alone_moves_the_status_on(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--now", NOW], cwd=root)
    before = config_bytes(root)
    code, out, _ = run_cli(["record", "--agent", "bob", "--env", "dev", "--status", "validated", "--now", NOW], cwd=root)
    assert code == 0
    assert changed_lines(before, config_bytes(root)) == [
        ('        status: "deployed"                       # pending | deployed | validated', '        status: "validated"                       # pending | deployed | validated'),
    ]
    assert f"record: bob in dev: {BOB_DEV} [deployed] -> {BOB_DEV} [validated]" in out


def test_a_broken_rule_writes_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    before = config_bytes(root)
    # stage deployed while dev is only pending: PR003, and an engine in the wrong project: PR002
    code, out, err = run_cli(["record", "--agent", "bob", "--env", "stage", "--engine-id", BOB_DEV, "--now", NOW], cwd=root)
    assert code == 1
    assert "error [PR002] agents.bob.environments.stage.engine_id" in err and "error [PR003]" in err
    assert err.endswith("2 errors, 0 warnings in config/agent_engine_envs.yaml\n")
    assert config_bytes(root) == before and ledger_files(root) == []


def test_an_aliased_value_is_refused_naming_its_anchor(tmp_path: Path) -> None:
    text = COMMENTED.read_text(encoding="utf-8")
    text = text.replace('status: "pending"                       # pending | deployed | validated', 'status: &st "pending"', 1)
    text = text.replace("status: 'pending'                       # stays single-quoted", "status: *st", 1)
    root = make_project(tmp_path / "project", text.encode())
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--now", NOW], cwd=root)
    assert code == 1
    assert "is shared through the anchor at line" in err
    assert ledger_files(root) == []


def test_dry_run_prints_the_diff_and_the_entry_and_writes_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    before = config_bytes(root)
    code, out, _ = run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--dry-run", "--by", "ci", "--link", "https://ci.example/run/7", "--now", NOW], cwd=root)
    assert code == 0
    assert "--- a/config/agent_engine_envs.yaml\n+++ b/config/agent_engine_envs.yaml\n" in out
    assert f'+        engine_id: "{BOB_DEV}"     # placeholder until deployed\n' in out
    assert 'link: "https://ci.example/run/7"' in out and 'by: "ci"' in out
    assert out.endswith("dry run: nothing written\n")
    assert config_bytes(root) == before and not (root / "config" / "ledger").exists()


# --- deploy logs ------------------------------------------------------------------------------

SDK_LOG = """\
Deploying agent bob to Agent Engine...
Creating bucket gs://bobs-brain-dev-staging
\x1b[32mDone.\x1b[0m
   Resource Name: projects/bobs-brain-dev/locations/us-central1/reasoningEngines/1234567890123456789
   Engine ID: 1234567890123456789
To use: engine = reasoning_engines.ReasoningEngine("projects/bobs-brain-dev/locations/us-central1/reasoningEngines/1234567890123456789")
"""


def test_record_from_a_deploy_log_with_one_engine(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    (root / "deploy.log").write_text(SDK_LOG)
    code, out, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--from-deploy-log", "deploy.log", "--now", NOW], cwd=root)
    assert code == 0, err
    assert BOB_DEV.encode() in config_bytes(root)


def test_record_from_stdin(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--from-deploy-log", "-", "--now", NOW], cwd=root, stdin=SDK_LOG)
    assert code == 0, err


def test_a_deploy_log_without_an_engine_exits_1(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    (root / "deploy.log").write_text("Deploying...\nfailed: quota exceeded\n")
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--from-deploy-log", "deploy.log"], cwd=root)
    assert code == 1
    assert "no reasoning engine found in deploy.log" in err
    assert ledger_files(root) == []


def test_a_deploy_log_with_two_engines_lists_each_with_its_line(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    (root / "deploy.log").write_text(SDK_LOG + "   Resource Name: projects/bobs-brain-dev/locations/us-central1/reasoningEngines/99\n")
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--from-deploy-log", "deploy.log"], cwd=root)
    assert code == 1
    assert "deploy.log:4:" in err and "deploy.log:7:" in err
    assert "--engine-id" in err


# --- the ledger, history and rollback ---------------------------------------------------------


def deployed_project(tmp_path: Path) -> Path:
    """The deployed fixture, where bob's prod engine is then replaced twice by record."""
    root = make_project(tmp_path / "project", DEPLOYED_FIXTURE.read_bytes())
    assert run_cli(["approve", "--from-env", "stage", "--to-env", "prod", "--agent", "bob", "--by", "lead", "--now", "2026-11-30T10:00:00Z"], cwd=root)[0] == 0
    for n, engine in enumerate((BOB_PROD, BOB_PROD_2, BOB_PROD_3)):
        code, _, err = run_cli(["record", "--agent", "bob", "--env", "prod", "--engine-id", engine, "--status", "validated", "--by", f"op{n}", "--now", f"2026-12-0{n + 1}T10:00:00Z"], cwd=root)
        assert code == 0, err
    return root


def test_history_is_newest_first(tmp_path: Path) -> None:
    root = deployed_project(tmp_path)
    code, out, _ = run_cli(["history", "--agent", "bob", "--format", "json"], cwd=root)
    rows = json.loads(out)
    assert [r["engine_after"] for r in rows if r["action"] == "record"] == [BOB_PROD_3, BOB_PROD_2, BOB_PROD]
    assert [r["by"] for r in rows] == ["op2", "op1", "op0", "lead"]
    assert rows[-1]["action"] == "approve"
    code, out, _ = run_cli(["history", "--env", "dev"], cwd=root)
    assert out == "0 entries\n"


def test_rollback_puts_back_the_previous_engine_then_an_older_one(tmp_path: Path) -> None:
    root = deployed_project(tmp_path)
    code, out, err = run_cli(["rollback", "--agent", "bob", "--env", "prod", "--by", "oncall", "--now", "2026-12-05T10:00:00Z"], cwd=root)
    assert code == 0, err
    assert BOB_PROD_2.encode() in config_bytes(root) and BOB_PROD_3.encode() not in config_bytes(root)
    code, out, _ = run_cli(["history", "--agent", "bob", "--env", "prod", "--format", "json"], cwd=root)
    newest = json.loads(out)[0]
    assert (newest["action"], newest["engine_before"], newest["engine_after"], newest["status_after"], newest["by"]) == ("rollback", BOB_PROD_3, BOB_PROD_2, "deployed", "oncall")
    code, _, err = run_cli(["rollback", "--agent", "bob", "--env", "prod", "--to-engine", "1234567890123456789", "--now", "2026-12-06T10:00:00Z"], cwd=root)
    assert code == 0, err
    assert BOB_PROD.encode() in config_bytes(root)


def test_rolling_back_an_environment_behind_a_validated_one_is_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", DEPLOYED_FIXTURE.read_bytes())
    dev2 = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/2234567890123456789"
    assert run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", dev2, "--status", "validated", "--now", NOW], cwd=root)[0] == 0
    before, entries = config_bytes(root), ledger_files(root)
    code, _, err = run_cli(["rollback", "--agent", "bob", "--env", "dev"], cwd=root)
    assert code == 1  # dev back to `deployed` while stage is `validated` would break PR003
    assert "error [PR003] agents.bob.environments.stage.status" in err
    assert config_bytes(root) == before and ledger_files(root) == entries


def test_rollback_without_history_is_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", DEPLOYED_FIXTURE.read_bytes())
    before = config_bytes(root)
    code, _, err = run_cli(["rollback", "--agent", "bob", "--env", "dev"], cwd=root)
    assert code == 1
    assert "the ledger has no engine of `bob` in `dev` before the current one" in err
    assert config_bytes(root) == before and ledger_files(root) == []


def test_rollback_to_an_engine_that_never_ran_is_refused(tmp_path: Path) -> None:
    root = deployed_project(tmp_path)
    code, _, err = run_cli(["rollback", "--agent", "bob", "--env", "prod", "--to-engine", "777"], cwd=root)
    assert code == 1 and "did not run `bob` in `prod` before" in err


def test_a_hand_edit_after_a_record_is_a_warning(tmp_path: Path) -> None:
    root = deployed_project(tmp_path)
    path = root / "config" / "agent_engine_envs.yaml"
    path.write_bytes(path.read_bytes().replace(BOB_PROD_3.encode(), BOB_PROD_3.replace("3234", "4234").encode()))
    code, out, err = run_cli(["validate"], cwd=root)
    assert code == 0
    assert "warning [PR012] agents.bob.environments.prod.engine_id" in err
    assert "promotion record --agent bob --env prod --engine-id" in err


def test_two_records_at_once_both_land(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    cmd = [str(ROOT / ".venv" / "bin" / "promotion"), "record", "--env", "dev", "--now", NOW]
    ada = "projects/ada-dev/locations/us-central1/reasoningEngines/5551"
    procs = [
        subprocess.Popen([*cmd, "--agent", "bob", "--engine-id", BOB_DEV], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        subprocess.Popen([*cmd, "--agent", "ada", "--engine-id", ada], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    data = config_bytes(root)
    assert BOB_DEV.encode() in data and ada.encode() in data
    assert len(ledger_files(root)) == 2
    assert run_cli(["validate"], cwd=root)[0] == 0  # and the ledger agrees with the config (no PR012)


@pytest.mark.skipif(GIT is None, reason="needs git")
def test_two_branches_that_record_merge_without_conflict(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    git = [GIT or "git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=root, check=True)
    subprocess.run([*git, "switch", "-qc", "bob"], cwd=root, check=True)
    assert run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--now", NOW], cwd=root)[0] == 0
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "bob"], cwd=root, check=True)
    subprocess.run([*git, "switch", "-q", "main"], cwd=root, check=True)
    assert run_cli(["record", "--agent", "ada", "--env", "dev", "--engine-id", "projects/ada-dev/locations/us-central1/reasoningEngines/5551", "--now", NOW], cwd=root)[0] == 0
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "ada"], cwd=root, check=True)
    merged = subprocess.run([*git, "merge", "--no-edit", "bob"], cwd=root, capture_output=True, text=True)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert len(ledger_files(root)) == 2
    assert run_cli(["validate"], cwd=root)[0] == 0


# --- export -----------------------------------------------------------------------------------


def test_export_formats(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", DEPLOYED_FIXTURE.read_bytes())
    code, out, _ = run_cli(["export", "--env", "dev", "--agent", "bob"], cwd=root)
    assert code == 0
    lines = dict(line.split("=", 1) for line in out.splitlines())
    assert lines["AGENT_ENGINE_BOB_DEV_RESOURCE"].startswith("projects/bobs-brain-dev/locations/us-central1/reasoningEngines/")
    assert lines["AGENT_ENGINE_ID"] == lines["AGENT_ENGINE_BOB_DEV_ID"] == lines["AGENT_ENGINE_RESOURCE"].rsplit("/", 1)[1]
    assert (lines["PROJECT_ID"], lines["LOCATION"]) == ("bobs-brain-dev", "us-central1")
    code, out, _ = run_cli(["export", "--env", "prod", "--format", "tfvars"], cwd=root)
    assert code == 0 and 'bob_agent_engine_id = "' in out and 'foreman_agent_engine_resource = "projects/' in out
    code, out, _ = run_cli(["export", "--env", "stage", "--format", "json"], cwd=root)
    assert code == 0 and set(json.loads(out)["agents"]) == {"bob", "foreman"}


def test_export_of_a_placeholder_exits_2(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    code, out, err = run_cli(["export", "--env", "dev"], cwd=root)
    assert code == 2 and out == ""
    assert "still has placeholder engine ID `TODO-SET-DEV-ENGINE-ID`" in err


# --- the CI script, with the real CLI ---------------------------------------------------------


@pytest.mark.skipif(GIT is None, reason="needs git")
def test_the_workflow_script_records_regenerates_and_commits(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    script = root / ".github" / "scripts" / "record-deploy.sh"
    script.parent.mkdir(parents=True)
    shutil.copy2(ROOT / ".github" / "scripts" / "record-deploy.sh", script)
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / "site-docs").mkdir()
    git = [GIT or "git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    assert run_cli(["generate"], cwd=root)[0] == 0
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=root, check=True)
    (tmp_path / "deploy.log").write_text(SDK_LOG)
    env = {
        **os.environ, "AGENT": "bob", "ENV_NAME": "dev", "DEPLOY_LOG": str(tmp_path / "deploy.log"), "BY": "octocat",
        "LINK": "https://github.com/o/r/actions/runs/1", "MODE": "commit", "PUSH": "false",
        "PROMOTION": str(ROOT / ".venv" / "bin" / "promotion"), "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com", "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(["bash", str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    log = subprocess.run([GIT or "git", "log", "-1", "--name-only", "--format=%s"], cwd=root, capture_output=True, text=True).stdout
    assert log.startswith("config: update bob dev engine ID after deployment\n")
    assert "config/agent_engine_envs.yaml" in log and "config/ledger/" in log and "site-docs/matrix.md" in log
    entry = next((root / "config" / "ledger").glob("*.yaml")).read_text()
    assert 'by: "octocat"' in entry and 'link: "https://github.com/o/r/actions/runs/1"' in entry
    assert run_cli(["generate", "--check"], cwd=root)[0] == 0


def test_diff_helper_is_exact() -> None:
    # the oracle above compares lines; make sure it catches a changed line ending too
    assert changed_lines(b"a\r\nb\n", b"a\nb\n") == [("a\r", "a")]
    assert list(difflib.unified_diff(["a"], ["a"])) == []


def test_record_docs_failing_after_the_record_says_the_record_is_written(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes(), claude=b"<!-- BEGIN promotion -->\n<!-- BEGIN promotion -->\n")
    code, out, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--docs", "--now", NOW], cwd=root)
    assert code == 1  # the docs could not be regenerated (broken CLAUDE.md markers) ...
    assert "record: bob in dev:" in out and "commit message: config: update bob dev engine ID after deployment" in out
    assert "the record is written; the docs were NOT regenerated" in err and "[markers]" in err
    assert BOB_DEV.encode() in config_bytes(root) and len(ledger_files(root)) == 1  # ... but the record stands


def test_record_refuses_a_ledger_that_validate_would_refuse(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", COMMENTED.read_bytes())
    (root / "config" / "ledger").mkdir()
    (root / "config" / "ledger" / "notes.yaml").write_text("hi\n")
    before = config_bytes(root)
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV], cwd=root)
    assert code == 1 and "notes.yaml" in err
    assert config_bytes(root) == before
