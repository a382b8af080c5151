"""One promotion lifecycle, told the same way everywhere (issue: the seed's file works unchanged).

- The seed's own config form (``tests/fixtures/seed.yaml``) passes, and the seed's five make
  targets behave as its helper did.
- The runbook is executable: from the placeholder config, two agents are walked through every
  status change in order, exactly as the playbook says, running the commands it names and
  asserting their exit codes and the words the pages use at that moment.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PLACEHOLDER_FIXTURE, ROOT, SEED_FIXTURE, engine_resource, run_cli

from generator import lifecycle

MAKE = shutil.which("make")


# --- the seed's file, unchanged ---------------------------------------------------------------


def test_the_seed_form_passes_validate_with_one_warning() -> None:
    code, out, err = run_cli(["validate", "--config", str(SEED_FIXTURE)], cwd=ROOT)
    assert code == 0, err
    assert "warning [PR011] promotion.stage_to_prod.required_checks[0]" in err
    assert "fix: replace it with `inherit_checks_from: dev_to_stage` under `promotion.stage_to_prod`" in err
    assert out == f"OK: {SEED_FIXTURE} passes 10 rules (1 warning)\n"


def test_the_seed_form_keeps_what_the_seed_wrote() -> None:
    code, out, _ = run_cli(["path", "--config", str(SEED_FIXTURE), "--from-env", "stage", "--to-env", "prod", "--format", "json"], cwd=ROOT)
    data = json.loads(out)
    # "All dev_to_stage checks" is read as inheritance: the dev_to_stage checks come first
    assert [c["name"] for c in data["checks"]] == [
        "Unit tests passing", "A2A contract validation", "ARV department checks", "Drift detection clean",
        "Stage smoke tests passing", "Stage health check OK",
    ]
    code, out, _ = run_cli(["show", "--config", str(SEED_FIXTURE), "--format", "json"], cwd=ROOT)
    shown = json.loads(out)
    assert shown["last_updated"] == "2025-12-11"
    assert shown["agents"][0]["agent_dir"] == "agents/bob"


@pytest.mark.skipif(MAKE is None, reason="needs make")
@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("promote-agent-config-show", 0),
        ("promote-agent-config-dev-to-stage", 0),
        ("promote-agent-config-stage-to-prod", 0),
        ("promote-agent-config-validate-dev-to-stage", 2),  # make's own status: dev's engines are placeholders
        ("promote-agent-config-validate-stage-to-prod", 2),
    ],
)
def test_the_seeds_five_make_targets_on_the_seed_form(target: str, code: int) -> None:
    result = subprocess.run([MAKE, "-s", target, f"CONFIG={SEED_FIXTURE}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if "validate" in target:
        assert "is blocked on" in result.stderr and "engine ID is a placeholder" in result.stderr


@pytest.mark.skipif(MAKE is None, reason="needs make")
def test_a_mistyped_step_target_gets_a_one_line_hint() -> None:
    result = subprocess.run([MAKE, "-s", "promote-agent-config-dev-stage", f"CONFIG={SEED_FIXTURE}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    hint = result.stderr.splitlines()[0]
    assert hint.startswith("make: no target promote-agent-config-dev-stage; use promote-agent-config-[validate-]<from>-to-<to>:")
    assert "promote-agent-config-validate-dev-to-stage" in hint and "expected one argument" not in result.stderr


# --- the runbook, walked ----------------------------------------------------------------------

AGENTS = ("bob", "foreman")
ORDER = ("dev", "stage", "prod")
PROJECTS = {"bob": {"dev": "bobs-brain-dev", "stage": "bobs-brain-stage", "prod": "bobs-brain"}}
PROJECTS["foreman"] = PROJECTS["bob"]


class Walk:
    """A project folder with the placeholder config, edited the way the playbook says."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "config" / "agent_engine_envs.yaml"
        self.config.parent.mkdir(parents=True)
        shutil.copy(PLACEHOLDER_FIXTURE, self.config)
        (root / "site-docs").mkdir()
        self.number = 7_000_000_000_000_000_001

    def record(self, agent: str, env: str) -> None:
        """The next step the pages name for a ready agent: deploy, then `promotion record`."""
        engine = engine_resource(PROJECTS[agent][env], str(self.number))
        self.number += 7919
        code, out, err = run_cli(["record", "--agent", agent, "--env", env, "--engine-id", engine], cwd=self.root)
        assert code == 0, err

    def validated(self, agent: str, env: str) -> None:
        code, out, err = run_cli(["record", "--agent", agent, "--env", env, "--status", "validated"], cwd=self.root)
        assert code == 0, err

    def step(self, source: str, target: str, *more: str) -> tuple[int, dict]:
        code, out, err = run_cli(["validate", "--from-env", source, "--to-env", target, "--format", "json", *more], cwd=self.root)
        return code, json.loads(out)

    def path_json(self, source: str, target: str) -> dict:
        code, out, _ = run_cli(["path", "--from-env", source, "--to-env", target, "--format", "json"], cwd=self.root)
        assert code == 0
        return json.loads(out)

    def states(self, source: str, target: str) -> dict[str, str]:
        code, out, _ = run_cli(["path", "--from-env", source, "--to-env", target, "--format", "json"], cwd=self.root)
        assert code == 0
        return {a["key"]: a["state"] for a in json.loads(out)["agents"]}

    def page_states(self, source: str, target: str) -> dict[str, str]:
        """The state word in each agent's row of the step page, after `make docs`."""
        assert run_cli(["generate", "--no-claude-md"], cwd=self.root)[0] == 0
        page = (self.root / "site-docs" / "promotions" / f"{source}-to-{target}.md").read_text(encoding="utf-8")
        rows = re.findall(r"^\| \[(\w+)\]\(\.\./agents/\w+\.md\) \| <span class=\"[^\"]*promo-state-(\w+)\">(\w+)</span> \|", page, re.M)
        assert all(cls == word for _, cls, word in rows)
        return {agent: word for agent, _, word in rows}

    def agent_page_state(self, agent: str, source: str, target: str) -> str:
        page = (self.root / "site-docs" / "agents" / f"{agent}.md").read_text(encoding="utf-8")
        match = re.search(rf"^\| \[{source} &rarr; {target}\]\([^)]*\) \| <span class=\"[^\"]*\">(\w+)</span> \|", page, re.M)
        assert match, page
        return match[1]


#: Steps of the placeholder fixture with `manual_approval: true`.
MANUAL = {("stage", "prod")}
APPROVED: set[tuple[str, str]] = set()  # (agent, target) approved during the walk


def expected_states(progress: dict[str, dict[str, str]], source: str, target: str) -> dict[str, str]:
    """The lifecycle, written out independently of lifecycle.py: what each agent must be."""
    out = {}
    for agent in AGENTS:
        src, dst = progress[agent][source], progress[agent][target]
        if dst == "validated":
            out[agent] = "done"
        elif dst == "deployed":
            out[agent] = "promoted"
        elif src == "validated" and ((source, target) not in MANUAL or (agent, target) in APPROVED):
            out[agent] = "ready"
        else:
            out[agent] = "blocked"
    return out


def test_the_playbook_walks_two_agents_to_prod(tmp_path: Path) -> None:
    APPROVED.clear()
    walk = Walk(tmp_path / "project")
    assert run_cli(["generate", "--no-claude-md"], cwd=walk.root)[0] == 0
    playbook = (walk.root / "site-docs" / "playbook.md").read_text(encoding="utf-8")
    for source, target in zip(ORDER, ORDER[1:], strict=False):
        # the commands this walk runs are the ones the playbook names
        assert f"`promotion validate --from-env {source} --to-env {target}` exits 0: no agent is blocked" in playbook
    for env in ORDER:
        assert f"`promotion record --agent <agent> --env {env} --status validated`" in playbook
    assert "`promotion record --agent <agent> --env dev --from-deploy-log deploy.log`" in playbook

    progress = {agent: dict.fromkeys(ORDER, "pending") for agent in AGENTS}
    changes = [(agent, env, status) for env in ORDER for agent in AGENTS for status in ("deployed", "validated")]
    # Interleave as a team would: bob runs ahead of foreman by one status change.
    changes.sort(key=lambda c: (ORDER.index(c[1]), c[2] == "validated", AGENTS.index(c[0])))
    seen_states: set[str] = set()
    for agent, env, status in changes:
        index = ORDER.index(env)
        if index > 0:
            # Before the deploy into env: the step into it must pass for this agent (playbook step 2).
            previous = ORDER[index - 1]
            if status == "deployed":
                code, data = walk.step(previous, env, "--agent", agent)
                mine = data["step"]["agents"][0]
                if code == 2 and "needs a manual approval" in mine["blockers"][0]["reason"]:
                    # the step page names the approval command: run it as an operator would
                    command = mine["next_step"].strip("`").replace("<who>", "Lead").replace("<url>", "https://chat.example/m/1")
                    assert command.startswith(f"promotion approve --from-env {previous} --to-env {env} --agent {agent} ")
                    assert run_cli([*command.split()[1:]], cwd=walk.root)[0] == 0
                    APPROVED.add((agent, env))
                    code, data = walk.step(previous, env, "--agent", agent)
                    mine = data["step"]["agents"][0]
                assert code == 0, data
                assert mine["state"] == "ready"
        # the next step the step page names for this agent is the command the walk runs
        if index > 0 or status == "validated":
            source, target = (ORDER[index - 1], env) if status == "deployed" else (env, ORDER[index + 1] if index + 1 < len(ORDER) else None)
            if target is not None:
                data = walk.path_json(source, target)
                mine = next(a for a in data["agents"] if a["key"] == agent)
                verb = "--from-deploy-log" if status == "deployed" else "--status validated"
                assert f"`promotion record --agent {agent} --env {env} {verb}" in mine["next_step"], mine
        (walk.record if status == "deployed" else walk.validated)(agent, env)
        progress[agent][env] = status
        assert run_cli(["validate"], cwd=walk.root)[0] == 0, "every recorded change keeps the config valid (exit 0, never 1)"
        for source, target in zip(ORDER, ORDER[1:], strict=False):
            want = expected_states(progress, source, target)
            assert walk.states(source, target) == want, (agent, env, status, source, target)
            code, data = walk.step(source, target)
            assert code == (2 if "blocked" in want.values() else 0), (agent, env, status, source, target, data)
            assert {e["agent"] for e in data["errors"]} == {a for a, s in want.items() if s == "blocked"}
            seen_states |= set(want.values())
        # the pages say the same, in the same words
        assert walk.page_states("dev", "stage") == expected_states(progress, "dev", "stage")
        assert walk.agent_page_state(agent, "stage", "prod") == expected_states(progress, "stage", "prod")[agent]
    assert seen_states == {state.value for state in lifecycle.State}
    for source, target in zip(ORDER, ORDER[1:], strict=False):
        assert walk.step(source, target)[0] == 0
        assert set(walk.states(source, target).values()) == {"done"}


def test_target_placeholders_never_block(tmp_path: Path) -> None:
    walk = Walk(tmp_path / "project")
    for agent in AGENTS:
        walk.record(agent, "dev")
        walk.validated(agent, "dev")
    code, data = walk.step("dev", "stage")
    assert code == 0 and data["errors"] == []
    assert data["step"]["counts"] == {"blocked": 0, "ready": 2, "promoted": 0, "done": 0}
    code, out, _ = run_cli(["validate", "--from-env", "dev", "--to-env", "stage"], cwd=walk.root)
    assert out == "OK: config/agent_engine_envs.yaml passes 12 rules (0 warnings); dev -> stage: ready (0 blocked, 2 ready, 0 promoted, 0 done of 2 agents)\n"


def test_each_blocked_agent_says_why_and_what_to_run_next(tmp_path: Path) -> None:
    walk = Walk(tmp_path / "project")
    walk.record("bob", "dev")
    code, data = walk.step("dev", "stage")
    assert code == 2
    reasons = {e["agent"]: (e["message"], e["hint"]) for e in data["errors"]}
    assert reasons["bob"] == (
        "`bob` is blocked on dev -> stage: dev is only `deployed`, not `validated`",
        "run the dev -> stage checks against `dev`, then `promotion record --agent bob --env dev --status validated`",
    )
    assert reasons["foreman"] == (
        "`foreman` is blocked on dev -> stage: dev engine ID is a placeholder",
        "deploy `foreman` to `dev`, then record it: `promotion record --agent foreman --env dev --from-deploy-log <log>` (or `--engine-id <resource name>`)",
    )
