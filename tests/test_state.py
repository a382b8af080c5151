"""The no-op shortcut (generator/state.py): taken only when nothing could change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from hypothesis import given
from hypothesis import strategies as st

from generator.state import STATE_FILE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "placeholders.yaml", root / "config" / "agent_engine_envs.yaml")
    shutil.copytree(ROOT / "templates", root / "templates")
    return root


def generate(root: Path, *extra: str) -> tuple[int, str, str]:
    result = run_cli(["generate", *extra], cwd=root)
    return result.code, result.out, result.err


def test_a_second_run_takes_the_shortcut_without_importing_jinja(project: Path) -> None:
    """Nor pathlib (~4 ms: a tenth of a small validate): the no-op run handles paths as strings.
    Nor, with no ledger folder, the ledger's reader (its baseline, validate, does not either)."""
    assert generate(project)[0] == 0
    assert (project / "site-docs" / STATE_FILE).exists()
    assert shortcut_imports(project) == ["0", "False", "False", "False", "False"]
    assert "0 files written or removed" in generate(project)[1]  # and it did take the shortcut


def shortcut_imports(project: Path) -> list[str]:
    """A generate's exit code, and whether it imported Jinja2, pathlib, json and the ledger's
    reader (the full run imports the first three; the no-op run none)."""
    probe = (
        "import sys, io; from generator.cli import main; "
        "code = main(['generate'], io.StringIO(), io.StringIO()); "
        "print(code, 'jinja2' in sys.modules, 'pathlib' in sys.modules, 'json' in sys.modules, 'generator.ledger' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_a_state_file_cut_short_or_changed_is_never_trusted(project: Path) -> None:
    assert generate(project)[0] == 0
    state = project / "site-docs" / STATE_FILE
    whole = state.read_bytes()
    lines = whole.split(b"\n")
    damaged = {
        "cut at the middle": whole[: len(whole) // 2],
        "cut before the end line": whole[: whole.rindex(b"end\n")],
        "one page line less": b"\n".join(lines[:-4] + lines[-3:]),
        "another format": whole.replace(b"promotion-state ", b"promotion-state 9", 1),
        "not text": b"\xff\xfe\x00",
        "empty": b"",
    }
    for what, data in damaged.items():
        state.write_bytes(data)
        assert shortcut_imports(project)[:2] == ["0", "True"], what  # the full run: Jinja2 rendered the pages
        assert state.read_bytes() == whole, what  # and recorded the state again


def test_a_tree_whose_paths_no_line_can_hold_gets_no_state(project: Path) -> None:
    code, _, err = generate(project, "--out", "site\tdocs")
    assert (code, err) == (0, "")
    assert (project / "site\tdocs" / "matrix.md").exists()
    assert not (project / "site\tdocs" / STATE_FILE).exists()


PATH_PARTS = st.lists(st.sampled_from(["", ".", "..", "a", "b c", "ü", "-x"]), max_size=5)


@given(st.sampled_from(["", "/", "//", "///"]), PATH_PARTS, st.sampled_from(["", "/", "//"]))
def test_posix_str_spells_a_path_as_pathlib_does(lead: str, parts: list[str], trail: str) -> None:
    from pathlib import PurePosixPath

    from generator.generate import posix_str

    path = lead + "/".join(parts) + trail
    assert posix_str(path) == str(PurePosixPath(path))


@given(st.sampled_from(["/", "//", "/srv/x/", "rel", "rel/./y//", "."]), st.sampled_from(["", "/", "//"]), PATH_PARTS)
def test_resolve_str_is_str_of_resolve(root: str, lead: str, parts: list[str]) -> None:
    """The no-op check finds the pages under the recorded paths only if both spell them alike."""
    from generator.generate import GenerateOptions

    options = GenerateOptions("c.yaml", root=root)
    path = lead + "/".join(parts)
    assert options.resolve_str(path) == str(options.resolve(path))


def _page(project: Path) -> Path:
    return project / "site-docs" / "matrix.md"


def test_a_hand_edit_after_the_shortcut_is_still_refused(project: Path) -> None:
    assert generate(project)[0] == 0
    assert generate(project)[0] == 0
    page = _page(project)
    page.write_bytes(page.read_bytes() + b"\nhand edit\n")
    code, _, err = generate(project)
    assert code == 1 and "matrix.md" in err, err


def test_a_deleted_page_is_written_again(project: Path) -> None:
    assert generate(project)[0] == 0
    _page(project).unlink()
    code, out, _ = generate(project)
    assert code == 0 and "matrix.md" in out and _page(project).exists()


def test_a_template_edit_regenerates(project: Path) -> None:
    assert generate(project)[0] == 0
    template = project / "templates" / "matrix.md.j2"
    template.write_text(template.read_text() + "\nA team's footer.\n")
    assert generate(project)[0] == 0
    assert "A team's footer." in _page(project).read_text()


def test_a_config_edit_regenerates(project: Path) -> None:
    assert generate(project)[0] == 0
    config = project / "config" / "agent_engine_envs.yaml"
    config.write_text(config.read_text().replace("display_name: Bob's Brain", "display_name: Bob Two"))
    assert generate(project)[0] == 0
    assert "Bob Two" in (project / "site-docs" / "agents" / "bob.md").read_text()


DEV_ENGINE = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/1999999999999999999"


def recorded_entry(project: Path) -> Path:
    """``promotion record`` of bob's dev engine: the ledger's one entry."""
    code, _, err = run_cli(["record", "--agent", "bob", "--env", "dev", "--engine-id", DEV_ENGINE, "--status", "validated", "--by", "Test"], cwd=project)
    assert code == 0, err
    (entry,) = (project / "config" / "ledger").glob("*.yaml")
    return entry


def twin(entry: Path) -> Path:
    """The name of a second entry of the same deploy (another 6-hex suffix)."""
    stem = entry.name[: -len(".000000.yaml")]
    return entry.with_name(f"{stem}.{'000001' if entry.name.endswith('.000000.yaml') else '000000'}.yaml")


def took_shortcut(project: Path) -> bool:
    code, jinja, *_ = shortcut_imports(project)
    assert code == "0"
    return jinja == "False"


def test_a_ledger_entry_is_trusted_only_once_it_is_older_than_the_run_and_then_checked_like_a_page(project: Path) -> None:
    """The entries are stat-ed after the load began (state.inputs): one written just before
    the run, or while it ran, is recorded as racy and never matches."""
    entry = recorded_entry(project)
    assert generate(project)[0] == 0
    os.utime(entry, ns=(time.time_ns(), time.time_ns()))  # written "now": racy for the run that follows
    assert not took_shortcut(project)  # it was racy in the state the last run kept
    assert not took_shortcut(project)  # and racy again for this one
    old = time.time_ns() - 60 * 10**9
    os.utime(entry, ns=(old, old))
    assert not took_shortcut(project)  # its mtime changed: a full run, which trusts it now
    assert took_shortcut(project)
    entry.write_bytes(entry.read_bytes() + b"# a note by hand\n")
    os.utime(entry, ns=(old, old))  # the same mtime, another size
    assert not took_shortcut(project)
    assert took_shortcut(project)


@pytest.mark.parametrize("change", ["added", "removed"])
def test_a_ledger_entry_that_comes_or_goes_regenerates(project: Path, change: str) -> None:
    entry = recorded_entry(project)
    old = time.time_ns() - 60 * 10**9
    os.utime(entry, ns=(old, old))
    assert generate(project)[0] == 0
    assert took_shortcut(project)
    if change == "added":  # the same entry under another suffix: a second, valid entry
        shutil.copy2(entry, twin(entry))
    else:
        entry.unlink()
    assert not took_shortcut(project)
    assert took_shortcut(project)


def test_an_entry_written_after_the_load_listed_the_ledger_is_a_change_to_the_next_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The load listed one entry; by the time the run stat-ed the ledger there were two. The
    pages may show either, so the state records only the entry the load listed and the next
    run, which finds two, takes the full path."""
    from generator import generate as generate_module
    from generator import state

    entry = recorded_entry(project)
    old = time.time_ns() - 60 * 10**9
    os.utime(entry, ns=(old, old))
    real = state.inputs

    def late(folder: str, names: list[str], since_ns: int) -> list[str]:
        added = twin(entry)
        shutil.copy2(entry, added)  # written after the load
        os.utime(added, ns=(old, old))  # and dated long before the run: only the listing tells
        return real(folder, names, since_ns)

    monkeypatch.setattr(state, "inputs", late)
    monkeypatch.chdir(project)
    options = generate_module.GenerateOptions(config_path="config/agent_engine_envs.yaml", templates_dir="templates", workers=1)
    generate_module.run(options)
    monkeypatch.setattr(state, "inputs", real)
    planned: list[object] = []
    real_plan = generate_module.plan
    monkeypatch.setattr(generate_module, "plan", lambda *args: planned.append(args) or real_plan(*args))
    generate_module.run(options)
    assert len(planned) == 1  # two entries, one on record: the full path
    generate_module.run(options)
    assert len(planned) == 1  # and then the shortcut


def test_a_copied_generated_page_is_removed_as_an_orphan(project: Path) -> None:
    assert generate(project)[0] == 0
    orphan = project / "site-docs" / "agents" / "ghost.md"
    shutil.copy(project / "site-docs" / "agents" / "bob.md", orphan)
    code, out, _ = generate(project)
    assert code == 0 and "ghost.md" in out and not orphan.exists()


def test_check_never_trusts_the_shortcut(project: Path) -> None:
    assert generate(project)[0] == 0
    page = _page(project)
    stat = page.stat()
    data = page.read_bytes().replace(b"Promotion matrix", b"Promotion mXtrix", 1)
    assert len(data) == stat.st_size
    page.write_bytes(data)
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime as recorded
    code, _, err = generate(project, "--check")
    assert code == 1 and "matrix.md" in err, err  # hand-edited: refused, not silently "up to date"


def test_a_broken_config_still_fails_after_the_shortcut(project: Path) -> None:
    assert generate(project)[0] == 0
    config = project / "config" / "agent_engine_envs.yaml"
    config.write_text(config.read_text().replace("status: pending", "status: validated", 1))
    code, _, err = generate(project)
    assert code == 1 and "PR001" in err


def test_the_old_json_state_is_removed(project: Path) -> None:
    (project / "site-docs").mkdir()
    old = project / "site-docs" / ".promotion-state.json"
    old.write_text('{"fingerprint": "x", "outputs": [], "files": {}}\n', encoding="utf-8")
    assert generate(project)[0] == 0
    assert not old.exists() and (project / "site-docs" / STATE_FILE).exists()


# --- the check handed to a forked child (state.Matching) --------------------------------------

MATCHING_PROBE = """
import os, sys
from generator import state
m = state.Matching(sys.argv[1], sys.argv[2], fork=True)
forked = m.pid is not None
print(forked, m.result() is not None)
"""


def forked_check(out: Path, fingerprint: str) -> list[str]:
    """Whether a fresh process handed the check to a child, and whether nothing changed."""
    done = subprocess.run([sys.executable, "-c", MATCHING_PROBE, str(out), fingerprint], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.fixture
def many_pages(tmp_path: Path) -> tuple[Path, str]:
    """A folder of FORK_FROM pages and the state a run recorded for it."""
    from generator import state

    out = tmp_path / "site-docs"
    (out / "agents").mkdir(parents=True)
    pages = [out / "agents" / f"a{i:04d}.md" for i in range(state.FORK_FROM)]
    for i, page in enumerate(pages):
        page.write_text(f"page {i}\n", encoding="utf-8")
    state.record(str(out), "fp", pages)
    return out, "fp"


def test_a_forked_child_finds_nothing_changed(many_pages: tuple[Path, str]) -> None:
    assert forked_check(*many_pages) == ["True", "True"]


@pytest.mark.parametrize("change", ["edited", "deleted", "added"])
def test_a_forked_child_finds_a_change(many_pages: tuple[Path, str], change: str) -> None:
    out, fp = many_pages
    page = out / "agents" / "a0500.md"
    if change == "edited":
        page.write_text("page 500, edited by hand\n", encoding="utf-8")
    elif change == "deleted":
        page.unlink()
    else:
        (out / "agents" / "a0500-notes.md").write_text("by hand\n", encoding="utf-8")
    assert forked_check(out, fp) == ["True", "False"]


def test_a_forked_child_checks_the_ledger_entries_too(many_pages: tuple[Path, str], tmp_path: Path) -> None:
    from generator import state

    out, fp = many_pages
    folder = tmp_path / "ledger"
    folder.mkdir()
    entry = folder / "entry.yaml"
    entry.write_text("one\n", encoding="utf-8")
    os.utime(entry, ns=(10**18, 10**18))  # long before the run (2001)
    state.record(str(out), fp, sorted(out.rglob("*.md")), str(folder), state.inputs(str(folder), [entry.name], time.time_ns()))
    assert forked_check(out, fp) == ["True", "True"]
    entry.write_text("one, edited\n", encoding="utf-8")
    assert forked_check(out, fp) == ["True", "False"]


def test_no_fork_below_the_threshold_for_another_fingerprint_or_without_leave(many_pages: tuple[Path, str], tmp_path: Path) -> None:
    from generator import state

    out, fp = many_pages
    assert forked_check(out, "another fingerprint") == ["False", "False"]  # read and refused at once
    assert state.Matching(str(out), fp, fork=False).pid is None
    small = tmp_path / "small"
    small.mkdir()
    (small / "a.md").write_text("a\n", encoding="utf-8")
    state.record(str(small), fp, [small / "a.md"])
    assert forked_check(small, fp) == ["False", "True"]


def test_a_child_that_dies_is_replaced_by_the_check_here(many_pages: tuple[Path, str]) -> None:
    out, fp = many_pages
    probe = MATCHING_PROBE.replace("m = state.Matching", "state._unchanged = lambda *a, _real=state._unchanged: (os._exit(9) if os.getpid() != PARENT else _real(*a))\nm = state.Matching")
    probe = "import os\nPARENT = os.getpid()\n" + probe
    done = subprocess.run([sys.executable, "-c", probe, str(out), fp], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]  # the child left with 9: the parent checked itself


def test_cancel_ends_the_child(many_pages: tuple[Path, str]) -> None:
    probe = MATCHING_PROBE.replace("print(forked, m.result() is not None)", """
m.cancel()
try:
    os.waitpid(-1, os.WNOHANG)
    left = True
except ChildProcessError:
    left = False
print(forked, m.pid, left)""")
    done = subprocess.run([sys.executable, "-c", probe, *map(str, many_pages)], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "None", "False"]  # forked, then killed and reaped


FORK_COUNTER = """
import os, sys
real = os.fork
def fork():
    pid = real()
    if pid:
        os.write(2, b"forked\\n")
    return pid
os.fork = fork
sys.argv[0] = "promotion"
from generator.cli import run
run()
"""


def test_the_cli_hands_the_check_to_a_child_and_still_sees_a_hand_edit(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    from generator import state

    agents = state.FORK_FROM // 2 + 5  # two pages per agent: above the threshold
    (tmp_path / "config.yaml").write_text(bench.synthetic_config(agents, deployed=True), encoding="utf-8")
    (tmp_path / "out").mkdir()
    env = {**os.environ, "PROMOTION_WORKERS": "2", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", FORK_COUNTER, "--config", "config.yaml", "generate", "--no-claude-md", "--out", "out"]
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and first.stderr.count("forked") == 1, first.stderr  # the render's fork only
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stderr.count("forked") == 1, again.stderr  # the check's fork only
    assert again.stdout.rstrip().endswith(f"0 files written or removed, {2 * agents + 14} unchanged"), again.stdout[-500:]
    page = tmp_path / "out" / "agents" / "agent-00003.md"
    page.write_bytes(page.read_bytes() + b"hand edit\n")
    edited = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert edited.returncode == 1 and "agent-00003.md was edited by hand" in edited.stderr, edited.stderr
    assert edited.stderr.count("forked") == 2  # the check's child found the edit; the full run's render forked
