"""The one fork generate makes (generator/parallel.py): the serial result, whatever happens."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

from generator import parallel

ITEMS = list(range(parallel.MIN_ITEMS + 11))

# The fork is only made in a process with no other thread, and this test process has some
# (the site tests' servers, Playwright): each case that needs the fork runs in a fresh
# interpreter and prints what it found.
PRELUDE = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from generator import parallel
ITEMS = list(range(parallel.MIN_ITEMS + 11))
PARENT = os.getpid()
"""


def isolated(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def pid_and_item(item: int) -> bytes:
    return f"{os.getpid()}:{item}".encode()


def test_two_processes_give_the_serial_result_in_order() -> None:
    out = isolated("""
        import time
        def func(item):
            time.sleep(0.0005)  # long enough for the child to start before the parent is done
            return f"{os.getpid()}:{item}".encode()
        got = parallel.map_bytes(func, ITEMS, processes=2)
        items_in_order = [int(g.split(b":")[1]) for g in got] == ITEMS
        pids = [g.split(b":")[0] for g in got]
        child_took_the_front = pids[0] != str(PARENT).encode() and pids[-1] == str(PARENT).encode()
        print(items_in_order, len(set(pids)), child_took_the_front)
    """)
    assert out == ["True", "2", "True"]


def test_the_split_follows_what_the_items_cost() -> None:
    # The first ten items cost forty times what the others do (the step pages come first):
    # the child, which maps from the front, takes far fewer items than the parent.
    out = isolated("""
        import time
        def func(item):
            time.sleep(0.02 if item < 10 else 0.0005)
            return f"{os.getpid()}:{item}".encode()
        got = parallel.map_bytes(func, ITEMS, processes=2)
        by_child = sum(1 for g in got if g.split(b":")[0] != str(PARENT).encode())
        print([int(g.split(b":")[1]) for g in got] == ITEMS, 10 <= by_child < len(ITEMS) // 3)
    """)
    assert out == ["True", "True"]


def test_without_memfd_the_map_is_serial() -> None:
    out = isolated("""
        del os.memfd_create
        got = parallel.map_bytes(lambda item: str(os.getpid()).encode(), ITEMS, processes=2)
        print(set(got) == {str(PARENT).encode()})
    """)
    assert out == ["True"]


@pytest.mark.parametrize("low", [3, 5, 8])
def test_merged_takes_the_parents_results_where_the_two_overlap_and_fills_a_gap(low: int) -> None:
    items = list(range(10))
    func = str.encode  # type: ignore[assignment]
    front = [b"c%d" % i for i in range(5)]  # the child mapped items 0-4
    back = [b"p%d" % i for i in range(low, 10)]  # the parent mapped items low-9
    between = [str(i) for i in items[len(front) : low]]  # neither took these: mapped by the merge
    got = parallel._merged(front, low, back, between, func)
    assert len(got) == 10
    assert got[:min(low, 5)] == front[:low]
    assert got[5:low] == [str(i).encode() for i in range(5, low)]
    assert got[low:] == back


@pytest.mark.parametrize(("processes", "items"), [(1, ITEMS), (2, ITEMS[: parallel.MIN_ITEMS - 1])])
def test_one_process_or_few_items_never_fork(processes: int, items: list[int]) -> None:
    got = parallel.map_bytes(pid_and_item, items, processes=processes)
    assert {g.split(b":")[0] for g in got} == {str(os.getpid()).encode()}


def test_a_running_thread_stops_the_fork() -> None:
    out = isolated("""
        import threading
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        got = parallel.map_bytes(lambda item: str(os.getpid()).encode(), ITEMS, processes=2)
        stop.set()
        thread.join()
        print(set(got) == {str(PARENT).encode()})
    """)
    assert out == ["True"]


@pytest.mark.parametrize("failing", [[7, 20], [8], [len(ITEMS) - 2]], ids=["two", "one-at-the-front", "one-at-the-back"])
def test_an_error_is_the_serial_error(failing: list[int]) -> None:
    # whichever process meets it, the first failing item in order raises, in this process
    out = isolated(f"""
        def func(item):
            if item in {failing!r}:
                raise ValueError(f"item-{{item}}-in-{{'parent' if os.getpid() == PARENT else 'child'}}")
            return b"x"
        try:
            parallel.map_bytes(func, ITEMS, processes=2)
        except ValueError as error:
            print(error)
    """)
    assert out == [f"item-{min(failing)}-in-parent"]


def test_a_child_that_dies_is_replaced_by_the_serial_map() -> None:
    out = isolated("""
        def func(item):
            if os.getpid() != PARENT:
                os._exit(3)  # a child killed mid-map: no reply
            return str(item).encode()
        print(parallel.map_bytes(func, ITEMS, processes=2) == [str(i).encode() for i in ITEMS])
    """)
    assert out == ["True"]


def test_workers_reads_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "1")
    assert parallel.workers() == 1
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "8")
    assert parallel.workers() == 2
    monkeypatch.delenv(parallel.WORKERS_VARIABLE)
    assert parallel.workers() == min(2, len(os.sched_getaffinity(0)))


def test_generate_writes_the_same_bytes_on_one_process_and_on_two(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    agents = parallel.MIN_ITEMS // 2 + 5  # two pages per agent: above the fork's threshold
    (tmp_path / "config.yaml").write_text(bench.synthetic_config(agents, deployed=True), encoding="utf-8")
    promotion = str(Path(sys.executable).with_name("promotion"))
    outputs = {}
    for workers in ("1", "2"):
        env = {**os.environ, parallel.WORKERS_VARIABLE: workers}
        out = tmp_path / f"out-{workers}"
        done = subprocess.run([promotion, "--config", "config.yaml", "generate", "--no-claude-md", "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs[workers] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.md"))}
    assert len(outputs["1"]) >= parallel.MIN_ITEMS
    assert outputs["1"] == outputs["2"]
