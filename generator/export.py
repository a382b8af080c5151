"""Config -> the engine IDs in the forms other tools read: shell variables, Terraform variables, JSON.

Deploy scripts, smoke tests and Terraform each kept their own copy of the IDs
(``AGENT_ENGINE_ID``, ``AGENT_ENGINE_<AGENT>_<ENV>``, ``bob_agent_engine_id = ...``);
``promotion export`` prints them from the config, so nothing is copied by hand. Some
consumers want the full resource name, some the bare number (they build
``.../reasoningEngines/{id}:query``): every format gives both.

Pure: returns the text; the CLI prints it.
"""

from __future__ import annotations

import re
from enum import Enum

from . import model
from .errors import ConfigError, NotReady, Problem, SelectionError

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any

    from .model import Config


class ExportFormat(Enum):
    ENV = "env"  # NAME=value lines: `source` them, `set -a; . file`, docker --env-file, $GITHUB_ENV
    TFVARS = "tfvars"  # name = "value" lines for a *.tfvars file
    JSON = "json"  # one object with everything


# What may stand unquoted in a shell assignment here: anything else is refused, not quoted.
# (Quoting blindly would hide a config that is wrong.) Resource names, numbers, project IDs
# and regions are all made of these.
_SHELL_SAFE_RE = re.compile(r"^[A-Za-z0-9/_-]+$")
_VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESOURCE_RE = re.compile(r"^projects/[a-z0-9-]+/locations/[a-z0-9-]+/reasoningEngines/[0-9]+$")
_PLAIN_RE = re.compile(r"^[a-z0-9-]+$")

_PLACEHOLDER_HINT = (
    "deploy the agent to the environment and record its engine (`promotion record`), "
    "or export only the agents that are deployed there (--agent NAME)"
)


class ExportedEngine:
    """One agent's engine in the exported environment."""

    __slots__ = ("agent", "resource", "number", "project_id", "location")

    def __init__(self, agent: str, resource: str, number: str, project_id: str, location: str) -> None:
        self.agent = agent
        self.resource = resource
        self.number = number
        self.project_id = project_id
        self.location = location


def env_variable_part(name: str) -> str:
    """An agent key or environment name as part of a variable name: upper case, `-` as `_`."""
    return name.upper().replace("-", "_")


def resolve_engines(config: Config, env: str, agents: list[str]) -> list[ExportedEngine]:
    """The full resource name and number of each agent's engine in ``env``.

    A bare number gets its resource name from the environment's ``project_id`` and
    ``region``. Raises SelectionError (exit 1) for an unknown environment or agent,
    NotReady (exit 2) naming every placeholder among them, ConfigError (exit 1) for an
    engine that is neither (``promotion validate`` reports it as PR002).
    """
    if env not in config.environments:
        raise SelectionError([Problem(config.loc("environments"), "environments", f"no environment `{env}` in the config", f"use one of: {', '.join(config.environments)}", "unknown-environment")])
    placeholders: list[Problem] = []
    invalid: list[Problem] = []
    found: list[ExportedEngine] = []
    for key in agents:
        agent = config.agents.get(key)
        if agent is None:
            raise SelectionError([Problem(config.loc("agents"), "agents", f"no agent `{key}` in the config", f"use one of: {', '.join(config.agents)}, or all", "unknown-agent")])
        where = agent.environments.get(env)
        if where is None:
            invalid.append(Problem(agent.loc("environments"), agent.field_path("environments"), f"`{key}` does not define environment `{env}`", f"add `{env}:` under `{agent.field_path('environments')}` (rule PR008)", "missing"))
            continue
        if where.is_placeholder:
            placeholders.append(
                Problem(
                    where.loc("engine_id"),
                    where.field_path("engine_id"),
                    f"`{key}` in `{env}` still has placeholder engine ID `{where.engine_id}`: there is no engine to export",
                    _PLACEHOLDER_HINT,
                    "placeholder",
                )
            )
            continue
        number = model.engine_number(where.engine_id)
        resource = where.engine_id
        if number is not None and resource == number:
            resource = f"projects/{where.project_id}/locations/{where.region}/reasoningEngines/{number}"
        if number is None or not _RESOURCE_RE.match(resource) or not _PLAIN_RE.match(where.project_id) or not _PLAIN_RE.match(where.region):
            invalid.append(
                Problem(
                    where.loc("engine_id"),
                    where.field_path("engine_id"),
                    f"`{model.short_engine_id(where.engine_id)}` is not a reasoning engine resource name or number that can be exported",
                    "run `promotion validate` (rule PR002) and fix the engine ID",
                    "export-value",
                )
            )
            continue
        found.append(ExportedEngine(key, resource, number, where.project_id, where.region))
    if invalid:
        raise ConfigError(invalid)
    if placeholders:
        raise NotReady(sorted(placeholders, key=lambda p: p.location.sort_key()))
    return found


def export(config: Config, env: str, agents: list[str], fmt: ExportFormat) -> str:
    """The engines of ``agents`` in ``env`` as text in ``fmt``, ending in a newline.

    ``env``: ``AGENT_ENGINE_<AGENT>_<ENV>_RESOURCE`` and ``..._ID`` per agent, and when one
    agent is asked for also ``AGENT_ENGINE_RESOURCE``, ``AGENT_ENGINE_ID``, ``PROJECT_ID`` and
    ``LOCATION``; every value is checked to be safe unquoted in a shell. ``tfvars``:
    ``<agent>_agent_engine_id`` and ``<agent>_agent_engine_resource``. ``json``: the engines
    and the ``env`` format's variables. Raises as :func:`resolve_engines`; also ConfigError
    when two agent keys make the same variable name (``a-b`` and ``a_b``), or a key that
    starts with a digit is exported as Terraform variables (HCL names start with a letter).
    """
    engines = resolve_engines(config, env, agents)
    if fmt is ExportFormat.TFVARS:
        return "".join(f"{name} = \"{value}\"\n" for name, value in _tfvars(config, engines).items())
    variables = _env_variables(config, env, engines)
    if fmt is ExportFormat.ENV:
        return "".join(f"{name}={value}\n" for name, value in variables.items())
    import json

    data: dict[str, Any] = {
        "environment": env,
        "agents": {
            engine.agent: {"engine_id": engine.number, "resource": engine.resource, "project_id": engine.project_id, "location": engine.location}
            for engine in engines
        },
        "variables": variables,
    }
    return json.dumps(data, indent=2) + "\n"


def _env_variables(config: Config, env: str, engines: list[ExportedEngine]) -> dict[str, str]:
    variables: dict[str, str] = {}
    owner: dict[str, str] = {}
    problems: list[Problem] = []
    suffix = env_variable_part(env)
    for engine in engines:
        stem = f"AGENT_ENGINE_{env_variable_part(engine.agent)}_{suffix}"
        if stem in owner:
            problems.append(_collision(config, engine.agent, owner[stem], stem + "_ID"))
            continue
        owner[stem] = engine.agent
        variables[f"{stem}_RESOURCE"] = engine.resource
        variables[f"{stem}_ID"] = engine.number
    if len(engines) == 1:
        only = engines[0]
        variables.update(AGENT_ENGINE_RESOURCE=only.resource, AGENT_ENGINE_ID=only.number, PROJECT_ID=only.project_id, LOCATION=only.location)
    for name, value in variables.items():
        # Every part was checked already; this is the guarantee `source` relies on, kept in one place.
        if not _VARIABLE_RE.match(name) or not _SHELL_SAFE_RE.match(value):
            raise AssertionError(f"unsafe shell assignment {name}={value!r}")  # a bug here, not in the config
    if problems:
        raise ConfigError(problems)
    return variables


def _tfvars(config: Config, engines: list[ExportedEngine]) -> dict[str, str]:
    variables: dict[str, str] = {}
    owner: dict[str, str] = {}
    problems: list[Problem] = []
    for engine in engines:
        stem = engine.agent.replace("-", "_")
        if not _VARIABLE_RE.match(stem):
            problems.append(
                Problem(
                    config.agents[engine.agent].location,
                    config.agents[engine.agent].path,
                    f"agent key `{engine.agent}` starts with a digit, so `{stem}_agent_engine_id` is not a Terraform variable name",
                    "export it in the env or json format, or rename the agent to start with a letter",
                    "export-name",
                )
            )
            continue
        if stem in owner:
            problems.append(_collision(config, engine.agent, owner[stem], f"{stem}_agent_engine_id"))
            continue
        owner[stem] = engine.agent
        variables[f"{stem}_agent_engine_id"] = engine.number
        variables[f"{stem}_agent_engine_resource"] = engine.resource
    if problems:
        raise ConfigError(problems)
    return variables


def _collision(config: Config, agent: str, first: str, variable: str) -> Problem:
    node = config.agents[agent]
    return Problem(
        node.location,
        node.path,
        f"agents `{first}` and `{agent}` both export as `{variable}` (`-` becomes `_`)",
        "export them one at a time (--agent NAME), or rename one of the agents",
        "export-name",
    )
