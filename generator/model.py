"""The typed config model: the single source of truth for the config's shape.

Each key of the config is declared once, on its class, as a kind of value
(``generator/kinds.py``) with its doc, default and example::

    class AgentEnvironment(Node, schema_name="agentEnvironment"):
        region: str = Pattern(REGION_PATTERN, "Agent Engine location.", example="us-central1")

The class gets its ``__slots__`` and its ``KIND`` (the object kind the loader walks with)
from those declarations. The loader, the JSON Schema (``promotion schema``,
``config/*.schema.json``) and the reference page in the docs all read them. Nothing else
describes the shape of the config.

The classes are plain ``__slots__`` classes rather than dataclasses: ``validate`` runs
on every commit and ``import dataclasses`` alone costs ~20 ms there.
"""

from __future__ import annotations

import re

from .errors import Location, Span
from .kinds import (
    Bool,
    Choice,
    CommitTemplate,
    Date,
    Duration,
    Kind,
    List,
    Map,
    Object,
    Pattern,
    Shorthand,
    String,
    Supported,
    WebUrlOrPath,
)
from .windows import FreezeWindow, Window

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any, ClassVar

#: Schema versions this code reads. A config with another version is refused.
SUPPORTED_SCHEMA_VERSIONS = ("1.0.0",)

#: Statuses in promotion order: an environment can only move right.
STATUSES = ("pending", "deployed", "validated")

#: Environment names also make promotion keys (`a_to_b`) and pages (`a-to-b.md`): with `x`,
#: `a-to-b`, `x-to-a`, `b` two steps would share one page, so `-to-`/`_to_` are refused.
#: (Every map key is also a safe identifier: kinds.IDENTIFIER_PATTERN, not a reserved name.)
ENVIRONMENT_NAME_PATTERN = r"^(?!.*(?:-to-|_to_))[a-z0-9][a-z0-9_-]{0,62}$"
_ENV_NAME_RULE = "contains `-to-` or `_to_`, which makes promotion keys and page names ambiguous"

PROJECT_ID_PATTERN = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
PROJECT_NUMBER_PATTERN = r"^[0-9]{1,20}$"
REGION_PATTERN = r"^[a-z]+-[a-z]+[0-9]+$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$"

SCHEMA_ID = "https://agent-engine-promotion.dev/schema/agent_engine_envs.schema.json"

#: The commit message of a config update, after the seed's convention (a config's `commit_message` replaces it).
DEFAULT_COMMIT_MESSAGE = "config: update {agent} {env} engine ID after deployment"


class _Declared(type):
    """Makes a model class from its declarations: each class attribute that is a Kind is a
    key of the config (named after the attribute); it and every annotated name become the
    class's ``__slots__``, and ``cls.KIND`` is the object kind of the class.

    Class keywords: ``schema_name`` (the class's name under ``$defs`` in the JSON Schema)
    and ``shorthand`` (the key whose value may stand alone, as a plain string, for the
    whole object).
    """

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], *, schema_name: str | None = None, shorthand: str | None = None) -> _Declared:
        declared = {attr: value for attr, value in namespace.items() if isinstance(value, Kind)}
        for attr, kind in declared.items():
            assert not kind.name, f"{name}.{attr}: a declaration belongs to one key (it is already `{kind.name}`)"
            kind.name = attr
            del namespace[attr]  # a slot of that name takes its place
        if "__slots__" not in namespace:
            namespace["__slots__"] = tuple(dict.fromkeys([*namespace.get("__annotations__", {}), *declared]))
        cls: Any = super().__new__(mcs, name, bases, namespace)
        parent = getattr(cls, "KIND", None)
        fields = (*(parent.fields if parent is not None else ()), *declared.values())
        if shorthand is None:
            cls.KIND = Object(cls, fields, schema_name)
        else:
            cls.KIND = Shorthand(cls, fields, schema_name, short=shorthand)
        return cls


class Node(metaclass=_Declared):
    """Base of model objects: the location of the object and of each of its values."""

    __slots__ = ("location", "path", "locations", "_source")
    #: how the loader reads the class, the schema states it and the reference lists its keys
    KIND: ClassVar[Object]

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



class Check(Node, schema_name="check", shorthand="name"):
    """A check that must pass before the promotion: a plain name, or a name and the command that proves it."""

    name: str = String("What must be true, e.g. `Unit tests passing`.", example="Unit tests passing")
    command: str | None = String("The command that proves it, printed in the playbook.", default=None, example="make test")


class EnvironmentInfo(Node, schema_name="environment"):
    """An environment of the pipeline. The order of `environments` is the promotion order."""

    key: str
    purpose: str = String("What the environment is for.", example='"Development and testing"', former=("description",))
    auto_deploy: bool = Bool("Whether merges deploy here automatically.", default=False)
    monitoring: str = String("Monitoring level after a promotion, e.g. `basic`, `enhanced`, `full`.", example="basic")
    freeze: list[Window] = List(
        FreezeWindow(), "Freeze windows: while one holds, nothing is promoted into this environment "
        "(`record` needs `--override-freeze --link URL`).", default=(),
    )  # fmt: skip
    alerting: bool = Bool("Whether alerts page someone for this environment.", default=False)
    monitoring_notes: list[str] | None = List(
        String("One thing to check after a promotion."),
        "What to check after a promotion into this environment, in the config's words; the playbook lists them.",
        default=None, example='["Check Cloud Run logs"]',
    )  # fmt: skip
    watch_for: str | None = Duration("How long to watch the environment after a promotion, e.g. `1h`, `24h`.", default=None, example="24h")


class AgentEnvironment(Node, schema_name="agentEnvironment"):
    """Where an agent runs in one environment."""

    key: str
    project_id: str = Pattern(PROJECT_ID_PATTERN, "Google Cloud project ID.", example="bobs-brain-dev")
    project_number: str | None = Pattern(
        PROJECT_NUMBER_PATTERN, "Google Cloud project number (digits, quoted). Resource names may use it instead of the ID.", default=None
    )
    region: str = Pattern(REGION_PATTERN, "Agent Engine location.", example="us-central1")
    engine_id: str = String(
        "Reasoning engine: `projects/<project>/locations/<region>/reasoningEngines/<number>`, "
        "the bare number, or a placeholder containing `TODO` while not deployed.",
        example="TODO-SET-DEV-ENGINE-ID",
    )
    engine_name: str | None = String("Display name of the reasoning engine.", default=None, example="bobs-brain-dev")
    status: str = Choice(STATUSES, "Deployment status.", example="pending")
    app_version: str | None = Pattern(VERSION_PATTERN, "App version deployed here, if it differs from the top-level `app_version`.", default=None)

    @property
    def is_placeholder(self) -> bool:
        return is_placeholder(self.engine_id)


class Agent(Node, schema_name="agent"):
    """An agent and the engine it runs on in each environment."""

    key: str
    display_name: str = String("Human name of the agent.", example="Bob's Brain")
    description: str = String("What the agent does.")
    agent_dir: str = String("Where the agent's code lives in the repository.", example='"agents/bob"', former=("directory",))
    environments: dict[str, AgentEnvironment] = Map(
        AgentEnvironment, "One entry per environment, keyed by environment name.",
        min_items=1, key_doc="environment name", key_pattern=ENVIRONMENT_NAME_PATTERN, key_rule=_ENV_NAME_RULE,
    )  # fmt: skip


class Promotion(Node, schema_name="promotion"):
    """Requirements for promoting from one environment to the next. Keyed `<from>_to_<to>`."""

    key: str
    required_checks: list[Check] = List(Check, "Checks that must pass before promoting.")
    inherit_checks_from: str | None = Pattern(
        r"^[a-z0-9_-]+$", "Key of an earlier promotion whose checks also apply (listed first).", default=None, example="dev_to_stage"
    )
    manual_approval: bool = Bool("Whether a person must approve the promotion.", default=False)
    approval_channel: str | None = String("Where approval is asked for, e.g. `#deployments`.", default=None, example="#deployments")
    soak: str | None = Duration("How long the source environment must have been `validated` (by the ledger's time) before promoting, e.g. `24h`.", default=None, example="24h")
    require_recorded_checks: bool = Bool("Whether ready needs a passing `promotion checks --run --record` for the source engine.", default=False)
    #: filled by the loader when the key names two known environments
    source: str | None
    target: str | None
    #: the seed's way of inheriting: a check named `All <step> checks` (read as inherit_checks_from)
    legacy_inherit: Check | None


class Link(Node, schema_name="link"):
    """A related document: a web page, or a file in the repository."""

    title: str = String("What the document is.", example="Promotion helper script")
    url: str = WebUrlOrPath(
        "An http(s) URL (linked) or a path in the repository (shown as code).", example="scripts/promote_agent_engine_config.py"
    )


class Config(Node):
    """Agent Engine promotion config: which engine runs each agent in each environment."""

    file: str
    schema_version: str = Supported(
        SUPPORTED_SCHEMA_VERSIONS, "Version of this config format. Supported: " + ", ".join(SUPPORTED_SCHEMA_VERSIONS) + ".", example='"1.0.0"'
    )
    app_version: str = Pattern(VERSION_PATTERN, "Version of the app being promoted.", example='"0.14.1"')
    last_updated: str = Date("Date of the last edit (YYYY-MM-DD). Generated pages show it.", example="2025-12-11")  # ISO text
    environments: dict[str, EnvironmentInfo] = Map(
        EnvironmentInfo, "The environments, in promotion order.",
        min_items=1, key_doc="environment name", key_pattern=ENVIRONMENT_NAME_PATTERN, key_rule=_ENV_NAME_RULE,
    )  # fmt: skip
    agents: dict[str, Agent] = Map(Agent, "The agents, keyed by a short identifier (used in file names).", min_items=1, key_doc="agent key")
    promotion: dict[str, Promotion] = Map(Promotion, "One entry per consecutive pair of environments.", key_doc="<from>_to_<to>")
    links: list[Link] | None = List(Link, "Related documents, listed at the end of the playbook and in the CLAUDE.md section.", default=None)
    commit_message: str = CommitTemplate(
        "The commit message of a config update; `{agent}` and `{env}` are replaced.", default=DEFAULT_COMMIT_MESSAGE
    )

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
LEGACY_INHERIT = r"^All (?P<step>[a-z0-9_-]+) checks$"  # rarely met: `re` compiles it on first use


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
