"""The promotion ledger: one YAML file per recorded event, in ``config/ledger/`` beside the config.

``promotion record`` writes an entry each time it sets an agent's engine in an
environment; ``history``, ``rollback`` and ``export`` read them. One file per entry (as
towncrier news fragments and changesets do), named

    <UTC YYYYMMDDTHHMMSS.ffffffZ>.<agent>.<env>.<action>.<engine number or none>.<6 random hex>.yaml

so names sort by time, never collide, and two branches that each record a promotion
merge in git without a conflict (they add different files). Agent keys and environment
names can't contain ``.``, so the name splits unambiguously.

Reading comes in two depths: :func:`scan` reads file *names* only (validate can afford
it on every commit), :func:`load_entries` parses every file with the config loader's
machinery, so a broken entry gets ``file:line:col``, its field, what is wrong and a fix,
and checks that each file's content agrees with its name.
"""

from __future__ import annotations

import os
import re
from enum import Enum

from . import model
from .errors import ConfigError, Location, Problem
from .kinds import IDENTIFIER_PATTERN, Bool, Choice, Map, Pattern, String
from .paths import LEDGER_DIR_NAME

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from typing import Any, TypeVar

    Named = TypeVar("Named", "Entry", "EntryName")

ENTRY_SUFFIX = ".yaml"
HEADER = "# promotion ledger entry: written by promotion record; do not edit\n"
#: Entries are a few hundred bytes; anything this large is not one.
MAX_ENTRY_BYTES = 1024 * 1024
#: What a file name's engine part says when the entry's engine has no number (a placeholder).
NO_ENGINE = "none"
SUFFIX_HEX_DIGITS = 6


class Action(Enum):
    """What an entry records."""

    RECORD = "record"  # a deploy's engine was written into the config
    ROLLBACK = "rollback"  # an earlier engine was put back
    APPROVE = "approve"  # a person approved the promotion to this environment
    CHECKS = "checks"  # the required checks ran (results in `details`)


#: Actions that set the environment's engine: history of engines is read from these only.
ENGINE_ACTIONS = (Action.RECORD, Action.ROLLBACK)  # a tuple: ``in`` compares by identity (an Enum's hash is Python code)

_NAME_PART = r"[a-z0-9][a-z0-9_-]{0,62}"
#: A time as the name writes it: fixed width, so names sort by time as plain strings.
_NAME_TIME = r"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]\.[0-9]{6}Z"
#: The time is checked, not captured: ``EntryName.at`` reads it from the name when asked.
ENTRY_NAME_PATTERN = (
    rf"^{_NAME_TIME}\.(?P<agent>{_NAME_PART})\.(?P<env>{_NAME_PART})\."
    rf"(?P<action>{'|'.join(a.value for a in Action)})\.(?P<engine>[0-9]+|{NO_ENGINE})\.(?P<suffix>[0-9a-f]{{{SUFFIX_HEX_DIGITS}}}){re.escape(ENTRY_SUFFIX)}$"
)
NAME_FORMAT = "<UTC YYYYMMDDTHHMMSS.ffffffZ>.<agent>.<env>.<action>.<engine number or none>.<6 hex digits>.yaml"
NAME_EXAMPLE = "20260120T093015.123456Z.bob.dev.record.5732961048817152000.3fa9c1.yaml"

AT_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"
COMMIT_PATTERN = r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$"

class EntryName:
    """What an entry's file name says: time, agent, environment, action, engine number."""

    __slots__ = ("name", "agent", "env", "action", "engine", "suffix")

    def __init__(self, name: str, agent: str, env: str, action: Action, engine: str | None, suffix: str) -> None:
        #: the file name; it starts with the time (fixed width), so names sort by time
        self.name = name
        self.agent = agent
        self.env = env
        self.action = action
        #: the engine number after the action, None for `none`
        self.engine = engine
        self.suffix = suffix

    @property
    def at(self) -> str:
        """UTC ISO-8601 with microseconds and Z, as in the entry's `at`, from the name's time.
        Made when asked: ``validate`` scans every entry and looks at the times of a few."""
        stamp = self.name
        return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}{stamp[15:23]}"

    def __repr__(self) -> str:
        return f"EntryName({self.name!r})"


class Entry(model.Node):
    """One ledger entry: what happened to one agent's engine in one environment, when and by
    whom, as read from (or about to be written to) its file. ``key`` is its file name."""

    key: str
    at: str = Pattern(AT_PATTERN, "When it happened: UTC, ISO-8601 with microseconds and `Z`, quoted.", example='"2026-01-20T09:30:15.123456Z"')
    agent: str = Pattern(IDENTIFIER_PATTERN, "The agent's key in the config.", example='"bob"')
    env: str = Pattern(model.ENVIRONMENT_NAME_PATTERN, "The environment's name in the config.", example='"dev"')
    action: Action = Choice(tuple(a.value for a in Action), "What was done.", example='"record"')  # the walker reads the string; parse_entry makes it the Enum
    engine_before: str = String("`engine_id` before (a resource name, a bare number or a placeholder).", example='"TODO-SET-DEV-ENGINE-ID"')
    engine_after: str = String("`engine_id` after.", example='"projects/bobs-brain-dev/locations/us-central1/reasoningEngines/5732961048817152000"')
    status_before: str = Choice(model.STATUSES, "`status` before.", example='"pending"')
    status_after: str = Choice(model.STATUSES, "`status` after.", example='"deployed"')
    by: str = String("Who did it: git's `user.name`, else the OS user.", example='"Jane Doe"')
    link: str | None = String("A link to the deploy (CI run, change request).", default=None)
    commit: str | None = Pattern(COMMIT_PATTERN, "The git commit the checkout was at when the entry was written.", default=None)
    override_freeze: bool = Bool("The change was made during a freeze, on purpose.", default=False)
    details: dict[str, str] | None = Map(
        String("A detail."), "Free details for the action, e.g. check results: keys are identifiers, values strings.", key_doc="detail key", default=None
    )

    @property
    def engine(self) -> str | None:
        """The engine number after the action (None for a placeholder)."""
        return model.engine_number(self.engine_after)

    @property
    def engine_before_number(self) -> str | None:
        return model.engine_number(self.engine_before)

    def __repr__(self) -> str:
        return f"Entry({self.key!r})"


_FIELD_NAMES = tuple(field.name for field in Entry.KIND.fields)


class PreviousEngine:
    """An engine that ran before the current one: since when, until when, and the entry that set it
    (None for the engine that ran before the first entry: when it started is not known)."""

    __slots__ = ("engine", "number", "since", "until", "entry")

    def __init__(self, engine: str, number: str, since: str | None, until: str | None, entry: Entry | None) -> None:
        self.engine = engine
        self.number = number
        self.since = since
        self.until = until
        self.entry = entry

    def __repr__(self) -> str:
        return f"PreviousEngine({self.number!r}, since={self.since!r}, until={self.until!r})"


# --- paths, people, commits ------------------------------------------------------------


def default_by(folder: str | os.PathLike[str]) -> str:
    """Who is recording: git's ``user.name`` as seen from ``folder``, else the OS user, else ``unknown``."""
    name = _git(folder, "config", "user.name")
    if name:
        return name
    import getpass

    try:
        user = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name, no passwd entry (containers)
        user = ""
    return user.strip() or "unknown"


def current_commit(folder: str | os.PathLike[str]) -> str | None:
    """The commit the git checkout at ``folder`` is at, or None (not a checkout, no commit yet, no git)."""
    head = _git(folder, "rev-parse", "--verify", "--quiet", "HEAD")
    return head if head and re.match(COMMIT_PATTERN, head) else None


def _git(folder: str | os.PathLike[str], *args: str) -> str | None:
    """git's stripped output, or None when git is missing, fails or takes too long. Never raises."""
    import subprocess

    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace").strip() or None


# --- writing ----------------------------------------------------------------------------

_last_micros = 0


def _now_micros() -> int:
    """UTC microseconds since the epoch, strictly increasing within this process, so names made
    in a tight loop (or across a clock step backwards) still sort in the order they were made."""
    import time

    global _last_micros
    now = time.time_ns() // 1000
    _last_micros = now if now > _last_micros else _last_micros + 1
    return _last_micros


def _iso_from_micros(micros: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(micros // 1_000_000, tz=datetime.UTC).replace(microsecond=micros % 1_000_000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _name_time(at: str) -> str:
    """``2026-01-20T09:30:15.123456Z`` -> ``20260120T093015.123456Z``."""
    return at[0:4] + at[5:7] + at[8:10] + "T" + at[11:13] + at[14:16] + at[17:19] + at[19:]


def entry_file_name(entry: Entry, suffix: str) -> str:
    """The file name for ``entry`` with the random ``suffix`` (6 hex digits)."""
    engine = entry.engine or NO_ENGINE
    return f"{_name_time(entry.at)}.{entry.agent}.{entry.env}.{entry.action.value}.{engine}.{suffix}{ENTRY_SUFFIX}"


def new_entry(
    *,
    agent: str,
    env: str,
    action: Action,
    engine_before: str,
    engine_after: str,
    status_before: str,
    status_after: str,
    by: str,
    link: str | None = None,
    commit: str | None = None,
    override_freeze: bool = False,
    details: dict[str, str] | None = None,
    at: str | None = None,
) -> Entry:
    """An entry stamped now (or ``at``, UTC ISO-8601 with microseconds and Z), with its file name
    (``key``) chosen. Nothing is checked here: :func:`write_entry` refuses what would not read back."""
    import secrets

    entry = Entry(Location("<new ledger entry>", 1, 1), "")
    entry.at = at if at is not None else _iso_from_micros(_now_micros())
    entry.agent = agent
    entry.env = env
    entry.action = action
    entry.engine_before = engine_before
    entry.engine_after = engine_after
    entry.status_before = status_before
    entry.status_after = status_after
    entry.by = by
    entry.link = link
    entry.commit = commit
    entry.override_freeze = override_freeze
    entry.details = dict(details) if details else None
    entry.key = entry_file_name(entry, secrets.token_hex(SUFFIX_HEX_DIGITS // 2))
    return entry


def yaml_quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that reads back as exactly ``text``.

    Backslash and quote are escaped; so is every character YAML does not allow raw or that
    a reader would take for a line break (C0/C1 controls, U+2028/U+2029, the BOM, surrogates,
    U+FFFE/U+FFFF). Everything else stays as it is, so names with accents stay readable.
    """
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"' or char == "\\":
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F or (0xA0 <= code < 0xD800 and code not in (0x2028, 0x2029)) or (0xE000 <= code < 0xFFFE and code != 0xFEFF) or code > 0xFFFF:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)


def render_entry(entry: Entry) -> str:
    """The text of ``entry``'s file: the header comment, then one line per field in the
    spec's order, every string double-quoted. Optional fields that are unset are left out."""
    lines = [HEADER]
    for name in _FIELD_NAMES:
        value: Any = getattr(entry, name)
        if value is None or value is False or value == {}:
            continue
        if isinstance(value, Action):
            value = value.value
        if value is True:
            lines.append(f"{name}: true\n")
        elif isinstance(value, dict):
            lines.append(f"{name}:\n")
            lines.extend(f"  {yaml_quote(key)}: {yaml_quote(item)}\n" for key, item in value.items())
        else:
            lines.append(f"{name}: {yaml_quote(value)}\n")
    return "".join(lines)


def write_entry(directory: str | os.PathLike[str], entry: Entry) -> Path:
    """Write ``entry`` as ``<directory>/<entry.key>`` atomically (the folder is created if needed);
    return its path.

    The rendered text is read back through :func:`parse_entry` first, so an entry that
    would not load (an agent key that is not an identifier, an empty string) is refused
    before anything is written: ConfigError (exit 1). An existing file of that name is never
    overwritten: WriteRefused (exit 1). Operating-system failures: WriteRefused.
    """
    from pathlib import Path

    from .errors import WriteRefused
    from .writer import write_atomic

    folder = Path(directory)
    path = folder / entry.key
    text = render_entry(entry)
    parse_entry(str(path), text.encode("utf-8"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WriteRefused([Problem(Location(str(folder), 1, 1), "", f"cannot create the ledger folder {folder}: {error.strerror or error}", "check that the config's folder is writable", "io")]) from error
    if os.path.lexists(path):
        # The random suffix makes this all but impossible; if it happens, keep the old entry.
        raise WriteRefused([Problem(Location(str(path), 1, 1), "", f"ledger entry {path} already exists; entries are never overwritten", "run the command again: the new entry gets another name", "ledger-exists")])
    return write_atomic(path, text.encode("utf-8"))


# --- reading: names ---------------------------------------------------------------------


def parse_name(name: str) -> EntryName | None:
    """What the file name ``name`` says, or None when it is not a ledger entry's name."""
    match = re.match(ENTRY_NAME_PATTERN, name)  # compiled on first use (re caches it): most runs read no ledger
    return None if match is None else _entry_name(name, match.groups())


_ACTION_BY_VALUE = {action.value: action for action in Action}  # a dict lookup: Action(value) is ~10x slower


def _entry_name(name: str, parts: tuple[str, ...]) -> EntryName:
    agent, env, action, engine, suffix = parts
    return EntryName(name, agent, env, _ACTION_BY_VALUE[action], None if engine == NO_ENGINE else engine, suffix)


def visible(names: Iterable[str]) -> list[str]:
    """The names of a ledger folder's listing that are entries (or must be), in their order:
    every name but those starting with ``.`` (an interrupted write's temporary file,
    ``.gitkeep``). ``scan`` reads these; the no-op check (``state``) compares them."""
    return [name for name in names if not name.startswith(".")]


def scan(directory: str | os.PathLike[str]) -> list[EntryName]:
    """Every entry of the ledger folder, from file names alone (no file is opened), oldest first.

    A missing folder is an empty ledger. Only the ``visible`` names are read; any of them
    that is not an entry's name is a problem: ConfigError (exit 1) naming each file and
    the expected pattern.
    """
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise ConfigError([Problem(Location(str(directory), 1, 1), "", "is a file; the ledger must be a folder of entries", f"move the file away: `{LEDGER_DIR_NAME}/` beside the config holds one file per entry", "ledger-name")]) from None
    except OSError as error:
        raise ConfigError([Problem(Location(str(directory), 1, 1), "", f"the ledger folder can't be read: {error.strerror or error}", "check the folder's permissions", "io")]) from None
    names = visible(sorted(names))  # the time comes first and has a fixed width: name order is time order
    found = _scan_fast(names)
    if found is not None:
        return found
    found = []
    problems: list[Problem] = []
    match = re.compile(ENTRY_NAME_PATTERN).match
    for name in names:
        parts = match(name)
        if parts is None:
            problems.append(_name_problem(directory, name))
            continue
        found.append(_entry_name(name, parts.groups()))
    if problems:
        raise ConfigError(problems)
    return found


#: The entry-name pattern, one name per line of a joined listing (``findall`` runs the whole
#: folder through the regex engine in one call instead of one ``match`` per name).
_ENTRY_LINES_PATTERN = "(?m)^(" + ENTRY_NAME_PATTERN[1:-1] + ")$"


def _scan_fast(names: list[str]) -> list[EntryName] | None:
    """The entries of ``names`` (sorted, ``visible``) when every name is an entry's name;
    None otherwise (the caller's per-name loop then reports each bad name).

    Exactly the names the per-name match accepts: with no line break inside any name, each
    line of the joined listing is one name, and every match is a whole line (the groups
    hold no line break). When every name matched, in order, they are the same entries
    the loop would make."""
    if not names:
        return []
    blob = "\n".join(names)
    if blob.count("\n") != len(names) - 1:  # a name holds a line break: the careful loop
        return None
    rows = re.findall(_ENTRY_LINES_PATTERN, blob)
    if len(rows) != len(names):
        return None  # a name that is not an entry's
    by_value = _ACTION_BY_VALUE
    return [
        EntryName(name, agent, env, by_value[action], None if engine == NO_ENGINE else engine, suffix)
        for name, agent, env, action, engine, suffix in rows
    ]


def _name_problem(directory: str | os.PathLike[str], name: str) -> Problem:
    parts = name.removesuffix(ENTRY_SUFFIX).split(".")
    why = ""
    if not name.endswith(ENTRY_SUFFIX):
        why = f" (it does not end in `{ENTRY_SUFFIX}`)"
    elif len(parts) != 7:
        why = f" (it has {len(parts)} dot-separated parts before `{ENTRY_SUFFIX}`, an entry's name has 7)"
    elif parts[4] not in _ACTION_BY_VALUE:
        why = f" (`{parts[4]}` is not an action: {', '.join(a.value for a in Action)})"
    return Problem(
        Location(os.path.join(directory, name), 1, 1),
        "",
        f"`{name}` in the ledger folder is not a ledger entry's name{why}",
        f"entries are named {NAME_FORMAT}, e.g. {NAME_EXAMPLE}; they are written by `promotion record` only: "
        "move other files out of the ledger folder (names starting with `.` are ignored)",
        "ledger-name",
    )


# --- reading: contents ------------------------------------------------------------------

def parse_entry(path: str, data: bytes, name: EntryName | None = None) -> Entry:
    """The entry in ``data`` (the bytes of the file at ``path``), checked as strictly as the
    config (duplicate and unknown keys, types, YAML 1.1 traps, tags, aliases) and against
    what its file name says. Raises ConfigError with every problem, each located."""
    from . import loader

    file_name = os.path.basename(path)
    problems: list[Problem] = []
    if name is None:
        name = parse_name(file_name)
        if name is None:
            problems.append(_name_problem(os.path.dirname(path), file_name))
    text = loader.decode_config(path, data)
    root = loader.compose(path, text)
    if root is None:
        raise ConfigError([Problem(Location(path, 1, 1), "", "the ledger entry is empty (no YAML document)", "restore the file from git: entries are written once and never edited", "empty")])
    walker = loader._Walker(path, max(loader.MIN_VISIT_BUDGET, len(data)))
    entry: Entry | None = None
    try:
        entry = walker.value(root, Entry.KIND, "", "")
    except loader._Abort:
        entry = None
    except RecursionError:
        walker.problems.append(Problem(Location(path, 1, 1), "", "the document is nested too deeply", "a ledger entry is two levels deep at most", "yaml-syntax"))
    problems.extend(walker.problems)
    if entry is not None:
        entry.key = file_name
        entry.action = Action(entry.action)
        if entry.details == {}:
            entry.details = None
        problems.extend(_check_entry(entry, name))  # name None: its problem is already reported
    if problems:
        raise ConfigError(problems)
    assert entry is not None, "the walker reports a problem for every value it refuses"
    return entry


_RENAMED_HINT = (
    "ledger entries are written once by `promotion record` and never edited or renamed: "
    "restore the file from git (`git checkout -- <file>`), or record the change as a new entry"
)


def _check_entry(entry: Entry, name: EntryName | None) -> list[Problem]:
    """What the walker can't see: a real UTC time, and content that agrees with the file name
    (when the name parses: ``name`` None was reported already)."""
    import datetime

    problems = []
    try:
        # The kind already holds it to AT_PATTERN's shape; this finds a month 13 or an hour 25
        # (fromisoformat, not strptime: 40 times quicker, and no _strptime import). Hour 24,
        # which fromisoformat takes as the next midnight from Python 3.14 on, is refused too.
        datetime.datetime.fromisoformat(entry.at[:-1])
        if entry.at[11:13] == "24":
            raise ValueError("hour 24")
    except ValueError:
        problems.append(Problem(entry.loc("at"), "at", f"`{entry.at}` is not a real time", 'write it as UTC ISO-8601, e.g. "2026-01-20T09:30:15.123456Z"', "pattern"))
    if name is None:
        return problems
    said = (
        ("at", name.at, entry.at),
        ("agent", name.agent, entry.agent),
        ("env", name.env, entry.env),
        ("action", name.action.value, entry.action.value),
        ("engine_after", name.engine or NO_ENGINE, entry.engine or NO_ENGINE),
    )
    for field, in_name, in_file in said:
        if in_name != in_file:
            what = "engine number" if field == "engine_after" else field
            problems.append(
                Problem(
                    entry.loc(field),
                    field,
                    f"the file name says {what} `{in_name}` but the entry says `{in_file}`: the file was renamed or edited after it was written",
                    _RENAMED_HINT,
                    "ledger-mismatch",
                )
            )
    return problems


def load_entries(directory: str | os.PathLike[str]) -> list[Entry]:
    """Every entry of the ledger folder, parsed and checked (see :func:`parse_entry`), oldest first.

    Problems in every file are collected and raised as one ConfigError (exit 1): first the
    names (:func:`scan`), then the contents.
    """
    import gc

    names = scan(directory)
    entries: list[Entry] = []
    problems: list[Problem] = []
    # As in the loader: the collector has nothing to free in these acyclic trees.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in names:
            path = os.path.join(directory, name.name)
            try:
                entries.append(parse_entry(path, _read_entry(path), name))
            except ConfigError as error:
                problems.extend(error.problems())
    finally:
        if was_enabled:
            gc.enable()
    if problems:
        raise ConfigError(problems)
    return entries


def _read_entry(path: str) -> bytes:
    where = Location(path, 1, 1)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_ENTRY_BYTES + 1)
    except IsADirectoryError:
        raise ConfigError([Problem(where, "", "is a folder named like a ledger entry", "move it out of the ledger folder", "io")]) from None
    except OSError as error:
        raise ConfigError([Problem(where, "", f"can't be read: {error.strerror or error}", "check the file's permissions", "io")]) from None
    if len(data) > MAX_ENTRY_BYTES:
        raise ConfigError([Problem(where, "", f"is larger than {MAX_ENTRY_BYTES // 1024} KiB, which no ledger entry is", "restore the file from git", "io")])
    return data


# --- questions the commands ask ---------------------------------------------------------


def _of(items: Iterable[Named], agent: str | None, env: str | None) -> list[Named]:
    return [item for item in items if (agent is None or item.agent == agent) and (env is None or item.env == env)]


def latest_engine(entries_or_names: Sequence[Entry] | Sequence[EntryName], agent: str, env: str) -> str | None:
    """The engine number the newest ``record`` or ``rollback`` of ``agent`` in ``env`` set
    (None when there is none, or it set a placeholder). Works on names alone (:func:`scan`)."""
    newest: Entry | EntryName | None = None
    for item in entries_or_names:
        if item.agent == agent and item.env == env and item.action in ENGINE_ACTIONS and (newest is None or item.at >= newest.at):
            newest = item
    return None if newest is None else newest.engine


def history(entries: Sequence[Named], agent: str | None = None, env: str | None = None) -> list[Named]:
    """The entries (or names) of ``agent`` in ``env`` (None: any), newest first."""
    return sorted(_of(entries, agent, env), key=lambda item: (item.at, item.key if isinstance(item, Entry) else item.name), reverse=True)


def previous_engines(entries: Sequence[Entry], agent: str, env: str, current_engine: str) -> list[PreviousEngine]:
    """For a rollback: the engines ``agent`` ran on in ``env`` before ``current_engine``, newest
    first, each once (at its latest run), with since and until when it ran.

    ``current_engine`` is the config's ``engine_id`` (resource name or bare number: engines
    are compared by number). "Before" means before the latest run of the current engine;
    if the ledger never set it (the config was edited by hand), every engine the ledger
    knows counts. The engine the first entry replaced is included, its start unknown
    (``since`` None). Placeholders are never offered.
    """
    current = model.engine_number(current_engine)
    changes = sorted((e for e in _of(entries, agent, env) if e.action in ENGINE_ACTIONS), key=lambda e: (e.at, e.key))
    # Runs in time order: (engine as written, number, since, entry that set it).
    runs: list[tuple[str, str | None, str | None, Entry | None]] = []
    if changes:
        first = changes[0]
        runs.append((first.engine_before, first.engine_before_number, None, None))
    for entry in changes:
        if runs and runs[-1][1] is not None and runs[-1][1] == entry.engine:
            continue  # the same engine recorded again: one run
        runs.append((entry.engine_after, entry.engine, entry.at, entry))
    cut = len(runs)
    for index in range(len(runs) - 1, -1, -1):
        if runs[index][1] is not None and runs[index][1] == current:
            cut = index
            break
    offered: list[PreviousEngine] = []
    seen = {current}
    for index in range(cut - 1, -1, -1):
        engine, number, since, setter = runs[index]
        if number is None or number in seen:
            continue
        seen.add(number)
        until = runs[index + 1][2] if index + 1 < len(runs) else None
        offered.append(PreviousEngine(engine, number, since, until, setter))
    return offered
