"""Map a pure function over many items on two cores: the one fork ``generate`` makes.

Rendering is most of what ``generate`` costs, each page depends only on the context built
before it, and the machines this runs on (laptops, CI runners) have a second core that
would sit idle. So a process that owns its interpreter (the CLI; never the mkdocs plugin,
whose ``mkdocs serve`` runs threads: a fork copies a lock another thread holds) forks once
after the context is built. The child maps every second item and sends the results (bytes)
back through a pipe while the parent maps the others.

The result is the serial result by construction: anything unusual (no ``fork``, one core,
few items, another thread running, the child failing or sending a short or garbled reply,
the parent's share raising) throws the attempt away and maps every item in order in this
process, so an error is raised for the same item, with the same message, as without this
module. The child writes no file and prints nothing: it leaves with ``os._exit``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeVar

    T = TypeVar("T")

#: Below this many items the fork costs more than it saves (measured: 1,000 agents, 2,014
#: pages, saves ~55 ms of ~250 ms; the copy-on-write of the context costs each side ~25 ms).
MIN_ITEMS = 400
#: ``PROMOTION_WORKERS=1`` turns the fork off; unset or ``0``: what the machine has, at most 2.
WORKERS_VARIABLE = "PROMOTION_WORKERS"


def workers() -> int:
    """How many processes a map may use: ``PROMOTION_WORKERS``, else the CPUs this process
    may run on; at most 2 (the map splits in two)."""
    wanted = os.environ.get(WORKERS_VARIABLE, "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return min(int(wanted), 2)
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        available = os.cpu_count() or 1
    return min(available, 2)


def map_bytes(func: Callable[[T], bytes], items: Sequence[T], processes: int = 1) -> list[bytes]:
    """``[func(item) for item in items]``, on two processes when that is safe and worth it."""
    if processes >= 2 and len(items) >= MIN_ITEMS and _can_fork():
        split = _split(func, items)
        if split is not None:
            return split
    return [func(item) for item in items]


def _can_fork() -> bool:
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def _split(func: Callable[[T], bytes], items: Sequence[T]) -> list[bytes] | None:
    """The map with every odd item done by a forked child; None when anything went wrong."""
    import marshal

    theirs = items[1::2]
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: map, send, leave without running any of the parent's exit code
        code = 1
        try:
            os.close(read_end)
            view = memoryview(marshal.dumps([func(item) for item in theirs]))
            while view:
                view = view[os.write(write_end, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    reaped = False
    try:
        mine = [func(item) for item in items[0::2]]
        chunks = []
        while chunk := os.read(read_end, 1 << 20):
            chunks.append(chunk)
        reaped = True
        if os.waitpid(pid, 0)[1] != 0:
            return None
        received = marshal.loads(b"".join(chunks))
        if type(received) is not list or len(received) != len(theirs) or any(type(r) is not bytes for r in received):
            return None
    except Exception:  # noqa: BLE001 - mapped again in order by the caller, which raises the first error as before
        return None
    finally:
        os.close(read_end)
        if not reaped:
            _stop(pid)
    merged: list[bytes] = [b""] * len(items)
    merged[0::2] = mine
    merged[1::2] = received
    return merged


def _stop(pid: int) -> None:
    """End and reap the child (the parent's share raised, or the parent was interrupted)."""
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
