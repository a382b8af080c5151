"""The Jinja environment and model -> {page path: Markdown text}.

Config text is data, never markup. Every ``{{ }}`` goes through ``finalize``, which
escapes only what Markdown (with mkdocs.yml's extensions) would act on where it stands
and turns newlines into ``<br>``, so the pages read like Markdown a person wrote (the
rules are next to ``_INLINE_RE``). Templates opt out only through the filters below,
each of which escapes for its own context and returns ``Markup``.
Templates run in Jinja's sandbox with ``StrictUndefined``: a typo fails loudly.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from . import deploylog, lifecycle, model, pages, record, rules, schema, views
from .errors import Location, Problem, TemplateError
from .kinds import duration_words
from .model import Config
from .paths import builtin_templates_dir
from .text import plural

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from functools import _lru_cache_wrapper

try:  # Jinja 3.1's constant folding for a visitor; another Jinja may lack it (folding is an optimization)
    from jinja2.compiler import optimizeconst
except ImportError:  # pragma: no cover - another Jinja

    def optimizeconst(f: Any) -> Any:  # type: ignore[misc]
        return f

_T = TypeVar("_T")

_CACHES: list[_lru_cache_wrapper[Any]] = []


def _cached(func: Callable[..., _T]) -> _lru_cache_wrapper[_T]:
    """``functools.cache``, registered so that ``clear_caches`` empties it with the others."""
    wrapped = cache(func)
    _CACHES.append(wrapped)
    return wrapped


def _markup(text: str) -> Markup:
    """``Markup(text)`` for a ``str``: the same value, without ``Markup.__new__``'s ``__html__``
    check (a plain string has none), which costs more than the filter itself."""
    return _new_str(Markup, text)


_new_str = str.__new__

_VERBATIM_RE = re.compile(r"^[A-Za-z0-9 ._/-]*$")

# What Markdown (Python-Markdown with mkdocs.yml's extensions) would act on, and how each
# one is made inert. A backslash escape where Python-Markdown accepts one (its
# ESCAPED_CHARS), an entity otherwise; everything else stays as written so the generated
# pages read (and diff) like Markdown a person wrote.
#
# Anywhere: `<` (raw HTML, autolinks, comments, markers, `--8<--`), backticks, `*`, `[`
# `]` (links, images, task boxes, [TOC]), `\`; `{` (attr_list; an entity, so no `{{` or
# `{%` is left for a macro plugin either) and `|` (tables split on `\|` in the source but
# not on the entity) as entities; `&` only where it could start
# an entity; `_` only at a word edge (smart emphasis ignores intraword `_`); `:` only
# where `:name:` could be an emoji shortcode; the first of `==` `~~` `^^` `++` (mark,
# tilde/fences, caret, keys); and the shapes of a script URL or an event handler
# (`javascript:`, `onclick=`), which no Markdown runs but which must never reach a page
# ready to paste into HTML.
_ALWAYS = {"<": "&lt;", "`": "\\`", "|": "&#124;", "[": "\\[", "]": "\\]", "*": "\\*", "\\": "\\\\", "{": "&#123;", "\r": ""}
_DOUBLED = {"=": "&#61;", "~": "&#126;", "^": "&#94;", "+": "\\+"}
_INLINE_RE = re.compile(
    r"[<`|\[\]*\\{\r]"
    r"|\n"
    r"|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]"
    r"|&(?=#|[A-Za-z0-9]+;|$)"
    r"|(?<![^\W_])_|_(?![^\W_])"  # as _EDGE_UNDERSCORE_RE
    r"|(?i:\b(?:java|vb)script):|:(?=[+\-\w]+:)"
    r"|(?i:\bon[a-z]+)=|=(?==)|~(?=~)|\^(?=\^)|\+(?=\+)"
)
# Only at the start of a value (the templates put some values at the start of a line):
# heading `#`, quote `>`, list `-` `+` `1.` `1)`, setext/hr `=` `-`, admonition `!!!`,
# details `???`, and leading whitespace (an indented code block).
_LINE_START_RE = re.compile(r"[ \t#>+=\-]|!!!|\?\?\?|[0-9]+[.)](?=[ \t]|$)")
_LINE_START = {" ": "&#32;", "\t": "&#9;", "#": "\\#", ">": "\\>", "+": "\\+", "-": "\\-", "=": "&#61;", "!": "\\!", "?": "&#63;", ".": "\\.", ")": "\\)"}
# Only at the end: trailing whitespace (two spaces before a line end are a hard break) and
# `#` (a heading drops its trailing hashes).
_LINE_END = {" ": "&#32;", "\t": "&#9;", "#": "\\#"}
# Fast path: nothing above can apply (most statuses, names, regions, descriptions, and
# identifiers whose `_` are all intraword).
_QUIET_RE = re.compile(r"[^<`|\[\]*\\{\r\n\x00-\x08\x0b-\x0c\x0e-\x1f\x7f&:=~^+]*")
_EDGE_UNDERSCORE_RE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_QUIET_START = frozenset(" \t#>+=-!?0123456789")

# Inside a double-quoted attribute of inline HTML the tag is passed through as written,
# so backslash escapes would show; but the table splitter and the inline patterns that run
# before raw HTML (code, escapes, links, autolinks) still see the text. Entities only.
_ATTR = {'"': "&quot;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "&#96;", "|": "&#124;", "[": "&#91;", "]": "&#93;", "\\": "&#92;", "{": "&#123;", "}": "&#125;", "\n": "&#10;", "\r": ""}
_ATTR_RE = re.compile(
    r"[\"&<>`|\[\]\\{}\n\r]"
    r"|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]"
    r"|(?i:\b(?:java|vb)script):|:(?=[+\-\w]+:)"
    r"|(?i:\bon[a-z]+)=|=(?==)|~(?=~)|\^(?=\^)|\+(?=\+)"
)

#: Text without any character an ``_ATTR_RE`` match needs (each of its patterns holds one).
_ATTR_QUIET_RE = re.compile(r"[^\"&<>`|\[\]\\{}\n\r\x00-\x1f\x7f:=~^+]*")


def _entity(char: str) -> str:
    return f"&#{ord(char)};"


def _inline(match: re.Match[str]) -> str:
    char = match.group()
    if len(char) > 1:  # `javascript:` or `onclick=`: the word stays, its `:`/`=` goes
        return char[:-1] + _entity(char[-1])
    if char in _ALWAYS:
        return _ALWAYS[char]
    if char == "\n":
        return "<br>"
    if char == "&":
        return "&amp;"
    if char == "_":
        return "\\_"
    if char == ":":
        return "&#58;"
    if char in _DOUBLED:
        return _DOUBLED[char]
    return _entity(char)  # a control character


def _attr(match: re.Match[str]) -> str:
    char = match.group()
    if len(char) > 1:
        return char[:-1] + _entity(char[-1])
    return _ATTR[char] if char in _ATTR else _entity(char)


def _markdown(text: str, *, start: bool = True, end: bool = True) -> str:
    """``md_escape`` of ``text``; ``start``/``end``: whether it may begin or end a line."""
    head = tail = ""
    if start and (first := _LINE_START_RE.match(text)):
        token = first.group()
        head = token[:-1] + _LINE_START[token[-1]] if token[0].isdigit() else _LINE_START[token[0]] + token[1:]
        text = text[first.end() :]
    if end and text and text[-1] in _LINE_END:
        tail, text = _LINE_END[text[-1]], text[:-1]
    return head + _INLINE_RE.sub(_inline, text) + tail


@_cached  # statuses, regions, names repeat across thousands of cells
def is_plain(text: str) -> bool:
    """True when ``text`` renders as itself in any Markdown context without escaping."""
    return md_escape(text) == text


@_cached
def md_escape(text: str) -> str:
    """Escape text for any Markdown context outside code: paragraphs, table cells, lists, headings.

    Only what Markdown would act on is escaped (see ``_INLINE_RE`` and ``_LINE_START_RE``);
    a newline becomes ``<br>``. ``Bob's Brain (edited)``, ``a, b: c`` and ``engine_id``
    come out as they are.
    """
    if (
        _QUIET_RE.fullmatch(text)
        and text[:1] not in _QUIET_START
        and text[-1:] not in _LINE_END
        and ("_" not in text or not _EDGE_UNDERSCORE_RE.search(text))
    ):
        return text
    return _markdown(text)


@_cached
def attr_escape(text: str) -> str:
    """Escape text for a double-quoted HTML attribute value (a tooltip): ``"``, ``&``, ``<``,
    ``>`` and what Markdown would still act on become entities; a newline becomes ``&#10;``
    (a ``<br>`` would show literally in the tooltip)."""
    if _ATTR_QUIET_RE.fullmatch(text):  # nothing _ATTR_RE could match (an engine's resource name)
        return text
    return _ATTR_RE.sub(_attr, text)


def _finalize(value: Any) -> Any:
    if type(value) is str:  # most values: the checks below, in their order, can't apply
        return md_escape(value)
    if isinstance(value, Markup):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    return md_escape(str(value))


# A code span shows its text as written, but can't hold a backtick, a newline, a `|` (a
# table would still split there outside Python-Markdown, e.g. on GitHub) or leading and
# trailing whitespace (stripped), and an entity in it would show literally. Jinja syntax
# (`{{`, `{%`, `{#`) is kept out of the page source too.
_CODE_SPAN_RE = re.compile(r"[^\s`|\x00-\x1f\x7f](?:[^`|\n\r\x00-\x08\x0b-\x1f\x7f]*[^\s`|\x00-\x1f\x7f])?")
_TEMPLATE_SYNTAX_RE = re.compile(r"\{[{%#]")


def code(value: Any) -> Markup:
    """Inline code: backticks around the text as it is when a code span can hold it (see
    ``_CODE_SPAN_RE``), else ``<code>`` with escaped content."""
    return _code(str(value))


@_cached  # keys, directories and reasons repeat across pages
def _code(text: str) -> Markup:
    if _CODE_SPAN_RE.fullmatch(text) and not _TEMPLATE_SYNTAX_RE.search(text):
        return _markup(f"`{text}`")
    return _markup(f"<code>{md_escape(text)}</code>")


def code_title(value: Any, title: Any) -> Markup:
    """Inline code showing a short form, with the full value in a tooltip (``title`` attribute)."""
    return _code_title(str(value), str(title))


@_cached
def _code_title(value: str, title: str) -> Markup:
    return _markup(f'<code title="{attr_escape(title)}">{md_escape(value)}</code>')


def resource(value: Any) -> Markup:
    """An engine ID shown in full: a resource name (or bare number) as
    ``<code class="promo-resource">`` with a ``<wbr>`` after each "/", so it breaks there and
    nowhere else on a phone (promotion.css) and gets a copy button (promotion-copy.js). Rule
    PR002 only lets resource names and numbers through, but each part is escaped anyway. A
    placeholder is shown as itself, as plain inline code (nothing to copy)."""
    return _resource(str(value))


@_cached  # an engine is shown on its agent's, its step's and its environment's pages
def _resource(text: str) -> Markup:
    if model.is_placeholder(text):
        return code(text)
    return _markup('<code class="promo-resource">' + "/<wbr>".join(_inner(part) for part in text.split("/")) + "</code>")


@_cached  # "projects", "locations", regions and keys repeat in every name
def _inner(part: str) -> str:
    """``part`` escaped where it can't start or end a line (between ``/`` or ``.``)."""
    return _markdown(part, start=False, end=False)


def key_path(value: Any) -> Markup:
    """A dotted config key (``agents.<agent key>.environments...``) as
    ``<code class="promo-key">`` with a ``<wbr>`` after each ".": a long key breaks between
    its keys on a phone and never inside one (promotion.css)."""
    return _key_path(str(value))


@_cached
def _key_path(text: str) -> Markup:
    return _markup('<code class="promo-key">' + ".<wbr>".join(_inner(part) for part in text.split(".")) + "</code>")


_HTTP_URL_RE = re.compile(r"^https?://[^\s<>\"'`\\]+$")


def link_to(text: Any, url: Any) -> Markup:
    """``text`` as a link to ``url`` when it is a plain http(s) URL (a deploy run, a ticket);
    anything else (``javascript:``, a path, text) is shown as text beside it, never as a link."""
    label = md_escape(str(text))
    if url and _HTTP_URL_RE.match(str(url)):
        return _markup(f'<a href="{attr_escape(str(url))}">{label}</a>')
    return _markup(label + (f" ({md_escape(str(url))})" if url else ""))


def attr_value(value: Any) -> Markup:
    """Text for inside a double-quoted HTML attribute written in a template (``title="{{ x|attr_value }}"``)."""
    return _markup(attr_escape(str(value)))


def code_spans(value: Any) -> Markup:
    """Documentation text written in the code (rule titles, schema descriptions), where
    backticks mark code: each `` `span` `` becomes inline code (``code``) and the rest is
    escaped. Unbalanced backticks are shown as they are."""
    return _code_spans(str(value))


@_cached  # blockers' reasons and next steps repeat for every agent
def _code_spans(text: str) -> Markup:
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return _markup(md_escape(text))
    last = len(parts) - 1
    return _markup("".join(_markdown(part, start=i == 0, end=i == last) if i % 2 == 0 else code(part) for i, part in enumerate(parts)))


def verbatim(value: Any) -> Markup:
    """A value used where escaping is impossible (inside a fenced code block or a Mermaid graph).

    Only values the model already restricts (identifiers, project IDs, regions) are used
    there; anything else is refused rather than escaped wrongly.
    """
    text = str(value)
    if not _VERBATIM_RE.match(text):
        raise ValueError(f"value {text!r} can't be placed in a code block safely")
    return _markup(text)


_BADGES: dict[str, Markup] = {}


def status_badge(status: str) -> Markup:
    """Status as colour plus a word (never colour alone)."""
    badge = _BADGES.get(status) if type(status) is str else None
    if badge is not None:
        return badge
    if status not in model.STATUSES:
        raise ValueError(f"unknown status {status!r}")
    badge = _BADGES[status] = _markup(f'<span class="promo-badge promo-status-{status}">{status}</span>')
    return badge


def state_badge(state: str) -> Markup:
    """A lifecycle state (blocked, ready, promoted, done) as colour plus its word."""
    if state not in _STATES:
        raise ValueError(f"unknown lifecycle state {state!r}")
    return _markup(f'<span class="promo-badge promo-state promo-state-{state}">{state}</span>')


_STATES = frozenset(s.value for s in lifecycle.State)


#: Names a plain dict has as attributes (``items``, ``keys``, ``get``...): for these, Jinja's
#: ``x.name`` finds the method first, and the fast path below leaves them to the sandbox.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``_Environment.getattr``'s fast path written into the
    compiled template: ``row.status`` becomes "``row["status"]`` if ``row`` is a plain dict
    holding that key, else ``environment.getattr(row, "status")``". That is what the call
    returns for a plain dict, without a Python call for each of the ~380,000 lookups of a
    1,000-agent site. A name a dict has as an attribute (``items``...), any other object and a
    missing key still go through ``environment.getattr``, so through the sandbox."""

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        if self.environment.is_async or node.attr in _DICT_ATTRIBUTES:
            super().visit_Getattr(node, frame)
            return
        item, temp = repr(node.attr), self.temporary_identifier()
        self.write(f"({temp}[{item}] if type({temp} := ")
        self.visit(node.node, frame)
        self.write(f") is dict and {item} in {temp} else environment.getattr({temp}, {item}))")

    # A ``{{ }}`` is compiled as ``environment.finalize(value)`` rather than Jinja's
    # ``str(environment.finalize(value))``, and a filter that always returns Markup as the
    # bare call (``_gives_markup``): the same text, ~200,000 calls fewer at 1,000 agents.
    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if not self._bare_output(frame):
            super()._output_child_pre(node, frame, finalize)
        elif not _gives_markup(node, self.environment):
            self.write("environment.finalize(")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if not self._bare_output(frame):
            super()._output_child_post(node, frame, finalize)
        elif not _gives_markup(node, self.environment):
            self.write(")")

    def _bare_output(self, frame: Frame) -> bool:
        """True when a ``{{ }}`` may be written as ``finalize(value)`` without Jinja's
        ``str(...)`` around it: no autoescape, and ``_finalize``, which returns a ``str`` for
        every value (``Markup`` is one)."""
        return self.environment.finalize is _finalize and not frame.eval_ctx.volatile and not frame.eval_ctx.autoescape


def _gives_markup(node: nodes.Expr, environment: Any) -> bool:
    """True when ``node`` is a call of one of this module's filters that always return
    ``Markup`` (``_MARKUP_FILTERS``): ``_finalize`` would hand it back unchanged, so the
    compiled ``{{ value|code }}`` writes the filter's result as it is (~80,000 calls fewer
    at 1,000 agents). Known at compile time: templates can't define filters."""
    if not isinstance(node, nodes.Filter) or node.node is None:
        return False
    ours = _MARKUP_FILTERS.get(node.name)
    return ours is not None and environment.filters.get(node.name) is ours


class _Environment(SandboxedEnvironment):
    """Jinja's sandbox, with the lookup the pages do most (``row.status`` on a plain dict of
    the context) taken without the sandbox's detour.

    For ``obj.name`` the sandbox first tries ``getattr(obj, name)``, which on a plain dict
    fails with an AttributeError (an exception per lookup: a third of the render), and then
    returns ``obj[name]`` unchecked (items are data, never attributes). A plain ``dict`` has
    no other attributes than its class's, so for a name that is not one of them the result
    is ``obj[name]`` or undefined either way; everything else (objects, ``loop``, dict
    methods, subclasses) goes through the sandbox's checks as before.
    """

    code_generator_class = _CodeGenerator  # the same fast path, compiled into the templates

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: each template's note (``_note``), rendered once in this environment's run
        self.notes: dict[str, Markup] = {}
        #: the names ``NOTE_TEMPLATE`` reads from its context (None: not known yet, or not
        #: knowable because it includes, imports or extends another template)
        self._note_reads: frozenset[str] | None = None
        self._note_read = False

    def note_varies_with(self, names: Iterable[str]) -> bool:
        """True when ``NOTE_TEMPLATE`` may read one of ``names`` (its reads are found once)."""
        if not self._note_read:
            from jinja2 import meta

            assert self.loader is not None
            tree = self.parse(self.loader.get_source(self, NOTE_TEMPLATE)[0])
            others = next(tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)), None)
            self._note_reads = None if others is not None else frozenset(meta.find_undeclared_variables(tree))
            self._note_read = True
        return self._note_reads is None or not self._note_reads.isdisjoint(names)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except (TypeError, LookupError):  # as the sandbox: no such key is undefined
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


#: The filters that return ``Markup`` whatever they are given (or raise), by their names in
#: the templates; ``make_environment`` registers them with the others.
_MARKUP_FILTERS: dict[str, Callable[..., Markup]] = {
    "code": code,
    "code_title": code_title,
    "resource": resource,
    "key_path": key_path,
    "attr_value": attr_value,
    "link_to": link_to,
    "code_spans": code_spans,
    "verbatim": verbatim,
    "status_badge": status_badge,
    "state_badge": state_badge,
}


def make_environment(templates_dir: str | None = None) -> SandboxedEnvironment:
    """The sandboxed, strict environment; a team's ``--templates DIR`` is searched first.

    Compiled templates are cached (``bytecode_cache``): Jinja reuses one only for the same
    template file with the same source (it compares a checksum of the text), and the folder
    is named after Jinja's, Python's and this package's versions and source files, so a
    template or generator change can never run stale code. The cache holds code, never
    pages: every run, ``--check`` included, renders every page.
    """
    searchpath = [str(Path(templates_dir))] if templates_dir else []
    searchpath.append(str(builtin_templates_dir()))
    env = _Environment(
        loader=jinja2.FileSystemLoader(searchpath),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        bytecode_cache=_bytecode_cache(),
    )
    env.globals["commit_message"] = _commit_message
    env.filters.update(
        _MARKUP_FILTERS,
        plural=plural,
        pair_slug=pages.step_slug,
        duration_words=duration_words,
    )
    return env


@jinja2.pass_context
def _commit_message(context: Any, agent: str, environment: str) -> str:
    """The config's commit message for a config update of ``agent`` in ``environment``
    (plain text: ``{{ }}`` escapes it, ``|code`` shows it as code)."""
    return record.commit_message(agent, environment, context.get("commit_template"))


#: Where compiled templates are kept: ``$PROMOTION_CACHE_DIR`` (empty: no cache), else the
#: user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``) ``/promotion``.
CACHE_ENV = "PROMOTION_CACHE_DIR"


def cache_root() -> Path | None:
    import os

    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "promotion" if os.path.isabs(base) else None


def _code_key() -> str:
    """What compiled code depends on besides a template's text: Jinja, Python, and this
    package's source (name, size and mtime of every file, as ``state.py`` tracks them)."""
    import hashlib
    import os
    import sys

    package = Path(__file__).resolve().parent
    parts = [jinja2.__version__, sys.version, str(package)]
    for entry in sorted(os.scandir(package), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            st = entry.stat()
            parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache that never fails a run: a damaged file or a folder that can't be
    read or written only costs the compile."""

    def load_bytecode(self, bucket: Any) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - unpickling a damaged file can raise anything
            bucket.reset()  # compile again (and overwrite it)

    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    import os

    root = cache_root()
    if root is None:
        return None
    folder = root / f"jinja-{_code_key()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(folder)
    except OSError:
        return None
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return None  # compiled code is loaded and run: only from a folder that is the user's alone
    return _BytecodeCache(str(folder))


class RenderedPage:
    """One page rendered to memory: its path under the docs folder, template and text."""

    __slots__ = ("path", "template", "body")

    def __init__(self, path: str, template: str, body: str) -> None:
        self.path = path
        self.template = template
        self.body = body


def clear_caches() -> None:
    """Empty the escaping caches (unbounded within a run: a value shown on many pages is
    escaped once). Each run starts with them empty, so a long-lived process (``mkdocs
    serve``) holds the strings of one config at most."""
    for cached in _CACHES:
        cached.cache_clear()


def build_context(config: Config, config_display: str, violations: list[rules.Violation], docs_dir: str = "site-docs", entries: list[Any] | None = None, gates: Any = None) -> dict[str, Any]:
    """Everything the templates see. Plain data: views of the model, the rules, the schema,
    the ledger (``entries``, from ``ledger.load_entries``).

    ``config_display`` and ``docs_dir`` are paths as pages show them (relative to the project root).
    Starts a run: the escaping caches are emptied first (``clear_caches``).
    """
    clear_caches()
    agents = list(config.agents)
    rows: dict[tuple[str, str], dict[str, Any]] = {}  # one row per engine, on every page that shows it
    steps = [views.step(config, a, b, agents, gates, rows=rows) for a, b in config.consecutive_pairs()]
    for item in steps:
        item["slug"] = pages.step_slug(item["source"], item["target"])
    warnings_by_cell: dict[tuple[str, str], list[str]] = {}
    for v in violations:
        if v.agent and v.environment:
            warnings_by_cell.setdefault((v.agent, v.environment), []).append(f"{v.code}: {v.message}")
    show = views.mapping(config, agents, rows)
    # One lookup table per step: searching each step's agent list per agent is quadratic.
    by_key = [{entry["key"]: entry for entry in item["agents"]} for item in steps]
    ledger_view = views.history(config, entries or [])
    history_of: dict[str, list[dict[str, Any]]] = {}
    for row in ledger_view["entries"]:
        history_of.setdefault(row["agent"], []).append(row)
    for agent in show["agents"]:
        agent["history"] = history_of.get(agent["key"], [])
        for row in agent["environments"]:
            row["warnings"] = warnings_by_cell.get((agent["key"], row["environment"]), [])
            row["readiness"] = "placeholder" if row.get("placeholder") else ("warning" if row["warnings"] else "ready")
            row["ledger"] = ledger_view["cells"].get(f"{agent['key']}/{row['environment']}", {"since": None, "previous": None, "rollback": None})
            # the agent's entries in this environment, newest first (its history page's sections)
            row["history"] = [e for e in agent["history"] if e["env"] == row["environment"]] if agent["history"] else []
        agent["steps"] = [_agent_step(s, by_key[i][agent["key"]]) for i, s in enumerate(steps)]
    first_agent = show["agents"][0]
    example_env = first_agent["environments"][0]
    return {
        "config_path": config_display,
        "docs_dir": docs_dir,
        "schema_version": config.schema_version,
        "app_version": config.app_version,
        "last_updated": config.last_updated,
        "environments": [_environment(e, i) for i, e in enumerate(config.environments.values())],
        # a repository path is not part of the site: shown as code; an http(s) URL is linked (link_to)
        "links": [{"title": link.title, "url": link.url, "web": link.url.startswith(("http://", "https://"))} for link in config.links or ()],
        "commit_template": config.commit_message,
        "environment_order": config.environment_order,
        "history": ledger_view["entries"],
        "agents": show["agents"],
        "engines": show["engines"],
        "placeholders": show["placeholders"],
        "steps": steps,
        "lifecycle": [{"state": s.value, "meaning": lifecycle.MEANING[s]} for s in lifecycle.State],
        "deploy_log_patterns": deploylog.RECOGNISED,
        "nav_agent_limit": pages.NAV_AGENT_LIMIT,
        "example": {"agent": first_agent["key"], "environment": example_env["environment"], "project_id": example_env["project_id"], "region": example_env["region"]},
        "rules": [r.to_dict() for r in rules.RULES],
        "schema_rows": schema.reference_rows(),
        "warnings": [v.to_dict() for v in violations],
    }


def _environment(env: Any, index: int) -> dict[str, Any]:
    """One environment as the templates see it."""
    return {
        "name": env.key,
        "index": index,
        "purpose": env.purpose,
        "auto_deploy": env.auto_deploy,
        "monitoring": env.monitoring,
        "alerting": env.alerting,
        "freeze": [w.describe() for w in env.freeze],
        "monitoring_notes": list(env.monitoring_notes or ()),
        "watch_for": env.watch_for,
        "watch_words": duration_words(env.watch_for) if env.watch_for else None,
    }


def _agent_step(item: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """One promotion step as seen from one agent's page (``entry``: the agent's row of the step).

    The step's ``source``/``target`` (environment names) win over the agent entry's
    ``source``/``target`` (its environment rows), which stay reachable as ``*_row``.
    """
    return {
        **entry,
        "source": item["source"],
        "target": item["target"],
        "slug": item["slug"],
        "source_row": entry["source"],
        "target_row": entry["target"],
    }


class PageJob:
    """One page to render: its path under the docs folder, its template and what it adds to
    the context (the step, environment or agent it is about)."""

    __slots__ = ("path", "template", "extra")

    def __init__(self, path: str, template: str, extra: dict[str, Any]) -> None:
        self.path = path
        self.template = template
        self.extra = extra


def page_jobs(context: dict[str, Any]) -> list[PageJob]:
    """Every page of the registry (``pages.PAGES``), in a stable order."""
    jobs = []
    for page in pages.PAGES:
        if page.per is pages.Per.ONCE:
            jobs.append(PageJob(page.path, page.template, {}))
        elif page.per is pages.Per.STEP:
            jobs += [PageJob(page.path_for(step["slug"]), page.template, {"step": step}) for step in context["steps"]]
        elif page.per is pages.Per.ENV:
            jobs += [PageJob(page.path_for(env["name"]), page.template, {"environment": env}) for env in context["environments"]]
        else:
            jobs += [PageJob(page.path_for(agent["key"]), page.template, {"agent": agent}) for agent in context["agents"]]
    return jobs


def render_page(env: SandboxedEnvironment, context: dict[str, Any], job: PageJob) -> str:
    values = {**context, **job.extra, "template_name": job.template}
    values["note"] = _note(env, values, job)
    return _render(env, job.template, values)


#: The partial that says where a page comes from (``{{ note }}`` in the page templates).
NOTE_TEMPLATE = "_note.md.j2"


def _note(env: SandboxedEnvironment, values: dict[str, Any], job: PageJob) -> Markup:
    """``_note.md.j2`` (a team's, when it overrides it) rendered for the page: ``{{ note }}``.

    The built-in one reads only ``config_path``, ``template_name`` and ``last_updated``, the
    same for every page of a template, so it is rendered once per template and run, not as
    an ``include`` on each of 2,000 pages (each a new context: ~11 µs a page). A partial
    that reads what differs between pages of a template (``agent``, ``step``,
    ``environment``), or includes or imports another template, is rendered for each page."""
    name = values["template_name"]
    notes: dict[str, Markup] = env.notes if isinstance(env, _Environment) else {}
    note = notes.get(name)
    if note is None:
        note = _markup(_render(env, NOTE_TEMPLATE, values).removesuffix("\n"))
        if isinstance(env, _Environment) and not env.note_varies_with(job.extra):
            notes[name] = note
    return note


def render_pages(env: SandboxedEnvironment, context: dict[str, Any]) -> list[RenderedPage]:
    """Every page, rendered in order (``generate`` maps ``render_page`` over ``page_jobs`` itself)."""
    return [RenderedPage(job.path, job.template, render_page(env, context, job)) for job in page_jobs(context)]


def render_claude_section(env: SandboxedEnvironment, context: dict[str, Any]) -> str:
    return _render(env, pages.CLAUDE_TEMPLATE, {**context, "template_name": pages.CLAUDE_TEMPLATE})


def _render(env: SandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            Problem(Location(exc.filename or name, exc.lineno or 1, 1), "", f"template syntax error: {exc.message}", "fix the template", "template")
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            Problem(Location(str(exc.name), 1, 1), "", "template not found", f"restore it in {builtin_templates_dir()} or your --templates folder", "template")
        ) from None
    except (jinja2.UndefinedError, jinja2.exceptions.SecurityError, ValueError, TypeError) as exc:
        file, line = _template_position(exc, name)
        raise TemplateError(Problem(Location(file, line, 1), "", f"template error: {exc}", "fix the template; the variables it can use are built by build_context in generator/render.py", "template")) from None


def _template_position(exc: BaseException, name: str) -> tuple[str, int]:
    """The template file and line where rendering failed (Jinja puts them in the traceback)."""
    file, line = name, 1
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            file, line = filename, tb.tb_lineno
        tb = tb.tb_next
    return file, line
