"""``promotion generate``: golden pages, and the properties users count on.

Golden files: every file generated for a config lives in ``tests/golden/<case>/`` (the
pages under ``site-docs/`` and ``CLAUDE.md``). After an intended template or generator
change, regenerate them and review the diff like code::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_generate.py

Each case is generated in a temporary project whose config sits at
``config/agent_engine_envs.yaml``, so the goldens hold no machine-specific path, and the
shipped case is byte for byte what ``make docs`` commits in ``site-docs/``.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    DEPLOYED_FIXTURE,
    FIXTURES,
    FOUR_ENVS_FIXTURE,
    LIVE_CONFIG,
    PLACEHOLDER_FIXTURE,
    ROOT,
    SEED_FIXTURE,
    make_project,
    mutate,
    run_cli,
    set_env_field,
    snapshot,
)

from generator import generate
from generator.errors import ExitCode
from generator.writer import GENERATED_PREFIX, Action

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
REGENERATE_HINT = "UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_generate.py"

CONFIG = "config/agent_engine_envs.yaml"
GOLDEN_CASES = {"placeholders": PLACEHOLDER_FIXTURE, "seed": SEED_FIXTURE, "recorded": FIXTURES / "recorded" / "agent_engine_envs.yaml", "deployed": DEPLOYED_FIXTURE, "four_envs": FOUR_ENVS_FIXTURE}

SHIPPED_PAGES = [
    "site-docs/agents/bob.md",
    "site-docs/agents/foreman.md",
    "site-docs/agents/index.md",
    "site-docs/environments/dev.md",
    "site-docs/environments/index.md",
    "site-docs/environments/prod.md",
    "site-docs/environments/stage.md",
    "site-docs/history/bob.md",
    "site-docs/history/foreman.md",
    "site-docs/matrix.md",
    "site-docs/playbook.md",
    "site-docs/promotions/dev-to-stage.md",
    "site-docs/promotions/index.md",
    "site-docs/promotions/stage-to-prod.md",
    "site-docs/reference/config-schema.md",
    "site-docs/reference/rules.md",
]
HAND_WRITTEN_HOME = b"# Home\n\nWritten by a person; generate never touches it.\n"


# --- helpers ------------------------------------------------------------------------------


def options(root: Path, **overrides: Any) -> generate.GenerateOptions:
    kwargs: dict[str, Any] = {"config_path": CONFIG, "out_dir": "site-docs", "claude_md": "CLAUDE.md", "root": str(root)}
    kwargs.update(overrides)
    return generate.GenerateOptions(**kwargs)


def generated_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except the config, by path relative to ``root``."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith("config/") and p.name != ".promotion-state"
    }


def age_files(root: Path) -> None:
    """Move every mtime to a fixed past time, so a rewrite in the same clock tick still shows."""
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))


def edit_yaml(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The config after a structural edit (comments are dropped; pages don't show them)."""
    data = yaml.safe_load(text)
    change(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def drop_agent(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data["agents"][name]

    return change


def drop_last_environment(data: dict[str, Any]) -> None:
    last = list(data["environments"])[-1]
    before = list(data["environments"])[-2]
    del data["environments"][last]
    for agent in data["agents"].values():
        del agent["environments"][last]
    data["promotion"].pop(f"{before}_to_{last}")


@pytest.fixture
def shipped_text() -> str:
    return PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, shipped_text: str) -> Path:
    """A project generated once from the shipped config."""
    root = make_project(tmp_path / "project", shipped_text, home=HAND_WRITTEN_HOME)
    generate.run(options(root))
    return root


# --- golden files -------------------------------------------------------------------------


def compare_with_golden(case: str, produced: dict[str, bytes]) -> None:
    folder = GOLDEN / case
    if UPDATE_GOLDEN:
        shutil.rmtree(folder, ignore_errors=True)
        for name, data in produced.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    problems = []
    for name in sorted(set(expected) | set(produced)):
        if name not in produced:
            problems.append(f"{name}: in the golden files but not generated any more")
        elif name not in expected:
            problems.append(f"{name}: generated but has no golden file")
        elif produced[name] != expected[name]:
            diff = difflib.unified_diff(
                expected[name].decode("utf-8", errors="replace").splitlines(keepends=True),
                produced[name].decode("utf-8", errors="replace").splitlines(keepends=True),
                f"golden/{case}/{name}",
                f"generated/{name}",
            )
            problems.append("".join(diff))
    if problems:
        pytest.fail(
            f"generated files differ from tests/golden/{case}/ (if the change is intended, regenerate with "
            f"`{REGENERATE_HINT}` and review the diff):\n\n" + "\n".join(problems),
            pytrace=False,
        )


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden(case: str, tmp_path: Path) -> None:
    root = make_project(tmp_path, GOLDEN_CASES[case].read_text(encoding="utf-8"))
    ledger = GOLDEN_CASES[case].parent / "ledger"
    if ledger.is_dir():  # the recorded case: history, environment and rollback pages from a real ledger
        shutil.copytree(ledger, root / "config" / "ledger")
    generate.run(options(root))
    produced = generated_files(root)
    assert "CLAUDE.md" in produced and "site-docs/matrix.md" in produced
    for name, body in produced.items():  # a golden file records whatever was rendered: read the words too
        repeated = re.search(r"\b([a-z]+):? \1\b", body.decode("utf-8"))
        assert repeated is None, f"{name}: a word said twice: {repeated.group() if repeated else ''!r}"
    compare_with_golden(case, produced)


def test_golden_comparison_fails_with_a_diff_and_the_regenerate_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "UPDATE_GOLDEN", False)
    golden = tmp_path / "golden"
    (golden / "case").mkdir(parents=True)
    (golden / "case" / "a.md").write_bytes(b"one\ntwo\n")
    (golden / "case" / "gone.md").write_bytes(b"x\n")
    monkeypatch.setattr(sys.modules[__name__], "GOLDEN", golden)
    with pytest.raises(pytest.fail.Exception) as excinfo:
        compare_with_golden("case", {"a.md": b"one\nTWO\n", "new.md": b"y\n"})
    message = str(excinfo.value)
    assert REGENERATE_HINT in message
    assert "-two\n+TWO" in message
    assert "gone.md: in the golden files but not generated any more" in message
    assert "new.md: generated but has no golden file" in message


def test_the_live_config_is_valid_and_its_docs_are_current() -> None:
    """The one check on the live config, the one a team wants in its own CI: it is valid and
    the committed site-docs/ and CLAUDE.md section match it (what `make docs-check` guards).
    Whatever engines a team records, this holds as long as they regenerate and commit."""
    assert run_cli(["validate"], cwd=ROOT).code == ExitCode.OK
    result = run_cli(["generate", "--check"], cwd=ROOT)
    assert result.code == ExitCode.OK, f"the committed docs are stale: run `make docs` and commit\n{result.err}"
    first = LIVE_CONFIG.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == "# yaml-language-server: $schema=./agent_engine_envs.schema.json"


# --- determinism and writing only what changed -------------------------------------------


def test_two_runs_give_byte_identical_files(tmp_path: Path, shipped_text: str) -> None:
    first = make_project(tmp_path / "a", shipped_text, home=HAND_WRITTEN_HOME)
    generate.run(options(first))
    # Elsewhere, deeper, with the config given by its absolute path: the same bytes.
    second = make_project(tmp_path / "b" / "deeper" / "checkout", shipped_text, home=HAND_WRITTEN_HOME)
    generate.run(options(second, config_path=str(second / CONFIG), out_dir=str(second / "site-docs"), claude_md=str(second / "CLAUDE.md")))
    assert generated_files(first) == generated_files(second)
    assert len(generated_files(first)) == len(SHIPPED_PAGES) + 2  # + CLAUDE.md and the home page
    for data in generated_files(first).values():
        assert str(tmp_path).encode() not in data


def test_regenerating_from_scratch_gives_the_same_bytes(project: Path) -> None:
    before = generated_files(project)
    shutil.rmtree(project / "site-docs" / "agents")
    (project / "CLAUDE.md").unlink()
    generate.run(options(project))
    assert generated_files(project) == before


def test_pages_carry_no_wall_clock_date(project: Path, shipped_text: str) -> None:
    import datetime

    today = datetime.date.today().isoformat()
    for name, data in generated_files(project).items():
        assert today.encode() not in data, name
    assert b"2025-12-11" in (project / "site-docs" / "matrix.md").read_bytes()  # the config's last_updated


def test_a_second_run_writes_nothing(project: Path) -> None:
    age_files(project)
    before = snapshot(project)
    result = generate.run(options(project))
    assert result.written == 0
    assert result.pending == []
    assert snapshot(project) == before
    # the no-op result lists the same files as a full plan (--check), each unchanged
    planned = generate.run(options(project), write=False).changes
    assert sorted(c.display for c in result.changes) == sorted(c.display for c in planned)
    assert {c.action for c in result.changes} == {Action.UNCHANGED}
    assert result.unchanged == result.total == len(planned)


def test_a_second_cli_run_reports_nothing_written(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    age_files(project)
    before = snapshot(project)
    code, out, _ = run_cli(["generate"], cwd=project)
    assert code == ExitCode.OK
    assert out == f"0 files written or removed, {len(SHIPPED_PAGES) + 1} unchanged\n"
    assert snapshot(project) == before


def test_an_edit_rewrites_only_the_pages_it_changes(project: Path, shipped_text: str) -> None:
    age_files(project)
    before = snapshot(project)
    text = mutate(shipped_text, "description: Global orchestrator for the ADK compliance department", "description: Orchestrates the ADK department")
    (project / CONFIG).write_text(text, encoding="utf-8")
    result = generate.run(options(project))
    assert [c.display for c in result.pending] == ["site-docs/agents/bob.md"]
    after = snapshot(project)
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert changed == [CONFIG, "site-docs/agents/bob.md"]
    assert b"Orchestrates the ADK department" in (project / "site-docs" / "agents" / "bob.md").read_bytes()


# --- --check and --diff ------------------------------------------------------------------


def test_check_passes_right_after_generate(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["generate", "--check"], cwd=project)
    assert (code, err) == (ExitCode.OK, "")
    assert out == f"OK: {len(SHIPPED_PAGES) + 1} generated files are up to date\n"


def test_check_names_each_stale_file_and_writes_nothing(project: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = mutate(shipped_text, "last_updated: 2025-12-11", "last_updated: 2025-12-12")
    (project / CONFIG).write_text(text, encoding="utf-8")
    age_files(project)
    before = snapshot(project)
    code, _, err = run_cli(["generate", "--check"], cwd=project)
    assert code == ExitCode.STALE
    named = re.findall(r"^update\s+(\S+)$", err, flags=re.MULTILINE)
    assert named == SHIPPED_PAGES  # every page shows last_updated; CLAUDE.md does not
    assert f"{len(SHIPPED_PAGES)} generated files out of date" in err
    assert snapshot(project) == before


def test_check_names_missing_and_orphaned_files(project: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "site-docs" / "matrix.md").unlink()
    (project / CONFIG).write_text(edit_yaml(shipped_text, drop_agent("foreman")), encoding="utf-8")
    before = snapshot(project)
    code, _, err = run_cli(["generate", "--check"], cwd=project)
    assert code == ExitCode.STALE
    assert re.search(r"^create\s+site-docs/matrix\.md$", err, flags=re.MULTILINE)
    assert re.search(r"^delete\s+site-docs/agents/foreman\.md$", err, flags=re.MULTILINE)
    assert snapshot(project) == before


def test_diff_prints_a_unified_diff(project: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = mutate(shipped_text, "description: Global orchestrator for the ADK compliance department", "description: Orchestrates the ADK department")
    (project / CONFIG).write_text(text, encoding="utf-8")
    before = snapshot(project)
    code, out, err = run_cli(["generate", "--diff"], cwd=project)
    assert code == ExitCode.STALE
    assert "--- a/site-docs/agents/bob.md\n+++ b/site-docs/agents/bob.md\n" in out
    assert "\n-Global orchestrator for the ADK compliance department\n" in out
    assert "\n+Orchestrates the ADK department\n" in out
    assert re.search(r"^@@ ", out, flags=re.MULTILINE)
    assert "site-docs/agents/bob.md" in err
    assert snapshot(project) == before


# --- orphans and hand-written pages -------------------------------------------------------


def test_a_removed_agent_loses_its_page_and_hand_written_pages_stay(project: Path, shipped_text: str) -> None:
    notes = project / "site-docs" / "agents" / "notes.md"
    notes.write_bytes(b"# Team notes\n\nNo stamp: ours.\n")
    age_files(project)
    before = snapshot(project)
    (project / CONFIG).write_text(edit_yaml(shipped_text, drop_agent("foreman")), encoding="utf-8")
    result = generate.run(options(project))
    assert not (project / "site-docs" / "agents" / "foreman.md").exists()
    assert ("site-docs/agents/foreman.md", "delete") in [(c.display, c.action.value) for c in result.pending]
    after = snapshot(project)
    for name in ("site-docs/index.md", "site-docs/agents/notes.md"):
        assert after[name] == before[name], f"{name} was touched"
    assert b"foreman" not in (project / "site-docs" / "matrix.md").read_bytes()


def test_a_removed_environment_loses_its_promotion_page(project: Path, shipped_text: str) -> None:
    (project / CONFIG).write_text(edit_yaml(shipped_text, drop_last_environment), encoding="utf-8")
    generate.run(options(project))
    assert not (project / "site-docs" / "promotions" / "stage-to-prod.md").exists()
    assert (project / "site-docs" / "promotions" / "dev-to-stage.md").exists()
    assert "dev -> stage." in (project / "CLAUDE.md").read_text(encoding="utf-8")


def test_a_hand_edited_page_is_refused_until_forced(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    matrix = project / "site-docs" / "matrix.md"
    generated = matrix.read_bytes()
    matrix.write_bytes(generated + b"\nA note someone added by hand.\n")
    (project / "site-docs" / "playbook.md").unlink()  # would be created, but nothing is written when refused
    before = snapshot(project)
    code, _, err = run_cli(["generate"], cwd=project)
    assert code == ExitCode.CONFIG
    assert "site-docs/matrix.md" in err and "edited by hand" in err and "--force" in err
    assert "Traceback" not in err
    assert snapshot(project) == before

    code, _, err = run_cli(["generate", "--force"], cwd=project)
    assert (code, err) == (ExitCode.OK, "")
    assert matrix.read_bytes() == generated
    assert (project / "site-docs" / "playbook.md").exists()


def test_a_hand_written_file_at_a_generated_path_is_never_overwritten(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    matrix = project / "site-docs" / "matrix.md"
    matrix.write_bytes(b"# Our own matrix\n\nNo stamp.\n")
    before = snapshot(project)
    for flags in ((), ("--force",)):
        code, _, err = run_cli(["generate", *flags], cwd=project)
        assert code == ExitCode.CONFIG, flags
        assert "site-docs/matrix.md" in err and "not generated" in err
        assert snapshot(project) == before


# --- nothing is written when the config or the rules fail --------------------------------


def test_a_config_that_cannot_load_writes_nothing(tmp_path: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, mutate(shipped_text, "app_version: \"0.14.1\"", "app_version: \"0.14.1\"\ncolour: blue"), home=HAND_WRITTEN_HOME)
    before = snapshot(root)
    code, out, err = run_cli(["generate"], cwd=root)
    assert code == ExitCode.CONFIG
    assert "colour" in err and f"{CONFIG}:" in err
    assert "Traceback" not in err
    assert snapshot(root) == before
    assert not (root / "CLAUDE.md").exists()


def test_a_load_error_leaves_existing_pages_alone(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / CONFIG).write_text("agents: [\n", encoding="utf-8")
    before = snapshot(project)
    code, _, _ = run_cli(["generate"], cwd=project)
    assert code == ExitCode.CONFIG
    assert snapshot(project) == before


def test_a_failing_rule_writes_nothing(project: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / CONFIG).write_text(set_env_field(shipped_text, "bob", "dev", "status", "validated"), encoding="utf-8")
    age_files(project)
    before = snapshot(project)
    code, _, err = run_cli(["generate"], cwd=project)
    assert code == ExitCode.CONFIG  # PR001 judges the config alone: the config is wrong
    assert "PR001" in err
    assert snapshot(project) == before


def test_a_failing_rule_in_a_fresh_project_creates_nothing(tmp_path: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, set_env_field(shipped_text, "bob", "dev", "status", "validated"))
    code, _, _ = run_cli(["generate"], cwd=root)
    assert code == ExitCode.CONFIG
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["config", CONFIG]


# --- templates ----------------------------------------------------------------------------


def test_a_team_template_overrides_one_page(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = generated_files(project)
    team = tmp_path / "team-templates"
    team.mkdir()
    (team / "matrix.md.j2").write_text(
        '{% set template_name = "matrix.md.j2" %}\n# Our matrix\n\n{% include "_note.md.j2" %}\n\n'
        "{% for item in steps %}\n- {{ item.source }} to {{ item.target }}: {{ item.counts.blocked }} blocked\n{% endfor %}\n",
        encoding="utf-8",
    )
    code, _, err = run_cli(["generate", "--templates", str(team)], cwd=project)
    assert (code, err) == (ExitCode.OK, "")
    after = generated_files(project)
    matrix = after["site-docs/matrix.md"].decode()
    assert "# Our matrix\n" in matrix
    assert "- dev to stage: 2 blocked\n" in matrix
    assert '??? abstract "Generated page"' in matrix  # the included partial came from the built-in folder
    assert "Promotion matrix" not in matrix
    for name, data in builtin.items():
        if name != "site-docs/matrix.md":
            assert after[name] == data, f"{name} changed although its template was not overridden"


def test_a_team_note_partial_is_the_note_of_every_page(project: Path, tmp_path: Path) -> None:
    # Pages say `{{ note }}`: _note.md.j2 rendered once per template, a team's when it has one.
    team = tmp_path / "team-templates"
    team.mkdir()
    (team / "_note.md.j2").write_text("> Made by our docs bot from {{ config_path }} ({{ template_name }}).\n", encoding="utf-8")
    code, _, err = run_cli(["generate", "--templates", str(team)], cwd=project)
    assert (code, err) == (ExitCode.OK, "")
    pages = {name: data.decode() for name, data in generated_files(project).items() if name.startswith("site-docs/") and data.startswith(GENERATED_PREFIX.encode())}
    assert len(pages) > 5
    for name, text in pages.items():
        assert '??? abstract "Generated page"' not in text, name
        assert text.count("> Made by our docs bot from ") == 1, name
    assert "(matrix.md.j2).\n\n" in pages["site-docs/matrix.md"]
    assert "(agent.md.j2).\n\n" in pages["site-docs/agents/bob.md"]


@pytest.mark.parametrize(
    "partial",
    [
        "> {{ template_name }}{% if agent is defined %} for {{ agent.key }}{% endif %}.\n",  # reads a page's own value
        '> {{ template_name }}{% include "_by_page.md.j2" %}.\n',  # reads through another template
    ],
    ids=["reads-agent", "includes"],
)
def test_a_team_note_that_reads_the_page_is_rendered_for_each_page(project: Path, tmp_path: Path, partial: str) -> None:
    team = tmp_path / "team-templates"
    team.mkdir()
    (team / "_note.md.j2").write_text(partial, encoding="utf-8")
    (team / "_by_page.md.j2").write_text("{% if agent is defined %} for {{ agent.key }}{% endif %}", encoding="utf-8")
    code, _, err = run_cli(["generate", "--templates", str(team)], cwd=project)
    assert (code, err) == (ExitCode.OK, "")
    pages = generated_files(project)
    assert "> agent.md.j2 for bob.\n" in pages["site-docs/agents/bob.md"].decode()
    assert "> agent.md.j2 for foreman.\n" in pages["site-docs/agents/foreman.md"].decode()  # not bob's, the first page's
    assert "> matrix.md.j2.\n" in pages["site-docs/matrix.md"].decode()


@pytest.mark.parametrize(
    ("template", "line", "message"),
    [
        ("# M\n\nfine\n{{ placeholderz }}\n", 4, "'placeholderz' is undefined"),
        ("# M\n{% for x in %}\n", 2, "template syntax error"),
        ("# M\n{{ steps[0].sourse }}\n", 2, "has no attribute 'sourse'"),
    ],
)
def test_a_template_typo_is_a_clean_error(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str, line: int, message: str) -> None:
    team = tmp_path / "team-templates"
    team.mkdir()
    (team / "matrix.md.j2").write_text(template, encoding="utf-8")
    age_files(project)
    before = snapshot(project)
    code, out, err = run_cli(["generate", "--templates", str(team)], cwd=project)
    assert code == ExitCode.CONFIG
    assert f"{team / 'matrix.md.j2'}:{line}:" in err
    assert message in err
    assert "Traceback" not in err + out
    assert snapshot(project) == before


# --- any pipeline, no code change ---------------------------------------------------------


def test_a_four_environment_pipeline_gets_a_page_per_step(tmp_path: Path) -> None:
    root = make_project(tmp_path, FOUR_ENVS_FIXTURE.read_text(encoding="utf-8"), home=HAND_WRITTEN_HOME)
    generate.run(options(root))
    pages = sorted(p.name for p in (root / "site-docs" / "promotions").iterdir())
    assert pages == ["dev-to-qa.md", "index.md", "preprod-to-prod.md", "qa-to-preprod.md"]
    playbook = (root / "site-docs" / "playbook.md").read_text(encoding="utf-8")
    assert '  e0 -->|"2 checks"| e1\n  e1 -->|"4 checks + approval"| e2\n  e2 -->|"6 checks + approval"| e3\n' in playbook
    claude = (root / "CLAUDE.md").read_text(encoding="utf-8")
    assert "dev -> qa -> preprod -> prod." in claude


# --- what the pages hold (issue 3's list) -------------------------------------------------


def one_agent_ready_for_dev_to_stage(data: dict[str, Any]) -> None:
    bob = data["agents"]["bob"]["environments"]
    bob["dev"].update(engine_id="projects/bobs-brain-dev/locations/us-central1/reasoningEngines/111", status="validated")
    bob["stage"].update(engine_id="projects/bobs-brain-stage/locations/us-central1/reasoningEngines/222", status="deployed")


def test_the_matrix_summarises_each_promotion(tmp_path: Path, shipped_text: str) -> None:
    root = make_project(tmp_path, edit_yaml(shipped_text, one_agent_ready_for_dev_to_stage), home=HAND_WRITTEN_HOME)
    generate.run(options(root))
    matrix = (root / "site-docs" / "matrix.md").read_text(encoding="utf-8")
    step_rows = [line for line in matrix.split("\n") if line.startswith("| [dev &rarr; stage]") or line.startswith("| [stage &rarr; prod]")]
    assert [row.split(" | ")[1:3] for row in step_rows] == [
        ['<span class="promo-badge promo-state promo-state-blocked">blocked</span>', "1 blocked, 0 ready, 1 promoted, 0 done"],
        ['<span class="promo-badge promo-state promo-state-blocked">blocked</span>', "2 blocked, 0 ready, 0 promoted, 0 done"],
    ]
    assert "App version `0.14.1`" in matrix or "App version <code>0&#46;14&#46;1</code>" in matrix
    assert "; 4 placeholders left of 6 engines." in matrix
    # The engine cell shows the number, with the full resource name as its tooltip.
    assert '<code title="projects/bobs-brain-dev/locations/us-central1/reasoningEngines/111">111</code>' in matrix
    pair = (root / "site-docs" / "promotions" / "dev-to-stage.md").read_text(encoding="utf-8")
    assert "1 blocked, 0 ready, 1 promoted, 0 done of 2 agents." in pair
    bob_row = next(line for line in pair.split("\n") if line.startswith("| [bob]"))
    foreman_row = next(line for line in pair.split("\n") if line.startswith("| [foreman]"))
    # The verdict is the second column, so it stays on screen on a phone.
    assert bob_row.split(" | ")[1] == '<span class="promo-badge promo-state promo-state-promoted">promoted</span>'
    assert foreman_row.split(" | ")[1] == '<span class="promo-badge promo-state promo-state-blocked">blocked</span>'
    assert foreman_row.split(" | ")[2] == "dev engine ID is a placeholder"
    assert "- **foreman** (blocked): deploy `foreman` to `dev`, then record it: `promotion record --agent foreman --env dev --from-deploy-log <log>`" in pair


def test_a_rule_warning_marks_the_matrix_cell_with_a_tooltip(tmp_path: Path, shipped_text: str) -> None:
    engine = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/111"
    root = make_project(tmp_path, set_env_field(shipped_text, "bob", "dev", "engine_id", engine), home=HAND_WRITTEN_HOME)  # still `pending`: PR009
    result = generate.run(options(root))
    assert [v.code for v in result.warnings] == ["PR009"]
    matrix = (root / "site-docs" / "matrix.md").read_text(encoding="utf-8")
    row = next(line for line in matrix.split("\n") if line.startswith("| [bob](agents/bob.md) | dev |"))
    assert row.split(" | ")[3].endswith(' <span class="promo-badge promo-warning" title="PR009: engine &#96;111&#96; is set but status is still &#96;pending&#96;">warning</span>')



def test_every_generated_page_says_so_at_the_top(project: Path) -> None:
    for name in SHIPPED_PAGES:
        lines = (project / name).read_text(encoding="utf-8").split("\n")
        assert lines[0].startswith(GENERATED_PREFIX) and "edit those, not this page" in lines[0], name
        assert '??? abstract "Generated page"' in lines, name


def test_the_playbook_has_every_section(project: Path) -> None:
    text = (project / "site-docs" / "playbook.md").read_text(encoding="utf-8")
    headings = re.findall(r"^##+ .*$", text, flags=re.MULTILINE)
    assert headings == [
        "## The lifecycle of a promotion",
        "## Promotion flow",
        "## The first deploy: dev",
        "## Pre-promotion checklists",
        "### dev &rarr; stage",
        "### stage &rarr; prod",
        "## Command reference",
        "## Recording an engine ID after a deploy",
        "### Finding the engine ID",
        "## Monitoring after a promotion",
        "## Rollback",
        "### The engine each agent goes back to",
        "## See also",
        "## Related documents",
    ]
    lifecycle = text.split("## Promotion flow")[0]
    for state in ("blocked", "ready", "promoted", "done"):
        assert f'promo-state-{state}">{state}</span>' in lifecycle
    flow = text.split("## Pre-promotion checklists")[0]
    assert "```mermaid\nflowchart LR\n" in flow
    assert "In plain text: <strong>dev</strong> &rarr; <strong>stage</strong> &rarr; <strong>prod</strong>." in flow
    dev_stage, stage_prod = text.split("### dev &rarr; stage")[1].split("## Command reference")[0].split("### stage &rarr; prod")
    for source, target, checklist in (("dev", "stage", dev_stage), ("stage", "prod", stage_prod)):
        assert f"3. [ ] `promotion validate --from-env {source} --to-env {target}` exits 0: no agent is blocked" in checklist
        assert "    - [ ] Unit tests passing: `make test`" in checklist
    assert "    - none: no approval, soak time, freeze window or recorded checks are configured." in dev_stage
    assert "    - [ ] Manual approval given in `#deployments`, and recorded for the current stage engine: `promotion approve --from-env stage --to-env prod --agent <agent> --by <who> --link <url>`" in stage_prod
    assert "    - [ ] Stage smoke tests passing: `make smoke-test-stage`" in stage_prod
    assert "`projects/<project>/locations/<region>/reasoningEngines/<number>`" in text
    assert "`promotion record --agent bob --env dev --from-deploy-log deploy.log`" in text
    assert "- **prod** (Production workloads): full monitoring; alerting on; watch it for 24 hours after a promotion." in text
    # a config that sets no `watch_for` gets no duration: tests/test_playbook.py (the seed's form)
    assert "](matrix.md)" in text and "`config/agent_engine_envs.yaml`" in text


def test_agent_pages_show_description_directory_and_environments(project: Path) -> None:
    text = (project / "site-docs" / "agents" / "foreman.md").read_text(encoding="utf-8")
    assert "# IAM Senior ADK DevOps Lead\n" in text
    assert "\nWorkflow orchestrator for the IAM department\n" in text
    assert "- Code: `agents/iam-senior-adk-devops-lead`" in text
    rows = [line.split(" | ")[0] for line in text.split("\n") if line.startswith("| ") and "promo-status" in line]
    assert rows == ["| dev", "| stage", "| prod"]
    assert "| [dev &rarr; stage](../promotions/dev-to-stage.md) | " in text


def test_reference_pages_come_from_the_code(project: Path) -> None:
    from generator import rules, schema

    rules_page = (project / "site-docs" / "reference" / "rules.md").read_text(encoding="utf-8")
    for rule in rules.RULES:
        assert f"## {rule.id} {{: #{rule.id.lower()} }}" in rules_page
    schema_page = (project / "site-docs" / "reference" / "config-schema.md").read_text(encoding="utf-8")
    entries = [line for line in schema_page.split("\n") if line.startswith("### ")]
    rows = schema.reference_rows()
    assert len(entries) == len(rows)
    for entry, row in zip(entries, rows, strict=True):  # one heading per key, in order, with its anchor
        assert entry.startswith('### <code class="promo-key">') and entry.endswith(f"{{: #{row['anchor']} }}"), entry
        shown = re.sub(r"\\(.)", r"\1", entry.replace(".<wbr>", ".").replace("&lt;", "<"))  # as the page shows it
        assert shown.startswith(f'### <code class="promo-key">{row["path"]}</code>'), entry
    assert "| Key |" not in schema_page  # no six-column table left to squeeze on a phone


# --- CLAUDE.md ----------------------------------------------------------------------------

BEGIN = "<!-- BEGIN promotion"
END = "<!-- END promotion"


def test_claude_md_is_created_with_the_section(tmp_path: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, shipped_text, home=HAND_WRITTEN_HOME)
    code, _, _ = run_cli(["generate"], cwd=root)
    assert code == ExitCode.OK
    lines = (root / "CLAUDE.md").read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith(BEGIN) and lines[-2].startswith(END) and lines[-1] == ""
    assert "## Agent Engine promotion" in lines


def test_claude_md_without_markers_gets_the_section_appended(tmp_path: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, shipped_text, home=HAND_WRITTEN_HOME)
    original = b"# Project notes\n\nKeep answers short.\n"
    (root / "CLAUDE.md").write_bytes(original)
    code, _, _ = run_cli(["generate"], cwd=root)
    assert code == ExitCode.OK
    data = (root / "CLAUDE.md").read_bytes()
    assert data.startswith(original + b"\n" + BEGIN.encode())
    assert data.endswith(b" -->\n") and data.count(END.encode()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"# Notes\n<!-- BEGIN promotion -->\nold\n", "has no END marker"),
        (b"# Notes\nold\n<!-- END promotion -->\n", "has no BEGIN marker"),
        (
            b"<!-- BEGIN promotion -->\na\n<!-- END promotion -->\n<!-- BEGIN promotion -->\nb\n<!-- END promotion -->\n",
            "expected one promotion section",
        ),
    ],
    ids=["lone-begin", "lone-end", "two-sections"],
)
def test_broken_markers_are_refused_and_nothing_is_written(
    tmp_path: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch, content: bytes, message: str
) -> None:
    root = make_project(tmp_path, shipped_text)
    (root / "CLAUDE.md").write_bytes(content)
    before = snapshot(root)
    code, _, err = run_cli(["generate"], cwd=root)
    assert code == ExitCode.CONFIG
    assert "CLAUDE.md:" in err and message in err
    assert snapshot(root) == before
    assert not (root / "site-docs").exists()


def test_a_crlf_claude_md_keeps_crlf_and_everything_outside(tmp_path: Path, shipped_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, shipped_text, home=HAND_WRITTEN_HOME)
    before_section = b"\xef\xbb\xbf# Project\r\n\r\nIntro line.\r\n\r\n"
    after_section = b"\r\n## Other section\r\nno final newline"
    (root / "CLAUDE.md").write_bytes(before_section)
    assert run_cli(["generate"], cwd=root)[0] == ExitCode.OK
    (root / "CLAUDE.md").write_bytes((root / "CLAUDE.md").read_bytes() + after_section)
    # A change to the pipeline changes the section.
    (root / CONFIG).write_text(edit_yaml(shipped_text, drop_last_environment), encoding="utf-8")
    code, _, err = run_cli(["generate"], cwd=root)
    assert (code, err) == (ExitCode.OK, "")
    data = (root / "CLAUDE.md").read_bytes()
    assert data.startswith(before_section + BEGIN.encode())
    assert data.endswith(after_section)
    section = data[len(before_section) : len(data) - len(after_section)]
    assert b"dev -> stage." in section
    assert re.search(rb"(?<!\r)\n", section) is None, "a line of the section lost its CRLF"
    assert section.endswith(b" -->\r\n")
    # And an untouched CRLF file is left alone on the next run.
    assert run_cli(["generate", "--check"], cwd=root)[0] == ExitCode.OK


def test_a_hand_edited_claude_section_is_refused_until_forced(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claude = project / "CLAUDE.md"
    generated = claude.read_bytes()
    claude.write_bytes(generated.replace(b"## Agent Engine promotion\n", b"## Agent Engine promotion\n\nMy own line.\n"))
    before = snapshot(project)
    code, _, err = run_cli(["generate"], cwd=project)
    assert code == ExitCode.CONFIG
    assert "CLAUDE.md:1:" in err and "edited by hand" in err
    assert snapshot(project) == before
    assert run_cli(["generate", "--force"], cwd=project)[0] == ExitCode.OK
    assert claude.read_bytes() == generated


# --- pre-commit hooks ---------------------------------------------------------------------


def test_pre_commit_hooks_offer_validate_and_the_docs_check() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert sorted(hooks) == ["promotion-docs-check", "promotion-validate"]
    validate, docs = hooks["promotion-validate"], hooks["promotion-docs-check"]
    assert validate["entry"] == "promotion validate"
    assert docs["entry"] == "promotion generate --check"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        assert hook["name"]
    assert re.search(validate["files"], CONFIG)
    assert not re.search(validate["files"], "README.md")
    for path in (CONFIG, "templates/matrix.md.j2", "site-docs/matrix.md", "CLAUDE.md"):
        assert re.search(docs["files"], path), path
    # The entries are real commands of this package that pass on the repository.
    for hook in hooks.values():
        argv = shlex.split(hook["entry"])
        assert argv[0] == "promotion"
        result = run_cli(argv[1:], cwd=ROOT)
        assert result.code == ExitCode.OK, (hook["id"], result.err)
