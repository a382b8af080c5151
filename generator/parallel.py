"""Map a pure function over many items on two cores: the one fork ``generate`` makes.

Rendering is most of what ``generate`` costs, each page depends only on the context built
before it, and the machines this runs on (laptops, CI runners) have a second core that
would sit idle. So a process that owns its interpreter (the CLI; never the mkdocs plugin,
whose ``mkdocs serve`` runs threads: a fork copies a lock another thread holds) forks once
after the context is built. The child maps items from the front and the parent from the
back until they meet (see ``_split``); the child hands its results (bytes) back in a file
in memory (``memfd``).

The result is the serial result by construction: anything unusual (no ``fork`` or
``memfd``, one core, few items, another thread running, the child failing or sending a short
or garbled reply, the parent's share raising) throws the attempt away and maps every item in
order in this process, so an error is raised for the same item, with the same message, as
without this module. The child writes no file on disk and prints nothing: it leaves with
``os._exit``.
"""

from __future__ import annotations

import os
import sys

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
#: The shared file's head: the child's and the parent's count, 8 bytes each.
_HEADER = 16


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
    return hasattr(os, "memfd_create") and single_threaded()


def single_threaded() -> bool:
    """True when this process may fork: it can, and no other thread runs (a fork copies a
    lock another thread holds). Without ``threading`` imported no thread was started through
    it, and importing it only to ask would cost ~1 ms of a small run."""
    threading = sys.modules.get("threading")
    return hasattr(os, "fork") and (threading is None or threading.active_count() == 1)


def _split(func: Callable[[T], bytes], items: Sequence[T]) -> list[bytes] | None:
    """The map shared with a forked child; None when anything went wrong.

    The child maps items from the front and the parent from the back until they meet, each
    publishing how far it got before it maps an item: the split follows what the items cost
    (a step page costs what a hundred agent pages do) and how busy each core is, where a
    fixed split leaves one side waiting. Where the two meet an item may be mapped twice (the
    same bytes: ``func`` is pure); an item neither took is mapped by the parent afterwards,
    so the result never depends on how the two raced.

    Both live in one file in memory (``memfd``): the two counts in its first 16 bytes, mapped
    by both processes, then the child's results, which the parent reads once the child has
    left (a pipe would hand 5 MB over in 64 KiB turns, ~40 ms on a busy VM).
    """
    import marshal
    import mmap

    count = len(items)
    try:
        fd = os.memfd_create("promotion-map", os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        os.ftruncate(fd, _HEADER)
        shared = mmap.mmap(fd, _HEADER)
    except OSError:
        os.close(fd)
        return None
    reach = memoryview(shared).cast("q")  # [0]: the child's next item; [1]: the parent's lowest taken
    reach[0], reach[1] = 0, count
    try:
        pid = os.fork()
    except OSError:
        pid = -1
    if pid == 0:  # the child: map, send, leave without running any of the parent's exit code
        code = 1
        try:
            theirs = []
            for at in range(count):
                if at >= reach[1]:
                    break
                reach[0] = at + 1
                theirs.append(func(items[at]))
            view = memoryview(marshal.dumps(theirs))
            offset = _HEADER
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
            code = 0
        finally:
            os._exit(code)
    reaped = pid < 0
    try:
        if pid < 0:
            return None
        mine = []
        low = count
        while low - 1 >= reach[0]:
            low -= 1
            reach[1] = low
            mine.append(func(items[low]))
        reaped = True
        if os.waitpid(pid, 0)[1] != 0:
            return None
        size, reply = os.fstat(fd).st_size - _HEADER, b""
        while len(reply) < size and (chunk := os.pread(fd, size - len(reply), _HEADER + len(reply))):
            reply += chunk
        received = marshal.loads(reply)
        if type(received) is not list or len(received) > count or any(type(r) is not bytes for r in received):
            return None
        mine.reverse()
        return _merged(received, low, mine, [items[at] for at in range(len(received), low)], func)
    except Exception:  # noqa: BLE001 - mapped again in order by the caller, which raises the first error as before
        return None
    finally:
        reach.release()
        shared.close()
        os.close(fd)
        if not reaped:
            stop(pid)


def _merged(front: list[bytes], low: int, back: list[bytes], between: Sequence[T], func: Callable[[T], bytes]) -> list[bytes]:
    """The child's results for the first items, the parent's for every item from ``low`` on:
    where the two overlap, the parent's (the same bytes); the items ``between`` them, when
    neither took them (the two lost sight of each other), mapped here."""
    return front[:low] + [func(item) for item in between] + back


def stop(pid: int) -> None:
    """End and reap a forked child (its parent's work raised, or it was interrupted)."""
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
