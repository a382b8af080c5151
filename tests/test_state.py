"""The no-op shortcut (generator/state.py): taken only when nothing could change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    """Nor pathlib (~4 ms: a tenth of a small validate): the no-op run handles paths as strings."""
    assert generate(project)[0] == 0
    assert (project / "site-docs" / STATE_FILE).exists()
    assert shortcut_imports(project) == ["0", "False", "False", "False"]
    assert "0 files written or removed" in generate(project)[1]  # and it did take the shortcut


def shortcut_imports(project: Path) -> list[str]:
    """A generate's exit code, and whether it imported Jinja2, pathlib and json (the full run
    imports all three; the no-op run none)."""
    probe = (
        "import sys, io; from generator.cli import main; "
        "code = main(['generate'], io.StringIO(), io.StringIO()); "
        "print(code, 'jinja2' in sys.modules, 'pathlib' in sys.modules, 'json' in sys.modules)"
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
