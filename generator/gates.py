"""The gates real promotion systems have, kept in the repository: approvals bound to an engine,
freeze windows, soak time and checks that ran.

For an agent that is otherwise ready on a step A -> B, ``Gates.blockers`` says what still
holds it back, each with the next command; ``Gates.view`` says the same for the pages.

- **Approval** (``manual_approval: true``): a ``promotion approve`` entry in the ledger for the
  agent's *current* A engine. Recording a new A engine voids it.
- **Freeze** (``environments.<B>.freeze``): while a window holds, nothing is promoted into B.
- **Soak** (``promotion.<A>_to_<B>.soak``): A must have been ``validated`` that long, by the
  time of the ledger entry that recorded it.
- **Recorded checks** (``require_recorded_checks: true``): a passing ``promotion checks --run
  --record`` for the current A engine.

Approvals and recorded checks depend on the ledger only, so the pages show them as they are.
Freeze and soak depend on the clock: ``validate``/``path`` apply them at ``now`` (the clock,
``--now`` or ``PROMOTION_NOW``); the pages state the windows and the times ("soaks until ..."),
never "frozen now", so they can't go stale while nobody regenerates them.
"""

from __future__ import annotations

import datetime as dt
import os

from . import model
from .kinds import duration_seconds, duration_words
from .paths import ledger_dir, ledger_names
from .windows import frozen_at, in_zone, iso

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any, Literal

    from . import ledger
    from .model import Agent, AgentEnvironment, Config

# The ledger's reader (``generator/ledger.py``) is imported by the methods that read entries,
# not here: ``validate`` of a config with no ledger folder never needs it (~1 ms).


def now_utc(value: str | None = None) -> dt.datetime:
    """``value`` (ISO-8601 with an offset, as ``--now`` takes it) or the clock, in UTC."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return when.astimezone(dt.UTC)


def _parse_at(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


class Gates:
    """The ledger (its names, and entries parsed on demand) and the time gates are judged at."""

    def __init__(self, folder: str | os.PathLike[str], names: list[ledger.EntryName], now: dt.datetime | None, entries: list[ledger.Entry] | None = None) -> None:
        self.folder = folder
        self.names = names
        self.now = now  # None: the clock is left out (the pages)
        #: entries parsed so far, by file name (``entries``: already loaded, e.g. by generate)
        self._entries: dict[str, ledger.Entry] = {entry.key: entry for entry in entries or ()}
        # Built on the first gate question: validate without a step asks none.
        self._cells: dict[tuple[str, str], list[ledger.EntryName]] | None = None

    @property
    def _by_cell(self) -> dict[tuple[str, str], list[ledger.EntryName]]:
        cells = self._cells
        if cells is None:
            cells = self._cells = {}
            for name in self.names:
                cells.setdefault((name.agent, name.env), []).append(name)
        return cells

    @classmethod
    def for_config(cls, config_path: str | os.PathLike[str], now: dt.datetime | None) -> Gates:
        folder = ledger_dir(config_path)
        return cls(folder, ledger_names(folder), now)

    def entry(self, name: ledger.EntryName) -> ledger.Entry:
        cached = self._entries.get(name.name)
        if cached is None:
            from . import ledger

            path = os.path.join(self.folder, name.name)
            with open(path, "rb") as file:
                cached = self._entries[name.name] = ledger.parse_entry(path, file.read(), name)
        return cached

    def _newest(self, agent: str, env: str, action: Literal["APPROVE", "CHECKS", "RECORD"], engine: str | None) -> list[ledger.EntryName]:
        """The entries of one cell for ``action`` (a ``ledger.Action``'s name: no import here), newest first."""
        found = [n for n in self._by_cell.get((agent, env), []) if n.action.name == action and (engine is None or n.engine == engine)]
        return sorted(found, key=lambda n: (n.at, n.name), reverse=True)

    # --- the four gates -------------------------------------------------------------------

    def approval(self, agent: str, target: str, engine: str | None) -> ledger.Entry | None:
        """The newest approval into ``target`` for the source engine number ``engine``."""
        names = self._newest(agent, target, "APPROVE", engine)
        return self.entry(names[0]) if names else None

    def stale_approval(self, agent: str, target: str) -> ledger.Entry | None:
        """The newest approval into ``target`` for any engine (to say which engine it was for)."""
        names = self._newest(agent, target, "APPROVE", None)
        return self.entry(names[0]) if names else None

    def validated_at(self, agent: str, source: str, engine: str | None) -> dt.datetime | None:
        """When the ledger first recorded ``source`` as validated on its current engine, in the
        run of entries that kept it so (re-recording `validated` does not restart the soak)."""
        since = None
        for name in self._newest(agent, source, "RECORD", engine):
            entry = self.entry(name)
            if entry.status_after != "validated":
                break
            since = _parse_at(entry.at)
            if entry.status_before != "validated" or entry.engine_before_number != entry.engine:
                break
        return since

    def recorded_checks(self, agent: str, target: str, engine: str | None) -> ledger.Entry | None:
        names = self._newest(agent, target, "CHECKS", engine)
        return self.entry(names[0]) if names else None

    def blockers(self, config: Config, agent: Agent, source: str, target: str, src: AgentEnvironment) -> list[tuple[Any, str, str, str]]:
        """(node, field, reason, next step) for every gate that holds ``agent`` back on ``source -> target``:
        located at the source engine (approval, checks), its status (soak) or the freeze window."""
        promotion = config.promotion_for(source, target)
        engine = model.engine_number(src.engine_id)
        out: list[tuple[Any, str, str, str]] = []
        if promotion is not None and promotion.require_recorded_checks:
            run = self.recorded_checks(agent.key, target, engine)
            if run is None or (run.details or {}).get("result") != "passed":
                what = "no recorded run of the checks" if run is None else f"the recorded checks failed ({run.at[:16]}Z)"
                out.append((src, "engine_id", f"{what} for {source} engine `{model.short_engine_id(src.engine_id)}`", f"`promotion checks --from-env {source} --to-env {target} --run --record`"))
        if promotion is not None and promotion.manual_approval:
            given = self.approval(agent.key, target, engine)
            if given is None:
                stale = self.stale_approval(agent.key, target)
                why = f"the approval was for engine `{stale.engine_before}`, not the current `{model.short_engine_id(src.engine_id)}`" if stale is not None else "not approved yet"
                where = f" in {promotion.approval_channel}" if promotion.approval_channel else ""
                out.append((src, "engine_id", f"needs a manual approval{where}: {why}", f"`promotion approve --from-env {source} --to-env {target} --agent {agent.key} --by <who> --link <url>`"))
        if self.now is not None and promotion is not None and promotion.soak:
            since = self.validated_at(agent.key, source, engine)
            if since is None:
                out.append((src, "status", f"soak {duration_words(promotion.soak)}: the ledger has no entry for {source}'s validation", f"record it: `promotion record --agent {agent.key} --env {source} --status validated`, then wait {duration_words(promotion.soak)}"))
            else:
                until = since + dt.timedelta(seconds=duration_seconds(promotion.soak))
                if self.now < until:
                    out.append((src, "status", f"{source} soaks {duration_words(promotion.soak)} since {iso(since)}: until {iso(until)}", f"wait until {iso(until)}"))
        if self.now is not None:
            frozen = frozen_at(list(config.environments[target].freeze), self.now)
            if frozen is not None:
                window, until = frozen
                out.append((window, "", f"{target} is frozen {window.describe()}: until {in_zone(until, window)}", f"wait until {in_zone(until, window)}, or record with `--override-freeze --link <url>`"))
        return out

    def view(self, config: Config, agent: Agent, source: str, target: str) -> dict[str, Any]:
        """The gates of one agent on one step as the pages show them (no clock)."""
        promotion = config.promotion_for(source, target)
        src = agent.environments.get(source)
        engine = model.engine_number(src.engine_id) if src else None
        out: dict[str, Any] = {"approval": None, "soak_until": None, "checks": None}
        if promotion is None or src is None:
            return out
        if promotion.manual_approval:
            given = self.approval(agent.key, target, engine)
            stale = None if given else self.stale_approval(agent.key, target)
            out["approval"] = {
                "given": given is not None,
                "by": given.by if given else None,
                "at": given.at[:16].replace("T", " ") + " UTC" if given else None,
                "link": given.link if given else None,
                "engine": model.short_engine_id(src.engine_id),
                "stale_engine": model.short_engine_id(stale.engine_before) if stale else None,
            }
        if promotion.soak:
            since = self.validated_at(agent.key, source, engine)
            out["soak_until"] = iso(since + dt.timedelta(seconds=duration_seconds(promotion.soak))) if since else None
        if promotion.require_recorded_checks:
            run = self.recorded_checks(agent.key, target, engine)
            out["checks"] = {"recorded": run is not None, "passed": bool(run and (run.details or {}).get("result") == "passed"), "at": run.at[:16].replace("T", " ") + " UTC" if run else None}
        return out
