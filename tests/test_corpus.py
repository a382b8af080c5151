"""The bad-input corpus: every broken input, through the real CLI, ends in one clear error.

One table, ``CASES``, holds every case:

- the files in ``tests/corpus/``, described one per line by ``tests/corpus/cases.yaml``;
- inputs that can't live in git: a 50 MB file, a directory, a FIFO, a dangling symlink,
  an unreadable file, a stream over the size limit, a file with thousands of problems;
- cases generated from the model's specs (``generator.model``), so a new key is covered
  without editing this file: every required key missing in turn, every key with a wrong
  type, an unknown key and a duplicate key at every level, unsafe agent keys and
  environment names;
- every readiness rule broken alone, and several at once.

Each case runs ``promotion validate --config FILE`` (and, for the cases marked so,
``promotion generate`` in a temporary project) and asserts: the exit code, no traceback,
every problem printed as ``FILE:LINE:COL: error [code] path: message`` followed by a
``fix:`` line, problems sorted by position, the expected problem at the expected place,
and that no file was written or changed.

Expected locations come from the text (``cases.yaml`` was computed from the files; the
generated cases from the emitter below, which records where it writes each key and
value), never from the loader.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from conftest import ROOT, Result, run_cli, snapshot

from generator import kinds, loader, model
from generator.errors import printable
from generator.loader import MAX_CONFIG_BYTES, MAX_PROBLEMS

CORPUS = Path(__file__).resolve().parent / "corpus"
VALID = CORPUS / "valid.yaml"
MANIFEST = CORPUS / "cases.yaml"
#: Every CLI run must end within this; a hang (a FIFO, a bomb) fails instead of blocking the suite.
RUN_TIMEOUT = 30.0

#: The bounds GUARANTEES.md states for alias bombs and deep nesting, per CLI run.
BOMB_SECONDS = 2.0
BOMB_BYTES = 50 * 1024 * 1024


# --- running the CLI --------------------------------------------------------------------


class Printed(NamedTuple):
    """One problem as the CLI printed it."""

    file: str
    line: int
    col: int
    severity: str
    code: str
    rest: str  # "path: message", or just the message when there is no path
    hint: str


PROBLEM_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning) \[(?P<code>[A-Za-z0-9-]+)\] (?P<rest>.*)$")
FIX_PREFIX = "    fix: "


def printed_problems(err: str) -> list[Printed]:
    """Every problem in the text output; each must be followed by its ``fix:`` line."""
    lines = err.split("\n")
    found = []
    for index, line in enumerate(lines):
        match = PROBLEM_RE.match(line)
        if match is None:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        assert following.startswith(FIX_PREFIX) and following[len(FIX_PREFIX) :].strip(), f"no fix: line after {line!r}"
        found.append(
            Printed(match["file"], int(match["line"]), int(match["col"]), match["severity"], match["code"], match["rest"], following[len(FIX_PREFIX) :])
        )
    return found


# --- what a case expects ----------------------------------------------------------------


class Expect(NamedTuple):
    exit: int
    code: str | None = None  # the problem that must be printed ...
    path: str = ""  # ... at this dotted path ("" = no path) ...
    message: str = ""  # ... with this in its message ...
    hint: str = ""  # ... and this in its fix: line ...
    line: int | None = None  # ... at this place
    col: int | None = None
    problems: int | None = 1  # errors printed in all (None: not checked)
    every: tuple[tuple[int, int, str, str], ...] | None = None  # (line, col, code, path) of every problem, in order


class Case(NamedTuple):
    id: str
    make: Callable[[Path], Path]  # a fresh folder -> the path to pass as --config
    expect: Expect
    generate: bool = False  # also run `promotion generate` with it in a generated project
    args: tuple[str, ...] = ()  # more validate flags


def check_report(result: Result, expect: Expect, shown_as: str) -> list[Printed]:
    """Assert everything every case promises; return the problems printed."""
    output = result.out + result.err
    assert "Traceback" not in output, output
    assert result.code == expect.exit, f"exit {result.code}, expected {expect.exit}:\n{output}"
    problems = printed_problems(result.err)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        assert problem.file == printable(shown_as), f"problem names {problem.file!r}, not the config {shown_as!r}"
        assert problem.line >= 1 and problem.col >= 1
    positions = [(p.line, p.col) for p in problems]
    assert positions == sorted(positions), f"problems are not sorted by position:\n{result.err}"
    if expect.problems is not None:
        assert len(errors) == expect.problems, f"{len(errors)} errors, expected {expect.problems}:\n{result.err}"
    if expect.exit == 0:
        assert not errors, result.err
        assert result.out.startswith("OK: "), output
    if expect.code is not None:
        wanted = [p for p in problems if p.code == expect.code and expect.message in p.rest and has_path(p, expect.path)]
        assert wanted, f"no [{expect.code}] problem at {expect.path!r} containing {expect.message!r}:\n{result.err}"
        problem = wanted[0]
        assert expect.hint in problem.hint, f"fix: {problem.hint!r} lacks {expect.hint!r}"
        if expect.line is not None:
            assert problem.line == expect.line, f"reported at line {problem.line}, expected {expect.line}"
        if expect.col is not None:
            assert problem.col == expect.col, f"reported at column {problem.col}, expected {expect.col}"
    if expect.every is not None:
        got = [(p.line, p.col, p.code) for p in problems]
        assert got == [(line, col, code) for line, col, code, _ in expect.every], result.err
        for problem, (*_, path) in zip(problems, expect.every, strict=True):
            assert has_path(problem, path), f"{problem.rest!r} is not at {path!r}"
    return problems


def has_path(problem: Printed, path: str) -> bool:
    return problem.rest.startswith(f"{printable(path)}: ") if path else True


# --- watching the disk ------------------------------------------------------------------


# --- the YAML emitter the generated cases use ---------------------------------------------


class Raw(NamedTuple):
    """YAML text written as is where a value goes (a wrong type, a flow list...)."""

    text: str


class Dup(NamedTuple):
    """The key is written twice, with this value both times."""

    value: Any


_PLAIN_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Emitted(NamedTuple):
    text: str
    values: dict[str, tuple[int, int]]  # dotted path -> (line, col) of its value (a block's first key or dash)
    keys: dict[str, tuple[int, int]]  # dotted path -> (line, col) of its key (the second one for Dup)
    first_keys: dict[str, tuple[int, int]]  # dotted path -> (line, col) of its first key


def emit(data: dict[str, Any]) -> Emitted:
    """Block-style YAML for ``data``, recording where every key and value lands.

    Strings are double-quoted JSON (ASCII escapes), so no value is ever a YAML trap
    unless a case puts one there on purpose with ``Raw``.
    """
    lines: list[str] = []
    values: dict[str, tuple[int, int]] = {"": (1, 1)}
    keys: dict[str, tuple[int, int]] = {}
    first_keys: dict[str, tuple[int, int]] = {}

    def scalar(value: Any) -> str:
        if isinstance(value, Raw):
            return value.text
        if value is True or value is False:
            return "true" if value else "false"
        if value is None:
            return "null"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, (str, list, dict)):
            return json.dumps(value)  # JSON is YAML flow style; a list in a list is written this way
        raise TypeError(f"can't emit {value!r}")

    def mapping(data: dict[str, Any], indent: int, path: str, lead: str) -> None:
        first = True
        for key, value in data.items():
            times = 1
            if isinstance(value, Dup):
                times, value = 2, value.value
            child = f"{path}.{key}" if path else key
            key_text = key if _PLAIN_KEY_RE.match(key) else json.dumps(key)
            for _ in range(times):
                pad = lead if first else " " * indent
                first = False
                here = (len(lines) + 1, len(pad) + 1)
                first_keys.setdefault(child, here)
                keys[child] = here
                if isinstance(value, (dict, list)) and value:
                    lines.append(f"{pad}{key_text}:")
                    block(value, indent + 2, child)
                else:
                    lines.append(f"{pad}{key_text}: {scalar(value)}")
                    values[child] = (len(lines), len(pad) + len(key_text) + 3)

    def block(value: dict[str, Any] | list[Any], indent: int, path: str) -> None:
        values[path] = (len(lines) + 1, indent + 1)
        if isinstance(value, dict):
            mapping(value, indent, path, " " * indent)
            return
        for index, item in enumerate(value):
            child = f"{path}[{index}]"
            values[child] = (len(lines) + 1, indent + 3)
            if isinstance(item, dict) and item:
                mapping(item, indent + 2, child, " " * indent + "- ")
            else:
                lines.append(" " * indent + "- " + scalar(item))

    mapping(data, 0, "", "")
    return Emitted("\n".join(lines) + "\n", values, keys, first_keys)


def base_data() -> dict[str, Any]:
    """valid.yaml as plain Python values (a fresh copy each time)."""
    data = yaml.safe_load(VALID.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


Parts = tuple[str | int, ...]


def dotted(parts: Parts) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else part)
    return path


def get(data: Any, parts: Parts) -> Any:
    for part in parts:
        data = data[part]
    return data


def edited(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def set_at(parts: Parts, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: get(data, parts[:-1]).__setitem__(parts[-1], value)


def delete_at(parts: Parts) -> Callable[[dict[str, Any]], None]:
    return lambda data: get(data, parts[:-1]).__delitem__(parts[-1])


def rename_at(parts: Parts, new: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        parent = get(data, parts[:-1])
        items = [(new if key == parts[-1] else key, value) for key, value in parent.items()]
        parent.clear()
        parent.update(items)

    return change


def chain(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for item in changes:
            item(data)

    return change


BASE = base_data()


def spec_instances(kind: kinds.Kind = model.Config.KIND, data: Any = None, parts: Parts = ()) -> Iterator[tuple[kinds.Object | kinds.Map, Parts]]:
    """The first place in valid.yaml of every object (checks included) and map kind of the model."""
    seen: set[int] = set()

    def walk(kind: kinds.Kind, data: Any, parts: Parts) -> Iterator[tuple[kinds.Object | kinds.Map, Parts]]:
        if isinstance(kind, kinds.Object | kinds.Map) and isinstance(data, dict) and id(kind) not in seen:
            seen.add(id(kind))
            yield kind, parts
        if isinstance(kind, kinds.Object) and isinstance(data, dict):
            for field in kind.fields:
                if field.name in data:
                    yield from walk(field, data[field.name], (*parts, field.name))
        elif isinstance(kind, kinds.Map) and isinstance(data, dict):
            for key, value in data.items():
                yield from walk(kind.values, value, (*parts, key))
        elif isinstance(kind, kinds.List) and isinstance(data, list):
            for index, item in enumerate(data):
                yield from walk(kind.items, item, (*parts, index))

    yield from walk(kind, BASE if data is None else data, parts)


def emitted_case(case_id: str, data: dict[str, Any], expect: Callable[[Emitted], Expect], generate: bool = False, args: tuple[str, ...] = ()) -> Case:
    document = emit(data)

    def make(folder: Path) -> Path:
        path = folder / "config.yaml"
        path.write_text(document.text, encoding="utf-8")
        return path

    return Case(case_id, make, expect(document), generate, args)


# --- 1. the files in tests/corpus/ ------------------------------------------------------------


def manifest() -> list[dict[str, Any]]:
    entries = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(entries, list)
    return entries


def file_case(entry: dict[str, Any]) -> Case:
    source = CORPUS / entry["file"]

    def make(folder: Path) -> Path:
        target = folder / entry["file"]
        shutil.copyfile(source, target)
        return target

    every = tuple(tuple(item) for item in entry["every"]) if "every" in entry else None
    expect = Expect(
        entry["exit"],
        entry.get("code"),
        entry.get("path", ""),
        entry.get("message", ""),
        entry.get("hint", ""),
        entry.get("line"),
        entry.get("col"),
        entry.get("problems", 0 if entry["exit"] == 0 else 1),
        every,  # type: ignore[arg-type]
    )
    return Case(Path(entry["file"]).stem, make, expect, entry.get("generate", False), tuple(entry.get("args", ())))


FILE_CASES = [file_case(entry) for entry in manifest()]


# --- 2. inputs that can't be files in git -----------------------------------------------------


def make_huge(folder: Path) -> Path:
    path = folder / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(VALID.read_bytes())
        handle.truncate(50 * 1024 * 1024)  # sparse: instant, and costs no disk
    return path


def make_directory(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.mkdir()
    (path / "agent_engine_envs.yaml").write_bytes(VALID.read_bytes())
    return path


def make_fifo(folder: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = folder / "config.fifo"
    os.mkfifo(path)  # nobody ever writes to it: reading must not wait forever
    return path


def make_dangling_link(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.symlink_to(folder / "gone.yaml")
    return path


def make_unreadable(folder: Path) -> Path:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading (the FIFO and dangling-link cases cover unreadable input)")
    path = folder / "config.yaml"
    path.write_bytes(VALID.read_bytes())
    path.chmod(0)
    return path


def make_stream_over_limit(folder: Path) -> Path:
    """A pipe a command writes the config into: its size is unknown until it is read."""
    path = make_fifo(folder)

    def feed() -> None:
        chunk = b"#" * 1023 + b"\n"
        try:
            with path.open("wb") as handle:  # waits for the reader
                handle.write(VALID.read_bytes())
                for _ in range(MAX_CONFIG_BYTES // len(chunk) + 2):
                    handle.write(chunk)
        except BrokenPipeError:
            pass  # the reader stopped at the limit, as it should

    threading.Thread(target=feed, daemon=True).start()
    return path


def make_too_many_problems(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text("".join(f"unknown_{i}: 1\n" for i in range(3 * MAX_PROBLEMS)), encoding="utf-8")
    return path


def make_missing(folder: Path) -> Path:
    return folder / "no-such-config.yaml"


def make_dev_null(folder: Path) -> Path:
    if not Path(os.devnull).exists() or os.devnull != "/dev/null":
        pytest.skip("no /dev/null")
    return Path(os.devnull)


IO = "io"
SPECIAL_CASES = [
    Case("huge-50mb", make_huge, Expect(1, IO, "", "is 50.0 MiB; configs larger than 32 MiB are refused", "right file", 1, 1), generate=True),
    Case("directory", make_directory, Expect(1, IO, "", "is a directory, not a config file", "--config", 1, 1), generate=True),
    Case("fifo-without-writer", make_fifo, Expect(1, IO, "", "is a pipe (FIFO) and nothing was written to it within", "YAML file itself", 1, 1), generate=True),
    Case("dangling-symlink", make_dangling_link, Expect(1, IO, "", "no such file", "--config", 1, 1)),
    Case("missing-file", make_missing, Expect(1, IO, "", "no such file", "--config", 1, 1), generate=True),
    Case("unreadable-chmod-000", make_unreadable, Expect(1, IO, "", "permission denied", "chmod a+r", 1, 1)),
    Case("dev-null", make_dev_null, Expect(1, "empty", "", "the file is empty", "config/agent_engine_envs.yaml", 1, 1)),
    Case("stream-over-limit", make_stream_over_limit, Expect(1, IO, "", "is larger than 32 MiB", "right file", 1, 1)),
    Case(
        "too-many-problems",
        make_too_many_problems,
        Expect(1, "too-many-problems", f"unknown_{MAX_PROBLEMS - 1}", f"stopped after {MAX_PROBLEMS:,} problems", "run again", MAX_PROBLEMS, 1, MAX_PROBLEMS + 1),
    ),
]


# --- 3. cases generated from the model ------------------------------------------------------

#: A value of the wrong type for each kind of value, and what the error must say.
WRONG_TYPES: dict[type[kinds.Kind], tuple[str, str, str]] = {
    kinds.String: ("[a, b]", "expected a string, got a list", "<text>"),
    kinds.Bool: ('"yes"', "expected true or false, got a string (`yes`)", "true` or"),
    kinds.Date: ('"soon"', "expected a date YYYY-MM-DD, got a string (`soon`)", "2025-12-11"),
    kinds.Map: ("[a, b]", "expected a mapping of", "indented"),
    kinds.List: ("make test", "expected a list, got a string (`make test`)", "- item"),
    kinds.Object: ("42", "expected a mapping with keys", "key: value"),
    kinds.Shorthand: ("[a, b]", "expected a mapping with keys name, got a list", "key: value"),
}


def wrong_type(kind: kinds.Kind) -> tuple[str, str, str]:
    """WRONG_TYPES of the kind's own class or, failing that, the nearest base (a Pattern is a String)."""
    return next(WRONG_TYPES[cls] for cls in type(kind).__mro__ if cls in WRONG_TYPES)

#: Agent keys and environment names become file names and URLs: all of these are refused.
UNSAFE_NAMES = {
    "dotdot-slash": "../x",
    "deep-traversal": "../../../../etc/passwd",
    "slash": "a/b",
    "backslash": "a\\b",
    "absolute": "/tmp/x",
    "dot": ".",
    "dotdot": "..",
    "hidden": ".bob",
    "extension": "bob.md",
    "upper-con": "CON",
    "con": "con",
    "nul": "nul",
    "com1": "com1",
    "lpt9": "lpt9",
    "index": "index",
    "empty": "",
    "space": "bob smith",
    "leading-dash": "-bob",
    "uppercase": "Bob",
    "64-chars": "b" * 64,
    "300-chars": "b" * 300,
    "cyrillic-o": "b\u043eb",
    "fullwidth": "\uff42\uff4f\uff42",
    "zero-width-space": "bob\u200b",
    "rtl-override": "bob\u202egnp",
    "newline": "bob\nx",
    "escape-sequence": "bob\x1b[2J",
    "colon": "c:bob",
    "percent": "%2e%2e",
    "tilde": "~",
}


def model_cases() -> list[Case]:
    cases: list[Case] = []
    instances = list(spec_instances())
    for spec, parts in instances:
        where = dotted(parts) or "top"
        value = get(BASE, parts)
        if isinstance(spec, kinds.Object):
            for field in spec.fields:
                child = (*parts, field.name)
                if field.required:
                    # every required key missing in turn: reported where its mapping starts
                    cases.append(
                        emitted_case(
                            f"missing-{where}.{field.name}",
                            edited(delete_at(child)),
                            lambda doc, parts=parts, field=field: Expect(
                                1, "missing", dotted((*parts, field.name)), f"required key `{field.name}` is missing", "add", *doc.values[dotted(parts)]
                            ),
                            generate=not parts,
                        )
                    )
                # every key with a wrong type, optional ones included
                text, message, hint = wrong_type(field)
                cases.append(
                    emitted_case(
                        f"wrong-type-{where}.{field.name}",
                        edited(set_at(child, Raw(text))),
                        lambda doc, child=child, message=message, hint=hint: Expect(1, "type", dotted(child), message, hint, *doc.values[dotted(child)]),
                    )
                )
                if isinstance(field, kinds.List) and value.get(field.name):
                    item = (*child, 0)
                    text, message, hint = wrong_type(field.items)
                    cases.append(
                        emitted_case(
                            f"wrong-type-{dotted(item)}",
                            edited(set_at(item, Raw(text))),
                            lambda doc, item=item, message=message, hint=hint: Expect(1, "type", dotted(item), message, hint, *doc.values[dotted(item)]),
                        )
                    )
            # an unknown key at every level
            cases.append(
                emitted_case(
                    f"unknown-key-{where}",
                    edited(set_at((*parts, "bogus_key"), 1)),
                    lambda doc, parts=parts: Expect(1, "unknown-key", dotted((*parts, "bogus_key")), "unknown key `bogus_key`", "allowed keys", *doc.keys[dotted((*parts, "bogus_key"))]),
                )
            )
            # a duplicate key at every level
            first = next(iter(value))
            cases.append(
                emitted_case(
                    f"duplicate-key-{where}.{first}",
                    edited(set_at((*parts, first), Dup(value[first]))),
                    lambda doc, parts=parts, first=first: Expect(
                        1,
                        "yaml-duplicate-key",
                        dotted((*parts, first)),
                        "duplicate key `{}` (first defined at line {}, column {})".format(first, *doc.first_keys[dotted((*parts, first))]),
                        "remove one",
                        *doc.keys[dotted((*parts, first))],
                    ),
                )
            )
        else:  # a map: agents, environments, an agent's environments, promotion
            entry = next(iter(value))
            entry_path = (*parts, entry)
            text, message, hint = wrong_type(spec.values)
            cases.append(
                emitted_case(
                    f"wrong-type-{where}.{entry}",
                    edited(set_at(entry_path, Raw(text))),
                    lambda doc, entry_path=entry_path, message=message, hint=hint: Expect(1, "type", dotted(entry_path), message, hint, *doc.values[dotted(entry_path)]),
                )
            )
            cases.append(
                emitted_case(
                    f"duplicate-entry-{where}.{entry}",
                    edited(set_at(entry_path, Dup(value[entry]))),
                    lambda doc, entry_path=entry_path, entry=entry: Expect(
                        1, "yaml-duplicate-key", dotted(entry_path), f"duplicate key `{entry}`", "remove one", *doc.keys[dotted(entry_path)]
                    ),
                )
            )
            cases.append(
                emitted_case(
                    f"empty-map-{where}",
                    edited(set_at(parts, {})),
                    lambda doc, parts=parts: Expect(1, "empty", dotted(parts), f"`{parts[-1]}` is empty", "add at least one", *doc.values[dotted(parts)]),
                )
                if spec.min_items
                else emitted_case(f"empty-map-{where}-allowed-by-the-model", edited(set_at(parts, {})), lambda doc: Expect(1, "PR005", "promotion", "no promotion entry", "promotion.", None, None, 2))
            )
            # unsafe agent keys and environment names (and promotion keys: they are names too)
            names = UNSAFE_NAMES if isinstance(spec.values, kinds.Object) and parts[-1] != "promotion" else {"dotdot-slash": "../x", "slash": "a/b"}
            for label, name in names.items():
                child = (*parts, name)
                cases.append(
                    emitted_case(
                        f"unsafe-name-{where}-{label}",
                        edited(rename_at(entry_path, name)),
                        lambda doc, child=child: Expect(1, "identifier", dotted(child), "is not a safe identifier", "lowercase ASCII letters", *doc.keys[dotted(child)]),
                        generate=label in ("deep-traversal", "absolute") and parts == ("agents",),
                    )
                )
    return cases


MODEL_CASES = model_cases()


# --- 4. readiness rules: each broken alone, then several at once -----------------------------------

BOB = ("agents", "bob", "environments")
ADA = ("agents", "ada", "environments")
ENGINE = "projects/{}/locations/{}/reasoningEngines/{}"


def rule_case(case_id: str, change: Callable[[dict[str, Any]], None], code: str, at: Parts, message: str, hint: str, *, exit: int = 1, args: tuple[str, ...] = (), problems: int = 1, generate: bool = False) -> Case:
    return emitted_case(
        f"rule-{case_id}",
        edited(change),
        lambda doc: Expect(exit, code, dotted(at), message, hint, *doc.values[dotted(at)], problems),
        generate=generate,
        args=args,
    )


RULE_CASES = [
    rule_case("PR001-placeholder-not-pending", set_at((*BOB, "dev", "engine_id"), "TODO-SET-DEV-ENGINE-ID"), "PR001", (*BOB, "dev", "engine_id"),
              "is a placeholder but status is `validated`", "set `status: pending`", generate=True),
    rule_case("PR002-not-a-resource-name", set_at((*ADA, "dev", "engine_id"), "reasoningEngines/2001"), "PR002", (*ADA, "dev", "engine_id"),
              "`reasoningEngines/2001` is not a reasoning engine resource name", "reasoningEngines/<number>"),
    rule_case("PR002-wrong-region", set_at((*ADA, "dev", "engine_id"), ENGINE.format("ada-dev", "europe-west1", 2001)), "PR002", (*ADA, "dev", "engine_id"),
              "engine is in location `europe-west1` but the environment's region is `us-central1`", "region: europe-west1"),
    rule_case("PR002-wrong-project", set_at((*ADA, "dev", "engine_id"), ENGINE.format("someone-else", "us-central1", 2001)), "PR002", (*ADA, "dev", "engine_id"),
              "engine is in project `someone-else` but the environment's project is `ada-dev`", "project_number"),
    rule_case("PR003-ahead-of-previous", set_at((*ADA, "dev", "status"), "deployed"), "PR003", (*ADA, "stage", "status"),
              "`stage` is `validated` while `dev` is only `deployed`", "promote in order"),
    rule_case("PR004-shared-engine", set_at((*ADA, "stage", "engine_id"), ENGINE.format("ada-stage", "us-central1", 1002)), "PR004", (*ADA, "stage", "engine_id"),
              "engine `1002` is also used by `bob` in `stage`", "its own engine"),
    rule_case("PR005-missing-pair", delete_at(("promotion", "stage_to_prod")), "PR005", ("promotion",),
              "no promotion entry for `stage` -> `prod`", "promotion.stage_to_prod"),
    rule_case("PR005-skipping-pair", set_at(("promotion", "dev_to_prod"), {"required_checks": ["Everything"]}), "PR005", ("promotion", "dev_to_prod"),
              "`dev` -> `prod` is not a consecutive step", "dev_to_stage, stage_to_prod"),
    rule_case("PR005-unknown-pair", set_at(("promotion", "qa_to_prod"), {"required_checks": ["Everything"]}), "PR005", ("promotion", "qa_to_prod"),
              "`qa_to_prod` does not name two environments", "dev_to_stage, stage_to_prod"),
    rule_case("PR006-no-checks", set_at(("promotion", "dev_to_stage", "required_checks"), []), "PR006", ("promotion", "dev_to_stage", "required_checks"),
              "`dev_to_stage` has no required checks", "required_checks"),
    rule_case("PR006-inherit-unknown", set_at(("promotion", "stage_to_prod", "inherit_checks_from"), "qa_to_stage"), "PR006",
              ("promotion", "stage_to_prod", "inherit_checks_from"), "`qa_to_stage` is not a promotion entry", "dev_to_stage, stage_to_prod"),
    rule_case("PR006-inherit-later-step", set_at(("promotion", "dev_to_stage", "inherit_checks_from"), "stage_to_prod"), "PR006",
              ("promotion", "dev_to_stage", "inherit_checks_from"), "`stage_to_prod` is not an earlier step than `dev_to_stage`", "earlier promotion"),
    rule_case("PR007-approval-without-channel", delete_at(("promotion", "stage_to_prod", "approval_channel")), "PR007",
              ("promotion", "stage_to_prod", "manual_approval"), "needs manual approval but names no `approval_channel`", "approval_channel"),
    rule_case("PR008-missing-environment", delete_at((*ADA, "prod")), "PR008", ("agents", "ada", "environments"),
              "agent `ada` does not define environment `prod`", "add the missing environment"),
    rule_case("PR008-unknown-environment",
              set_at((*BOB, "qa"), {"project_id": "bob-qa-1", "region": "us-central1", "engine_id": ENGINE.format("bob-qa-1", "us-central1", 1009), "status": "validated"}),
              "PR008", (*BOB, "qa"), "`qa` is not one of the pipeline's environments (dev, stage, prod)", "add it to the top-level `environments`"),
    rule_case("PR009-status-lags-engine-is-a-warning", set_at((*BOB, "prod", "status"), "pending"), "PR009", (*BOB, "prod", "status"),
              "engine `1003` is set but status is still `pending`", "set `status: deployed`", exit=0, problems=0),
    rule_case("PR010-source-not-validated-on-the-step",
              chain(set_at((*ADA, "prod", "engine_id"), "TODO-SET-PROD-ENGINE-ID"), set_at((*ADA, "prod", "status"), "pending"), set_at((*ADA, "stage", "status"), "deployed")),
              "PR010", (*ADA, "stage", "status"), "`ada` is blocked on stage -> prod: stage is only `deployed`, not `validated`", "run the stage -> prod checks against `stage`",
              exit=2, args=("--from-env", "stage", "--to-env", "prod")),
    emitted_case(
        "rule-PR010-target-placeholder-is-ready",
        edited(chain(set_at((*ADA, "prod", "engine_id"), "TODO-SET-PROD-ENGINE-ID"), set_at((*ADA, "prod", "status"), "pending"), set_at(("promotion", "stage_to_prod", "manual_approval"), False))),
        lambda doc: Expect(0, problems=0),
        args=("--from-env", "stage", "--to-env", "prod"),
    ),
    emitted_case(
        "rule-PR010-placeholder-is-fine-without-a-step",
        edited(chain(set_at((*ADA, "prod", "engine_id"), "TODO-SET-PROD-ENGINE-ID"), set_at((*ADA, "prod", "status"), "pending"))),
        lambda doc: Expect(0, problems=0),
    ),
]

SEVERAL_RULES = chain(
    set_at((*BOB, "dev", "engine_id"), "TODO-SET-DEV-ENGINE-ID"),  # PR001
    set_at((*ADA, "stage", "engine_id"), ENGINE.format("ada-stage", "us-central1", 1002)),  # PR004
    delete_at(("promotion", "stage_to_prod", "approval_channel")),  # PR007
    delete_at((*ADA, "prod")),  # PR008
)
RULE_CASES.append(
    emitted_case(
        "rule-several-at-once",
        edited(SEVERAL_RULES),
        lambda doc: Expect(
            1,
            "PR008",
            "agents.ada.environments",
            "does not define environment `prod`",
            "add the missing environment",
            problems=4,
            every=tuple(
                (*doc.values[dotted(at)], code, dotted(at))
                for code, at in sorted(
                    [
                        ("PR001", (*BOB, "dev", "engine_id")),
                        ("PR004", (*ADA, "stage", "engine_id")),
                        ("PR007", ("promotion", "stage_to_prod", "manual_approval")),
                        ("PR008", ("agents", "ada", "environments")),
                    ],
                    key=lambda item: doc.values[dotted(item[1])],
                )
            ),
        ),
        generate=True,
    )
)

CASES: list[Case] = FILE_CASES + SPECIAL_CASES + MODEL_CASES + RULE_CASES
ERROR_CASES = [case for case in CASES if case.expect.exit != 0]
GENERATE_CASES = [case for case in ERROR_CASES if case.generate]


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def short_fifo_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The FIFO case waits this long for a writer instead of the loader's 10 s."""
    monkeypatch.setattr(loader, "FIFO_WAIT_SECONDS", 0.2)


def test_the_corpus_is_big_and_every_file_is_listed() -> None:
    listed = {entry["file"] for entry in manifest()}
    on_disk = {path.name for path in CORPUS.iterdir() if path.is_file()} - {"cases.yaml", "valid.yaml", "GUARANTEES.md", ".gitattributes"}
    assert listed == on_disk, f"unlisted: {sorted(on_disk - listed)}, missing: {sorted(listed - on_disk)}"
    assert len(FILE_CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"
    assert len(GENERATE_CASES) >= 10


def test_the_emitter_writes_the_valid_config(tmp_path: Path) -> None:
    # Every generated case is this document with one thing broken.
    path = tmp_path / "config.yaml"
    path.write_text(emit(BASE).text, encoding="utf-8")
    result = run_cli(["validate", "--config", str(path)])
    assert (result.code, result.err) == (0, ""), result.err
    assert run_cli(["validate", "--config", str(VALID)]).code == 0


def test_every_model_spec_is_covered() -> None:
    # A key added to the model gets its missing / wrong-type cases without editing this file.
    ids = {case.id for case in MODEL_CASES}
    for spec, parts in spec_instances():
        where = dotted(parts) or "top"
        for field in spec.fields if isinstance(spec, kinds.Object) else ():
            assert f"wrong-type-{where}.{field.name}" in ids
            assert (f"missing-{where}.{field.name}" in ids) == field.required
    assert {type(spec) for spec, _ in spec_instances()} == {kinds.Object, kinds.Shorthand, kinds.Map}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_validate(case: Case, tmp_path: Path) -> None:
    config = case.make(tmp_path)
    before = snapshot(tmp_path)
    result = run_cli(["validate", "--config", str(config), *case.args])
    check_report(result, case.expect, str(config))
    assert snapshot(tmp_path) == before, "validate changed a file"


@pytest.mark.parametrize("case", ERROR_CASES, ids=[case.id for case in ERROR_CASES])
def test_validate_json(case: Case, tmp_path: Path) -> None:
    config = case.make(tmp_path)
    result = run_cli(["validate", "--config", str(config), "--format", "json", *case.args])
    assert result.code == case.expect.exit
    assert "Traceback" not in result.out + result.err
    data = json.loads(result.out)
    assert data["ok"] is False and data["exit_code"] == case.expect.exit
    assert data["errors"], data
    for error in data["errors"]:
        assert error["file"] == str(config) and error["line"] >= 1 and error["col"] >= 1, error
        assert error["hint"].strip() and error["message"].strip(), error
    if case.expect.code is not None:
        matches = [e for e in data["errors"] if e["code"] == case.expect.code and e["path"] == case.expect.path and case.expect.message in e["message"]]
        assert matches, data["errors"]
        if case.expect.line is not None:
            assert matches[0]["line"] == case.expect.line


@pytest.fixture(scope="module")
def generated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated from valid.yaml, with a hand-written page and hand-written CLAUDE.md text."""
    root = tmp_path_factory.mktemp("project")
    (root / "config").mkdir()
    shutil.copyfile(VALID, root / "config" / "valid.yaml")
    (root / "site-docs").mkdir()
    (root / "site-docs" / "index.md").write_text("# Hand-written home page\n", encoding="utf-8")
    (root / "CLAUDE.md").write_bytes(b"# Project notes\r\n\r\nWritten by hand.\r\n")
    result = run_cli(["generate", "--config", "config/valid.yaml"], cwd=root)
    assert result.code == 0, result.err
    return root


@pytest.mark.parametrize("case", GENERATE_CASES, ids=[case.id for case in GENERATE_CASES])
def test_generate_writes_nothing(case: Case, tmp_path: Path, generated_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    shutil.copytree(generated_project, project, symlinks=True)
    config = case.make(tmp_path)
    before = snapshot(tmp_path)
    monkeypatch.chdir(project)
    result = run_cli(["generate", "--config", str(config), *case.args])
    check_report(result, case.expect, Path(os.path.relpath(config, project)).as_posix())
    assert snapshot(tmp_path) == before, "generate changed a file although the config is refused"


BOMB_CASES = [case for case in FILE_CASES if case.id.startswith(("billion-laughs", "deep-nesting", "self-reference"))]


@pytest.mark.parametrize("case", BOMB_CASES, ids=[case.id for case in BOMB_CASES])
def test_alias_bombs_and_deep_nesting_are_bounded(case: Case, tmp_path: Path) -> None:
    config = case.make(tmp_path)
    run_cli(["validate", "--config", str(VALID)])  # imports and caches out of the measurement
    result = run_cli(["validate", "--config", str(config)])
    check_report(result, case.expect, str(config))
    assert result.seconds < BOMB_SECONDS, f"{result.seconds:.2f} s"
    # Memory in a second run: tracemalloc slows Python down several times.
    tracemalloc.start()
    try:
        run_cli(["validate", "--config", str(config)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BOMB_BYTES, f"{peak / 1e6:.1f} MB"


MEASURE_SCRIPT = """
import io, resource, sys, time
from generator.cli import main
started = time.perf_counter()
code = main(["validate", "--config", sys.argv[1]], io.StringIO(), io.StringIO())
elapsed = time.perf_counter() - started
# VmHWM is this process's own peak; ru_maxrss also counts the parent's memory at fork time
# (a large pytest process made a 15 MB run read as 119 MB).
try:
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
print(code, elapsed, rss)
"""


@pytest.mark.parametrize("name", ["billion-laughs-merge.yaml", "billion-laughs-checks.yaml", "deep-nesting-block.yaml"])
def test_bombs_in_a_fresh_process_stay_small(name: str) -> None:
    """The whole process, interpreter included: peak resident memory and time of one run."""
    pytest.importorskip("resource")
    done = subprocess.run([sys.executable, "-c", MEASURE_SCRIPT, str(CORPUS / name)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    code, seconds, rss = done.stdout.split()
    assert int(code) == 1
    assert float(seconds) < BOMB_SECONDS
    assert int(rss) < BOMB_BYTES + 50 * 1024 * 1024, f"{int(rss) / 1e6:.0f} MB resident (interpreter included)"
