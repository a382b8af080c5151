"""The suite survives real use: a team records engines in the live config and its CI stays green.

Tests assert on fixtures, never on the live ``config/agent_engine_envs.yaml``, ``site-docs/``
or ``CLAUDE.md`` (the one exception, ``test_the_live_config_is_valid_and_its_docs_are_current``,
is the check a team wants in its own CI). This proves it: a copy of the repository records a
real engine for bob in dev as the README says (deployed, then validated), regenerates the docs
and runs the test suite; then switches the live config to a four-environment pipeline and
runs it again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FOUR_ENVS_FIXTURE, ROOT, engine_resource, set_env_field

pytestmark = pytest.mark.slow

GIT = shutil.which("git")


def copy_repository(dest: Path) -> Path:
    """The files a clean clone has (tracked, plus new files not ignored), and the same .venv."""
    listed = subprocess.run([GIT or "git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def in_copy(copy: Path, *argv: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy)}  # the copy's generator, not the checkout's
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(list(argv), cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def promotion(copy: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return in_copy(copy, sys.executable, "-m", "generator", *argv)


def fast_suite(copy: Path) -> None:
    result = in_copy(copy, sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow and not browser")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


@pytest.mark.skipif(GIT is None, reason="needs git to list the repository's files")
def test_recording_engines_and_switching_pipelines_keeps_the_suite_green(tmp_path: Path) -> None:
    copy = copy_repository(tmp_path / "repo")
    config = copy / "config" / "agent_engine_envs.yaml"

    # README, "Recording an engine ID after a deploy": the resource name and `status: deployed` ...
    text = config.read_text(encoding="utf-8")
    text = set_env_field(text, "bob", "dev", "engine_id", engine_resource("bobs-brain-dev", "6000000000000000001"))
    config.write_text(set_env_field(text, "bob", "dev", "status", "deployed"), encoding="utf-8")
    assert promotion(copy, "validate").returncode == 0
    assert promotion(copy, "generate").returncode == 0
    # ... then `validated` once the checks pass there.
    config.write_text(set_env_field(config.read_text(encoding="utf-8"), "bob", "dev", "status", "validated"), encoding="utf-8")
    assert promotion(copy, "generate").returncode == 0
    assert promotion(copy, "generate", "--check").returncode == 0
    fast_suite(copy)

    # A team that renames and adds environments: the live config becomes a four-env pipeline.
    four = FOUR_ENVS_FIXTURE.read_text(encoding="utf-8").replace("$schema=../../config/", "$schema=./", 1)
    config.write_text(four, encoding="utf-8")
    result = promotion(copy, "generate")
    assert result.returncode == 0, result.stderr
    fast_suite(copy)
