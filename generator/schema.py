"""The JSON Schema of the config and the rows of its reference page, both read off the
model's declarations (never written by hand): each kind states itself (``Kind.schema``,
``type_name``, ``allowed``), this module only puts the pieces together.

``promotion schema`` prints the schema; ``config/agent_engine_envs.schema.json`` is a
checked-in copy (a test fails when it drifts) that editors use through the
``# yaml-language-server: $schema=...`` line at the top of the config.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import model
from .kinds import REQUIRED, Kind, Object


def _definitions(kind: Kind, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every named object kind inside ``kind``, in the order a reader meets them."""
    for child in kind.children():
        if isinstance(child, Object) and child.schema_name:
            if child.schema_name in found:
                continue
            found[child.schema_name] = child.definition()
        _definitions(child, found)
    return found


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the config file."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": model.SCHEMA_ID,
        "title": "Agent Engine promotion config",
    }
    root = model.Config.KIND
    schema.update(root.definition())
    schema["$defs"] = _definitions(root, {})
    return schema


def json_schema_text() -> str:
    """The schema as the checked-in file holds it: 2-space JSON with a final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def reference_rows() -> list[dict[str, str]]:
    """One row per key of the config (dotted path with `<name>` for map keys), for the docs:
    ``group`` is the top-level key it lives under ("" for a top-level key without keys of its
    own), ``anchor`` the heading id the reference page gives it."""
    entries = list(model.Config.KIND.entries(""))

    def top(path: str) -> str:
        return path.split(".")[0].removesuffix("[]")  # `links[].title` lives under `links`

    parents = {top(path) for path, _kind, _required in entries if "." in path}
    return [
        {
            "path": path,
            "group": top(path) if top(path) in parents else "",
            "anchor": re.sub(r"[^a-z0-9]+", "-", path.replace("[]", ".item").lower()).strip("-"),
            "type": kind.type_name,
            "required": required,
            "default": "" if kind.default is None or kind.default is REQUIRED else json.dumps(kind.default),
            "allowed": kind.allowed(),
            "description": kind.doc,
        }
        for path, kind, required in entries
    ]
