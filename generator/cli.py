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
#: Problems ``validate`` prints as text before it only counts the rest (``--verbose``: all):
#: a screen, not a 2,000-line log when every agent of a fleet is blocked for one reason.
LISTED_PROBLEMS = 20


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


def _who(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", metavar="WHO", help="who did it (default: git's user.name, else the OS user)")
    parser.add_argument("--link", metavar="URL", help="a deploy run, a ticket: kept in the ledger")
    _clock(parser)


def _clock(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", metavar="ISO-8601", default=os.environ.get("PROMOTION_NOW"), help="the time to judge and record at (default: the clock; also PROMOTION_NOW), e.g. 2026-12-24T10:00:00Z")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command ``only`` alone (see ``_command_in``)."""
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
    for name, command in COMMANDS.items():
        if only is not None and name != only:
            continue
        command_parser = sub.add_parser(name, help=command.help, description=command.help, parents=[common], epilog=EXIT_CODE_HELP, formatter_class=_HelpFormatter)
        if command.flags is not None:
            command.flags(command_parser)
    return parser


# --- the commands' flags ----------------------------------------------------------------


def _show_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", default="all", metavar="NAME|all", help="one agent, or all (default)")
    parser.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))


def _path_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from-env", required=True, metavar="ENV", help="the environment promoted from")
    parser.add_argument("--to-env", required=True, metavar="ENV", help="the next environment")
    parser.add_argument("--agent", default="all", metavar="NAME|all", help="one agent, or all (default)")
    parser.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))
    _clock(parser)


def _validate_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from-env", metavar="ENV", help="with --to-env: also check this promotion step")
    parser.add_argument("--to-env", metavar="ENV", help="with --from-env: the next environment")
    parser.add_argument("--agent", default="all", metavar="NAME|all", help="agents the step check covers (default all)")
    parser.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON, OutputFormat.GITHUB))
    parser.add_argument("--verbose", action="store_true", help=f"print every problem (text; default: the first {LISTED_PROBLEMS}, then a count)")
    _clock(parser)


def _approve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from-env", required=True, metavar="ENV", help="the environment promoted from")
    parser.add_argument("--to-env", required=True, metavar="ENV", help="the next environment")
    parser.add_argument("--agent", required=True, metavar="NAME|all", help="one agent, or all")
    parser.add_argument("--by", required=True, metavar="WHO", help="who approves")
    parser.add_argument("--link", metavar="URL", help="where it was approved (a message, a ticket)")
    _clock(parser)


def _checks_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from-env", required=True, metavar="ENV", help="the environment promoted from")
    parser.add_argument("--to-env", required=True, metavar="ENV", help="the next environment")
    parser.add_argument("--run", action="store_true", help="run each check's command in the repository root, in order")
    parser.add_argument("--record", action="store_true", help="with --run: write the results to the ledger, bound to the source engines")
    parser.add_argument("--by", metavar="WHO", help="who ran them (default: git's user.name, else the OS user)")
    _clock(parser)


def _record_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", required=True, metavar="NAME", help="the agent deployed")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment it was deployed to")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--engine-id", metavar="ID", help="the engine: projects/<p>/locations/<l>/reasoningEngines/<n>, or the bare number")
    source.add_argument("--from-deploy-log", metavar="FILE|-", help="find the engine in a deploy's output (`Resource Name: ...`, `Engine ID: N`)")
    parser.add_argument("--status", metavar="STATUS", help="pending, deployed or validated (default with an engine: deployed)")
    _who(parser)
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="what last_updated becomes (default: today, UTC)")
    parser.add_argument("--dry-run", action="store_true", help="print the config diff and the ledger entry; write nothing")
    parser.add_argument("--docs", action="store_true", help="also regenerate the docs afterwards (promotion generate)")
    parser.add_argument("--override-freeze", action="store_true", help="record into a frozen environment anyway (needs --link; the ledger keeps it)")


def _rollback_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", required=True, metavar="NAME", help="the agent")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment")
    parser.add_argument("--to-engine", metavar="ID", help="any earlier engine of that agent and env in the ledger (default: the one before)")
    _who(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the config diff and the ledger entry; write nothing")


def _history_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", metavar="NAME", help="one agent (default: all)")
    parser.add_argument("--env", metavar="ENV", help="one environment (default: all)")
    parser.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))


def _export_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment")
    parser.add_argument("--agent", metavar="NAME", help="one agent (default: all); adds AGENT_ENGINE_RESOURCE, AGENT_ENGINE_ID, PROJECT_ID, LOCATION")
    parser.add_argument("--format", dest="export_format", choices=["env", "json", "tfvars"], default="env", help="env (KEY=value lines, default), json or tfvars")


def _steps_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))


def _rules_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", **_formats(OutputFormat.TEXT, OutputFormat.JSON))


def _generate_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"docs folder (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--templates",
        metavar="DIR",
        default=DEFAULT_TEMPLATES if os.path.isdir(DEFAULT_TEMPLATES) else None,
        help=f"templates searched before the built-in ones (default: ./{DEFAULT_TEMPLATES} when it exists, as mkdocs.yml does)",
    )
    parser.add_argument("--claude-md", default=DEFAULT_CLAUDE_MD, metavar="PATH", help=f"file holding the promotion section (default: {DEFAULT_CLAUDE_MD})")
    parser.add_argument("--no-claude-md", action="store_true", help="leave CLAUDE.md alone")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 3 if any generated file is missing, stale or orphaned")
    parser.add_argument("--diff", action="store_true", help="with --check (implied): also print a unified diff of what would change")
    parser.add_argument("--verbose", action="store_true", help=f"list every written file (default: the first {LISTED_CHANGES})")
    parser.add_argument("--force", action="store_true", help="overwrite generated files that were edited by hand")
    parser.add_argument(
        "--gate",
        default=os.environ.get("PROMOTION_GATE", ""),
        metavar="KEYS",
        help="comma-separated promotions that must be fully ready, as the site's gate (default: $PROMOTION_GATE)",
    )


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


def summary(errors: int, warnings: int, file: str) -> str:
    """The one summary line every command and format ends a report with."""
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in {file}"


def _report_error(error: PromotionError, fmt: OutputFormat, out: TextIO, err: TextIO) -> int:
    problems = error.problems()
    code = int(error.exit_code)
    file = problems[0].location.file if problems else ""
    line = summary(len(problems), 0, file) if problems else str(error)
    if fmt is OutputFormat.JSON:
        _json({"ok": False, "exit_code": code, "errors": [p.to_dict() for p in problems], "warnings": [], "summary": line}, out)
        return code
    if fmt is OutputFormat.GITHUB:
        for p in problems:
            out.write(_github_line(p, "error") + "\n")
    if problems:
        for p in problems:
            err.write(p.format() + "\n")  # a Violation formats with its rule's severity
        err.write(line + "\n")
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
        out.write(f"\n{agent['key']}: {agent['display_name']} ({agent['agent_dir']})\n")
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
    data = views.step(config, source, target, views.select_agents(config, args.agent), _gates(args))
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
        reasons = "; ".join(b["reason"] for b in agent["blockers"])
        out.write(f"  state: {agent['state']}{' (' + reasons + ')' if reasons else ''}\n")
        out.write(f"  next: {agent['next_step']}\n")
    out.write(f"\n{step_line(data)}\n")
    return ExitCode.OK


def step_line(data: dict[str, Any]) -> str:
    """``dev -> stage: blocked (0 ready, 2 blocked, 0 promoted, 0 done of 2 agents)``."""
    counts = ", ".join(f"{n} {state}" for state, n in data["counts"].items())
    return f"{data['source']} -> {data['target']}: {data['state']} ({counts} of {plural(data['total_agents'], 'agent')})"


#: What a promotion moves (the text view); JSON lists every field that differs.
_MOVED = ("engine_id", "status", "app_version")


def _difference(change: dict[str, Any], source: str, target: str) -> str:
    before, after = change["from"], change["to"]
    if change["field"] == "engine_id":
        from .model import short_engine_id

        before, after = short_engine_id(before), short_engine_id(after)
    return f"{change['field']} {source}={before} {target}={after}"


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import rules, verdict, views

    fmt = OutputFormat(args.format)
    if (args.from_env is None) != (args.to_env is None):
        raise UsageError("promotion validate: --from-env and --to-env go together")
    config = _load(args)
    agents = views.select_agents(config, args.agent)  # an unknown name is an error (exit 1) with or without a step
    gates = _gates(args)
    steps = []
    if args.from_env is not None:
        source, target = views.select_step(config, args.from_env, args.to_env)
        steps.append(rules.Step(source, target, agents, gates))
    found = verdict.judge(config, steps, gates.names)
    violations, failing, warnings, code, checked = found.violations, found.errors, found.warnings, found.exit_code, found.rules_checked
    step = None
    if steps:  # the JSON has every agent's row; the text, the verdict
        step = views.step(config, steps[0].source, steps[0].target, agents, gates, judged=steps[0]) if fmt is OutputFormat.JSON else views.step_summary(config, steps[0])
    line = summary(len(failing), len(warnings), config.file)
    if fmt is OutputFormat.JSON:
        _json(
            {
                "ok": not failing,
                "exit_code": int(code),
                "config": config.file,
                "rules_checked": checked,
                "step": step,
                "errors": [v.to_dict() for v in failing],
                "warnings": [v.to_dict() for v in warnings],
                "summary": line,
            },
            out,
        )
        return code
    if fmt is OutputFormat.GITHUB:
        for v in violations:
            out.write(_github_line(v, v.severity.value) + "\n")
    else:
        shown = violations
        if not args.verbose and len(violations) > LISTED_PROBLEMS:
            shown = [*failing, *warnings][:LISTED_PROBLEMS]  # what fails the run comes first
        for v in shown:
            err.write(v.format() + "\n")
        if len(shown) < len(violations):
            err.write(f"... and {plural(len(violations) - len(shown), 'more problem')} (--verbose prints every one, --format json lists them all)\n")
    if failing:
        if step is not None and step["state"] == "blocked":
            err.write(f"Not ready: {step_line(step)}\n")
        err.write(line + "\n")
    else:
        what = f"; {step_line(step)}" if step is not None else ""
        out.write(f"OK: {config.file} passes {plural(checked, 'rule')} ({plural(len(warnings), 'warning')}){what}\n")
    return code


def cmd_record(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import record

    engine = args.engine_id
    if args.from_deploy_log is not None:
        from . import deploylog

        name, text = deploylog.read_log(args.from_deploy_log, sys.stdin.buffer if args.from_deploy_log == "-" else None)
        engine = deploylog.engine_from_log(text, name)
    status = record.parse_status(args.status, engine is not None)
    if args.override_freeze and not args.link:
        raise UsageError("promotion record: --override-freeze needs --link (where breaking the freeze was agreed)")
    change = record.Change(args.agent, args.env, engine, status, args.by, args.link, args.date, now=_now(args.now), override_freeze=args.override_freeze)
    return _recorded(record.record(args.config, change, dry_run=args.dry_run), args, out, err)


def cmd_rollback(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import ledger, record

    engine = record.rollback_target(args.config, args.agent, args.env, args.to_engine)
    change = record.Change(args.agent, args.env, engine, "deployed", args.by, args.link, action=ledger.Action.ROLLBACK, now=_now(args.now))
    return _recorded(record.record(args.config, change, dry_run=args.dry_run), args, out, err)


def _now(value: str | None) -> str | None:
    """``--now``/PROMOTION_NOW as the ledger writes times (UTC, microseconds, Z)."""
    return None if value is None else _when(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _recorded(result: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import record

    for v in result.warnings:
        err.write(v.format() + "\n")
    entry = result.entry
    if args.dry_run:
        out.write(result.diff())
        out.write(f"--- ledger entry (not written): config/ledger/{entry.key}\n{result.entry_text}")
        out.write("dry run: nothing written\n")
        return ExitCode.OK
    out.write(f"{entry.action.value}: {entry.agent} in {entry.env}: {entry.engine_before} [{entry.status_before}] -> {entry.engine_after} [{entry.status_after}]\n")
    out.write(f"ledger: {entry.key}\n")
    message = record.commit_message(entry.agent, entry.env, result.commit_template)
    out.write(f"commit message: {message}\n")
    if not getattr(args, "docs", False):
        out.write(record.next_step(message) + "\n")
        return ExitCode.OK
    from . import generate

    try:
        done = generate.run(generate.GenerateOptions(config_path=args.config, templates_dir=DEFAULT_TEMPLATES if os.path.isdir(DEFAULT_TEMPLATES) else None))
    except PromotionError:
        # The record itself is written (above): say so before the docs' problems are reported.
        err.write("the record is written; the docs were NOT regenerated (fix the problems below, then `make docs`):\n")
        raise
    out.write(f"docs: {plural(done.written, 'file')} written or removed\n")
    out.write(record.next_step(message).replace("`make docs` (promotion generate), then ", "") + "\n")
    return ExitCode.OK


def cmd_approve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import record

    entries, skipped = record.approve(args.config, args.from_env, args.to_env, args.agent, args.by, args.link, _now(args.now))
    for problem in skipped:
        err.write(problem.format("warning") + "\n")
    for entry in entries:
        out.write(f"approve: {entry.agent} {args.from_env} -> {args.to_env} for engine {entry.engine_after}, by {entry.by}\n")
        out.write(f"ledger: {entry.key}\n")
    out.write(f"next: commit config/ledger/ ({plural(len(entries), 'new entry', 'new entries')}); an approval holds until a new {args.from_env} engine is recorded\n")
    return ExitCode.OK


def cmd_checks(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import checks

    if args.record and not args.run:
        raise UsageError("promotion checks: --record needs --run")
    plan = checks.plan(args.config, args.from_env, args.to_env)
    if not args.run:
        for item in plan.checks:
            out.write(f"  [ ] {item.name}{'  ->  ' + item.command if item.command else '  (manual)'}\n")
        out.write(f"{plural(len(plan.checks), 'check')} for {plan.source} -> {plan.target}; `--run` runs the {plural(len([c for c in plan.checks if c.command]), 'command')}\n")
        return ExitCode.OK
    results = checks.run(plan, out)
    out.write("\n" + checks.table(results))
    if args.record:
        for entry in checks.record(plan, results, args.by, _now(args.now)):
            out.write(f"ledger: {entry.key}\n")
    failed = [r for r in results if r.failed]
    if failed:
        err.write(f"{plural(len(failed), 'check')} failed: {', '.join(r.check.name for r in failed)}\n")
        return ExitCode.NOT_READY
    return ExitCode.OK


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import ledger, paths, views

    rows = views.entry_rows(ledger.history(ledger.load_entries(paths.ledger_dir(args.config)), args.agent, args.env))
    if args.format == OutputFormat.JSON.value:
        _json(rows, out)
        return ExitCode.OK
    table: list[tuple[str, ...]] = [("AT", "AGENT", "ENV", "ACTION", "ENGINE", "STATUS", "BY")]
    for r in _printable_data(rows):
        table.append((r["at"][:19] + "Z", r["agent"], r["env"], r["action"], f"{r['engine_before_short']} -> {r['engine_after_short']}", f"{r['status_before']} -> {r['status_after']}", r["by"]))
    if len(table) > 1:
        out.write(_table(table))
    out.write(f"{plural(len(rows), 'entry', 'entries')}\n")
    return ExitCode.OK


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import export, views

    config = _load(args)
    agents = views.select_agents(config, args.agent)
    out.write(export.export(config, args.env, agents, export.ExportFormat(args.export_format)))
    return ExitCode.OK


def cmd_steps(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args)
    steps = [{"from": a, "to": b, "key": f"{a}_to_{b}", "slug": f"{a}-to-{b}"} for a, b in config.consecutive_pairs()]
    if args.format == OutputFormat.JSON.value:
        _json(steps, out)
    else:
        out.write("".join(f"{s['slug']}\n" for s in steps))
    return ExitCode.OK


def _gates(args: argparse.Namespace) -> Any:
    """The ledger (by its file names: fast) and the time the gates are judged at."""
    from . import gates

    return gates.Gates.for_config(args.config, _when(args.now))


def _when(value: str | None) -> Any:
    from . import gates

    try:
        return gates.now_utc(value)
    except ValueError:
        raise UsageError(f"--now: {value!r} is not an ISO-8601 time with a zone (e.g. 2026-12-24T10:00:00Z)") from None


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
    from . import generate, parallel

    check = args.check or args.diff
    options = generate.GenerateOptions(
        config_path=args.config,
        out_dir=args.out,
        templates_dir=args.templates,
        claude_md=None if args.no_claude_md else args.claude_md,
        force=args.force,
        keep_nodes=_ENDS_PROCESS,
        workers=parallel.workers() if _ENDS_PROCESS else 1,
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
    out.write(f"{plural(result.written, 'file')} written or removed, {result.unchanged} unchanged\n")
    return ExitCode.OK


class Command:
    """One command: its help line, the function that adds its flags, the function that runs it."""

    __slots__ = ("help", "flags", "run")

    def __init__(self, help: str, flags: Any, run: Any) -> None:
        self.help = help
        self.flags = flags
        self.run = run


#: Every command, in the order --help lists them: declared once, here.
COMMANDS = {
    "show": Command("show each agent's engine, project, region and status per environment", _show_flags, cmd_show),
    "path": Command("show what a promotion step would move, its checks, approval and blockers", _path_flags, cmd_path),
    "validate": Command("check every config rule; with a step, also that no agent on it is blocked (gates included)", _validate_flags, cmd_validate),
    "approve": Command("record a manual approval of a promotion step, bound to each agent's current source engine", _approve_flags, cmd_approve),
    "checks": Command("list a step's required checks (inherited first); --run runs their commands, --record keeps the results", _checks_flags, cmd_checks),
    "record": Command("record a deploy: write the engine and status into the config in place and add a ledger entry", _record_flags, cmd_record),
    "rollback": Command("put back the engine that ran before the current one (from the ledger), status deployed", _rollback_flags, cmd_rollback),
    "history": Command("the ledger: every recorded deploy, rollback and approval, newest first", _history_flags, cmd_history),
    "export": Command("print the engines of one environment for Terraform, env files or JSON (exit 2 on a placeholder)", _export_flags, cmd_export),
    "steps": Command("list the pipeline's promotion steps, one per line (<from>-to-<to>), for scripts and CI matrices", _steps_flags, cmd_steps),
    "rules": Command("list the readiness rules", _rules_flags, cmd_rules),
    "schema": Command("print the config's JSON Schema (generated from the model)", None, cmd_schema),
    "generate": Command("render the runbook pages and the CLAUDE.md section from the config and templates", _generate_flags, cmd_generate),
}


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; return the exit code (never raises for user errors)."""
    out = out or sys.stdout
    err = err or sys.stderr
    fmt = OutputFormat.TEXT
    try:
        args = _parse(sys.argv[1:] if argv is None else argv)
        fmt = OutputFormat(getattr(args, "format", "text"))
        return int(COMMANDS[args.command].run(args, out, err))
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


def _parse(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed by a parser holding only the command it names, when it names one:
    building every command's parser costs ~2 ms (argparse looks up a translation for each
    of its own strings), a fifth of a ``validate`` on a small config. Anything the lean
    parser refuses is parsed again by the full one, so errors read as they always did."""
    only = _command_in(argv)
    if only is None:
        return build_parser().parse_args(argv)
    try:
        return build_parser(only).parse_args(argv)
    except UsageError:
        build_parser().parse_args(argv)  # raises the full parser's words for the same mistake
        raise


def _command_in(argv: list[str]) -> str | None:
    """The command ``argv`` names when only ``--config`` comes before it; else None (top-level
    ``--help``, ``--version``, a typo, no command: the full parser answers those)."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--config":
            next(tokens, None)
        elif not token.startswith("--config="):
            return token if token in COMMANDS else None
    return None


def run() -> None:
    """Console-script entry point.

    Ends with ``os._exit`` after flushing: tearing down a large config's object graph at
    interpreter exit costs more than loading it, and there is nothing left to clean up.

    The cyclic garbage collector is off for the same reason: the process is short-lived,
    the config model has no cycles, and each collection would walk every object of the
    loaded config again (at 10,000 agents, a tenth of the run).
    """
    import gc

    global _ENDS_PROCESS
    _ENDS_PROCESS = True
    gc.disable()
    # argparse passes each of its own strings through gettext, which looks for a catalog on
    # disk every time and imports ``locale`` on the first look: ~2.5 ms of a ``validate`` of
    # a small config. promotion speaks English only (its own help is English) and CPython
    # ships no catalog for argparse, so the command asks for none. (``main`` alone, as the
    # tests and the plugin call it, leaves argparse as it is.)
    argparse._ = str  # type: ignore[attr-defined]
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
