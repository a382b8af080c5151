"""The benchmark's verdicts (tests/bench/bench.py): how a budget is judged, not how fast we are."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "bench"))
try:
    import bench
finally:
    sys.path.pop(0)


def builds(plain: float, plugin: float) -> list[bench.Step]:
    """The two mkdocs builds at 1,000 agents, each measured three times at the given seconds."""
    steps = []
    for name, seconds, baseline in (("mkdocs build, no plugin", plain, None), ("mkdocs build, plugin", plugin, "mkdocs build, no plugin")):
        step = bench.Step(1000, "placeholder", name, baseline, [], Path())
        step.times, step.peaks = [seconds] * 3, [100.0] * 3
        steps.append(step)
    return steps


def seconds_row(plain: float, plugin: float) -> dict[str, object]:
    (row,) = [r for r in bench.results(builds(plain, plugin)) if r["step"] == "mkdocs build, plugin: seconds"]
    return row


@pytest.mark.parametrize(
    ("plain", "plugin", "ok", "noted"),
    [
        (6.0, 6.2, True, False),  # within 10 s
        (9.0, 10.5, False, False),  # over, and mkdocs-material alone is not
        (22.0, 22.9, True, True),  # over, but so is mkdocs-material alone, and the plugin adds 4%
        (22.0, 23.5, False, True),  # over, and the plugin adds 7%: more than its 5%
    ],
)
def test_the_build_time_budget_takes_the_issues_alternative_only_when_mkdocs_material_alone_is_over(plain: float, plugin: float, ok: bool, noted: bool) -> None:
    row = seconds_row(plain, plugin)
    assert row["ok"] is ok
    assert ("note" in row) is noted
    if noted:
        assert f"without the plugin {plain:.1f} s" in str(row["note"]) and "mkdocs-material's own cost" in str(row["note"])
        assert f"{plugin / plain - 1:+.1%}" in str(row["note"])
    assert ("*" in bench.table([row])) is noted


def test_a_ratio_compares_each_round_with_its_baseline_in_the_same_round() -> None:
    """The machine slows down over the run: each round's ratio is 2.0 (twice as slow as the
    floor of that round), while the two medians, taken from different rounds, say 1.67."""
    floor = bench.Step(1000, "deployed", "floor", None, [], Path())
    generate = bench.Step(1000, "deployed", "generate", "floor", [], Path())
    floor.times, generate.times = [0.5, 0.9, 1.0], [1.0, 1.8, 2.0]
    floor.peaks = generate.peaks = [40.0] * 3
    (row,) = [r for r in bench.results([floor, generate]) if r["step"] == "generate"]
    assert row["ratio"] == 2.0 and row["ok"] is True
    generate.times = [1.0, 2.5, 2.2]  # rounds 2 and 3 over 2.0x the floor: over, whatever the medians say
    (row,) = [r for r in bench.results([floor, generate]) if r["step"] == "generate"]
    assert row["ratio"] == 2.2 and row["ok"] is False


def test_quick_steps_run_more_rounds_and_the_large_ones_fewer_unless_the_rounds_are_given(tmp_path: Path) -> None:
    def step(size: int | str, name: str, first: float) -> bench.Step:
        s = bench.Step(size, "deployed", name, None, ["true"], tmp_path)
        s.times.append(first)
        return s

    quick, slow = step(1000, "validate", 0.25), step(1000, "generate", 0.7)
    large, build = step(bench.LARGE, "validate", 1.8), step(bench.MKDOCS_LARGE, "mkdocs build, plugin", 30.0)
    assert [bench.runs_for(s, 7, explicit=False) for s in (quick, slow, large, build)] == [bench.QUICK_RUNS, 7, bench.LARGE_RUNS, bench.MKDOCS_RUNS]
    assert [bench.runs_for(s, 5, explicit=True) for s in (quick, slow, large, build)] == [5, 5, 5, 5]
    assert bench.runs_for(bench.Step(10, "deployed", "validate", None, ["true"], tmp_path), 7, explicit=False) == 7  # before its first round
