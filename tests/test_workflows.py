"""The GitHub Actions workflows and the record-deploy script.

Every workflow pins its actions to a commit SHA (tag in a comment), keeps the checkout token
out of ``.git/config``, never expands ``${{ }}`` inside ``run:``, declares its permissions and
passes zizmor with no findings. ``record-deploy.sh`` is run against a scratch repository with a
stand-in ``promotion`` (the real ``promotion record`` is built elsewhere) and a stand-in ``gh``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml")) + sorted(WORKFLOW_DIR.glob("*.yaml"))
RECORD_DEPLOY = WORKFLOW_DIR / "record-deploy.yml"
SCRIPT = ROOT / ".github" / "scripts" / "record-deploy.sh"

USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
TAG_COMMENT = re.compile(r"^\s+#\s*v\d+(\.\d+)*\b")
FINDING = re.compile(r"^(error|warning|info|help|unknown)\[", re.MULTILINE)
EX_USAGE = 64


def load(path: Path) -> dict[str, Any]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(workflow, dict), f"{path.name}: not a mapping"
    return workflow


def triggers(workflow: dict[str, Any]) -> Any:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    return workflow["on"] if "on" in workflow else workflow[True]


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def all_uses(workflow: dict[str, Any]) -> list[str]:
    """Every `uses:` of the workflow: steps' actions and jobs calling reusable workflows."""
    jobs = workflow["jobs"].values()
    return [job["uses"] for job in jobs if "uses" in job] + [step["uses"] for step in steps(workflow) if "uses" in step]


def test_there_are_workflows() -> None:
    assert {path.name for path in WORKFLOWS} >= {"docs.yml", "record-deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_tag(path: Path) -> None:
    lines = [
        (number, match) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if (match := USES_LINE.match(line))
    ]
    # The raw-text scan must see every `uses:` the parser sees (no flow-style one slips by).
    assert sorted(match["ref"] for _, match in lines) == sorted(all_uses(load(path)))
    for number, match in lines:
        ref = match["ref"]
        if ref.startswith("./"):
            continue  # a workflow or action of this repository: nothing to pin
        assert PINNED.match(ref), f"{path.name}:{number}: {ref} is not pinned to a 40-hex commit SHA"
        assert TAG_COMMENT.match(match["rest"]), f"{path.name}:{number}: {ref} has no `# vX.Y.Z` tag comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_checkout_drops_its_credentials(path: Path) -> None:
    checkouts = [step for step in steps(load(path)) if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts, f"{path.name}: no checkout step"
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: checkout without persist-credentials: false"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_template_expansion_inside_run(path: Path) -> None:
    for step in steps(load(path)):
        assert "${{" not in step.get("run", ""), (
            f"{path.name}: step {step.get('name', step['run'])!r} expands ${{{{ }}}} in run: (pass it via env:)"
        )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_declared(path: Path) -> None:
    workflow = load(path)
    undeclared = [name for name, job in workflow["jobs"].items() if "permissions" not in job]
    assert "permissions" in workflow or not undeclared, f"{path.name}: jobs {undeclared} get the default token permissions"


def test_record_deploy_is_reusable_with_its_inputs() -> None:
    inputs = triggers(load(RECORD_DEPLOY))["workflow_call"]["inputs"]
    assert set(inputs) == {"agent", "env", "deploy-log-artifact", "deploy-log-path", "mode", "status"}
    for name in ("agent", "env", "deploy-log-artifact", "deploy-log-path"):
        assert inputs[name]["required"] is True, name
    assert inputs["mode"]["default"] == "pull-request"
    assert inputs["status"]["default"] == "deployed"
    assert all(spec["type"] == "string" for spec in inputs.values())


def test_record_deploy_token_and_write_access_stay_with_the_record_step() -> None:
    workflow = load(RECORD_DEPLOY)
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    with_token = [step for step in job["steps"] if "github.token" in str(step) or "secrets." in str(step)]
    (record,) = with_token
    assert record["run"] == ".github/scripts/record-deploy.sh"
    env = record["env"]
    assert env["BY"] == "${{ github.actor }}"
    assert env["LINK"] == "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}"
    assert env["GH_TOKEN"] == "${{ github.token }}"
    assert {"AGENT", "ENV_NAME", "DEPLOY_LOG", "STATUS", "MODE", "BRANCH"} <= set(env)


def zizmor_executable() -> str | None:
    beside = Path(sys.executable).with_name("zizmor")
    return str(beside) if beside.exists() else shutil.which("zizmor")


def test_zizmor_finds_nothing() -> None:
    zizmor = zizmor_executable()
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install -e '.[test]')")
    done = subprocess.run(
        [zizmor, "--offline", "--format", "plain", ".github/workflows/"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not FINDING.search(done.stdout), done.stdout
    assert "No findings" in done.stdout, done.stdout


def test_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "set -euo pipefail" in SCRIPT.read_text(encoding="utf-8")


# --- record-deploy.sh against a scratch repository -------------------------------------------

# Stands in for `promotion record` / `promotion generate`: logs its arguments, edits the
# config on `record` (unless NO_CHANGE is set) and a page on `generate`.
FAKE_PROMOTION = """#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >> "$CALLS"
if [ -n "${NO_CHANGE:-}" ]; then exit 0; fi
case "$1" in
  record) echo "# recorded $*" >> config/agent_engine_envs.yaml ;;
  generate) echo "regenerated" >> site-docs/matrix.md ;;
esac
"""
FAKE_GH = """#!/usr/bin/env bash
printf 'gh %s\\n' "$*" >> "$CALLS"
"""


def git(cwd: Path, *argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True, text=True).stdout


def write_executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def scratch(tmp_path: Path) -> dict[str, Any]:
    """A clone on `main` of a bare `origin`, holding the script, a config and a page."""
    origin, repo, bin_dir = tmp_path / "origin.git", tmp_path / "repo", tmp_path / "bin"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(tmp_path, "clone", "--quiet", str(origin), str(repo))
    (repo / ".github" / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, repo / ".github" / "scripts" / SCRIPT.name)
    (repo / "config").mkdir()
    (repo / "config" / "agent_engine_envs.yaml").write_text("agents: {}\n", encoding="utf-8")
    (repo / "site-docs").mkdir()
    (repo / "site-docs" / "matrix.md").write_text("matrix\n", encoding="utf-8")
    (repo / "CLAUDE.md").write_text("notes\n", encoding="utf-8")
    identity = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "GH_"))} | identity
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "--quiet", "-m", "start"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "push", "--quiet", "origin", "main"], cwd=repo, check=True, env=env)
    bin_dir.mkdir()
    write_executable(bin_dir / "gh", FAKE_GH)
    log = tmp_path / "deploy.log"
    log.write_text("reasoningEngines/123\n", encoding="utf-8")
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "PROMOTION": str(write_executable(tmp_path / "promotion", FAKE_PROMOTION)),
        "AGENT": "bob",
        "ENV_NAME": "dev",
        "DEPLOY_LOG": str(log),
        "BY": "octocat",
        "LINK": "https://github.com/o/r/actions/runs/1",
    }
    return {"repo": repo, "origin": origin, "env": env, "calls": tmp_path / "calls"}


def run_script(scratch: dict[str, Any], **overrides: str) -> subprocess.CompletedProcess[str]:
    env = scratch["env"] | overrides
    script = scratch["repo"] / ".github" / "scripts" / SCRIPT.name
    return subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)


def test_commit_mode_records_and_pushes_to_the_branch(scratch: dict[str, Any]) -> None:
    done = run_script(scratch, MODE="commit", STATUS="validated")
    assert done.returncode == 0, done.stdout + done.stderr
    assert git(scratch["origin"], "log", "-1", "--format=%s", "main").strip() == "config: update bob dev engine ID after deployment"
    changed = git(scratch["origin"], "show", "--name-only", "--format=", "main").split()
    assert changed == ["config/agent_engine_envs.yaml", "site-docs/matrix.md"]
    calls = scratch["calls"].read_text(encoding="utf-8").splitlines()
    assert calls == [
        f"record --agent bob --env dev --from-deploy-log {scratch['env']['DEPLOY_LOG']} --status validated --by octocat --link https://github.com/o/r/actions/runs/1",
        "generate",
    ]


def test_pull_request_mode_pushes_a_branch_and_opens_a_pull_request(scratch: dict[str, Any]) -> None:
    done = run_script(scratch, BRANCH="record-deploy/bob-dev-1-1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        git(scratch["origin"], "log", "-1", "--format=%s", "record-deploy/bob-dev-1-1").strip()
        == "config: update bob dev engine ID after deployment"
    )
    assert git(scratch["origin"], "log", "-1", "--format=%s", "main").strip() == "start"
    gh = [line for line in scratch["calls"].read_text(encoding="utf-8").splitlines() if line.startswith("gh ")]
    assert gh == [
        "gh pr create --base main --head record-deploy/bob-dev-1-1 --title config: update bob dev engine ID after deployment "
        "--body Recorded with status `deployed` by octocat from the deploy log of https://github.com/o/r/actions/runs/1."
    ]


def test_nothing_to_record_commits_nothing(scratch: dict[str, Any]) -> None:
    done = run_script(scratch, MODE="commit", NO_CHANGE="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing to commit" in done.stdout
    assert git(scratch["origin"], "log", "-1", "--format=%s", "main").strip() == "start"


def test_push_false_stops_after_the_commit(scratch: dict[str, Any]) -> None:
    done = run_script(scratch, MODE="commit", PUSH="false")
    assert done.returncode == 0, done.stdout + done.stderr
    assert git(scratch["repo"], "log", "-1", "--format=%s").strip() == "config: update bob dev engine ID after deployment"
    assert git(scratch["origin"], "log", "-1", "--format=%s", "main").strip() == "start"


def test_a_failing_promotion_record_fails_the_script_with_its_code(scratch: dict[str, Any], tmp_path: Path) -> None:
    refusing = write_executable(tmp_path / "refusing", "#!/usr/bin/env bash\necho not ready >&2\nexit 2\n")
    done = run_script(scratch, MODE="commit", PROMOTION=str(refusing))
    assert done.returncode == 2
    assert git(scratch["origin"], "log", "-1", "--format=%s", "main").strip() == "start"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AGENT": ""}, "AGENT is not set"),
        ({"ENV_NAME": ""}, "ENV_NAME is not set"),
        ({"DEPLOY_LOG": ""}, "DEPLOY_LOG is not set"),
        ({"BY": ""}, "BY is not set"),
        ({"LINK": ""}, "LINK is not set"),
        ({"DEPLOY_LOG": "/nonexistent/deploy.log"}, "is not a file"),
        ({"MODE": "push"}, "MODE must be pull-request or commit"),
        ({"STATUS": "pending"}, "STATUS must be deployed or validated"),
        ({"PUSH": "yes"}, "PUSH must be true or false"),
        ({"BRANCH": "bad..name"}, "is not a valid branch name"),
    ],
)
def test_bad_environment_is_a_usage_error(scratch: dict[str, Any], overrides: dict[str, str], message: str) -> None:
    done = run_script(scratch, **overrides)
    assert done.returncode == EX_USAGE, done.stdout + done.stderr
    assert message in done.stderr
    assert not scratch["calls"].exists(), "promotion ran despite the usage error"


def test_uncommitted_config_changes_refuse_to_run(scratch: dict[str, Any]) -> None:
    (scratch["repo"] / "config" / "agent_engine_envs.yaml").write_text("agents: {edited: true}\n", encoding="utf-8")
    done = run_script(scratch, MODE="commit")
    assert done.returncode == EX_USAGE
    assert "uncommitted changes" in done.stderr
    assert not scratch["calls"].exists()
