"""The one answer to "is the config right, and may we promote?": every rule, run once.

``promotion validate`` and ``generate`` (with the docs build's release gate) both call
``judge``; the CLI and the plugin only print what it returns.
"""

from __future__ import annotations

from . import rules
from .errors import ExitCode

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any

    from .model import Config


class Verdict:
    """What the rules found: every violation, the errors and warnings among them, the exit code
    they mean (1 the config is wrong, 2 a step is not ready), and how many rules ran."""

    __slots__ = ("violations", "errors", "warnings", "exit_code", "rules_checked")

    def __init__(self, violations: list[rules.Violation], rules_checked: int) -> None:
        self.violations = violations
        self.errors = rules.errors(violations)
        self.warnings = [v for v in violations if v.severity is rules.Severity.WARNING]
        self.exit_code: ExitCode = rules.exit_code(self.errors)
        self.rules_checked = rules_checked

    def raise_for(self) -> None:
        """InvalidConfig (exit 1) or NotReady (exit 2) when an error was found."""
        rules.raise_for(self.violations)


def judge(config: Config, steps: list[rules.Step], history: list[Any] | None) -> Verdict:
    """Every config rule, the step rule on each of ``steps``, and, with a ledger (``history``:
    its entry names, none when empty), the history rules."""
    history = history or None  # no ledger yet: nothing to compare
    ran = {rules.Scope.CONFIG} | ({rules.Scope.STEP} if steps else set()) | ({rules.Scope.HISTORY} if history else set())
    return Verdict(rules.run(config, steps, history), len([r for r in rules.RULES if r.scope in ran]))
