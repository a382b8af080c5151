"""The JSON Schema of the config, produced from the model's specs (never written by hand).

``promotion schema`` prints it; ``config/agent_engine_envs.schema.json`` is a checked-in
copy (a test fails when it drifts) that editors use through the
``# yaml-language-server: $schema=...`` line at the top of the config.
"""

from __future__ import annotations

import json
from typing import Any

from . import model
from .model import Spec

_DEFS = {
    id(model.ENVIRONMENT_SPEC): "environment",
    id(model.AGENT_SPEC): "agent",
    id(model.AGENT_ENV_SPEC): "agentEnvironment",
    id(model.PROMOTION_SPEC): "promotion",
    id(model.CHECK_SPEC): "check",
}


def _object(spec: Spec) -> dict[str, Any]:
    return {
        "type": "object",
        "description": spec.doc,
        "additionalProperties": False,
        "required": [f.name for f in spec.fields if f.required],
        "properties": {f.name: _field(f) for f in spec.fields},
    }


def _field(field: model.Field) -> dict[str, Any]:
    schema = _spec(field.spec)
    if field.default is not None:
        schema["default"] = field.default
    return schema


def _spec(spec: Spec, inline: bool = False) -> dict[str, Any]:
    name = _DEFS.get(id(spec))
    if name is not None and not inline:
        return {"$ref": f"#/$defs/{name}"}
    kind = spec.kind
    if kind == "str":
        out: dict[str, Any] = {"type": "string", "minLength": 1, "description": spec.doc}
        if spec.enum is not None:
            out["enum"] = list(spec.enum)
        if spec.pattern is not None:
            out["pattern"] = spec.pattern
        return out
    if kind == "bool":
        return {"type": "boolean", "description": spec.doc}
    if kind == "date":
        return {"type": "string", "format": "date", "description": spec.doc}
    if kind == "object":
        return _object(spec)
    if kind == "check":
        return {"description": spec.doc, "oneOf": [{"type": "string", "minLength": 1}, _object(spec)]}
    if kind == "map":
        assert spec.values is not None
        return {
            "type": "object",
            "description": spec.doc,
            "minProperties": spec.min_items,
            "propertyNames": {"pattern": spec.key_pattern or model.IDENTIFIER_PATTERN, "not": {"enum": sorted(model.RESERVED_NAMES)}},
            "additionalProperties": _spec(spec.values),
        }
    if kind == "list":
        assert spec.items is not None
        return {"type": "array", "description": spec.doc, "items": _spec(spec.items)}
    raise AssertionError(f"unknown spec kind {kind}")


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the config file."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": model.SCHEMA_ID,
        "title": "Agent Engine promotion config",
    }
    schema.update(_object(model.CONFIG_SPEC))
    schema["$defs"] = {
        name: _spec(spec, inline=True)
        for spec, name in (
            (model.ENVIRONMENT_SPEC, "environment"),
            (model.AGENT_SPEC, "agent"),
            (model.AGENT_ENV_SPEC, "agentEnvironment"),
            (model.PROMOTION_SPEC, "promotion"),
            (model.CHECK_SPEC, "check"),
        )
    }
    return schema


def json_schema_text() -> str:
    """The schema as the checked-in file holds it: 2-space JSON with a final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def reference_rows() -> list[dict[str, str]]:
    """One row per key of the config (dotted path with `<name>` for map keys), for the docs."""
    rows: list[dict[str, str]] = []

    def walk(spec: Spec, prefix: str) -> None:
        for field in spec.fields:
            path = f"{prefix}.{field.name}" if prefix else field.name
            sub = field.spec
            type_name = {"str": "string", "bool": "boolean", "date": "date", "map": "mapping", "list": "list", "object": "mapping"}[sub.kind]
            allowed = ""
            if sub.enum is not None:
                allowed = " | ".join(sub.enum)
            elif sub.pattern is not None:
                allowed = sub.pattern
            rows.append(
                {
                    "path": path,
                    "type": type_name,
                    "required": "yes" if field.required else "no",
                    "default": "" if field.default is None else json.dumps(field.default),
                    "allowed": allowed,
                    "description": sub.doc,
                }
            )
            if sub.kind == "map" and sub.values is not None:
                key = sub.key_doc if sub.key_doc.startswith("<") else f"<{sub.key_doc}>"
                walk(sub.values, f"{path}.{key}")
            elif sub.kind == "list" and sub.items is not None:
                item_path = f"{path}[]"
                rows.append({"path": item_path, "type": "string or mapping", "required": "", "default": "", "allowed": "", "description": sub.items.doc})
                walk(sub.items, item_path)
            elif sub.kind == "object":
                walk(sub, path)

    walk(model.CONFIG_SPEC, "")
    return rows
