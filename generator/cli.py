"""The ``promotion`` command: flags -> core calls -> text, JSON or GitHub annotations.

Only this module and the mkdocs plugin print. Imports are lazy: ``validate`` runs on
every commit and must not pay for Jinja2 (only ``generate`` imports the renderer).
"""

from __future__ import annotations

import argparse
import os
import sys
from enum import Enum

from . import __version__
from .errors import EXIT_CODE_HELP, ExitCode, Problem, PromotionError, UsageError
from .text import plural

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any, NoReturn, TextIO

DEFAULT_CONFIG = "config/agent_engine_envs.yaml"
DEFAULT_OUT = "site-docs"
DEFAULT_CLAUDE_MD = "CLAUDE.md"
DEFAULT_TEMPLATES = "templates"
#: generate lists this many written files, then a count (--check and --verbose list all)
LISTED_CHANGES = 25


class OutputFormat(Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad flags; 2 means "not ready" here, so usage errors raise (exit 64)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().rstrip()}")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Reads the terminal width when it formats help, not when it is made.

    argparse makes a formatter for every ``add_argument`` (to check the metavar), and
    the width comes from ``shutil``, whose import (bz2, lzma) costs ~2 ms of every run.
    The width and help column are set exactly as ``HelpFormatter.__init__`` sets them.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None, **kwargs: Any) -> None:
        self._width_pending = width is None
        self._help_position_wanted = max_help_position
        super().__init__(prog, indent_increment, max_help_position, 78 if width is None else width, **kwargs)

    def format_help(self) -> str:
        if self._width_pending:
            import shutil

            width = shutil.get_terminal_size().columns - 2
            self._max_help_position = min(self._help_position_wanted, max(width - 20, self._indent_increment * 2))
            self._width = width
            self._width_pending = False
        return super().format_help()


def _formats(*allowed: OutputFormat) -> dict[str, Any]:
    return {
        "choices": [f.value for f in allowed],
        "default": OutputFormat.TEXT.value,
        "help": "output format (default: text)",
    }


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False, formatter_class=_HelpFormatter)
    # --config is accepted before or after the command; the subcommand's copy only
    # overrides the top-level value when given (SUPPRESS keeps its default out).
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help=f"the config file (default: {DEFAULT_CONFIG})")

    parser = _Parser(
        prog="promotion",
        description="Agent Engine promotion: show which engine runs each agent where, check promotion "
        "readiness, and generate the runbook docs. Config and docs only: never calls a cloud API.",
        epilog=EXIT_CODE_HELP,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"promotion {__version__}")
    parser.add_argument("--config", default=DEFAULT_CONFIG, metavar="PATH", help=f"the config file (default: {DEFAULT_CONFIG})")
    # prog given: argparse would otherwise format a usage line (and read the terminal) to make it
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, prog="promotion")
    sub.required = True

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common], epilog=EXIT_CODE_HELP, formatter_class=_HelpFormatter)

    show = add("show", "show each agent's engine, project, region and status per environment")
    show.add_argument("--agent", default="all", metavar="NAME|all", help="one agent, or all (default)")
    show.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))

    path = add("path", "show what a promotion step would move, its checks, approval and blockers")
    path.add_argument("--from-env", required=True, metavar="ENV", help="the environment promoted from")
    path.add_argument("--to-env", required=True, metavar="ENV", help="the next environment")
    path.add_argument("--agent", default="all", metavar="NAME|all", help="one agent, or all (default)")
    path.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))

    validate = add("validate", "check every readiness rule; with a step, also that no engine on it is a placeholder")
    validate.add_argument("--from-env", metavar="ENV", help="with --to-env: also check this promotion step")
    validate.add_argument("--to-env", metavar="ENV", help="with --from-env: the next environment")
    validate.add_argument("--agent", default="all", metavar="NAME|all", help="agents the step check covers (default all)")
    validate.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON, OutputFormat.GITHUB))

    rules_cmd = add("rules", "list the readiness rules")
    rules_cmd.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))

    add("schema", "print the config's JSON Schema (generated from the model)")

    generate = add("generate", "render the runbook pages and the CLAUDE.md section from the config and templates")
    generate.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"docs folder (default: {DEFAULT_OUT})")
    generate.add_argument(
        "--templates",
        metavar="DIR",
        default=DEFAULT_TEMPLATES if os.path.isdir(DEFAULT_TEMPLATES) else None,
        help=f"templates searched before the built-in ones (default: ./{DEFAULT_TEMPLATES} when it exists, as mkdocs.yml does)",
    )
    generate.add_argument("--claude-md", default=DEFAULT_CLAUDE_MD, metavar="PATH", help=f"file holding the promotion section (default: {DEFAULT_CLAUDE_MD})")
    generate.add_argument("--no-claude-md", action="store_true", help="leave CLAUDE.md alone")
    generate.add_argument("--check", action="store_true", help="write nothing; exit 3 if any generated file is missing, stale or orphaned")
    generate.add_argument("--diff", action="store_true", help="with --check (implied): also print a unified diff of what would change")
    generate.add_argument("--verbose", action="store_true", help=f"list every written file (default: the first {LISTED_CHANGES})")
    generate.add_argument("--force", action="store_true", help="overwrite generated files that were edited by hand")
    generate.add_argument(
        "--gate",
        default=os.environ.get("PROMOTION_GATE", ""),
        metavar="KEYS",
        help="comma-separated promotions that must be fully ready, as the site's gate (default: $PROMOTION_GATE)",
    )
    return parser


# --- output helpers ---------------------------------------------------------------------


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github_line(problem: Problem, severity: str) -> str:
    level = "error" if severity == "error" else "warning"
    loc = problem.location
    title = f"{problem.code} {problem.path}".strip()
    message = problem.message + (f" -- fix: {problem.hint}" if problem.hint else "")
    return (
        f"::{level} file={_gh_escape(loc.file, True)},line={loc.line},col={loc.col},"
        f"title={_gh_escape(title, True)}::{_gh_escape(message)}"
    )


def _json(data: Any, out: TextIO) -> None:
    import json

    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _report_error(error: PromotionError, fmt: OutputFormat, out: TextIO, err: TextIO) -> int:
    problems = error.problems()
    code = int(error.exit_code)
    if fmt is OutputFormat.JSON:
        _json({"ok": False, "exit_code": code, "errors": [p.to_dict() for p in problems], "warnings": []}, out)
    elif fmt is OutputFormat.GITHUB:
        for p in problems:
            out.write(_github_line(p, "error") + "\n")
    if fmt is not OutputFormat.JSON:
        if problems:
            for p in problems:
                err.write(p.format() + "\n")  # a Violation formats with its rule's severity
            if len(problems) > 1:
                err.write(f"{len(problems)} problems\n")
        else:
            err.write(f"error: {error}\n")
    return code


# --- commands ---------------------------------------------------------------------------


#: Set by run(): the process ends (os._exit) as soon as the command returns.
_ENDS_PROCESS = False


def _load(args: argparse.Namespace) -> Any:
    from .loader import load_config

    return load_config(args.config, keep_nodes=_ENDS_PROCESS)


def cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import views

    config = _load(args)
    data = views.mapping(config, views.select_agents(config, args.agent))
    if args.format == OutputFormat.JSON.value:
        _json(data, out)
        return ExitCode.OK
    data = _printable_data(data)
    out.write(f"Config: {data['config']} (schema {data['schema_version']}, app {data['app_version']}, updated {data['last_updated']})\n")
    out.write(f"Promotion order: {' -> '.join(data['environment_order'])}\n")
    for agent in data["agents"]:
        out.write(f"\n{agent['key']}: {agent['display_name']} ({agent['directory']})\n")
        rows: list[tuple[str, ...]] = [("ENV", "STATUS", "PROJECT", "REGION", "ENGINE")]
        for row in agent["environments"]:
            if not row["defined"]:
                rows.append((row["environment"], "-", "-", "-", "(not defined)"))
                continue
            engine = row["engine_id"] + ("  <- PLACEHOLDER" if row["placeholder"] else "")
            rows.append((row["environment"], row["status"], row["project_id"], row["region"], engine))
        out.write(_table(rows, indent="  "))
    out.write(f"\nPlaceholders: {data['placeholders']} of {data['engines']} engines\n")
    return ExitCode.OK


def _printable_data(value: Any) -> Any:
    """The view with control and invisible characters (newlines included) in every string
    escaped, for text output: a config value can't forge an output line or restyle the terminal."""
    from .errors import printable

    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: _printable_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable_data(item) for item in value]
    return value


def _table(rows: list[tuple[str, ...]], indent: str = "") -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines) + "\n"


def cmd_path(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import views

    config = _load(args)
    source, target = views.select_step(config, args.from_env, args.to_env)
    data = views.step(config, source, target, views.select_agents(config, args.agent))
    if args.format == OutputFormat.JSON.value:
        _json(data, out)
        return ExitCode.OK
    data = _printable_data(data)
    out.write(f"Promotion {source} -> {target} (promotion.{data['key']})\n")
    if data["manual_approval"]:
        out.write(f"Manual approval: required, in {data['approval_channel'] or '(no channel set)'}\n")
    else:
        out.write("Manual approval: not required\n")
    out.write("Required checks:\n")
    for check in data["checks"]:
        command = f"  ->  {check['command']}" if check["command"] else ""
        out.write(f"  [ ] {check['name']}{command}\n")
    if not data["checks"]:
        out.write("  (none)\n")
    for agent in data["agents"]:
        out.write(f"\n{agent['key']}: {agent['display_name']}\n")
        for label, row in (("from", agent["source"]), ("to", agent["target"])):
            if not row["defined"]:
                out.write(f"  {label:4} {row['environment']}: (not defined)\n")
                continue
            mark = "  <- PLACEHOLDER" if row["placeholder"] else ""
            out.write(f"  {label:4} {row['environment']}: {row['engine_id']} [{row['status']}] {row['project_id']}/{row['region']}{mark}\n")
        if agent["changes"]:
            out.write("  differs: " + "; ".join(_difference(c, source, target) for c in agent["changes"] if c["field"] in _MOVED) + "\n")
        for note in agent["notes"]:
            out.write(f"  note: {note}\n")
        out.write(f"  ready: {'yes' if agent['ready'] else 'no (' + ', '.join(agent['blockers']) + ')'}\n")
    out.write(
        f"\n{source} -> {target}: ready for {data['ready_agents']} of {data['total_agents']} agents, "
        f"{plural(data['placeholders'], 'placeholder')} left\n"
    )
    return ExitCode.OK


#: What a promotion moves (the text view); JSON lists every field that differs.
_MOVED = ("engine_id", "status", "app_version")


def _difference(change: dict[str, Any], source: str, target: str) -> str:
    before, after = change["from"], change["to"]
    if change["field"] == "engine_id":
        from .model import short_engine_id

        before, after = short_engine_id(before), short_engine_id(after)
    return f"{change['field']} {source}={before} {target}={after}"


FIX_STEPS = """To fix:
  1. Deploy the agent to the environment (your deploy pipeline).
  2. Take the engine's resource name from the deploy output:
     projects/<project>/locations/<region>/reasoningEngines/<number>
  3. Put it in engine_id in {config} and set status: deployed (validated once checked).
  4. Run: promotion validate --from-env {source} --to-env {target}"""


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import rules, views

    fmt = OutputFormat(args.format)
    if (args.from_env is None) != (args.to_env is None):
        raise UsageError("promotion validate: --from-env and --to-env go together")
    config = _load(args)
    violations = rules.check_config(config)
    step = None
    if args.from_env is not None:
        source, target = views.select_step(config, args.from_env, args.to_env)
        agents = views.select_agents(config, args.agent)
        step_violations = rules.placeholders_on_path(config, source, target, agents)
        step = (source, target, len(step_violations))
        violations = rules.in_file_order(violations + step_violations)
    else:
        views.select_agents(config, args.agent)  # an unknown name is still an error (exit 1)
    failing = rules.errors(violations)
    code = ExitCode.NOT_READY if failing else ExitCode.OK
    if fmt is OutputFormat.JSON:
        _json(
            {
                "ok": not failing,
                "exit_code": int(code),
                "config": config.file,
                "step": {"from": step[0], "to": step[1], "placeholders": step[2]} if step else None,
                "errors": [views.violation_dict(v) for v in failing],
                "warnings": [views.violation_dict(v) for v in violations if v not in failing],
            },
            out,
        )
        return code
    if fmt is OutputFormat.GITHUB:
        for v in violations:
            out.write(_github_line(v, v.severity.value) + "\n")
        return code
    for v in violations:
        err.write(v.format() + "\n")
    warnings = len(violations) - len(failing)
    if step is not None and step[2]:
        source, target, count = step
        err.write(f"\nNot ready: {source} -> {target} has {plural(count, 'placeholder engine ID')} left.\n")
        err.write(FIX_STEPS.format(config=config.file, source=source, target=target) + "\n")
    if failing:
        err.write(f"{plural(len(failing), 'error')}, {plural(warnings, 'warning')} in {config.file}\n")
    else:
        what = f"; {step[0]} -> {step[1]} is ready" if step else ""
        out.write(f"OK: {config.file} passes {len(_config_rules())} rules ({plural(warnings, 'warning')}){what}\n")
    return code


def _config_rules() -> list[Any]:
    from . import rules

    return [r for r in rules.RULES if r.scope is rules.Scope.CONFIG]


def cmd_rules(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import rules

    if args.format == OutputFormat.JSON.value:
        _json([r.to_dict() for r in rules.RULES], out)
        return ExitCode.OK
    for r in rules.RULES:
        out.write(f"{r.id}  {r.name}  [{r.severity.value}, {r.scope.value}]\n    {r.title}\n    fix: {r.hint}\n")
    return ExitCode.OK


def cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .schema import json_schema_text

    out.write(json_schema_text())
    return ExitCode.OK


def cmd_generate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import generate

    check = args.check or args.diff
    options = generate.GenerateOptions(
        config_path=args.config,
        out_dir=args.out,
        templates_dir=args.templates,
        claude_md=None if args.no_claude_md else args.claude_md,
        force=args.force,
        gate=[key.strip() for key in args.gate.split(",") if key.strip()],
    )
    result = generate.run(options, write=not check)
    for v in result.warnings:
        err.write(v.format() + "\n")
    if check:
        stale = result.pending
        for change in stale:
            err.write(f"{change.action.name.lower():9} {change.display}\n")
            if args.diff:
                out.write(change.diff(change.display))
        if stale:
            err.write(f"{plural(len(stale), 'generated file')} out of date: run `make docs` (promotion generate) and commit the result\n")
            return ExitCode.STALE
        out.write(f"OK: {result.total} generated files are up to date\n")
        return ExitCode.OK
    shown = result.pending if args.verbose else result.pending[:LISTED_CHANGES]
    for change in shown:
        out.write(f"{change.action.name.lower():9} {change.display}\n")
    if len(shown) < len(result.pending):
        out.write(f"... and {len(result.pending) - len(shown)} more (--verbose lists them all)\n")
    unchanged = len(result.changes) - len(result.pending)
    out.write(f"{plural(result.written, 'file')} written or removed, {unchanged} unchanged\n")
    return ExitCode.OK


COMMANDS = {
    "show": cmd_show,
    "path": cmd_path,
    "validate": cmd_validate,
    "rules": cmd_rules,
    "schema": cmd_schema,
    "generate": cmd_generate,
}


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; return the exit code (never raises for user errors)."""
    out = out or sys.stdout
    err = err or sys.stderr
    fmt = OutputFormat.TEXT
    try:
        args = build_parser().parse_args(argv)
        fmt = OutputFormat(getattr(args, "format", "text"))
        return int(COMMANDS[args.command](args, out, err))
    except UsageError as exc:
        err.write(f"{exc}\n")
        return int(ExitCode.USAGE)
    except PromotionError as exc:
        return _report_error(exc, fmt, out, err)
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


def run() -> None:
    """Console-script entry point.

    Ends with ``os._exit`` after flushing: tearing down a large config's object graph at
    interpreter exit costs more than loading it (see RESEARCH.md), and there is nothing
    left to clean up.

    The cyclic garbage collector is off for the same reason: the process is short-lived,
    the config model has no cycles, and each collection would walk every object of the
    loaded config again (at 10,000 agents, a tenth of the run).
    """
    import gc

    global _ENDS_PROCESS
    _ENDS_PROCESS = True
    gc.disable()
    try:
        code = main()
    except SystemExit as exc:  # --help and --version
        code = exc.code if isinstance(exc.code, int) else 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
