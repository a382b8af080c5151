"""YAML text -> the typed model, remembering where every value came from.

PyYAML composes the text into nodes (the C composer when libyaml is there); this
module walks the nodes against the model's declarations itself (each kind of value,
``generator/kinds.py``, reads its own nodes) instead of letting PyYAML construct Python
objects. That is how the YAML traps are caught (duplicate keys,
``no``/``on``/``0123``/``1:30`` where a string belongs, unknown tags, alias bombs,
self-referencing aliases) and how each value keeps its ``file:line:col``. It is also
faster than ``yaml.load``: PyYAML's constructor is pure Python and we skip it.

Every problem found is collected; one ``ConfigError`` carrying all of them is raised
at the end, so a user fixes a file in one round trip.
"""

from __future__ import annotations

import gc
import os
import re

import yaml

from . import model
from .errors import ConfigError, Location, Problem, Span, unreadable
from .kinds import NULL_TAG, STR_TAG, TAG, TYPE_NAMES, clip, describe, located, trap_hint

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any

    from .kinds import Kind

#: Larger files are refused before parsing (a 10,000-agent config is about 8 MiB).
MAX_CONFIG_BYTES = 32 * 1024 * 1024
#: Aliases may not blow a document up: the walk visits at most this many values, or the
#: file size in bytes if larger (a document without aliases never visits more values than
#: it has bytes). A 430-byte "billion laughs" is refused after 100,000 visits.
MIN_VISIT_BUDGET = 100_000
#: How long a config that is a pipe (FIFO) may take to produce its first bytes.
FIFO_WAIT_SECONDS = 10.0
#: The walk stops after this many problems: a file of a million unknown keys must not
#: cost gigabytes of messages. Nobody reads past the first screenfuls anyway.
MAX_PROBLEMS = 1_000

MERGE_TAG = TAG + "merge"
_ALLOWED_TAGS = frozenset(
    TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq", "merge")
)
_HIDDEN_BREAKS = "\x85\u2028\u2029"


try:  # libyaml is optional in PyYAML; fall back to the pure-Python loader
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


def _quick_resolver(base: Any) -> Any:
    """``base`` with a quicker tag resolver that gives the same tags.

    The composer asks the resolver for the tag of every node (60,000 calls for 1,000
    agents), and PyYAML's ``resolve`` concatenates two lists of candidate patterns and
    checks for path resolvers on each call. Here the candidates are joined once, by first
    character, in the same order, and the path-resolver hooks do nothing (none are
    registered: if one were, PyYAML's own resolver is kept).
    """
    if base.yaml_path_resolvers:  # pragma: no cover - nothing here registers one
        return base
    implicit = base.yaml_implicit_resolvers
    anywhere = list(implicit.get(None, []))
    by_first = {first: tuple(resolvers + anywhere) for first, resolvers in implicit.items() if first is not None}
    only_anywhere = tuple(anywhere)
    scalar, sequence = yaml.ScalarNode, yaml.SequenceNode
    scalar_tag, sequence_tag, mapping_tag = base.DEFAULT_SCALAR_TAG, base.DEFAULT_SEQUENCE_TAG, base.DEFAULT_MAPPING_TAG

    class QuickLoader(base):
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is scalar:
                if implicit[0]:
                    for tag, regexp in by_first.get(value[:1], only_anywhere):
                        if regexp.match(value):
                            return tag
                return scalar_tag
            return sequence_tag if kind is sequence else mapping_tag

        # Called around every node (120,000 calls at 1,000 agents): C callables that accept
        # the same arguments and do nothing, so no Python frame is made for each (a builtin
        # is not a descriptor: ``self.descend_resolver`` is the bound ``dict.get`` itself).
        descend_resolver: Any = {}.get  # (parent node, index) -> index; the dict stays empty
        ascend_resolver: Any = int  # () -> 0

    return QuickLoader


_Loader = _quick_resolver(_BaseLoader)


_ScalarNode = yaml.ScalarNode


class _Abort(Exception):
    """Stops the walk when going on would only cost time (alias bomb)."""


class _Walker:
    """What every kind of value shares while one document is read: the file, the visit
    budget, the problems so far, the mappings and lists being read (for cycles), and the
    reading of mappings (merge keys, duplicate and unknown keys). ``value`` reads one node
    as a kind (``generator/kinds.py``)."""

    def __init__(self, file: str, budget: int, source: SourceMap | None = None, keep_nodes: bool = True, text: str = "") -> None:
        self.file = file
        self.source = source
        self.text = text  # only read to explain a problem
        #: the objects built, when their value nodes are to be let go after the walk
        self.built: list[model.Node] | None = None if keep_nodes or source is not None else []
        self.problems: list[Problem] = []
        self.budget = budget
        self.active: set[int] = set()
        #: False when the text has no ``*``, so no alias: no mapping or list can contain itself
        #: and ``enter``/``leave`` need not track them (6,000 calls at 1,000 agents)
        self.may_cycle = not text or "*" in text

    # --- reporting ------------------------------------------------------------------
    def problem(self, node: yaml.Node, path: str, message: str, hint: str = "", code: str = "config") -> None:
        self.problems.append(Problem(located(self.file, node), path, message, hint, code))
        if len(self.problems) == MAX_PROBLEMS:
            self.problems.append(Problem(located(self.file, node), path, f"stopped after {MAX_PROBLEMS:,} problems", "fix these, then run again to see the rest", "too-many-problems"))
            raise _Abort

    def spend(self, node: yaml.Node, path: str) -> None:
        self.budget -= 1
        if self.budget < 0:
            self.problem(
                node,
                path,
                "the document expands to too many values through aliases (alias bomb?)",
                "use anchors and aliases sparingly; a document may hold at most "
                f"max({MIN_VISIT_BUDGET:,}, file size in bytes) values once aliases are expanded",
                code="yaml-alias",
            )
            raise _Abort

    def tag_ok(self, node: yaml.Node, path: str) -> bool:
        if node.tag in _ALLOWED_TAGS:
            return True
        self.problem(
            node,
            path,
            f"YAML tag `{node.tag}` is not allowed",
            "remove the tag; this config holds plain strings, booleans, lists and mappings only",
            code="yaml-tag",
        )
        return False

    # --- mappings -------------------------------------------------------------------
    def items(self, node: yaml.MappingNode, path: str) -> dict[str, tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) triples by key, in the file's order; merge keys
        applied; duplicates reported."""
        # The usual mapping: every key a plain string, none repeated, no `<<`. Anything
        # else takes the general path below, which reports each problem.
        simple: dict[str, tuple[str, yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not _ScalarNode or key_node.tag != STR_TAG:
                break
            key = key_node.value
            if key in simple:
                break
            simple[key] = (key, key_node, value_node)
        else:
            return simple
        explicit: dict[str, yaml.Node] = {}
        result: dict[str, tuple[str, yaml.Node, yaml.Node]] = {}
        merged: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merged.extend(self.merge_items(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "a key must be a plain name, not a list or mapping", "write `name: value`", "yaml-key")
                continue
            if not self.tag_ok(key_node, path):
                continue
            key = key_node.value
            if key_node.tag != STR_TAG:
                self.problem(
                    key_node,
                    f"{path}.{key}" if path else key,
                    f"key `{clip(key)}` is not read as a string by YAML ({TYPE_NAMES.get(key_node.tag, key_node.tag)})",
                    trap_hint(key_node, ""),
                    "yaml-key",
                )
                continue
            first = explicit.get(key)
            if first is not None:
                first_loc = located(self.file, first)
                self.problem(
                    key_node,
                    f"{path}.{key}" if path else key,
                    f"duplicate key `{clip(key)}` (first defined at line {first_loc.line}, column {first_loc.col}); YAML would silently keep only the last one",
                    "remove one of the two entries or merge them",
                    "yaml-duplicate-key",
                )
                continue
            explicit[key] = key_node
            result[key] = (key, key_node, value_node)
        if not merged:
            return result
        out: dict[str, tuple[str, yaml.Node, yaml.Node]] = {}
        for item in merged:
            out.setdefault(item[0], item)  # earlier merge sources win, as in YAML
        for key, item in result.items():
            out.pop(key, None)
            out[key] = item  # explicit keys override merged ones
        return out

    def merge_items(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        items: list[tuple[str, yaml.Node, yaml.Node]] = []
        for source in sources:
            # Merge keys expand aliases too: `<<: [*m, *m, ...]` nested nine deep is a
            # billion laughs, so each merged source and key costs budget like a value.
            self.spend(source, path)
            if not isinstance(source, yaml.MappingNode):
                self.problem(source, path, "`<<` must merge a mapping (or a list of mappings)", "point `<<:` at an anchored mapping, e.g. `<<: *defaults`", "yaml-merge")
                continue
            if not self.enter(source, path, "mapping"):
                continue
            try:
                merged = self.items(source, path)
            finally:
                self.leave(source)
            for _ in merged:
                self.spend(source, path)
            items.extend(merged.values())
        return items

    def comment_after_key(self, node: yaml.Node) -> str | None:
        """For an empty value written as `key: #text`: the comment YAML swallowed, else None."""
        if not (isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG and node.value == "" and self.text):
            return None
        lines = self.text.split("\n", node.start_mark.line + 1)
        line = lines[node.start_mark.line] if node.start_mark.line < len(lines) else ""
        _, colon, rest = line.partition(": ")
        rest = rest.strip()
        return rest if colon and rest.startswith("#") and len(rest) > 1 else None

    # --- values ---------------------------------------------------------------------
    def value(self, node: yaml.Node, kind: Kind, path: str, field: str) -> Any:
        """The value of ``node`` as ``kind`` reads it, or None after reporting a problem."""
        self.spend(node, path)
        if not self.tag_ok(node, path):
            return None
        return kind.load(self, node, path, field)

    def enter(self, node: yaml.Node, path: str, noun: str) -> bool:
        """Start reading a mapping or list; False (reported) when an alias makes it contain itself.
        Every True is followed by ``leave(node)``."""
        if id(node) in self.active:
            self.problem(node, path, f"an alias refers to the {noun} that contains it (a cycle)", "remove the self-referencing alias", "yaml-alias")
            return False
        self.active.add(id(node))
        return True

    def leave(self, node: yaml.Node) -> None:
        self.active.discard(id(node))

    def unknown_key(self, key_node: yaml.Node, key: str, path: str, fields: tuple[Kind, ...]) -> str | None:
        """Report a key that is none of ``fields``; return the field's current name when ``key`` is a former one."""
        import difflib

        for field in fields:
            if key in field.former:
                self.problem(
                    key_node,
                    path,
                    f"`{key}` is called `{field.name}` in schema {', '.join(model.SUPPORTED_SCHEMA_VERSIONS)}",
                    f"rename the key: {field.name}: ...",
                    "renamed-key",
                )
                return field.name
        names = [f.name for f in fields]
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else f"allowed keys: {', '.join(names)}"
        self.problem(key_node, path, f"unknown key `{clip(key)}`", hint, "unknown-key")
        return None


def _offset_location(file: str, data: bytes, offset: int) -> Location:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return Location(file, line, col)


def read_config_bytes(path: str) -> bytes:
    """The raw bytes of the config, or a ConfigError that says why they can't be read."""
    where = Location(path, 1, 1)
    try:
        if os.path.isdir(path):
            raise ConfigError([Problem(where, "", "is a directory, not a config file", "pass the YAML file, e.g. --config config/agent_engine_envs.yaml", "io")])
        size = os.path.getsize(path)
        if size > MAX_CONFIG_BYTES:
            raise ConfigError([Problem(where, "", f"is {size / 1048576:.1f} MiB; configs larger than {MAX_CONFIG_BYTES // 1048576} MiB are refused", "check that this is the right file", "io")])
        # Opened without blocking: opening a FIFO nobody writes to would hang forever. A
        # pipe (`--config <(command)`) gets FIFO_WAIT_SECONDS to produce data; then the
        # read blocks as usual.
        nonblocking = getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, os.O_RDONLY | nonblocking)
        with open(fd, "rb") as handle:
            if nonblocking:
                if _is_fifo(fd) and not _readable_within(fd, FIFO_WAIT_SECONDS):
                    raise ConfigError([Problem(where, "", f"is a pipe (FIFO) and nothing was written to it within {FIFO_WAIT_SECONDS:g} s", "pass the YAML file itself", "io")])
                os.set_blocking(fd, True)
            # read(n) allocates n bytes up front: ask for the size we expect, not the limit.
            data = handle.read(size + 1 if size else MAX_CONFIG_BYTES + 1)
            if size and len(data) > size:  # the file grew since getsize: read on, up to the limit
                data += handle.read(MAX_CONFIG_BYTES + 1 - len(data))
        if len(data) > MAX_CONFIG_BYTES:  # a pipe, or a file that grew since getsize
            raise ConfigError([Problem(where, "", f"is larger than {MAX_CONFIG_BYTES // 1048576} MiB; larger configs are refused", "check that this is the right file", "io")])
        return data
    except OSError as exc:
        raise unreadable(where, exc, "create it or pass the right path with --config", "make the file readable (chmod a+r)", "check the path") from None


def _is_fifo(fd: int) -> bool:
    import stat

    return stat.S_ISFIFO(os.fstat(fd).st_mode)


def _readable_within(fd: int, seconds: float) -> bool:
    import select

    return bool(select.select([fd], [], [], seconds)[0])


def decode_config(path: str, data: bytes) -> str:
    """UTF-8 text of the config (a BOM is allowed), or a located ConfigError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError([Problem(Location(path, 1, 1), "", "is encoded as UTF-16 (or UTF-32), not UTF-8", "save the file as UTF-8 (PowerShell's `>` writes UTF-16)", "encoding")])
    if b"\x00" in data:
        where = _offset_location(path, data, data.index(b"\x00"))
        raise ConfigError([Problem(where, "", "contains NUL bytes: this looks like a binary file, not YAML", "pass the YAML config file", "encoding")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = _offset_location(path, data, exc.start)
        raise ConfigError([Problem(where, "", f"is not valid UTF-8 (byte 0x{data[exc.start]:02x})", "save the file as UTF-8", "encoding")]) from None
    text = text[1:] if text.startswith("\ufeff") else text
    # str.find, not a regex: a character class scan of a 10,000-agent file takes 0.2 s,
    # three finds take well under a millisecond.
    found = [at for at in (text.find(char) for char in _HIDDEN_BREAKS) if at >= 0]
    if found:
        # YAML 1.1 (libyaml) counts these as line breaks: every later line number would be
        # off from what an editor shows, and in a comment the rest of the line becomes YAML.
        at = min(found)
        where = Location(path, text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1)
        message = f"contains the invisible line break U+{ord(text[at]):04X}, which YAML 1.1 reads as a new line"
        raise ConfigError([Problem(where, "", message, "delete it (in a double-quoted string, write it as an escape such as \\u2028)", "encoding")])
    return text


def compose(path: str, text: str) -> yaml.Node | None:
    """YAML nodes of the text, or a located ConfigError for YAML syntax errors."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1, 1)
        context = exc.context
        start = exc.context_mark
        if context and start and mark and start.line != mark.line:
            # An unclosed quote or bracket is only noticed lines later: name where it began.
            context += f" (which starts at line {start.line + 1}, column {start.column + 1})"
        message = " ".join(part for part in (context, exc.problem) if part)
        lines = text.split("\n")
        if exc.problem == "could not find expected ':'" and start is not None:
            # libyaml notices a missing `:` only on the next line: point at the line with the mistake.
            line = lines[start.line].strip() if start.line < len(lines) else ""
            where = Location(path, start.line + 1, start.column + 1)
            message = f"line {start.line + 1} (`{clip(line)}`) has no `:` after its key (noticed at line {mark.line + 1 if mark else start.line + 1})"
            raise ConfigError([Problem(where, "", f"YAML syntax error: {message}", "write `key: value`, with a space after the colon", "yaml-syntax")]) from None
        # libyaml's message does not always name the character; a tab is the usual culprit
        if "tab" not in message and mark and mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
            message += " (a tab character)"
        raise ConfigError([Problem(where, "", f"YAML syntax error: {message}", _syntax_hint(message), "yaml-syntax")]) from None
    except yaml.reader.ReaderError as exc:
        where = _offset_location(path, text.encode("utf-8"), len(text[: exc.position].encode("utf-8")))
        raise ConfigError([Problem(where, "", f"character {exc.character!r} is not allowed in YAML", "remove the control character", "yaml-syntax")]) from None
    except RecursionError:
        raise ConfigError([Problem(Location(path, 1, 1), "", "the document is nested too deeply", "this config is at most six levels deep", "yaml-syntax")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(Location(path, 1, 1), "", f"YAML error: {exc}", "fix the YAML syntax", "yaml-syntax")]) from None


def _syntax_hint(message: str) -> str:
    if "'\\t'" in message or "tab" in message:
        return "YAML indents with spaces only: replace the tab characters with spaces"
    if "expected a single document" in message:
        return "keep one YAML document in the file (remove the extra `---`)"
    if "mapping values are not allowed" in message:
        return "a value containing `: ` must be quoted, or a key is indented wrongly"
    if "found undefined alias" in message:
        return "define the anchor (`&name`) before using the alias (`*name`)"
    if "recursion" in message or "depth" in message:
        return "this config is at most six levels deep"
    return "check the indentation and quoting around this position"


# --- spans: where each value's text is, for editing it in place ------------------------

_BOM = b"\xef\xbb\xbf"
_BREAKS = "\r\n"
#: Patterns of the explanations only: `re` compiles them when a problem is explained, not at import.
_NON_ASCII = "[^\x00-\x7f]"


class SourceMap:
    """The source text and node graph of a loaded config, to answer ``Node.span``.

    Kept only with ``spans=True``. Nothing is computed until the first span is asked for:
    byte offsets come from PyYAML's character indexes (plus the BOM the composer never
    saw), and which values are shared through anchors from one walk over the node graph,
    done only when the text has an alias at all.
    """

    __slots__ = ("file", "text", "bom", "root", "_places", "_shared_known", "_non_ascii", "_extra_bytes", "_issued", "_shifts")

    def __init__(self, file: str, text: str, bom: int, root: yaml.Node) -> None:
        self.file = file
        self.text = text
        self.bom = bom
        self.root = root
        #: (start, end) byte offsets of each span handed out -> its node, object and field (for ``load_edited``)
        self._issued: dict[tuple[int, int], tuple[yaml.ScalarNode, model.Node, str]] = {}
        #: after ``load_edited``: the node marks index the text before the edit;
        #: (end of an edited value in that text, characters added up to there), in order
        self._shifts: list[tuple[int, int]] | None = None
        #: see _shared_places; None: no alias in the text, nothing is shared
        self._places: tuple[dict[str, tuple[yaml.Node, yaml.Node | None]], dict[int, yaml.Node]] | None = None
        self._shared_known = False
        #: character indexes of the non-ASCII characters, and the extra UTF-8 bytes before each
        self._non_ascii: list[int] | None = None
        self._extra_bytes: list[int] = [0]

    def span(self, obj: model.Node, field: str) -> Span:
        path = obj.field_path(field)
        node = obj.locations.get(field)
        if node is None:
            raise KeyError(f"`{path}` is not written in the file (its default applies)")
        if node.__class__ is not yaml.ScalarNode:
            raise ValueError(f"`{path}` is {describe(node)}, not a scalar value")
        aliased, anchor = False, None
        shared = self.places()
        if shared is not None:
            places, first_alias = shared
            entry = places.get(path)
            if entry is None or entry[0] is not node:  # a check written as a bare name
                path, entry = obj.path, places.get(obj.path)
            if entry is None or entry[0] is not node:  # pragma: no cover - the walks disagree: a bug here
                raise AssertionError(f"no span recorded for {path}")
            anchor_node = entry[1]
            aliased = anchor_node is not None
            if anchor_node is None:
                anchor_node = first_alias.get(id(node))
            anchor = located(self.file, anchor_node) if anchor_node is not None else None
        text = self.text
        mark = node.start_mark
        start, line, col = self._index(mark.index), mark.line, mark.column
        if text[start : start + 1] in ("&", "!"):  # an anchor or tag comes before the value
            start, line, col = _skip_properties(text, start, line, col)
        span = Span(
            self.file, path, self.byte_offset(start), self.byte_offset(self._index(node.end_mark.index)), line + 1, col + 1,
            node.style or None, node.tag, aliased, anchor,
        )
        self._issued[(span.start, span.end)] = (node, obj, field)
        return span

    def _index(self, index: int) -> int:
        """Character ``index`` of the text the marks were made in, in ``self.text``."""
        shifts = self._shifts
        if not shifts:
            return index
        added = 0
        for end, total in shifts:
            if end > index:
                break
            added = total
        return index + added

    def byte_offset(self, index: int) -> int:
        """The byte offset in the file as read of character ``index`` of the text."""
        positions = self._non_ascii
        if positions is None:
            positions = self._non_ascii = []
            extra = self._extra_bytes
            total = 0
            for match in re.finditer(_NON_ASCII, self.text):
                positions.append(match.start())
                total += len(match.group().encode("utf-8")) - 1
                extra.append(total)
        if not positions:
            return self.bom + index
        from bisect import bisect_left  # not at the top: validate never needs it

        return self.bom + index + self._extra_bytes[bisect_left(positions, index)]

    def places(self) -> tuple[dict[str, tuple[yaml.Node, yaml.Node | None]], dict[int, yaml.Node]] | None:
        """What ``_shared_places`` found; None when the text holds no alias (nothing is shared)."""
        if not self._shared_known:
            if "*" in self.text:
                # As in load_config_bytes: the walk makes tens of thousands of tuples and no
                # cycles, and collections over the node graph would cost more than the walk.
                was_enabled = gc.isenabled()
                gc.disable()
                try:
                    self._places = _shared_places(self.root)
                finally:
                    if was_enabled:
                        gc.enable()
            self._shared_known = True  # only once known: a failed walk must not read as "nothing shared"
        return self._places


def _skip_properties(text: str, at: int, line: int, col: int) -> tuple[int, int, int]:
    """Index, 0-based line and column of the scalar after the anchor/tag at ``at``.

    Between a property and its value there may be spaces, line breaks and comments.
    """
    end = len(text)
    while at < end:
        char = text[at]
        if char in ("&", "!"):
            while at < end and text[at] not in " \t\r\n":
                at += 1
                col += 1
        elif char in (" ", "\t"):
            at += 1
            col += 1
        elif char == "#":
            while at < end and text[at] not in _BREAKS:
                at += 1
        elif char in _BREAKS:
            at += 2 if text.startswith("\r\n", at) else 1
            line += 1
            col = 0
        else:
            break
    return at, line, col


def _first_occurrences(root: yaml.Node) -> dict[int, tuple[int, int] | None]:
    """id(node) -> its first occurrence, as (id of its parent, index among the parent's
    children; a mapping's keys and values alternate), None for the root.

    An alias gives back the very node of its anchor, so an occurrence of a node is its
    anchor when it is the node's first in document order, and an alias otherwise: a
    pre-order walk in document order, each node entered at first sight only.
    """
    sequence_node, scalar_node = yaml.SequenceNode, yaml.ScalarNode
    first: dict[int, tuple[int, int] | None] = {id(root): None}

    def enter(node: yaml.Node) -> None:
        parent = id(node)
        children = node.value if node.__class__ is sequence_node else [child for pair in node.value for child in pair]
        for index, child in enumerate(children):
            if id(child) not in first:
                first[id(child)] = (parent, index)
                if child.__class__ is not scalar_node:
                    enter(child)

    if root.__class__ is not scalar_node:
        enter(root)
    return first


def _shared_places(root: yaml.Node) -> tuple[dict[str, tuple[yaml.Node, yaml.Node | None]], dict[int, yaml.Node]]:
    """Dotted path -> (scalar node, the outermost alias on the way to it or None) for every
    scalar the model reads; and id(node) -> that alias, for the first aliased place of each
    node. A place reached without an alias shares its text when an aliased place reads
    the same node (see ``_first_occurrences``).

    The paths and merge-key precedence are those of ``_Walker`` (earlier merge sources
    win, explicit keys override merged ones); a config that loaded was walked within the
    visit budget, so expanding its aliases again is bounded too.
    """
    mapping_node, sequence_node, scalar_node = yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode
    first = _first_occurrences(root)

    def through(parent: yaml.Node, index: int, child: yaml.Node, anchor: yaml.Node | None) -> yaml.Node | None:
        """The outermost alias on the way to ``child`` (None: reached at its anchor)."""
        if anchor is not None or first[id(child)] == (id(parent), index):
            return anchor
        return child

    def items(node: yaml.Node, anchor: yaml.Node | None) -> dict[str, tuple[yaml.Node, yaml.Node | None]]:
        parent = id(node)
        explicit: dict[str, tuple[yaml.Node, yaml.Node | None]] = {}
        merged: list[tuple[str, tuple[yaml.Node, yaml.Node | None]]] = []
        index = 1
        for key_node, value_node in node.value:
            value_anchor = anchor if anchor is not None or first[id(value_node)] == (parent, index) else value_node
            index += 2
            if key_node.tag == MERGE_TAG:
                if value_node.__class__ is sequence_node:
                    for position, source in enumerate(value_node.value):
                        merged.extend(items(source, through(value_node, position, source, value_anchor)).items())
                else:
                    merged.extend(items(value_node, value_anchor).items())
            else:
                explicit[key_node.value] = (value_node, value_anchor)
        if not merged:
            return explicit
        out: dict[str, tuple[yaml.Node, yaml.Node | None]] = {}
        for key, item in merged:
            out.setdefault(key, item)
        out.update(explicit)
        return out

    found: dict[str, tuple[yaml.Node, yaml.Node | None]] = {}
    first_alias: dict[int, yaml.Node] = {}

    def visit(node: yaml.Node, path: str, anchor: yaml.Node | None) -> None:
        if node.__class__ is scalar_node:
            found[path] = (node, anchor)
            if anchor is not None and id(node) not in first_alias:
                first_alias[id(node)] = anchor
        elif node.__class__ is mapping_node:
            for key, (child, child_anchor) in items(node, anchor).items():
                visit(child, f"{path}.{key}" if path else key, child_anchor)
        else:
            for index, child in enumerate(node.value):
                visit(child, f"{path}[{index}]", through(node, index, child, anchor))

    visit(root, "", None)
    return found, first_alias


def plain_tag(text: str) -> str:
    """The tag YAML gives ``text`` written as a plain (unquoted) scalar, by this loader's resolver."""
    global _PLAIN_RESOLVER
    if _PLAIN_RESOLVER is None:
        _PLAIN_RESOLVER = _Loader("")
    return _PLAIN_RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-any-return]


_PLAIN_RESOLVER: Any = None


#: YAML node graphs kept alive for processes that end right after loading (``keep_nodes``).
_KEPT_NODES: list[yaml.Node] = []


def load_config(path: str, display: str | None = None, *, keep_nodes: bool = False, spans: bool = False) -> model.Config:
    """Read, parse and type-check the config at ``path``.

    Raises ConfigError with every problem found (each with file:line:col, the dotted
    path, what is wrong and how to fix it). Messages name the file as ``display``
    (default: ``path``), e.g. relative to the project when the path was made absolute.

    ``keep_nodes`` is for a process that ends right after (the CLI's validate, show and
    path end with ``os._exit``): the YAML nodes are kept instead of freed, since freeing
    tens of thousands of them costs ~8 ms per 1,000 agents and the exit frees nothing.

    ``spans`` keeps the source text and the node graph with the config, so that
    ``node.span(field)`` can say exactly which bytes hold a value (for editing it in place).
    """
    try:
        data = read_config_bytes(path)
    except ConfigError as exc:
        if display is not None:
            for problem in exc.problems():
                problem.location.file = display
        raise
    return load_config_bytes(display or path, data, keep_nodes=keep_nodes, spans=spans)


def load_config_bytes(path: str, data: bytes, *, keep_nodes: bool = False, spans: bool = False) -> model.Config:
    """Like load_config, for bytes already read (tests, fuzzing)."""
    text = decode_config(path, data)
    # The collector has nothing to free while we build an acyclic tree; running it over
    # tens of thousands of fresh nodes costs more than the parse.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        root = compose(path, text)
        if root is None:
            raise ConfigError([Problem(Location(path, 1, 1), "", "the file is empty (no YAML document)", "start from the shipped config/agent_engine_envs.yaml", "empty")])
        if keep_nodes:
            _KEPT_NODES.append(root)
        source = SourceMap(path, text, len(_BOM) if data.startswith(_BOM) else 0, root) if spans else None
        walker = _Walker(path, max(MIN_VISIT_BUDGET, len(data)), source, keep_nodes, text)
        config: Any = None
        try:
            config = walker.value(root, model.Config.KIND, "", "")
        except _Abort:
            config = None
        except RecursionError:
            # Appended directly: walker.problem may raise _Abort, and no handler is left here.
            walker.problems.append(Problem(located(path, root), "", "the document is nested too deeply", "this config is at most six levels deep", "yaml-syntax"))
        if config is not None:
            config.file = path
            _resolve_pairs(config)
            if walker.built:
                _drop_nodes(walker.built)
        if walker.problems:
            raise ConfigError(walker.problems)
        if config is None:  # a problem was reported for every None; defensive only
            raise ConfigError([Problem(Location(path, 1, 1), "", "invalid config", "", "config")])
        return config  # type: ignore[no-any-return]
    finally:
        if was_enabled:
            gc.enable()


def load_edited(config: model.Config, data: bytes, replaced: list[tuple[Span, str]]) -> model.Config | None:
    """``config``, edited in place to hold ``data``: its bytes with the scalar at each span
    replaced by its new text (``yamledit``), without parsing ``data`` again. Each new text is
    read alone and then by its field's kind, as a parse reads it; every other node and
    value is the one parsed before, and spans count in the new text. None (nothing changed:
    the caller then loads ``data``) when that is not certain to read ``data`` as a parse
    would: ``config`` was not loaded with ``spans=True`` or was edited before, a value spans
    lines or shares its line with anything but a comment, or a new text is not one plain or
    quoted scalar by itself. A ConfigError (the new value is wrong for its field, as a parse
    would say) leaves ``config`` as it was.
    """
    source: SourceMap | None = getattr(config, "_source", None)
    if source is None or source._shifts or len(data) > MAX_CONFIG_BYTES:
        return None
    text = source.text
    plan: list[tuple[int, int, yaml.ScalarNode, model.Node, str, str, yaml.ScalarNode]] = []
    for span, new_text in replaced:
        issued = source._issued.get((span.start, span.end))
        if issued is None:
            return None
        node, obj, field = issued
        start, end = node.start_mark.index, node.end_mark.index
        if isinstance(obj, (model.Promotion, model.Check)):
            return None  # a check's name may say "inherit" (``_resolve_pairs``): parse again
        if obj.locations.get(field) is not node or start == end or text[start : start + 1] in ("&", "!") or "\n" in new_text or "\r" in new_text:
            return None
        line_end = text.find("\n", end)
        rest = text[end : len(text) if line_end < 0 else line_end]
        if "\n" in text[start:end] or "\r" in text[start:end] or not re.match(_REST_OF_LINE, rest, re.DOTALL):
            return None
        alone = _alone(new_text, rest)
        if alone is None:
            return None
        plan.append((start, end, node, obj, field, new_text, alone))
    plan.sort(key=lambda item: item[0])
    parts: list[str] = []
    shifts: list[tuple[int, int]] = []
    at = added = 0
    for start, end, *_, new_text, _alone_node in plan:
        if start < at:
            return None  # overlapping edits: replace_scalars refuses them before this
        parts += (text[at:start], new_text)
        added += len(new_text) - (end - start)
        shifts.append((end, added))
        at = end
    parts.append(text[at:])
    new_text = decode_config(source.file, data)  # the checks a parse of ``data`` starts with
    if new_text != "".join(parts):
        return None  # ``data`` is not ``config``'s text with these replacements
    values = _read_edited(source, new_text, len(data), [(node, obj, field, alone) for _s, _e, node, obj, field, _t, alone in plan])
    for (_s, _e, _node, obj, field, _t, _a), value in zip(plan, values, strict=True):
        setattr(obj, field, value)
    source.text, source._shifts = new_text, shifts
    source._issued, source._non_ascii, source._extra_bytes = {}, None, [0]
    return config


def _read_edited(source: SourceMap, text: str, size: int, edits: list[tuple[yaml.ScalarNode, model.Node, str, yaml.ScalarNode]]) -> list[Any]:
    """Each edited node given its new value, read by its field's kind (``_Walker.value``, as
    the parse reads it); on a problem every node is put back and ConfigError raised."""
    before = [(node, node.value, node.tag, node.style) for node, _obj, _field, _alone_node in edits]
    walker = _Walker(source.file, max(MIN_VISIT_BUDGET, size), source, True, text)
    values = []
    try:
        for node, obj, field, alone in edits:
            node.value, node.tag, node.style = alone.value, alone.tag, alone.style
            values.append(walker.value(node, type(obj).KIND.by_name[field], obj.field_path(field), field))
        if walker.problems:
            raise ConfigError(walker.problems)
    except BaseException:
        for node, value, tag, style in before:
            node.value, node.tag, node.style = value, tag, style
        raise
    return values


#: What may follow an edited value on its line for ``load_edited``: spaces, a comment.
_REST_OF_LINE = r"[ \t]*(?:#.*)?\r?\Z"


def _alone(text: str, rest: str) -> yaml.ScalarNode | None:
    """The node ``text`` followed by ``rest`` (the rest of its line) is as a document of its
    own, if that is one plain or quoted scalar made of all of ``text``."""
    try:
        node = yaml.compose(text + rest, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return None
    if node.__class__ is not _ScalarNode or node.style not in (None, "", '"', "'"):
        return None
    if not node.style and ("?" in text or ":" in text):
        return None  # in a flow collection (maybe lines away) these can end a plain value: parse again
    if node.start_mark.index != 0 or node.end_mark.index != len(text):
        return None
    return node  # type: ignore[no-any-return]


def _drop_nodes(built: list[model.Node]) -> None:
    """Keep only the start mark of each value, so the node graph can be freed.

    A kept value node costs ~400 bytes (its dict, its end mark): 17 MB for 1,000 agents,
    held as long as the config is. Without spans only the start is ever asked for.
    """
    for obj in built:
        locations = obj.locations
        for key, node in locations.items():
            locations[key] = node.start_mark


def _resolve_pairs(config: model.Config) -> None:
    """Fill Promotion.source/target from keys like ``dev_to_stage`` (None if unknown)."""
    names = list(config.environments)
    by_key = {model.pair_key(a, b): (a, b) for a in names for b in names if a != b}
    for key, promotion in config.promotion.items():
        promotion.source, promotion.target = by_key.get(key, (None, None))
        promotion.legacy_inherit = None
        checks = promotion.required_checks
        match = re.match(model.LEGACY_INHERIT, checks[0].name) if checks and checks[0].command is None else None
        if match and promotion.inherit_checks_from is None and match["step"] in config.promotion and match["step"] != key:
            # The seed's `- "All dev_to_stage checks"`: inheritance, said as a check (rule PR011 warns).
            promotion.legacy_inherit = checks[0]
            promotion.inherit_checks_from = match["step"]
            promotion.required_checks = checks[1:]

