"""The runbook site through the real mkdocs: ``mkdocs build --strict`` and ``mkdocs serve``.

Each test works in a copy of the project under tmp_path (see ``site_helpers``), so the
plugin's page writes and the site never touch the working tree.

- the shipped config builds, and the site has what issue 4 asks for (tabs, one page per
  promotion, search, light/dark toggle, admonitions, task lists, Mermaid, badges);
- a broken rule, a YAML syntax error, a broken template and an unknown gate key fail the
  build with file:line:col, the rule ID and the fix, never a traceback, and leave the last
  good site and pages alone;
- the release gate (``PROMOTION_GATE``) fails while placeholders remain on a gated pair;
- ``make site-zensical`` builds the same pages with Zensical, and a failing rule or gate
  fails it the same way (Zensical runs no mkdocs plugin: ``promotion generate`` runs first);
- ``mkdocs serve`` regenerates after a YAML or template edit, keeps serving the last good
  pages while the config is broken, and recovers without a restart.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEPLOYED_FIXTURE, PLACEHOLDER_FIXTURE, deploy_all, engine_resource, mutate, set_env_field, where
from site_helpers import (
    CONFIG_REL,
    build_ok,
    build_ok_with,
    build_site,
    copy_project,
    free_port,
    http_get,
    mkdocs_command,
    mkdocs_env,
    output_of,
    page_text,
    read_config,
    wait_for,
    write_config,
    zensical_build,
)

from generator.loader import load_config

pytestmark = pytest.mark.slow

SERVE_TIMEOUT = 30.0  # seconds for serve to start, or to show an edit
ROOT_CSS = Path(__file__).resolve().parent.parent / "site-docs" / "assets" / "stylesheets" / "promotion.css"


def shipped_text() -> str:
    return PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")


def deployed_text() -> str:
    """Every engine real: the checked-in fixture, or the shipped config made so."""
    if DEPLOYED_FIXTURE.exists():
        return DEPLOYED_FIXTURE.read_text(encoding="utf-8")
    return deploy_all(shipped_text())


def dev_stage_ready_text() -> str:
    """dev and stage deployed for every agent, prod still placeholders."""
    text = shipped_text()
    projects = {"dev": "bobs-brain-dev", "stage": "bobs-brain-stage"}
    steps = [("bob", "dev", "validated"), ("bob", "stage", "deployed"), ("foreman", "dev", "validated"), ("foreman", "stage", "validated")]
    for number, (agent, env, status) in enumerate(steps):
        text = set_env_field(text, agent, env, "engine_id", engine_resource(projects[env], str(7_000_000_000_000_000_001 + number * 7919)))
        text = set_env_field(text, agent, env, "status", status)
    return text


BOB_DEV_ENGINE = "engine_id: TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev"


def placeholder_validated(text: str) -> str:
    """Rule PR001 broken: bob's dev engine is a placeholder but its status says validated."""
    return set_env_field(text, "bob", "dev", "status", "validated")


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> str:
    out = output_of(result)
    assert result.returncode != 0, f"the build should have failed:\n{out}"
    assert "Traceback" not in out, out
    return out


def location(text: str, needle: str, at: str | None = None) -> str:
    line, col = where(text, needle, at)
    return f"{CONFIG_REL}:{line}:{col}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="module")
def shipped_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("shipped") / "project")
    return build_ok(project)


# --- building the shipped config -------------------------------------------------------------


def test_shipped_config_builds_strict(shipped_site: Path) -> None:
    for page in (
        "index.html",
        "playbook/index.html",
        "matrix/index.html",
        "promotions/index.html",
        "agents/index.html",
        "agents/bob/index.html",
        "agents/foreman/index.html",
        "reference/rules/index.html",
        "reference/config-schema/index.html",
    ):
        assert (shipped_site / page).is_file(), page
    for pair in ("dev-to-stage", "stage-to-prod"):
        assert (shipped_site / "promotions" / pair / "index.html").is_file(), pair


def test_site_has_the_tabs_and_one_nav_entry_per_promotion(shipped_site: Path) -> None:
    home = (shipped_site / "index.html").read_text(encoding="utf-8")
    tabs = [page_text(t).strip() for t in re.findall(r'class="md-tabs__link[^"]*"[^>]*>\s*([^<]+?)\s*</a>', home)]
    assert tabs == ["Home", "Playbook", "Promotion matrix", "Promotions", "Agents", "Environments", "Reference"]
    for pair, label in (("dev-to-stage", "dev → stage"), ("stage-to-prod", "stage → prod")):
        assert re.search(rf'href="promotions/{pair}/"[^>]*>\s*<span class="md-ellipsis">\s*{label}\s*</span>', home), (
            f"no nav entry for {pair}"
        )
    for section in ("Readiness rules", "Config reference"):
        assert section in home


def test_site_titles_come_from_the_page_headings(shipped_site: Path) -> None:
    """Agent pages (outside the nav) and section indexes take their title from their <h1>,
    not their file name ("Bob", "Index"): the plugin drops the stamp line before rendering."""
    config = load_config(str(PLACEHOLDER_FIXTURE), display=CONFIG_REL)
    titles = {f"agents/{key}/index.html": agent.display_name for key, agent in config.agents.items()}
    titles.update({"agents/index.html": "Agents", "promotions/index.html": "Promotions"})
    for page, title in titles.items():
        body = (shipped_site / page).read_text(encoding="utf-8")
        found = re.search(r"<title>(.*?)</title>", body, re.S)
        assert found and page_text(found.group(1)).startswith(f"{title} - "), (page, found and found.group(1))
        assert "generated by promotion" not in body, f"{page} still carries the stamp comment"


def test_site_has_search_palette_toggle_admonitions_tasklists_and_mermaid(shipped_site: Path) -> None:
    home = (shipped_site / "index.html").read_text(encoding="utf-8")
    playbook = (shipped_site / "playbook" / "index.html").read_text(encoding="utf-8")
    # search: the box and an index that knows the agents by display name
    assert 'class="md-search__input"' in home
    index = (shipped_site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "IAM Senior ADK DevOps Lead" in index
    # light/dark toggle: two palettes, each with a toggle
    schemes = re.findall(r'data-md-color-scheme="(\w+)"', home)
    assert {"default", "slate"} <= set(schemes)
    assert len(re.findall(r'name="__palette"', home)) == 2
    # the generated-page note (a collapsed admonition, pymdownx.details) and task-list checkboxes (the checklists)
    assert '<details class="abstract">\n<summary>Generated page</summary>' in playbook
    assert len(re.findall(r'<li class="task-list-item">\s*<label class="task-list-control"><input type="checkbox"', playbook)) >= 3
    # Mermaid through superfences, with the vendored library loaded
    assert re.search(r'<pre class="mermaid"><code>flowchart LR', playbook)
    assert 'src="../assets/javascripts/mermaid.min.js"' in playbook
    assert "fonts.googleapis.com" not in home  # no third-party requests


def test_readiness_marks_are_a_word_with_a_colour_in_both_schemes(shipped_site: Path) -> None:
    css = (ROOT_CSS).read_text(encoding="utf-8")
    classes: dict[str, set[str]] = {}
    for page in shipped_site.rglob("*.html"):
        for kinds, word in re.findall(r'<span class="promo-badge ([^"]+)"[^>]*>([^<]*)</span>', page.read_text(encoding="utf-8")):
            for kind in kinds.split():
                if kind != "promo-state":  # marks a lifecycle state for layout; its colour comes from promo-state-<state>
                    classes.setdefault(kind, set()).add(word.strip())
    assert {"promo-status-pending", "promo-placeholder", "promo-state-blocked"} <= set(classes), classes
    for kind, words in classes.items():
        assert all(re.fullmatch(r"[a-z][a-z ]+", w) for w in words), f"{kind} badges need a word: {words}"
        light = re.search(rf"(?<![\w-])\.{kind}(?![\w-])[^{{]*\{{[^}}]*color:", css)
        dark = re.search(rf'\[data-md-color-scheme="slate"\] \.{kind}(?![\w-])[^{{]*\{{[^}}]*color:', css)
        assert light and dark, f"{kind} has no colour in promotion.css for both schemes"


# --- failing builds ------------------------------------------------------------------------


def test_broken_rule_fails_the_build_with_location_rule_and_fix(project: Path) -> None:
    good = build_ok(project)
    pages_before = {p: p.read_bytes() for p in (project / "site-docs").rglob("*.md")}
    text = placeholder_validated(shipped_text())
    write_config(project, text)

    out = assert_clean_failure(build_site(project))

    assert f"{location(text, BOB_DEV_ENGINE, 'TODO-SET-DEV-ENGINE-ID')}: error [PR001]" in out, out
    assert "agents.bob.environments.dev.engine_id" in out
    assert "fix: deploy the agent" in out
    # on_config raised before mkdocs cleaned the site: the last good site and pages stay
    assert (good / "index.html").is_file()
    assert {p: p.read_bytes() for p in (project / "site-docs").rglob("*.md")} == pages_before


def test_yaml_syntax_error_fails_the_build_with_location_and_fix(project: Path) -> None:
    text = mutate(shipped_text(), "description: Global orchestrator for", "description: Global orchestrator: for")
    write_config(project, text)

    out = assert_clean_failure(build_site(project))

    assert f"{location(text, 'Global orchestrator: for', ':')}: error [yaml-syntax]" in out, out
    assert "fix: " in out


def test_broken_template_fails_the_build_without_traceback(project: Path) -> None:
    (project / "templates" / "matrix.md.j2").write_text("# Matrix\n\n{{ no_such_variable }}\n", encoding="utf-8")

    out = assert_clean_failure(build_site(project))

    assert "matrix.md.j2" in out and "no_such_variable" in out, out


# --- the release gate ------------------------------------------------------------------------


def test_gate_fails_while_an_agent_is_blocked_on_the_gated_step(project: Path) -> None:
    text = shipped_text()
    out = assert_clean_failure(build_site(project, gate="dev_to_stage"))

    for agent, project_name in (("bob", "bobs-brain"), ("foreman", "iam-foreman")):
        dev = f"engine_id: TODO-SET-DEV-ENGINE-ID\n        engine_name: {project_name}-dev"
        assert f"{location(text, dev, 'TODO')}: error [PR010] agents.{agent}.environments.dev.engine_id: `{agent}` is blocked on dev -> stage" in out, out
        for env in ("stage", "prod"):  # the target's placeholder is created by the deploy: never a blocker
            needle = f"engine_id: TODO-SET-{env.upper()}-ENGINE-ID\n        engine_name: {project_name}-{env}"
            assert location(text, needle, "TODO") not in out
    assert "fix: " in out


def test_gate_passes_once_the_gated_step_is_ready(project: Path) -> None:
    write_config(project, dev_stage_ready_text())
    build_ok(project, gate="dev_to_stage")
    # bob is only deployed in stage, so gating stage -> prod fails on bob's stage status
    out = assert_clean_failure(build_site(project, gate="dev_to_stage,stage_to_prod"))
    assert "[PR010] agents.bob.environments.stage.status: `bob` is blocked on stage -> prod: stage is only `deployed`" in out
    assert "agents.bob.environments.prod.engine_id" not in out  # prod's placeholder is not a blocker
    # foreman's stage is validated: only the step's manual approval holds it back
    assert "`foreman` is blocked on stage -> prod: needs a manual approval in #deployments: not approved yet" in out


def test_gate_passes_on_a_fully_deployed_config(project: Path) -> None:
    write_config(project, deployed_text())
    site = build_ok(project, gate="dev_to_stage,stage_to_prod")
    assert "TODO" not in (site / "matrix" / "index.html").read_text(encoding="utf-8")


def test_unknown_gate_key_fails_clearly(project: Path) -> None:
    out = assert_clean_failure(build_site(project, gate="dev_to_prod"))
    assert "dev_to_prod" in out
    assert "dev_to_stage, stage_to_prod" in out, out


# --- Zensical: the same validate and generate steps, then its build -----------------------------


def built_pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*.html")}


def test_zensical_builds_the_same_pages(shipped_site: Path, project: Path) -> None:
    site = build_ok_with("zensical", project)
    assert built_pages(site) == built_pages(shipped_site)
    for folder in (site, shipped_site):  # the theme override (mkdocs.yml custom_dir) is not published
        assert not (folder / "assets" / "overrides").exists(), folder


def test_zensical_build_fails_on_a_broken_rule_with_location_rule_and_fix(project: Path) -> None:
    text = placeholder_validated(shipped_text())
    write_config(project, text)

    result = zensical_build(project)

    out = assert_clean_failure(result)
    assert f"{location(text, BOB_DEV_ENGINE, 'TODO-SET-DEV-ENGINE-ID')}: error [PR001]" in out, out
    assert "fix: deploy the agent" in out
    assert "zensical build" not in out, "make went on to Zensical after the rules failed"
    assert not (project / "site").exists()


def test_zensical_build_fails_while_the_gate_has_placeholders(project: Path) -> None:
    out = assert_clean_failure(zensical_build(project, gate="dev_to_stage"))
    assert "error [PR010] agents.bob.environments.dev.engine_id" in out, out
    assert "zensical build" not in out
    write_config(project, dev_stage_ready_text())
    build_ok_with("zensical", project, gate="dev_to_stage")


# --- mkdocs serve -----------------------------------------------------------------------------


class Serve:
    """``mkdocs serve`` in a project copy, logging to a file the test can read."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/"
        self.log_path = project.parent / "serve.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            mkdocs_command("serve", "--dev-addr", f"127.0.0.1:{self.port}", "-f", str(project / "mkdocs.yml")),
            cwd=project,
            env=mkdocs_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def text(self, path: str) -> str:
        """The page's text; fails unless it is HTTP 200 within a few seconds (serve must not block)."""
        assert self.alive(), f"mkdocs serve exited with {self.process.returncode}:\n{self.log}"
        status, body = http_get(self.base + path, timeout=10)
        assert status == 200, f"{path}: HTTP {status}"
        return page_text(body)

    def wait_for_text(self, path: str, text: str) -> None:
        wait_for(lambda: self.alive() and text in self.text(path), SERVE_TIMEOUT, f"{text!r} on {path}\n--- serve log:\n{self.log}")

    def wait_for_log(self, needle: str, after: int = 0) -> int:
        """Wait until ``needle`` appears in the log past offset ``after``; return the offset after it."""

        def found() -> int:
            assert self.alive(), f"mkdocs serve exited with {self.process.returncode}:\n{self.log}"
            at = self.log.find(needle, after)
            return at + len(needle) if at != -1 else 0

        return int(wait_for(found, SERVE_TIMEOUT, f"{needle!r} in the serve log\n--- serve log:\n{self.log}"))

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def served(project: Path) -> Iterator[Serve]:
    server = Serve(project)
    try:
        wait_for(
            lambda: server.alive() and http_get(server.base, timeout=2)[0] == 200,
            SERVE_TIMEOUT,
            f"mkdocs serve to answer\n--- serve log:\n{server.log}",
        )
        yield server
    finally:
        server.stop()


def test_serve_regenerates_survives_a_broken_config_and_recovers(served: Serve) -> None:
    project = served.project
    pid = served.process.pid
    assert "Bob's Brain" in served.text("agents/bob/")

    # a YAML edit regenerates the page
    write_config(project, mutate(read_config(project), "display_name: Bob's Brain", "display_name: Robert Tables"))
    served.wait_for_text("agents/bob/", "Robert Tables")

    # an edit that breaks a rule: the violation is logged, the last good pages stay served
    offset = len(served.log)
    broken = placeholder_validated(mutate(read_config(project), "display_name: Robert Tables", "display_name: Never Shown"))
    write_config(project, broken)
    after = served.wait_for_log("[PR001]", offset)
    # not "Documentation built": mkdocs drops a build-log line it logged before (DuplicateFilter),
    # and the build time ("0.35 seconds") repeats; the livereload logger has no such filter
    served.wait_for_log("Reloading browsers", after)
    log = served.log[offset:]
    assert f"{location(broken, BOB_DEV_ENGINE, 'TODO-SET-DEV-ENGINE-ID')}: error [PR001]" in log, log
    assert "fix: " in log and "Traceback" not in log
    time.sleep(0.5)  # let a reload triggered by the failed run settle
    page = served.text("agents/bob/")
    assert "Robert Tables" in page and "Never Shown" not in page

    # a YAML syntax error: the same
    offset = len(served.log)
    write_config(project, mutate(read_config(project), "description: Global orchestrator for", "description: Global orchestrator: for"))
    served.wait_for_log("[yaml-syntax]", offset)
    assert "Robert Tables" in served.text("agents/bob/")

    # fixing it recovers without a restart
    fixed = mutate(shipped_text(), "display_name: Bob's Brain", "display_name: Fixed Again")
    write_config(project, fixed)
    served.wait_for_text("agents/bob/", "Fixed Again")
    assert served.alive() and served.process.pid == pid


def test_serve_regenerates_after_a_template_edit(served: Serve) -> None:
    template = served.project / "templates" / "agent.md.j2"
    template.write_text(template.read_text(encoding="utf-8").rstrip("\n") + "\n\nTemplate edit marker 7301\n", encoding="utf-8")
    served.wait_for_text("agents/foreman/", "Template edit marker 7301")
    assert "Traceback" not in served.log


# --- serve: errors in the browser, one rebuild per save (issue: the site an operator trusts) ---


def builds(log: str) -> int:
    return log.count("Building documentation")


def settle(served: Serve, seconds: float = 2.5) -> None:
    """Wait until the serve log has been quiet for ``seconds`` (no build in flight)."""
    deadline = time.monotonic() + SERVE_TIMEOUT
    last = served.log
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = served.log
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= seconds:
            return
    raise AssertionError(f"mkdocs serve never settled\n{served.log}")


def test_a_save_rebuilds_once(served: Serve) -> None:
    settle(served)
    before = builds(served.log)
    write_config(served.project, mutate(read_config(served.project), "display_name: Bob's Brain", "display_name: Once Only"))
    served.wait_for_text("agents/bob/", "Once Only")
    settle(served)
    assert builds(served.log) - before == 1, served.log[-3000:]
    # and a broken save: one rebuild too (the problems file is the one change)
    before = builds(served.log)
    write_config(served.project, placeholder_validated(read_config(served.project)))
    served.wait_for_text("agents/bob/", "The runbook was not regenerated")
    settle(served)
    assert builds(served.log) - before == 1, served.log[-3000:]


@pytest.mark.browser
def test_the_serve_banner_shows_the_problem_and_goes_away_after_the_fix(served: Serve, browser: Any) -> None:
    # The page is parked on about:blank while serve rebuilds, and opened once the rebuild is
    # logged: a page left open reloads itself when livereload says so, and a navigation of
    # ours racing that reload once hung Playwright for a quarter of an hour in CI.
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(served.base + "matrix/", wait_until="load")
        assert page.locator(".promo-problems").count() == 0
        good = read_config(served.project)
        broken = placeholder_validated(good)
        page.goto("about:blank")
        offset = len(served.log)
        write_config(served.project, broken)
        served.wait_for_log("Reloading browsers", served.wait_for_log("[PR001]", offset))
        where_ = location(broken, BOB_DEV_ENGINE, "TODO-SET-DEV-ENGINE-ID")
        for path in ("matrix/", "playbook/", "agents/foreman/"):
            page.goto(served.base + path, wait_until="load")
            assert page.locator(".promo-problems").count() == 1, f"no banner on {path}\n{served.log}"
            banner = page.locator(".promo-problems").inner_text()
            assert f"{where_}: error [PR001] agents.bob.environments.dev.engine_id" in banner
            assert "fix: " in banner
            # above the last good content
            assert page.locator("h1").first.inner_text() != ""
        page.goto("about:blank")
        offset = len(served.log)
        write_config(served.project, good)
        served.wait_for_log("Reloading browsers", offset)
        page.goto(served.base + "matrix/", wait_until="load")
        assert page.locator(".promo-problems").count() == 0, served.log
    finally:
        page.close()


def test_a_hand_edited_page_under_serve_is_reported_on_the_page(served: Serve) -> None:
    page = served.project / "site-docs" / "matrix.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nHand edit 4242\n", encoding="utf-8")
    served.wait_for_text("matrix/", "Hand edit 4242")
    write_config(served.project, mutate(read_config(served.project), "display_name: Bob's Brain", "display_name: After The Edit"))
    served.wait_for_text("agents/bob/", "The runbook was not regenerated")
    text = served.text("agents/bob/")
    assert "was edited by hand since it was generated" in text and "matrix.md" in text


def test_serve_started_on_a_broken_config_keeps_the_full_nav(project: Path) -> None:
    write_config(project, placeholder_validated(shipped_text()))
    server = Serve(project)
    try:
        wait_for(lambda: server.alive() and http_get(server.base, timeout=2)[0] == 200, SERVE_TIMEOUT, f"mkdocs serve to answer\n{server.log}")
        home = server.text("")
        for entry in ("Bob's Brain", "IAM Senior ADK DevOps Lead", "dev → stage", "stage → prod", "Environments"):
            assert entry in home, entry
        assert "The runbook was not regenerated" in home
    finally:
        server.stop()


def test_the_watcher_never_reacts_to_what_generate_writes(tmp_path: Path) -> None:
    """A config kept at the project root (beside site-docs/) must not make serve regenerate forever."""
    import threading

    from generator import generate
    from generator.watch import PROBLEMS_FILE, InputWatcher

    options = generate.GenerateOptions(config_path="agent_engine_envs.yaml", out_dir="site-docs", root=str(tmp_path))
    watcher = InputWatcher(options, [tmp_path], threading.Lock(), lambda problems: None)
    assert watcher._relevant(str(tmp_path / "agent_engine_envs.yaml"))
    assert watcher._relevant(str(tmp_path / "ledger" / "20261201T100000.000000Z.bob.dev.record.1.a1b2c3.yaml"))
    for written in ("site-docs/matrix.md", f"site-docs/{PROBLEMS_FILE}", "site-docs/.promotion-state", "CLAUDE.md", "ledger/.lock"):
        assert not watcher._relevant(str(tmp_path / written)), written
