"""The typed config model: the single source of truth for the config's shape.

The model is declared once, as data (``Spec`` objects below). The loader walks YAML
nodes against it, the JSON Schema (``promotion schema``, ``config/*.schema.json``) is
produced from it, and the reference page in the docs is rendered from it. Nothing
else describes the shape of the config.

The classes are plain ``__slots__`` classes rather than dataclasses: ``validate`` runs
on every commit and ``import dataclasses`` alone costs ~20 ms there.
"""

from __future__ import annotations

import re

from .errors import Location, Span

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any

#: Schema versions this code reads. A config with another version is refused.
SUPPORTED_SCHEMA_VERSIONS = ("1.0.0",)

#: Statuses in promotion order: an environment can only move right.
STATUSES = ("pending", "deployed", "validated")

#: Agent keys and environment names become file names and URLs: keep them boring.
IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)
#: Environment names also make promotion keys (`a_to_b`) and pages (`a-to-b.md`): with `x`,
#: `a-to-b`, `x-to-a`, `b` two steps would share one page, so `-to-`/`_to_` are refused.
ENVIRONMENT_NAME_PATTERN = r"^(?!.*(?:-to-|_to_))[a-z0-9][a-z0-9_-]{0,62}$"
_ENV_NAME_RULE = "contains `-to-` or `_to_`, which makes promotion keys and page names ambiguous"
#: Names Windows refuses as file names, whatever the extension or case.
RESERVED_NAMES = frozenset(
    ["con", "prn", "aux", "nul", "index"]
    + [f"com{i}" for i in range(10)]
    + [f"lpt{i}" for i in range(10)]
)

PROJECT_ID_PATTERN = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
PROJECT_NUMBER_PATTERN = r"^[0-9]{1,20}$"
REGION_PATTERN = r"^[a-z]+-[a-z]+[0-9]+$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$"

SCHEMA_ID = "https://agent-engine-promotion.dev/schema/agent_engine_envs.schema.json"


class Spec:
    """How one value is typed. ``kind`` is one of: str, bool, date, object, map, list, check."""

    __slots__ = ("kind", "doc", "pattern", "enum", "fields", "values", "items", "min_items", "key_doc", "key_pattern", "key_rule")

    def __init__(
        self,
        kind: str,
        doc: str = "",
        *,
        pattern: str | None = None,
        enum: tuple[str, ...] | None = None,
        fields: tuple[Field, ...] = (),
        values: Spec | None = None,
        items: Spec | None = None,
        min_items: int = 0,
        key_doc: str = "",
        key_pattern: str | None = None,
        key_rule: str = "",
    ) -> None:
        self.kind = kind
        self.doc = doc
        self.pattern = pattern
        self.enum = enum
        self.fields = fields
        self.values = values
        self.items = items
        self.min_items = min_items
        self.key_doc = key_doc
        #: for maps: a pattern keys must match beyond the safe-identifier one, and why
        self.key_pattern = key_pattern
        self.key_rule = key_rule


class Field:
    """One key of an object: its name, its spec, whether it must be there, an example."""

    __slots__ = ("name", "spec", "required", "default", "example", "former")

    def __init__(
        self, name: str, spec: Spec, required: bool = True, default: Any = None, example: str = "", former: tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.spec = spec
        self.required = required
        self.default = default
        self.example = example
        #: names this key had in earlier drafts of the format: a config using one is told the new name
        self.former = former


def _str(doc: str, **kw: Any) -> Spec:
    return Spec("str", doc, **kw)


CHECK_SPEC = Spec(
    "check",
    "A check that must pass before the promotion: a plain name, or a name and the command that proves it.",
    fields=(
        Field("name", _str("What must be true, e.g. `Unit tests passing`."), example="Unit tests passing"),
        Field("command", _str("The command that proves it, printed in the playbook."), required=False, example="make test"),
    ),
)

ENVIRONMENT_SPEC = Spec(
    "object",
    "An environment of the pipeline. The order of `environments` is the promotion order.",
    fields=(
        Field("purpose", _str("What the environment is for."), example='"Development and testing"', former=("description",)),
        Field("auto_deploy", Spec("bool", "Whether merges deploy here automatically."), required=False, default=False),
        Field("monitoring", _str("Monitoring level after a promotion, e.g. `basic`, `enhanced`, `full`."), example="basic"),
        Field("alerting", Spec("bool", "Whether alerts page someone for this environment."), required=False, default=False),
    ),
)

AGENT_ENV_SPEC = Spec(
    "object",
    "Where an agent runs in one environment.",
    fields=(
        Field("project_id", _str("Google Cloud project ID.", pattern=PROJECT_ID_PATTERN), example="bobs-brain-dev"),
        Field(
            "project_number",
            _str("Google Cloud project number (digits, quoted). Resource names may use it instead of the ID.", pattern=PROJECT_NUMBER_PATTERN),
            required=False,
        ),
        Field("region", _str("Agent Engine location.", pattern=REGION_PATTERN), example="us-central1"),
        Field(
            "engine_id",
            _str(
                "Reasoning engine: `projects/<project>/locations/<region>/reasoningEngines/<number>`, "
                "the bare number, or a placeholder containing `TODO` while not deployed."
            ),
            example="TODO-SET-DEV-ENGINE-ID",
        ),
        Field("engine_name", _str("Display name of the reasoning engine."), required=False, example="bobs-brain-dev"),
        Field("status", _str("Deployment status.", enum=STATUSES), example="pending"),
        Field("app_version", _str("App version deployed here, if it differs from the top-level `app_version`.", pattern=VERSION_PATTERN), required=False),
    ),
)

AGENT_SPEC = Spec(
    "object",
    "An agent and the engine it runs on in each environment.",
    fields=(
        Field("display_name", _str("Human name of the agent."), example="Bob's Brain"),
        Field("description", _str("What the agent does.")),
        Field("agent_dir", _str("Where the agent's code lives in the repository."), example='"agents/bob"', former=("directory",)),
        Field(
            "environments",
            Spec("map", "One entry per environment, keyed by environment name.", values=AGENT_ENV_SPEC, min_items=1, key_doc="environment name",
                 key_pattern=ENVIRONMENT_NAME_PATTERN, key_rule=_ENV_NAME_RULE),
        ),
    ),
)

PROMOTION_SPEC = Spec(
    "object",
    "Requirements for promoting from one environment to the next. Keyed `<from>_to_<to>`.",
    fields=(
        Field(
            "required_checks",
            Spec("list", "Checks that must pass before promoting.", items=CHECK_SPEC),
        ),
        Field(
            "inherit_checks_from",
            _str("Key of an earlier promotion whose checks also apply (listed first).", pattern=r"^[a-z0-9_-]+$"),
            required=False,
            example="dev_to_stage",
        ),
        Field("manual_approval", Spec("bool", "Whether a person must approve the promotion."), required=False, default=False),
        Field("approval_channel", _str("Where approval is asked for, e.g. `#deployments`."), required=False, example="#deployments"),
    ),
)

CONFIG_SPEC = Spec(
    "object",
    "Agent Engine promotion config: which engine runs each agent in each environment.",
    fields=(
        Field(
            "schema_version",
            _str("Version of this config format. Supported: " + ", ".join(SUPPORTED_SCHEMA_VERSIONS) + ".", enum=SUPPORTED_SCHEMA_VERSIONS),
            example='"1.0.0"',
        ),
        Field("app_version", _str("Version of the app being promoted.", pattern=VERSION_PATTERN), example='"0.14.1"'),
        Field("last_updated", Spec("date", "Date of the last edit (YYYY-MM-DD). Generated pages show it."), example="2025-12-11"),
        Field(
            "environments",
            Spec("map", "The environments, in promotion order.", values=ENVIRONMENT_SPEC, min_items=1, key_doc="environment name",
                 key_pattern=ENVIRONMENT_NAME_PATTERN, key_rule=_ENV_NAME_RULE),
        ),
        Field(
            "agents",
            Spec("map", "The agents, keyed by a short identifier (used in file names).", values=AGENT_SPEC, min_items=1, key_doc="agent key"),
        ),
        Field(
            "promotion",
            Spec("map", "One entry per consecutive pair of environments.", values=PROMOTION_SPEC, key_doc="<from>_to_<to>"),
        ),
    ),
)


# --- the typed objects the loader builds ------------------------------------------------


class Node:
    """Base of model objects: the location of the object and of each of its values."""

    __slots__ = ("location", "path", "locations", "_source")

    def __init__(self, location: Location, path: str, source: Any = None) -> None:
        self.location = location
        self.path = path
        #: field name -> the YAML node of its value, as the loader stored it (or a Location).
        #: A Location is made from it on demand: most values are never asked where they are.
        self.locations: dict[str, Any] = {}
        #: the loader's map back to the source text (``load_config(..., spans=True)``), else None
        self._source = source

    def loc(self, field: str) -> Location:
        """Where ``field``'s value is (the object's own location if the field is absent)."""
        where = self.locations.get(field)
        if where is None:
            return self.location
        if where.__class__ is Location:
            return where  # type: ignore[no-any-return]
        mark = getattr(where, "start_mark", where)  # a YAML node, or a bare mark
        return Location(self.location.file, mark.line + 1, mark.column + 1)

    def span(self, field: str) -> Span:
        """The exact source text of ``field``'s scalar value: byte offsets, line, column,
        quoting style, and whether it is shared through an anchor.

        Needs a config loaded with ``spans=True``. Raises KeyError when the field is not
        written in the file (its default applies) and ValueError when its value is not a
        scalar (a mapping or list).
        """
        if self._source is None:
            raise ValueError("spans are kept only for a config loaded with spans=True")
        return self._source.span(self, field)  # type: ignore[no-any-return]

    def field_path(self, field: str) -> str:
        return f"{self.path}.{field}" if self.path else field


class Check(Node):
    __slots__ = ("name", "command")

    name: str
    command: str | None


class EnvironmentInfo(Node):
    __slots__ = ("key", "purpose", "auto_deploy", "monitoring", "alerting")

    key: str
    purpose: str
    auto_deploy: bool
    monitoring: str
    alerting: bool


class AgentEnvironment(Node):
    __slots__ = ("key", "project_id", "project_number", "region", "engine_id", "engine_name", "status", "app_version")

    key: str
    project_id: str
    project_number: str | None
    region: str
    engine_id: str
    engine_name: str | None
    status: str
    app_version: str | None

    @property
    def is_placeholder(self) -> bool:
        return is_placeholder(self.engine_id)


class Agent(Node):
    __slots__ = ("key", "display_name", "description", "agent_dir", "environments")

    key: str
    display_name: str
    description: str
    agent_dir: str
    environments: dict[str, AgentEnvironment]


class Promotion(Node):
    __slots__ = ("key", "required_checks", "inherit_checks_from", "manual_approval", "approval_channel", "source", "target", "legacy_inherit")

    key: str
    required_checks: list[Check]
    inherit_checks_from: str | None
    manual_approval: bool
    approval_channel: str | None
    #: filled by the loader when the key names two known environments
    source: str | None
    target: str | None
    #: the seed's way of inheriting: a check named `All <step> checks` (read as inherit_checks_from)
    legacy_inherit: Check | None


class Config(Node):
    __slots__ = ("file", "schema_version", "app_version", "last_updated", "environments", "agents", "promotion")

    file: str
    schema_version: str
    app_version: str
    last_updated: str  # ISO date, YYYY-MM-DD
    environments: dict[str, EnvironmentInfo]
    agents: dict[str, Agent]
    promotion: dict[str, Promotion]

    @property
    def environment_order(self) -> list[str]:
        return list(self.environments)

    def consecutive_pairs(self) -> list[tuple[str, str]]:
        order = self.environment_order
        return list(zip(order, order[1:], strict=False))

    def promotion_for(self, source: str, target: str) -> Promotion | None:
        return self.promotion.get(pair_key(source, target))

    def effective_checks(self, promotion: Promotion) -> list[Check]:
        """The checks of a promotion, inherited ones first (cycles are cut, and reported by rules)."""
        seen: set[str] = set()
        chain: list[Promotion] = []
        current: Promotion | None = promotion
        while current is not None and current.key not in seen:
            seen.add(current.key)
            chain.append(current)
            parent = current.inherit_checks_from
            current = self.promotion.get(parent) if parent else None
        checks: list[Check] = []
        names: set[str] = set()
        for item in reversed(chain):
            for check in item.required_checks:
                if check.name not in names:
                    names.add(check.name)
                    checks.append(check)
        return checks


PLACEHOLDER_MARK = "TODO"


def is_placeholder(engine_id: str) -> bool:
    """An engine ID is a placeholder while it contains TODO (any case)."""
    return PLACEHOLDER_MARK in engine_id.upper()


#: How the seed's config writes inheritance: a check named after the step it inherits from.
LEGACY_INHERIT_RE = re.compile(r"^All (?P<step>[a-z0-9_-]+) checks$")


def pair_key(source: str, target: str) -> str:
    """The key of the promotion entry between two environments."""
    return f"{source}_to_{target}"


ENGINE_RESOURCE_RE = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/reasoningEngines/(?P<number>[0-9]+)$"
)
ENGINE_NUMBER_RE = re.compile(r"^[0-9]+$")


def engine_number(engine_id: str) -> str | None:
    """The numeric reasoning engine ID of a full resource name or bare number, else None."""
    if ENGINE_NUMBER_RE.match(engine_id):
        return engine_id
    match = ENGINE_RESOURCE_RE.match(engine_id)
    return match.group("number") if match else None


def short_engine_id(engine_id: str) -> str:
    """The part worth showing in a narrow table cell: the number, or the placeholder itself."""
    return engine_number(engine_id) or engine_id
