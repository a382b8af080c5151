"""The one core that ``promotion generate`` and the mkdocs plugin both run.

load -> check rules (and the release gate) -> render to memory -> plan against disk
-> write (or not: ``--check``). Nothing is written unless every step before succeeded.
"""

from __future__ import annotations

import os

from . import rules
from .errors import Location, Problem, SelectionError, WriteRefused
from .loader import load_config
from .model import Config
from .paths import ledger_dir, ledger_names
from .writer import Action, FileChange, PlannedFile, apply_changes, plan_changes, stamp_page

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path  # imported where a Path is made: a no-op run makes none (pathlib costs ~4 ms)
    from typing import Any


class GenerateOptions:
    """What to generate from where. Paths are relative to ``root`` unless absolute."""

    __slots__ = ("config_path", "out_dir", "templates_dir", "claude_md", "force", "gate", "root", "keep_nodes", "workers")

    def __init__(
        self,
        config_path: str,
        out_dir: str = "site-docs",
        templates_dir: str | None = None,
        claude_md: str | None = "CLAUDE.md",
        force: bool = False,
        gate: list[str] | None = None,
        root: str | None = None,
        keep_nodes: bool = False,
        workers: int = 1,
    ) -> None:
        self.config_path = config_path
        self.out_dir = out_dir
        self.templates_dir = templates_dir
        self.claude_md = claude_md
        self.force = force
        self.gate = gate or []
        self.root = root or os.getcwd()
        #: a process that ends right after the run (the CLI) keeps the YAML nodes rather than freeing them
        self.keep_nodes = keep_nodes
        #: processes the pages may be rendered on (parallel.py): the CLI's own process may fork, the plugin never does
        self.workers = workers

    def resolve(self, path: str) -> Path:
        from pathlib import Path

        return Path(path) if os.path.isabs(path) else Path(self.root) / path

    def resolve_str(self, path: str) -> str:
        """``str(self.resolve(path))``, spelled the same but made without pathlib where paths
        are POSIX ones: the no-op run's fingerprint and state check need only strings."""
        if os.sep != "/" or os.altsep:
            return str(self.resolve(path))
        if path.startswith("/"):
            return posix_str(path)
        base, rest = posix_str(self.root), posix_str(path)
        if rest == ".":
            return base
        if base == ".":
            return rest
        return base + rest if base.endswith("/") else f"{base}/{rest}"

    def display(self, path: str | Path) -> str:
        """A path as written in pages and messages: relative to root, with ``/``.

        Pages record the config's path, so it must not depend on how it was spelled
        on the command line, or the plugin and the CLI would rewrite each other's pages.
        """
        if os.sep == "/" and not os.altsep:  # relpath's result is already what Path.as_posix would give
            return os.path.relpath(self.resolve_str(str(path)), self.root)
        from pathlib import Path

        absolute = self.resolve(str(path))
        try:
            return Path(os.path.relpath(absolute, self.root)).as_posix()
        except ValueError:  # another drive on Windows
            return absolute.as_posix()


def posix_str(path: str) -> str:
    """``str(PurePosixPath(path))``: repeated and trailing ``/`` and ``.`` parts dropped, a
    leading ``//`` kept (POSIX leaves its meaning to the system), ``.`` for nothing."""
    root = ("//" if path.startswith("//") and not path.startswith("///") else "/") if path.startswith("/") else ""
    parts = [part for part in path.split("/") if part and part != "."]
    return root + "/".join(parts) if root or parts else "."


class Change:
    """A FileChange with the path as the user should read it."""

    __slots__ = ("change", "display")

    def __init__(self, change: FileChange, display: str) -> None:
        self.change = change
        self.display = display

    @property
    def action(self) -> Action:
        return self.change.action

    def diff(self, display: str) -> str:
        return self.change.diff(display)


class GenerateResult:
    """What a run did. A no-op run (nothing to do, see state.py) holds the recorded output
    paths and makes its ``changes`` (all unchanged) only when they are asked for: the CLI
    prints a count, and making 2,000 of them cost a tenth of the no-op run."""

    __slots__ = ("config", "_changes", "_recorded", "_display", "warnings", "written")

    def __init__(self, config: Config, changes: list[Change] | None, warnings: list[rules.Violation], written: int, recorded: list[str] | None = None, display: Callable[[str], str] = str) -> None:
        self.config = config
        self._changes = changes  # None for a no-op run: made from ``recorded`` when asked for
        self._recorded = recorded or []
        self._display = display
        self.warnings = warnings
        self.written = written

    @property
    def changes(self) -> list[Change]:
        if self._changes is None:
            from pathlib import Path

            self._changes = [Change(FileChange(Path(p), Action.UNCHANGED, None, None), self._display(p)) for p in self._recorded]
        return self._changes

    @property
    def pending(self) -> list[Change]:
        """Files that are (or, under --check, would be) created, updated or deleted."""
        if self._changes is None:
            return []
        return [c for c in self._changes if c.action is not Action.UNCHANGED]

    @property
    def unchanged(self) -> int:
        if self._changes is None:
            return len(self._recorded)
        return len([c for c in self._changes if c.action is Action.UNCHANGED])

    @property
    def total(self) -> int:
        if self._changes is None:
            return len(self._recorded)
        return len([c for c in self._changes if c.action is not Action.DELETE])


def check(config: Config, gate: list[str], history: list[Any] | None = None, folder: str | None = None) -> list[rules.Violation]:
    """Every config rule, plus the step rule on each gated promotion: InvalidConfig (exit 1)
    or NotReady (exit 2) when one fails; else the warnings."""
    from .gates import Gates

    # The release gate judges approvals and recorded checks, not the clock: a deploy freeze
    # must not stop the docs from being published.
    gates = Gates(folder, history or [], None) if folder is not None else None
    steps = []
    for key in gate:
        promotion = config.promotion.get(key)
        if promotion is None or promotion.source is None or promotion.target is None:
            pairs = ", ".join(config.promotion) or "(none)"
            raise SelectionError([Problem(config.loc("promotion"), "promotion", f"the gate names `{key}`, which is not a promotion of this config", f"gate one of: {pairs}", "unknown-gate")])
        steps.append(rules.Step(promotion.source, promotion.target, list(config.agents), gates))
    from . import verdict

    found = verdict.judge(config, steps, history)
    found.raise_for()
    return found.violations


class Loaded:
    """The config, its ledger's entry names and the rules' verdict: what every run starts from."""

    __slots__ = ("config", "config_path", "history", "violations")

    def __init__(self, config: Config, config_path: str, history: list[Any], violations: list[rules.Violation]) -> None:
        self.config = config
        self.config_path = config_path
        self.history = history
        self.violations = violations


def load_and_check(options: GenerateOptions) -> Loaded:
    """Load the config, list its ledger and run every rule (and the gate): ConfigError,
    InvalidConfig or NotReady on failure. The ledger is read by its file names only (fast);
    ``plan`` parses the entries when it renders."""
    config_path = options.resolve_str(options.config_path)
    config = load_config(config_path, display=options.display(options.config_path), keep_nodes=options.keep_nodes)
    folder = ledger_dir(config_path)
    history = ledger_names(folder)
    return Loaded(config, config_path, history, check(config, options.gate, history, folder))


#: What a run in a process that ends right after it (``keep_nodes``) leaves for the exit to drop.
_KEPT: list[object] = []


def plan(options: GenerateOptions, loaded: Loaded | None = None) -> tuple[Config, list[Change], list[rules.Violation]]:
    """Load, check, render and compare with disk. Raises before anything could be written."""
    from . import ledger, markers, parallel, render  # Jinja2 is only imported by the commands that render

    config_display = options.display(options.config_path)
    loaded = loaded or load_and_check(options)
    config, violations = loaded.config, loaded.violations
    from .gates import Gates

    folder = ledger_dir(loaded.config_path)
    entries = ledger.load_entries(folder) if loaded.history else []
    # The pages show approvals and recorded checks; freeze and soak depend on the clock, so
    # the pages state their windows and times instead of judging them (now=None).
    gates = Gates(folder, loaded.history, None, entries)
    env = render.make_environment(str(options.resolve(options.templates_dir)) if options.templates_dir else None)
    context = render.build_context(config, config_display, violations, options.display(options.out_dir), entries, gates)
    out_dir = options.resolve(options.out_dir)
    jobs = render.page_jobs(context)

    def page_bytes(job: render.PageJob) -> bytes:
        return stamp_page(render.render_page(env, context, job), config_display, job.template)

    bodies = parallel.map_bytes(page_bytes, jobs, options.workers)
    planned = [PlannedFile(out_dir / job.path, body) for job, body in zip(jobs, bodies, strict=True)]
    if options.claude_md:
        claude_path = options.resolve(options.claude_md)
        _check_claude_target(claude_path, options)
        try:
            existing: bytes | None = claude_path.read_bytes()
        except FileNotFoundError:
            existing = None
        except OSError as exc:
            raise WriteRefused([Problem(Location(options.display(claude_path), 1, 1), "", f"can't be read: {exc.strerror}", "check the path and permissions", "io")]) from None
        body = render.render_claude_section(env, context)
        new = markers.update_section(existing, body, config_display, force=options.force, file=options.display(claude_path))
        planned.append(PlannedFile(claude_path, new, "section"))
    changes = plan_changes(planned, out_dir, force=options.force)
    display = _displayer(options)
    if options.keep_nodes:  # the process ends after the run: freeing the context would cost ~13 ms at 1,000 agents
        _KEPT.append((context, env, jobs, planned))
    return config, [Change(c, display(str(c.path))) for c in changes], violations


def run(options: GenerateOptions, write: bool = True) -> GenerateResult:
    """Plan, then write the changed files atomically (unless ``write`` is False: --check).

    A write run whose inputs and outputs all match the state recorded by the last
    successful run stops after validating (see state.py): nothing would change.
    """
    import time

    from . import state

    started = time.time_ns()  # ledger entries written after this (or just before) are racy (state.inputs)
    out_dir = options.resolve_str(options.out_dir)
    # Fingerprinted before anything is read, so an input edited during the run is seen next time.
    fp = state.fingerprint(options.resolve_str(options.config_path), _template_dirs(options), _options_key(options)) if write else ""
    # --check and --force never trust the recorded state; the check runs beside the load (state.Matching)
    matching = state.Matching(out_dir, fp, fork=options.workers > 1) if write and not options.force else None
    try:
        loaded = load_and_check(options)
    except BaseException:
        if matching is not None:
            matching.cancel()
        raise
    config, violations = loaded.config, loaded.violations
    warnings = [v for v in violations if v.severity is rules.Severity.WARNING]
    if not write:
        return GenerateResult(config, plan(options, loaded)[1], warnings, 0)
    recorded = matching.result() if matching is not None else None
    if recorded is not None:
        return GenerateResult(config, None, warnings, 0, recorded, _displayer(options))
    folder = ledger_dir(loaded.config_path)
    entries = state.inputs(folder, [entry.name for entry in loaded.history], started)  # before plan reads one
    config, changes, violations = plan(options, loaded)
    try:
        written = apply_changes([c.change for c in changes], out_dir)
    except BaseException:
        state.forget(out_dir)
        raise
    outputs = [c.change.path for c in changes if c.action is not Action.DELETE]
    state.record(out_dir, fp, outputs, folder, entries)
    return GenerateResult(config, changes, warnings, written)


def _displayer(options: GenerateOptions) -> Any:
    """``options.display`` for many paths: an output under the root (absolute and
    normalised, as the state records them) is its remainder after the root, with ``/``;
    anything else goes through ``options.display``."""
    root = options.root
    prefix = root.rstrip(os.sep) + os.sep
    plain = os.path.isabs(root) and os.path.normpath(root) == root and os.sep == "/"

    def display(path: str) -> str:
        if plain and path.startswith(prefix) and os.path.normpath(path) == path:
            return path[len(prefix):]
        return options.display(path)

    return display


def _template_dirs(options: GenerateOptions) -> list[str]:
    from .paths import builtin_templates_dir

    dirs = [options.resolve_str(options.templates_dir)] if options.templates_dir else []
    return dirs + [builtin_templates_dir()]


def _options_key(options: GenerateOptions) -> str:
    """What, besides the files, decides the output: paths as pages show them, the gate."""
    return "|".join(
        [
            options.display(options.config_path),
            options.display(options.out_dir),
            options.display(options.claude_md) if options.claude_md else "-",
            ",".join(options.gate),
            options.resolve_str(options.templates_dir) if options.templates_dir else "-",
        ]
    )


def _check_claude_target(path: Path, options: GenerateOptions) -> None:
    """The section goes into a Markdown file that is not the config (a typo there would
    append Markdown to the YAML and break it)."""
    config = options.resolve(options.config_path)
    same = os.path.realpath(path) == os.path.realpath(config)
    if same or path.suffix.lower() not in (".md", ".markdown"):
        what = "is the config file itself" if same else "is not a Markdown file"
        raise WriteRefused(
            [Problem(Location(options.display(path), 1, 1), "", f"--claude-md {what}", "point --claude-md at CLAUDE.md (or another .md file), or pass --no-claude-md", "path")]
        )
