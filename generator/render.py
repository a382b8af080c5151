"""The Jinja environment and model -> {page path: Markdown text}.

Config text is data, never markup. Every ``{{ }}`` goes through ``finalize``, which
turns each ASCII character that is not a letter, digit, space or tab into a numeric
entity and newlines into ``<br>`` (see RESEARCH.md: the one escaper that held against
28 hostile strings through 20 Markdown extensions). Templates opt out only through
the filters below, each of which escapes for its own context and returns ``Markup``.
Templates run in Jinja's sandbox with ``StrictUndefined``: a typo fails loudly.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from . import lifecycle, model, rules, schema, views
from .errors import Location, Problem, TemplateError
from .model import Config
from .paths import builtin_templates_dir
from .text import plural

_SAFE_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t")
_VERBATIM_RE = re.compile(r"^[A-Za-z0-9 ._/-]*$")
# Plain values (paths, project IDs, `make check-drift`) are left readable so generated
# pages diff well. They hold only letters, digits, space and `._/-`, and none of the
# sequences some Markdown extension turns into markup: `--`/`...` (smarty), fractions
# and `c/o` (smartsymbols), `_` at a word edge (emphasis), a list marker at the start.
_PLAIN_RE = re.compile(r"^[A-Za-z0-9 ./_-]*$")
_PLAIN_TRAPS = re.compile(r"--|\.\.|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|[0-9]/[0-9]|[cC]/[oO]|^\s*[0-9]+[.)](\s|$)|^\s*-|^\s|\s$|\s\s")


@lru_cache(maxsize=1 << 16)  # statuses, regions, names repeat across thousands of cells
def is_plain(text: str) -> bool:
    """True when ``text`` renders as itself in any Markdown context without escaping."""
    return bool(_PLAIN_RE.match(text)) and not _PLAIN_TRAPS.search(text)


@lru_cache(maxsize=1 << 16)
def md_escape(text: str) -> str:
    """Escape text for any Markdown context outside code: table cells, lists, headings, attributes.

    Every ASCII character that is not a letter, digit, space or tab becomes a numeric
    entity and a newline becomes ``<br>``; plain values (``is_plain``) are returned as is.
    """
    if is_plain(text):
        return text
    return _entities(text, "<br>")


def attr_escape(text: str) -> str:
    """Escape text for a double-quoted HTML attribute value (a tooltip): as ``md_escape``,
    but a newline becomes ``&#10;`` (a ``<br>`` would show literally in the tooltip)."""
    if is_plain(text):
        return text
    return _entities(text, "&#10;")


def _entities(text: str, newline: str) -> str:
    out = []
    for char in text:
        if char in _SAFE_ASCII or ord(char) > 127:
            out.append(char)
        elif char == "\n":
            out.append(newline)
        elif char == "\r":
            continue
        else:
            out.append(f"&#{ord(char)};")
    return "".join(out)


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    return md_escape(str(value))


def code(value: Any) -> Markup:
    """Inline code: backticks for plain values, else ``<code>`` with escaped content
    (entities inside backticks would show literally)."""
    text = str(value)
    if is_plain(text) and text:
        return Markup(f"`{text}`")
    return Markup(f"<code>{md_escape(text)}</code>")


def code_title(value: Any, title: Any) -> Markup:
    """Inline code showing a short form, with the full value in a tooltip (``title`` attribute)."""
    return Markup(f'<code title="{attr_escape(str(title))}">{md_escape(str(value))}</code>')


def attr_value(value: Any) -> Markup:
    """Text for inside a double-quoted HTML attribute written in a template (``title="{{ x|attr_value }}"``)."""
    return Markup(attr_escape(str(value)))


def code_spans(value: Any) -> Markup:
    """Documentation text written in the code (rule titles, schema descriptions), where
    backticks mark code: each `` `span` `` becomes ``<code>`` and everything is escaped.
    Unbalanced backticks are shown as they are."""
    parts = str(value).split("`")
    if len(parts) % 2 == 0:
        return Markup(md_escape(str(value)))
    return Markup("".join(md_escape(part) if i % 2 == 0 else f"<code>{md_escape(part)}</code>" for i, part in enumerate(parts)))


def verbatim(value: Any) -> Markup:
    """A value used where escaping is impossible (inside a fenced code block or a Mermaid graph).

    Only values the model already restricts (identifiers, project IDs, regions) are used
    there; anything else is refused rather than escaped wrongly.
    """
    text = str(value)
    if not _VERBATIM_RE.match(text):
        raise ValueError(f"value {text!r} can't be placed in a code block safely")
    return Markup(text)


def status_badge(status: str) -> Markup:
    """Status as colour plus a word (never colour alone)."""
    if status not in model.STATUSES:
        raise ValueError(f"unknown status {status!r}")
    return Markup(f'<span class="promo-badge promo-status-{status}">{status}</span>')


def state_badge(state: str) -> Markup:
    """A lifecycle state (blocked, ready, promoted, done) as colour plus its word."""
    if state not in _STATES:
        raise ValueError(f"unknown lifecycle state {state!r}")
    return Markup(f'<span class="promo-badge promo-state promo-state-{state}">{state}</span>')


_STATES = frozenset(s.value for s in lifecycle.State)


def make_environment(templates_dir: str | None = None) -> SandboxedEnvironment:
    """The sandboxed, strict environment; a team's ``--templates DIR`` is searched first."""
    searchpath = [str(Path(templates_dir))] if templates_dir else []
    searchpath.append(str(builtin_templates_dir()))
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(searchpath),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        code=code,
        code_title=code_title,
        attr_value=attr_value,
        code_spans=code_spans,
        verbatim=verbatim,
        status_badge=status_badge,
        state_badge=state_badge,
        plural=plural,
        pair_slug=pair_slug,
    )
    return env


def pair_slug(source: str, target: str) -> str:
    return f"{source}-to-{target}"


class RenderedPage:
    """One page rendered to memory: its path under the docs folder, template and text."""

    __slots__ = ("path", "template", "body")

    def __init__(self, path: str, template: str, body: str) -> None:
        self.path = path
        self.template = template
        self.body = body


def build_context(config: Config, config_display: str, violations: list[rules.Violation], docs_dir: str = "site-docs") -> dict[str, Any]:
    """Everything the templates see. Plain data: views of the model, the rules, the schema.

    ``config_display`` and ``docs_dir`` are paths as pages show them (relative to the project root).
    """
    agents = list(config.agents)
    steps = [views.step(config, a, b, agents) for a, b in config.consecutive_pairs()]
    for item in steps:
        item["slug"] = pair_slug(item["source"], item["target"])
    warnings_by_cell: dict[tuple[str, str], list[str]] = {}
    for v in violations:
        if v.agent and v.environment:
            warnings_by_cell.setdefault((v.agent, v.environment), []).append(f"{v.code}: {v.message}")
    show = views.mapping(config, agents)
    # One lookup table per step: searching each step's agent list per agent is quadratic.
    by_key = [{entry["key"]: entry for entry in item["agents"]} for item in steps]
    for agent in show["agents"]:
        for row in agent["environments"]:
            row["warnings"] = warnings_by_cell.get((agent["key"], row["environment"]), [])
            row["readiness"] = "placeholder" if row.get("placeholder") else ("warning" if row["warnings"] else "ready")
        agent["steps"] = [_agent_step(s, by_key[i][agent["key"]]) for i, s in enumerate(steps)]
    first_agent = show["agents"][0]
    example_env = first_agent["environments"][0]
    return {
        "config_path": config_display,
        "docs_dir": docs_dir,
        "schema_version": config.schema_version,
        "app_version": config.app_version,
        "last_updated": config.last_updated,
        "environments": [
            {
                "name": e.key,
                "index": i,
                "purpose": e.purpose,
                "auto_deploy": e.auto_deploy,
                "monitoring": e.monitoring,
                "alerting": e.alerting,
            }
            for i, e in enumerate(config.environments.values())
        ],
        "environment_order": config.environment_order,
        "agents": show["agents"],
        "engines": show["engines"],
        "placeholders": show["placeholders"],
        "steps": steps,
        "lifecycle": [{"state": s.value, "meaning": lifecycle.MEANING[s]} for s in lifecycle.State],
        "example": {"agent": first_agent["key"], "environment": example_env["environment"], "project_id": example_env["project_id"], "region": example_env["region"]},
        "rules": [r.to_dict() for r in rules.RULES],
        "schema_rows": schema.reference_rows(),
        "warnings": [v.to_dict() for v in violations],
    }


def _agent_step(item: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """One promotion step as seen from one agent's page (``entry``: the agent's row of the step).

    The step's ``source``/``target`` (environment names) win over the agent entry's
    ``source``/``target`` (its environment rows), which stay reachable as ``*_row``.
    """
    return {
        **entry,
        "source": item["source"],
        "target": item["target"],
        "slug": item["slug"],
        "source_row": entry["source"],
        "target_row": entry["target"],
    }


#: (template, output path) of the pages rendered once
SINGLE_PAGES = (
    ("playbook.md.j2", "playbook.md"),
    ("matrix.md.j2", "matrix.md"),
    ("promotions_index.md.j2", "promotions/index.md"),
    ("agents_index.md.j2", "agents/index.md"),
    ("rules.md.j2", "reference/rules.md"),
    ("config_schema.md.j2", "reference/config-schema.md"),
)
STEP_TEMPLATE = "promotion.md.j2"
AGENT_TEMPLATE = "agent.md.j2"
CLAUDE_TEMPLATE = "claude_section.md.j2"


def render_pages(env: SandboxedEnvironment, context: dict[str, Any]) -> list[RenderedPage]:
    """Every generated page, in a stable order."""
    pages = [RenderedPage(out, name, _render(env, name, context)) for name, out in SINGLE_PAGES]
    for item in context["steps"]:
        pages.append(RenderedPage(f"promotions/{item['slug']}.md", STEP_TEMPLATE, _render(env, STEP_TEMPLATE, {**context, "step": item})))
    for agent in context["agents"]:
        pages.append(RenderedPage(f"agents/{agent['key']}.md", AGENT_TEMPLATE, _render(env, AGENT_TEMPLATE, {**context, "agent": agent})))
    return pages


def render_claude_section(env: SandboxedEnvironment, context: dict[str, Any]) -> str:
    return _render(env, CLAUDE_TEMPLATE, context)


def _render(env: SandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            Problem(Location(exc.filename or name, exc.lineno or 1, 1), "", f"template syntax error: {exc.message}", "fix the template", "template")
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            Problem(Location(str(exc.name), 1, 1), "", "template not found", f"restore it in {builtin_templates_dir()} or your --templates folder", "template")
        ) from None
    except (jinja2.UndefinedError, jinja2.exceptions.SecurityError, ValueError, TypeError) as exc:
        file, line = _template_position(exc, name)
        raise TemplateError(Problem(Location(file, line, 1), "", f"template error: {exc}", "fix the template; the variables it can use are built by build_context in generator/render.py", "template")) from None


def _template_position(exc: BaseException, name: str) -> tuple[str, int]:
    """The template file and line where rendering failed (Jinja puts them in the traceback)."""
    file, line = name, 1
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            file, line = filename, tb.tb_lineno
        tb = tb.tb_next
    return file, line
