"""The readiness rule registry: each rule a small function ``config -> violations``.

Rules are data: an ID that never changes, a short name, a title, a severity and a
fix hint. ``promotion rules`` lists them and the docs' reference page is rendered
from this registry, so the docs can't disagree with the code.

Nothing here hard-codes an environment name: the pipeline is whatever order
``environments`` lists in the config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import Enum

from . import model
from .errors import Location, Problem
from .model import Agent, AgentEnvironment, Config


class Severity(Enum):
    ERROR = "error"  # fails validate (exit 2) and the docs build
    WARNING = "warning"  # printed, never fails


class Scope(Enum):
    CONFIG = "config"  # checked on every validate and every docs build
    PROMOTION = "promotion"  # checked for a promotion path (validate --from-env/--to-env, the docs gate)


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
        return data

    def format(self, severity: str | None = None) -> str:
        return super().format(severity or self.rule.severity.value)


Check = Callable[[Config], Iterable[Violation]]


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

    def violation(self, node: model.Node, field: str | None, message: str, hint: str = "") -> Violation:
        location = node.loc(field) if field else node.location
        path = node.field_path(field) if field else node.path
        return Violation(self, location, path, message, hint)

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "severity": self.severity.value,
            "scope": self.scope.value,
            "hint": self.hint,
            "explanation": self.explanation,
        }


RULES: list[Rule] = []


def rule(id: str, name: str, title: str, hint: str, severity: Severity = Severity.ERROR, scope: Scope = Scope.CONFIG) -> Callable[[Check], Check]:
    """Register a rule. The docstring of the function explains the rule in the docs."""

    def register(check: Check) -> Check:
        explanation = " ".join((check.__doc__ or "").split())
        RULES.append(Rule(id, name, title, severity, hint, scope, check, explanation))
        return check

    return register


def rule_by_id(rule_id: str) -> Rule:
    for item in RULES:
        if item.id == rule_id:
            return item
    raise KeyError(rule_id)


def _this(check_name: str) -> Rule:
    for item in RULES:
        if item.check.__name__ == check_name:
            return item
    raise KeyError(check_name)


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
def placeholder_needs_pending(config: Config) -> Iterable[Violation]:
    """An engine ID that still contains `TODO` means nothing is deployed there, so the
    environment can't be `deployed` or `validated`."""
    this = _this("placeholder_needs_pending")
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
def engine_id_format(config: Config) -> Iterable[Violation]:
    """Every engine ID that is not a placeholder must be a full resource name
    `projects/<project>/locations/<region>/reasoningEngines/<number>` or the bare number.
    The location must equal the environment's `region`, and the project must be its
    `project_id` or `project_number`. `deployed` and `validated` environments therefore
    always point at a real engine."""
    this = _this("engine_id_format")
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


_RANK = {status: index for index, status in enumerate(model.STATUSES)}


@rule(
    "PR003",
    "promotion-order",
    "An environment can't be ahead of the one before it",
    "promote in order: the previous environment must be `validated` before this one is `deployed` or `validated`",
)
def promotion_order(config: Config) -> Iterable[Violation]:
    """Agents move through the environments in the order `environments` lists them. An
    environment other than the first may only be `deployed` or `validated` once the
    environment before it is `validated`."""
    this = _this("promotion_order")
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
def unique_engine_id(config: Config) -> Iterable[Violation]:
    """Two environments or two agents pointing at the same reasoning engine (same number)
    would promote one agent over another. Placeholders are exempt."""
    this = _this("unique_engine_id")
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
def promotion_pairs(config: Config) -> Iterable[Violation]:
    """For environments `a, b, c` the config needs `promotion.a_to_b` and
    `promotion.b_to_c`. An entry that names an unknown environment or skips one
    (`a_to_c`) is an error: promotions go one step at a time."""
    this = _this("promotion_pairs")
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
        yield Violation(this, promotion.location, promotion.path, problem, f"the promotion entries are: {', '.join(sorted(expected)) or '(none)'}")


@rule(
    "PR006",
    "required-checks",
    "Every promotion has at least one required check",
    "list what must pass before promoting under `required_checks`, or inherit them with `inherit_checks_from`",
)
def required_checks(config: Config) -> Iterable[Violation]:
    """A promotion with no checks is a promotion nobody verified. `inherit_checks_from`
    must name an earlier promotion of the pipeline (no cycles)."""
    this = _this("required_checks")
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
def approval_channel(config: Config) -> Iterable[Violation]:
    """`manual_approval: true` without an `approval_channel` leaves the operator asking
    who approves. Quote channel names: `#` starts a YAML comment."""
    this = _this("approval_channel")
    for promotion in config.promotion.values():
        if promotion.manual_approval and not promotion.approval_channel:
            yield this.violation(promotion, "manual_approval", f"`{promotion.key}` needs manual approval but names no `approval_channel`")


@rule(
    "PR008",
    "agent-environments",
    "Every agent defines every environment, and no other",
    "add the missing environment under the agent's `environments` (status `pending` and a TODO engine ID until deployed)",
)
def agent_environments(config: Config) -> Iterable[Violation]:
    """Each agent lists exactly the environments of the pipeline, so the matrix has no
    holes and no agent is promoted into an environment that does not exist."""
    this = _this("agent_environments")
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
def status_lags_engine(config: Config) -> Iterable[Violation]:
    """A real engine ID with status `pending` usually means the status was not updated
    after the deploy. A warning only: it never fails a build."""
    this = _this("status_lags_engine")
    for agent, env_name, env in _agent_envs(config):
        if env.status == "pending" and not env.is_placeholder:
            yield _tag(this.violation(env, "status", f"engine `{model.short_engine_id(env.engine_id)}` is set but status is still `pending`"), agent, env_name)


@rule(
    "PR010",
    "promotion-engines-set",
    "Before a promotion, both engines of every agent are configured",
    "deploy the agent to the environment, take the engine's resource name from the deploy output, "
    "put it in `engine_id` and set `status: deployed`",
    scope=Scope.PROMOTION,
)
def promotion_engines_set(config: Config) -> Iterable[Violation]:
    """Checked for a promotion path (`promotion validate --from-env A --to-env B`, the
    docs build's `gate`): the source and target engine of each selected agent must not
    be placeholders."""
    return ()  # needs a path: see check_promotion


# --- running them -----------------------------------------------------------------------


def check_config(config: Config) -> list[Violation]:
    """Every config-scope rule over the whole config, sorted by position in the file."""
    found: list[Violation] = []
    for item in RULES:
        if item.scope is Scope.CONFIG:
            found.extend(item.check(config))
    return in_file_order(found)


def placeholders_on_path(config: Config, source: str, target: str, agents: list[str]) -> list[Violation]:
    """PR010 for one promotion step: a violation per placeholder engine on either side."""
    this = rule_by_id("PR010")
    found: list[Violation] = []
    for key in agents:
        agent = config.agents[key]
        for env_name in (source, target):
            env = agent.environments.get(env_name)
            if env is not None and env.is_placeholder:
                found.append(
                    _tag(this.violation(env, "engine_id", f"`{key}` in `{env_name}` still has placeholder engine ID `{env.engine_id}`"), agent, env_name)
                )
    return in_file_order(found)


def errors(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity is Severity.ERROR]


def in_file_order(violations: list[Violation]) -> list[Violation]:
    """Violations sorted by their place in the file, then rule ID: the order every report uses."""
    return sorted(violations, key=lambda v: (v.location.sort_key(), v.code))
