"""yamledit: values edited in place, every other byte of the user's config kept.

The expected output is written out as bytes (the input with exactly the edited values
replaced), never obtained by parsing the result: a re-parse would not see a lost comment,
a changed quote or a CRLF turned into LF.
"""

from __future__ import annotations

import difflib
import os

import pytest
import yaml
from conftest import FIXTURES, mutate, where
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.errors import ConfigError, EditRefused, ExitCode, Span
from generator.loader import STR_TAG, load_config_bytes
from generator.yamledit import double_quoted, edit_config, plain_ok, render, replace_scalars

COMMENTED = FIXTURES / "commented.yaml"
ANCHORS = FIXTURES / "anchors.yaml"
BOM = b"\xef\xbb\xbf"
ENGINE = "projects/bobs-brain-{env}/locations/us-central1/reasoningEngines/4242"

VARIANTS = {
    "lf": lambda text: text.encode(),
    "crlf": lambda text: text.replace("\n", "\r\n").encode(),
    "bom": lambda text: BOM + text.encode(),
    "bom-crlf": lambda text: BOM + text.replace("\n", "\r\n").encode(),
}

#: (agent, env) -> the three lines as they must read after recording a deploy there
RECORDED = {
    ("bob", "dev"): [
        ('engine_id: "TODO-SET-DEV-ENGINE-ID"     # placeholder', f'engine_id: "{ENGINE.format(env="dev")}"     # placeholder'),
        ('status: "pending"                       # pending |', 'status: "deployed"                       # pending |'),
    ],
    ("bob", "stage"): [
        ("engine_id: 'TODO-SET-STAGE-ENGINE-ID'   # single", f"engine_id: '{ENGINE.format(env='stage')}'   # single"),
        ("status: 'pending'                       # stays", "status: 'deployed'                       # stays"),
    ],
    ("bob", "prod"): [
        ("engine_id: TODO-SET-PROD-ENGINE-ID      # plain", f"engine_id: {ENGINE.format(env='prod')}      # plain"),
        ("status: pending                         # plain", "status: deployed                         # plain"),
    ],
    ("ada", "dev"): [
        ("engine_id: TODO-SET-DEV-ENGINE-ID, status: pending}   # flow", f"engine_id: {ENGINE.format(env='dev')}, status: deployed}}   # flow"),
    ],
    ("ada", "stage"): [
        ('engine_id: "TODO-SET-STAGE-ENGINE-ID", status: pending}', f'engine_id: "{ENGINE.format(env="stage")}", status: deployed}}'),
    ],
}
LAST_UPDATED = ("last_updated: 2025-12-11       # bumped", "last_updated: 2026-01-02       # bumped")


def _data(variant: str, source: os.PathLike[str] = COMMENTED) -> bytes:
    return VARIANTS[variant](open(source, encoding="utf-8").read())


def _as_variant(variant: str, text: str) -> bytes:
    return VARIANTS[variant](text)


def _diff(a: bytes, b: bytes) -> str:
    return "".join(difflib.unified_diff(a.decode().splitlines(True), b.decode().splitlines(True), "expected", "got"))


def _record_edits(config: object, agent: str, env: str) -> list[tuple[Span, str]]:
    target = config.agents[agent].environments[env]  # type: ignore[attr-defined]
    return [
        (target.span("engine_id"), ENGINE.format(env=env)),
        (target.span("status"), "deployed"),
        (config.span("last_updated"), "2026-01-02"),  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(("agent", "env"), list(RECORDED))
def test_record_a_deploy_changes_only_the_three_values(variant: str, agent: str, env: str) -> None:
    data = _data(variant)
    config = load_config_bytes("commented.yaml", data, spans=True)
    new, reloaded = edit_config("commented.yaml", data, _record_edits(config, agent, env))
    text = COMMENTED.read_text(encoding="utf-8")
    for old, replacement in [*RECORDED[(agent, env)], LAST_UPDATED]:
        text = mutate(text, old, replacement)
    expected = _as_variant(variant, text)
    assert new == expected, _diff(expected, new)
    # the lines that changed are exactly the edited ones (the comments after them stay too)
    old_lines, new_lines = data.decode().splitlines(True), new.decode().splitlines(True)
    changed = [line for line in difflib.ndiff(old_lines, new_lines) if line[:1] in "+-"]
    assert len(changed) == 2 * (len(RECORDED[(agent, env)]) + 1)
    # and the result reads back with the new values, everything else as before
    target = reloaded.agents[agent].environments[env]
    assert (target.engine_id, target.status, reloaded.last_updated) == (ENGINE.format(env=env), "deployed", "2026-01-02")
    before = config.agents[agent].environments[env]
    assert (target.project_id, target.region, target.engine_name) == (before.project_id, before.region, before.engine_name)
    assert reloaded.agents["bob"].display_name == "Bobs Brain — ünïcode"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_edits_chain_on_the_reloaded_config(variant: str) -> None:
    """The reloaded config has spans too: a second edit needs no second read."""
    data = _data(variant)
    config = load_config_bytes("commented.yaml", data, spans=True)
    once, config = edit_config("commented.yaml", data, _record_edits(config, "bob", "dev"))
    twice, config = edit_config("commented.yaml", once, [(config.agents["bob"].environments["dev"].span("status"), "validated")])
    expected = once.replace(b'status: "deployed"', b'status: "validated"', 1)
    assert twice == expected, _diff(expected, twice)
    assert config.agents["bob"].environments["dev"].status == "validated"


# --- styles -----------------------------------------------------------------------------


def _span(style: str | None, tag: str = STR_TAG) -> Span:
    return Span("c.yaml", "x", 0, 0, 1, 1, style, tag)


@pytest.mark.parametrize(
    "value",
    ["a: b", "#x", "yes", "No", "on", "0123", "0x1F", "1:30", "3.10", "1.0e+3", "2024-01-02", "null", "~", "true", "<<", "=",
     " lead", "trail ", "x #y", "end:", "[x]", "{x}", "a,b", "-x", "*x", "&x", "!x", "|x", ">x", "'x", '"x', "%x", "@x", "`x",
     "two\nlines", "tab\there", "", "\x1b[31m"],
)
def test_plain_values_that_would_read_back_otherwise_get_double_quotes(value: str) -> None:
    assert render(value, _span(None)) == double_quoted(value)
    if value:
        assert yaml.safe_load(f"k: {double_quoted(value)}") == {"k": value}


@pytest.mark.parametrize("value", ["deployed", "projects/p/locations/l/reasoningEngines/1", "a:b", "x#y", "1e3", "Bob's Brain", "ünïcode — ok", "a - b"])
def test_plain_stays_plain_when_it_reads_back_the_same(value: str) -> None:
    assert render(value, _span(None)) == value
    assert yaml.safe_load(f"k: {value}") == {"k": value}
    assert yaml.safe_load(f"k: {{a: {value}}}") == {"k": {"a": value}}  # in a flow mapping too


def test_a_plain_date_stays_a_plain_date() -> None:
    assert render("2026-01-02", _span(None, "tag:yaml.org,2002:timestamp")) == "2026-01-02"
    assert render("2026-01-02", _span(None)) == '"2026-01-02"'  # where a string stood
    assert plain_ok("true", "tag:yaml.org,2002:bool") and not plain_ok("true")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\temp", '"C:\\\\temp"'),
        ("two\nlines", '"two\\nlines"'),
        ("tab\tin", '"tab\\tin"'),
        ("\x1b[31mred", '"\\e[31mred"'),
        ("\x00\x7f\x85\xa0", '"\\0\\x7f\\N\\_"'),
        ("line\u2028sep", '"line\\Lsep"'),
        ("zero\u200bwidth", '"zero\\u200bwidth"'),
        ("bidi\u202eevil", '"bidi\\u202eevil"'),
        ("bom\ufeff", '"bom\\ufeff"'),
        ("ünïcode — ok", '"ünïcode — ok"'),
    ],
)
def test_double_quoted_escapes(value: str, written: str) -> None:
    assert render(value, _span('"')) == written
    assert yaml.safe_load(f"k: {written}") == {"k": value}
    assert yaml.load(f"k: {written}", Loader=yaml.CSafeLoader) == {"k": value}


def test_single_quoted_doubles_quotes_and_falls_back_for_escapes() -> None:
    assert render("it's", _span("'")) == "'it''s'"
    assert render('a "b" \\c', _span("'")) == "'a \"b\" \\c'"
    assert render("two\nlines", _span("'")) == '"two\\nlines"'  # a single-quoted scalar has no escapes
    assert yaml.safe_load("k: 'it''s'") == {"k": "it's"}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("value", ["a: b", "#x", "yes", "0123", "x #y", "a,b", "[x]"])
def test_needs_quoting_in_the_file(variant: str, value: str) -> None:
    data = _data(variant)
    config = load_config_bytes("commented.yaml", data, spans=True)
    for agent, env in (("bob", "prod"), ("ada", "dev")):  # block and flow, both plain
        span = config.agents[agent].environments[env].span("engine_id")
        assert span.style is None
        new, reloaded = edit_config("commented.yaml", data, [(span, value)])
        assert new == data[: span.start] + double_quoted(value).encode() + data[span.end :]
        assert reloaded.agents[agent].environments[env].engine_id == value


# --- refusals ---------------------------------------------------------------------------


def _refused(data: bytes, edits: list[tuple[Span, str]]) -> list[tuple[str, int, int, str, str, str]]:
    with pytest.raises(EditRefused) as excinfo:
        edit_config("anchors.yaml", data, edits)
    assert excinfo.value.exit_code == ExitCode.CONFIG
    return [(p.location.file, p.location.line, p.location.col, p.path, p.message, p.hint) for p in excinfo.value.problems()]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_aliased_and_anchored_values_are_refused(variant: str) -> None:
    data = _data(variant, ANCHORS)
    text = ANCHORS.read_text(encoding="utf-8")
    config = load_config_bytes("anchors.yaml", data, spans=True)
    bob = config.agents["bob"].environments
    anchor_line, anchor_col = where(text, "region: &r", "&r")
    value_line, value_col = where(text, "&r us-central1", "us-central1")
    shared = (
        f"is shared through the anchor at line {anchor_line}, column {anchor_col}; editing it would change every place that uses it"
    )
    # reached through `*r`: located where its text is (at the anchor), as every aliased value
    assert _refused(data, [(bob["stage"].span("region"), "europe-west1")]) == [
        ("anchors.yaml", value_line, value_col, "agents.bob.environments.stage.region",
         f"`agents.bob.environments.stage.region` {shared}", "give this place its own value instead of the alias"),
    ]
    # the anchor itself: the aliases would change with it
    [(_, _, _, path, message, hint)] = _refused(data, [(bob["dev"].span("region"), "europe-west1")])
    assert (path, message) == ("agents.bob.environments.dev.region", f"`agents.bob.environments.dev.region` {shared}")
    assert "each place that uses the alias" in hint
    # a value merged through `<<: *bob-dev`, and one of a whole aliased environment
    ada = config.agents["ada"].environments
    problems = _refused(data, [(ada["dev"].span("status"), "deployed"), (ada["prod"].span("engine_id"), "x")])
    assert [p[3] for p in problems] == ["agents.ada.environments.dev.status", "agents.ada.environments.prod.engine_id"]
    assert all("is shared through the anchor at line" in p[4] for p in problems)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_block_scalars_and_overlaps_are_refused(variant: str) -> None:
    data = _data(variant, ANCHORS)
    text = ANCHORS.read_text(encoding="utf-8")
    config = load_config_bytes("anchors.yaml", data, spans=True)
    span = config.agents["bob"].span("description")
    assert span.style == "|"
    assert _refused(data, [(span, "one line")]) == [
        ("anchors.yaml", *where(text, "description: |", "|"), "agents.bob.description",
         "`agents.bob.description` is a block scalar (`|`); it can't be edited in place",
         "edit it by hand, or write it as a one-line quoted value first"),
    ]
    status = config.agents["bob"].environments["stage"].span("status")
    problems = _refused(data, [(status, "deployed"), (status, "validated")])
    assert [(p[3], p[4].split(" (")[0]) for p in problems] == [
        ("agents.bob.environments.stage.status", "this edit overlaps the edit of `agents.bob.environments.stage.status`")
    ]


def test_a_value_the_model_refuses_propagates_as_config_error() -> None:
    data = _data("lf")
    config = load_config_bytes("commented.yaml", data, spans=True)
    with pytest.raises(ConfigError) as excinfo:
        edit_config("commented.yaml", data, [(config.agents["bob"].environments["dev"].span("status"), "bogus")])
    assert not isinstance(excinfo.value, EditRefused)
    [problem] = excinfo.value.problems()
    assert (problem.path, problem.code) == ("agents.bob.environments.dev.status", "enum")


def test_a_span_that_does_not_fit_the_bytes_is_a_bug() -> None:
    data = _data("lf")
    config = load_config_bytes("commented.yaml", data, spans=True)
    span = config.agents["bob"].environments["dev"].span("engine_id")
    with pytest.raises(ValueError, match="does not hold a quoted value"):
        replace_scalars(b"x" + data, [(span, "1")])
    with pytest.raises(ValueError, match="outside"):
        replace_scalars(data[:10], [(span, "1")])


# --- properties -------------------------------------------------------------------------

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
#: any character but surrogates (a str with one can't be UTF-8), control characters included,
#: with YAML's indicators, quotes, escapes and words drawn often
_SPECIAL = st.sampled_from([*":#'\"\\ -?,[]{}&*!|>%@`~\n\t\r\x85\u2028\ufeff", "yes", "null", "0123", ": ", " #", "\\n"])
_SAFE = st.sampled_from([*"abz09./_ ", "é", "—"])
_TEXT = (
    st.lists(st.one_of(_SPECIAL, _SAFE, _SAFE, st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=12)
    .map("".join)
    .filter(lambda s: bool(s.strip()))
)


@PROPERTY
@given(value=_TEXT, where_=st.sampled_from(["bob.dev", "bob.prod"]), variant=st.sampled_from(list(VARIANTS)))
@example(value="a #b", where_="bob.prod", variant="crlf")
@example(value="a: b", where_="bob.prod", variant="lf")
@example(value="end:", where_="bob.prod", variant="lf")
@example(value=" lead", where_="bob.prod", variant="bom")
@example(value='say "\\hi\\"\r\n', where_="bob.dev", variant="bom-crlf")
def test_any_engine_name_round_trips_and_nothing_else_moves(value: str, where_: str, variant: str) -> None:
    data = _data(variant)
    agent, env = where_.split(".")
    config = load_config_bytes("commented.yaml", data, spans=True)
    span = config.agents[agent].environments[env].span("engine_name")
    assert span.style == ('"' if env == "dev" else None)
    new, reloaded = edit_config("commented.yaml", data, [(span, value)])
    assert reloaded.agents[agent].environments[env].engine_name == value
    tail = len(data) - span.end
    assert new[: span.start] == data[: span.start]
    assert new[len(new) - tail :] == data[span.end :]
