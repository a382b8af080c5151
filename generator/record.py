"""``promotion record`` and ``promotion rollback``: a deploy writes the config, the ledger keeps itself.

One core for both commands: under a lock, read the config as bytes, edit only the engine,
the status and ``last_updated`` in place (``yamledit``: every other byte stays), load and
check the result with every rule, and only then write the config and one new ledger entry
(``ledger``) together. A refused edit writes nothing. The CLI prints what this returns.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import ledger, model, paths, rules
from .errors import Location, Problem, SelectionError, UsageError

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any

#: The commit message a config update gets, after the seed's convention. A config may set its own.
DEFAULT_COMMIT_MESSAGE = model.DEFAULT_COMMIT_MESSAGE
LOCK_NAME = ".lock"


class Change:
    """What ``record``/``rollback`` asks for: which agent and environment, the new engine
    (None: keep it) and status, who, why, and the date ``last_updated`` gets."""

    __slots__ = ("agent", "env", "engine", "status", "by", "link", "date", "action", "now", "override_freeze")

    def __init__(
        self,
        agent: str,
        env: str,
        engine: str | None,
        status: str,
        by: str | None = None,
        link: str | None = None,
        date: str | None = None,
        action: ledger.Action = ledger.Action.RECORD,
        now: str | None = None,
        override_freeze: bool = False,
    ) -> None:
        self.agent = agent
        self.env = env
        self.engine = engine
        self.status = status
        self.by = by
        self.link = link
        self.date = date
        self.action = action
        self.now = now  # UTC ISO-8601 with microseconds and Z (tests, --now); None: the clock
        self.override_freeze = override_freeze


class Recorded:
    """The outcome: the config's old and new bytes, the ledger entry, the rules' warnings, and
    the config's ``commit_message`` template (so the caller need not load the config again)."""

    __slots__ = ("display", "old", "new", "entry", "entry_text", "warnings", "commit_template")

    def __init__(self, display: str, old: bytes, new: bytes, entry: ledger.Entry, entry_text: str, warnings: list[rules.Violation], commit_template: str | None) -> None:
        self.display = display
        self.old = old
        self.new = new
        self.entry = entry
        self.entry_text = entry_text
        self.warnings = warnings
        self.commit_template = commit_template

    def diff(self) -> str:
        import difflib

        old = self.old.decode("utf-8", errors="replace").splitlines(keepends=True)
        new = self.new.decode("utf-8", errors="replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a/{self.display}", f"b/{self.display}"))


def record(config_path: str, change: Change, *, display: str | None = None, dry_run: bool = False) -> Recorded:
    """Edit the config for ``change`` and add its ledger entry (unless ``dry_run``).

    Raises ConfigError/InvalidConfig (exit 1) when the config or the edited config is wrong
    (nothing written), SelectionError for an unknown agent or environment.
    """
    path = Path(config_path)
    folder = Path(paths.ledger_dir(path))
    with _locked(folder, dry_run):
        # Read under the lock: a record that waited for another one sees its edit.
        from .loader import load_config_bytes, read_config_bytes

        shown = display or config_path
        names = ledger.scan(folder)  # a ledger validate would refuse (a stray file) is refused here too
        old = read_config_bytes(config_path)
        config = load_config_bytes(shown, old, spans=True)
        result = _edit(config, shown, old, change, folder, names)
        if not dry_run:
            from .writer import write_files

            write_files([(path, result.new), (folder / result.entry.key, result.entry_text.encode("utf-8"))])
        return result


def rollback_target(config_path: str, agent: str, env: str, to_engine: str | None, *, display: str | None = None) -> str:
    """The engine a rollback puts back: the one that ran before the current one, or
    ``to_engine`` when it is an earlier engine of that agent and env in the ledger (exit 1 else)."""
    from .loader import load_config

    config = load_config(config_path, display=display)
    current = _env(config, agent, env)
    entries = ledger.load_entries(paths.ledger_dir(config_path))
    earlier = ledger.previous_engines(entries, agent, env, current.engine_id)
    where = current.loc("engine_id")
    if not earlier:
        raise SelectionError([Problem(where, current.field_path("engine_id"), f"the ledger has no engine of `{agent}` in `{env}` before the current one", "nothing to roll back to: record the engine you want with `promotion record --engine-id ...`", "no-history")])
    if to_engine is None:
        return earlier[0].engine
    wanted = model.engine_number(to_engine) or to_engine
    for item in earlier:
        if item.number == wanted:
            return item.engine
    known = ", ".join(item.number for item in earlier)
    raise SelectionError([Problem(where, current.field_path("engine_id"), f"engine `{to_engine}` did not run `{agent}` in `{env}` before (earlier engines: {known})", "pick one of the earlier engines, or record a new one with `promotion record`", "no-history")])


def commit_message(agent: str, env: str, template: str | None = None) -> str:
    """The commit message for a config update: the config's ``commit_message`` or the seed's convention."""
    return (template or DEFAULT_COMMIT_MESSAGE).replace("{agent}", agent).replace("{env}", env)


def next_step(message: str) -> str:
    """What to run after recording: regenerate the docs, then commit config, ledger and docs together."""
    return f"next: `make docs` (promotion generate), then `git add -A config site-docs CLAUDE.md && git commit -m \"{message}\"`"


def _edit(config: model.Config, display: str, old: bytes, change: Change, folder: Path, names: list[ledger.EntryName]) -> Recorded:
    from . import yamledit

    env = _env(config, change.agent, change.env)
    engine = change.engine if change.engine is not None else env.engine_id
    edits = [(env.span("status"), change.status)]
    if change.engine is not None:
        edits.append((env.span("engine_id"), engine))
    today = change.date or _today(change.now)
    if config.last_updated != today:
        edits.append((config.span("last_updated"), today))
    engine_before, status_before = env.engine_id, env.status  # the edit below may change ``config`` in place
    new, edited = yamledit.edit_config(display, old, edits, config=config)
    violations = rules.run(edited)
    rules.raise_for(violations)
    deploys = change.engine is not None or (change.status == "deployed" and status_before == "pending")
    if deploys and change.action is ledger.Action.RECORD:
        _gate_the_deploy(config, change, folder, names)  # its locations are the file's as it is on disk
    return _finish(display, old, new, change, folder, engine, engine_before, status_before, violations, edited.commit_message)


def _finish(
    display: str, old: bytes, new: bytes, change: Change, folder: Path, engine: str, engine_before: str, status_before: str,
    violations: list[rules.Violation], commit_template: str | None,
) -> Recorded:
    """The ledger entry for an edit that passed, checked to read back; the outcome."""
    entry = ledger.new_entry(
        agent=change.agent,
        env=change.env,
        action=change.action,
        engine_before=engine_before,
        engine_after=engine,
        status_before=status_before,
        status_after=change.status,
        by=change.by or ledger.default_by(folder.parent),
        link=change.link,
        commit=ledger.current_commit(folder.parent),
        override_freeze=change.override_freeze,
        at=change.now,
    )
    text = ledger.render_entry(entry)
    ledger.parse_entry(str(folder / entry.key), text.encode("utf-8"))  # refuses what would not read back
    warnings = [v for v in violations if v.severity is rules.Severity.WARNING]
    return Recorded(display, old, new, entry, text, warnings, commit_template)


def _gate_the_deploy(config: model.Config, change: Change, folder: Path, names: list[ledger.EntryName]) -> None:
    """A deploy into B on a step that needs an approval needs one for the agent's current A
    engine; a deploy into a frozen environment needs ``--override-freeze --link``. Else NotReady (exit 2)."""
    from .errors import NotReady
    from .gates import Gates, now_utc
    from .windows import frozen_at, in_zone

    order = config.environment_order
    index = order.index(change.env)
    problems = []
    now = now_utc(change.now)
    if index > 0:
        source = order[index - 1]
        promotion = config.promotion_for(source, change.env)
        src = config.agents[change.agent].environments.get(source)
        if promotion is not None and promotion.manual_approval and src is not None:
            gates = Gates(folder, names, now)
            if gates.approval(change.agent, change.env, model.engine_number(src.engine_id)) is None:
                problems.append(Problem(src.loc("engine_id"), src.field_path("engine_id"), f"`{source}` -> `{change.env}` needs a manual approval for `{change.agent}`'s {source} engine `{model.short_engine_id(src.engine_id)}`, and the ledger has none (a --link is not an approval)", f"`promotion approve --from-env {source} --to-env {change.env} --agent {change.agent} --by <who> --link <url>`, then record again", "approval"))
    frozen = frozen_at(list(config.environments[change.env].freeze), now)
    if frozen is not None and not change.override_freeze:
        window, until = frozen
        problems.append(Problem(window.location, window.path, f"`{change.env}` is frozen {window.describe()}: until {in_zone(until, window)}", "wait until then, or record with `--override-freeze --link <url of the approval to break the freeze>`", "freeze"))
    if problems:
        raise NotReady(problems)


def _env(config: model.Config, agent: str, env: str) -> model.AgentEnvironment:
    from . import views

    views.select_agents(config, agent)
    views.select_env(config, env)
    found = config.agents[agent].environments.get(env)
    if found is None:
        raise SelectionError([Problem(config.agents[agent].loc("environments"), f"agents.{agent}.environments", f"agent `{agent}` does not define environment `{env}`", "add it to the config first", "unknown-environment")])
    return found


def _today(now: str | None) -> str:
    import datetime

    if now is not None:
        return now[:10]
    return datetime.datetime.now(datetime.UTC).date().isoformat()


class _locked:
    """An exclusive lock on the ledger folder's lock file for the whole read-edit-write:
    two deploy jobs finishing together both land, the second on top of the first."""

    def __init__(self, folder: Path, dry_run: bool) -> None:
        self.folder = folder
        self.dry_run = dry_run
        self.fd: int | None = None

    def __enter__(self) -> _locked:
        if self.dry_run:
            return self
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks; the atomic writes still hold
            return self
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as error:
            from .errors import WriteRefused

            raise WriteRefused([Problem(Location(str(self.folder), 1, 1), "", f"cannot lock the ledger folder: {error.strerror or error}", "check that the config's folder is writable", "io")]) from error
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock


def parse_status(value: str | None, engine_given: bool) -> str:
    """``--status``: default ``deployed`` with an engine; without one it must be given."""
    if value is None:
        if not engine_given:
            raise UsageError("promotion record: give --engine-id or --from-deploy-log, or --status to move the status on")
        return "deployed"
    if value not in model.STATUSES:
        raise UsageError(f"promotion record: --status must be one of {', '.join(model.STATUSES)}")
    return value


def approve(config_path: str, source: str, target: str, agent: str, by: str, link: str | None, now: str | None) -> tuple[list[ledger.Entry], list[Problem]]:
    """One ``approve`` entry per selected agent, bound to its current ``source`` engine.

    An agent whose source engine is still a placeholder can't be approved (nothing to bind
    the approval to): NotReady (exit 2), nothing written; with ``all``, those agents are
    skipped (returned as problems to report) unless none can be approved.
    """
    from . import views
    from .errors import NotReady
    from .loader import load_config

    config = load_config(config_path)
    views.select_step(config, source, target)
    keys = views.select_agents(config, agent)
    folder = Path(paths.ledger_dir(config_path))
    problems = []
    entries = []
    for key in keys:
        env = config.agents[key].environments.get(source)
        if env is None:
            continue
        if env.is_placeholder:
            problems.append(Problem(env.loc("engine_id"), env.field_path("engine_id"), f"`{key}` has no engine in `{source}` yet: there is nothing to approve", f"deploy and record it first: `promotion record --agent {key} --env {source} --from-deploy-log <log>`", "placeholder"))
            continue
        entries.append(ledger.new_entry(
            agent=key, env=target, action=ledger.Action.APPROVE,
            engine_before=env.engine_id, engine_after=env.engine_id, status_before=env.status, status_after=env.status,
            by=by, link=link, commit=ledger.current_commit(folder.parent), details={"from": source, "to": target}, at=now,
        ))  # fmt: skip
    if problems and (agent != "all" or not entries):
        raise NotReady(problems)  # `--agent all` approves the agents that have an engine, and fails only when none has
    from .writer import write_files

    with _locked(folder, False):
        files = []
        for entry in entries:
            text = ledger.render_entry(entry)
            ledger.parse_entry(str(folder / entry.key), text.encode("utf-8"))
            files.append((folder / entry.key, text.encode("utf-8")))
        write_files(files)
    return entries, problems
