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


def builds(plain: float, plugin: float, inside: float | None = None, size: int = 1000) -> list[bench.Step]:
    """The two mkdocs builds, each measured three times at the given seconds; ``inside``: the
    seconds the plugin build spent in the plugin (counted in that build), if known."""
    steps = []
    for name, seconds, baseline in (("mkdocs build, no plugin", plain, None), ("mkdocs build, plugin", plugin, "mkdocs build, no plugin")):
        step = bench.Step(size, "placeholder", name, baseline, [], Path())
        step.times, step.peaks = [seconds] * 3, [100.0] * 3
        steps.append(step)
    if inside is not None:
        steps[1].inside = [inside] * 3
    return steps


def row_of(steps: list[bench.Step], name: str) -> dict[str, object]:
    (row,) = [r for r in bench.results(steps) if r["step"] == name]
    return row


def seconds_row(plain: float, plugin: float) -> dict[str, object]:
    return row_of(builds(plain, plugin), "mkdocs build, plugin: seconds")


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


def test_at_1000_agents_the_plugins_share_of_its_own_build_decides_and_the_whole_build_pairs_are_shown() -> None:
    """Whole builds 10% apart (one slow build), of which 0.3 s of 33 s was spent in the
    plugin: the pairs are shown unjudged, the share (+0.9%) decides, the seconds row too."""
    steps = builds(30.0, 33.0, inside=0.3)
    pairs = row_of(steps, "mkdocs build, plugin")
    assert pairs["ratio"] == 1.1 and pairs["budget"] is None and pairs["ok"] is None
    assert "not judged" in str(pairs["note"]) and "decides its 5%" in str(pairs["note"])
    share = row_of(steps, "mkdocs build, plugin: its share")
    assert share["ratio"] == round(33.0 / 32.7, 3) and share["budget"] == 1.05 and share["ok"] is True
    seconds = row_of(steps, "mkdocs build, plugin: seconds")
    assert seconds["ok"] is True and "the plugin adds +0.9%" in str(seconds["note"])
    over = builds(30.0, 30.5, inside=2.0)  # pairs 1.7% apart, but 2 s of 30.5 were the plugin's: +7%
    assert row_of(over, "mkdocs build, plugin: its share")["ok"] is False
    assert row_of(over, "mkdocs build, plugin: seconds")["ok"] is False


def test_at_100_agents_the_whole_build_pairs_are_held_to_a_guard_and_the_share_decides() -> None:
    steps = builds(4.0, 4.4, inside=0.05, size=100)  # 10% apart (within this host's noise), though the plugin took 1%
    pairs = row_of(steps, "mkdocs build, plugin")
    assert pairs["budget"] == bench.PAIRS_GUARD and pairs["ok"] is True and "held to 1.15x" in str(pairs["note"])
    assert row_of(steps, "mkdocs build, plugin: its share")["ok"] is True
    worse = builds(4.0, 4.8, inside=0.05, size=100)  # 20% apart: more than the noise, whatever the share says
    assert row_of(worse, "mkdocs build, plugin")["ok"] is False


def test_the_no_op_with_a_ledger_is_judged_as_the_no_op() -> None:
    validate = bench.Step(1000, "deployed", f"validate, {bench.LEDGER}", "validate", [], Path())
    noop = bench.Step(1000, "deployed", f"generate (no-op), {bench.LEDGER}", f"validate, {bench.LEDGER}", [], Path())
    validate.times, noop.times = [0.30] * 3, [0.36] * 3
    validate.peaks = noop.peaks = [40.0] * 3
    row = row_of([validate, noop], noop.name)
    assert row["budget"] == 1.1 and row["ratio"] == 1.2 and row["ok"] is False


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


def test_quick_steps_close_pairs_and_deciding_builds_run_more_rounds_the_big_builds_fewer_unless_the_rounds_are_given(tmp_path: Path) -> None:
    def step(size: int | str, name: str, first: float) -> bench.Step:
        s = bench.Step(size, "deployed", name, None, ["true"], tmp_path)
        s.times.append(first)
        return s

    quick, slow = step(1000, "validate", 0.25), step(1000, "record", 0.7)
    large, build = step(bench.LARGE, "record", 7.0), step(1000, "mkdocs build, plugin", 30.0)
    close = [step(bench.LARGE, name, 1.8) for name in ("validate", "generate (no-op)")]  # judged against each other at 1.1x
    pairs = step(bench.PAIRS_GUARDED[0], "mkdocs build, plugin", 3.8)  # whole-build pairs are held to a guard there
    steps = (quick, slow, large, build, *close, pairs)
    assert [bench.runs_for(s, 7, explicit=False) for s in steps] == [bench.QUICK_RUNS, 7, 7, bench.MKDOCS_RUNS, bench.LARGE_CLOSE_RUNS, bench.LARGE_CLOSE_RUNS, bench.PAIRS_RUNS]
    assert [bench.runs_for(s, 5, explicit=True) for s in steps] == [5] * 7
    assert bench.runs_for(bench.Step(10, "deployed", "validate", None, ["true"], tmp_path), 7, explicit=False) == 7  # before its first round
    growth = [step(size, name, 0.7 if size == 1000 else 6.0) for size in (1000, bench.LARGE) for name in bench.GROWTH_CLOSE]  # close to their 10x growth
    assert [bench.runs_for(s, 7, explicit=False) for s in growth] == [bench.LARGE_CLOSE_RUNS] * 6
    assert bench.runs_for(step(100, "generate", 0.7), 7, explicit=False) == 7  # its growth is not judged


@pytest.mark.slow
def test_the_timed_build_counts_the_plugins_time_and_only_in_the_plugin_build(tmp_path: Path) -> None:
    """``mkdocs_timed.py`` with a real mkdocs build of the placeholder fixture: the plugin
    build reports its calls and seconds (a part of the build's own), the plain one nothing."""
    import json
    import shutil
    import subprocess
    import time

    from site_helpers import mkdocs_env

    (tmp_path / "config.yaml").write_bytes((ROOT / "tests" / "fixtures" / "placeholders.yaml").read_bytes())
    shutil.copytree(ROOT / "site-docs" / "assets", tmp_path / "site-docs" / "assets")  # as bench.mkdocs_steps does
    (tmp_path / "site-docs" / "index.md").write_text("# Runbook\n", encoding="utf-8")
    (tmp_path / "plugin.yml").write_text(bench._mkdocs_yml(True, None), encoding="utf-8")
    (tmp_path / "plain.yml").write_text(bench._mkdocs_yml(False, None), encoding="utf-8")
    report = tmp_path / "report.json"
    for config, plugin in (("plain.yml", []), ("plugin.yml", ["--plugin"])):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, bench.TIMED_MKDOCS, str(report), *plugin, "build", "-q", "-f", config, "-d", str(tmp_path / f"site-{config}")], cwd=tmp_path, env=mkdocs_env(), capture_output=True, text=True)
        wall = time.perf_counter() - start
        assert done.returncode == 0, done.stderr
        if not plugin:
            assert not report.exists()
            assert not (tmp_path / "site-docs" / "matrix.md").exists()  # the plain build generated nothing
    counted = json.loads(report.read_text(encoding="utf-8"))
    assert (tmp_path / "site-docs" / "matrix.md").exists()  # the plugin generated the pages
    assert counted["calls"] > 2  # on_config, and the page hooks of every page
    assert 0 < counted["import_s"] + counted["inside_s"] < wall


def test_a_quick_step_that_writes_nothing_is_sampled_as_the_mean_of_a_batch_of_launches(tmp_path: Path) -> None:
    """Real launches through the bench's launcher: a ~20 ms process is launched once in the
    first round, then ``BATCH_S`` worth of times a sample; a step with a ``prepare`` (it
    writes: each launch needs its own folder) never is."""
    bench.LAUNCH = bench.Launcher(tmp_path)
    try:
        quick = bench.Step(10, "deployed", "validate", None, [sys.executable, "-S", "-c", "pass"], tmp_path)
        writes = bench.Step(10, "deployed", "generate", None, [sys.executable, "-S", "-c", "pass"], tmp_path)
        writes.prepare = lambda: None
        launches = {"quick": 0, "writes": 0}
        quick.verify = lambda stdout: launches.__setitem__("quick", launches["quick"] + 1)
        writes.verify = lambda stdout: launches.__setitem__("writes", launches["writes"] + 1)
        for step in (quick, writes, quick, writes):
            step.run()
    finally:
        bench.LAUNCH.close()
        bench.LAUNCH = None
    assert quick.batch == min(bench.BATCH_MAX, max(1, round(bench.BATCH_S / quick.times[0]))) > 1
    assert launches == {"quick": 1 + quick.batch, "writes": 2} and writes.batch == 1
    assert len(quick.times) == len(quick.peaks) == 2


def test_a_round_runs_each_size_right_after_the_size_before_it_of_the_same_variant_and_every_step_beside_its_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The growth budgets compare a step at one size with the same step at the size before
    it: the two run in neighbouring blocks of the round, the mkdocs builds after them all."""
    monkeypatch.setattr(bench, "MKDOCS_SIZES", (20,))
    monkeypatch.setattr(bench, "LEDGER_SIZES", (20,))
    monkeypatch.setattr(bench, "LEDGER_ENTRIES", 3)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(bench, "LAUNCH", bench.Launcher(scratch))
    try:
        steps = bench.build_steps(tmp_path, [10, 20], mkdocs=True)
    finally:
        bench.LAUNCH.close()
    blocks = []  # (size, variant) of each run of steps outside the shipped ones and the builds
    for s in steps:
        if s.size != "shipped" and not s.name.startswith("mkdocs") and (not blocks or blocks[-1] != (s.size, s.variant)):
            blocks.append((s.size, s.variant))
    assert blocks == [(10, "placeholder"), (20, "placeholder"), (10, "deployed"), (20, "deployed")]
    first_build = next(at for at, s in enumerate(steps) if s.name.startswith("mkdocs"))
    assert first_build > 3 and all(s.name.startswith("mkdocs") for s in steps[first_build:])
    assert len(steps) - first_build == 4  # the placeholder builds and the ledger project's builds
    at = {(s.size, s.variant, s.name): i for i, s in enumerate(steps)}
    for i, s in enumerate(steps):
        if s.baseline is not None and not s.name.startswith("mkdocs"):
            assert 0 < abs(i - at[(s.size, s.variant, s.baseline)]) <= 7, s.name  # its block, or the ledger steps right after it
    for name in ("generate", "validate", "generate --check", "record"):
        for variant in ("placeholder", "deployed"):
            block = 7 + (3 if variant == "deployed" else 0)  # a block's steps, and the ledger project's beside the deployed one
            assert at[(20, variant, name)] - at[(10, variant, name)] <= block
