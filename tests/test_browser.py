"""The built runbook site in headless Chromium (the distribution's, through Playwright).

The site is built once per module (``mkdocs build --strict`` in a project copy) and served
by a threaded ``http.server`` on localhost. Without Chromium or Playwright these tests
skip with the install commands; under ``PROMOTION_REQUIRE_BROWSER=1`` (``.ci/run``) they
fail instead. The matrix screenshot goes to ``tests/artifacts/matrix.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from conftest import PLACEHOLDER_FIXTURE, engine_resource, mutate, set_env_field
from site_helpers import (
    ARTIFACTS,
    CONFIG_REL,
    OPEN_SHADOW_ROOTS,
    PageWatch,
    build_ok,
    chromium_executable,
    copy_project,
    html_pages,
    http_get,
    internal_links,
    launch_chromium,
    page_url,
    parse_links,
    serve_directory,
    sync_playwright_or_skip,
)

from generator.loader import load_config

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
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
    def __init__(self, base: str, folder: Path, config_path: Path) -> None:
        self.base = base
        self.folder = folder
        self.config_path = config_path

    def url(self, path: str = "") -> str:
        return self.base + path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_executable()
    sync_playwright = sync_playwright_or_skip()
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, executable)
        try:
            yield chromium
        finally:
            chromium.close()


def _served_site(tmp_path_factory: pytest.TempPathFactory, name: str, config_text: str) -> Iterator[Site]:
    project = copy_project(tmp_path_factory.mktemp(name) / "project", config_text)
    folder = build_ok(project)
    with serve_directory(folder) as base:
        yield Site(base, folder, project / CONFIG_REL)


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _served_site(tmp_path_factory, "site", mixed_config_text())


@pytest.fixture(scope="module")
def hostile_site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _served_site(tmp_path_factory, "hostile", hostile_config_text())


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


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
    context.add_init_script(OPEN_SHADOW_ROOTS)
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


def search(page: Any, query: str) -> list[dict[str, str]]:
    """Type ``query`` into material's search box; return the results (href, text).

    The search index loads in a web worker after the page; a query typed before it is
    ready shows nothing, so type again (at most three times) until results appear.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator("input.md-search__input")
    for _attempt in range(3):
        box.click()
        box.fill("")
        box.press_sequentially(query, delay=20)
        try:
            page.locator(".md-search-result__item").first.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    return page.evaluate(
        """() => [...document.querySelectorAll(".md-search-result__item > a")]
             .map(a => ({ href: a.getAttribute("href"), text: a.innerText }))"""
    )


def test_search_finds_an_agent_by_display_name(context: Any, site: Site) -> None:
    config = load_config(str(site.config_path), display=CONFIG_REL)
    agent = config.agents["foreman"]
    page, watch = open_page(context, site)
    visit(page, watch, site.url())
    results = search(page, agent.display_name)
    assert results, "no search results"
    paths = [urlsplit(r["href"]).path for r in results]
    assert "/agents/foreman/" in paths, results
    assert agent.display_name in results[paths.index("/agents/foreman/")]["text"]
    page.locator('.md-search-result__item > a[href*="agents/foreman/"]').first.click()
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

    results = search(page, "onerror")  # the search results show the title and the description
    assert any("agents/bob/" in r["href"] for r in results), results
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert image_requests == []
    assert watch.errors == [], watch.errors


# --- the artifact -----------------------------------------------------------------------------


def test_matrix_screenshot_is_written(context: Any, site: Site) -> None:
    page, watch = open_page(context, site)
    visit(page, watch, site.url("matrix/"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / "matrix.png"
    page.screenshot(path=str(target), full_page=True)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
