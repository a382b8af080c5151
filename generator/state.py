"""The record of the last successful generate, so a run with nothing to do costs a validate.

A no-op ``generate`` (and every ``mkdocs serve`` rebuild that did not touch the config)
would otherwise import Jinja2, compile the templates and render every page only to find
that nothing changed. After each successful write run, ``.promotion-state.json`` in the
output folder records a fingerprint of every input (size and mtime of the config, every template,
the generator's own source, the options) and the size and modification time of every
output file and of every Markdown file in the folder. When all of them still match, the
outputs are what a full run would write, and the run stops after validating.

It is a cache, never a source of truth: ``--check``, ``--force`` and any mismatch take the
full path, and a missing or unreadable state file only costs time. It is a dotfile, so
mkdocs leaves it out of the site; keep it out of git.
"""

from __future__ import annotations

import os

from . import __version__
from .errors import WriteRefused
from .writer import markdown_entries, markdown_names, write_files

TYPE_CHECKING = False  # the no-op path imports neither pathlib nor typing
if TYPE_CHECKING:
    from pathlib import Path

STATE_FILE = ".promotion-state.json"
_FORMAT = 2


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
    """One string naming everything a generate run reads, with each file's size and mtime
    (the same make-style test the outputs get; hashing contents would cost more than the run)."""
    from .ledger import ledger_dir

    package = os.path.dirname(os.path.realpath(__file__))
    templates: list[str] = []
    for folder in template_dirs:
        templates += _files_under(folder, ".j2", recursive=True)
    parts = [
        f"format={_FORMAT}",
        f"version={__version__}",
        options_key,
        _stat_files([config_path]),
        _stat_files(_files_under(str(ledger_dir(config_path)), ".yaml", recursive=False)),
        _stat_files(templates),
        _stat_files(_files_under(package, ".py", recursive=False)),
    ]
    return "\n".join(parts)


def _stat(path: str | os.DirEntry[str]) -> list[int] | None:
    """Size and mtime of a file, or None; a folder entry's own (cached) ``stat`` when given one."""
    try:
        st = path.stat() if isinstance(path, os.DirEntry) else os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _names(out_dir: str, outputs: list[str]) -> list[str]:
    """Every output and every Markdown file in the output folder, sorted, once each."""
    return sorted(set(outputs).union(markdown_names(out_dir)))


def snapshot(out_dir: str, outputs: list[Path]) -> dict[str, object]:
    """Size and mtime of every output and every Markdown file in the output folder."""
    return {name: _stat(name) for name in _names(out_dir, [str(p) for p in outputs])}


def matches(out_dir: str, fp: str) -> list[str] | None:
    """The recorded output paths when the state says nothing would change, else None.

    ``out_dir`` must be spelled as the run that recorded the state spelled it (the paths
    recorded start with it): ``GenerateOptions.resolve_str`` spells it as ``str(Path)`` does."""
    import json

    try:
        with open(os.path.join(out_dir, STATE_FILE), "rb") as handle:
            state = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != fp:
        return None
    files = state.get("files")
    outputs = state.get("outputs")
    if not isinstance(files, dict) or not isinstance(outputs, list) or not all(type(p) is str for p in outputs):
        return None
    pages = markdown_entries(out_dir)
    listed = {entry.path for entry in pages}
    if len(listed.union(outputs)) != len(files):  # a Markdown file came or went
        return None
    for entry in pages:  # stops at the first difference
        if files.get(entry.path, False) != _stat(entry):
            return None
    for name in outputs:  # the outputs that are not pages in the folder (CLAUDE.md)
        if name not in listed and files.get(name, False) != _stat(name):
            return None
    return outputs


def record(out_dir: str, fp: str, outputs: list[Path]) -> None:
    """Write the state after a successful run (only when its bytes change)."""
    import json
    from pathlib import Path

    data = {"fingerprint": fp, "outputs": sorted(str(p) for p in outputs), "files": snapshot(out_dir, outputs)}
    # One line: json's C encoder only runs without ``indent`` (4 ms less at 2,000 pages).
    text = (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()
    path = Path(out_dir, STATE_FILE)
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
