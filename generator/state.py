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
matches (git's racily-clean rule); and only the entries the load listed are recorded, so one
that came after the listing is a change to the next run. Either way the next run takes the
full path once.

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
#: What a file's size and mtime are recorded as when it is gone.
MISSING = "-"


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


def _size_mtime(st: os.stat_result) -> str:
    """A file's size and mtime as the state records them: ``<size> <mtime ns>``."""
    return f"{st.st_size} {st.st_mtime_ns}"


def _stat(path: str | os.DirEntry[str]) -> str:
    """A file's recorded size and mtime (``_size_mtime``), or ``MISSING`` when it is gone; a
    folder entry's own ``stat`` when given one."""
    try:
        st = path.stat() if isinstance(path, os.DirEntry) else os.stat(path)
    except OSError:
        return MISSING
    return _size_mtime(st)


def _row(path: str, stat: str) -> str:
    """A row of the state: a file's path and its recorded size and mtime, tab-separated. The
    check compares whole rows (a damaged one never matches), so the no-op run never splits
    the ~12,000 rows of a large project."""
    return f"{path}\t{stat}"


def _current(file: str | os.DirEntry[str]) -> str:
    """The row a file has now (a folder entry's own ``stat`` when given one)."""
    return _row(file.path if isinstance(file, os.DirEntry) else file, _stat(file))


def _still(row: str) -> bool:
    """True when the file a row names has the size and mtime the row records."""
    return _current(row.rpartition("\t")[0]) == row  # the size and mtime hold no tab


def inputs(folder: str, names: list[str], since_ns: int) -> list[str]:
    """The rows of the ledger entries ``names`` in ``folder``, the ones the load listed:
    ``RACY`` for an entry written after ``since_ns - RACY_NS`` (the run's start). An entry
    the load did not list is not recorded, so one that came after the listing is a change
    to the next run, as any other new entry is."""
    rows = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            st = os.stat(path)
        except OSError:
            rows.append(_row(path, MISSING))
            continue
        rows.append(_row(path, RACY if st.st_mtime_ns >= since_ns - RACY_NS else _size_mtime(st)))
    return rows


def snapshot(out_dir: str, outputs: list[Path]) -> tuple[list[str], list[str]]:
    """The rows of every Markdown file in the output folder, in the order ``markdown_entries``
    lists them, and of every output that is not one of them (CLAUDE.md)."""
    entries = markdown_entries(out_dir)
    listed = {entry.path for entry in entries}
    others = sorted({str(p) for p in outputs} - listed)
    return [_current(entry) for entry in entries], [_current(name) for name in others]


class Recorded:
    """A state file's content: the fingerprint, the output paths, and the rows (``_row``) of
    the pages as listed, of the other outputs, and of the ledger entries in ``inputs_dir``
    (``""``: none)."""

    __slots__ = ("fp", "inputs", "inputs_dir", "others", "outputs", "pages")

    def __init__(self, fp: str, outputs: list[str], pages: list[str], others: list[str], inputs_dir: str, inputs: list[str]) -> None:
        self.fp, self.outputs, self.inputs_dir = fp, outputs, inputs_dir
        self.pages, self.others, self.inputs = pages, others, inputs


# The state file is lines, not JSON: the no-op run would import json (~1 ms of a small
# validate) and parse a dict it only walks in order. ``_MAGIC``, the fingerprint's line count
# and its lines, the outputs, the ledger folder, the pages as listed, the other outputs, the
# ledger entries (each list after its count), then ``_END``: a file cut short never reads as
# a state.
_MAGIC = f"promotion-state {_FORMAT}"
_END = "end"


def _encode(fp: str, outputs: list[str], pages: list[str], others: list[str], inputs_dir: str, inputs: list[str]) -> bytes | None:
    """The state file's bytes; None when a path has a tab or a line break (no line can hold it:
    such a tree just never takes the shortcut)."""
    if any("\t" in name or "\n" in name or "\r" in name for name in (*outputs, inputs_dir)):
        return None
    if any(row.count("\t") != 1 or "\n" in row or "\r" in row for listed in (pages, others, inputs) for row in listed):
        return None
    fp_lines = fp.split("\n")
    lines = [_MAGIC, str(len(fp_lines)), *fp_lines, str(len(outputs)), *outputs, inputs_dir]
    for listed in (pages, others, inputs):
        lines.append(str(len(listed)))
        lines += listed
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
            rows = lines[at + 1 : at + 1 + count]
            if len(rows) != count:
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
    for entry, row in zip(entries, state.pages, strict=True):  # in the same order
        if _current(entry) != row:
            return False
    if not all(_still(row) for row in state.others):  # the outputs that are not pages in the folder (CLAUDE.md)
        return False
    try:
        listed = sorted(os.listdir(state.inputs_dir)) if state.inputs_dir else []
    except OSError:  # no ledger folder: no entries
        listed = []
    names = []
    if listed:
        from .ledger import visible  # here: a no-op run with no ledger never imports the ledger's reader

        names = visible(listed)
    if len(names) != len(state.inputs):  # an entry came or went
        return False
    folder = state.inputs_dir
    return all(_current(os.path.join(folder, name)) == row for name, row in zip(names, state.inputs, strict=True))  # RACY never equals a size and mtime


def record(out_dir: str, fp: str, outputs: list[Path], inputs_dir: str = "", entries: list[str] | None = None) -> None:
    """Write the state after a successful run (only when its bytes change): ``entries`` are
    the ledger's rows, as ``inputs(inputs_dir, ...)`` found them before the run read one."""
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
