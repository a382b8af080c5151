"""The page registry: every generated page declared once.

Each entry says where the page goes, which template renders it, its title in the site's
nav, the nav section it belongs to, and whether it is one page, one per agent or one per
promotion step. The renderer renders exactly these pages and the mkdocs plugin builds its
nav from them, so the two can't disagree. Adding a page is one entry here plus its template.

No Jinja2 here: the plugin reads the registry on every serve rebuild.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path


class Per(Enum):
    """How many pages an entry makes."""

    ONCE = "once"
    AGENT = "agent"  # path has {agent}
    STEP = "step"  # path has {step} (``<from>-to-<to>``)
    ENV = "env"  # path has {env}


class Page:
    """One entry of the registry. ``title`` None: the nav takes the page's own heading."""

    __slots__ = ("path", "template", "title", "section", "per", "in_nav")

    def __init__(self, path: str, template: str, title: str | None, section: str | None = None, per: Per = Per.ONCE, *, in_nav: bool = True) -> None:
        self.path = path
        self.template = template
        self.title = title
        self.section = section
        self.per = per
        #: False: reached by links only (an agent's history page, from the agent's page)
        self.in_nav = in_nav

    def path_for(self, key: str) -> str:
        """The page's path for one agent key, step slug or environment (the path itself for a single page)."""
        return self.path.format(agent=key, step=key, env=key)

    def keys_on_disk(self, docs: Path) -> list[str]:
        """The agent keys or step slugs of the pages of this entry that exist under ``docs``
        (for a serve started on a broken config: the last good pages are still there)."""
        folder, _, pattern = self.path.rpartition("/")
        prefix, _, suffix = pattern.partition("{")
        suffix = suffix.partition("}")[2]
        names = sorted(p.name for p in (docs / folder).glob(f"{prefix}*{suffix}"))
        keys = [name[len(prefix) : len(name) - len(suffix)] for name in names]
        return [key for key in keys if key and key != "index" and (self.per is not Per.STEP or "-to-" in key)]


#: Every generated page, in nav order. A section's first entry is its index page.
PAGES = (
    Page("playbook.md", "playbook.md.j2", "Playbook"),
    Page("matrix.md", "matrix.md.j2", "Promotion matrix"),
    Page("promotions/index.md", "promotions_index.md.j2", None, "Promotions"),
    Page("promotions/{step}.md", "promotion.md.j2", "{source} → {target}", "Promotions", Per.STEP),
    Page("agents/index.md", "agents_index.md.j2", None, "Agents"),
    Page("agents/{agent}.md", "agent.md.j2", None, "Agents", Per.AGENT),
    Page("history/{agent}.md", "agent_history.md.j2", None, "Agents", Per.AGENT, in_nav=False),
    Page("environments/index.md", "environments_index.md.j2", None, "Environments"),
    Page("environments/{env}.md", "environment.md.j2", None, "Environments", Per.ENV),
    Page("reference/rules.md", "rules.md.j2", "Readiness rules", "Reference"),
    Page("reference/config-schema.md", "config_schema.md.j2", "Config reference", "Reference"),
)

#: The CLAUDE.md section is rendered from this template (not a page of the site).
CLAUDE_TEMPLATE = "claude_section.md.j2"

#: Up to this many agents get their own nav entry; beyond it, mkdocs-material's nav-in-every-
#: page makes the build quadratic, so agent pages are reached from the Agents index instead.
NAV_AGENT_LIMIT = 30


def step_slug(source: str, target: str) -> str:
    return f"{source}-to-{target}"


def nav(docs: Path, steps: list[tuple[str, str]] | None, agents: list[str] | None, envs: list[str] | None = None) -> list[object]:
    """The site's nav: Home (when ``index.md`` exists), every registered page in order,
    then hand-written top-level pages.

    ``steps``/``agents`` None (the config never loaded) means: take them from the pages on disk.
    """
    out: list[object] = [{"Home": "index.md"}] if (docs / "index.md").exists() else []
    sections: dict[str, list[object]] = {}
    for page in PAGES:
        if not page.in_nav:
            continue
        entries = _entries(page, docs, steps, agents, envs)
        if page.section is None:
            out += entries
        elif page.section not in sections:
            sections[page.section] = entries
            out.append({page.section: entries})
        else:
            sections[page.section] += entries
    generated = {"index.md"} | {page.path for page in PAGES}
    out += [path.name for path in sorted(docs.glob("*.md")) if path.name not in generated]
    return out


def _entries(page: Page, docs: Path, steps: list[tuple[str, str]] | None, agents: list[str] | None, envs: list[str] | None) -> list[object]:
    if page.per is Per.ONCE:
        return [{page.title: page.path} if page.title else page.path]
    if page.per is Per.ENV:
        return [page.path_for(name) for name in (envs if envs is not None else page.keys_on_disk(docs))]
    if page.per is Per.STEP:
        pairs = steps if steps is not None else [tuple(slug.split("-to-", 1)) for slug in page.keys_on_disk(docs)]
        title = page.title or "{source} → {target}"
        return [{title.format(source=a, target=b): page.path_for(step_slug(a, b))} for a, b in pairs]
    keys = agents if agents is not None else page.keys_on_disk(docs)
    if len(keys) > NAV_AGENT_LIMIT:
        return []
    # Untitled: mkdocs takes the page's own (escaped) title, the agent's display name.
    return [page.path_for(key) for key in keys]
