"""Where the built-in templates live (kept apart from render.py so finding them does not import Jinja2)."""

from __future__ import annotations

import os


def builtin_templates_dir() -> str:
    """``templates/`` beside the package (editable install) or inside it (wheel), as an
    absolute path with links resolved (no pathlib: the no-op generate fingerprints it)."""
    here = os.path.dirname(os.path.realpath(__file__))
    packaged = os.path.join(here, "templates")
    return packaged if os.path.isdir(packaged) else os.path.join(os.path.dirname(here), "templates")
