"""The readiness rule registry: each rule a small function ``config -> violations``.

Rules are data: an ID that never changes, a short name, a title, a severity and a
fix hint. ``promotion rules`` lists them and the docs' reference page is rendered
from this registry, so the docs can't disagree with the code.

Nothing here hard-codes an environment name: the pipeline is whatever order
``environments`` lists in the config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import Enum

from . import lifecycle, model
from .errors import ExitCode, InvalidConfig, Location, NotReady, Problem
from .model import Agent, AgentEnvironment, Config

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any


class Severity(Enum):
    ERROR = "error"  # fails validate and the docs build (exit code from the rule's scope)
    WARNING = "warning"  # printed, never fails


class Scope(Enum):
    CONFIG = "config"  # judges the config alone: checked on every validate and docs build; an error exits 1
    STEP = "step"  # judges a promotion step (validate --from-env/--to-env, the docs gate); an error exits 2
    HISTORY = "history"  # compares the config with the ledger (config/ledger/), when there is one


#: What an error of each scope means for the exit code: a broken config, or a promotion not ready.
EXIT_CODES = {Scope.CONFIG: ExitCode.CONFIG, Scope.STEP: ExitCode.NOT_READY, Scope.HISTORY: ExitCode.CONFIG}


class Violation(Problem):
    """A rule broken at one place of the config."""

    __slots__ = ("rule", "agent", "environment")

    def __init__(self, rule: Rule, location: Location, path: str, message: str, hint: str = "") -> None:
        super().__init__(location, path, message, hint or rule.hint, rule.id)
        self.rule = rule
        self.agent: str | None = None
        self.environment: str | None = None

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["rule"] = self.rule.name
        data["severity"] = self.rule.severity.value
        data["agent"] = self.agent
        data["environment"] = self.environment
        return data

    def format(self, severity: str | None = None) -> str:
        return super().format(severity or self.rule.severity.value)


class Step:
    """A promotion step to judge: two consecutive environments and the agents it covers."""

    __slots__ = ("source", "target", "agents", "gates", "_verdicts")

    def __init__(self, source: str, target: str, agents: list[str], gates: Any = None) -> None:
        self.source = source
        self.target = target
        self.agents = agents
        #: the ledger and the time the gates are judged at (``gates.Gates``); None: no gates
        self.gates = gates
        self._verdicts: dict[str, lifecycle.AgentStep] = {}

    def verdict(self, config: Config, key: str) -> lifecycle.AgentStep:
        """``lifecycle.agent_step`` of the agent ``key`` on this step, judged once: the rule
        and the view printed beside it (``views.step``) read the same verdict."""
        found = self._verdicts.get(key)
        if found is None:
            found = self._verdicts[key] = lifecycle.agent_step(config, config.agents[key], self.source, self.target, self.gates)
        return found


#: A config rule's function gets its rule and the config; a step rule's also the step; a
#: history rule's the ledger's entries (their names: ``ledger.scan``).
Check = Callable[..., Iterable[Violation]]


class Rule:
    __slots__ = ("id", "name", "title", "severity", "hint", "scope", "check", "explanation")

    def __init__(self, id: str, name: str, title: str, severity: Severity, hint: str, scope: Scope, check: Check, explanation: str) -> None:
        self.id = id
        self.name = name
        self.title = title
        self.severity = severity
        self.hint = hint
        self.scope = scope
        self.check = check
        self.explanation = explanation

    @property
    def exit_code(self) -> ExitCode:
        """What an error of this rule exits with (warnings never change the exit code)."""
        return EXIT_CODES[self.scope] if self.severity is Severity.ERROR else ExitCode.OK

    def violation(self, node: model.Node, field: str | None, message: str, hint: str = "") -> Violation:
        location = node.loc(field) if field else node.location
        path = node.field_path(field) if field else node.path
        return Violation(self, location, path, message, hint)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "severity": self.severity.value,
            "scope": self.scope.value,
            "exit_code": int(self.exit_code),
            "hint": self.hint,
            "explanation": self.explanation,
        }


RULES: list[Rule] = []


def rule(id: str, name: str, title: str, hint: str, severity: Severity = Severity.ERROR, scope: Scope = Scope.CONFIG) -> Callable[[Check], Check]:
    """Register a rule. The docstring of the function explains the rule in the docs; the
    function is called with its own Rule first, so it never has to look itself up."""

    def register(check: Check) -> Check:
        explanation = " ".join((check.__doc__ or "").split())
        RULES.append(Rule(id, name, title, severity, hint, scope, check, explanation))
        return check

    return register


def _agent_envs(config: Config) -> Iterator[tuple[Agent, str, AgentEnvironment]]:
    for agent in config.agents.values():
        for env_name in config.environments:
            env = agent.environments.get(env_name)
            if env is not None:
                yield agent, env_name, env


def _tag(violation: Violation, agent: Agent, env_name: str | None) -> Violation:
    violation.agent = agent.key
    violation.environment = env_name
    return violation


# --- the rules --------------------------------------------------------------------------


@rule(
    "PR001",
    "placeholder-needs-pending",
    "A placeholder engine ID may only stand with status `pending`",
    "deploy the agent, put the engine's resource name in `engine_id`, or set `status: pending`",
)
def placeholder_needs_pending(this: Rule, config: Config) -> Iterable[Violation]:
    """An engine ID that still contains `TODO` means nothing is deployed there, so the
    environment can't be `deployed` or `validated`."""
    for agent, env_name, env in _agent_envs(config):
        if env.is_placeholder and env.status != "pending":
            yield _tag(
                this.violation(env, "engine_id", f"engine ID `{env.engine_id}` is a placeholder but status is `{env.status}`"),
                agent,
                env_name,
            )


@rule(
    "PR002",
    "engine-id-format",
    "A real engine ID is a reasoning engine resource name in the environment's project and region",
    "use `projects/<project_id or project_number>/locations/<region>/reasoningEngines/<number>` "
    "(or the bare number), as printed by the deploy",
)
def engine_id_format(this: Rule, config: Config) -> Iterable[Violation]:
    """Every engine ID that is not a placeholder must be a full resource name
    `projects/<project>/locations/<region>/reasoningEngines/<number>` or the bare number.
    The location must equal the environment's `region`, and the project must be its
    `project_id` or `project_number`. `deployed` and `validated` environments therefore
    always point at a real engine."""
    for agent, env_name, env in _agent_envs(config):
        engine_id = env.engine_id
        if env.is_placeholder or model.ENGINE_NUMBER_RE.match(engine_id):
            continue
        match = model.ENGINE_RESOURCE_RE.match(engine_id)
        if match is None:
            yield _tag(this.violation(env, "engine_id", f"`{engine_id}` is not a reasoning engine resource name"), agent, env_name)
            continue
        if match["location"] != env.region:
            yield _tag(
                this.violation(
                    env,
                    "engine_id",
                    f"engine is in location `{match['location']}` but the environment's region is `{env.region}`",
                    f"check that this is the right engine, or set `region: {match['location']}`",
                ),
                agent,
                env_name,
            )
        projects = {env.project_id, env.project_number}
        if match["project"] not in projects:
            yield _tag(
                this.violation(
                    env,
                    "engine_id",
                    f"engine is in project `{match['project']}` but the environment's project is `{env.project_id}`"
                    + (f" (number {env.project_number})" if env.project_number else ""),
                    "check that this is the right engine; if the resource name uses the project number, "
                    "add it as `project_number: \"<digits>\"`",
                ),
                agent,
                env_name,
            )


@rule(
    "PR003",
    "promotion-order",
    "An environment can't be ahead of the one before it",
    "promote in order: the previous environment must be `validated` before this one is `deployed` or `validated`",
)
def promotion_order(this: Rule, config: Config) -> Iterable[Violation]:
    """Agents move through the environments in the order `environments` lists them. An
    environment other than the first may only be `deployed` or `validated` once the
    environment before it is `validated`."""
    order = config.environment_order
    for agent in config.agents.values():
        for previous, current in zip(order, order[1:], strict=False):
            before = agent.environments.get(previous)
            env = agent.environments.get(current)
            if before is None or env is None:
                continue
            if env.status != "pending" and before.status != "validated":
                yield _tag(
                    this.violation(
                        env,
                        "status",
                        f"`{current}` is `{env.status}` while `{previous}` is only `{before.status}`",
                    ),
                    agent,
                    current,
                )


@rule(
    "PR004",
    "unique-engine-id",
    "Each real engine ID is used once",
    "give each agent and environment its own engine; a shared ID is usually a copy-paste accident",
)
def unique_engine_id(this: Rule, config: Config) -> Iterable[Violation]:
    """Two environments or two agents pointing at the same reasoning engine (same number)
    would promote one agent over another. Placeholders are exempt."""
    first: dict[str, tuple[Agent, str, AgentEnvironment]] = {}
    for agent, env_name, env in _agent_envs(config):
        if env.is_placeholder:
            continue
        number = model.engine_number(env.engine_id) or env.engine_id
        seen = first.get(number)
        if seen is None:
            first[number] = (agent, env_name, env)
            continue
        other_agent, other_env_name, other_env = seen
        where = other_env.loc("engine_id")
        yield _tag(
            this.violation(
                env,
                "engine_id",
                f"engine `{number}` is also used by `{other_agent.key}` in `{other_env_name}` (line {where.line})",
            ),
            agent,
            env_name,
        )


@rule(
    "PR005",
    "promotion-pairs",
    "Every consecutive pair of environments has a `promotion` entry, and only those",
    "add `promotion.<from>_to_<to>` for each step of the pipeline; remove entries for other pairs",
)
def promotion_pairs(this: Rule, config: Config) -> Iterable[Violation]:
    """For environments `a, b, c` the config needs `promotion.a_to_b` and
    `promotion.b_to_c`. An entry that names an unknown environment or skips one
    (`a_to_c`) is an error: promotions go one step at a time."""
    expected = {model.pair_key(a, b) for a, b in config.consecutive_pairs()}
    for source, target in config.consecutive_pairs():
        key = model.pair_key(source, target)
        if key not in config.promotion:
            yield this.violation(
                config,
                "promotion",
                f"no promotion entry for `{source}` -> `{target}`",
                f"add `promotion.{key}` with its `required_checks`",
            )
    for key, promotion in config.promotion.items():
        if key in expected:
            continue
        if promotion.source is None:
            problem = f"`{key}` does not name two environments (expected `<from>_to_<to>` with names from `environments`)"
        else:
            problem = f"`{promotion.source}` -> `{promotion.target}` is not a consecutive step of the pipeline"
        yield Violation(this, promotion.location, promotion.path, problem, f"the promotion entries are, in pipeline order: {', '.join(model.pair_key(a, b) for a, b in config.consecutive_pairs()) or '(none)'}")


@rule(
    "PR006",
    "required-checks",
    "Every promotion has at least one required check",
    "list what must pass before promoting under `required_checks`, or inherit them with `inherit_checks_from`",
)
def required_checks(this: Rule, config: Config) -> Iterable[Violation]:
    """A promotion with no checks is a promotion nobody verified. `inherit_checks_from`
    must name an earlier promotion of the pipeline (no cycles)."""
    index = {model.pair_key(a, b): i for i, (a, b) in enumerate(config.consecutive_pairs())}
    for key, promotion in config.promotion.items():
        parent = promotion.inherit_checks_from
        if parent is not None:
            if parent not in config.promotion:
                yield this.violation(promotion, "inherit_checks_from", f"`{parent}` is not a promotion entry", f"use one of: {', '.join(config.promotion)}")
            elif key in index and (parent not in index or index[parent] >= index[key]):
                yield this.violation(promotion, "inherit_checks_from", f"`{parent}` is not an earlier step than `{key}`", "inherit from an earlier promotion only")
        if not config.effective_checks(promotion):
            yield this.violation(promotion, "required_checks", f"`{key}` has no required checks")


@rule(
    "PR007",
    "approval-channel",
    "A manual approval names where to ask for it",
    "add `approval_channel: \"#deployments\"` (or wherever approvals happen)",
)
def approval_channel(this: Rule, config: Config) -> Iterable[Violation]:
    """`manual_approval: true` without an `approval_channel` leaves the operator asking
    who approves. Quote channel names: `#` starts a YAML comment."""
    for promotion in config.promotion.values():
        if promotion.manual_approval and not promotion.approval_channel:
            yield this.violation(promotion, "manual_approval", f"`{promotion.key}` needs manual approval but names no `approval_channel`")


@rule(
    "PR008",
    "agent-environments",
    "Every agent defines every environment, and no other",
    "add the missing environment under the agent's `environments` (status `pending` and a TODO engine ID until deployed)",
)
def agent_environments(this: Rule, config: Config) -> Iterable[Violation]:
    """Each agent lists exactly the environments of the pipeline, so the matrix has no
    holes and no agent is promoted into an environment that does not exist."""
    for agent in config.agents.values():
        for env_name in config.environments:
            if env_name not in agent.environments:
                yield _tag(this.violation(agent, "environments", f"agent `{agent.key}` does not define environment `{env_name}`"), agent, env_name)
        for env_name, env in agent.environments.items():
            if env_name not in config.environments:
                yield _tag(
                    Violation(
                        this,
                        env.location,
                        env.path,
                        f"`{env_name}` is not one of the pipeline's environments ({', '.join(config.environments)})",
                        "remove it, or add it to the top-level `environments`",
                    ),
                    agent,
                    env_name,
                )


@rule(
    "PR009",
    "status-lags-engine",
    "An environment with a real engine ID is marked `deployed`",
    "set `status: deployed` once the engine is deployed (and `validated` once checked)",
    severity=Severity.WARNING,
)
def status_lags_engine(this: Rule, config: Config) -> Iterable[Violation]:
    """A real engine ID with status `pending` usually means the status was not updated
    after the deploy. A warning only: it never fails a build."""
    for agent, env_name, env in _agent_envs(config):
        if env.status == "pending" and not env.is_placeholder:
            yield _tag(this.violation(env, "status", f"engine `{model.short_engine_id(env.engine_id)}` is set but status is still `pending`"), agent, env_name)


@rule(
    "PR010",
    "step-ready",
    "On a promotion step A -> B, every agent is ready, promoted or done",
    "follow the next step given for each blocked agent, then check the step again",
    scope=Scope.STEP,
)
def step_ready(this: Rule, config: Config, step: Step) -> Iterable[Violation]:
    """Checked for a promotion step (`promotion validate --from-env A --to-env B`, the docs
    build's `gate`). An agent is ready once its A engine is real and A is `validated`; B's
    engine may still be a placeholder, since the deploy into B creates it. An agent already
    deployed to B is promoted, and done once B is `validated`. Any other agent is blocked:
    its A engine is a placeholder, or A is only `pending` or `deployed`."""
    for key in step.agents:
        verdict = step.verdict(config, key)
        for blocker in verdict.blockers:
            message = f"`{key}` is blocked on {step.source} -> {step.target}: {blocker.reason}"
            yield _tag(this.violation(blocker.node, blocker.field, message, blocker.next_step), verdict.agent, blocker.env)


@rule(
    "PR011",
    "inherit-checks-key",
    "A step inherits another step's checks with `inherit_checks_from`, not with a check named after it",
    "replace the check with `inherit_checks_from: <step>` on the promotion entry",
    severity=Severity.WARNING,
)
def inherit_checks_key(this: Rule, config: Config) -> Iterable[Violation]:
    """The seed's config writes inheritance as a check named `All dev_to_stage checks`. It is
    read as `inherit_checks_from: dev_to_stage` (the pages list the inherited checks, not
    that line), and this warning asks for the explicit key."""
    for promotion in config.promotion.values():
        legacy = promotion.legacy_inherit
        if legacy is not None:
            yield Violation(
                this,
                legacy.location,
                legacy.path,
                f"check `{legacy.name}` is read as `inherit_checks_from: {promotion.inherit_checks_from}`",
                f"replace it with `inherit_checks_from: {promotion.inherit_checks_from}` under `promotion.{promotion.key}`",
            )


@rule(
    "PR012",
    "ledger-matches-config",
    "The config's engine is the one the ledger last recorded",
    "record deploys with `promotion record` (it edits the config and the ledger together); "
    "if the hand edit is right, record it: `promotion record --agent <agent> --env <env> --engine-id <engine>`",
    severity=Severity.WARNING,
    scope=Scope.HISTORY,
)
def ledger_matches_config(this: Rule, config: Config, history: Sequence[Any]) -> Iterable[Violation]:
    """Checked when `config/ledger/` has entries. An engine that differs from the latest
    `record` or `rollback` entry for that agent and environment was edited by hand and never
    recorded, so the history (and a rollback) would not know it. A config edited by hand
    before any entry exists is fine: its history starts at the first record. A warning only."""
    from .ledger import ENGINE_ACTIONS

    # One pass; the newest per agent and environment. An entry's name starts with its time
    # (fixed width), so the greater name is the newer entry (and of two at the same
    # microsecond, the one with the greater name wins, in any order of ``history``).
    latest: dict[tuple[str, str], Any] = {}
    get = latest.get
    for item in history:
        if item.action in ENGINE_ACTIONS:
            key = (item.agent, item.env)
            seen = get(key)
            if seen is None or item.name > seen.name:
                latest[key] = item
    for (agent_key, env_name), item in latest.items():
        agent = config.agents.get(agent_key)
        env = agent.environments.get(env_name) if agent else None
        if agent is None or env is None:
            continue
        number = model.engine_number(env.engine_id)
        recorded = item.engine
        if number != recorded:
            yield _tag(
                this.violation(
                    env,
                    "engine_id",
                    f"engine `{model.short_engine_id(env.engine_id)}` is not the one the ledger last recorded for `{agent_key}` in `{env_name}` (`{recorded or 'a placeholder'}`, {item.at[:10]}): a hand edit that was never recorded",
                    f"if this engine is right, record it: `promotion record --agent {agent_key} --env {env_name} --engine-id {env.engine_id} --status {env.status}`",
                ),
                agent,
                env_name,
            )


# --- running them -----------------------------------------------------------------------


def run(config: Config, steps: Iterable[Step] = (), history: Sequence[Any] | None = None) -> list[Violation]:
    """Every config rule, every step rule for each of ``steps``, and, given the ledger's
    entries (``history``), every history rule; in file order.

    The one runner: the CLI, ``generate``, the views and the plugin all call it.
    """
    found: list[Violation] = []
    for item in RULES:
        if item.scope is Scope.CONFIG:
            found.extend(item.check(item, config))
        elif item.scope is Scope.HISTORY and history is not None:
            found.extend(item.check(item, config, history))
    for step in steps:
        for item in RULES:
            if item.scope is Scope.STEP:
                found.extend(item.check(item, config, step))
    return in_file_order(found)


def errors(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity is Severity.ERROR]


def exit_code(violations: list[Violation]) -> ExitCode:
    """1 when a config rule fails, else 2 when a step rule fails, else 0."""
    codes = {v.rule.exit_code for v in violations}
    for code in (ExitCode.CONFIG, ExitCode.NOT_READY):
        if code in codes:
            return code
    return ExitCode.OK


def raise_for(violations: list[Violation]) -> None:
    """Raise InvalidConfig (exit 1) or NotReady (exit 2) with the errors among ``violations``."""
    failing = errors(violations)
    code = exit_code(failing)
    if code is ExitCode.CONFIG:
        raise InvalidConfig(failing)
    if code is ExitCode.NOT_READY:
        raise NotReady(in_file_order(failing))


def in_file_order(violations: list[Violation]) -> list[Violation]:
    """Violations sorted by their place in the file, then rule ID: the order every report uses."""
    return sorted(violations, key=lambda v: (v.location.sort_key(), v.code))
