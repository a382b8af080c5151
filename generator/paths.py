"""Where the built-in templates and the ledger live, kept apart from the modules that read them:
finding the templates must not import Jinja2 (render.py), nor finding the ledger its reader (ledger.py)."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from .ledger import EntryName


def builtin_templates_dir() -> str:
    """``templates/`` beside the package (editable install) or inside it (wheel), as an
    absolute path with links resolved (no pathlib: the no-op generate fingerprints it)."""
    here = os.path.dirname(os.path.realpath(__file__))
    packaged = os.path.join(here, "templates")
    return packaged if os.path.isdir(packaged) else os.path.join(os.path.dirname(here), "templates")


#: The folder beside the config that holds the ledger's entries.
LEDGER_DIR_NAME = "ledger"


def ledger_dir(config_path: str | os.PathLike[str]) -> str:
    """The ledger folder of the config at ``config_path``: ``<its folder>/ledger``.

    A ``str``, not a ``Path``: ``validate`` reads the ledger, and importing ``pathlib``
    (with ``urllib.parse`` and ``ipaddress``) costs ~4 ms of every such run."""
    return os.path.join(os.path.dirname(os.fspath(config_path)), LEDGER_DIR_NAME)


def ledger_names(folder: str) -> list[EntryName]:
    """``ledger.scan(folder)``: every entry's name, oldest first. With no folder there is no
    ledger yet, and the ledger's reader is not imported (~0.5-1 ms of a ``validate`` or a
    no-op ``generate``, which run on every commit)."""
    if not os.path.lexists(folder):
        return []
    from .ledger import scan

    return scan(folder)
