"""Model -> plain data the edges show: the mapping, a promotion step, readiness.

The CLI prints these as text or JSON and the templates render them, so ``promotion
show``/``path`` and the generated pages can't disagree. Values here are plain dicts,
lists, strings, booleans and ints (JSON-ready); nothing here formats text.
"""

from __future__ import annotations

from . import model, rules
from .errors import Problem, SelectionError
from .model import Config

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any


def select_agents(config: Config, name: str | None) -> list[str]:
    """Agent keys for ``--agent NAME|all`` (None means all). Unknown name: SelectionError (exit 1)."""
    if name is None or name == "all":
        return list(config.agents)
    if name not in config.agents:
        raise SelectionError(
            [
                Problem(
                    config.loc("agents"),
                    "agents",
                    f"no agent `{name}` in the config",
                    f"use one of: {', '.join(config.agents)}, or all",
                    "unknown-agent",
                )
            ]
        )
    return [name]


def select_step(config: Config, source: str, target: str) -> tuple[str, str]:
    """Check that ``source -> target`` is one step of the pipeline (else SelectionError, exit 1)."""
    order = config.environment_order
    for name in (source, target):
        if name not in config.environments:
            raise SelectionError(
                [
                    Problem(
                        config.loc("environments"),
                        "environments",
                        f"no environment `{name}` in the config",
                        f"use one of: {', '.join(order)}",
                        "unknown-environment",
                    )
                ]
            )
    steps = config.consecutive_pairs()
    if (source, target) not in steps:
        pipeline = " -> ".join(order)
        raise SelectionError(
            [
                Problem(
                    config.loc("environments"),
                    "environments",
                    f"`{source}` -> `{target}` is not one step of the pipeline ({pipeline})",
                    "promote one step at a time: " + ", ".join(f"--from-env {a} --to-env {b}" for a, b in steps),
                    "unknown-step",
                )
            ]
        )
    return source, target


def env_row(config: Config, agent: model.Agent, env_name: str) -> dict[str, Any]:
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


def mapping(config: Config, agents: list[str]) -> dict[str, Any]:
    """What ``promotion show`` prints: every selected agent with its row per environment."""
    out_agents = []
    placeholders = 0
    total = 0
    for key in agents:
        agent = config.agents[key]
        rows = [env_row(config, agent, name) for name in config.environments]
        for row in rows:
            if row["defined"]:
                total += 1
                placeholders += row["placeholder"]
        out_agents.append(
            {
                "key": key,
                "display_name": agent.display_name,
                "description": agent.description,
                "directory": agent.directory,
                "environments": rows,
            }
        )
    return {
        "config": config.file,
        "schema_version": config.schema_version,
        "app_version": config.app_version,
        "last_updated": config.last_updated,
        "environment_order": config.environment_order,
        "agents": out_agents,
        "engines": total,
        "placeholders": placeholders,
    }


_COMPARED = ("engine_id", "status", "app_version", "project_id", "region", "engine_name")


def step(config: Config, source: str, target: str, agents: list[str]) -> dict[str, Any]:
    """What ``promotion path`` prints: per agent source and target, differences, blockers;
    and the step's checks and approval."""
    promotion = config.promotion_for(source, target)
    checks = config.effective_checks(promotion) if promotion else []
    # Readiness is rule PR010 itself, so `path`, the pages and `validate` can't disagree.
    flagged: dict[str, set[str]] = {}
    for v in rules.placeholders_on_path(config, source, target, agents):
        flagged.setdefault(v.agent or "", set()).add(v.environment or "")
    out_agents = []
    placeholder_count = 0
    ready_count = 0
    for key in agents:
        agent = config.agents[key]
        src = env_row(config, agent, source)
        dst = env_row(config, agent, target)
        changes = []
        if src["defined"] and dst["defined"]:
            for field in _COMPARED:
                if src[field] != dst[field]:
                    changes.append({"field": field, "from": src[field], "to": dst[field]})
        placeholders = [name for name in (source, target) if name in flagged.get(key, ())]
        placeholder_count += len(placeholders)
        blockers = [f"{name} engine ID is a placeholder" for name in placeholders]
        notes = []
        if src.get("defined") and src.get("status") != "validated":
            notes.append(f"{source} is {src['status']}: validate it there before promoting")
        ready = not placeholders
        ready_count += ready
        out_agents.append(
            {
                "key": key,
                "display_name": agent.display_name,
                "source": src,
                "target": dst,
                "changes": changes,
                "placeholders": placeholders,
                "blockers": blockers,
                "notes": notes,
                "ready": ready,
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
        "agents": out_agents,
        "ready_agents": ready_count,
        "total_agents": len(out_agents),
        "placeholders": placeholder_count,
        "ready": placeholder_count == 0,
    }


def violation_dict(v: rules.Violation) -> dict[str, Any]:
    data = v.to_dict()
    data["agent"] = v.agent
    data["environment"] = v.environment
    return data
