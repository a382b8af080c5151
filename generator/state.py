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

import json
import os
from pathlib import Path

from . import __version__
from .errors import WriteRefused
from .writer import markdown_files, write_files

STATE_FILE = ".promotion-state.json"
_FORMAT = 1


def _stat_files(paths: list[Path]) -> str:
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


def fingerprint(config_path: Path, template_dirs: list[Path], options_key: str) -> str:
    """One string naming everything a generate run reads, with each file's size and mtime
    (the same make-style test the outputs get; hashing contents would cost more than the run)."""
    package = Path(__file__).resolve().parent
    templates: list[Path] = []
    for folder in template_dirs:
        if folder.is_dir():
            templates += sorted(folder.rglob("*.j2"))
    from .ledger import ledger_dir

    ledger = ledger_dir(config_path)
    parts = [
        f"format={_FORMAT}",
        f"version={__version__}",
        options_key,
        _stat_files([config_path]),
        _stat_files(sorted(ledger.glob("*.yaml")) if ledger.is_dir() else []),
        _stat_files(templates),
        _stat_files(sorted(package.glob("*.py"))),
    ]
    return "\n".join(parts)


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def snapshot(out_dir: Path, outputs: list[Path]) -> dict[str, object]:
    """Size and mtime of every output and every Markdown file in the output folder."""
    names = sorted({str(p) for p in outputs} | {str(p) for p in markdown_files(out_dir)})
    return {name: _stat(name) for name in names}


def matches(out_dir: Path, fp: str) -> list[str] | None:
    """The recorded output paths when the state says nothing would change, else None."""
    try:
        state = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != fp:
        return None
    files = state.get("files")
    outputs = state.get("outputs")
    if not isinstance(files, dict) or not isinstance(outputs, list):
        return None
    if snapshot(out_dir, [Path(p) for p in outputs]) != files:
        return None
    return [str(p) for p in outputs]


def record(out_dir: Path, fp: str, outputs: list[Path]) -> None:
    """Write the state after a successful run (only when its bytes change)."""
    data = {"fingerprint": fp, "outputs": sorted(str(p) for p in outputs), "files": snapshot(out_dir, outputs)}
    text = (json.dumps(data, indent=0, sort_keys=True) + "\n").encode()
    path = out_dir / STATE_FILE
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


def forget(out_dir: Path) -> None:
    try:
        (out_dir / STATE_FILE).unlink()
    except OSError:
        pass
