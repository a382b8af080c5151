"""Edit scalar values of a config in place, byte for byte.

The config belongs to its user: comments (also one right after the edited value),
quoting, key order, blank lines, CRLF endings and a BOM must all survive an edit. So
nothing here goes through a YAML library's dump: each edited value's span (``Node.span``,
from a config loaded with ``spans=True``) is replaced by the new value written in the
style the old one had, and every other byte is copied. The result is read again before
anyone writes it (``edit_config``): the loaded config is edited in place, each new value
read alone and then by its field's kind, when that reads the bytes exactly as a parse
would (``loader.load_edited``); else the new bytes are parsed in full. Writing is the
caller's job.

Refused (``EditRefused``, exit 1): a block scalar (``|``/``>``), a value shared through
an anchor (reached through an alias, or the anchor itself when an alias uses it: editing
its text would change every place that uses it), and edits that overlap.
"""

from __future__ import annotations

import re

from .errors import EditRefused, Problem
from .loader import STR_TAG, load_config_bytes, plain_tag

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .errors import Span
    from .model import Config

#: Characters a quoted value must not hold raw: control characters, YAML's line breaks,
#: characters libyaml does not accept, and invisible ones (a value must not hide).
_UNSAFE = "\\x00-\\x1f\\x7f-\\x9f\\xa0\\xad\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufffe\\uffff\\ud800-\\udfff"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
_DOUBLE_QUOTED_ESCAPE_RE = re.compile(f'[{_UNSAFE}"\\\\]')
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\x00": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
#: A plain scalar may not start with a YAML indicator.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
#: Nor hold a flow indicator (the value may sit in a `{...}` or `[...]`).
_FLOW_INDICATORS_RE = re.compile(r"[,\[\]{}]")


def _escape(char: str) -> str:
    escape = _ESCAPES.get(char)
    if escape is not None:
        return escape
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def double_quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar on one line."""
    return '"' + _DOUBLE_QUOTED_ESCAPE_RE.sub(lambda match: _escape(match.group()), value) + '"'


def plain_ok(value: str, tag: str = STR_TAG) -> bool:
    """Whether ``value`` written plain, where a value of ``tag`` stood, reads back as this very text.

    YAML must resolve it to a string (or to ``tag``: a plain date stays a plain date), and
    nothing in it may end the scalar early, start a comment or a mapping, or be an indicator.
    """
    if not value or value != value.strip(" ") or _UNSAFE_RE.search(value):
        return False
    if value[0] in _INDICATORS or ": " in value or " #" in value or value.endswith(":") or _FLOW_INDICATORS_RE.search(value):
        return False
    resolved = plain_tag(value)
    return resolved == STR_TAG or resolved == tag


def render(value: str, span: Span) -> str:
    """``value`` written in the style of the scalar at ``span``: double-quoted stays
    double-quoted, single-quoted stays single-quoted (unless the value needs an escape),
    plain stays plain when that reads back as the same text; anything else is double-quoted."""
    if span.style == "'" and not _UNSAFE_RE.search(value):
        return "'" + value.replace("'", "''") + "'"
    if span.style is None and plain_ok(value, span.tag):
        return value
    return double_quoted(value)


def _refusal(span: Span) -> Problem | None:
    if span.style in ("|", ">"):
        return Problem(
            span.location,
            span.path,
            f"`{span.path}` is a block scalar (`{span.style}`); it can't be edited in place",
            "edit it by hand, or write it as a one-line quoted value first",
            "edit-refused",
        )
    if span.anchor is not None:
        anchor = span.anchor
        hint = (
            "give this place its own value instead of the alias"
            if span.aliased
            else "write the value out at each place that uses the alias, then edit this one"
        )
        return Problem(
            span.location,
            span.path,
            f"`{span.path}` is shared through the anchor at line {anchor.line}, column {anchor.col}; "
            "editing it would change every place that uses it",
            hint,
            "edit-refused",
        )
    return None


def replace_scalars(data: bytes, edits: Sequence[tuple[Span, str]]) -> bytes:
    """``data`` with each span replaced by its new value in the span's style; every other
    byte unchanged. Raises EditRefused (every refusal at once) for block scalars, shared
    values and overlapping edits; ValueError when a span does not fit ``data``."""
    problems: list[Problem] = []
    ordered = sorted(edits, key=lambda edit: (edit[0].start, edit[0].end))
    for index, (span, _) in enumerate(ordered):
        if not 0 <= span.start <= span.end <= len(data):
            raise ValueError(f"{span!r} lies outside the {len(data)} bytes given")
        if span.style in ('"', "'") and not (data[span.start : span.start + 1] == data[span.end - 1 : span.end] == span.style.encode()):
            raise ValueError(f"{span!r} does not hold a quoted value in these bytes (were they changed since loading?)")
        refusal = _refusal(span)
        if refusal is not None:
            problems.append(refusal)
        if index and span.start < ordered[index - 1][0].end:
            before = ordered[index - 1][0]
            problems.append(
                Problem(
                    span.location,
                    span.path,
                    f"this edit overlaps the edit of `{before.path}` (line {before.line}, column {before.col})",
                    "edit each value once",
                    "edit-refused",
                )
            )
    if problems:
        raise EditRefused(problems)
    out: list[bytes] = []
    at = 0
    for span, value in ordered:
        out.append(data[at : span.start])
        out.append(render(value, span).encode("utf-8"))
        at = span.end
    out.append(data[at:])
    return b"".join(out)


def edit_config(path: str, data: bytes, edits: Sequence[tuple[Span, str]], *, config: Config | None = None) -> tuple[bytes, Config]:
    """Edit ``data`` (the config at ``path``, as read) in place, then load the result.

    ``config``, when given, is what ``data`` holds (loaded with spans, the spans of ``edits``
    taken from it), and may be edited in place to hold the result (``loader.load_edited``):
    read what you need from it first.

    Returns the new bytes and the config they hold (``config`` itself, or a new parse; with
    spans, so another edit can follow). A ConfigError from the new bytes propagates; so does
    an EditRefused when an edited place does not read back as its new value. Nothing is
    written.
    """
    new = replace_scalars(data, edits)
    edited = None
    if config is not None:
        from .loader import load_edited

        edited = load_edited(config, new, [(span, render(value, span)) for span, value in edits])
    config = edited if edited is not None else load_config_bytes(path, new, spans=True)
    problems = []
    for span, value in edits:
        got = _value_at(config, span.path)
        if isinstance(got, bool):
            got = "true" if got else "false"
        if got != value:
            problems.append(
                Problem(
                    span.location,
                    span.path,
                    f"after the edit, `{span.path}` reads back as {got!r}, not {value!r}",
                    "edit the value by hand",
                    "edit-refused",
                )
            )
    if problems:
        raise EditRefused(problems)
    return new, config


_PATH_PART_RE = re.compile(r"\[([0-9]+)\]|([^.\[\]]+)")


def _value_at(config: Config, path: str) -> object:
    """The model value at a dotted path such as ``agents.bob.environments.dev.engine_id``."""
    from .model import Check

    value: object = config
    for match in _PATH_PART_RE.finditer(path):
        index, name = match.groups()
        if index is not None:
            value = value[int(index)]  # type: ignore[index]
        elif isinstance(value, dict):
            value = value.get(name)
        else:
            value = getattr(value, name, None)
    if isinstance(value, Check):  # a check written as its bare name
        return value.name
    return value
