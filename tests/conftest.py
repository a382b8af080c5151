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

import hashlib
import io
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main

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


# --- the one CLI runner, project snapshot ------------------------------------------------------

#: A CLI run that takes longer than this is a hang, and fails the test.
RUN_TIMEOUT = 30.0


class Result(tuple):  # type: ignore[type-arg]
    """A CLI run: (exit code, standard output, standard error), with ``.code``, ``.out``,
    ``.err`` and the ``.seconds`` it took."""

    seconds: float

    def __new__(cls, code: int, out: str, err: str, seconds: float = 0.0) -> Result:
        result = super().__new__(cls, (code, out, err))
        result.seconds = seconds
        return result

    @property
    def code(self) -> int:
        return int(self[0])

    @property
    def out(self) -> str:
        return str(self[1])

    @property
    def err(self) -> str:
        return str(self[2])


def run_cli(argv: list[str], cwd: Path | None = None, stdin: str | None = None) -> Result:
    """``promotion ARGV`` in this process (in ``cwd`` if given, ``stdin`` as its standard input),
    in a thread so that a hang fails the test; a traceback in the output fails it too.

    The one CLI runner of the suite: every test that runs a command calls it."""
    if cwd is not None:
        previous = os.getcwd()
        os.chdir(cwd)
        try:
            return run_cli(argv, stdin=stdin)
        finally:
            os.chdir(previous)
    if stdin is not None:
        real = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")))
        try:
            return run_cli(argv)
        finally:
            sys.stdin = real
    out, err = io.StringIO(), io.StringIO()
    box: dict[str, Any] = {}

    def target() -> None:
        started = time.perf_counter()
        try:
            box["code"] = main(argv, out, err)
        except BaseException as exc:  # noqa: BLE001 - an escaping exception is the failure under test
            box["exception"] = exc
        box["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(RUN_TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"promotion {' '.join(argv)} did not finish within {RUN_TIMEOUT:.0f} s")
    if "exception" in box:
        raise AssertionError(f"promotion {' '.join(argv)} raised instead of reporting: {box['exception']!r}") from box["exception"]
    result = Result(box["code"], out.getvalue(), err.getvalue(), box["seconds"])
    assert "Traceback" not in result.out + result.err, result.out + result.err
    return result


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root``: content hash (or size for big files), mtime and mode. The
    state file (generate's cache of its last run, not an output) is left out. The one snapshot
    helper of the suite: "nothing was written" is ``snapshot(root) == before``."""
    state: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            if name == ".promotion-state":
                continue
            path = Path(folder, name)
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                state[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                digest = None
                if info.st_size <= 1024 * 1024:
                    try:
                        digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    except PermissionError:
                        digest = "unreadable"
                state[rel] = ("file", digest, info.st_size, info.st_mtime_ns, stat.S_IMODE(info.st_mode))
            else:
                # a folder's mtime is covered by its entries; a FIFO's changes when a test writes to it
                state[rel] = ("other", stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode))
    return state


CONFIG_REL = "config/agent_engine_envs.yaml"


def make_project(
    root: Path,
    config: str | bytes,
    *,
    config_name: str = CONFIG_REL,
    home: bytes | None = None,
    claude: bytes | None = None,
    templates: bool = False,
    ledger: Path | None = None,
) -> Path:
    """A project folder: the config (text or exact bytes) at ``config_name``; optionally a
    hand-written home page (``site-docs/index.md``), a CLAUDE.md, a copy of the templates and
    of a ledger folder beside the config. The one project builder of the suite."""
    path = root / config_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(config if isinstance(config, bytes) else config.encode("utf-8"))
    if home is not None:
        (root / "site-docs").mkdir(exist_ok=True)
        (root / "site-docs" / "index.md").write_bytes(home)
    if claude is not None:
        (root / "CLAUDE.md").write_bytes(claude)
    if templates:
        import shutil

        shutil.copytree(ROOT / "templates", root / "templates")
    if ledger is not None:
        import shutil

        shutil.copytree(ledger, path.parent / "ledger")
    return root
