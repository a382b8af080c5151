"""The mkdocs plugin: runs the same core as ``promotion generate`` before mkdocs reads the docs.

Glue only (mkdocs-gen-files keeps its plugin this thin too). Behaviour:
- ``mkdocs build``/``gh-deploy``: a config error, a failing rule or a failing release
  ``gate`` raises PluginError, so mkdocs prints each problem (file:line:col, rule, fix)
  and exits 1 without a traceback, before the site folder is touched.
- ``mkdocs serve``: the same problems are logged and the last good pages stay on disk,
  so the browser keeps showing them; the next good edit regenerates (serve blocks page
  requests after a failed rebuild, so it must not raise there).
- Rule warnings are logged at INFO so ``--strict`` does not turn a warning into a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger

from . import generate, pages
from .errors import PromotionError
from .writer import GENERATED_PREFIX

log = get_plugin_logger(__name__)


class PromotionPluginConfig(base.Config):
    config = c.Type(str, default="config/agent_engine_envs.yaml")
    templates = c.Optional(c.Type(str))
    claude_md = c.Optional(c.Type(str))
    gate = c.Type((list, str), default=[])
    nav = c.Type(bool, default=True)


def _log_problems(problems: list[str]) -> None:
    if problems:
        log.error("promotion: the pages were not regenerated:\n%s", "\n".join(problems))


def gate_list(value: Sequence[Any] | str) -> list[str]:
    """``gate`` as a list: a YAML list, or a comma-separated string (``!ENV PROMOTION_GATE``)."""
    items = value.split(",") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


class PromotionPlugin(BasePlugin[PromotionPluginConfig]):
    def __init__(self) -> None:
        self.command = "build"
        self.last_pairs: list[tuple[str, str]] | None = None
        self.last_agents: list[str] = []
        self.last_envs: list[str] = []
        #: the problems of the last generate under serve (shown on every page); empty when it succeeded
        self.problems: list[str] = []
        self.lock = threading.Lock()  # the build's generate and the watcher's never run at once
        self.watcher: Any = None
        self.generated_pages: set[str] = set()

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # Defining on_startup keeps this instance across serve rebuilds.
        self.command = command

    def _options(self, config: MkDocsConfig) -> generate.GenerateOptions:
        root = os.path.dirname(os.path.abspath(config.config_file_path or "mkdocs.yml"))
        return generate.GenerateOptions(
            config_path=self.config.config,
            out_dir=config.docs_dir,
            templates_dir=self.config.templates,
            claude_md=self.config.claude_md,
            gate=gate_list(self.config.gate),
            root=root,
        )

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self.generated_pages.clear()
        options = self._options(config)
        try:
            with self.lock:
                result = generate.run(options)
        except PromotionError as exc:
            self.problems = [p.format() for p in exc.problems()] or [str(exc)]
            message = "\n".join(self.problems)
            if self.command != "serve":
                raise PluginError(f"promotion: the docs can't be generated:\n{message}") from None
            log.error("promotion: the pages were not regenerated; every page shows why until the next good save:\n%s", message)
        else:
            self.problems = []
            self.last_pairs = result.config.consecutive_pairs()
            self.last_agents = list(result.config.agents)
            self.last_envs = list(result.config.environments)
            for v in result.warnings:
                log.info("promotion: %s", v.format())
            for change in result.pending:
                log.info("promotion: %s %s", change.action.value, change.display)
        if self.config.nav and config.nav is None:
            config.nav = self._nav(Path(config.docs_dir))
        return config

    def on_serve(self, server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
        """Watch the config (and its ledger) and the templates ourselves, not through mkdocs:
        a save regenerates at once, outside any build, so mkdocs rebuilds once (see watch.py)."""
        from .paths import builtin_templates_dir
        from .watch import InputWatcher

        options = self._options(config)
        paths = [options.resolve(self.config.config).parent, Path(builtin_templates_dir())]
        if self.config.templates:
            paths.append(options.resolve(self.config.templates))
        self.watcher = InputWatcher(options, paths, self.lock, _log_problems)
        self.watcher.start()
        return server

    def on_shutdown(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    def on_page_markdown(self, markdown: str, /, *, page: Any, config: MkDocsConfig, files: Any) -> str:
        """Drop the generated-by stamp line before mkdocs renders the page.

        The stamp is for the file on disk. Left in, it is the page's first element, and
        mkdocs only takes a page title from a first-element ``<h1>``: pages outside the nav
        (agents) and the section indexes would be titled from their file names ("Bob",
        "Index") in the browser tab and in search results.
        """
        if markdown.startswith(GENERATED_PREFIX):
            self.generated_pages.add(page.file.src_uri)
            return markdown.partition("\n")[2]
        return markdown

    def on_page_content(self, html: str, /, *, page: Any, config: MkDocsConfig, files: Any) -> str | None:
        html = self._with_banner(html)
        return self._pin_title(html, page)

    def _with_banner(self, html: str) -> str:
        """Under serve, while the last save left the docs ungenerated: the problems on top of
        every page, as ``validate`` prints them, above the last good content."""
        if self.command != "serve" or not self.problems:
            return html
        from html import escape

        return (
            '<div class="admonition failure promo-problems" role="alert"><p class="admonition-title">'
            "The runbook was not regenerated: the pages below are the last good ones</p>"
            f"<pre><code>{escape(chr(10).join(self.problems))}</code></pre>"
            "<p>Fix the config or the template and save: this notice goes away with the next good save.</p></div>\n"
        ) + html

    def _pin_title(self, html: str, page: Any) -> str:
        """Pin a generated page's title to its escaped heading text.

        Config text reaches the titles (an agent's display name is its page's ``<h1>``).
        mkdocs keeps the title HTML-escaped, but material writes ``page.title | striptags``
        into ``<title>``, and ``striptags`` unescapes: a display name holding
        ``</title><script>`` would become markup. ``page.meta.title`` is written as is.
        """
        if page.file.src_uri in self.generated_pages and page.title and "title" not in page.meta:
            page.meta["title"] = page.title
        return html

    def _nav(self, docs: Path) -> list[Any]:
        """The nav from the page registry (``pages.nav``): steps and agents from the last good
        config, or from the pages on disk when the config never loaded (serve started broken)."""
        known = self.last_pairs is not None
        return pages.nav(docs, self.last_pairs, self.last_agents if known else None, self.last_envs if known else None)
