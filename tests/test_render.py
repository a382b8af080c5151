"""The renderer: config text is data, never markup.

Unit tests for the escaping helpers and the Jinja environment, then one hostile config
rendered end to end: the generated Markdown is checked as text (no raw HTML, no marker
line, tables keep their columns) and, through Python-Markdown with the extensions of
mkdocs.yml, as HTML (no script, image, event handler or javascript: link; the hostile
strings come out as those very characters).
"""

from __future__ import annotations

import html.parser
import re
from pathlib import Path
from typing import Any

import jinja2
import markdown
import pytest
import yaml
from conftest import PLACEHOLDER_FIXTURE
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from pymdownx.superfences import fence_code_format

from generator import generate, render
from generator.errors import TemplateError
from generator.text import plural

# --- md_escape / is_plain -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bob",
        "Development and testing",
        "agents/bob",
        "make check-drift",
        "us-central1",
        "bobs-brain-dev",
        "engine_id",
        "v2.3",
        # Punctuation Markdown does not act on where it stands stays as written.
        "Bob's Brain",
        "Orchestrates the department (edited)",
        "it's",
        "a, b: c",
        "Pre-production validation",
        "Use #deployments",
        "a_b_c",
        "Ready! Really? Yes.",
        "100% @team $5 ~home ^up",
        "x = 1 + 2",
        'say "hi"',
        "a -> b > c",
        "Bob & Alice, R&D",
        "a--b",  # smarty is not enabled in mkdocs.yml: dashes and ellipses are text
        "wait...",
        "1/2 c/o",
        "two  spaces",
        "2024 was fine",
        "caf\u00e9 \u2192 ok",
    ],
)
def test_plain_values_stay_readable(text: str) -> None:
    assert render.is_plain(text)
    assert render.md_escape(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "_private",  # emphasis at a word edge
        "private_",
        "__init__",
        "*a*",
        "1. first",  # ordered list
        "- item",  # bullet list
        "+ item",
        "# heading",
        "> quote",
        "!!! note",  # admonition
        "??? note",  # details
        "C#",  # a heading drops trailing hashes
        " leading",
        "trailing ",
        "a|b",
        "x\ny",
        "<b>",
        "&amp;",
        "{: .x}",
        "[x]",
        "tick`s",
        "back\\slash",
        ":smile:",
        "==mark==",
        "~~~",
        "javascript:x",
        "onclick=x",
    ],
)
def test_values_with_markdown_traps_are_not_plain(text: str) -> None:
    assert not render.is_plain(text)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Bob's Brain", "Bob's Brain"),
        ("Orchestrates the department (edited)", "Orchestrates the department (edited)"),
        ("it's <b>x</b>", "it's &lt;b>x&lt;/b>"),
        ("a|b", "a&#124;b"),
        ("<script>", "&lt;script>"),
        ("tick`s", "tick\\`s"),
        ("{{ 7*7 }}", "&#123;&#123; 7\\*7 }}"),
        ("{: onclick=alert(1)}", "&#123;: onclick&#61;alert(1)}"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript&#58;alert(1))"),
        ("line one\nline two", "line one<br>line two"),
        ("crlf\r\nline", "crlf<br>line"),
        ("tab\tkept", "tab\tkept"),
        (":smile:", "&#58;smile:"),
        ("at 10:30", "at 10:30"),
        ("caf\u00e9 \u2192 ok", "caf\u00e9 \u2192 ok"),
        ("&amp;", "&amp;amp;"),
        ("&#60 &x", "&amp;#60 &x"),
        ("ends &", "ends &amp;"),
        ("a_b_c _a_ __b__", "a_b_c \\_a\\_ \\_\\_b\\_\\_"),
        ("*a*", "\\*a\\*"),
        ("==x== ~~y~~ ^^z^^ C++", "&#61;=x&#61;= &#126;~y&#126;~ &#94;^z&#94;^ C\\++"),
        ('--8<-- "x"', '\\--8&lt;-- "x"'),
        ("1. x", "1\\. x"),
        ("10) x", "10\\) x"),
        ("1.5 litres", "1.5 litres"),
        ("# x", "\\# x"),
        ("#deployments", "\\#deployments"),
        ("C#", "C\\#"),
        ("> x", "\\> x"),
        ("- x", "\\- x"),
        ("+ x", "\\+ x"),
        ("= x", "&#61; x"),
        ("!!! note", "\\!!! note"),
        ("??? note", "&#63;?? note"),
        ("    code", "&#32;   code"),
        ("hard break  ", "hard break &#32;"),
        ("a\\b", "a\\\\b"),
        ("ctrl\x07", "ctrl&#7;"),
    ],
)
def test_md_escape(text: str, escaped: str) -> None:
    assert render.md_escape(text) == escaped


EVERY_ASCII = "".join(chr(i) for i in range(32, 127))


@pytest.mark.parametrize("text", [EVERY_ASCII, EVERY_ASCII[::-1], "# " + EVERY_ASCII, "1. " + EVERY_ASCII, " x ", "x\ny"])
def test_md_escape_renders_as_its_own_text(text: str) -> None:
    for markdown_text in (render.md_escape(text), f"| a |\n|---|\n| {render.md_escape(text)} |", f"- {render.md_escape(text)}", f"# {render.md_escape(text)}"):
        report = to_html(markdown_text)
        assert text.strip() in report.visible, (markdown_text, report.visible)
        assert {tag for tag, _ in report.elements} <= {"p", "br", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "h1", "a"}, markdown_text


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(list("\"&<>`|[]\\{}\n\r:=~^+javscriptonclick")), max_size=30))
def test_attr_escape_skips_only_text_it_would_not_change(text: str) -> None:
    """The fast path (``_ATTR_QUIET_RE``) takes only text in which ``_ATTR_RE`` finds nothing."""
    if render._ATTR_QUIET_RE.fullmatch(text):
        assert render._ATTR_RE.search(text) is None
    assert render.attr_escape(text) == render._ATTR_RE.sub(render._attr, text)


def test_attr_escape_uses_entities_only() -> None:
    assert render.attr_escape('a "b"\nc') == "a &quot;b&quot;&#10;c"
    assert render.attr_escape("it's (x), a: b") == "it's (x), a: b"
    assert render.attr_escape("<b> & [x](y) `z` a|b \\ {: x}") == "&lt;b&gt; &amp; &#91;x&#93;(y) &#96;z&#96; a&#124;b &#92; &#123;: x&#125;"
    assert "<" not in render.attr_escape("<br>\n")


# --- the filters ----------------------------------------------------------------------


def test_attr_value_escapes_for_a_quoted_attribute() -> None:
    out = render.attr_value('PR009: "x"\n<b>')
    assert isinstance(out, Markup)
    assert out == "PR009: &quot;x&quot;&#10;&lt;b&gt;"


@pytest.mark.parametrize("value", ["make test", "#deployments", "it's (a, b: c)", "<b>", "a--b", "run <script>x</script>", "C:\\dir\\", "a  b"])
def test_code_uses_backticks_when_a_code_span_can_hold_the_value(value: str) -> None:
    assert render.code(value) == Markup(f"`{value}`")
    assert to_html(f"- {render.code(value)}").visible.strip() == value


@pytest.mark.parametrize("value", ["make test | tee log", "echo `x`", "", " leading", "trailing ", "a\nb", "{{ 7*7 }}", "{% raw %}"])
def test_code_uses_an_html_element_with_escaped_content_otherwise(value: str) -> None:
    out = render.code(value)
    assert isinstance(out, Markup)
    assert out.startswith("<code>") and out.endswith("</code>")
    inner = out[len("<code>") : -len("</code>")]
    assert "<" not in inner.replace("<br>", "") and "|" not in inner and "{{" not in inner and "{%" not in inner
    assert "`" not in inner.replace("\\`", "")
    assert value.strip() in to_html(f"| a |\n|---|\n| {out} |").visible


def test_code_title_escapes_both_the_text_and_the_attribute() -> None:
    out = render.code_title('1"2 <i>', 'a" onmouseover="alert(1)\nb')
    assert out == '<code title="a&quot; onmouseover&#61;&quot;alert(1)&#10;b">1"2 &lt;i></code>'


def test_code_spans_turns_backtick_spans_into_code_and_escapes_the_rest() -> None:
    out = render.code_spans("set `status: pending` or <b>x</b>, not `a | b`")
    assert out == "set `status: pending` or &lt;b>x&lt;/b>, not <code>a &#124; b</code>"


def test_code_spans_escapes_line_edges_only_at_the_ends() -> None:
    assert render.code_spans("# a `b` c #") == "\\# a `b` c \\#"
    assert render.code_spans("`a` - `b`") == "`a` - `b`"


def test_code_spans_with_unbalanced_backticks_escapes_them() -> None:
    assert render.code_spans("a `b") == "a \\`b"


@pytest.mark.parametrize("value", ["dev", "bob", "dev-to-stage", "us-central1", "bobs-brain-dev", "config/agent_engine_envs.yaml", "a_b", "1.2.3"])
def test_verbatim_accepts_restricted_values(value: str) -> None:
    assert render.verbatim(value) == value


@pytest.mark.parametrize(
    "value",
    ['"]; click e0 call alert(1)', "a\nb", "<script>", "dev`", "a|b", "x:y", "${HOME}", "{{ 7*7 }}", "a\tb", "caf\u00e9"],
)
def test_verbatim_refuses_anything_that_could_escape_its_context(value: str) -> None:
    with pytest.raises(ValueError, match="can't be placed in a code block"):
        render.verbatim(value)


def test_status_badge_refuses_unknown_statuses() -> None:
    assert "promo-status-validated" in render.status_badge("validated")
    with pytest.raises(ValueError):
        render.status_badge('pending" onclick="x')


@pytest.mark.parametrize(("count", "text"), [(0, "0 agents"), (1, "1 agent"), (2, "2 agents")])
def test_plural(count: int, text: str) -> None:
    assert plural(count, "agent") == text


# --- the environment ------------------------------------------------------------------


def test_every_expression_goes_through_the_escaper() -> None:
    env = render.make_environment()
    out = env.from_string("{{ a }}|{{ b }}|{{ c }}|{{ d }}|{{ e|code }}").render(a="<i>x</i>", b=True, c=None, d=3, e="a|b")
    assert out == "&lt;i>x&lt;/i>|yes||3|<code>a&#124;b</code>"


def test_undefined_variables_fail_loudly() -> None:
    env = render.make_environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nope }}").render()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ agent.nope }}").render(agent={"key": "bob"})


class _Row(dict):  # type: ignore[type-arg]
    """A dict subclass: not a plain dict, so never taken by the compiled fast path (for it
    the sandbox finds the attribute before the item)."""

    status = "the attribute, not the item"


class _Obj:
    status = "object attribute"


@pytest.mark.parametrize(
    "source",
    [
        "{{ d.status }}",
        "{{ d.items }}",  # a name a dict has as an attribute: the method, through the sandbox
        "{{ d.get('status') }}",
        "{{ d.status.upper() }}",
        "{{ d.nested.status }}",
        "{{ d.missing }}",
        "{{ d.missing is defined }}",
        "{{ (d.missing or d.status) }}",
        "{% for r in rows %}{{ r.status }},{% endfor %}",
        "{% set x = d %}{{ x.status }}",
        "{{ d.__class__ }}",
        "{{ d.status.__class__.__mro__ }}",
    ],
)
@pytest.mark.parametrize("value", ["dict", "subclass", "object"])
def test_compiled_attribute_lookups_match_the_plain_sandbox(source: str, value: str) -> None:
    """``x.name`` is compiled to read a plain dict directly (``_CodeGenerator``): the output,
    or the error, is the one Jinja's own sandbox gives for every kind of value and name."""
    from jinja2.sandbox import SandboxedEnvironment

    d: Any = {"dict": {"status": "ok", "nested": {"status": "in"}}, "subclass": _Row(status="sub", nested=_Row(status="in")), "object": _Obj()}[value]
    data = {"d": d, "rows": [d, {"status": "second"}]}
    ours = render.make_environment()
    plain = SandboxedEnvironment(undefined=jinja2.StrictUndefined, finalize=render._finalize, autoescape=False)

    def outcome(env: jinja2.Environment) -> object:
        try:
            return env.from_string(source).render(data)
        except Exception as exc:  # noqa: BLE001 - the kind of error is what is compared
            return type(exc).__name__

    assert outcome(ours) == outcome(plain)


@pytest.mark.parametrize(
    "source",
    [
        "{{ s|code }} {{ s|code_title(s) }} {{ s|attr_value }} {{ s|code_spans }} {{ s|link_to(url) }}",
        "{{ engine|resource }} {{ key|key_path }} {{ 'validated'|status_badge }} {{ 'ready'|state_badge }} {{ key|verbatim }}",
        "{{ s|code|upper }} {{ s|code ~ s }} {{ (s|code) if s else '' }}",  # the filter is not the whole output: finalize runs
        "{{ s }} {{ n }} {{ flag }} {{ none }} {{ markup }} {{ 3|plural('page') }} {{ s|upper }}",
        "{% macro m(x) %}[{{ x|code }} {{ x }}]{% endmacro %}{{ m(s) }} {% set b %}{{ s|code }}{{ s }}{% endset %}{{ b }}",
        "{% filter upper %}{{ s|code }} {{ s }}{% endfilter %}",
        "{{ missing|code }}",
        "{{ missing }}",
        "{{ 'no such'|status_badge }}",
        "{{ 'a`b'|verbatim }}",
    ],
)
def test_outputs_written_without_str_or_finalize_match_jinjas_own_code(source: str) -> None:
    """``{{ }}`` is compiled as ``finalize(value)`` without Jinja's ``str()``, and a filter that
    always returns Markup without ``finalize`` (``_CodeGenerator._output_child_pre``): the
    page, or the error, is what Jinja's own code generator gives with the same filters."""
    from jinja2.sandbox import SandboxedEnvironment

    data = {
        "s": "a_b *c* <d> | `e` {{f}}",
        "url": "https://example.com/run?a=1&b=2",
        "engine": "projects/p-1/locations/europe-west4/reasoningEngines/123",
        "key": "agent_1",
        "n": 7,
        "flag": True,
        "none": None,
        "markup": render._markup("<b>kept</b>"),
    }
    ours = render.make_environment()
    plain = SandboxedEnvironment(undefined=jinja2.StrictUndefined, finalize=render._finalize, autoescape=False)
    plain.filters.update(ours.filters)

    def outcome(env: jinja2.Environment) -> object:
        try:
            return env.from_string(source).render(data)
        except Exception as exc:  # noqa: BLE001 - the kind of error and its message are what is compared
            return f"{type(exc).__name__}: {exc}"

    assert outcome(ours) == outcome(plain)
    code = ours.compile(source, raw=True)
    if source.startswith("{{ s|code }}"):
        assert "environment.finalize(" not in code and "str(" not in code


def test_templates_run_in_the_sandbox() -> None:
    env = render.make_environment()
    with pytest.raises(jinja2.exceptions.SecurityError):
        env.from_string("{{ ''.__class__.__mro__ }}").render()


def test_a_teams_template_folder_is_searched_first(tmp_path: Path) -> None:
    (tmp_path / "matrix.md.j2").write_text("team matrix\n", encoding="utf-8")
    env = render.make_environment(str(tmp_path))
    assert env.get_template("matrix.md.j2").render() == "team matrix\n"
    assert "# Operator playbook" in render.render_page(env, minimal_context(), render.PageJob("playbook.md", "playbook.md.j2", {}))
    # A template the team did not override comes from the built-in folder.
    assert Path(env.get_template("playbook.md.j2").filename or "").parent == Path(render.builtin_templates_dir())


def test_render_errors_name_the_template_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "matrix.md.j2").write_text("# M\n\nfine\n{{ typo_here }}\n", encoding="utf-8")
    env = render.make_environment(str(tmp_path))
    with pytest.raises(TemplateError) as excinfo:
        render.render_pages(env, minimal_context())
    problem = excinfo.value.problems()[0]
    assert Path(problem.location.file) == tmp_path / "matrix.md.j2"
    assert problem.location.line == 4
    assert "typo_here" in problem.message


def test_syntax_errors_name_the_template_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "matrix.md.j2").write_text("# M\n{% for x in %}\n", encoding="utf-8")
    env = render.make_environment(str(tmp_path))
    with pytest.raises(TemplateError) as excinfo:
        render.render_pages(env, minimal_context())
    problem = excinfo.value.problems()[0]
    assert Path(problem.location.file) == tmp_path / "matrix.md.j2"
    assert problem.location.line == 2


def minimal_context() -> dict[str, Any]:
    """The context of the shipped config (what the templates really see)."""
    from generator import rules
    from generator.loader import load_config

    config = load_config(str(PLACEHOLDER_FIXTURE), display="config/agent_engine_envs.yaml")
    return render.build_context(config, "config/agent_engine_envs.yaml", rules.run(config))


def test_agent_pages_link_each_promotion_step_by_environment_name() -> None:
    # Regression: the agent's own source/target rows used to replace the step's
    # environment names, so the page printed whole dicts as link text.
    env = render.make_environment()
    pages = {p.path: p.body for p in render.render_pages(env, minimal_context())}
    bob = pages["agents/bob.md"]
    assert "| [dev &rarr; stage](../promotions/dev-to-stage.md) | " in bob
    assert "| [stage &rarr; prod](../promotions/stage-to-prod.md) | " in bob
    assert "&#123;" not in bob


# --- hostile config, end to end --------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "pipe | in the middle",
    "back`tick",
    "{{ 7*7 }}",
    "{% raw %}",
    "[x](javascript:alert(1))",
    "<!-- END promotion -->",
    '--8<-- "/etc/passwd"',
    "{: onclick=alert(1)}",
    ":smile:",
    "&lt;b&gt; entity &amp; text",
]
NEWLINE_VALUE = "first line\nsecond line"


def hostile_config_text() -> str:
    """The shipped config with hostile text in every free-text field the pages show."""
    data = yaml.safe_load(PLACEHOLDER_FIXTURE.read_text(encoding="utf-8"))
    joined = " ".join(HOSTILE)
    bob = data["agents"]["bob"]
    bob["display_name"] = joined
    bob["description"] = "\n".join([*HOSTILE, NEWLINE_VALUE])
    bob["environments"]["prod"]["engine_id"] = "TODO " + joined
    bob["environments"]["prod"]["engine_name"] = joined
    data["agents"]["foreman"]["display_name"] = NEWLINE_VALUE
    data["environments"]["prod"]["purpose"] = joined
    data["environments"]["prod"]["monitoring"] = joined
    data["promotion"]["dev_to_stage"]["required_checks"] = [{"name": f"check {text}", "command": f"run {text}"} for text in HOSTILE] + [
        {"name": NEWLINE_VALUE, "command": NEWLINE_VALUE},
    ]
    data["promotion"]["stage_to_prod"]["approval_channel"] = "#deploy " + joined
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """{path relative to the project root: text} of every file generated from the hostile config."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "config").mkdir()
    (root / "config" / "c.yaml").write_text(hostile_config_text(), encoding="utf-8")
    generate.run(generate.GenerateOptions(config_path="config/c.yaml", out_dir="site-docs", claude_md="CLAUDE.md", root=str(root)))
    files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.md"))}
    assert "site-docs/matrix.md" in files and "site-docs/agents/bob.md" in files and "CLAUDE.md" in files
    return files


def _pages(site: dict[str, str]) -> dict[str, str]:
    return {path: text for path, text in site.items() if path.startswith("site-docs/")}


def _body(text: str) -> str:
    """A page without its stamp line (the stamp holds a hash, which may contain any digits)."""
    return text.split("\n", 1)[1]


def test_hostile_text_reaches_the_pages(hostile_site: dict[str, str]) -> None:
    # Guard for the tests below: the hostile values are really on the pages (escaped).
    bob = hostile_site["site-docs/agents/bob.md"]
    assert render.md_escape(HOSTILE[0]) in bob
    assert "first line<br>second line" in bob
    playbook = hostile_site["site-docs/playbook.md"]
    assert render.md_escape("run " + HOSTILE[2]) in playbook


CODE_SPAN = re.compile(r"(?<!\\)(`+)(.+?)(?<!`)\1(?!`)")


def outside_code_spans(text: str) -> str:
    """``text`` with its backtick code spans blanked (as Python-Markdown finds them: an
    unescaped run of backticks up to the same run): inside one every character is literal,
    so a command is shown there as written."""
    return CODE_SPAN.sub(" ", text)


@pytest.mark.parametrize(
    "forbidden",
    ["<script", "<img", "javascript:", "{{", "{%", "--8<--", "{: onclick", ":smile:", "onerror=", "onclick=", "&lt;b&gt;", " &amp; text"],
)
def test_no_raw_markup_in_the_generated_markdown(hostile_site: dict[str, str], forbidden: str) -> None:
    for path, text in hostile_site.items():
        assert forbidden.lower() not in outside_code_spans(text).lower(), f"{forbidden!r} in {path}"


def test_code_spans_hold_no_template_syntax(hostile_site: dict[str, str]) -> None:
    # Jinja syntax stays out of the page source even in code (a macro plugin would run it).
    for path, text in hostile_site.items():
        assert "{{ 7" not in text and "{% raw" not in text, path


def test_template_syntax_in_config_text_is_not_evaluated(hostile_site: dict[str, str]) -> None:
    for path, text in _pages(hostile_site).items():
        assert "49" not in _body(text), f"`{{{{ 7*7 }}}}` evaluated in {path}?"
    section = [line for line in hostile_site["CLAUDE.md"].split("\n") if not line.startswith("<!--")]
    assert "49" not in "\n".join(section)


def test_no_marker_line_besides_the_sections_own(hostile_site: dict[str, str]) -> None:
    marker = re.compile(r"^\s*<!--\s*(BEGIN|END) promotion", re.MULTILINE)
    for path, text in _pages(hostile_site).items():
        assert not marker.search(text), path
    claude = hostile_site["CLAUDE.md"]
    assert [m.group(1) for m in marker.finditer(claude)] == ["BEGIN", "END"]


def table_rows(text: str) -> list[list[str]]:
    """The Markdown tables of ``text``, each a list of its row lines."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def unescaped_pipes(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


def test_tables_keep_their_column_count(hostile_site: dict[str, str]) -> None:
    checked = 0
    for path, text in _pages(hostile_site).items():
        for table in table_rows(text):
            assert re.fullmatch(r"\|(---\|)+", table[1]), f"{path}: second row of a table is not its separator: {table[1]!r}"
            expected = unescaped_pipes(table[1])
            for row in table:
                assert unescaped_pipes(row) == expected, f"{path}: {row!r}"
                checked += 1
    assert checked > 40


def test_the_column_check_can_fail() -> None:
    assert table_rows("| a | b |\n|---|---|\n| x | y | z |") == [["| a | b |", "|---|---|", "| x | y | z |"]]
    assert unescaped_pipes("| x | y | z |") != unescaped_pipes("|---|---|")
    assert unescaped_pipes(r"| x \| y |") == 2


# Python-Markdown with the extensions of mkdocs.yml (the mermaid fence as configured there).
MKDOCS_EXTENSIONS: list[Any] = [
    "admonition",
    "attr_list",
    "tables",
    "toc",
    "pymdownx.details",
    "pymdownx.superfences",
    "pymdownx.tasklist",
]
MKDOCS_EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {
    "toc": {"permalink": True},
    "pymdownx.superfences": {
        "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": fence_code_format}]
    },
    "pymdownx.tasklist": {"custom_checkbox": True},
}


def test_the_extension_list_matches_mkdocs_yml() -> None:
    text = (Path(__file__).resolve().parent.parent / "mkdocs.yml").read_text(encoding="utf-8")
    section = text.split("markdown_extensions:", 1)[1].split("\n\n", 1)[0]
    names = re.findall(r"^  - ([A-Za-z_.]+)", section, flags=re.MULTILINE)
    assert names == MKDOCS_EXTENSIONS


class HTMLReport(html.parser.HTMLParser):
    """Visible text and every element of an HTML fragment (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        if tag == "br":
            self.text.append("\n")

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)


def to_html(text: str) -> HTMLReport:
    out = markdown.markdown(text, extensions=MKDOCS_EXTENSIONS, extension_configs=MKDOCS_EXTENSION_CONFIGS)
    report = HTMLReport()
    report.feed(out)
    report.close()
    return report


def unsafe_elements(report: HTMLReport) -> list[str]:
    found = []
    for tag, attrs in report.elements:
        if tag in ("script", "img", "iframe", "object", "embed", "svg"):
            found.append(tag)
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"{tag} {name}")
            if name in ("href", "src") and value.strip().lower().startswith("javascript:"):
                found.append(f"{tag} {name}={value}")
    return found


def test_the_html_check_can_fail() -> None:
    report = to_html('<script>x</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) <b onclick="y">b</b>')
    assert unsafe_elements(report) == ["script", "img", "img onerror", "a href=javascript:alert(1)", "b onclick"]


def test_pages_render_to_safe_html(hostile_site: dict[str, str]) -> None:
    for path, text in _pages(hostile_site).items():
        assert unsafe_elements(to_html(text)) == [], path


@pytest.mark.parametrize("page", ["site-docs/agents/bob.md", "site-docs/matrix.md", "site-docs/playbook.md", "site-docs/promotions/dev-to-stage.md"])
def test_hostile_text_shows_as_those_characters(hostile_site: dict[str, str], page: str) -> None:
    visible = to_html(hostile_site[page]).visible
    expected = {
        # The agent page shows the description (one hostile string per line), the engine and its name.
        "site-docs/agents/bob.md": [*HOSTILE, NEWLINE_VALUE, "TODO " + " ".join(HOSTILE)],
        # The matrix shows the engine (short form is the whole placeholder) and the approval channel.
        "site-docs/matrix.md": ["TODO " + " ".join(HOSTILE), "#deploy " + " ".join(HOSTILE)],
        "site-docs/playbook.md": [*(f"check {t}" for t in HOSTILE), *(f"run {t}" for t in HOSTILE), NEWLINE_VALUE, " ".join(HOSTILE)],
        "site-docs/promotions/dev-to-stage.md": [*(f"check {t}" for t in HOSTILE), *(f"run {t}" for t in HOSTILE), NEWLINE_VALUE],
    }[page]
    for text in expected:
        assert text in visible, f"{text!r} not shown literally on {page}"


def test_display_names_show_as_those_characters(hostile_site: dict[str, str]) -> None:
    visible = to_html(hostile_site["site-docs/agents/index.md"]).visible
    assert " ".join(HOSTILE) in visible
    assert NEWLINE_VALUE in visible


def test_tooltips_hold_the_full_engine_id(hostile_site: dict[str, str]) -> None:
    report = to_html(hostile_site["site-docs/matrix.md"])
    titles = [attrs["title"] for tag, attrs in report.elements if tag == "code" and "title" in attrs]
    assert "TODO " + " ".join(HOSTILE) in titles


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)
