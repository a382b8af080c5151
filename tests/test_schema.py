"""The JSON Schema: generated from the model, checked in, and in agreement with the loader.

``jsonschema`` is not a dependency, so ``schema_errors`` below is a small structural
checker for the keywords our schema uses; ``test_schema_uses_only_checked_keywords`` fails
if the schema grows a keyword the checker would silently ignore.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEPLOYED_FIXTURE, FOUR_ENVS_FIXTURE, PLACEHOLDER_FIXTURE, SCHEMA_FILE, SEED_FIXTURE, WriteConfig, mutate, set_env_field

from generator.errors import ConfigError
from generator.loader import load_config
from generator.schema import json_schema, json_schema_text

REGENERATE = ".venv/bin/promotion schema > config/agent_engine_envs.schema.json"
MODELINE = "# yaml-language-server: $schema="
CHECKED_KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "default",  # annotations and references
    "type", "enum", "pattern", "minLength", "format",
    "required", "properties", "additionalProperties", "minProperties", "propertyNames",
    "items", "oneOf", "not",
}  # fmt: skip
TYPES: dict[str, type | tuple[type, ...]] = {"object": dict, "array": list, "string": str, "boolean": bool}


def schema_errors(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (only the keywords in CHECKED_KEYWORDS)."""
    if "$ref" in schema:
        return schema_errors(value, root["$defs"][schema["$ref"].removeprefix("#/$defs/")], root, path)
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not schema_errors(value, s, root, path)]
        return [] if len(matching) == 1 else [f"{path}: matches {len(matching)} of oneOf"]
    if "not" in schema and not schema_errors(value, schema["not"], root, path):
        return [f"{path}: matches a `not` schema"]
    kind = schema.get("type")
    if kind is not None and not isinstance(value, TYPES[kind]):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            errors.append(f"{path}: {value!r} is not a date")
    if isinstance(value, dict):
        errors += [f"{path}.{key}: required" for key in schema.get("required", []) if key not in value]
        if len(value) < schema.get("minProperties", 0):
            errors.append(f"{path}: fewer than {schema['minProperties']} properties")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if "propertyNames" in schema:
                errors += schema_errors(key, schema["propertyNames"], root, f"{path}[{key!r}]")
            if key in schema.get("properties", {}):
                errors += schema_errors(item, schema["properties"][key], root, f"{path}.{key}")
            elif extra is False:
                errors.append(f"{path}.{key}: additional property not allowed")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, root, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], root, f"{path}[{index}]")
    return errors


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's schema check sees it: an unquoted date is a string (YAML 1.2)."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def editor_view(text: str) -> Any:
    return yaml.load(text, Loader=_EditorLoader)  # noqa: S506 - a SafeLoader subclass


def check_against_schema(text: str) -> list[str]:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema_errors(editor_view(text), schema, schema)


def test_checked_in_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        f"{SCHEMA_FILE.name} is out of date with generator/model.py; run: {REGENERATE}"
    )


def test_schema_uses_only_checked_keywords() -> None:
    def keywords(node: Any, under_properties: bool = False) -> set[str]:
        if isinstance(node, list):
            return set().union(*(keywords(item) for item in node))
        if not isinstance(node, dict):
            return set()
        found = set() if under_properties else set(node)
        for key, item in node.items():
            if key in ("enum", "default", "required"):
                continue
            found |= keywords(item, under_properties=key in ("properties", "$defs") and not under_properties)
        return found

    assert keywords(json_schema()) - CHECKED_KEYWORDS == set()


@pytest.mark.parametrize("config", [PLACEHOLDER_FIXTURE, DEPLOYED_FIXTURE, FOUR_ENVS_FIXTURE], ids=lambda p: p.name)
def test_modeline_points_at_the_schema(config: Path) -> None:
    first = config.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith(MODELINE)
    assert (config.parent / first.removeprefix(MODELINE)).resolve() == SCHEMA_FILE.resolve()


@pytest.mark.parametrize("config", [PLACEHOLDER_FIXTURE, SEED_FIXTURE, DEPLOYED_FIXTURE, FOUR_ENVS_FIXTURE], ids=lambda p: p.name)
def test_valid_configs_pass_schema_and_loader(config: Path) -> None:
    assert check_against_schema(config.read_text(encoding="utf-8")) == []
    load_config(str(config))


def test_dates_are_strings_for_editors() -> None:
    # guards the checker: with PyYAML's default resolvers last_updated would be a date object
    assert isinstance(yaml.safe_load("d: 2025-12-11")["d"], datetime.date)
    assert editor_view("d: 2025-12-11")["d"] == "2025-12-11"


REJECTED = [
    ("unknown-key", lambda t: set_env_field(t, "bob", "dev", "enigne_id", "x"), "$.agents.bob.environments.dev.enigne_id: additional property"),
    ("unknown-top-level-key", lambda t: mutate(t, 'app_version: "0.14.1"\n', 'app_version: "0.14.1"\nowner: platform-team\n'), "$.owner: additional property"),
    ("bad-enum", lambda t: set_env_field(t, "bob", "dev", "status", "done"), "'done' not in"),
    ("missing-required", lambda t: set_env_field(t, "bob", "dev", "region", None), "$.agents.bob.environments.dev.region: required"),
    ("bad-pattern", lambda t: set_env_field(t, "bob", "dev", "region", "US Central"), "does not match"),
    ("wrong-type", lambda t: mutate(t, "auto_deploy: true", 'auto_deploy: "yes"'), "$.environments.dev.auto_deploy: expected boolean"),
    ("unsafe-agent-key", lambda t: mutate(t, "  bob:\n", "  Bob:\n"), "$.agents['Bob']"),
    ("reserved-agent-key", lambda t: mutate(t, "  bob:\n", "  index:\n"), "$.agents['index']: matches a `not` schema"),
    ("unsupported-schema-version", lambda t: mutate(t, 'schema_version: "1.0.0"', 'schema_version: "2.0.0"'), "$.schema_version: '2.0.0' not in"),
]


@pytest.mark.parametrize(("edit", "schema_error"), [(e, s) for _, e, s in REJECTED], ids=[i for i, _, _ in REJECTED])
def test_schema_and_loader_both_reject(edit: Any, schema_error: str, placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = edit(placeholder_config_text)
    errors = check_against_schema(text)
    assert any(schema_error in e for e in errors), errors
    with pytest.raises(ConfigError):
        load_config(write_config(text))


def _model_classes() -> list[type]:
    from generator import kinds, ledger, model

    found: list[type] = []

    def walk(kind: kinds.Kind) -> None:
        if isinstance(kind, kinds.Object) and kind.cls not in found:
            found.append(kind.cls)
        for child in kind.children():
            walk(child)

    walk(model.Config.KIND)
    walk(ledger.Entry.KIND)
    return found


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
def test_annotations_agree_with_the_declarations(cls: Any) -> None:
    # A key is declared once; its annotation is for the type checker and must not contradict it.
    for field in cls.KIND.fields:
        annotation = cls.__annotations__[field.name]
        assert annotation.endswith("| None") == (field.default is None and not field.required), f"{cls.__name__}.{field.name}: {annotation}"
    assert set(cls.__slots__) == set(cls.__annotations__)
