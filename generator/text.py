"""Small wording helpers shared by the CLI's output and the templates (no heavy imports)."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 agent``, ``2 agents`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
