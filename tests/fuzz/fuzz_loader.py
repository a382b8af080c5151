"""Fuzz the config loader: any bytes either load or end in a ConfigError, nothing else.

    python tests/fuzz/fuzz_loader.py --seconds 60     (what `make fuzz` runs)

With atheris installed (``pip install -e '.[test]'`` on Linux) the run is coverage-guided
(libFuzzer), seeded with the bad-input corpus in ``tests/corpus/``. Without atheris,
Hypothesis generates random bytes and byte-level mutations of the corpus for the same
time. Either way, an input that crashes is written to ``tests/fuzz/crashes/`` and the run
exits 1. Keep every crash file there: ``tests/test_properties.py`` replays them all in the
normal test suite, so a fixed crash stays fixed.

A crash is anything but these outcomes (``check_input`` is the oracle):

- ``load_config_bytes`` raises ``ConfigError`` whose problems each carry a location,
  a message and a fix hint;
- or it returns a config; then the readiness rules run, and when they pass the pages
  and the CLAUDE.md section render (a ``PromotionError`` such as a refused template
  value is an answer, not a crash).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CRASHES = HERE / "crashes"
SEEDS = ROOT / "tests" / "corpus"
#: Inputs longer than this are cut: the loader's size limit is tested elsewhere, and
#: short inputs make the fuzzer fast.
MAX_LEN = 64 * 1024

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def check_input(data: bytes) -> None:
    """Run the loader (and, when it loads, the rules and the renderer) on ``data``.

    Returns quietly for every acceptable outcome; raises for a crash.
    """
    from generator import generate, markers, render
    from generator.errors import ConfigError, PromotionError
    from generator.loader import load_config_bytes

    try:
        config = load_config_bytes("fuzz.yaml", data)
    except ConfigError as error:
        problems = error.problems()
        assert problems, "ConfigError without problems"
        for problem in problems:
            assert problem.location.line >= 1 and problem.location.col >= 1, problem.format()
            assert problem.message.strip() and problem.hint.strip(), problem.format()
            problem.format()
        return
    try:
        violations = generate.check(config, [])
        env = render.make_environment()
        context = render.build_context(config, "fuzz.yaml", violations)
        render.render_pages(env, context)
        markers.update_section(None, render.render_claude_section(env, context), "fuzz.yaml")
    except PromotionError as error:
        assert error.problems() or str(error), "PromotionError without a message"


def seed_inputs() -> list[bytes]:
    """The corpus files and every crash kept so far."""
    paths = sorted(SEEDS.glob("*.yaml")) + sorted(SEEDS.glob("*.bin")) + crash_files()
    return [path.read_bytes()[:MAX_LEN] for path in paths]


def crash_files() -> list[Path]:
    return sorted(path for path in CRASHES.glob("crash-*") if path.is_file())


def save_crash(data: bytes) -> Path:
    CRASHES.mkdir(exist_ok=True)
    path = CRASHES / f"crash-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    return path


# --- atheris (libFuzzer) ------------------------------------------------------------------


def fuzz_with_atheris(seconds: int, extra: list[str]) -> int:
    import atheris

    with atheris.instrument_imports():
        import generator.loader  # noqa: F401 - instrumented for coverage
        import generator.model  # noqa: F401
        import generator.rules  # noqa: F401

    def one_input(data: bytes) -> None:
        check_input(data)

    CRASHES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fuzz-work-") as work:
        # libFuzzer adds the inputs it finds interesting to the first folder only: a
        # scratch one, so tests/corpus/ stays as written.
        for index, data in enumerate(seed_inputs()):
            Path(work, f"seed-{index}").write_bytes(data)
        argv = [
            sys.argv[0],
            f"-max_total_time={seconds}",
            f"-artifact_prefix={CRASHES}{os.sep}crash-",
            f"-max_len={MAX_LEN}",
            "-rss_limit_mb=2048",
            "-timeout=10",
            "-print_final_stats=1",
            *extra,
            work,
        ]
        atheris.Setup(argv, one_input)
        atheris.Fuzz()  # exits the process: 0 when the time is up, non-zero on a crash
    return 0


# --- Hypothesis (no atheris) --------------------------------------------------------------


def fuzz_with_hypothesis(seconds: int) -> int:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seeds = seed_inputs()

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data)))
            action = draw(st.sampled_from(["insert", "delete", "replace", "splice"]))
            if action == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
            elif action == "delete":
                del data[at : at + draw(st.integers(1, 64))]
            elif action == "replace":
                data[at : at + 1] = draw(st.sampled_from([b"\t", b"\x00", b"\r", b"\xc2\x85", b"\xef\xbb\xbf", b"&a ", b"*a", b"<<: ", b"!!", b"- ", b": ", b"{", b"[", b"'", b'"', b"#", b"\n  "]))
            else:
                other = draw(st.sampled_from(seeds))
                start = draw(st.integers(0, len(other)))
                data[at:at] = other[start : start + draw(st.integers(1, 200))]
        return bytes(data[:MAX_LEN])

    inputs = st.one_of(st.binary(max_size=2048), mutated())
    failing: list[bytes] = []

    @settings(max_examples=500, deadline=None, database=None, derandomize=False, suppress_health_check=list(HealthCheck))
    @given(inputs)
    def batch(data: bytes) -> None:
        try:
            check_input(data)
        except BaseException:
            failing.append(data)  # the last one recorded is Hypothesis' shrunk example
            raise

    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        try:
            batch()
        except Exception as exc:  # noqa: BLE001 - any failure is a crash to keep
            path = save_crash(failing[-1])
            print(f"crash: {exc!r}\nsaved as {_shown(path)}; keep it there (it becomes a regression test)", file=sys.stderr)
            return 1
        runs += 500
    print(f"fuzz (hypothesis): about {runs} inputs in {seconds} s, no crash", file=sys.stderr)
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto", help="atheris when installed (auto)")
    args, extra = parser.parse_known_args(argv)
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
        except ImportError:
            engine = "hypothesis"
        else:
            engine = "atheris"
    print(f"fuzzing the loader for {args.seconds} s with {engine}; crashes go to {_shown(CRASHES)}/", file=sys.stderr)
    if engine == "atheris":
        return fuzz_with_atheris(args.seconds, extra)
    return fuzz_with_hypothesis(args.seconds)


if __name__ == "__main__":
    sys.exit(main())
