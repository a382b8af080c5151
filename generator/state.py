"""The record of the last successful generate, so a run with nothing to do costs a validate.

A no-op ``generate`` (and every ``mkdocs serve`` rebuild that did not touch the config)
would otherwise import Jinja2, compile the templates and render every page only to find
that nothing changed. After each successful write run, ``.promotion-state`` in the
output folder records a fingerprint of every input (size and mtime of the config, every template,
the generator's own source, the options) and the size and modification time of every
output file and of every Markdown file in the folder, and of every ledger entry. When all of
them still match, the outputs are what a full run would write, and the run stops after
validating.

The ledger's entries (10,000 of them are ~45 ms of ``stat`` calls) are checked with the pages,
in the forked child at scale (``Matching``), not fingerprinted before the load. So the sizes
and times a full run records for them are taken after its load began: an entry written less
than ``RACY_NS`` before the run started, or while it ran, is recorded as ``racy`` and never
matches (git's racily-clean rule), and a run whose load listed other entries than it recorded
keeps no state. Either way the next run takes the full path once.

It is a cache, never a source of truth: ``--check``, ``--force`` and any mismatch take the
full path, and a missing, unreadable or damaged state file only costs time. It is a dotfile,
so mkdocs leaves it out of the site; keep it out of git.
"""

from __future__ import annotations

import os

from . import __version__
from .errors import WriteRefused
from .parallel import single_threaded, stop
from .writer import markdown_entries, write_files

TYPE_CHECKING = False  # the no-op path imports neither pathlib nor typing
if TYPE_CHECKING:
    from pathlib import Path

STATE_FILE = ".promotion-state"
#: Where the state was kept while it was JSON: removed when a state is recorded.
_OLD_STATE_FILE = ".promotion-state.json"
_FORMAT = 4
#: What an entry's size and mtime are recorded as when it was written too close to the run
#: (within this much before it started, or while it ran) for the record to prove what was read:
#: file times come from a coarse clock, and a network filesystem's from another machine's.
RACY = "racy"
RACY_NS = 2_000_000_000


def _stat_files(paths: list[str]) -> str:
    """Name, size and mtime of each file: enough to notice an edited template or source file
    (and far cheaper than reading them on every run)."""
    parts = []
    for path in paths:
        try:
            st = os.stat(path)
            parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:<unreadable>")
    return "\n".join(parts)


def _files_under(folder: str, suffix: str, recursive: bool) -> list[str]:
    """Every file under ``folder`` whose name ends with ``suffix``, sorted (none if it is not a folder)."""
    found: list[str] = []
    if recursive:
        for here, dirs, files in os.walk(folder):
            dirs.sort()
            found += [os.path.join(here, name) for name in files if name.endswith(suffix)]
        return sorted(found)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, name) for name in names if name.endswith(suffix))


def fingerprint(config_path: str, template_dirs: list[str], options_key: str) -> str:
    """One string naming everything a generate run reads but the ledger (``inputs``), with each
    file's size and mtime (the same make-style test the outputs get; hashing contents would
    cost more than the run)."""
    package = os.path.dirname(os.path.realpath(__file__))
    templates: list[str] = []
    for folder in template_dirs:
        templates += _files_under(folder, ".j2", recursive=True)
    parts = [
        f"format={_FORMAT}",
        f"version={__version__}",
        options_key,
        _stat_files([config_path]),
        _stat_files(templates),
        _stat_files(_files_under(package, ".py", recursive=False)),
    ]
    return "\n".join(parts)


def _stat(path: str | os.DirEntry[str]) -> str:
    """Size and mtime of a file as the state records them (``<size> <mtime ns>``), or ``-``
    when it is gone; a folder entry's own ``stat`` when given one."""
    try:
        st = path.stat() if isinstance(path, os.DirEntry) else os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size} {st.st_mtime_ns}"


def inputs(folder: str, since_ns: int) -> list[tuple[str, str]]:
    """(path, size and mtime) of every ledger entry in ``folder``, as ``_unchanged`` compares
    them; ``RACY`` for an entry written after ``since_ns - RACY_NS`` (the run's start)."""
    rows = []
    for path in _files_under(folder, ".yaml", recursive=False):
        try:
            st = os.stat(path)
        except OSError:
            rows.append((path, "-"))
            continue
        rows.append((path, RACY if st.st_mtime_ns >= since_ns - RACY_NS else f"{st.st_size} {st.st_mtime_ns}"))
    return rows


def snapshot(out_dir: str, outputs: list[Path]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(path, size and mtime) of every Markdown file in the output folder, in the order
    ``markdown_entries`` lists them, and of every output that is not one of them (CLAUDE.md)."""
    pages = [(entry.path, _stat(entry)) for entry in markdown_entries(out_dir)]
    listed = {path for path, _ in pages}
    return pages, [(name, _stat(name)) for name in sorted({str(p) for p in outputs} - listed)]


class Recorded:
    """A state file's content: the fingerprint, the output paths, and (path, size and mtime)
    of the pages as listed, of the other outputs, and of the ledger entries in ``inputs_dir``
    (``""``: none)."""

    __slots__ = ("fp", "inputs", "inputs_dir", "others", "outputs", "pages")

    def __init__(self, fp: str, outputs: list[str], pages: list[list[str]], others: list[list[str]], inputs_dir: str, inputs: list[list[str]]) -> None:
        self.fp, self.outputs, self.inputs_dir = fp, outputs, inputs_dir
        self.pages, self.others, self.inputs = pages, others, inputs


# The state file is lines, not JSON: the no-op run would import json (~1 ms of a small
# validate) and parse a dict it only walks in order. ``_MAGIC``, the fingerprint's line count
# and its lines, the outputs, the ledger folder, the pages as listed, the other outputs, the
# ledger entries (each list after its count), then ``_END``: a file cut short never reads as
# a state.
_MAGIC = f"promotion-state {_FORMAT}"
_END = "end"


def _encode(fp: str, outputs: list[str], pages: list[tuple[str, str]], others: list[tuple[str, str]], inputs_dir: str, inputs: list[tuple[str, str]]) -> bytes | None:
    """The state file's bytes; None when a path has a tab or a line break (no line can hold it:
    such a tree just never takes the shortcut)."""
    names = (*outputs, inputs_dir, *(p for listed in (pages, others, inputs) for p, _ in listed))
    if any("\t" in name or "\n" in name or "\r" in name for name in names):
        return None
    fp_lines = fp.split("\n")
    lines = [_MAGIC, str(len(fp_lines)), *fp_lines, str(len(outputs)), *outputs, inputs_dir]
    for listed in (pages, others, inputs):
        lines.append(str(len(listed)))
        lines += [f"{name}\t{stat}" for name, stat in listed]
    lines.append(_END)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _decode(data: bytes) -> Recorded | None:
    """What a state file records, or None if it is not one."""
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    try:
        if lines[0] != _MAGIC or lines[-2:] != [_END, ""]:
            return None
        count = int(lines[1])
        fp, at = "\n".join(lines[2 : 2 + count]), 2 + count
        count = int(lines[at])
        outputs, at = lines[at + 1 : at + 1 + count], at + 1 + count
        if len(outputs) != count:
            return None
        inputs_dir, at = lines[at], at + 1
        listed = []
        for _ in range(3):
            count = int(lines[at])
            rows = [line.split("\t") for line in lines[at + 1 : at + 1 + count]]
            if len(rows) != count or any(len(row) != 2 for row in rows):
                return None
            listed.append(rows)
            at += 1 + count
    except (IndexError, ValueError):
        return None
    if at != len(lines) - 2:  # nothing between the lists and the end line
        return None
    return Recorded(fp, outputs, listed[0], listed[1], inputs_dir, listed[2])


#: From this many pages on record, ``Matching`` may hand the check to a forked child (below,
#: the fork costs about what the check does: ~1 ms).
FORK_FROM = 1000


class Matching:
    """The no-op check, started before the config is loaded (``generate.run``); ``result`` is
    the recorded output paths when the state says nothing would change, else None. ``out_dir``
    must be spelled as the run that recorded the state spelled it (the paths recorded start
    with it): ``GenerateOptions.resolve_str`` spells it as ``str(Path)`` does.

    The state is read and its fingerprint compared at once. With ``fork`` (a process with a
    second core and no other thread: the CLI) and at least ``FORK_FROM`` pages and ledger
    entries on record, a
    forked child then stats the pages while this process loads and checks the config: at
    1,000 agents that is 2,014 ``stat`` calls (~8 ms), at 10,000 ~75 ms, which a no-op run
    would otherwise add to what ``validate`` costs. The child's exit status is its answer
    (0: nothing changed, 1: something did); anything else, and without a child, ``result``
    does the check here. ``cancel`` ends the child when the run stops early.
    """

    __slots__ = ("out_dir", "pid", "state")

    def __init__(self, out_dir: str, fp: str, fork: bool = False) -> None:
        self.out_dir = out_dir
        self.pid: int | None = None
        try:
            with open(os.path.join(out_dir, STATE_FILE), "rb") as handle:
                state = _decode(handle.read())
        except OSError:
            state = None
        self.state = state if state is not None and state.fp == fp else None
        if fork and self.state is not None and len(self.state.pages) + len(self.state.inputs) >= FORK_FROM and single_threaded():
            try:
                pid = os.fork()
            except OSError:
                return
            if pid == 0:  # the child: answer with the exit status, run none of the parent's exit code
                code = 2
                try:
                    code = 0 if _unchanged(out_dir, self.state) else 1
                finally:
                    os._exit(code)
            self.pid = pid

    def result(self) -> list[str] | None:
        """The recorded output paths when nothing would change, else None."""
        if self.state is None:
            return None
        if self.pid is not None:
            pid, self.pid = self.pid, None
            try:
                code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            except ChildProcessError:
                code = -1
            if code in (0, 1):
                return self.state.outputs if code == 0 else None
        return self.state.outputs if _unchanged(self.out_dir, self.state) else None

    def cancel(self) -> None:
        """End the child, if there is one (the run stopped before asking for the result)."""
        if self.pid is not None:
            pid, self.pid = self.pid, None
            stop(pid)


def _unchanged(out_dir: str, state: Recorded) -> bool:
    """True when every page in the folder, every other output and every ledger entry is as
    recorded (stops at the first difference)."""
    entries = markdown_entries(out_dir)
    if len(entries) != len(state.pages):  # a Markdown file came or went
        return False
    for entry, (name, stat) in zip(entries, state.pages, strict=True):  # in the same order
        if entry.path != name or _stat(entry) != stat:
            return False
    if not all(_stat(name) == stat for name, stat in state.others):  # the outputs that are not pages in the folder (CLAUDE.md)
        return False
    if _files_under(state.inputs_dir, ".yaml", recursive=False) != [name for name, _ in state.inputs]:  # an entry came or went
        return False
    return all(_stat(name) == stat for name, stat in state.inputs)  # RACY never equals a size and mtime


def record(out_dir: str, fp: str, outputs: list[Path], inputs_dir: str = "", entries: list[tuple[str, str]] | None = None) -> None:
    """Write the state after a successful run (only when its bytes change): ``entries`` are
    the ledger's, as ``inputs(inputs_dir, ...)`` found them before the run read one."""
    from pathlib import Path

    text = _encode(fp, sorted(str(p) for p in outputs), *snapshot(out_dir, outputs), inputs_dir, entries or [])
    path = Path(out_dir, STATE_FILE)
    try:
        os.unlink(os.path.join(out_dir, _OLD_STATE_FILE))
    except OSError:
        pass
    if text is None:
        forget(out_dir)
        return
    try:
        if path.read_bytes() == text:
            return
    except OSError:
        pass
    try:
        # Atomic (two runs at once each write whole files), but not synced: a cache lost in
        # a power cut only costs the next run its shortcut.
        write_files([(path, text)], durable=False)
    except WriteRefused:  # a cache that can't be written only costs the next run time
        pass


def forget(out_dir: str) -> None:
    try:
        os.unlink(os.path.join(out_dir, STATE_FILE))
    except OSError:
        pass
