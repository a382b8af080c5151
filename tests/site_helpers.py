"""Shared helpers for the site tests (``test_site.py``) and the browser tests (``test_browser.py``).

Every test builds or serves a *copy* of the project (mkdocs.yml, config/, templates/,
site-docs/, CLAUDE.md) under a temporary folder, so the plugin's page writes and the
site output never touch the working tree. mkdocs runs as a real subprocess
(``python -m mkdocs``), exactly as ``make site`` and ``make serve`` run it; Zensical runs
through the Makefile's own ``site-zensical`` recipe (``promotion generate``, then
``zensical build``), with this interpreter's venv.

The two engines render the same pages with different HTML. What a test looks for in the
theme's own markup (the search box and its results) is in ``ENGINE_UI``, one entry per
engine, so the tests themselves are the same for both.

The browser is the distribution's Chromium (``apt-get install chromium``) driven by
Playwright for Python with ``executable_path``: ``playwright install`` downloads a
browser and is never used. Without Chromium or Playwright the browser tests skip with
the install commands, unless ``PROMOTION_REQUIRE_BROWSER=1`` (set by ``.ci/run``): then
they fail, so CI can't go green without running them.
"""

from __future__ import annotations

import functools
import html
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"
ARTIFACTS = ROOT / "tests" / "artifacts"
CONFIG_REL = "config/agent_engine_envs.yaml"
PLACEHOLDERS = ROOT / "tests" / "fixtures" / "placeholders.yaml"
PROJECT_PARTS = ("mkdocs.yml", "config", "templates", "site-docs", "CLAUDE.md")

BUILD_TIMEOUT = 120  # seconds for one `mkdocs build` (a build of the shipped config takes ~1 s)
ENGINES = ("mkdocs", "zensical")
ZENSICAL_HINT = "install Zensical with `pip install -e '.[zensical]'` (`make install` does)"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = "install Chromium with `apt-get install chromium` and Playwright for Python with `pip install -e '.[test]'` (never `playwright install`)"
REQUIRE_BROWSER_ENV = "PROMOTION_REQUIRE_BROWSER"


# --- the project copy and mkdocs ------------------------------------------------------------


def copy_project(dest: Path, config_text: str | None = None) -> Path:
    """Copy the parts of the project mkdocs needs into ``dest``, with ``config_text`` (default:
    tests/fixtures/placeholders.yaml) as its config: never the live config, whose engines change."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=shutil.ignore_patterns("__pycache__", "ledger"))
        elif source.exists():
            shutil.copy2(source, dest / part)
    write_config(dest, config_text if config_text is not None else PLACEHOLDERS.read_text(encoding="utf-8"))
    return dest


def write_config(project: Path, text: str) -> None:
    (project / CONFIG_REL).write_text(text, encoding="utf-8", newline="")


def read_config(project: Path) -> str:
    return (project / CONFIG_REL).read_text(encoding="utf-8")


def mkdocs_command(*args: str) -> list[str]:
    """``mkdocs`` from the interpreter running the tests (the project's venv)."""
    return [sys.executable, "-m", "mkdocs", *args]


def mkdocs_env(gate: str | None = None) -> dict[str, str]:
    """The environment for a mkdocs subprocess: no inherited release gate (unless given) or site URL."""
    env = dict(os.environ)
    env.pop("PROMOTION_GATE", None)
    env.pop("SITE_URL", None)  # a published address would root the 404 page elsewhere
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if gate is not None:
        env["PROMOTION_GATE"] = gate
    return env


def build_site(project: Path, site_dir: Path | None = None, gate: str | None = None) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` in ``project`` (into ``site_dir``, default ``project/site``)."""
    args = ["build", "--strict", "-f", str(project / "mkdocs.yml")]
    if site_dir is not None:
        args += ["-d", str(site_dir)]
    return subprocess.run(
        mkdocs_command(*args),
        cwd=project,
        env=mkdocs_env(gate),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout or "") + (result.stderr or "")


def build_ok(project: Path, site_dir: Path | None = None, gate: str | None = None) -> Path:
    """Build and assert it worked; return the site folder."""
    result = build_site(project, site_dir, gate)
    assert result.returncode == 0, f"mkdocs build failed (exit {result.returncode}):\n{output_of(result)}"
    assert "Traceback" not in output_of(result), output_of(result)
    return site_dir or project / "site"


def venv_dir() -> Path:
    """The environment running the tests: the Makefile's ``VENV`` for a recipe run from a copy."""
    return Path(sys.executable).parent.parent


def zensical_build(project: Path, gate: str | None = None) -> subprocess.CompletedProcess[str]:
    """``make site-zensical`` in ``project``, with this venv's ``promotion`` and ``zensical``.

    ``-o`` the install stamp: the copy has no pyproject.toml, and a test must never
    reinstall the venv it runs in.
    """
    venv = venv_dir()
    if not (venv / "bin" / "zensical").exists():
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(f"no zensical in {venv / 'bin'}: {ZENSICAL_HINT}", pytrace=False)
        pytest.skip(f"no zensical in {venv / 'bin'}: {ZENSICAL_HINT}")
    command = ["make", "--no-print-directory", "-f", str(MAKEFILE), f"VENV={venv}", "-o", str(venv / ".installed"), "site-zensical"]
    return subprocess.run(command, cwd=project, env=mkdocs_env(gate), capture_output=True, text=True, timeout=BUILD_TIMEOUT)


def build_ok_with(engine: str, project: Path, gate: str | None = None) -> Path:
    """Build ``project`` with ``engine`` ("mkdocs" strict, or "zensical"), assert it worked; the site folder."""
    if engine == "mkdocs":
        return build_ok(project, gate=gate)
    result = zensical_build(project, gate)
    assert result.returncode == 0, f"make site-zensical failed (exit {result.returncode}):\n{output_of(result)}"
    assert "Traceback" not in output_of(result), output_of(result)
    return project / "site"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """(status, body); a 4xx/5xx is returned, not raised. Connection errors are raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")


def page_text(body: str) -> str:
    """The text of an HTML page with entities decoded (``Bob&#39;s`` -> ``Bob's``)."""
    return html.unescape(body)


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
        except (OSError, urllib.error.URLError) as exc:  # the server is (re)starting
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            suffix = f" (last error: {last_error})" if last_error else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{suffix}")
        time.sleep(interval)


# --- a built site on localhost --------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(folder: Path) -> Iterator[str]:
    """Serve ``folder`` with a threaded ``http.server`` on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def page_url(base: str, site: Path, page: Path) -> str:
    """The URL a built file is served at (``agents/bob/index.html`` -> ``agents/bob/``)."""
    rel = page.relative_to(site).as_posix()
    if rel == "index.html":
        rel = ""
    elif rel.endswith("/index.html"):
        rel = rel[: -len("index.html")]
    return urljoin(base, rel)


class LinkCollector(HTMLParser):
    """Every URL a page refers to (a/link href, script/img/source src) and every id it defines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key) and (key == "id" or tag == "a"):
                self.ids.add(str(values[key]))
        if tag in ("a", "link") and values.get("href"):
            self.urls.append(str(values["href"]))
        if tag in ("script", "img", "source", "iframe") and values.get("src"):
            self.urls.append(str(values["src"]))


def parse_links(path: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    collector.close()
    return collector


def internal_links(base: str, site: Path) -> dict[str, set[str]]:
    """{absolute URL without fragment on this server: the pages that link to it (with fragments)}."""
    host = urlsplit(base).netloc
    links: dict[str, set[str]] = {}
    for page in html_pages(site):
        here = page_url(base, site, page)
        for raw in parse_links(page).urls:
            if raw.startswith(("mailto:", "tel:", "data:", "javascript:")):
                continue
            absolute = urljoin(here, raw)
            if urlsplit(absolute).netloc != host:
                continue
            target, _fragment = urldefrag(absolute)
            links.setdefault(target, set()).add(f"{page.relative_to(site).as_posix()} -> {raw}")
    return links


# --- Chromium through Playwright ------------------------------------------------------------


def browser_unavailable(reason: str) -> None:
    """Skip (or, under PROMOTION_REQUIRE_BROWSER=1, fail) with how to install what is missing."""
    message = f"{reason}: {INSTALL_HINT}"
    if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
        pytest.fail(f"{message}. {REQUIRE_BROWSER_ENV}=1, so the browser tests must run, not skip.", pytrace=False)
    pytest.skip(message)


def chromium_executable() -> str:
    """The distribution's Chromium, or skip/fail."""
    executable = shutil.which("chromium")
    if executable is None:
        browser_unavailable("no `chromium` on PATH")
    assert executable is not None
    return executable


def sync_playwright_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("Playwright for Python is not installed")
    return sync_playwright


def launch_chromium(playwright: Any, executable: str) -> Any:
    """Launch headless Chromium. Chromium present but failing to start is a failure, not a skip."""
    try:
        return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
    except Exception as exc:  # any launch problem: report it with the hint
        pytest.fail(f"{executable} is installed but did not start under Playwright: {exc}\n({INSTALL_HINT})", pytrace=False)


class PageWatch:
    """Console errors, page errors, failed requests and requests that leave localhost."""

    def __init__(self, page: Any, base: str) -> None:
        self.base_host = urlsplit(base).hostname
        self.errors: list[str] = []
        self.external: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text} at {message.location}")

    def _request_failed(self, request: Any) -> None:
        # ERR_ABORTED is the browser cancelling a request because the test navigated on (the
        # favicon is fetched lazily after `load` and is often still in flight): not a fault of
        # the site. A missing file is a 404 response (_response), a refused one another code.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")

    def _request(self, request: Any) -> None:
        self.requests.append(request.url)
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host != self.base_host:
            self.external.append(request.url)

    def clear(self) -> None:
        self.errors.clear()
        self.external.clear()
        self.requests.clear()


# Material renders each Mermaid diagram into a *closed* shadow root, which no selector can
# enter. Opening every shadow root lets the test see the <svg> (Playwright's CSS engine
# pierces open shadow roots); the page renders the same.
OPEN_SHADOW_ROOTS = """
(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    return attach.call(this, Object.assign({}, init, { mode: "open" }));
  };
})();
"""


# --- what differs between the engines' HTML ----------------------------------------------------


class EngineUI:
    """Selectors for the theme's own markup, which differs between mkdocs-material and Zensical.

    Material's search is a form in the header: an ``input.md-search__input`` and a result
    list rendered in the page; on a phone the input is hidden behind the header's search
    icon (a ``label`` for the ``__search`` toggle), clicked first there. Zensical's phone
    header has the same icon instead of its Search button. Zensical's header has only a ``.md-search__button``; it opens
    a dialog in a *closed* shadow root (opened by OPEN_SHADOW_ROOTS, and Playwright's CSS
    engine pierces open ones) whose class names are minified, so its parts are found by
    their ARIA roles. Everything else the tests touch (``article``, tables, the palette
    form, ``details``, ``div.mermaid``) is the same markup in both.
    """

    def __init__(self, name: str, search_opener: str | None, search_input: str, search_result: str) -> None:
        self.name = name
        self.search_opener = search_opener  # clicked first when the search box is hidden, if any
        self.search_input = search_input
        self.search_result = search_result  # each result's link (href, text)


#: Both themes' header search icon on a phone (a label toggling ``#__search``).
_PHONE_SEARCH_ICON = 'label.md-header__button[for="__search"]:visible'

ENGINE_UI = {
    "mkdocs": EngineUI("mkdocs", _PHONE_SEARCH_ICON, "input.md-search__input", ".md-search-result__item > a"),
    "zensical": EngineUI(
        "zensical",
        f".md-search__button:visible, {_PHONE_SEARCH_ICON}",
        'dialog[aria-label="Search"] input[role="combobox"]',
        'dialog[aria-label="Search"] ol[role="listbox"] a[role="option"]',
    ),
}


#: Whether a click at the element's centre would reach it (material's phone search input is
#: "visible" but outside the viewport until its toggle opens it). Asked of the element's own
#: root: Zensical's input lives in a shadow root.
_REACHABLE_JS = """
el => {
  const r = el.getBoundingClientRect();
  const hit = el.getRootNode().elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && (hit === el || el.contains(hit));
}
"""


def search(page: Any, ui: EngineUI, query: str) -> list[dict[str, str]]:
    """Type ``query`` into the engine's search box; return the results (href, text).

    The search index loads in a web worker after the page; a query typed before it is
    ready shows nothing, so type again (at most three times) until results appear.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(ui.search_input)
    for _attempt in range(3):
        if ui.search_opener and not (box.is_visible() and box.evaluate(_REACHABLE_JS)):
            page.locator(ui.search_opener).first.click()
        box.click()
        box.fill("")
        box.press_sequentially(query, delay=20)
        try:
            page.locator(ui.search_result).first.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    # Results are drawn as the index answers each keystroke's query: read them once the
    # list has stopped changing (CI once read a list drawn for only part of the query).
    read = "links => links.map(a => ({ href: a.getAttribute('href'), text: a.innerText }))"
    results = page.locator(ui.search_result).evaluate_all(read)
    for _ in range(20):
        page.wait_for_timeout(250)
        again = page.locator(ui.search_result).evaluate_all(read)
        if again == results:
            break
        results = again
    return results


# --- measurements in the page (phones) ---------------------------------------------------------

#: Inline code in the article that wraps where it must not: any ``code`` outside ``pre`` on
#: more than one line box, except ``code.promo-resource`` (a full engine resource name), which
#: may wrap, but only right after a "/" (each line but the last ends with one), and
#: ``code.promo-key`` (a dotted config key), likewise after a ".". Lines are found character
#: by character.
CODE_WRAPS_JS = """
() => {
  const lines = (element) => {
    const range = document.createRange();
    const rows = new Map();
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.data.length; i++) {
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const box = range.getBoundingClientRect();
        if (!box.width && !box.height) continue;
        const top = Math.round(box.top);
        rows.set(top, (rows.get(top) || "") + node.data[i]);
      }
    }
    return [...rows.keys()].sort((a, b) => a - b).map(top => rows.get(top));
  };
  const bad = [];
  for (const code of document.querySelectorAll("article code")) {
    if (code.closest("pre") || code.getClientRects().length === 0) continue;  // blocks; hidden (closed details)
    const breaks = code.classList.contains("promo-resource") ? "/" : code.classList.contains("promo-key") ? "." : null;
    if (breaks) {
      const rows = lines(code);
      if (rows.slice(0, -1).some(row => !row.endsWith(breaks))) bad.push({ text: code.textContent, lines: rows });
    } else if (code.getClientRects().length !== 1) {
      bad.push({ text: code.textContent, lines: lines(code) });
    }
  }
  return bad;
}
"""

#: The smallest rendered text size in the page's first Mermaid diagram, in CSS pixels: each
#: label's font size (SVG user units) times the SVG's rendered width over its viewBox width.
MERMAID_TEXT_PX_JS = """
() => {
  const host = document.querySelector("div.mermaid");
  const svg = (host.shadowRoot || host).querySelector("svg");
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const labels = [...svg.querySelectorAll("text, foreignObject span, foreignObject p")].filter(e => e.textContent.trim());
  return {
    labels: labels.length,
    scale: scale,
    min_px: Math.min(...labels.map(e => parseFloat(getComputedStyle(e).fontSize) * scale)),
    box_scrolls: host.scrollWidth > host.clientWidth,
    page_overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}
"""
