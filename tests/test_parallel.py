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
        got = parallel.map_bytes(lambda item: f"{os.getpid()}:{item}".encode(), ITEMS, processes=2)
        items_in_order = [int(g.split(b":")[1]) for g in got] == ITEMS
        pids = {g.split(b":")[0] for g in got}
        print(items_in_order, len(pids), str(PARENT).encode() in pids)
    """)
    assert out == ["True", "2", "True"]  # every second item came from the child


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


@pytest.mark.parametrize("failing", [[7, 20], [8], [9]], ids=["child-first", "parent-only", "child-only"])
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
