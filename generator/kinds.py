"""The kinds of value a config holds, one class each: how a value of the kind is read from
a YAML node (every check and message), how the JSON Schema states it, and what the
reference page shows of it.

A model class (``generator/model.py``) declares each of its keys once, as an instance of
one of these classes with its doc, default and example::

    project_id: str = Pattern(PROJECT_ID_PATTERN, "Google Cloud project ID.", example="bobs-brain-dev")

A key is required unless the declaration gives a ``default``. What every kind shares
(the visit budget, tags, merge and duplicate keys, cycles, collecting problems) is the
loader's walker (``generator/loader.py``), which each ``load`` is handed.
"""

from __future__ import annotations

import re

import yaml

from .errors import Location

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from collections.abc import Collection, Iterator
    from typing import Any

    from .loader import _Walker

    # For the type checker a declaration stands for the value it declares (as
    # ``dataclasses.field()`` does), so ``region: str = Pattern(...)`` type-checks.
    _Declaration = Any
else:
    _Declaration = object


# --- what YAML made of a node -----------------------------------------------------------

TAG = "tag:yaml.org,2002:"
STR_TAG = TAG + "str"
NULL_TAG = TAG + "null"
TYPE_NAMES = {
    TAG + "int": "an integer",
    TAG + "float": "a number",
    TAG + "bool": "a boolean",
    NULL_TAG: "empty (null)",
    TAG + "timestamp": "a date",
    STR_TAG: "a string",
    TAG + "map": "a mapping",
    TAG + "seq": "a list",
}
_DATE_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_BOOL_TRUE = frozenset(["true"])
_BOOL_FALSE = frozenset(["false"])
_ScalarNode = yaml.ScalarNode


def located(file: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        kind = TYPE_NAMES.get(node.tag, f"a value tagged {node.tag}")
        if node.tag == NULL_TAG:
            return "empty (null)"
        return f"{kind} (`{clip(node.value)}`)"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "a list"


def clip(text: str, limit: int = 40) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def trap_hint(node: yaml.ScalarNode, field: str) -> str:
    """Explain why YAML did not read a plain scalar as a string, and how to quote it."""
    value = node.value
    quoted = f'{field}: "{value}"' if field else f'"{value}"'
    tag = node.tag
    if tag == TAG + "bool":
        return f"YAML 1.1 reads unquoted `{value}` as a boolean; quote it: {quoted}"
    if tag == TAG + "int":
        if re.match(r"^[-+]?0[0-7_]+$", value):
            return f"YAML reads unquoted `{value}` as an octal number (leading zeros are lost); quote it: {quoted}"
        if ":" in value:
            return f"YAML 1.1 reads unquoted `{value}` as a base-60 number; quote it: {quoted}"
        return f"YAML reads unquoted `{value}` as a number; quote it: {quoted}"
    if tag == TAG + "float":
        return f"YAML reads unquoted `{value}` as a number (e.g. 3.10 becomes 3.1); quote it: {quoted}"
    if tag == TAG + "timestamp":
        return f"YAML reads unquoted `{value}` as a date; quote it: {quoted}"
    if tag == NULL_TAG:
        return f"give it a value, e.g. {field}: \"...\"" if field else "give it a value"
    return f"quote it: {quoted}"


# --- the kinds --------------------------------------------------------------------------


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a key that has none: it must be written.
REQUIRED: Any = _Required()


class Kind(_Declaration):
    """A kind of value; as a key of a model class, also the key's doc, default, example and
    ``former`` names (a config using one is told the new name). ``name`` is set by the class."""

    __slots__ = ("doc", "default", "required", "example", "former", "name")

    #: the reference page's Type column
    type_name = "string"

    def quick(self) -> tuple[tuple[str, ...] | None, re.Pattern[str] | None] | None:
        """For string kinds, what the loader's fast path checks inline: (enum or None,
        compiled pattern or None)."""
        return None

    def __init__(self, doc: str = "", *, default: Any = REQUIRED, example: str = "", former: tuple[str, ...] = ()) -> None:
        self.doc = doc
        self.default = default
        self.required = default is REQUIRED
        self.example = example
        self.former = former
        self.name = ""

    def load(self, walker: _Walker, node: yaml.Node, path: str, field: str) -> Any:
        """The value of ``node`` (its tag already checked), or None after reporting why not."""
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        """This kind in the JSON Schema."""
        raise NotImplementedError

    def allowed(self) -> str:
        """The reference page's Allowed column."""
        return ""

    def children(self) -> tuple[Kind, ...]:
        """The kinds inside a value of this kind."""
        return ()

    def entries(self, path: str) -> Iterator[tuple[str, Kind, str]]:
        """(dotted path, kind, Required column) of each key documented inside a value at ``path``."""
        return iter(())


class String(Kind):
    """A non-blank string."""

    __slots__ = ()

    def quick(self) -> tuple[tuple[str, ...] | None, re.Pattern[str] | None] | None:
        return None, None

    def load(self, walker: _Walker, node: yaml.Node, path: str, field: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR_TAG:
            comment = walker.comment_after_key(node)
            if comment is not None:
                walker.problem(
                    node,
                    path,
                    f"`{field}` is empty: `#` starts a YAML comment, so `{clip(comment)}` is not its value",
                    f'quote the value: {field}: "{clip(comment)}"',
                    "type",
                )
                return None
            hint = trap_hint(node, field) if isinstance(node, yaml.ScalarNode) else f"write `{field}: <text>`"
            walker.problem(node, path, f"expected a string, got {describe(node)}", hint, "type")
            return None
        value: str = node.value
        refused = self.refuse(value, field)
        if refused is not None:
            walker.problem(node, path, *refused)
            return None
        if not value.strip():
            walker.problem(node, path, "must not be empty", f"give `{field}` a value", "empty")
            return None
        return value

    def refuse(self, value: str, field: str) -> tuple[str, str, str] | None:
        """(message, hint, code) when ``value`` is not one of this kind's strings."""
        return None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "description": self.doc}


class Choice(String):
    """One of a fixed set of strings."""

    __slots__ = ("values",)

    def __init__(self, values: tuple[str, ...], doc: str, **field: Any) -> None:
        super().__init__(doc, **field)
        self.values = values

    def quick(self) -> tuple[tuple[str, ...] | None, re.Pattern[str] | None] | None:
        return self.values, None

    def refuse(self, value: str, field: str) -> tuple[str, str, str] | None:
        if value in self.values:
            return None
        listed = ", ".join(self.values)
        return f"`{clip(value)}` is not one of: {listed}", f"use one of: {listed}", "enum"

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "enum": list(self.values)}

    def allowed(self) -> str:
        return " | ".join(self.values)


class Supported(Choice):
    """One of the format versions this tool reads: another is not a typo but a newer (or older) file."""

    __slots__ = ()

    def refuse(self, value: str, field: str) -> tuple[str, str, str] | None:
        if value in self.values:
            return None
        return (
            f"schema version `{clip(value)}` is not supported; this version of the tool reads: {', '.join(self.values)}",
            "migrate the file to a supported schema version, or use the tool version that matches it",
            "enum",
        )


class Pattern(String):
    """A string matching a regular expression."""

    __slots__ = ("pattern", "_regex")

    def __init__(self, pattern: str, doc: str, **field: Any) -> None:
        super().__init__(doc, **field)
        self.pattern = pattern
        self._regex: re.Pattern[str] | None = None  # compiled on first use, not at import

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            self._regex = re.compile(self.pattern)
        return self._regex

    def quick(self) -> tuple[tuple[str, ...] | None, re.Pattern[str] | None] | None:
        return None, self.regex

    def refuse(self, value: str, field: str) -> tuple[str, str, str] | None:
        if self.regex.match(value):
            return None
        return f"`{clip(value)}` is not a valid {field or 'value'}", f"{self.doc} It must match {self.pattern}", "pattern"

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "pattern": self.pattern}

    def allowed(self) -> str:
        return self.pattern


DURATION_PATTERN = r"^[1-9][0-9]{0,5}[mhd]$"
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400}


class Duration(Pattern):
    """A length of time: a whole number and a unit, `m` (minutes), `h` (hours) or `d` (days), e.g. `24h`."""

    __slots__ = ()

    def __init__(self, doc: str, **field: Any) -> None:
        super().__init__(DURATION_PATTERN, doc, **field)

    def refuse(self, value: str, field: str) -> tuple[str, str, str] | None:
        if self.regex.match(value):
            return None
        return f"`{clip(value)}` is not a duration", f"write a whole number and a unit, m, h or d: e.g. `{field}: 24h` or `{field}: 30m`", "pattern"


def duration_seconds(text: str) -> int:
    """``24h`` -> 86400 (a value the Duration kind accepted)."""
    return int(text[:-1]) * _DURATION_UNITS[text[-1]]


def duration_words(text: str) -> str:
    """``24h`` -> ``24 hours``, ``1d`` -> ``1 day``: how pages say it."""
    count, unit = int(text[:-1]), {"m": "minute", "h": "hour", "d": "day"}[text[-1]]
    return f"{count} {unit}{'' if count == 1 else 's'}"


class Bool(Kind):
    """`true` or `false` (YAML 1.1's `yes`/`no`/`on`/`off` are refused as ambiguous)."""

    __slots__ = ()
    type_name = "boolean"

    def load(self, walker: _Walker, node: yaml.Node, path: str, field: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == TAG + "bool":
            word = node.value.lower()
            if word in _BOOL_TRUE:
                return True
            if word in _BOOL_FALSE:
                return False
            # yes/no/on/off: YAML 1.1 reads them as booleans, YAML 1.2 and other tools as strings
            meant = "true" if word in ("yes", "on", "y") else "false"
            walker.problem(
                node,
                path,
                f"`{clip(node.value)}` is ambiguous: YAML 1.1 reads it as {meant}, YAML 1.2 as the string `{clip(node.value)}`",
                f"write `{field}: {meant}`",
                "type",
            )
            return None
        walker.problem(node, path, f"expected true or false, got {describe(node)}", f"write `{field}: true` or `{field}: false`", "type")
        return None

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean", "description": self.doc}


class Date(Kind):
    """A date that exists, YYYY-MM-DD, quoted or not; the value is its ISO text."""

    __slots__ = ()
    type_name = "date"

    def load(self, walker: _Walker, node: yaml.Node, path: str, field: str) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag in (TAG + "timestamp", STR_TAG):
            match = _DATE_RE.match(node.value)
            if match:
                import datetime

                try:
                    datetime.date(int(match[1]), int(match[2]), int(match[3]))
                    return node.value
                except ValueError as exc:
                    walker.problem(node, path, f"the date `{node.value}` does not exist ({exc})", f"write a real date, e.g. `{field}: 2025-12-11`", "type")
                    return None
        walker.problem(node, path, f"expected a date YYYY-MM-DD, got {describe(node)}", f"write e.g. `{field}: 2025-12-11`", "type")
        return None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date", "description": self.doc}


class _Nested(Kind):
    """A mapping or list: the node must be one, and must not contain itself through an alias."""

    __slots__ = ()
    node_class: type[yaml.Node] = yaml.MappingNode
    noun = "mapping"

    def load(self, walker: _Walker, node: yaml.Node, path: str, field: str) -> Any:
        if not isinstance(node, self.node_class):
            walker.problem(node, *self.expected(node, path, field), "type")
            return None
        if not walker.may_cycle:
            return self.read(walker, node, path, field)
        if not walker.enter(node, path, self.noun):
            return None
        try:
            return self.read(walker, node, path, field)
        finally:
            walker.leave(node)

    def expected(self, node: yaml.Node, path: str, field: str) -> tuple[str, str, str]:
        """(path, message, hint) for a node of the wrong shape."""
        raise NotImplementedError

    def read(self, walker: _Walker, node: Any, path: str, field: str) -> Any:
        raise NotImplementedError


def _kind(declared: Any) -> Kind:
    """A kind, or the kind of a model class."""
    if isinstance(declared, Kind):
        return declared
    return declared.KIND


class List(_Nested):
    """A list of values of one kind."""

    __slots__ = ("items",)
    node_class = yaml.SequenceNode
    noun = "list"
    type_name = "list"

    def __init__(self, items: Any, doc: str, **field: Any) -> None:
        super().__init__(doc, **field)
        self.items = _kind(items)

    def expected(self, node: yaml.Node, path: str, field: str) -> tuple[str, str, str]:
        return path, f"expected a list, got {describe(node)}", f"write `{field}:` followed by `- item` lines"

    def read(self, walker: _Walker, node: yaml.SequenceNode, path: str, field: str) -> list[Any]:
        out = []
        items = self.items
        for index, item in enumerate(node.value):
            value = walker.value(item, items, f"{path}[{index}]", field)
            if value is not None:
                out.append(value)
        return out

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "description": self.doc, "items": self.items.schema()}

    def children(self) -> tuple[Kind, ...]:
        return (self.items,)

    def entries(self, path: str) -> Iterator[tuple[str, Kind, str]]:
        item_path = f"{path}[]"
        yield item_path, self.items, ""
        yield from self.items.entries(item_path)


#: Map keys become file names and URLs: keep them boring.
IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)
#: Names Windows refuses as file names, whatever the extension or case.
RESERVED_NAMES = frozenset(
    ["con", "prn", "aux", "nul", "index"]
    + [f"com{i}" for i in range(10)]
    + [f"lpt{i}" for i in range(10)]
)


def safe_identifier(key: str) -> bool:
    return bool(IDENTIFIER_RE.match(key)) and key not in RESERVED_NAMES


class Map(_Nested):
    """Entries of one kind under keys that are safe identifiers (and match ``key_pattern``,
    whose ``key_rule`` says why not), at least ``min_items`` of them."""

    __slots__ = ("values", "min_items", "key_doc", "key_pattern", "key_rule", "_key_re")
    type_name = "mapping"

    def __init__(
        self, values: Any, doc: str, *, key_doc: str, min_items: int = 0, key_pattern: str | None = None, key_rule: str = "", **field: Any
    ) -> None:
        super().__init__(doc, **field)
        self.values = _kind(values)
        self.min_items = min_items
        self.key_doc = key_doc
        self.key_pattern = key_pattern
        self.key_rule = key_rule
        self._key_re: re.Pattern[str] | None = None  # compiled on first use, not at import

    def expected(self, node: yaml.Node, path: str, field: str) -> tuple[str, str, str]:
        return (
            path,
            f"expected a mapping of {self.key_doc} to entries, got {describe(node)}",
            f"write `{field}:` followed by indented `<{self.key_doc}>:` entries",
        )

    def read(self, walker: _Walker, node: yaml.MappingNode, path: str, field: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        values = self.values
        keyed = isinstance(values, Object) and values.keyed  # a model object learns its key
        entries = walker.items(node, path)
        if len(entries) < self.min_items:
            walker.problem(node, path, f"`{field}` is empty", f"add at least one {self.key_doc}", "empty")
        for key, key_node, value_node in entries.values():
            child = f"{path}.{key}"
            if not self.key_ok(walker, key, key_node, child):
                continue
            value = walker.value(value_node, values, child, key)
            if value is not None:
                if keyed:
                    value.key = key
                out[key] = value
        return out

    def _compile_key_pattern(self) -> re.Pattern[str]:
        self._key_re = re.compile(self.key_pattern or "")
        return self._key_re

    def key_ok(self, walker: _Walker, key: str, key_node: yaml.Node, path: str) -> bool:
        if not safe_identifier(key):
            walker.problem(
                key_node,
                path,
                f"{self.key_doc} `{clip(key)}` is not a safe identifier (it becomes a file name and a URL)",
                "use 1-63 lowercase ASCII letters, digits, `-` and `_`, starting with a letter or digit; "
                "not a reserved name (index, con, nul, aux, prn, com0-com9, lpt0-lpt9)",
                "identifier",
            )
            return False
        if self.key_pattern is not None and not (self._key_re or self._compile_key_pattern()).match(key):
            walker.problem(key_node, path, f"{self.key_doc} `{clip(key)}` {self.key_rule}", f"rename the {self.key_doc}", "identifier")
            return False
        return True

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "description": self.doc,
            "minProperties": self.min_items,
            "propertyNames": {"pattern": self.key_pattern or IDENTIFIER_PATTERN, "not": {"enum": sorted(RESERVED_NAMES)}},
            "additionalProperties": self.values.schema(),
        }

    def children(self) -> tuple[Kind, ...]:
        return (self.values,)

    def entries(self, path: str) -> Iterator[tuple[str, Kind, str]]:
        key = self.key_doc if self.key_doc.startswith("<") else f"<{self.key_doc}>"
        return self.values.entries(f"{path}.{key}")


class Object(_Nested):
    """A mapping of declared keys, read into an instance of a model class (``cls``): its
    ``fields`` are the class's declarations, its doc the class's docstring. The JSON Schema
    refers to it as ``#/$defs/<schema_name>`` when it has one."""

    __slots__ = ("cls", "fields", "by_name", "quick_fields", "keyed", "schema_name")
    type_name = "mapping"

    def __init__(self, cls: type, fields: tuple[Kind, ...], schema_name: str | None = None) -> None:
        super().__init__(" ".join((cls.__doc__ or "").split()))
        self.cls = cls
        self.fields = fields
        self.by_name = {field.name: field for field in fields}
        #: string keys the fast path checks inline, made on the first read (their patterns
        #: are compiled then: a kind never read, such as a ledger entry's, compiles none)
        self.quick_fields: dict[str, tuple[tuple[str, ...] | None, re.Pattern[str] | None]] | None = None
        #: an entry of a map: the map sets its ``key``
        self.keyed = "key" in getattr(cls, "__slots__", ())
        self.schema_name = schema_name

    def expected(self, node: yaml.Node, path: str, field: str) -> tuple[str, str, str]:
        names = ", ".join(f.name for f in self.fields if f.required)
        return path or "(top level)", f"expected a mapping with keys {names}, got {describe(node)}", "write one `key: value` per line"

    def read(self, walker: _Walker, node: yaml.MappingNode, path: str, field: str) -> Any:
        obj = self.cls(located(walker.file, node), path, walker.source)
        if walker.built is not None:
            walker.built.append(obj)
        entries = walker.items(node, path)
        renamed: set[str] = set()
        ok = self.fill(walker, obj, entries, path, renamed)
        ok = self.complete(walker, obj, node, path, entries.keys() | renamed if renamed else entries) and ok
        return obj if ok else None

    def fill(self, walker: _Walker, obj: Any, entries: dict[str, tuple[str, yaml.Node, yaml.Node]], path: str, renamed: set[str]) -> bool:
        """Set the keys written in the file; False when one was refused. A key that is a
        known key misspelt goes into ``renamed`` (its rename was reported)."""
        quick_fields, by_name, locations = self.quick_fields, self.by_name, obj.locations
        if quick_fields is None:
            quick_fields = self.quick_fields = {field.name: quick for field in self.fields if (quick := field.quick()) is not None}
        ok = True
        for key, key_node, value_node in entries.values():
            # Most values are plain strings that pass: check them here, as String.load
            # would, without the calls. Anything else goes through walker.value, which
            # reports the exact problem. Each value keeps its node: locations and spans
            # are made from it only when asked for.
            quick = quick_fields.get(key)
            if quick is not None and value_node.__class__ is _ScalarNode and value_node.tag == STR_TAG and walker.budget > 0:
                text = value_node.value
                enum, pattern = quick
                if (enum is None or text in enum) and (pattern is None or pattern.match(text)) and text and not text.isspace():
                    walker.budget -= 1
                    setattr(obj, key, text)
                    locations[key] = value_node
                    continue
            child = f"{path}.{key}" if path else key
            declared = by_name.get(key)
            if declared is None:
                meant = walker.unknown_key(key_node, key, child, self.fields)
                if meant is not None:
                    renamed.add(meant)  # one problem (the rename), not also "required key missing"
                ok = False
                continue
            value = walker.value(value_node, declared, child, key)
            if value is None:
                ok = False
                continue
            setattr(obj, key, value)
            locations[key] = value_node
        return ok

    def complete(self, walker: _Walker, obj: Any, node: yaml.Node, path: str, seen: Collection[str]) -> bool:
        """Report the required keys not in ``seen``, give the others their defaults."""
        ok = True
        for declared in self.fields:
            name = declared.name
            if name in seen:
                continue
            if declared.required:
                example = f" e.g. `{name}: {declared.example}`" if declared.example else ""
                walker.problem(
                    node,
                    f"{path}.{name}" if path else name,
                    f"required key `{name}` is missing",
                    f"add{example or ' `' + name + ':`'} ({declared.doc.rstrip('.')})",
                    "missing",
                )
                ok = False
            else:
                setattr(obj, name, declared.default)
        if self.keyed:
            obj.key = ""  # set by the enclosing map
        return ok

    def schema(self) -> dict[str, Any]:
        return {"$ref": f"#/$defs/{self.schema_name}"} if self.schema_name else self.definition()

    def definition(self) -> dict[str, Any]:
        """The schema itself (what ``$defs`` holds)."""
        return self.object_schema()

    def object_schema(self) -> dict[str, Any]:
        properties = {}
        for declared in self.fields:
            schema = declared.schema()
            if not declared.required and declared.default is not None:
                schema["default"] = declared.default
            properties[declared.name] = schema
        return {
            "type": "object",
            "description": self.doc,
            "additionalProperties": False,
            "required": [f.name for f in self.fields if f.required],
            "properties": properties,
        }

    def children(self) -> tuple[Kind, ...]:
        return self.fields

    def entries(self, path: str) -> Iterator[tuple[str, Kind, str]]:
        for declared in self.fields:
            child = f"{path}.{declared.name}" if path else declared.name
            yield child, declared, "yes" if declared.required else "no"
            yield from declared.entries(child)


class Shorthand(Object):
    """An object that may also be written as a plain string, the value of one of its keys
    (``short``; the others take their defaults): a check is ``- Unit tests passing`` or
    ``- {name: Unit tests passing, command: make test}``."""

    __slots__ = ("short",)
    type_name = "string or mapping"

    def __init__(self, cls: type, fields: tuple[Kind, ...], schema_name: str | None = None, *, short: str) -> None:
        super().__init__(cls, fields, schema_name)
        self.short = self.by_name[short]
        assert not [f for f in fields if f.required and f is not self.short], f"{cls.__name__}: only `{short}` may be required"

    def load(self, walker: _Walker, node: yaml.Node, path: str, field: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return super().load(walker, node, path, field)
        short = self.short
        value = short.load(walker, node, path, field)
        if value is None:
            return None
        obj = self.cls(located(walker.file, node), path, walker.source)
        setattr(obj, short.name, value)
        obj.locations[short.name] = node
        if walker.built is not None:
            walker.built.append(obj)
        for declared in self.fields:
            if declared is not short:
                setattr(obj, declared.name, declared.default)
        return obj

    def definition(self) -> dict[str, Any]:
        as_string = {key: value for key, value in self.short.schema().items() if key != "description"}
        return {"description": self.doc, "oneOf": [as_string, self.object_schema()]}


#: What ``link_to`` in ``generator/render.py`` makes a link of (its ``_HTTP_URL_RE``): a URL
#: the pages may link to.
WEB_URL_PATTERN = r"""^https?://[^\s<>"'`\\]+$"""
#: A path inside the repository: relative, `/`-separated plain names, no `..` and no `:`
#: (so no `javascript:` or `C:`); a folder may end with `/`.
REPO_PATH_PATTERN = r"^(?!.*(?:^|/)\.\.?(?:/|$))[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*/?$"


class WebUrlOrPath(Pattern):
    """An http(s) URL, or a path inside the repository (`scripts/deploy.py`): pages link to
    the one and show the other as code."""

    __slots__ = ()

    def __init__(self, doc: str, **field: Any) -> None:
        super().__init__(f"(?:{WEB_URL_PATTERN})|(?:{REPO_PATH_PATTERN})", doc, **field)

    def refuse(self, value: str, field: str) -> tuple[str, str, str] | None:
        if self.regex.match(value):
            return None
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value) and not value.startswith(("http://", "https://")):
            why = "only http and https URLs are linked"
        elif value.startswith(("http://", "https://")):
            why = "a URL may not hold spaces, quotes, backticks, `<`, `>` or backslashes"
        else:
            why = "a repository path is relative (no leading `/`), without `.`/`..` parts, made of letters, digits, `.`, `_`, `-` and `/`"
        return (
            f"`{clip(value)}` is neither an http(s) URL nor a repository path: {why}",
            f"write e.g. `{field}: https://example.com/runbook` or `{field}: scripts/promote_agent_engine_config.py`",
            "pattern",
        )

    def allowed(self) -> str:
        return "http(s) URL, repository path"


#: The placeholders a commit message template may hold.
COMMIT_PLACEHOLDERS = ("agent", "env")
_PLACEHOLDER = r"\{[^{}]*\}?|\}"  # compiled by `re` when a message is refused, not at import


class CommitTemplate(Pattern):
    """A one-line commit message with `{agent}` and `{env}` placeholders, e.g.
    `config: update {agent} {env} engine ID after deployment`. It is printed inside
    `git commit -m "..."`, so `"`, `` ` ``, `$` and `\\` are refused too."""

    __slots__ = ()

    def __init__(self, doc: str, **field: Any) -> None:
        names = "|".join(re.escape("{" + name + "}") for name in COMMIT_PLACEHOLDERS)
        super().__init__(rf"""^(?:[^{{}}"`$\\\x00-\x1f\x7f]|{names})+$""", doc, **field)

    def refuse(self, value: str, field: str) -> tuple[str, str, str] | None:
        if self.regex.match(value):
            return None
        allowed = " and ".join(f"`{{{name}}}`" for name in COMMIT_PLACEHOLDERS)
        for match in re.finditer(_PLACEHOLDER, value):
            if match.group()[1:-1] not in COMMIT_PLACEHOLDERS or match.group()[-1] != "}":
                return (
                    f"unknown placeholder `{clip(match.group())}` in `{field}`: only {allowed} are replaced",
                    f"use {allowed}, e.g. `{field}: \"config: update {{agent}} {{env}} engine ID after deployment\"`",
                    "pattern",
                )
        bad = next(char for char in value if char in '"`$\\' or ord(char) < 0x20 or ord(char) == 0x7F)
        return (
            f"`{field}` holds {clip(repr(bad))}: the message is printed inside `git commit -m \"...\"` on one line",
            "leave out double quotes, backticks, `$`, backslashes and line breaks",
            "pattern",
        )

    def allowed(self) -> str:
        return "one line; {agent}, {env}"
