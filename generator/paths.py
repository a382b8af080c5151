"""Where the built-in templates live (kept apart from render.py so finding them does not import Jinja2)."""

from __future__ import annotations

from pathlib import Path


def builtin_templates_dir() -> Path:
    """``templates/`` beside the package (editable install) or inside it (wheel)."""
    here = Path(__file__).resolve().parent
    packaged = here / "templates"
    return packaged if packaged.is_dir() else here.parent / "templates"
