"""``promotion checks``: a step's required checks, run for real, and their results kept.

The seed's own stage deploy workflow labels its checks "MUST PASS" and then ignores their
exit codes. Here ``--run`` runs each check's ``command`` in the repository root, in order
(inherited checks first), streams its output, and ends with a pass/fail table; one failing
check makes the command exit 2. A check without a command is listed as manual: a person
confirms it. ``--record`` writes the results (each check's exit code and duration, the
commit) to the ledger, one entry per agent, bound to the agent's current source engine, so
``require_recorded_checks: true`` can ask for a passing run of *this* engine.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from . import ledger, model, paths

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import TextIO


class Plan:
    """What ``checks`` would run: the step, its checks in order, the config and where to run them."""

    __slots__ = ("config", "config_path", "source", "target", "checks", "root")

    def __init__(self, config: model.Config, config_path: str, source: str, target: str, checks: list[model.Check], root: Path) -> None:
        self.config = config
        self.config_path = config_path
        self.source = source
        self.target = target
        self.checks = checks
        self.root = root


class Result:
    """One check after ``--run``: its exit code (None: manual), and how long it took."""

    __slots__ = ("check", "code", "seconds")

    def __init__(self, check: model.Check, code: int | None, seconds: float) -> None:
        self.check = check
        self.code = code
        self.seconds = seconds

    @property
    def failed(self) -> bool:
        return self.code not in (None, 0)

    @property
    def verdict(self) -> str:
        return "manual" if self.code is None else ("passed" if self.code == 0 else "failed")


def plan(config_path: str, source: str, target: str) -> Plan:
    from . import views
    from .loader import load_config

    config = load_config(config_path)
    views.select_step(config, source, target)
    promotion = config.promotion_for(source, target)
    found = config.effective_checks(promotion) if promotion else []
    return Plan(config, config_path, source, target, found, repository_root(Path(config_path).resolve().parent))


def repository_root(folder: Path) -> Path:
    """The git checkout's top folder (where `make test` works), else the current folder."""
    try:
        done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return Path.cwd()
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else Path.cwd()


def run(plan: Plan, out: TextIO) -> list[Result]:
    """Run every check's command in order (all of them, even after a failure: the table shows
    each), streaming the output to ``out``."""
    results = []
    for index, check in enumerate(plan.checks, 1):
        if not check.command:
            out.write(f"\n[{index}/{len(plan.checks)}] {check.name}: manual (no command): confirm it yourself\n")
            results.append(Result(check, None, 0.0))
            continue
        out.write(f"\n[{index}/{len(plan.checks)}] {check.name}: $ {check.command}\n")
        out.flush()
        started = time.monotonic()
        try:
            process = subprocess.Popen(check.command, shell=True, cwd=plan.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        except OSError as error:
            out.write(f"could not start: {error}\n")
            results.append(Result(check, 127, time.monotonic() - started))
            continue
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
        out.flush()
        code = process.wait()
        results.append(Result(check, code, time.monotonic() - started))
    return results


def table(results: list[Result]) -> str:
    rows = [("CHECK", "RESULT", "EXIT", "TIME")] + [(r.check.name, r.verdict, "-" if r.code is None else str(r.code), f"{r.seconds:.1f}s") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    passed = len([r for r in results if r.code == 0])
    failed = len([r for r in results if r.failed])
    manual = len([r for r in results if r.code is None])
    lines.append(f"{passed} passed, {failed} failed, {manual} manual")
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """A check's name as a ledger `details` key (lowercase identifier)."""
    key = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "check"
    return key if key[0].isalnum() else f"c{key}"


def record(plan: Plan, results: list[Result], by: str | None, now: str | None) -> list[ledger.Entry]:
    """One ``checks`` entry per agent whose source engine is real, bound to that engine."""
    from .writer import write_files

    folder = Path(paths.ledger_dir(plan.config_path))
    verdict = "failed" if any(r.failed for r in results) else "passed"
    details = {"result": verdict, "from": plan.source, "to": plan.target}
    for index, result in enumerate(results, 1):
        # numbered and prefixed: a check named `Result` or two names that slug alike can't overwrite a key
        details[f"check-{index}-{_key(result.check.name)}"[:63].rstrip("-")] = f"{result.verdict}, exit {'-' if result.code is None else result.code}, {result.seconds:.1f}s"
    commit = ledger.current_commit(folder.parent)
    who = by or ledger.default_by(folder.parent)
    entries = []
    for key, agent in plan.config.agents.items():
        env = agent.environments.get(plan.source)
        if env is None or env.is_placeholder:
            continue
        entries.append(ledger.new_entry(
            agent=key, env=plan.target, action=ledger.Action.CHECKS,
            engine_before=env.engine_id, engine_after=env.engine_id, status_before=env.status, status_after=env.status,
            by=who, commit=commit, details=details, at=now,
        ))  # fmt: skip
    files = []
    for entry in entries:
        text = ledger.render_entry(entry).encode("utf-8")
        ledger.parse_entry(str(folder / entry.key), text)
        files.append((folder / entry.key, text))
    if files:
        write_files(files)
    return entries
