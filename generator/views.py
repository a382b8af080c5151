"""Model -> plain data the edges show: the mapping, a promotion step, readiness.

The CLI prints these as text or JSON and the templates render them, so ``promotion
show``/``path`` and the generated pages can't disagree. Values here are plain dicts,
lists, strings, booleans and ints (JSON-ready); nothing here formats text.
"""

from __future__ import annotations

from . import lifecycle, model
from .errors import Problem, SelectionError
from .model import Config

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any


def _unknown(config: Config, key: str, message: str, hint: str, code: str) -> SelectionError:
    """A name on the command line that the config does not have (exit 1), located at ``key``."""
    return SelectionError([Problem(config.loc(key), key, message, hint, code)])


def select_agents(config: Config, name: str | None) -> list[str]:
    """Agent keys for ``--agent NAME|all`` (None means all). Unknown name: SelectionError (exit 1)."""
    if name is None or name == "all":
        return list(config.agents)
    if name not in config.agents:
        raise _unknown(config, "agents", f"no agent `{name}` in the config", f"use one of: {', '.join(config.agents)}, or all", "unknown-agent")
    return [name]


def select_env(config: Config, name: str) -> str:
    """``name`` when it is an environment of the pipeline (else SelectionError, exit 1)."""
    if name not in config.environments:
        raise _unknown(config, "environments", f"no environment `{name}` in the config", f"use one of: {', '.join(config.environment_order)}", "unknown-environment")
    return name


def select_step(config: Config, source: str, target: str) -> tuple[str, str]:
    """Check that ``source -> target`` is one step of the pipeline (else SelectionError, exit 1)."""
    select_env(config, source)
    select_env(config, target)
    steps = config.consecutive_pairs()
    if (source, target) not in steps:
        pipeline = " -> ".join(config.environment_order)
        hint = "promote one step at a time: " + ", ".join(f"--from-env {a} --to-env {b}" for a, b in steps)
        raise _unknown(config, "environments", f"`{source}` -> `{target}` is not one step of the pipeline ({pipeline})", hint, "unknown-step")
    return source, target


def env_row(config: Config, agent: model.Agent, env_name: str, rows: dict[tuple[str, str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """One agent's engine in one environment as the views show it. ``rows``: the rows made so
    far for other views of the same run (the pages show each engine on its agent's page and
    on two step pages: one row, made once)."""
    if rows is not None:
        row = rows.get((agent.key, env_name))
        if row is None:
            row = rows[agent.key, env_name] = env_row(config, agent, env_name)
        return row
    env = agent.environments.get(env_name)
    if env is None:
        return {"environment": env_name, "defined": False}
    return {
        "environment": env_name,
        "defined": True,
        "engine_id": env.engine_id,
        "engine_short": model.short_engine_id(env.engine_id),
        "engine_name": env.engine_name,
        "placeholder": env.is_placeholder,
        "project_id": env.project_id,
        "project_number": env.project_number,
        "region": env.region,
        "status": env.status,
        "app_version": env.app_version or config.app_version,
        "line": env.location.line,
    }


def mapping(config: Config, agents: list[str], rows: dict[tuple[str, str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """What ``promotion show`` prints: every selected agent with its row per environment
    (``rows``: see ``env_row``)."""
    out_agents = []
    placeholders = 0
    total = 0
    for key in agents:
        agent = config.agents[key]
        own = [env_row(config, agent, name, rows) for name in config.environments]
        for row in own:
            if row["defined"]:
                total += 1
                placeholders += row["placeholder"]
        out_agents.append(
            {
                "key": key,
                "display_name": agent.display_name,
                "description": agent.description,
                "agent_dir": agent.agent_dir,
                "environments": own,
            }
        )
    return {
        "config": config.file,
        "schema_version": config.schema_version,
        "app_version": config.app_version,
        "last_updated": config.last_updated,
        "environment_order": config.environment_order,
        "freeze": {name: [w.describe() for w in env.freeze] for name, env in config.environments.items() if env.freeze},
        "agents": out_agents,
        "engines": total,
        "placeholders": placeholders,
    }


_COMPARED = ("engine_id", "status", "app_version", "project_id", "region", "engine_name")


def step(config: Config, source: str, target: str, agents: list[str], gates: Any = None, judged: Any = None, rows: dict[tuple[str, str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """What ``promotion path`` prints: per agent its lifecycle state on the step (with the
    reasons and the next step), source and target, differences; and the step's checks and approval.

    The states come from ``lifecycle.agent_step``, the same function rule PR010 judges
    with, so ``path``, ``validate`` and the pages can't disagree. ``judged`` (a ``rules.Step``
    of the same step, agents and gates) gives the verdicts the rule already reached; ``rows``:
    see ``env_row``.
    """
    promotion = config.promotion_for(source, target)
    checks = config.effective_checks(promotion) if promotion else []
    out_agents = []
    states = []
    for key in agents:
        agent = config.agents[key]
        verdict = judged.verdict(config, key) if judged is not None else lifecycle.agent_step(config, agent, source, target, gates)
        states.append(verdict.state)
        src = env_row(config, agent, source, rows)
        dst = env_row(config, agent, target, rows)
        changes = []
        if src["defined"] and dst["defined"]:
            for field in _COMPARED:
                if src[field] != dst[field]:
                    changes.append({"field": field, "from": src[field], "to": dst[field]})
        out_agents.append(
            {
                "key": key,
                "display_name": agent.display_name,
                "source": src,
                "target": dst,
                "changes": changes,
                "state": verdict.state.value,
                "blockers": [{"environment": b.env, "reason": b.reason, "next_step": b.next_step} for b in verdict.blockers],
                "next_step": verdict.next_step,
                "gates": gates.view(config, agent, source, target) if gates is not None else None,
            }
        )
    return {
        "source": source,
        "target": target,
        "key": model.pair_key(source, target),
        "defined": promotion is not None,
        "checks": [{"name": c.name, "command": c.command} for c in checks],
        "manual_approval": bool(promotion and promotion.manual_approval),
        "approval_channel": promotion.approval_channel if promotion else None,
        "soak": promotion.soak if promotion else None,
        "require_recorded_checks": bool(promotion and promotion.require_recorded_checks),
        "freeze": [{"window": w.describe(), "weekly": w.weekly is not None} for w in config.environments[target].freeze] if target in config.environments else [],
        "agents": out_agents,
        **_verdict(source, target, states),  # source and target again (same values, same place), then the verdict
    }


def step_summary(config: Config, judged: Any) -> dict[str, Any]:
    """The verdict part of ``step`` alone (what ``validate`` prints in text): the step, its
    state and the count of agents in each state, from the verdicts of ``judged`` (a
    ``rules.Step`` whose rule already ran)."""
    return _verdict(judged.source, judged.target, [judged.verdict(config, key).state for key in judged.agents])


def _verdict(source: str, target: str, states: list[lifecycle.State]) -> dict[str, Any]:
    verdict = lifecycle.step_state(states)
    return {
        "source": source,
        "target": target,
        "counts": lifecycle.counts(states),
        "total_agents": len(states),
        "state": verdict.value,
        "ready": verdict is not lifecycle.State.BLOCKED,
    }



def history(config: Config, entries: list[Any]) -> dict[str, Any]:
    """The ledger as the pages show it: every entry (newest first), and per agent and
    environment since when its engine has its status, the engine before it and the exact
    ``promotion rollback`` command (None when the ledger knows no earlier engine)."""
    from . import ledger

    rows = entry_rows(ledger.history(entries))
    cells: dict[str, dict[str, Any]] = {}
    by_cell: dict[tuple[str, str], list[Any]] = {}
    for entry in entries:
        by_cell.setdefault((entry.agent, entry.env), []).append(entry)
    for (agent_key, env_name), items in by_cell.items():
        agent = config.agents.get(agent_key)
        env = agent.environments.get(env_name) if agent else None
        if env is None:
            continue
        changes = [e for e in items if e.action in ledger.ENGINE_ACTIONS]
        latest = max(changes, key=lambda e: (e.at, e.key)) if changes else None
        current = latest is not None and latest.engine == model.engine_number(env.engine_id) and latest.status_after == env.status
        earlier = ledger.previous_engines(items, agent_key, env_name, env.engine_id)
        previous = earlier[0] if earlier else None
        cells[f"{agent_key}/{env_name}"] = {
            "since": latest.at[:10] if current and latest else None,
            "previous": None if previous is None else {"engine": previous.engine, "short": model.short_engine_id(previous.engine), "since": previous.since[:10] if previous.since else None, "until": previous.until[:10] if previous.until else None},
            "rollback": None if previous is None else f"promotion rollback --agent {agent_key} --env {env_name}",
        }
    return {"entries": rows, "cells": cells}


def entry_rows(entries: list[Any]) -> list[dict[str, Any]]:
    """Ledger entries as plain rows, in the order given: ``promotion history`` and the pages show these."""
    return [
        {
            "at": e.at, "date": e.at[:10], "when": f"{e.at[:10]} {e.at[11:16]}", "agent": e.agent, "env": e.env, "action": e.action.value,
            "engine_before": e.engine_before, "engine_after": e.engine_after,
            "engine_before_short": model.short_engine_id(e.engine_before), "engine_after_short": model.short_engine_id(e.engine_after),
            "status_before": e.status_before, "status_after": e.status_after,
            "by": e.by, "link": e.link, "commit": e.commit, "file": e.key,
        }
        for e in entries
    ]  # fmt: skip
