"""Never lose data: what generate does not own, it never changes; what it owns, it never leaves half-written.

- CLAUDE.md: everything outside the one marked section is byte-identical after generate,
  for LF, CRLF, no final newline, a BOM, front matter, and other tools' marker sections.
- A crash at the Nth write, for every N, leaves each file old or new, never partial, and
  no temporary file behind; the next run finishes the job.
- Two generate processes at once on the same tree both succeed and leave correct files.
- A hand-written file in site-docs/ is never overwritten or deleted, even when it is
  where a generated page goes: that is an error naming the file.
- Output never leaves site-docs/ (and CLAUDE.md's own path), whatever the config says.

Everything runs the real CLI (``promotion generate``) in a temporary project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FOUR_ENVS_FIXTURE, ROOT, Result, before_replace, run_cli, snapshot
from test_corpus import BASE, VALID, emit, printed_problems

from generator.markers import BEGIN_PREFIX, END_PREFIX
from generator.state import STATE_FILE

CONFIG_A = VALID.read_text(encoding="utf-8")  # dev -> stage -> prod, agents bob and ada
CONFIG_B = FOUR_ENVS_FIXTURE.read_text(encoding="utf-8")  # dev -> qa -> preprod -> prod, other agents


def generate(project: Path, *args: str) -> Result:
    result = run_cli(["generate", "--config", "config.yaml", *args], cwd=project)
    assert "Traceback" not in result.out + result.err, result.err
    return result


def make_project(folder: Path, config: str = CONFIG_A, claude: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    if claude is not None:
        (folder / "CLAUDE.md").write_bytes(claude)
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` and its bytes."""
    # .promotion-state is generate's cache of the last run, not an output (generator/state.py).
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.name != STATE_FILE
    }


def temp_files(folder: Path) -> list[str]:
    return [path.name for path in folder.rglob(".*.tmp")]


# --- CLAUDE.md: everything outside the markers stays byte-identical --------------------------------

FRONT_MATTER = b"---\ntitle: Project notes\ntags: [agents, docs]\n---\n\n"
OTHER_TOOLS = (
    b"<!-- BEGIN other-tool -->\nkeep me\n<!-- END other-tool -->\n"
    b"<!-- BEGIN promotional-banner -->\nnot ours either\n<!-- END promotional-banner -->\n"
    b"<!-- BEGIN promotion-notes: by hand -->\nstill not ours\n<!-- END promotion-notes -->\n"
)


def _eol(text: bytes, eol: bytes) -> bytes:
    return text.replace(b"\n", eol)


VARIANTS = {
    "lf": (b"# Notes\n\nBy hand.\n\n", b"\n## After\n\nMore by hand.\n", b"\n"),
    "crlf": (b"# Notes\r\n\r\nBy hand.\r\n\r\n", b"\r\n## After\r\n\r\nMore by hand.\r\n", b"\r\n"),
    "no-final-newline": (b"# Notes\n\n", b"\nThe last line has no newline", b"\n"),
    "section-at-end-without-newline": (b"# Notes\n\n", b"", b"\n"),
    "bom": (b"\xef\xbb\xbf# Notes\n\n", b"\nAfter.\n", b"\n"),
    "front-matter": (FRONT_MATTER + b"# Notes\n\n", b"\nAfter.\n", b"\n"),
    "other-tools-sections": (b"# Notes\n\n" + OTHER_TOOLS + b"\n", b"\n" + OTHER_TOOLS, b"\n"),
    "everything-at-once": (
        b"\xef\xbb\xbf" + _eol(FRONT_MATTER + OTHER_TOOLS, b"\r\n") + b"\tTabs,  trailing spaces  \r\n\r\n",
        b"\r\n" + _eol(OTHER_TOOLS, b"\r\n") + b"caf\xc3\xa9 and a lone \xff byte",
        b"\r\n",
    ),
}


def section_lines(data: bytes) -> tuple[int, int]:
    lines = data.split(b"\n")
    begins = [i for i, line in enumerate(lines) if line.lstrip(b"\xef\xbb\xbf").startswith(BEGIN_PREFIX.encode() + b":") or line.strip() == BEGIN_PREFIX.encode() + b" -->"]
    ends = [i for i, line in enumerate(lines) if line.startswith(END_PREFIX.encode() + b" ")]
    assert len(begins) == 1 and len(ends) == 1, data
    return begins[0], ends[0]


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_existing_section_is_replaced_and_nothing_else(variant: str, tmp_path: Path) -> None:
    before, after, eol = VARIANTS[variant]
    markers_only = b"<!-- BEGIN promotion -->" + eol + b"<!-- END promotion -->" + (eol if after else b"")
    project = make_project(tmp_path, claude=before + markers_only + after)
    bodies = []
    for config in (CONFIG_A, CONFIG_B, CONFIG_A):
        (project / "config.yaml").write_text(config, encoding="utf-8")
        assert generate(project).code == 0
        data = (project / "CLAUDE.md").read_bytes()
        assert data.startswith(before), "text before the section changed"
        assert data.endswith(after), "text after the section changed"
        section = data[len(before) : len(data) - len(after)]
        if eol == b"\r\n":
            assert b"\n" not in section.replace(b"\r\n", b""), "the section must use the file's CRLF endings"
        bodies.append(section)
    assert bodies[0] != bodies[1] and bodies[0] == bodies[2], "the section follows the config each time"
    assert generate(project, "--check").code == 0


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_section_is_appended_and_the_file_kept(variant: str, tmp_path: Path) -> None:
    before, after, eol = VARIANTS[variant]
    original = before + after
    project = make_project(tmp_path, claude=original)
    assert generate(project).code == 0
    data = (project / "CLAUDE.md").read_bytes()
    if original.endswith(b"\n"):
        assert data.startswith(original)
    else:
        # The one change allowed outside the section: the unfinished last line is ended.
        assert data.startswith(original + eol)
    assert data.rstrip().endswith(b"-->")
    # And from then on it is a section in place: regenerating keeps the whole file.
    kept = data
    assert generate(project).code == 0
    assert (project / "CLAUDE.md").read_bytes() == kept


def test_claude_md_symlink_stays_a_link(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    shared = tmp_path / "shared" / "AGENTS.md"
    shared.parent.mkdir()
    shared.write_bytes(b"# Shared notes\n")
    (project / "CLAUDE.md").symlink_to(shared)
    assert generate(project).code == 0
    assert (project / "CLAUDE.md").is_symlink()
    assert shared.read_bytes().startswith(b"# Shared notes\n") and b"<!-- END promotion" in shared.read_bytes()


# --- a crash at the Nth write leaves every file old or new ------------------------------------------


@pytest.fixture(scope="module", params=["rewrite", "first-run"])
def before_and_after(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], int]:
    """A project, the tree generate makes of it, and how many writes (renames) that takes.

    ``rewrite``: generated from config A, then config B. ``first-run``: only a hand-written
    home page in site-docs/, so every page folder is new and written whole (writer.Staging):
    a crash may come at the rename of a whole folder."""
    root = tmp_path_factory.mktemp("crash")
    old = make_project(root / "old", claude=b"# Notes\r\n\r\nBy hand.\r\n")
    (old / "site-docs").mkdir()
    (old / "site-docs" / "index.md").write_bytes(b"# Hand-written home\n")
    if request.param == "rewrite":
        assert generate(old).code == 0
        (old / "config.yaml").write_text(CONFIG_B, encoding="utf-8")

    new = root / "new"
    shutil.copytree(old, new)
    writes: list[Path] = []
    with before_replace(lambda path: path.name != STATE_FILE and writes.append(path)):  # the state file is a cache
        assert generate(new).code == 0
    if request.param == "first-run":  # the page folders were renamed into place whole
        assert {"agents", "history", "promotions", "environments", "reference"} <= {path.name for path in writes}
        assert len(writes) < len(tree(new)) - len(tree(old))
    return old, tree(new), len(writes)


@pytest.mark.parametrize("crash", ["interrupt", "disk-full"])
def test_a_crash_at_every_write_leaves_each_file_old_or_new(crash: str, before_and_after: tuple[Path, dict[str, bytes], int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_project, new_tree, total = before_and_after
    old_tree = tree(old_project)
    assert total >= 5, "the run must write several files (or folders)"
    for n in range(1, total + 1):
        project = tmp_path / f"crash-{n}"
        shutil.copytree(old_project, project)
        calls: list[Path] = []

        def fail(path: Path, n: int = n, calls: list[Path] = calls) -> None:
            if path.name == STATE_FILE:
                return
            calls.append(path)
            if len(calls) == n:
                if crash == "interrupt":
                    raise KeyboardInterrupt
                raise OSError(28, "No space left on device")

        with before_replace(fail):
            result = generate(project)
        if crash == "interrupt":
            assert (result.code, result.err.strip()) == (130, "interrupted")
        else:
            assert result.code == 1 and "No space left on device" in result.err
            assert printed_problems(result.err)
        now = tree(project)
        for name in sorted(set(now) | set(new_tree) | set(old_tree)):
            assert now.get(name) in (old_tree.get(name), new_tree.get(name)), f"crash at write {n}: {name} is neither old nor new"
        assert temp_files(project) == [], f"crash at write {n} left temporary files"
        # The next run finishes the job.
        assert generate(project).code == 0
        assert tree(project) == new_tree, f"after a crash at write {n}, a rerun did not converge"
        shutil.rmtree(project)


# --- two generate processes at once ------------------------------------------------------------------

RACE_SCRIPT = """
import sys, time
from pathlib import Path
from generator.cli import main
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
sys.exit(main(["generate", "--config", "config.yaml"]))
"""


def test_two_generate_processes_at_once_end_with_correct_files(tmp_path: Path) -> None:
    reference = {}
    for name, config in (("a", CONFIG_A), ("b", CONFIG_B)):
        project = make_project(tmp_path / f"reference-{name}", config, claude=b"# Notes\n")
        assert generate(project).code == 0
        reference[name] = tree(project)

    project = make_project(tmp_path / "shared", claude=b"# Notes\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_, name in enumerate("abab" * 2):
        (project / "config.yaml").write_text(CONFIG_A if name == "a" else CONFIG_B, encoding="utf-8")
        go = tmp_path / f"go-{round_}"
        processes = [
            subprocess.Popen([sys.executable, "-c", RACE_SCRIPT, str(go)], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        go.touch()
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, f"round {round_}: exit {process.returncode}\n{out}\n{err}"
            assert "Traceback" not in err
        assert tree(project) == reference[name], f"round {round_}: the files are not what one run makes"
        assert temp_files(project) == []


# --- hand-written files are never overwritten or deleted ------------------------------------------------


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    project = make_project(tmp_path / "project", claude=b"# Notes\n")
    assert generate(project).code == 0
    return project


@pytest.mark.parametrize("page", ["agents/bob.md", "playbook.md", "promotions/dev-to-stage.md", "reference/rules.md"])
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_a_hand_written_file_where_a_page_goes_is_refused(page: str, force: bool, generated: Path, tmp_path: Path) -> None:
    target = generated / "site-docs" / page
    target.write_bytes(b"# My own page\n\nNot generated.\n")
    (generated / "config.yaml").write_text(emit(BASE).text.replace("Orchestrator", "Orchestrator of all"), encoding="utf-8")
    before = snapshot(tmp_path)
    result = generate(generated, *(["--force"] if force else []))
    assert result.code == 1
    problems = printed_problems(result.err)
    assert [p.code for p in problems] == ["hand-written"], result.err
    assert problems[0].file.endswith(f"site-docs/{page}") and "never overwritten" in problems[0].rest
    assert snapshot(tmp_path) == before, "a refused generate wrote something"


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_hand_written_files_survive_every_run(force: bool, generated: Path) -> None:
    mine = {
        "index.md": b"# Home\n",
        "agents/notes.md": b"notes\n",
        "promotions/custom.md": b"custom\n",
        "reference/extra.txt": b"extra\n",
        ".hidden/draft.md": b"draft\n",
        "agents/old-agent.md": b"# An agent page written by hand\n",
    }
    for name, data in mine.items():
        path = generated / "site-docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    flags = ["--force"] if force else []
    for config in (CONFIG_B, CONFIG_A, CONFIG_B):  # agents and environments come and go
        (generated / "config.yaml").write_text(config, encoding="utf-8")
        assert generate(generated, *flags).code == 0
        for name, data in mine.items():
            assert (generated / "site-docs" / name).read_bytes() == data, f"{name} was changed or deleted"


def test_a_folder_where_a_page_goes_is_refused(generated: Path, tmp_path: Path) -> None:
    page = generated / "site-docs" / "playbook.md"
    page.unlink()
    page.mkdir()
    (page / "mine.md").write_bytes(b"mine\n")
    before = snapshot(tmp_path)
    result = generate(generated)
    assert result.code == 1 and "site-docs/playbook.md" in result.err, result.err
    assert snapshot(tmp_path) == before


# --- output never leaves site-docs/ and CLAUDE.md's own path ---------------------------------------------

TRAVERSALS = ["../escaped", "../../escaped", "/tmp/escaped", "a/../../escaped", "..", ".", "sub/dir", "..\\escaped"]


@pytest.mark.parametrize("where", ["agent key", "environment name", "agent environment name"])
@pytest.mark.parametrize("name", TRAVERSALS)
def test_traversing_names_are_refused_before_anything_is_written(where: str, name: str, generated: Path, tmp_path: Path) -> None:
    text = emit(BASE).text
    quoted = '"' + name.replace("\\", "\\\\") + '"'
    if where == "agent key":
        text = text.replace("\n  bob:\n", f"\n  {quoted}:\n", 1)
    elif where == "environment name":
        text = text.replace("\nenvironments:\n  dev:\n", f"\nenvironments:\n  {quoted}:\n", 1)
    else:
        text = text.replace('\n      dev:\n        project_id: "bob-dev"', f'\n      {quoted}:\n        project_id: "bob-dev"', 1)
    assert quoted in text
    (generated / "config.yaml").write_text(text, encoding="utf-8")
    before = snapshot(tmp_path)
    result = generate(generated)
    assert result.code == 1
    assert [p.code for p in printed_problems(result.err)] == ["identifier"], result.err
    assert snapshot(tmp_path) == before


def test_an_out_dir_that_is_a_symlink_gets_the_pages_and_nothing_else_changes(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", claude=b"# Notes\n")
    real = tmp_path / "real-docs"
    real.mkdir()
    (project / "site-docs").symlink_to(real, target_is_directory=True)
    (tmp_path / "bystander.md").write_bytes(b"untouched\n")
    before = snapshot(tmp_path)
    result = generate(project)
    assert result.code == 0, result.err
    assert (project / "site-docs").is_symlink()
    after = snapshot(tmp_path)
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    assert changed, "nothing was generated"
    assert all(name.startswith("real-docs/") or name == "project/CLAUDE.md" for name in changed), sorted(changed)


@pytest.mark.parametrize("link", ["agents", "promotions/stage-to-prod.md", "reference"])
def test_a_symlink_inside_the_out_dir_pointing_outside_is_refused(link: str, generated: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = generated / "site-docs" / link
    if target.is_dir():
        shutil.rmtree(target)
        target.symlink_to(outside, target_is_directory=True)
    else:
        (outside / "page.md").write_bytes(b"outside\n")
        target.unlink()
        target.symlink_to(outside / "page.md")
    before = snapshot(tmp_path)
    result = generate(generated)
    assert result.code == 1, result.err
    assert "outside the output folder" in result.err
    assert snapshot(tmp_path) == before
    # When the page is no longer generated, the link is not ours to delete either.
    (generated / "config.yaml").write_text(CONFIG_B, encoding="utf-8")
    if link.endswith(".md"):
        assert generate(generated).code == 0
        assert target.is_symlink() and (outside / "page.md").read_bytes() == b"outside\n"


def test_an_out_path_that_is_a_file_is_refused(generated: Path, tmp_path: Path) -> None:
    (generated / "not-a-folder").write_bytes(b"a file\n")
    before = snapshot(tmp_path)
    result = generate(generated, "--out", "not-a-folder")
    assert result.code == 1 and printed_problems(result.err), result.err
    assert snapshot(tmp_path) == before


def test_claude_md_pointing_at_a_generated_page_is_refused(generated: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    result = generate(generated, "--claude-md", "site-docs/playbook.md")
    assert result.code == 1 and "planned twice" in result.err, result.err
    assert snapshot(tmp_path) == before


def test_claude_md_pointing_at_the_config_is_refused(generated: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    result = generate(generated, "--claude-md", "config.yaml")
    assert result.code == 1
    assert snapshot(tmp_path) == before


def test_environment_names_whose_pages_collide_are_refused_before_writing(tmp_path: Path) -> None:
    # `x` -> `a-to-b` and `x-to-a` -> `b` are both promotions/x-to-a-to-b.md.
    envs = ["x", "a-to-b", "x-to-a", "b"]
    data = {
        "schema_version": "1.0.0",
        "app_version": "1.0.0",
        "last_updated": "2025-01-01",
        "environments": {name: {"description": "d", "monitoring": "basic"} for name in envs},
        "agents": {
            "bob": {
                "display_name": "Bob",
                "description": "d",
                "directory": "agents/bob",
                "environments": {name: {"project_id": f"bob-{i}-proj", "region": "us-central1", "engine_id": "TODO", "status": "pending"} for i, name in enumerate(envs)},
            }
        },
        "promotion": {f"{a}_to_{b}": {"required_checks": ["Tests"]} for a, b in zip(envs, envs[1:], strict=False)},
    }
    project = make_project(tmp_path / "project", emit(data).text, claude=b"# Notes\n")
    checked = run_cli(["validate", "--config", "config.yaml"], cwd=project)
    assert checked.code == 1 and "environments.a-to-b" in checked.err and "ambiguous" in checked.err, checked.err
    before = snapshot(tmp_path)
    result = generate(project)
    assert result.code == 1 and "environments.x-to-a" in result.err, result.err
    assert snapshot(tmp_path) == before
