"""Property tests: whatever is done to a valid config, validate answers 0 or 1 (2 only for a step), never a traceback.

Hypothesis mutates ``tests/corpus/valid.yaml``: it deletes keys, changes types, duplicates
keys, swaps environments, renames keys, inserts hostile text, and edits the YAML text
itself. Every outcome must be a clean answer: exit 0 (``OK:``), 1 (config errors) or 2
(rule violations), each problem printed as ``FILE:LINE:COL: error [code] ...`` with a
``fix:`` line, sorted by position. A refused ``generate`` changes no file.

The runs are deterministic (``derandomize=True``, no example database), so CI sees the
same examples every time. ``PROMOTION_HYPOTHESIS=explore`` draws new random examples,
ten times as many, when you want to hunt.

Also here: the fuzz target's oracle over raw bytes, and every crash the fuzzer ever found
(``tests/fuzz/crashes/``), replayed.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_cli, snapshot
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_corpus import BASE, VALID, Dup, Parts, Raw, emit, get, printed_problems

FUZZ_DIR = Path(__file__).resolve().parent / "fuzz"
CRASH_DIR = FUZZ_DIR / "crashes"

_explore = os.environ.get("PROMOTION_HYPOTHESIS") == "explore"
_settings = dict(
    deadline=None,
    derandomize=not _explore,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
#: ~200 examples per property keep the suite fast; explore mode draws ten times as many.
FAST = settings(max_examples=2000 if _explore else 200, **_settings)  # type: ignore[arg-type]
#: generate renders every page: fewer examples.
SLOWER = settings(max_examples=250 if _explore else 25, **_settings)  # type: ignore[arg-type]


def _load_fuzz_module() -> Any:
    spec = importlib.util.spec_from_file_location("fuzz_loader", FUZZ_DIR / "fuzz_loader.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz_loader = _load_fuzz_module()


# --- what every outcome must look like ----------------------------------------------------


def assert_clean_outcome(result: Result, config: Path) -> None:
    event(f"exit {result.code}")  # shown by pytest --hypothesis-show-statistics
    output = result.out + result.err
    assert "Traceback" not in output, output
    assert result.code in (0, 1), f"exit {result.code}:\n{output}"  # no step: never 2 (not ready)
    problems = printed_problems(result.err)  # asserts a fix: line after each
    positions = [(p.line, p.col) for p in problems]
    assert positions == sorted(positions), result.err
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        assert problem.file.startswith(str(config)) or problem.file == str(config), problem
    if result.code == 0:
        assert not errors and result.out.startswith("OK: "), output
    else:
        # either the config does not load (no rule ran) or it loads and config rules fail
        assert errors, output
        assert all(not p.code.startswith("PR") for p in errors) or all(p.code.startswith("PR") for p in errors), output


# --- mutations of the model ----------------------------------------------------------------


def all_paths(data: Any, parts: Parts = ()) -> Iterator[Parts]:
    """Every key and list index of ``data``, parents before children."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*parts, key)
            yield from all_paths(value, (*parts, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield (*parts, index)
            yield from all_paths(value, (*parts, index))


BASE_PATHS = list(all_paths(BASE))
DICT_PATHS = [parts for parts in [(), *BASE_PATHS] if isinstance(get(BASE, parts), dict)]
ENV_MAPS = [("environments",), *[("agents", name, "environments") for name in BASE["agents"]]]

HOSTILE_TEXT = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "[x](javascript:alert(1))",
    "a | b | c",
    "`code` and ``more``",
    "line one\nline two",
    "{{ 7*7 }}",
    "{% raw %}",
    "<!-- END promotion -->",
    "<!-- BEGIN promotion -->",
    "--8<-- \"/etc/passwd\"",
    "../../../etc/passwd",
    "\x1b[2J\x1b[31mred",
    "bob\u202egnp",
    "\u200b",
    "TODO",
    "",
    " ",
    "\t",
    "%",
    "::error file=x::forged",
]
YAML_TRAPS = [
    "no", "on", "yes", "off", "0123", "0x1F", "1e3", "1.0e+3", "3.10", "1:30", "2024-01-02", "2025-02-30", "~", "null", "",
    "[]", "{}", "[a, [b, [c]]]", "{a: 1, a: 2}", "&a [*a]", "*undefined", "!!python/object:os.system {}",
    "!!python/name:os.system ''", "!!binary Qm9i", "!Ref x", "!!str 5", "'unterminated", '"unterminated', "[unclosed",
    "a: b: c", "- - - x", "|\n  block\n  text", ">-\n  folded", "<<: {x: 1}",
]

scalars = st.one_of(
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(HOSTILE_TEXT),
)
values = st.one_of(
    scalars,
    st.sampled_from([Raw(text) for text in YAML_TRAPS]),
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
)
names = st.one_of(st.sampled_from(["dev", "stage", "prod", "qa", "bob", "ada", "bogus", "../x", "CON", "", "b" * 300, "b\u043eb"]), st.text(max_size=12))


def _delete(data: dict[str, Any], draw: st.DrawFn) -> None:
    parts = draw(st.sampled_from(BASE_PATHS))
    parent = _parent(data, parts)
    if parent is not None:
        del parent[parts[-1]]


def _change_type(data: dict[str, Any], draw: st.DrawFn) -> None:
    parts = draw(st.sampled_from(BASE_PATHS))
    parent = _parent(data, parts)
    if parent is not None:
        parent[parts[-1]] = draw(values)


def _duplicate(data: dict[str, Any], draw: st.DrawFn) -> None:
    parts = draw(st.sampled_from(DICT_PATHS))
    target = _resolve(data, parts)
    if isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        if not isinstance(target[key], Dup):
            target[key] = Dup(target[key])


def _swap_environments(data: dict[str, Any], draw: st.DrawFn) -> None:
    target = _resolve(data, draw(st.sampled_from(ENV_MAPS)))
    if isinstance(target, dict) and len(target) >= 2:
        keys = list(target)
        i, j = draw(st.lists(st.integers(0, len(keys) - 1), min_size=2, max_size=2, unique=True))
        keys[i], keys[j] = keys[j], keys[i]
        items = [(key, target[key]) for key in keys]
        target.clear()
        target.update(items)


def _hostile_text(data: dict[str, Any], draw: st.DrawFn) -> None:
    strings = [parts for parts in all_paths(data) if isinstance(_resolve(data, parts), str)]
    if strings:
        parts = draw(st.sampled_from(strings))
        parent = _parent(data, parts)
        if parent is not None:
            parent[parts[-1]] = draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40)))


def _rename_key(data: dict[str, Any], draw: st.DrawFn) -> None:
    target = _resolve(data, draw(st.sampled_from(DICT_PATHS)))
    if isinstance(target, dict) and target:
        old = draw(st.sampled_from(sorted(target)))
        new = draw(names)
        if new not in target:
            items = [(new if key == old else key, value) for key, value in target.items()]
            target.clear()
            target.update(items)


def _add_key(data: dict[str, Any], draw: st.DrawFn) -> None:
    target = _resolve(data, draw(st.sampled_from(DICT_PATHS)))
    if isinstance(target, dict):
        key = draw(names)
        if key not in target:
            target[key] = draw(values)


#: Values of the right type that move the config between ready and not ready (rules, exit 2).
PLAUSIBLE: dict[str, list[Any]] = {
    "status": ["pending", "deployed", "validated"],
    "engine_id": [
        "TODO-SET-ENGINE-ID",
        "1001",
        "2002",
        "projects/bob-dev/locations/us-central1/reasoningEngines/1001",
        "projects/ada-prod/locations/us-central1/reasoningEngines/2003",
        "projects/x/locations/y/reasoningEngines/5",
        "not-an-engine",
    ],
    "region": ["us-central1", "europe-west1"],
    "project_id": ["bob-dev", "ada-prod", "someone-else"],
    "inherit_checks_from": ["dev_to_stage", "stage_to_prod", "qa_to_prod"],
    "manual_approval": [True, False],
    "approval_channel": ["#deployments", "#ops"],
    "required_checks": [[], ["Tests"], [{"name": "Tests", "command": "make test"}]],
}


def _plausible_value(data: dict[str, Any], draw: st.DrawFn) -> None:
    fields = [parts for parts in all_paths(data) if parts and parts[-1] in PLAUSIBLE and _parent(data, parts) is not None]
    if fields:
        parts = draw(st.sampled_from(fields))
        _parent(data, parts)[parts[-1]] = copy.deepcopy(draw(st.sampled_from(PLAUSIBLE[str(parts[-1])])))


MUTATIONS: list[Callable[[dict[str, Any], st.DrawFn], None]] = [
    _delete, _change_type, _duplicate, _swap_environments, _hostile_text, _rename_key, _add_key, _plausible_value, _plausible_value, _plausible_value,
]


def _resolve(data: Any, parts: Parts) -> Any:
    for part in parts:
        if isinstance(data, Dup):
            data = data.value
        if isinstance(data, dict) and part in data or isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data.value if isinstance(data, Dup) else data


def _parent(data: Any, parts: Parts) -> Any:
    """The container holding ``parts`` (None when an earlier mutation removed it)."""
    parent = _resolve(data, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict) and last in parent or isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        return parent
    return None


@st.composite
def mutated_configs(draw: st.DrawFn) -> str:
    """valid.yaml with one to four model-level mutations, as YAML text."""
    data = copy.deepcopy(BASE)
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)):
        mutation(data, draw)
    return emit(data).text


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    """valid.yaml with one to four edits of its text (not of its meaning)."""
    text = VALID.read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["insert-text", "delete-lines", "duplicate-line", "replace-value", "insert-char", "indent"]))
        if action == "insert-text":
            line = lines[at]
            col = draw(st.integers(0, len(line)))
            lines[at] = line[:col] + draw(st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_TEXT + YAML_TRAPS))) + line[col:]
        elif action == "delete-lines":
            del lines[at : at + draw(st.integers(1, 5))]
        elif action == "duplicate-line":
            lines.insert(at, lines[at])
        elif action == "replace-value":
            key, sep, _ = lines[at].partition(": ")
            if sep:
                lines[at] = f"{key}: {draw(st.sampled_from(YAML_TRAPS + HOSTILE_TEXT))}"
        elif action == "insert-char":
            line = lines[at]
            col = draw(st.integers(0, len(line)))
            lines[at] = line[:col] + draw(st.sampled_from(["\t", "\r", "\x85", "\u2028", "\ufeff", "\x00", "\x07", ":", "#", "&", "*", "!", "|", ">", "'", '"', "{", "[", "-"])) + line[col:]
        else:
            lines[at] = " " * draw(st.integers(0, 9)) + lines[at].lstrip(" ")
        text = "\n".join(lines)
    return text


# --- the properties ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def _validate(text: str, folder: Path) -> None:
    config = folder / "config.yaml"
    config.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    assert_clean_outcome(run_cli(["validate", "--config", str(config)]), config)


@FAST
@given(text=mutated_configs())
def test_model_mutations_end_in_0_or_1(text: str, scratch: Path) -> None:
    _validate(text, scratch)


@FAST
@given(text=mutated_texts())
def test_text_mutations_end_in_0_or_1(text: str, scratch: Path) -> None:
    _validate(text, scratch)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated from valid.yaml (pages, CLAUDE.md with hand-written text around the section)."""
    root = tmp_path_factory.mktemp("property-project")
    (root / "CLAUDE.md").write_bytes(b"# Notes\n\nHand-written.\n")
    shutil.copyfile(VALID, root / "config.yaml")
    result = run_cli(["generate", "--config", "config.yaml"], cwd=root)
    assert result.code == 0, result.err
    return root


@SLOWER
@given(text=st.one_of(mutated_configs(), mutated_texts()))
def test_generate_on_mutations_is_clean_and_all_or_nothing(text: str, project: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy_root = Path(folder) / "project"
        shutil.copytree(project, copy_root)
        config = copy_root / "config.yaml"
        config.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        before = snapshot(copy_root)
        result = run_cli(["generate", "--config", "config.yaml"], cwd=copy_root)
        output = result.out + result.err
        event(f"exit {result.code}")
        assert "Traceback" not in output, output
        assert result.code in (0, 1), output  # no gate: a failing rule means the config is wrong
        if result.code != 0:
            assert snapshot(copy_root) == before, f"a refused generate changed files:\n{output}"
            assert printed_problems(result.err), output
        else:
            claude = (copy_root / "CLAUDE.md").read_bytes()
            assert claude.startswith(b"# Notes\n\nHand-written.\n")
            assert claude.count(b"<!-- BEGIN promotion") == 1 and claude.count(b"<!-- END promotion") == 1


# --- the fuzz target's oracle, and the crashes it found ---------------------------------------------


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID.read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        data[at : at + draw(st.integers(0, 8))] = draw(st.binary(max_size=8))
    return bytes(data)


@FAST
@given(data=st.one_of(st.binary(max_size=512), mutated_bytes()))
def test_raw_bytes_never_crash_the_loader(data: bytes) -> None:
    fuzz_loader.check_input(data)


def _crash_files() -> list[Any]:
    files = sorted(path for path in CRASH_DIR.glob("*") if path.is_file() and path.name != "README.md")
    return files or [pytest.param(None, marks=pytest.mark.skip(reason="the fuzzer has not found a crash yet"))]


@pytest.mark.parametrize("crash", _crash_files(), ids=lambda path: path.name if isinstance(path, Path) else "none")
def test_every_fuzz_crash_stays_fixed(crash: Path, tmp_path: Path) -> None:
    data = crash.read_bytes()
    fuzz_loader.check_input(data)
    config = tmp_path / "config.yaml"
    config.write_bytes(data)
    assert_clean_outcome(run_cli(["validate", "--config", str(config)]), config)


def test_fuzz_harness_runs_for_a_bounded_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The Hypothesis engine in this process (atheris ends its process: see the slow test below).
    monkeypatch.setattr(fuzz_loader, "CRASHES", tmp_path / "crashes")
    assert fuzz_loader.main(["--seconds", "1", "--engine", "hypothesis"]) == 0
    assert not (tmp_path / "crashes").exists()


def test_fuzz_harness_keeps_a_crash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def crash_on_tabs(data: bytes) -> None:
        if b"\t" in data:
            raise RuntimeError("simulated loader crash")

    monkeypatch.setattr(fuzz_loader, "CRASHES", tmp_path / "crashes")
    monkeypatch.setattr(fuzz_loader, "check_input", crash_on_tabs)
    assert fuzz_loader.main(["--seconds", "30", "--engine", "hypothesis"]) == 1
    (saved,) = (tmp_path / "crashes").iterdir()
    assert saved.name.startswith("crash-") and b"\t" in saved.read_bytes()


@pytest.mark.slow
def test_make_fuzz_with_atheris(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(FUZZ_DIR / "fuzz_loader.py"), "--seconds", "3"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done" in done.stderr
