"""Under ``mkdocs serve``: regenerate the pages when an input changes, before mkdocs rebuilds.

mkdocs rebuilds when a watched file changes, and a file written *during* a build makes it
build again. So the plugin does not ask mkdocs to watch the config and the templates; this
watcher does, and on a save it runs ``generate`` at once, outside any build. mkdocs then sees
only the pages that changed in the docs folder and rebuilds once; that build's own
``generate`` finds nothing to do (the no-op shortcut) and writes nothing.

A save that breaks the config changes no page, so the watcher writes the problems to
``PROBLEMS_FILE`` (a dotfile in the docs folder, which mkdocs leaves out of the site): that
change is the one rebuild, and the build shows the problems on every page.
"""

from __future__ import annotations

import threading
from pathlib import Path

from . import generate
from .errors import PromotionError

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

PROBLEMS_FILE = ".promotion-problems.txt"
#: Editors save in bursts (write, rename, chmod): one regeneration per burst.
SETTLE_SECONDS = 0.15
_WRITES = frozenset(["created", "modified", "deleted", "moved"])


class InputWatcher:
    """Watches ``paths`` (files or folders); after each burst of changes, regenerates."""

    def __init__(self, options: generate.GenerateOptions, paths: list[Path], lock: threading.Lock, report: Callable[[list[str]], None]) -> None:
        self.options = options
        self.paths = paths
        self.lock = lock  # shared with the plugin's build-time generate
        self.report = report  # called with the problems (empty: all good)
        self._timer: threading.Timer | None = None
        self._observer: Any = None

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                # Only writes: watchdog also reports opening and closing a file, and generate's
                # own reads of the config and the templates would start it again, forever.
                if event.event_type in _WRITES and not event.is_directory and any(watcher._relevant(str(p)) for p in (event.src_path, getattr(event, "dest_path", "")) if p):
                    watcher._soon()

        self._observer = Observer()
        for path in self.paths:
            folder = path if path.is_dir() else path.parent
            self._observer.schedule(Handler(), str(folder), recursive=path.is_dir())
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()

    def _relevant(self, changed: str) -> bool:
        path = Path(changed)
        if path.name.startswith(".") and path.suffix in (".tmp", ".lock") or path.name in (".lock", PROBLEMS_FILE):
            return False  # our own temporary files, the ledger's lock, the problems file
        out = self.options.resolve(self.options.out_dir).resolve()
        if path == out or out in path.parents or path.suffix == ".md":
            return False  # what generate writes (a config beside the docs folder must not loop)
        return any(path == p or p in path.parents for p in self.paths)

    def _soon(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(SETTLE_SECONDS, self.regenerate)
        self._timer.daemon = True
        self._timer.start()

    def regenerate(self) -> list[str]:
        """Run generate; on failure write the problems where mkdocs sees them. Returns them."""
        problems = run_generate(self.options, self.lock)
        problems_file = self.options.resolve(self.options.out_dir) / PROBLEMS_FILE
        try:
            if problems:
                problems_file.write_text("\n".join(problems) + "\n", encoding="utf-8")
            else:
                problems_file.unlink(missing_ok=True)
        except OSError:
            pass  # the banner then waits for the next save; the log has the problems anyway
        self.report(problems)
        return problems


def run_generate(options: generate.GenerateOptions, lock: threading.Lock) -> list[str]:
    """``generate.run`` under ``lock``; the problems, formatted as ``validate`` prints them."""
    with lock:
        try:
            generate.run(options)
        except PromotionError as exc:
            return [p.format() for p in exc.problems()] or [str(exc)]
    return []
