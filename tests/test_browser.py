"""The built runbook site in headless Chromium (the distribution's, through Playwright).

Every test runs against both engines (the ``engine`` fixture): mkdocs-material
(``mkdocs build --strict``, the plugin generating the pages) and Zensical (``make
site-zensical``: ``promotion generate``, then ``zensical build``). Each site is built once
per session and engine, in a project copy, and served by a threaded ``http.server`` on
localhost. Where the engines' HTML differs (search), the selectors come from
``site_helpers.ENGINE_UI``. Without Chromium or Playwright these tests skip with the
install commands; under ``PROMOTION_REQUIRE_BROWSER=1`` (``.ci/run``) they fail instead.
Screenshots go to ``tests/artifacts/`` (``matrix-<engine>.png``, and the phone-width dark
scheme ``matrix-dark-390-<engine>.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from conftest import DEPLOYED_FIXTURE, FOUR_ENVS_FIXTURE, PLACEHOLDER_FIXTURE, engine_resource, mutate, set_env_field
from site_helpers import (
    ARTIFACTS,
    CODE_WRAPS_JS,
    CONFIG_REL,
    ENGINE_UI,
    ENGINES,
    MERMAID_TEXT_PX_JS,
    OPEN_SHADOW_ROOTS,
    EngineUI,
    PageWatch,
    build_ok_with,
    copy_project,
    html_pages,
    http_get,
    internal_links,
    page_url,
    parse_links,
    search,
    serve_directory,
)

from generator.loader import load_config

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
MIN_DIAGRAM_TEXT_PX = 11
KEY_PAGES = ["", "playbook/", "matrix/", "agents/bob/"]
XSS_SCRIPT = "<script>window.__pwned=1</script>"
XSS_IMG = '<img src=x onerror="window.__pwned=2">'
XSS_TITLE = "</title><script>window.__pwned=3</script>"


def mixed_config_text() -> str:
    """The shipped config with every status in use: bob validated in dev, deployed in stage,
    pending in prod; foreman pending everywhere (placeholders)."""
    text = PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")
    for number, (env, project, status) in enumerate((("dev", "bobs-brain-dev", "validated"), ("stage", "bobs-brain-stage", "deployed"))):
        text = set_env_field(text, "bob", env, "engine_id", engine_resource(project, str(5_100_000_000_000_000_003 + number * 7919)))
        text = set_env_field(text, "bob", env, "status", status)
    return text


def hostile_config_text() -> str:
    """bob's description and display name hold markup that must stay text."""
    text = PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")
    text = mutate(text, "description: Global orchestrator for the ADK compliance department", f"description: '{XSS_SCRIPT} and {XSS_IMG}'")
    return mutate(text, "display_name: Bob's Brain", f"display_name: '{XSS_TITLE}'")


class Site:
    def __init__(self, base: str, folder: Path, config_path: Path, engine: str) -> None:
        self.base = base
        self.folder = folder
        self.config_path = config_path
        self.engine = engine
        self.ui: EngineUI = ENGINE_UI[engine]

    def url(self, path: str = "") -> str:
        return self.base + path


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _served_site(tmp_path_factory: pytest.TempPathFactory, engine: str, name: str, config_text: str) -> Iterator[Site]:
    project = copy_project(tmp_path_factory.mktemp(f"{name}-{engine}") / "project", config_text)
    folder = build_ok_with(engine, project)
    with serve_directory(folder) as base:
        yield Site(base, folder, project / CONFIG_REL, engine)


@pytest.fixture(scope="session")
def site(browser: Any, engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _served_site(tmp_path_factory, engine, "site", mixed_config_text())


@pytest.fixture(scope="session")
def hostile_site(browser: Any, engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _served_site(tmp_path_factory, engine, "hostile", hostile_config_text())


@pytest.fixture(scope="session")
def deployed_site(browser: Any, engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """tests/fixtures/deployed.yaml: every engine a real resource name."""
    yield from _served_site(tmp_path_factory, engine, "deployed", DEPLOYED_FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def four_envs_site(browser: Any, engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _served_site(tmp_path_factory, engine, "four-envs", FOUR_ENVS_FIXTURE.read_text(encoding="utf-8"))


def _context(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    ctx = browser.new_context(viewport=viewport)
    ctx.set_default_timeout(TIMEOUT_MS)
    # Mermaid's SVG (both engines) and Zensical's search dialog live in closed shadow roots.
    ctx.add_init_script(OPEN_SHADOW_ROOTS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    yield from _context(browser, {"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized viewport (390 x 844 CSS pixels)."""
    yield from _context(browser, PHONE)


def open_page(context: Any, site: Site) -> tuple[Any, PageWatch]:
    page = context.new_page()
    return page, PageWatch(page, site.base)


def visit(page: Any, watch: PageWatch, url: str) -> None:
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
    if page.locator("pre.mermaid").count():
        page.locator("div.mermaid").first.wait_for(state="attached")  # material has rendered the diagram
    assert watch.errors == [], f"{url}:\n" + "\n".join(watch.errors)
    assert watch.external == [], f"{url} made third-party requests: {watch.external}"


# --- pages, links ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", KEY_PAGES, ids=["home", "playbook", "matrix", "agent"])
def test_key_page_loads_without_console_errors(context: Any, site: Site, path: str) -> None:
    page, watch = open_page(context, site)
    visit(page, watch, site.url(path))
    assert page.locator("article h1").first.is_visible()


def test_every_page_loads_without_console_errors(context: Any, site: Site) -> None:
    page, watch = open_page(context, site)
    pages = [page_url(site.base, site.folder, p) for p in html_pages(site.folder) if p.name != "404.html"]
    assert len(pages) >= 10, pages
    for url in pages:
        watch.clear()
        visit(page, watch, url)


def test_every_internal_link_resolves(site: Site) -> None:
    links = internal_links(site.base, site.folder)
    pages = {page_url(site.base, site.folder, p) for p in html_pages(site.folder) if p.name != "404.html"}
    assert pages - set(links) == set(), "pages no other page links to"
    broken = {}
    for url, sources in sorted(links.items()):
        status, _body = http_get(url)
        if status != 200:
            broken[url] = (status, sorted(sources)[:3])
    assert broken == {}, broken


def test_every_internal_anchor_exists(site: Site) -> None:
    """Links to ``page#fragment`` point at an id that exists on the page."""
    ids = {page_url(site.base, site.folder, p): parse_links(p).ids for p in html_pages(site.folder)}
    missing = []
    for page in html_pages(site.folder):
        here = page_url(site.base, site.folder, page)
        for raw in parse_links(page).urls:
            if "#" not in raw or raw.startswith(("http:", "https:")):
                continue
            target, fragment = urldefrag(urljoin(here, raw))
            if fragment and target in ids and fragment not in ids[target]:
                missing.append(f"{page.relative_to(site.folder).as_posix()}: {raw}")
    assert missing == [], missing


# --- the matrix, Mermaid, search, the palette ---------------------------------------------------

ROWS_JS = """
() => [...document.querySelectorAll("article table tbody tr")].map(tr => ({
  cells: [...tr.cells].map(td => td.innerText.trim()),
  badges: [...tr.querySelectorAll(".promo-badge")].map(b => {
    const s = getComputedStyle(b);
    return { text: b.innerText.trim(), color: s.color, background: s.backgroundColor };
  }),
}))
"""


def test_matrix_shows_every_agent_in_every_environment_with_its_status(context: Any, site: Site) -> None:
    config = load_config(str(site.config_path), display=CONFIG_REL)
    page, watch = open_page(context, site)
    visit(page, watch, site.url("matrix/"))
    rows = page.evaluate(ROWS_JS)
    page_background = page.evaluate("getComputedStyle(document.querySelector('.md-main')).backgroundColor")
    expected = 0
    seen_statuses = set()
    for key, agent in config.agents.items():
        for env_name in config.environments:
            env = agent.environments.get(env_name)
            if env is None:
                continue
            expected += 1
            matches = [r for r in rows if key in r["cells"] and env_name in r["cells"] and env.status in r["cells"]]
            assert len(matches) == 1, f"{key} in {env_name} ({env.status}): {len(matches)} matrix rows"
            badge = next((b for b in matches[0]["badges"] if b["text"] == env.status), None)
            assert badge, f"{key} in {env_name}: the status is not a badge: {matches[0]}"
            assert badge["background"] not in ("rgba(0, 0, 0, 0)", "transparent", page_background), badge
            seen_statuses.add(env.status)
    assert seen_statuses == {"pending", "deployed", "validated"}
    assert expected == 6


def test_tables_fit_the_content_column(context: Any, site: Site) -> None:
    """At a laptop width the wide tables (the matrix has seven columns) need no sideways scroll."""
    page, watch = open_page(context, site)
    for path in ("matrix/", "agents/bob/", "promotions/dev-to-stage/", "agents/"):
        visit(page, watch, site.url(path))
        overflow = page.evaluate(
            """() => [...document.querySelectorAll(".md-typeset__scrollwrap")]
                 .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.scrollWidth + " > " + e.clientWidth)"""
        )
        assert overflow == [], f"{path}: a table scrolls sideways: {overflow}"


def test_mermaid_flow_renders_as_svg(context: Any, site: Site) -> None:
    page, watch = open_page(context, site)
    page.goto(site.url("playbook/"), wait_until="load")
    svg = page.locator(".mermaid svg").first
    svg.wait_for(state="visible")
    box = svg.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 20, box
    labels = svg.text_content()
    for env in ("dev", "stage", "prod"):
        assert env in (labels or ""), labels
    assert page.locator("pre.mermaid").count() == 0, "a diagram was left as source"
    assert watch.errors == [], watch.errors


def test_search_finds_an_agent_by_display_name(context: Any, site: Site) -> None:
    config = load_config(str(site.config_path), display=CONFIG_REL)
    agent = config.agents["foreman"]
    page, watch = open_page(context, site)
    visit(page, watch, site.url())
    results = search(page, site.ui, agent.display_name)
    assert results, "no search results"
    paths = [urlsplit(r["href"]).path for r in results]
    assert "/agents/foreman/" in paths, results
    assert agent.display_name in results[paths.index("/agents/foreman/")]["text"]
    page.locator(f'{site.ui.search_result}[href*="agents/foreman/"]').first.click()
    page.wait_for_url("**/agents/foreman/**")
    assert page.locator("article h1").first.inner_text().strip().startswith(agent.display_name)


def test_light_dark_toggle_switches_the_scheme_and_the_badges_keep_a_colour(context: Any, site: Site) -> None:
    page, watch = open_page(context, site)
    visit(page, watch, site.url("matrix/"))
    scheme = "document.body.getAttribute('data-md-color-scheme')"
    badge = "getComputedStyle(document.querySelector('.promo-status-pending')).backgroundColor"
    assert page.evaluate(scheme) == "default"
    light = page.evaluate(badge)
    page.locator("form[data-md-component=palette] label:visible").first.click()
    page.wait_for_function(f"{scheme} === 'slate'")
    dark = page.evaluate(badge)
    assert light != dark, "the badge colours do not follow the scheme"
    page.reload(wait_until="load")  # the choice is remembered
    assert page.evaluate(scheme) == "slate"


# --- hostile config text ------------------------------------------------------------------------


def test_markup_in_config_text_is_shown_as_text_and_never_runs(context: Any, hostile_site: Site) -> None:
    page, watch = open_page(context, hostile_site)
    image_requests = []
    page.on("request", lambda request: image_requests.append(request.url) if urlsplit(request.url).path.endswith("/x") else None)

    for path in ("agents/bob/", "agents/", "matrix/", "promotions/dev-to-stage/"):
        visit(page, watch, hostile_site.url(path))
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.locator('img[src="x"]').count() == 0, path
        assert page.locator("article script").count() == 0, path

    page.goto(hostile_site.url("agents/bob/"), wait_until="networkidle")
    article = page.locator("article").first.inner_text()
    assert f"{XSS_SCRIPT} and {XSS_IMG}" in article
    assert page.get_by_text(XSS_SCRIPT, exact=False).first.is_visible()
    assert page.locator("article h1").first.inner_text().strip().startswith(XSS_TITLE)
    assert page.title().startswith(XSS_TITLE), page.title()

    results = search(page, hostile_site.ui, "onerror")  # the search results show the title and the description
    assert any("agents/bob/" in r["href"] for r in results), results
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert image_requests == []
    assert watch.errors == [], watch.errors


# --- the artifact -----------------------------------------------------------------------------


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / name
    page.screenshot(path=str(target), full_page=True)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_matrix_screenshot_is_written(context: Any, site: Site) -> None:
    page, watch = open_page(context, site)
    visit(page, watch, site.url("matrix/"))
    screenshot(page, f"matrix-{site.engine}.png")


# --- phones (390 px wide) -------------------------------------------------------------------------


def content_pages(site: Site) -> list[str]:
    return [page_url(site.base, site.folder, p) for p in html_pages(site.folder) if p.name != "404.html"]


def test_inline_code_never_wraps_inside_a_token_on_a_phone(phone: Any, site: Site) -> None:
    """Engine numbers, placeholders and commands stay on one line (a wide table scrolls instead),
    and the page itself never scrolls sideways."""
    page, watch = open_page(phone, site)
    checked = 0
    for url in content_pages(site):
        visit(page, watch, url)
        assert page.evaluate(CODE_WRAPS_JS) == [], url
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{url} scrolls sideways by {overflow} px"
        checked += page.locator("article :not(pre) > code").count()
    assert checked > 50, checked


#: Each full resource name on the page (``code.promo-resource``): its text, how many line
#: boxes it takes, and the copy button promotion-copy.js put after it.
RESOURCES_JS = """
() => [...document.querySelectorAll("article code.promo-resource")].map(code => {
  const button = code.nextElementSibling;
  const box = button && button.getBoundingClientRect();
  return {
    text: code.textContent,
    rects: code.getClientRects().length,
    button: button && button.matches("button.promo-copy") ? { label: button.getAttribute("aria-label"), right: box.right, width: box.width } : null,
  };
})
"""


def test_full_resource_names_wrap_only_after_a_slash_and_have_a_copy_button_on_a_phone(phone: Any, site: Site) -> None:
    """bob's dev and stage engines are real: their agent page and the dev -> stage step page
    show each full resource name (not only a tooltip), which wraps on a phone, only after a "/",
    with a copy button beside it inside the viewport."""
    config = load_config(str(site.config_path), display=CONFIG_REL)
    bob = config.agents["bob"].environments
    names = [bob["dev"].engine_id, bob["stage"].engine_id]
    page, watch = open_page(phone, site)
    for path in ("agents/bob/", "promotions/dev-to-stage/"):
        visit(page, watch, site.url(path))
        found = page.evaluate(RESOURCES_JS)
        assert [r["text"] for r in found] == names, f"{path}: {found}"
        for resource in found:
            assert resource["rects"] > 1, f"{path}: a 90-character resource name should wrap at 390 px: {resource}"
            assert resource["button"] and resource["button"]["label"] == f"Copy {resource['text']}", f"{path}: {resource}"
            assert resource["button"]["width"] > 0 and resource["button"]["right"] <= PHONE["width"], f"{path}: {resource}"
        assert page.evaluate(CODE_WRAPS_JS) == [], path
        assert watch.errors == [], watch.errors


def test_the_copy_button_copies_the_full_resource_name(browser: Any, site: Site) -> None:
    ctx = browser.new_context(viewport=PHONE)
    try:
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base.rstrip("/"))
        page, watch = open_page(ctx, site)
        visit(page, watch, site.url("agents/bob/"))
        code = page.locator("article code.promo-resource").first
        name = code.inner_text().replace("\n", "")
        assert name.startswith("projects/bobs-brain-dev/locations/us-central1/reasoningEngines/"), name
        button = page.locator("article code.promo-resource + button.promo-copy").first
        button.click()
        page.wait_for_function("() => document.querySelector('article button.promo-copy').textContent === 'Copied'")
        assert page.evaluate("navigator.clipboard.readText()") == name
        assert watch.errors == [], watch.errors
    finally:
        ctx.close()


#: The verdict badges (``.promo-state``) in column 2 of the article's tables: their right edges.
VERDICTS_JS = """
() => [...document.querySelectorAll("article table tbody tr > td:nth-child(2) .promo-state")]
  .map(b => ({ text: b.innerText.trim(), right: b.getBoundingClientRect().right }))
"""


def test_verdicts_are_in_view_on_a_phone_without_scrolling_sideways(phone: Any, site: Site) -> None:
    """At 2 a.m. on a phone, the step page's agents and the matrix's steps show their verdict
    without a sideways scroll: each badge in column 2 ends inside the 390 px viewport."""
    page, watch = open_page(phone, site)
    for path, rows in (("promotions/dev-to-stage/", 2), ("promotions/stage-to-prod/", 2), ("matrix/", 2)):
        visit(page, watch, site.url(path))
        verdicts = page.evaluate(VERDICTS_JS)
        assert len(verdicts) == rows, f"{path}: {verdicts}"
        outside = [v for v in verdicts if v["right"] > PHONE["width"]]
        assert outside == [], f"{path}: verdicts beyond the 390 px viewport: {outside}"


def test_search_finds_the_agent_by_full_resource_name_and_by_bare_number_on_a_phone(phone: Any, deployed_site: Site) -> None:
    """The full name, its bare number, and its tail as a console URL shows it
    (``reasoningEngines/<number>``: found only because the search splits words at "/" too,
    mkdocs.yml's ``separator``)."""
    config = load_config(str(deployed_site.config_path), display=CONFIG_REL)
    page, watch = open_page(phone, deployed_site)
    for agent, env in (("bob", "dev"), ("foreman", "prod")):
        engine_id = config.agents[agent].environments[env].engine_id
        number = engine_id.rsplit("/", 1)[-1]
        assert engine_id.startswith("projects/") and number.isdigit(), engine_id
        for query in (engine_id, number, f"reasoningEngines/{number}"):
            visit(page, watch, deployed_site.url())
            results = search(page, deployed_site.ui, query)
            paths = [urlsplit(r["href"]).path for r in results]
            assert f"/agents/{agent}/" in paths, f"searching {query!r}: {results}"
    assert watch.errors == [], watch.errors


def test_mermaid_text_stays_readable_on_a_phone_with_four_environments(phone: Any, four_envs_site: Site) -> None:
    page, watch = open_page(phone, four_envs_site)
    visit(page, watch, four_envs_site.url("playbook/"))
    page.locator("div.mermaid svg").first.wait_for(state="visible")
    measured = page.evaluate(MERMAID_TEXT_PX_JS)
    assert measured["labels"] >= 7, measured  # four environments, three steps
    assert measured["min_px"] >= MIN_DIAGRAM_TEXT_PX, measured
    assert measured["page_overflow"] <= 0, f"the diagram widens the page: {measured}"
    for env in ("dev", "qa", "preprod", "prod"):
        assert env in (page.locator("div.mermaid svg").first.text_content() or "")


#: The "Generated page" notes: open or not, how many lines the summary's text takes, and the
#: collapsed box's height against the summary's own box (its margins and the details' borders
#: included: material pads the summary, Zensical gives it margins).
NOTE_JS = """
() => [...document.querySelectorAll("article details")]
  .filter(d => d.querySelector("summary").innerText.trim() === "Generated page")
  .map(d => {
    const summary = d.querySelector("summary");
    const range = document.createRange();
    range.selectNodeContents(summary);
    const tops = new Set([...range.getClientRects()].filter(r => r.width).map(r => Math.round(r.top)));
    const s = getComputedStyle(summary), box = getComputedStyle(d);
    const px = (...values) => values.reduce((sum, v) => sum + parseFloat(v), 0);
    return {
      open: d.open,
      lines: tops.size,
      height: d.getBoundingClientRect().height,
      summary: summary.getBoundingClientRect().height + px(s.marginTop, s.marginBottom, box.borderTopWidth, box.borderBottomWidth, box.paddingTop, box.paddingBottom),
    };
  })
"""


def test_generated_page_note_is_one_collapsed_line_on_a_phone(phone: Any, site: Site) -> None:
    page, watch = open_page(phone, site)
    for path in ("playbook/", "matrix/", "agents/bob/", "promotions/dev-to-stage/", "reference/rules/"):
        visit(page, watch, site.url(path))
        notes = page.evaluate(NOTE_JS)
        assert len(notes) == 1, f"{path}: {notes}"
        note = notes[0]
        assert not note["open"], f"{path}: the note starts open"
        assert note["lines"] == 1, f"{path}: {note}"
        assert note["height"] <= note["summary"] + 1, f"{path}: the collapsed note shows more than its one-line summary: {note}"
    page.locator("article details summary").first.click()  # it still opens, and says where the page comes from
    assert "make docs" in page.locator("article details").first.inner_text()


def test_dark_scheme_on_a_phone_screenshot_is_written(phone: Any, site: Site) -> None:
    page, watch = open_page(phone, site)
    visit(page, watch, site.url("matrix/"))
    toggle = page.locator("form[data-md-component=palette] label:visible")
    if toggle.count() == 0:
        pytest.skip(f"{site.engine}: no palette toggle at 390 px")
    toggle.first.click()
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    assert watch.errors == [], watch.errors
    screenshot(page, f"matrix-dark-390-{site.engine}.png")
