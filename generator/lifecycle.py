"""The life of one agent across one promotion step A -> B, declared once.

Every edge tells it with these words: the step rule (PR010), ``show``/``path``/``validate``
(text and JSON), the matrix, the step and agent pages, the playbook and the CLAUDE.md
section all take the state, the reasons and the next step from ``agent_step``.

- **blocked**: A can't be promoted from yet (A's engine is a placeholder, or A is not
  ``validated``). The reasons say why and what to do next.
- **ready**: A's engine is real and A is ``validated``. B's engine may still be a
  placeholder: the deploy into B creates it (or updates the engine B already has).
- **promoted**: the deploy into B is recorded (a real engine, ``deployed``). Validate B to
  finish the step.
- **done**: B is ``validated``. The next step is the question.

``promotion validate --from-env A --to-env B`` answers "may we promote now?": exit 0 when
no selected agent is blocked. B's placeholders are never blockers.
"""

from __future__ import annotations

from enum import Enum

from .model import Agent, Config

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any

    from .gates import Gates


class State(Enum):
    BLOCKED = "blocked"
    READY = "ready"
    PROMOTED = "promoted"
    DONE = "done"


#: What each state means, in the words every page and command uses.
MEANING = {
    State.BLOCKED: "can't be promoted yet: the reasons say why and what to do next",
    State.READY: "may be promoted now: the source engine is real and validated; the deploy creates or updates the target engine",
    State.PROMOTED: "deployed to the target and recorded; validate it there to finish the step",
    State.DONE: "validated in the target: this step is finished",
}

#: Step verdicts in order of precedence: one blocked agent blocks the step.
_STEP_ORDER = (State.BLOCKED, State.READY, State.PROMOTED, State.DONE)


class Blocker:
    """Why an agent can't be promoted yet: where in the config, what, and what to do next."""

    __slots__ = ("env", "node", "field", "reason", "next_step")

    def __init__(self, env: str, node: Any, field: str, reason: str, next_step: str) -> None:
        self.env = env
        self.node = node
        self.field = field
        self.reason = reason
        self.next_step = next_step


class AgentStep:
    """One agent on one step: its state, the blockers, and the next thing to do."""

    __slots__ = ("agent", "source", "target", "state", "blockers", "next_step")

    def __init__(self, agent: Agent, source: str, target: str, state: State, blockers: list[Blocker], next_step: str) -> None:
        self.agent = agent
        self.source = source
        self.target = target
        self.state = state
        self.blockers = blockers
        self.next_step = next_step


def record_step(agent: str, env: str) -> str:
    """What an operator does after deploying ``agent`` to ``env``."""
    return f"deploy `{agent}` to `{env}`, then record it: `promotion record --agent {agent} --env {env} --from-deploy-log <log>` (or `--engine-id <resource name>`)"


def validate_step(agent: str, env: str, checks_of: str | None) -> str:
    """What an operator does to mark ``agent`` validated in ``env``."""
    what = f"run the {checks_of} checks against `{env}`" if checks_of else f"verify `{agent}` in `{env}` (see the playbook's monitoring section)"
    return f"{what}, then `promotion record --agent {agent} --env {env} --status validated`"


def _previous(config: Config, env: str) -> str | None:
    order = config.environment_order
    index = order.index(env) if env in order else 0
    return order[index - 1] if index > 0 else None


def _step_label(config: Config, env: str) -> str | None:
    """``A -> B`` for the step leaving ``env`` (whose checks validate it), or None for the last env."""
    order = config.environment_order
    index = order.index(env) if env in order else len(order)
    return f"{env} -> {order[index + 1]}" if index + 1 < len(order) else None


def agent_step(config: Config, agent: Agent, source: str, target: str, gates: Gates | None = None) -> AgentStep:
    """The state of ``agent`` on the step ``source -> target`` (two consecutive environments).

    With ``gates`` (the ledger, and the time to judge freeze and soak at), an agent that would be
    ready is blocked while an approval, a freeze window, a soak time or recorded checks hold it back.
    """
    src = agent.environments.get(source)
    dst = agent.environments.get(target)
    blockers: list[Blocker] = []
    for name, env in ((source, src), (target, dst)):
        if env is None:
            blockers.append(Blocker(name, agent, "environments", f"`{name}` is not defined for `{agent.key}`", f"add `{name}` under `agents.{agent.key}.environments`"))
    if blockers:
        return AgentStep(agent, source, target, State.BLOCKED, blockers, blockers[0].next_step)
    assert src is not None and dst is not None
    if dst.status == "validated" and not dst.is_placeholder:
        following = _step_label(config, target)
        after = f"go on with the {following} step" if following else "the agent is through the pipeline"
        return AgentStep(agent, source, target, State.DONE, [], after)
    if dst.status == "deployed" and not dst.is_placeholder:
        return AgentStep(agent, source, target, State.PROMOTED, [], validate_step(agent.key, target, _step_label(config, target)))
    previous = _previous(config, source)
    if src.is_placeholder:
        if previous is None:
            reason, next_step = f"{source} engine ID is a placeholder", record_step(agent.key, source)
        else:
            reason, next_step = f"not promoted to {source} yet ({source} engine ID is a placeholder)", f"promote `{agent.key}` {previous} -> {source} first"
        blockers.append(Blocker(source, src, "engine_id", reason, next_step))
    elif src.status == "pending":
        blockers.append(Blocker(source, src, "status", f"{source} has an engine but is still `pending`", f"if that engine is deployed: `promotion record --agent {agent.key} --env {source} --status deployed`"))
    elif src.status == "deployed":
        blockers.append(Blocker(source, src, "status", f"{source} is only `deployed`, not `validated`", validate_step(agent.key, source, f"{source} -> {target}")))
    if not blockers and gates is not None:
        blockers = [Blocker(source, node, field, reason, next_step) for node, field, reason, next_step in gates.blockers(config, agent, source, target, src)]
    if blockers:
        return AgentStep(agent, source, target, State.BLOCKED, blockers, blockers[0].next_step)
    return AgentStep(agent, source, target, State.READY, [], record_step(agent.key, target))


def step_state(states: list[State]) -> State:
    """The verdict of a whole step: blocked if any agent is, done when all are, else ready or promoted."""
    present = set(states)
    if State.BLOCKED in present:
        return State.BLOCKED
    if present <= {State.DONE}:
        return State.DONE
    if State.READY in present:
        return State.READY
    return State.PROMOTED


def counts(states: list[State]) -> dict[str, int]:
    """How many agents are in each state, in lifecycle order (every state present, zeros too)."""
    out = {state.value: 0 for state in _STEP_ORDER}
    for state in states:
        out[state.value] += 1
    return out
