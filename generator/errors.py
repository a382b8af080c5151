"""The exception tree and the one table of exit codes.

Every error a user can see is one of these classes. Each carries enough to print
``file:line:col``, the dotted config path, what is wrong and how to fix it. The CLI
and the mkdocs plugin turn them into text; nothing else prints.
"""

from __future__ import annotations

import re
from enum import IntEnum

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from collections.abc import Sequence

# Control characters and invisible format characters (zero-width, bidi overrides) from the
# config are printed as escapes: a key or value must not forge an output line, recolour
# the terminal or hide in a message. `bob\u200b` shows why it is not the key `bob`.
_UNPRINTABLE = "[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"  # compiled on first use (re caches it)


def printable(text: str) -> str:
    """``text`` with control and invisible characters written as Python escapes (``\\x1b``)."""
    return re.sub(_UNPRINTABLE, lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class ExitCode(IntEnum):
    """The exit-code contract. CI pipelines and pre-commit hooks depend on it."""

    OK = 0
    CONFIG = 1  # the config is wrong: unreadable, invalid, inconsistent in itself (PR001-PR008); a refused write
    NOT_READY = 2  # a promotion step is not ready (PR010 on --from-env/--to-env or the gate); nothing else
    STALE = 3  # generated docs are missing, stale or orphaned (generate --check)
    USAGE = 64  # bad flags (EX_USAGE from sysexits.h)


EXIT_CODE_HELP = """exit codes:
  0   ok
  1   the config is wrong: unreadable, invalid, or inconsistent in itself (rules
      PR001-PR008); also an unknown agent or environment name, a refused write
  2   a promotion step is not ready (validate --from-env/--to-env, the docs gate)
  3   generated docs are missing, stale or orphaned (generate --check)
  64  usage error (bad flags)
make turns any failure into its own exit status 2: in CI, call promotion directly."""


class Location:
    """Where a value sits: file, 1-based line and column."""

    __slots__ = ("file", "line", "col")

    def __init__(self, file: str, line: int, col: int) -> None:
        self.file = file
        self.line = line
        self.col = col

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def __repr__(self) -> str:
        return f"Location({self.file!r}, {self.line}, {self.col})"

    def sort_key(self) -> tuple[str, int, int]:
        return (self.file, self.line, self.col)


class Span:
    """The exact source text of one scalar value, for editing it in place.

    ``start``/``end`` are byte offsets into the file as read (a BOM and CRLF line endings
    included), so ``data[start:end]`` is the value as written: quotes included, anchor and
    tag left out. ``line``/``col`` are 1-based, the column in characters (as editors count).
    ``style`` is YAML's: None (plain), ``'"'``, ``"'"``, ``'|'`` or ``'>'``; ``tag`` what
    YAML resolved it to. ``aliased``: this place gets its value through an alias.
    ``anchor``: where the anchor is when the value's text is shared with another place
    (through that place's alias or this one's), else None; editing a shared text would
    change every place that uses it.
    """

    __slots__ = ("file", "path", "start", "end", "line", "col", "style", "tag", "aliased", "anchor")

    def __init__(
        self,
        file: str,
        path: str,
        start: int,
        end: int,
        line: int,
        col: int,
        style: str | None,
        tag: str,
        aliased: bool = False,
        anchor: Location | None = None,
    ) -> None:
        self.file = file
        self.path = path
        self.start = start
        self.end = end
        self.line = line
        self.col = col
        self.style = style
        self.tag = tag
        self.aliased = aliased
        self.anchor = anchor

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.col)

    def __repr__(self) -> str:
        return (
            f"Span({self.path!r}, bytes {self.start}-{self.end}, {self.file}:{self.line}:{self.col}, "
            f"style={self.style!r}, aliased={self.aliased}, anchor={self.anchor!r})"
        )


class Problem:
    """One thing wrong with an input: where, which config path, what, how to fix."""

    __slots__ = ("location", "path", "message", "hint", "code")

    def __init__(
        self,
        location: Location,
        path: str,
        message: str,
        hint: str = "",
        code: str = "config",
    ) -> None:
        self.location = location
        self.path = path
        self.message = message
        self.hint = hint
        self.code = code

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }

    def format(self, severity: str = "error") -> str:
        where = f"{printable(self.path)}: " if self.path else ""
        text = f"{printable(str(self.location))}: {severity} [{self.code}] {where}{printable(self.message)}"
        if self.hint:
            text += f"\n    fix: {printable(self.hint)}"
        return text


class PromotionError(Exception):
    """Base of every error the tool reports on purpose: carries the problems to print."""

    exit_code = ExitCode.CONFIG

    def __init__(self, problems: Sequence[Problem], fallback: str = "error") -> None:
        self._problems = list(problems)
        super().__init__(problems[0].format() if problems else fallback)

    def problems(self) -> list[Problem]:
        return self._problems


class ConfigError(PromotionError):
    """The config can't be read or does not match the model. Carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(sorted(problems, key=lambda p: p.location.sort_key()), "invalid config")


class InvalidConfig(ConfigError):
    """The config reads, but a rule that judges it alone fails (PR001-PR008, exit 1).
    Carries the violations (``rules.Violation``)."""


class EditRefused(ConfigError):
    """An in-place edit of the config is refused: the value is shared through an anchor, is a
    block scalar, or two edits overlap (exit 1). Nothing is written."""


class SelectionError(ConfigError):
    """An agent or environment named on the command line is not in the config (exit 1)."""


class UsageError(PromotionError):
    """Bad flags or arguments (exit 64). Carries the usage message, no located problem."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__([], message)


class WriteRefused(PromotionError):
    """Generate refuses to write: a hand-edited generated file, a hand-written file in the way,
    a broken CLAUDE.md marker section, or a path outside the output folder (exit 1)."""


class TemplateError(PromotionError):
    """A template is missing or broken (undefined variable, syntax error) (exit 1)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__([problem])


class NotReady(PromotionError):
    """A promotion step is not ready (exit 2). Carries the violations (``rules.Violation``)."""

    exit_code = ExitCode.NOT_READY


def unreadable(where: Location, error: OSError, missing: str, permission: str, other: str) -> ConfigError:
    """The error for an input file that can't be read: missing, not permitted, or another OS
    error, each with its own fix (exit 1)."""
    if isinstance(error, FileNotFoundError):
        message, hint = "no such file", missing
    elif isinstance(error, PermissionError):
        message, hint = "permission denied", permission
    else:
        message, hint = f"can't be read: {error.strerror or error}", other
    return ConfigError([Problem(where, "", message, hint, "io")])
