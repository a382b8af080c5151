"""A deploy's output -> the reasoning engine it created.

``promotion record --from-log deploy.log`` (and the playbook) take the engine from what
the deploy printed instead of asking an operator to copy it. The Agent Engine SDK deploy
scripts print ``   Resource Name: projects/P/locations/L/reasoningEngines/N`` and
``   Engine ID: N``; other tools print the resource name somewhere in a line (a URL, a
``...:query`` endpoint). :data:`RECOGNISED` lists what is recognised, as data, so the
playbook shows exactly that.

Pure functions: text in, values out; problems are raised as ``ConfigError`` (exit 1).
"""

from __future__ import annotations

import os
import re
from enum import Enum

from .errors import ConfigError, Location, Problem, unreadable

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import BinaryIO

#: Larger logs are refused: a deploy step's output is kilobytes; 64 MiB is a wrong file.
MAX_LOG_BYTES = 64 * 1024 * 1024
#: The name a log read from standard input (``-``) is reported under.
STDIN_NAME = "<stdin>"

_HINT_NONE = (
    "pass the output of the deploy step itself (e.g. `python deploy.py 2>&1 | tee deploy.log`), "
    "or give the engine with --engine-id projects/<project>/locations/<region>/reasoningEngines/<number>"
)
_HINT_SEVERAL = "pass the engine this deploy created with --engine-id (or a log of that deploy only)"


class MentionKind(Enum):
    """How a line named the engine."""

    RESOURCE_NAME_LINE = "resource-name-line"  # `Resource Name: projects/.../reasoningEngines/N`
    ENGINE_ID_LINE = "engine-id-line"  # `Engine ID: N`, `engine_id = N`
    RESOURCE_NAME = "resource-name"  # `projects/.../reasoningEngines/N` anywhere in a line


#: What is recognised, as (description, example line): the playbook renders this table.
RECOGNISED: tuple[tuple[str, str], ...] = (
    (
        "a `Resource Name:` line, as the Agent Engine SDK deploy scripts print it",
        "   Resource Name: projects/bobs-brain-dev/locations/us-central1/reasoningEngines/5732961048817152000",
    ),
    (
        "an `Engine ID:` line with the bare number (also `engine_id: N`, `Engine ID = N`; any case); "
        "the environment's project_id and region complete it",
        "   Engine ID: 5732961048817152000",
    ),
    (
        "a full resource name anywhere in a line; what follows it (`:query`, `/sessions/...`) is ignored",
        "POST https://us-central1-aiplatform.googleapis.com/v1/projects/bobs-brain-dev/locations/us-central1/reasoningEngines/5732961048817152000:query",
    ),
)

# Project IDs and numbers, locations: lowercase letters, digits and `-` (the model's
# patterns are stricter; PR002 checks the engine against the environment afterwards).
_RESOURCE_RE = re.compile(
    r"(?<![A-Za-z0-9_-])projects/(?P<project>[a-z0-9][a-z0-9-]*)/locations/(?P<location>[a-z0-9][a-z0-9-]*)"
    r"/reasoningEngines/(?P<number>[0-9]+)(?![0-9A-Za-z_])"
)
_RESOURCE_LINE_RE = re.compile(r"resource[ _]name\s*[:=]\s*[\"']?projects/", re.IGNORECASE)
_ENGINE_ID_RE = re.compile(r"(?<![A-Za-z0-9_])engine[ _]id\s*[:=]\s*[\"']?(?P<number>[0-9]+)(?![0-9A-Za-z_])", re.IGNORECASE)
# CSI sequences (colours, cursor moves) and OSC sequences (titles, hyperlinks).
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class EngineMention:
    """One place the log names a reasoning engine: 1-based line and column, the engine as
    printed (full resource name or bare number) and its number."""

    __slots__ = ("line", "col", "kind", "engine", "number")

    def __init__(self, line: int, col: int, kind: MentionKind, engine: str, number: str) -> None:
        self.line = line
        self.col = col
        self.kind = kind
        self.engine = engine
        self.number = number

    @property
    def is_resource_name(self) -> bool:
        return self.kind is not MentionKind.ENGINE_ID_LINE

    def __repr__(self) -> str:
        return f"EngineMention(line={self.line}, col={self.col}, kind={self.kind.name}, engine={self.engine!r})"


def clean_line(line: str) -> str:
    """``line`` without ANSI escape sequences and carriage returns."""
    if "\x1b" in line:
        line = _ANSI_RE.sub("", line)
    return line.replace("\r", "")


def find_engines(text: str) -> list[EngineMention]:
    """Every mention of a reasoning engine in ``text``, in order (line, then column).

    Columns count characters after ANSI sequences and carriage returns are removed.
    """
    found: list[EngineMention] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if "ngine" not in raw.lower():
            continue  # most log lines: one substring test instead of three regexes
        line = clean_line(raw)
        resource_line = _RESOURCE_LINE_RE.search(line)
        for match in _RESOURCE_RE.finditer(line):
            labelled = resource_line is not None and resource_line.end() - len("projects/") == match.start()
            kind = MentionKind.RESOURCE_NAME_LINE if labelled else MentionKind.RESOURCE_NAME
            found.append(EngineMention(number, match.start() + 1, kind, match.group(), match["number"]))
        for match in _ENGINE_ID_RE.finditer(line):
            found.append(EngineMention(number, match.start("number") + 1, MentionKind.ENGINE_ID_LINE, match["number"], match["number"]))
    found.sort(key=lambda mention: (mention.line, mention.col))
    return found


def distinct_engines(mentions: list[EngineMention]) -> dict[str, list[EngineMention]]:
    """The distinct engines among ``mentions`` -> their mentions, in order of first mention.

    Mentions with the same number are one engine: a bare ``Engine ID: N`` and
    ``projects/.../reasoningEngines/N``, and also two full names that differ only in the
    project (the SDK prints the project number where a script may print the project ID;
    engine numbers are 19-digit random IDs). The key is a full name: the last one on a
    ``Resource Name:`` line (the summary a deploy script prints at its end, after the SDK's
    log lines), else the first full name. The same number in two locations can't be told apart:
    those are kept as separate engines (and a bare mention of it on its own).
    """
    by_number: dict[str, list[EngineMention]] = {}
    for mention in mentions:
        by_number.setdefault(mention.number, []).append(mention)
    groups: dict[str, list[EngineMention]] = {}
    for number, same in by_number.items():
        full = [m for m in same if m.is_resource_name]
        if len({_location_of(m.engine) for m in full}) > 1:
            for mention in same:
                groups.setdefault(mention.engine, []).append(mention)
            continue
        labelled = [m for m in full if m.kind is MentionKind.RESOURCE_NAME_LINE]
        key = (labelled[-1] if labelled else full[0]).engine if full else number
        groups[key] = same
    # Order by first mention, so messages follow the log.
    return dict(sorted(groups.items(), key=lambda item: (item[1][0].line, item[1][0].col)))


def _location_of(resource: str) -> str:
    return resource.split("/")[3]


def engine_from_log(text: str, source_name: str) -> str:
    """The one reasoning engine ``text`` (a deploy's output) names: its full resource name
    when the log prints one, else the bare number.

    Raises ConfigError (exit 1) when no engine is found, or when several distinct engines
    are (one problem per engine, at its first line, naming every line it is on).
    """
    mentions = find_engines(text)
    if not mentions:
        looked_for = "`Resource Name: projects/.../reasoningEngines/N`, `Engine ID: N` or a resource name"
        raise ConfigError([Problem(Location(source_name, 1, 1), "", f"no reasoning engine found in {source_name}; looked for {looked_for}", _HINT_NONE, "deploy-log")])
    groups = distinct_engines(mentions)
    if len(groups) == 1:
        return next(iter(groups))
    problems = []
    for engine, where in groups.items():
        lines = sorted({mention.line for mention in where})
        on = f"line {lines[0]}" if len(lines) == 1 else "lines " + ", ".join(str(line) for line in lines)
        message = f"{source_name} names {len(groups)} different reasoning engines; this one, `{engine}`, is on {on}"
        problems.append(Problem(Location(source_name, where[0].line, where[0].col), "", message, _HINT_SEVERAL, "deploy-log-ambiguous"))
    raise ConfigError(problems)


def read_log(path: str, stdin: BinaryIO | None = None, *, max_bytes: int = MAX_LOG_BYTES) -> tuple[str, str]:
    """``(name to report it under, text)`` of the deploy log at ``path``; ``-`` reads ``stdin``
    (default: the process's standard input).

    Bytes that are not UTF-8 are decoded with ``errors="replace"``: logs mix tools and
    encodings, and an engine name is ASCII, so a stray byte must not hide it. A UTF-16 log
    (PowerShell's ``>``) is recognised by its byte-order mark. Raises ConfigError (exit 1)
    for a missing file, a folder, an unreadable file or a log over ``max_bytes``.
    """
    name = STDIN_NAME if path == "-" else path
    where = Location(name, 1, 1)
    try:
        if path == "-":
            if stdin is None:
                import sys

                stdin = sys.stdin.buffer
            data = stdin.read(max_bytes + 1)
        else:
            if os.path.isdir(path):
                raise ConfigError([Problem(where, "", "is a directory, not a deploy log", "pass the file the deploy's output was saved to, or - to read standard input", "io")])
            with open(path, "rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as error:
        raise unreadable(where, error, "check the path of the deploy log (or pass - and pipe the output in)", "make the deploy log readable", "check the path of the deploy log") from None
    if len(data) > max_bytes:
        limit = f"{max_bytes / 1048576:g} MiB"
        raise ConfigError([Problem(where, "", f"is larger than {limit}; larger deploy logs are refused", "pass the output of the deploy step only, or the engine itself with --engine-id", "io")])
    return name, decode_log(data)


def decode_log(data: bytes) -> str:
    """Text of a log: UTF-16 when it starts with a UTF-16 byte-order mark, else UTF-8 with
    undecodable bytes replaced (U+FFFD)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")
