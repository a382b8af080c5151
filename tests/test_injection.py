"""Config text is data everywhere it lands: never markup, never a template, never a marker.

Every free-text field of the config (display_name, description, agent_dir, purpose, check name and
command, approval_channel, engine_name, monitoring, environment description) holds script
tags, event handlers, ``javascript:`` links, Markdown links, table pipes, backticks,
newlines, Jinja syntax and the CLAUDE.md marker itself. ``promotion generate`` must
succeed, and:

- no generated page, and not CLAUDE.md, holds any of it raw (only as entities);
- rendered through Python-Markdown with mkdocs.yml's own extensions, no page has a
  script/img/iframe/style element, an ``on*`` attribute or a ``javascript:`` URL, and
  every page has exactly the structure (tags, tables, rows, columns) it has for a plain
  config with the same agents and environments;
- the text reads back as the very characters of the config;
- CLAUDE.md keeps one BEGIN and one END marker, and the hand-written text around them;
- templates run in Jinja's sandbox, and config text is never compiled as a template.

The browser test builds the site with mkdocs and loads every page in Chromium.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import markdown
import pytest
from jinja2.sandbox import SandboxedEnvironment
from test_corpus import BASE, emit, run_cli, snapshot

from generator import markers, render

ROOT = Path(__file__).resolve().parent.parent

#: Every one of these is put, one per line, into every free-text field.
PAYLOADS = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">link</a>',
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
    "![pic](javascript:alert(1))",
    "<https://evil.example/>",
    "a | b | c",
    "`backticks` and ``double``",
    "{{ 7*7 }}",
    "{% raw %}",
    '{: onclick="alert(1)" }',
    "<!-- END promotion -->",
    "<!-- BEGIN promotion -->",
    '--8<-- "/etc/passwd"',
    "*emphasis* _under_ **bold**",
    "# not a heading",
    "&lt;script&gt; &amp; &#60;",
    "<style>body{display:none}</style>",
    '<iframe src="https://evil.example"></iframe>',
]
PAYLOAD = "\n".join(PAYLOADS)

#: None of these may appear in any generated file.
RAW_FRAGMENTS = [
    "<script",
    "<img",
    "<iframe",
    "<style",
    "onerror=",
    "onclick=",
    "javascript:",
    "{{ 7*7 }}",
    "{% raw %}",
    "<!-- END promotion -->",
    "<!-- BEGIN promotion -->",
    "--8<--",
    "`backticks`",
    "a | b | c",
    "&lt;script&gt;",
    "*emphasis*",
    "<https://",
]

FORBIDDEN_TAGS = {"script", "img", "iframe", "style", "object", "embed", "link", "meta", "base", "form", "frame", "frameset"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcset"}


def hostile_data(text: Callable[[str], str] = lambda path: f"[{path}]\n{PAYLOAD}") -> tuple[dict[str, Any], dict[str, str]]:
    """valid.yaml with ``text(path)`` (by default the payload, tagged by its path) in every free-text field."""
    data = copy.deepcopy(BASE)
    values: dict[str, str] = {}

    def put(holder: dict[str, Any], key: str, path: str) -> None:
        holder[key] = values[path] = text(path)

    for name, env in data["environments"].items():
        put(env, "purpose", f"environments.{name}.purpose")
        put(env, "monitoring", f"environments.{name}.monitoring")
    for key, agent in data["agents"].items():
        for field in ("display_name", "description", "agent_dir"):
            put(agent, field, f"agents.{key}.{field}")
        for name, env in agent["environments"].items():
            put(env, "engine_name", f"agents.{key}.environments.{name}.engine_name")
    for key, promotion in data["promotion"].items():
        checks = promotion["required_checks"]
        for index, check in enumerate(checks):
            path = f"promotion.{key}.required_checks[{index}]"
            if isinstance(check, str):
                checks[index] = values[f"{path}.name"] = text(f"{path}.name")
            else:
                put(check, "name", f"{path}.name")
                put(check, "command", f"{path}.command")
        if "approval_channel" in promotion:
            put(promotion, "approval_channel", f"promotion.{key}.approval_channel")
    return data, values


HOSTILE, HOSTILE_VALUES = hostile_data()
HAND_WRITTEN = b"# Project notes\n\nWritten by hand; <!-- not ours --> stays.\n"


def generate_project(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(emit(data).text, encoding="utf-8")
    (folder / "CLAUDE.md").write_bytes(HAND_WRITTEN)
    result = run_cli(["generate", "--config", "config.yaml"], cwd=folder)
    assert result.code == 0, result.out + result.err
    assert "Traceback" not in result.err
    return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_project(tmp_path_factory.mktemp("hostile"), HOSTILE)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_project(tmp_path_factory.mktemp("plain"), BASE)


def pages(project: Path) -> list[Path]:
    return sorted((project / "site-docs").rglob("*.md"))


def generated_files(project: Path) -> list[Path]:
    return [*pages(project), project / "CLAUDE.md"]


# --- Markdown -> HTML, as mkdocs renders it -----------------------------------------------------


def mkdocs_markdown() -> markdown.Markdown:
    """Python-Markdown with the extensions and settings mkdocs.yml lists."""
    from mkdocs.utils.yaml import yaml_load

    with (ROOT / "mkdocs.yml").open("rb") as handle:
        config = yaml_load(handle)
    names: list[str] = []
    settings: dict[str, Any] = {}
    for item in config.get("markdown_extensions", []):
        if isinstance(item, dict):
            ((name, options),) = item.items()
            names.append(name)
            settings[name] = options or {}
        else:
            names.append(item)
    return markdown.Markdown(extensions=names, extension_configs=settings)


class Html(HTMLParser):
    """Start tags (with attributes), text, and the cells of each table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.tables: list[list[int]] = []  # per table: cells per row

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.tables[-1][-1] += 1
        elif tag == "br":
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_of(page: Path) -> Html:
    converter = mkdocs_markdown()
    parser = Html()
    parser.feed(converter.convert(page.read_text(encoding="utf-8")))
    parser.close()
    return parser


# --- the tests --------------------------------------------------------------------------------


def test_every_free_text_field_is_hostile() -> None:
    # The fields the issue names, in every agent, environment and check of valid.yaml.
    fields = {path.rsplit(".", 1)[-1] for path in HOSTILE_VALUES}
    assert fields == {"display_name", "description", "agent_dir", "purpose", "name", "command", "approval_channel", "engine_name", "monitoring"}
    assert len(HOSTILE_VALUES) == 2 * 3 + 2 * 3 + 2 * 3 + 3 + 2 + 1


def test_generate_succeeds_and_a_second_run_writes_nothing(hostile: Path) -> None:
    before = snapshot(hostile)
    result = run_cli(["generate", "--config", "config.yaml"], cwd=hostile)
    check = run_cli(["generate", "--config", "config.yaml", "--check"], cwd=hostile)
    assert result.code == 0 and "0 files written or removed" in result.out, result.out + result.err
    assert check.code == 0, check.err
    assert snapshot(hostile) == before


@pytest.mark.parametrize("fragment", RAW_FRAGMENTS)
def test_no_generated_file_holds_config_text_raw(hostile: Path, fragment: str) -> None:
    for path in generated_files(hostile):
        text = path.read_text(encoding="utf-8")
        assert fragment not in text, f"{path.relative_to(hostile)} holds {fragment!r} unescaped"


def test_every_hostile_value_reads_back_as_its_characters(hostile: Path) -> None:
    text = {page: "".join(html_of(page).text) for page in pages(hostile)}
    for path, value in HOSTILE_VALUES.items():
        where = [page for page, content in text.items() if value in content]
        assert where, f"{path} does not appear as its own text on any page"


def test_rendered_pages_have_no_active_content(hostile: Path) -> None:
    for page in pages(hostile):
        parsed = html_of(page)
        for tag, attrs in parsed.tags:
            assert tag not in FORBIDDEN_TAGS, f"{page.name}: <{tag}>"
            for name, value in attrs:
                assert not name.startswith("on"), f"{page.name}: <{tag} {name}=...>"
                if name in URL_ATTRIBUTES and value:
                    scheme = "".join(value.split()).lower()
                    assert not scheme.startswith(("javascript:", "vbscript:", "data:")), f"{page.name}: <{tag} {name}={value!r}>"


def test_page_structure_is_that_of_a_plain_config(hostile: Path, plain: Path) -> None:
    hostile_pages = [page.relative_to(hostile) for page in pages(hostile)]
    assert hostile_pages == [page.relative_to(plain) for page in pages(plain)]
    for rel in hostile_pages:
        got = [tag for tag, _ in html_of(hostile / rel).tags if tag != "br"]
        expected = [tag for tag, _ in html_of(plain / rel).tags if tag != "br"]
        assert got == expected, f"{rel}: the hostile config changed the page's elements"


def test_tables_keep_their_column_count(hostile: Path) -> None:
    tables = 0
    for page in pages(hostile):
        for rows in html_of(page).tables:
            tables += 1
            assert rows and all(cells == rows[0] for cells in rows), f"{page.name}: cells per row {rows}"
        # The Markdown source too: every row of a table has the header's number of unescaped pipes.
        header: int | None = None
        for line in page.read_text(encoding="utf-8").split("\n"):
            if line.startswith("|"):
                count = line.count("|")
                header = count if header is None else header
                assert count == header, f"{page.name}: {line[:120]!r}"
            else:
                header = None
    assert tables >= 5


def test_claude_md_keeps_one_section_and_the_text_around_it(hostile: Path) -> None:
    data = (hostile / "CLAUDE.md").read_bytes()
    assert data.startswith(HAND_WRITTEN)
    kinds = [markers._marker_kind(line.rstrip(b"\r")) for line in data.split(b"\n")]
    assert [kind for kind in kinds if kind] == ["BEGIN", "END"]
    assert markers._find_section(data, "CLAUDE.md") is not None


def test_templates_render_in_the_sandbox() -> None:
    env = render.make_environment()
    assert isinstance(env, SandboxedEnvironment)
    assert env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.exceptions.SecurityError):
        env.from_string("{{ x.__class__.__mro__ }}").render(x="")


def test_a_template_escaping_the_sandbox_is_refused(hostile: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(hostile, project)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "matrix.md.j2").write_text("{{ environments.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8")
    before = snapshot(project)
    result = run_cli(["generate", "--config", "config.yaml", "--templates", str(templates)], cwd=project)
    assert result.code == 1 and "Traceback" not in result.err
    assert "error [template]" in result.err and "unsafe" in result.err, result.err
    assert snapshot(project) == before


def test_config_text_is_never_compiled_as_a_template(hostile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: jinja2.Environment, source: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"from_string called with {str(source)[:80]!r}")

    monkeypatch.setattr(jinja2.Environment, "from_string", refuse)
    project = tmp_path / "project"
    generate_project(project, HOSTILE)
    for path in generated_files(project):
        assert path.read_bytes() == (hostile / path.relative_to(project)).read_bytes()


# --- readable text that only looks like markup -------------------------------------------------
#
# The escaper leaves punctuation alone unless Markdown would act on it there. Each case is the
# whole value of every free-text field (so it starts a line in the description paragraph, ends
# one in the heading, sits in table cells, list items and code), and pairs the value with how
# its prose form must read in the Markdown source: the readable characters stay as written.

READABLE = [
    ("Bob's Brain (edited), v2: it's ready? yes! 100% @team $5 ~ok ^up = \"quoted\" + more; a, b: c", "Bob's Brain (edited), v2: it's ready? yes! 100% @team $5 ~ok ^up = \"quoted\" + more; a, b: c"),
    ("it's <b>x</b>", "it's &lt;b>x&lt;/b>"),
    ("(see [x](javascript:alert(1)))", "(see \\[x\\](javascript&#58;alert(1)))"),
    ("<img src=x onerror=alert(1)> it's", "&lt;img src=x onerror&#61;alert(1)> it's"),
    ("a_b_c and snake_case_name", "a_b_c and snake_case_name"),
    ("_a_ and __b__", "\\_a\\_ and \\_\\_b\\_\\_"),
    ("*a* and **b**", "\\*a\\* and \\*\\*b\\*\\*"),
    (":smile: at 10:30", "&#58;smile: at 10:30"),
    ("==x== ~~y~~ ^^z^^ ++ctrl++", "&#61;=x&#61;= &#126;~y&#126;~ &#94;^z&#94;^ \\++ctrl\\++"),
    ("{: onclick=alert(1)}", "&#123;: onclick&#61;alert(1)}"),
    ("{{ 7*7 }} {% raw %}", "&#123;&#123; 7\\*7 }} &#123;% raw %}"),
    ('--8<-- "x"', '\\--8&lt;-- "x"'),
    ("1. x", "1\\. x"),
    ("1) x", "1\\) x"),
    ("# x", "\\# x"),
    ("#deployments", "\\#deployments"),
    ("> x", "\\> x"),
    ("- x", "\\- x"),
    ("+ x", "\\+ x"),
    ("---", "\\---"),
    ("===", "&#61;&#61;="),
    ('!!! danger "x"', '\\!!! danger "x"'),
    ("??? note", "&#63;?? note"),
    ("~~~", "&#126;&#126;~"),
    ("[TOC]", "\\[TOC\\]"),
    ("[ ] not a task", "\\[ \\] not a task"),
    ("    indented", "&#32;   indented"),
    ("C# and F#", "C# and F\\#"),
    ("a & b, R&D, &amp; &#60;", "a & b, R&D, &amp;amp; &amp;#60;"),
    ("a \\ b", "a \\\\ b"),
    ("make test | tee log", "make test &#124; tee log"),
    ("<!-- END promotion -->", "&lt;!-- END promotion -->"),
]


@pytest.fixture(scope="module")
def readable(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One generated project per case: {value: project folder}."""
    return {value: generate_project(tmp_path_factory.mktemp("readable"), readable_data(value)) for value, _ in READABLE}


def readable_data(value: str) -> dict[str, Any]:
    # Checks are merged by name along the pipeline: each check keeps a name of its own.
    return hostile_data(lambda path: f"{value} ({path})" if path.startswith("promotion.") else value)[0]


def test_readable_cases_are_what_md_escape_gives() -> None:
    # The table above is the escaper's contract; the end-to-end tests below check it holds on the pages.
    assert [render.md_escape(value) for value, _ in READABLE] == [source for _, source in READABLE]


@pytest.mark.parametrize(("value", "source"), READABLE, ids=[value for value, _ in READABLE])
def test_readable_text_stays_readable_in_the_markdown(readable: dict[str, Path], value: str, source: str) -> None:
    project = readable[value]
    texts = {page: page.read_text(encoding="utf-8") for page in pages(project)}
    # The description paragraph: the value alone on its line, in its prose form.
    agent_page = texts[project / "site-docs" / "agents" / "bob.md"]
    assert f"\n{source}\n" in agent_page
    # In code (the directory): as written when a code span can hold it.
    if "|" not in value and not value.startswith(" ") and "{" not in value:
        assert f"`{value}`" in agent_page


@pytest.mark.parametrize(("value", "source"), READABLE, ids=[value for value, _ in READABLE])
def test_readable_text_is_inert_and_reads_back(readable: dict[str, Path], plain: Path, value: str, source: str) -> None:
    project = readable[value]
    assert [page.relative_to(project) for page in pages(project)] == [page.relative_to(plain) for page in pages(plain)]
    for page in pages(project):
        parsed = html_of(page)
        rel = page.relative_to(project)
        for tag, attrs in parsed.tags:
            assert tag not in FORBIDDEN_TAGS, f"{rel}: <{tag}>"
            for name, attr in attrs:
                assert not name.startswith("on"), f"{rel}: <{tag} {name}=...>"
                if name in URL_ATTRIBUTES and attr:
                    assert not "".join(attr.split()).lower().startswith(("javascript:", "vbscript:", "data:")), f"{rel}: <{tag} {name}={attr!r}>"
        expected = [tag for tag, _ in html_of(plain / rel).tags if tag != "br"]
        assert [tag for tag, _ in parsed.tags if tag != "br"] == expected, f"{rel}: {value!r} changed the page's elements"
        for rows in parsed.tables:
            assert all(cells == rows[0] for cells in rows), f"{rel}: cells per row {rows}"
    visible = "".join(html_of(project / "site-docs" / "agents" / "bob.md").text)
    assert value.strip() in visible
    data = (project / "CLAUDE.md").read_bytes()
    assert [kind for kind in (markers._marker_kind(line) for line in data.split(b"\n")) if kind] == ["BEGIN", "END"]


# --- in the built site, in a real browser ------------------------------------------------------

XSS_PROBE = """
(() => {
  window.__xss = [];
  for (const name of ["alert", "confirm", "prompt"]) {
    window[name] = (...args) => { window.__xss.push(name + ":" + args.join(",")); };
  }
})();
"""
ACTIVE_CONTENT = """
() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith("on")) found.push(el.tagName + " " + attr.name);
      if (["href", "src", "action", "formaction"].includes(attr.name) && /^\\s*(javascript|vbscript|data):/i.test(attr.value)) {
        found.push(el.tagName + " " + attr.name + "=" + attr.value);
      }
    }
  }
  for (const script of document.querySelectorAll("script")) {
    if ((script.textContent || "").includes("xss") || (script.src || "").includes("evil")) found.push("script " + script.src);
  }
  for (const el of document.querySelectorAll("iframe, img[src='x'], style")) {
    if ((el.textContent || "").includes("display:none") || (el.getAttribute("src") || "") === "x" || el.tagName === "IFRAME") {
      found.push(el.tagName);
    }
  }
  return found;
}
"""


@pytest.mark.browser
def test_hostile_config_does_not_execute_in_the_built_site(tmp_path: Path, browser: Any) -> None:
    import site_helpers

    project = site_helpers.copy_project(tmp_path / "project", emit(HOSTILE).text)
    site = site_helpers.build_ok(project)
    agent_text = "<script>alert('xss')</script>"
    with site_helpers.serve_directory(site) as base:
        page = browser.new_page()
        try:
            page.add_init_script(XSS_PROBE)
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            seen_text = False
            for html_page in site_helpers.html_pages(site):
                page.goto(site_helpers.page_url(base, site, html_page), wait_until="load")
                page.wait_for_timeout(50)
                assert page.evaluate("window.__xss") == [], html_page
                assert page.evaluate(ACTIVE_CONTENT) == [], html_page
                seen_text = seen_text or agent_text in page.inner_text("body")
            assert dialogs == []
            assert seen_text, "the payload should be shown as text somewhere in the site"
        finally:
            page.close()
