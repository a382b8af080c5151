"""Fixtures and helpers shared by every test module.

The configs the tests break are built from ``tests/fixtures/placeholders.yaml`` (the config
as first shipped; tests never read the live ``config/agent_engine_envs.yaml``)
by small, checked text edits (``mutate``, ``set_env_field``): an edit that misses its
target fails the test instead of silently testing the unchanged file.

``tests/fixtures/deployed.yaml`` (every engine deployed and validated) and
``tests/fixtures/four_envs.yaml`` (a dev -> qa -> preprod -> prod pipeline) are
checked in for tests and golden files; ``test_cli.py`` checks that they stay valid.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIVE_CONFIG = ROOT / "config" / "agent_engine_envs.yaml"  # only the live-config check reads it
SCHEMA_FILE = ROOT / "config" / "agent_engine_envs.schema.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The pipeline as first shipped: two agents, dev -> stage -> prod, every engine a placeholder.
#: Tests build on it, never on the live config (a team's first recorded engine must not break them).
PLACEHOLDER_FIXTURE = FIXTURES / "placeholders.yaml"
#: The seed's own file, in its form: agent_dir/purpose, every string quoted, comments everywhere.
SEED_FIXTURE = FIXTURES / "seed.yaml"
DEPLOYED_FIXTURE = FIXTURES / "deployed.yaml"
FOUR_ENVS_FIXTURE = FIXTURES / "four_envs.yaml"

WriteConfig = Callable[..., str]

# Indentation of the shipped layout: `agents:` at 0, an agent at 2, `environments:` at 4,
# an environment at 6, its fields at 8.
_AGENT_INDENT = 2
_ENV_INDENT = 6
_FIELD_INDENT = 8


def mutate(text: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new``; fail unless ``old`` occurs exactly once."""
    count = text.count(old)
    assert count == 1, f"expected {old!r} exactly once in the config, found it {count} times"
    return text.replace(old, new)


def where(text: str, needle: str, at: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of ``at`` inside the one occurrence of ``needle`` (default: its start).

    The test oracle for locations: it reads the text, not YAML, so it can't share a bug
    with the loader.
    """
    count = text.count(needle)
    assert count == 1, f"expected {needle!r} exactly once in the config, found it {count} times"
    offset = text.index(needle)
    if at is not None:
        assert at in needle, f"{at!r} is not part of {needle!r}"
        offset += needle.index(at)
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _is_key_line(line: str, indent: int, key: str) -> bool:
    """``line`` opens ``key:`` at ``indent`` (an anchor or alias may follow the colon)."""
    prefix = " " * indent + f"{key}:"
    return line.rstrip() == prefix or line.startswith(prefix + " ")


def _env_block(lines: list[str], agent: str, env: str) -> tuple[int, int]:
    """Line indexes [start, end) of the fields of ``agents.<agent>.environments.<env>``."""
    in_agents = False
    agent_at: int | None = None
    for index, line in enumerate(lines):
        if line.rstrip() == "agents:":
            in_agents = True
            continue
        if in_agents and line and not line.startswith(" ") and not line.startswith("#"):
            in_agents = False
        if in_agents and _is_key_line(line, _AGENT_INDENT, agent):
            agent_at = index
            break
    assert agent_at is not None, f"agent {agent!r} not found under `agents:`"
    start: int | None = None
    for index in range(agent_at + 1, len(lines)):
        line = lines[index]
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() and indent <= _AGENT_INDENT:
            break
        if _is_key_line(line, _ENV_INDENT, env):
            start = index + 1
            break
    assert start is not None, f"environment {env!r} not found under agent {agent!r}"
    end = start
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" " * _FIELD_INDENT)):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end


def set_env_field(text: str, agent: str, env: str, field: str, value: str | None) -> str:
    """Set (or, with ``None``, remove) ``agents.<agent>.environments.<env>.<field>``.

    ``value`` is raw YAML (quote it yourself). A field that is not there is appended to
    the environment; removing a field that is not there fails the test.
    """
    lines = text.split("\n")
    start, end = _env_block(lines, agent, env)
    prefix = " " * _FIELD_INDENT + f"{field}:"
    hits = [i for i in range(start, end) if lines[i].startswith(prefix + " ") or lines[i] == prefix]
    assert len(hits) <= 1, f"{field!r} occurs {len(hits)} times in {agent}.{env}"
    if value is None:
        assert hits, f"{agent}.{env} has no {field!r} to remove"
        del lines[hits[0]]
    elif hits:
        lines[hits[0]] = f"{prefix} {value}"
    else:
        lines.insert(end, f"{prefix} {value}")
    return "\n".join(lines)


def get_env_field(text: str, agent: str, env: str, field: str) -> str:
    """The raw YAML value of ``agents.<agent>.environments.<env>.<field>``."""
    lines = text.split("\n")
    start, end = _env_block(lines, agent, env)
    prefix = " " * _FIELD_INDENT + f"{field}: "
    values = [lines[i][len(prefix) :] for i in range(start, end) if lines[i].startswith(prefix)]
    assert len(values) == 1, f"{field!r} occurs {len(values)} times in {agent}.{env}"
    return values[0]


def remove_env(text: str, agent: str, env: str) -> str:
    """Drop ``agents.<agent>.environments.<env>`` (its key line and fields)."""
    lines = text.split("\n")
    start, end = _env_block(lines, agent, env)
    del lines[start - 1 : end]
    return "\n".join(lines)


def replace_promotion(text: str, block: str) -> str:
    """Replace the top-level ``promotion:`` section (the last one of the file) by ``block``."""
    head, sep, tail = text.partition("\npromotion:\n")
    assert sep, "no top-level `promotion:` section"
    later = [line for line in tail.split("\n") if line and not line.startswith((" ", "#"))]
    assert not later, f"`promotion:` must be the last top-level section, found {later[0]!r} after it"
    return head + "\n" + block


def engine_resource(project: str, number: str, region: str = "us-central1") -> str:
    return f"projects/{project}/locations/{region}/reasoningEngines/{number}"


_ENV_FIELD_RE = re.compile(r"^ {8}(project_id|region|engine_id|status): (.*)$")


def deploy_all(text: str, status: str = "validated", first_number: int = 1_000_000_000_000_000_001) -> str:
    """Every placeholder engine replaced by a unique resource name in its env's project and
    region, every status set to ``status``. Relies on the shipped field order
    (project_id, region, engine_id, ..., status)."""
    out = []
    project = region = None
    number = first_number
    engines = statuses = 0
    for line in text.split("\n"):
        match = _ENV_FIELD_RE.match(line)
        if match:
            field, value = match.groups()
            if field == "project_id":
                project = value
            elif field == "region":
                region = value
            elif field == "engine_id":
                assert project and region, f"engine_id before project_id/region: {line!r}"
                line = f"        engine_id: {engine_resource(project, str(number), region)}"
                number += 7919  # a prime step: unique numbers that don't look sequential
                engines += 1
                project = region = None
            elif field == "status":
                line = f"        status: {status}"
                statuses += 1
        out.append(line)
    assert engines and engines == statuses, f"replaced {engines} engine IDs but {statuses} statuses"
    return "\n".join(out)


@pytest.fixture
def placeholder_config_text() -> str:
    """The text of tests/fixtures/placeholders.yaml (all engines placeholders, all pending)."""
    return PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")


@pytest.fixture
def deployed_config_text(placeholder_config_text: str) -> str:
    """The shipped config with every engine a real, unique resource name and every status `validated`."""
    return deploy_all(placeholder_config_text)


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """``write(text, name="c.yaml") -> path``: write a config file under tmp_path."""

    def write(text: str, name: str = "c.yaml") -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return str(path)

    return write


@pytest.fixture
def placeholder_config_path() -> str:
    return str(PLACEHOLDER_FIXTURE)


@pytest.fixture
def deployed_fixture_path() -> str:
    return str(DEPLOYED_FIXTURE)


@pytest.fixture
def four_envs_fixture_path() -> str:
    return str(FOUR_ENVS_FIXTURE)


@contextmanager
def before_replace(hook: Callable[[Path], None]) -> Iterator[None]:
    """Call ``hook(target)`` just before each atomic rename, e.g. to simulate a crash mid-run.

    The writer has no test hook of its own: this wraps ``os.replace`` for the duration.
    """
    real = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        hook(Path(dst))
        real(src, dst, *args, **kwargs)

    os.replace = replace  # type: ignore[assignment]
    try:
        yield
    finally:
        os.replace = real


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's, through Playwright) for every browser test of the run:
    Playwright's sync API can't be started twice in one thread."""
    import site_helpers

    executable = site_helpers.chromium_executable()
    sync_playwright = site_helpers.sync_playwright_or_skip()
    with sync_playwright() as playwright:
        chromium = site_helpers.launch_chromium(playwright, executable)
        try:
            yield chromium
        finally:
            chromium.close()
