"""``mkdocs`` as its console script runs it, with the time spent in our plugin counted.

Usage: ``python mkdocs_timed.py REPORT [--plugin] <mkdocs arguments>``. Both builds of the
benchmark's pair run through this file, so they start the same way. With ``--plugin``, before
mkdocs starts, it imports what every build imports (mkdocs, Markdown, Jinja2, PyYAML), then
times the import of ``generator.plugin`` (what the plugin's entry point adds), and wraps every
method ``PromotionPlugin`` defines so the time inside them is counted (nested calls once). At
exit it writes ``{"import_s": ..., "inside_s": ..., "calls": ...}`` to REPORT.

Why (tests/bench/RESULTS.md): at 1,000 agents a build takes ~30 s, and the same build's CPU
time alone varies from 26 to 34 s from one run to the next on this host. Whole builds with and
without the plugin cannot tell 5% apart in the rounds a benchmark can afford; the plugin's
share of the same build can, since a slow spell of the machine slows both parts alike. What
it leaves out (the pages' content the plugin changes, memory it keeps for the rest of the
build) is what the whole-build pairs are still measured for.
"""

from __future__ import annotations

import atexit
import functools
import json
import sys
import time
import types
from typing import Any


def _count(report: str) -> None:
    import jinja2  # noqa: F401  # what every build imports anyway, so it is not counted as ours
    import markdown  # noqa: F401
    import mkdocs.commands.build  # noqa: F401
    import mkdocs.config.defaults  # noqa: F401
    import mkdocs.plugins  # noqa: F401
    import yaml  # noqa: F401

    totals: dict[str, Any] = {"import_s": 0.0, "inside_s": 0.0, "calls": 0}
    start = time.perf_counter()
    from generator.plugin import PromotionPlugin

    totals["import_s"] = time.perf_counter() - start
    depth = [0]

    def timed(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return method(*args, **kwargs)
            depth[0] += 1
            began = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                totals["inside_s"] += time.perf_counter() - began
                totals["calls"] += 1
                depth[0] -= 1

        return wrapper

    for name, value in list(vars(PromotionPlugin).items()):  # ours, not mkdocs' BasePlugin's
        if isinstance(value, types.FunctionType):
            setattr(PromotionPlugin, name, timed(value))

    def write() -> None:
        with open(report, "w", encoding="utf-8") as handle:
            json.dump(totals, handle)

    atexit.register(write)


def main() -> None:
    report, args = sys.argv[1], sys.argv[2:]
    if args[:1] == ["--plugin"]:
        args = args[1:]
        _count(report)
    from mkdocs.__main__ import cli

    sys.argv = ["mkdocs", *args]
    sys.exit(cli())


if __name__ == "__main__":
    main()
