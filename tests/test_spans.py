"""Node.span: the exact source bytes of every scalar value, for editing it in place.

For every scalar field of every model object of every fixture (and of CRLF, BOM and
non-ASCII variants of each), the span is checked against the bytes, never against YAML:
its bytes are the value as written (quotes included), it starts where a value may start
and ends where a value may end, and its line and column are those of its first byte in a
text search. Values shared through anchors are flagged with where the anchor is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, PLACEHOLDER_FIXTURE, ROOT, where

from generator import kinds, loader, model
from generator.errors import Location, Span
from generator.loader import load_config_bytes

CORPUS = ROOT / "tests" / "corpus"
ANCHORS_FIXTURE = FIXTURES / "anchors.yaml"
BOM = b"\xef\xbb\xbf"
SOURCES = sorted(FIXTURES.glob("*.yaml")) + sorted(CORPUS.glob("ok-*.yaml"))

SCALAR_KINDS = (kinds.String, kinds.Bool, kinds.Date)


# --- variants of a file --------------------------------------------------------------------


def _plain_lf(data: bytes) -> str:
    text = data.decode("utf-8")
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def _non_ascii(text: str) -> str:
    """Non-ASCII text before and around the values: comments, and inside plain values."""
    text = "# Bobs Brain — ünïcode 🚀 (a comment before everything)\n" + text
    text = re.sub(r"^(\s+(?:description|purpose|display_name): )(?=[A-Za-z])", r"\1Ünï — ", text, flags=re.M)
    text = re.sub(r"^(\s+status: [a-z]+)$", r"\1   # état — ü", text, flags=re.M)
    return text.replace("\n\n", "\n\n# ünïcode — 🚀 between sections\n")


VARIANTS = {
    "lf": lambda text: text.encode(),
    "crlf": lambda text: text.replace("\n", "\r\n").encode(),
    "bom": lambda text: BOM + text.encode(),
    "bom-crlf": lambda text: BOM + text.replace("\n", "\r\n").encode(),
    "non-ascii": lambda text: _non_ascii(text).encode(),
    "non-ascii-bom-crlf": lambda text: BOM + _non_ascii(text).replace("\n", "\r\n").encode(),
}


def _cases() -> Iterator[object]:
    for source in SOURCES:
        name = source.relative_to(ROOT).as_posix()
        yield pytest.param(source, None, id=f"{name}-as-is")
        for variant in VARIANTS:
            yield pytest.param(source, variant, id=f"{name}-{variant}")


def _bytes(source: Path, variant: str | None) -> bytes:
    data = source.read_bytes()
    return data if variant is None else VARIANTS[variant](_plain_lf(data))


# --- walking the model -----------------------------------------------------------------


def model_objects(config: model.Config) -> Iterator[model.Node]:
    yield config
    yield from config.environments.values()
    for agent in config.agents.values():
        yield agent
        yield from agent.environments.values()
    for promotion in config.promotion.values():
        yield promotion
        yield from promotion.required_checks


def scalar_fields(obj: model.Node) -> Iterator[str]:
    for field in type(obj).KIND.fields:
        if isinstance(field, SCALAR_KINDS):
            yield field.name


def all_spans(config: model.Config) -> Iterator[tuple[model.Node, str, Span]]:
    for obj in model_objects(config):
        for field in scalar_fields(obj):
            if field not in obj.locations:
                with pytest.raises(KeyError, match="not written in the file"):
                    obj.span(field)
                continue
            yield obj, field, obj.span(field)


# --- the oracle: bytes and text only ---------------------------------------------------


def _as_written(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    assert isinstance(value, str)
    return value


def check_span(data: bytes, obj: model.Node, field: str, span: Span) -> None:
    value = _as_written(getattr(obj, field))
    raw = data[span.start : span.end]
    written = raw.decode("utf-8")  # a span never cuts a character
    where_ = f"{span.path} = {written!r}"
    if span.style in ('"', "'"):
        assert written[0] == written[-1] == span.style, where_
        assert yaml.safe_load(written) == value, where_
    elif span.style is None:
        if "\n" in written:  # a plain scalar over several lines: folded into one by YAML
            assert " ".join(part.strip() for part in written.splitlines()) == value, where_
        else:
            assert written == value if not isinstance(getattr(obj, field), bool) else written.lower() == value, where_
    else:
        assert span.style in ("|", ">") and written[0] == span.style, where_
        assert yaml.safe_load(written) == value, where_
    # line and column are those of the span's first byte, counted in the text
    prefix = data[: span.start]
    line = prefix.count(b"\n") + 1
    line_start = prefix.rfind(b"\n") + 1
    before = prefix[line_start:]
    if line == 1 and before.startswith(BOM):
        before = before[len(BOM) :]  # the BOM is not a column
    assert (span.line, span.col) == (line, len(before.decode("utf-8")) + 1), where_
    text = data.decode("utf-8").removeprefix("\ufeff")
    text_line = re.split(r"\r?\n", text)[span.line - 1]
    assert text_line[span.col - 1 :].startswith(re.split(r"\r?\n", written)[0]), where_
    # a value starts after `key:`, `-`, a flow indicator or its anchor/tag (maybe a line before)
    lead = before.decode("utf-8").rstrip(" ")
    assert lead.strip() == "" or lead[-1] in ":-[{," or re.search(r"[&!]\S*$", lead), where_
    # ... and ends at a comment, a flow indicator or the end of the line (a block scalar
    # ends at the start of the line after it)
    if span.style not in ("|", ">"):
        after = re.split(rb"\r?\n", data[span.end :])[0].decode("utf-8").strip(" ")
        assert after == "" or after[0] in "#,}]", where_
    # where the loader locates the value, unless an anchor or tag comes first
    loc = obj.loc(field)
    if (loc.line, loc.col) != (span.line, span.col):
        assert text.split("\n")[loc.line - 1][loc.col - 1] in "&!", where_


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "variant"), list(_cases()))
def test_every_scalar_span_is_the_value_as_written(source: Path, variant: str | None) -> None:
    data = _bytes(source, variant)
    config = load_config_bytes(str(source), data, spans=True)
    seen = 0
    for obj, field, span in all_spans(config):
        check_span(data, obj, field, span)
        assert span.file == str(source)
        if b"*" not in data:  # no alias: nothing is shared
            assert (span.aliased, span.anchor) == (False, None), span
        seen += 1
    assert seen > 10


@pytest.mark.parametrize("variant", [None, *VARIANTS])
def test_spans_with_the_pure_python_composer(variant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml, PyYAML's own composer: the same marks, style None for plain."""
    monkeypatch.setattr(loader, "_Loader", loader._quick_resolver(yaml.SafeLoader))
    for source in (ANCHORS_FIXTURE, PLACEHOLDER_FIXTURE):
        data = _bytes(source, variant)
        config = load_config_bytes(str(source), data, spans=True)
        for obj, field, span in all_spans(config):
            check_span(data, obj, field, span)


def _anchor(text: str, needle: str, at: str) -> tuple[int, int]:
    return where(text, needle, at)


#: anchors.yaml: dotted path -> (aliased, the anchor it shares its text through: (needle, part))
ANCHOR_CASES: dict[str, tuple[bool, tuple[str, str] | None]] = {
    "environments.dev.purpose": (False, None),  # stage and prod write their own
    "environments.dev.auto_deploy": (False, ("dev: &d", "&d")),  # stage takes it through <<: *d
    "environments.dev.alerting": (False, ("dev: &d", "&d")),
    "environments.stage.purpose": (False, None),
    "environments.stage.auto_deploy": (True, ("dev: &d", "&d")),
    "environments.stage.alerting": (True, ("dev: &d", "&d")),
    "environments.prod.auto_deploy": (False, None),  # overrides the merged one
    "environments.prod.alerting": (False, None),
    "agents.bob.environments.dev.project_id": (False, None),  # ada's dev overrides it
    "agents.bob.environments.dev.region": (False, ("region: &r", "&r")),
    "agents.bob.environments.dev.engine_id": (False, ("dev: &bob-dev", "&bob-dev")),
    "agents.bob.environments.stage.region": (True, ("region: &r", "&r")),
    "agents.bob.environments.stage.engine_id": (False, ("&stage-id !!str", "&stage-id")),
    "agents.bob.environments.stage.status": (False, None),
    "agents.bob.environments.prod.project_id": (False, ("prod: &bob-prod", "&bob-prod")),
    "agents.bob.environments.prod.region": (True, ("region: &r", "&r")),
    "agents.ada.environments.dev.project_id": (False, None),
    "agents.ada.environments.dev.region": (True, ("dev: &bob-dev", "&bob-dev")),
    "agents.ada.environments.dev.status": (True, ("dev: &bob-dev", "&bob-dev")),
    "agents.ada.environments.stage.engine_id": (True, ("&stage-id !!str", "&stage-id")),
    "agents.ada.environments.stage.status": (False, None),
    "agents.ada.environments.prod.engine_id": (True, ("prod: &bob-prod", "&bob-prod")),
    "agents.ada.environments.prod.region": (True, ("prod: &bob-prod", "&bob-prod")),  # the outermost alias
    "promotion.dev_to_stage.required_checks[0]": (False, ("&checks", "&checks")),
    "promotion.stage_to_prod.required_checks[0]": (True, ("&checks", "&checks")),
    "promotion.stage_to_prod.required_checks[1].command": (True, ("&checks", "&checks")),
    "promotion.stage_to_prod.approval_channel": (False, None),
}


@pytest.mark.parametrize("variant", [None, *VARIANTS])
def test_shared_values_name_their_anchor(variant: str | None) -> None:
    data = _bytes(ANCHORS_FIXTURE, variant)
    text = data.decode("utf-8").removeprefix("\ufeff")
    config = load_config_bytes("anchors.yaml", data, spans=True)
    spans = {span.path: span for _, _, span in all_spans(config)}
    assert set(ANCHOR_CASES) <= set(spans)
    for path, (aliased, anchor) in ANCHOR_CASES.items():
        span = spans[path]
        assert span.aliased is aliased, span
        if anchor is None:
            assert span.anchor is None, span
        else:
            assert span.anchor is not None, span
            assert (span.anchor.file, span.anchor.line, span.anchor.col) == ("anchors.yaml", *_anchor(text, *anchor)), span
    # an aliased value's span is its anchor's text: the same bytes
    assert spans["agents.bob.environments.stage.region"].start == spans["agents.bob.environments.dev.region"].start
    # anchor and tag are not part of the value, even when the value is on the next line
    engine = spans["agents.bob.environments.stage.engine_id"]
    assert data[engine.start : engine.end] == b"TODO-SET-STAGE-ENGINE-ID"
    assert (engine.line, engine.col) == where(text, "  TODO-SET-STAGE-ENGINE-ID", "TODO")
    loc = config.agents["bob"].environments["stage"].loc("engine_id")  # as before: where the node starts
    assert (loc.line, loc.col) == where(text, "&stage-id !!str", "&stage-id")


def test_styles() -> None:
    config = load_config_bytes("anchors.yaml", ANCHORS_FIXTURE.read_bytes(), spans=True)
    styles = {span.path: span.style for _, _, span in all_spans(config)}
    assert styles["schema_version"] == '"'
    assert styles["app_version"] == "'"
    assert styles["last_updated"] is None
    assert styles["agents.bob.description"] == "|"
    assert styles["agents.bob.environments.prod.status"] == ">"
    assert styles["promotion.dev_to_stage.required_checks[1].command"] == '"'


def test_byte_offsets_count_the_bom_and_multibyte_characters() -> None:
    text = PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")
    plain = load_config_bytes("c.yaml", text.encode(), spans=True).agents["bob"].environments["dev"].span("engine_id")
    shifted = "# ü — 🚀\n" + text  # 1 + 2 + 1 + 3 + 1 + 4 = 12 bytes, 8 characters, one line more
    config = load_config_bytes("c.yaml", BOM + shifted.encode(), spans=True)
    span = config.agents["bob"].environments["dev"].span("engine_id")
    assert span.start == plain.start + len(BOM) + len("# ü — 🚀\n".encode())
    assert (span.line, span.col) == (plain.line + 1, plain.col)


def test_spans_need_spans_true() -> None:
    config = load_config_bytes("c.yaml", PLACEHOLDER_FIXTURE.read_bytes())
    with pytest.raises(ValueError, match="spans=True"):
        config.span("last_updated")


def test_non_scalar_field_has_no_span() -> None:
    config = load_config_bytes("c.yaml", PLACEHOLDER_FIXTURE.read_bytes(), spans=True)
    with pytest.raises(ValueError, match="not a scalar"):
        config.span("agents")


def test_loc_is_the_same_with_and_without_spans() -> None:
    for source in (ANCHORS_FIXTURE, PLACEHOLDER_FIXTURE):
        data = source.read_bytes()
        with_spans = list(model_objects(load_config_bytes("c.yaml", data, spans=True)))
        without = list(model_objects(load_config_bytes("c.yaml", data)))
        kept = list(model_objects(load_config_bytes("c.yaml", data, keep_nodes=True)))
        assert len(with_spans) == len(without) == len(kept)
        for a, b, c in zip(with_spans, without, kept, strict=True):
            for field in [f.name for f in type(a).KIND.fields]:
                la, lb, lc = a.loc(field), b.loc(field), c.loc(field)
                assert type(la) is type(lb) is type(lc) is Location
                assert (la.file, la.line, la.col) == (lb.file, lb.line, lb.col) == (lc.file, lc.line, lc.col)


# --- an edited config built from the node graph (loader.load_edited) ------------------------

#: New texts for each kind of edited value: plain-safe ones, ones that need quotes
#: (a plain `yes`, a `#`, a `: `), an escape and a non-ASCII character.
NEW_VALUES = {
    "engine_id": ["projects/p/locations/r/reasoningEngines/9876543210", "TODO-yes: #later", "1234"],
    "status": ["deployed", "validated"],
    "last_updated": ["2031-02-03", "2031-02-03 # not a comment"],
    "display_name": ["yes", "Ünï — 🚀 \"quoted\"", "tab\there"],
}


def _dump(value: object) -> object:
    """Everything a model value holds, as plain data: every slot of every object (locations
    as line and column), and the span of every scalar field written in the file."""
    if isinstance(value, model.Node):
        out: dict[str, object] = {"type": type(value).__name__, "path": value.path, "at": (value.location.line, value.location.col)}
        for cls in type(value).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if name not in ("locations", "_source", "location", "path"):
                    out[name] = _dump(getattr(value, name, None))
        out["locations"] = {field: (value.loc(field).line, value.loc(field).col) for field in value.locations}
        out["spans"] = {field: tuple(getattr(span, slot) for slot in Span.__slots__ if slot != "anchor") + (str(span.anchor),) for field, span in _spans_of(value)}
        return out
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dump(item) for item in value]
    return value


def _spans_of(obj: model.Node) -> Iterator[tuple[str, Span]]:
    for field in scalar_fields(obj):
        if field in obj.locations:
            try:
                yield field, obj.span(field)
            except ValueError:  # not a scalar here (a check written as a mapping)
                continue


def _edits(config: model.Config) -> Iterator[list[tuple[int, str, str]]]:
    """Edits of one value, or of one and ``last_updated``, across the file: (index of the
    object in ``model_objects``, field, new text)."""
    for number, obj in enumerate(model_objects(config)):
        for field in scalar_fields(obj):
            if field in NEW_VALUES and field in obj.locations:
                for value in NEW_VALUES[field]:
                    edits = [(number, field, value)]
                    if number and "last_updated" in config.locations:
                        edits.append((0, "last_updated", "2030-01-01"))
                    yield edits


@pytest.mark.parametrize(("source", "variant"), list(_cases()))
def test_an_edited_config_built_from_the_nodes_is_the_one_a_parse_gives(source: Path, variant: str | None) -> None:
    """Whatever ``load_edited`` builds (or refuses: None) equals a full parse of the edited
    bytes: every value, location and span, or the same ConfigError."""
    data = _bytes(source, variant)
    built = sum(_edit_matches_a_parse(str(source), data, wanted) for wanted in _edits(load_config_bytes(str(source), data, spans=True)))
    if source.name in ("placeholders.yaml", "seed.yaml"):
        assert built > 10  # block-style files: most edits take the quick way


def _edit_matches_a_parse(name: str, data: bytes, wanted: list[tuple[int, str, str]]) -> bool:
    """One edit both ways; True when ``load_edited`` took it (edited in place or refused the value)."""
    from generator import yamledit
    from generator.errors import ConfigError, EditRefused

    config = load_config_bytes(name, data, spans=True)  # a copy per case: load_edited edits it in place
    objects = list(model_objects(config))
    try:
        edits = [(objects[number].span(field), value) for number, field, value in wanted]
        new = yamledit.replace_scalars(data, edits)
    except (EditRefused, ValueError):
        return False  # a shared or block value, or a check written as a mapping
    rendered = [(span, yamledit.render(value, span)) for span, value in edits]
    try:
        parsed: object = _dump(load_config_bytes(name, new, spans=True))
    except ConfigError as exc:
        parsed = [problem.to_dict() for problem in exc.problems()]
    as_loaded = _dump(config)
    try:
        edited = loader.load_edited(config, new, rendered)
    except ConfigError as exc:
        got: object = [problem.to_dict() for problem in exc.problems()]
        assert _dump(config) == as_loaded  # a value its field refuses leaves the config as it was
    else:
        if edited is None:
            assert _dump(config) == as_loaded  # not taken: nothing changed
            return False
        assert edited is config  # edited in place
        got = _dump(edited)
    assert got == parsed, (name, [(span.path, value) for span, value in rendered])
    return True


#: bob's dev environment as a flow mapping over several lines: a plain value there ends at
#: characters (`:?`, `?` without libyaml) that a block value keeps.
FLOW_DEV = """      dev: {
        project_id: bobs-brain-dev,
        region: us-central1,
        engine_name: bobs-brain-dev,
        status: pending,
        engine_id: TODO-SET-DEV-ENGINE-ID
      }
"""


@pytest.mark.parametrize("value", ["TODO:?1", "TODO?1", "TODO:1", "TODO-PLAIN", "projects/p/locations/r/reasoningEngines/5", "a b"])
def test_an_edit_inside_a_flow_mapping_over_lines_is_the_one_a_parse_gives(value: str) -> None:
    text = PLACEHOLDER_FIXTURE.read_text(encoding="utf-8")
    block = text[text.index("      dev:\n        project_id: bobs-brain-dev") : text.index("      stage:\n        project_id: bobs-brain-stage")]
    data = text.replace(block, FLOW_DEV, 1).encode()
    config = load_config_bytes("flow.yaml", data, spans=True)
    number = next(i for i, obj in enumerate(model_objects(config)) if obj.path == "agents.bob.environments.dev")
    _edit_matches_a_parse("flow.yaml", data, [(number, "engine_id", value)])


def test_an_edit_in_place_gives_spans_in_the_new_bytes() -> None:
    from generator import yamledit

    data = PLACEHOLDER_FIXTURE.read_bytes()
    config = load_config_bytes("c.yaml", data, spans=True)
    env = config.agents["bob"].environments["dev"]
    new, edited = yamledit.edit_config("c.yaml", data, [(env.span("engine_id"), "projects/p/locations/r/reasoningEngines/77")], config=config)
    assert edited is config and env.engine_id == "projects/p/locations/r/reasoningEngines/77"
    # spans now count in the new bytes (the value grew), and another edit can follow
    span = edited.span("last_updated")
    assert new[span.start : span.end].strip(b"\"'") == edited.last_updated.encode()
    status = env.span("status")
    assert new[status.start : status.end].strip(b"\"'") == b"pending"
    again, _ = yamledit.edit_config("c.yaml", new, [(status, "deployed")], config=edited)
    assert again == new[: status.start] + new[status.start : status.end].replace(b"pending", b"deployed") + new[status.end :]


def test_a_value_its_field_refuses_leaves_the_config_as_it_was() -> None:
    from generator import yamledit
    from generator.errors import ConfigError

    data = PLACEHOLDER_FIXTURE.read_bytes()
    config = load_config_bytes("c.yaml", data, spans=True)
    env = config.agents["bob"].environments["dev"]
    span = env.span("status")
    new = yamledit.replace_scalars(data, [(span, "bogus")])
    with pytest.raises(ConfigError) as excinfo:
        loader.load_edited(config, new, [(span, yamledit.render("bogus", span))])
    assert [p.code for p in excinfo.value.problems()] == [p.code for p in _problems_of(new)]
    again = env.span("status")
    assert env.status == "pending" and (again.start, again.end, again.style, again.tag) == (span.start, span.end, span.style, span.tag)


def _problems_of(data: bytes) -> list[object]:
    from generator.errors import ConfigError

    try:
        load_config_bytes("c.yaml", data)
    except ConfigError as exc:
        return list(exc.problems())
    raise AssertionError("expected a ConfigError")
