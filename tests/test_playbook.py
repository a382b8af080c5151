"""The playbook says everything the seed's runbook said, and nothing nobody configured.

(a) The playbook of the live-shaped fixture (``tests/fixtures/placeholders.yaml``, never the
    live config) is held against a checklist of every element: the seed's monitoring guidance
    per environment, the watch windows, the four rollback steps with real commands, finding
    the engine ID, the related documents and the commit convention.
(b) A config in the seed's form without the optional keys (``tests/fixtures/seed.yaml``)
    renders no duration, no channel but the configured approval channel, no related documents
    and no link, in the playbook, the environment pages and the CLAUDE.md section.
(c) A bad ``commit_message`` placeholder, a bad ``watch_for`` and a bad link are config errors
    with file:line:col.
(d) ``promotion record`` names the config's commit message in its last lines.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import PLACEHOLDER_FIXTURE, SEED_FIXTURE, mutate, where

from generator import cli, deploylog, generate, kinds, render

CONFIG = "config/agent_engine_envs.yaml"

#: The seed's runbook, per environment: what to check after a promotion, and for how long.
SEED_MONITORING = {
    "dev": ["check Cloud Run logs", "verify test queries", "watch for errors in the first hour"],
    "stage": ["full smoke test suite", "load testing if applicable", "integration tests with external services"],
    "prod": ["gradual rollout if supported", "active monitoring for the first 24 hours", "rollback plan ready"],
}
SEED_WATCH = {"dev": "1 hour", "stage": None, "prod": "24 hours"}
SEED_LINKS = [
    ("Phase 31 plan: Agent Engine promotion strategy", "000-docs/187-AA-PLAN-phase-31-agent-engine-promotion-strategy.md"),
    ("Agent Engine promotion playbook (the operator runbook)", "000-docs/188-RB-OPER-agent-engine-promotion-playbook.md"),
    ("Phase 31 after-action report", "000-docs/189-AA-REPT-phase-31-agent-engine-promotion-strategy.md"),
    ("Promotion helper script", "scripts/promote_agent_engine_config.py"),
]
BOB_DEV = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/1234567890123456789"


def generated(tmp_path: Path, config_text: str) -> dict[str, str]:
    """Every page generate writes for ``config_text`` (and ``CLAUDE.md``), by relative path."""
    (tmp_path / "config").mkdir(parents=True)
    (tmp_path / CONFIG).write_text(config_text, encoding="utf-8", newline="")
    generate.run(generate.GenerateOptions(config_path=CONFIG, root=str(tmp_path)))
    return {p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.md")}


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", text[start:], flags=re.MULTILINE)]
    return text[start : start + ends[0]] if ends else text[start:]


def claude_section(text: str) -> str:
    return text.split("<!-- BEGIN promotion", 1)[1].split("<!-- END promotion", 1)[0]


def run(root: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(root)
    try:
        code = cli.main(list(argv), out, err)
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


# --- (a) the live-shaped fixture: every element of the seed's runbook -------------------------


@pytest.fixture(scope="module")
def live_shaped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return generated(tmp_path_factory.mktemp("live-shaped"), PLACEHOLDER_FIXTURE.read_text(encoding="utf-8"))


def test_the_monitoring_section_carries_the_seeds_guidance_per_environment(live_shaped: dict[str, str]) -> None:
    monitoring = section(live_shaped["site-docs/playbook.md"], "## Monitoring after a promotion")
    lines = monitoring.splitlines()
    for env, level, alerting in (("dev", "basic", "off"), ("stage", "enhanced", "off"), ("prod", "full", "on")):
        (start,) = [i for i, line in enumerate(lines) if line.startswith(f"- **{env}** (")]
        head = lines[start]
        assert f"{level} monitoring; alerting {alerting}" in head
        if SEED_WATCH[env]:
            assert head.endswith(f"; watch it for {SEED_WATCH[env]} after a promotion."), head
        else:
            assert "watch it" not in head
        notes = []
        for line in lines[start + 1 :]:
            if not line.startswith("    - "):
                break
            notes.append(line.removeprefix("    - "))
        assert notes == SEED_MONITORING[env]


def test_the_environment_pages_show_their_monitoring(live_shaped: dict[str, str]) -> None:
    for env, notes in SEED_MONITORING.items():
        monitoring = section(live_shaped[f"site-docs/environments/{env}.md"], "## Monitoring")
        watch = f"; watch it for {SEED_WATCH[env]}." if SEED_WATCH[env] else "."
        assert f"After a promotion into `{env}`: " in monitoring
        assert monitoring.split("\n\n")[0].strip().endswith(watch)
        assert [line[2:] for line in monitoring.splitlines() if line.startswith("- ")] == notes


def test_the_claude_section_has_one_line_per_environment_with_guidance(live_shaped: dict[str, str]) -> None:
    text = claude_section(live_shaped["CLAUDE.md"])
    assert "- After a promotion into dev, watch it for 1 hour: check Cloud Run logs; verify test queries; watch for errors in the first hour.\n" in text
    assert "- After a promotion into stage: full smoke test suite; load testing if applicable; integration tests with external services.\n" in text
    assert "- After a promotion into prod, watch it for 24 hours: gradual rollout if supported; active monitoring for the first 24 hours; rollback plan ready.\n" in text
    assert "`config: update <agent> <env> engine ID after deployment`" in text
    related = next(line for line in text.splitlines() if line.startswith("- Related documents: "))
    for title, url in SEED_LINKS:
        assert f"{title} (`{url}`)" in related


def test_the_rollback_has_its_four_steps_with_real_commands(live_shaped: dict[str, str]) -> None:
    rollback = section(live_shaped["site-docs/playbook.md"], "## Rollback")
    steps = re.findall(r"^(\d)\. \*\*(\w[\w-]*)\*\*", rollback, flags=re.MULTILINE)
    assert steps == [("1", "Immediately"), ("2", "Investigate"), ("3", "Fix"), ("4", "Re-promote")]
    immediately, rest = rollback.split("2. **Investigate**")
    investigate, rest = rest.split("3. **Fix**")
    fix, repromote = rest.split("4. **Re-promote**")
    assert "`promotion rollback --agent <agent> --env <environment>`" in immediately
    assert "`promotion history --agent <agent> --env <environment>`" in investigate
    assert "`promotion record --agent <agent> --env dev --from-deploy-log deploy.log`" in fix
    assert "`promotion validate --from-env dev --to-env stage --agent <agent>`" in repromote
    assert "`promotion validate --from-env stage --to-env prod --agent <agent>`" in repromote
    assert "`promotion record --agent <agent> --env prod --from-deploy-log deploy.log`" in repromote


def test_finding_the_engine_id_lists_every_recognised_line_and_the_console_path(live_shaped: dict[str, str]) -> None:
    finding = section(live_shaped["site-docs/playbook.md"], "### Finding the engine ID")
    for _, example_line in deploylog.RECOGNISED:
        assert render.code(example_line.strip()) in finding
    assert "Google Cloud console &rarr; Vertex AI &rarr; Agent Engine &rarr; the agent" in finding
    assert "`promotion record --agent <agent> --env <environment> --engine-id <resource name>`" in finding


def test_the_recording_section_uses_the_commit_convention(live_shaped: dict[str, str]) -> None:
    recording = section(live_shaped["site-docs/playbook.md"], "## Recording an engine ID after a deploy")
    assert '`git add -A config site-docs CLAUDE.md && git commit -m "config: update bob dev engine ID after deployment"`' in recording
    assert "`config: update <agent> <environment> engine ID after deployment` (`commit_message` in the config)" in recording


def test_the_related_documents_end_the_playbook(live_shaped: dict[str, str]) -> None:
    playbook = live_shaped["site-docs/playbook.md"]
    assert re.findall(r"^## .*$", playbook, flags=re.MULTILINE)[-1] == "## Related documents"
    related = section(playbook, "## Related documents")
    assert related.strip().splitlines() == [f"- {title}: `{url}`" for title, url in SEED_LINKS]
    assert "<a " not in related  # repository paths are not part of the site: code, not links


def test_every_command_the_playbook_names_exists(live_shaped: dict[str, str]) -> None:
    playbook = live_shaped["site-docs/playbook.md"]
    named = set(re.findall(r"`promotion ([a-z]+)", playbook))
    assert named and named <= set(cli.COMMANDS), named - set(cli.COMMANDS)
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, flags=re.MULTILINE))
    config = yaml.safe_load(PLACEHOLDER_FIXTURE.read_text(encoding="utf-8"))
    # the config's own check commands are the team's targets, not ours
    targets |= {check["command"].removeprefix("make ") for step in config["promotion"].values() for check in step["required_checks"]}
    for target in set(re.findall(r"`make ([a-z][a-z0-9-]*)", playbook)):
        assert target in targets or re.match(r"^promote-agent-config-(validate-)?[a-z0-9_]+-to-[a-z0-9_]+$", target), target


# --- (b) the seed's form without the optional keys: nothing invented --------------------------


@pytest.fixture(scope="module")
def seed_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return generated(tmp_path_factory.mktemp("seed"), SEED_FIXTURE.read_text(encoding="utf-8"))


def seed_texts(pages: dict[str, str]) -> dict[str, str]:
    texts = {path: text for path, text in pages.items() if path == "site-docs/playbook.md" or path.startswith("site-docs/environments/")}
    texts["CLAUDE.md"] = claude_section(pages["CLAUDE.md"])
    return texts


def test_the_seed_form_renders_no_duration(seed_pages: dict[str, str]) -> None:
    for path, text in seed_texts(seed_pages).items():
        assert not re.search(r"\b(hours?|minutes?)\b|\b[0-9]+ ?[mhd]\b", text, flags=re.IGNORECASE), path
        assert "watch it" not in text, path


def test_the_seed_form_names_no_channel_but_the_approval_channel(seed_pages: dict[str, str]) -> None:
    for path, text in seed_texts(seed_pages).items():
        # `(#anchor)` is a link inside the page, `&#123;` an entity: neither is a channel
        channels = set(re.findall(r"(?<![(&\w/])#[A-Za-z][\w-]*", text))
        assert channels <= {"#deployments"}, (path, channels)
        assert not re.search(r"\b(slack|pagerduty|opsgenie|teams|e-?mail|on-call|pager)\b", text, flags=re.IGNORECASE), path


def test_the_seed_form_lists_no_related_documents_and_no_link(seed_pages: dict[str, str]) -> None:
    for path, text in seed_texts(seed_pages).items():
        assert "Related documents" not in text, path
        # the deploy-log example in "Finding the engine ID" holds a URL as code: shown, not linked
        assert "<a " not in text and "](http" not in text and "<http" not in text, path
        assert not re.search(r"(?<!`POST )https?://", text), path


def test_the_seed_form_monitoring_says_only_what_the_config_says(seed_pages: dict[str, str]) -> None:
    monitoring = section(seed_pages["site-docs/playbook.md"], "## Monitoring after a promotion")
    items = [line for line in monitoring.splitlines() if line.startswith("- ") or line.startswith("    - ")]
    assert items == [
        "- **dev** (Development and testing): basic monitoring; alerting off; deploys automatically on merge.",
        "- **stage** (Pre-production validation): enhanced monitoring; alerting off.",
        "- **prod** (Production workloads): full monitoring; alerting on.",
    ]
    assert "After a" not in claude_section(seed_pages["CLAUDE.md"]).split("- After a deploy:")[1]


# --- links: a URL is a link, a path is code, anything else a config error ---------------------


def test_a_web_link_is_a_link_and_a_path_is_code(tmp_path: Path) -> None:
    text = PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")
    text = mutate(text, "url: scripts/promote_agent_engine_config.py", "url: https://example.com/runbook?a=1&b=2")
    related = section(generated(tmp_path, text)["site-docs/playbook.md"], "## Related documents")
    assert '- <a href="https://example.com/runbook?a=1&amp;b=2">Promotion helper script</a>' in related
    assert "- Phase 31 after-action report: `000-docs/189-AA-REPT-phase-31-agent-engine-promotion-strategy.md`" in related


@pytest.mark.parametrize("url", ["https://example.com/x", "http://a.b/c?d=e#f", "scripts/x.py", "000-docs/188-x.md", ".github/workflows/", "a"])
def test_what_the_kind_accepts_as_a_url_link_to_links_and_nothing_else(url: str) -> None:
    kind = kinds.WebUrlOrPath("x")
    assert kind.refuse(url, "url") is None
    linked = str(render.link_to("t", url)).startswith("<a ")
    assert linked == bool(re.match(kinds.WEB_URL_PATTERN, url)) == url.startswith(("http://", "https://"))


# --- (c) config errors with file:line:col ---------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "at", "path", "message"),
    [
        (
            'commit_message: "config: update {agent} {env} engine ID after deployment"',
            'commit_message: "config: update {agent} {environment} engine ID"',
            '"config',
            "commit_message",
            "unknown placeholder `{environment}` in `commit_message`: only `{agent}` and `{env}` are replaced",
        ),
        (
            'commit_message: "config: update {agent} {env} engine ID after deployment"',
            'commit_message: "config: update $AGENT"',
            '"config',
            "commit_message",
            "`commit_message` holds '$'",
        ),
        ("watch_for: 24h", "watch_for: 24 hours", "24 hours", "environments.prod.watch_for", "`24 hours` is not a duration"),
        ("watch_for: 1h", "watch_for: 0h", "0h", "environments.dev.watch_for", "`0h` is not a duration"),
        (
            "url: scripts/promote_agent_engine_config.py",
            'url: "javascript:alert(1)"',
            '"javascript',
            "links[3].url",
            "`javascript:alert(1)` is neither an http(s) URL nor a repository path: only http and https URLs are linked",
        ),
        (
            "url: scripts/promote_agent_engine_config.py",
            "url: ../scripts/promote_agent_engine_config.py",
            "../",
            "links[3].url",
            "`../scripts/promote_agent_engine_confi...` is neither an http(s) URL nor a repository path",
        ),
    ],
    ids=["commit-placeholder", "commit-dollar", "watch-for-words", "watch-for-zero", "link-javascript", "link-outside"],
)
def test_a_bad_value_is_a_config_error_with_its_location(tmp_path: Path, old: str, new: str, at: str, path: str, message: str) -> None:
    text = mutate(PLACEHOLDER_FIXTURE.read_text(encoding="utf-8"), old, new)
    (tmp_path / "config").mkdir()
    (tmp_path / CONFIG).write_text(text, encoding="utf-8")
    code, _, err = run(tmp_path, "validate")
    line, col = where(text, new, at)
    assert code == 1, err
    assert f"{CONFIG}:{line}:{col}: error [pattern] {path}: {message}" in err, err


# --- (d) promotion record names the config's commit message ---------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (None, "config: update bob dev engine ID after deployment"),
        ("deploy({env}): record the {agent} engine", "deploy(dev): record the bob engine"),
    ],
    ids=["seed-convention", "configured"],
)
def test_record_names_the_configs_commit_message(tmp_path: Path, template: str | None, expected: str) -> None:
    text = PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")
    old = 'commit_message: "config: update {agent} {env} engine ID after deployment"\n'
    text = mutate(text, old, "" if template is None else f'commit_message: "{template}"\n')
    (tmp_path / "config").mkdir()
    (tmp_path / CONFIG).write_text(text, encoding="utf-8")
    code, out, err = run(tmp_path, "record", "--agent", "bob", "--env", "dev", "--engine-id", BOB_DEV, "--by", "test", "--now", "2026-12-01T10:00:00Z")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-2] == f"commit message: {expected}"
    assert lines[-1].endswith(f'git commit -m "{expected}"`')


def test_the_playbook_uses_the_configured_commit_message(tmp_path: Path) -> None:
    text = mutate(
        PLACEHOLDER_FIXTURE.read_text(encoding="utf-8"),
        'commit_message: "config: update {agent} {env} engine ID after deployment"',
        'commit_message: "chore(config): {agent}/{env} engine *recorded*"',
    )
    recording = section(generated(tmp_path, text)["site-docs/playbook.md"], "## Recording an engine ID after a deploy")
    assert '`git add -A config site-docs CLAUDE.md && git commit -m "chore(config): bob/dev engine *recorded*"`' in recording
    assert "`chore(config): <agent>/<environment> engine *recorded*`" in recording
