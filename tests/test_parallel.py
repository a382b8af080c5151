"""The one fork generate makes (generator/parallel.py): the serial result, whatever happens."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT

from generator import parallel

ITEMS = list(range(parallel.MIN_ITEMS + 11))


def pid_and_item(item: int) -> bytes:
    return f"{os.getpid()}:{item}".encode()


def test_two_processes_give_the_serial_result_in_order() -> None:
    got = parallel.map_bytes(pid_and_item, ITEMS, processes=2)
    assert [g.split(b":")[1] for g in got] == [str(i).encode() for i in ITEMS]
    pids = {g.split(b":")[0] for g in got}
    assert len(pids) == 2 and str(os.getpid()).encode() in pids  # every second item came from the child


@pytest.mark.parametrize(("processes", "items"), [(1, ITEMS), (2, ITEMS[: parallel.MIN_ITEMS - 1])])
def test_one_process_or_few_items_never_fork(processes: int, items: list[int]) -> None:
    got = parallel.map_bytes(pid_and_item, items, processes=processes)
    assert {g.split(b":")[0] for g in got} == {str(os.getpid()).encode()}


def test_a_running_thread_stops_the_fork() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        got = parallel.map_bytes(pid_and_item, ITEMS, processes=2)
    finally:
        stop.set()
        thread.join()
    assert {g.split(b":")[0] for g in got} == {str(os.getpid()).encode()}


@pytest.mark.parametrize("failing", [{7, 20}, {20, 7}, {8}, {9}], ids=["child-first", "child-first-again", "parent-only", "child-only"])
def test_an_error_is_the_serial_error(failing: set[int]) -> None:
    # whichever process meets it, the first failing item in order raises, in this process
    def func(item: int) -> bytes:
        if item in failing:
            raise ValueError(f"item {item}")
        return b"x"

    with pytest.raises(ValueError) as excinfo:
        parallel.map_bytes(func, ITEMS, processes=2)
    assert str(excinfo.value) == f"item {min(failing)}"


def test_a_child_that_dies_is_replaced_by_the_serial_map() -> None:
    parent = os.getpid()

    def func(item: int) -> bytes:
        if os.getpid() != parent:
            os._exit(3)  # a child killed mid-map: no reply
        return str(item).encode()

    assert parallel.map_bytes(func, ITEMS, processes=2) == [str(i).encode() for i in ITEMS]


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
