"""The loader: bad input is a ConfigError naming file:line:col, the dotted path, what and how to fix.

Each bad case starts from the shipped config and breaks one thing. The expected location
is found in the broken text by ``where`` (a plain text search), never taken from the loader.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import WriteConfig, mutate, set_env_field, where

from generator import rules
from generator.errors import ConfigError, Problem
from generator.loader import MAX_CONFIG_BYTES, load_config, load_config_bytes


class Bad(NamedTuple):
    """A broken config and the one problem it must produce."""

    id: str
    edit: Callable[[str], str]  # shipped text -> broken text
    needle: str  # occurs once in the broken text ...
    at: str | None  # ... and the problem sits where this part of it starts
    path: str
    code: str
    message: str
    hint: str


def env(agent: str, name: str, field: str, value: str | None) -> Callable[[str], str]:
    return lambda text: set_env_field(text, agent, name, field, value)


def edit(old: str, new: str) -> Callable[[str], str]:
    return lambda text: mutate(text, old, new)


def rename_agent(key: str) -> Callable[[str], str]:
    return edit("  bob:\n", f"  {key}:\n")


BOB_STAGE = "agents.bob.environments.stage"
UNSAFE_HINT = "lowercase ASCII letters"

BAD = [
    # --- duplicate keys: YAML would keep the last one silently
    Bad(
        "duplicate-top-level",
        edit('app_version: "0.14.1"\n', 'app_version: "0.14.1"\napp_version: "0.15.0"\n'),
        'app_version: "0.15.0"', None, "app_version", "yaml-duplicate-key", "duplicate key `app_version` (first defined at line", "remove one",
    ),
    Bad(
        "duplicate-in-agent",
        edit("    display_name: Bob's Brain\n", "    display_name: Bob's Brain\n    display_name: Robert\n"),
        "display_name: Robert", None, "agents.bob.display_name", "yaml-duplicate-key", "duplicate key `display_name`", "remove one",
    ),
    Bad(
        "duplicate-in-env",
        env("bob", "dev", "status", "pending\n        status: deployed"),
        "status: deployed", None, "agents.bob.environments.dev.status", "yaml-duplicate-key", "duplicate key `status`", "remove one",
    ),
    # --- non-strings where a string belongs (YAML 1.1 traps)
    Bad(
        "octal-engine-id",
        env("bob", "stage", "engine_id", "0123"),
        "engine_id: 0123", "0123", f"{BOB_STAGE}.engine_id", "type", "expected a string, got an integer", "octal",
    ),
    Bad(
        "int-engine-id",
        env("bob", "stage", "engine_id", "12345"),
        "engine_id: 12345", "12345", f"{BOB_STAGE}.engine_id", "type", "got an integer (`12345`)", 'engine_id: "12345"',
    ),
    Bad(
        "sexagesimal-engine-id",
        env("bob", "stage", "engine_id", "1:30"),
        "engine_id: 1:30", "1:30", f"{BOB_STAGE}.engine_id", "type", "expected a string", "base-60",
    ),
    Bad(
        "region-no",
        env("bob", "stage", "region", "no"),
        "region: no", "no", f"{BOB_STAGE}.region", "type", "got a boolean (`no`)", 'region: "no"',
    ),
    Bad(
        "status-on",
        env("bob", "stage", "status", "on"),
        "status: on", "on", f"{BOB_STAGE}.status", "type", "got a boolean (`on`)", 'status: "on"',
    ),
    Bad(
        "project-id-yes",
        env("bob", "stage", "project_id", "yes"),
        "project_id: yes", "yes", f"{BOB_STAGE}.project_id", "type", "got a boolean (`yes`)", 'project_id: "yes"',
    ),
    Bad(
        "app-version-float",
        edit('app_version: "0.14.1"', "app_version: 3.10"),
        "app_version: 3.10", "3.10", "app_version", "type", "got a number (`3.10`)", "3.10 becomes 3.1",
    ),
    # --- keys the model does not know, keys it needs
    Bad(
        "typo-enigne-id",
        lambda text: set_env_field(set_env_field(text, "bob", "stage", "engine_id", None), "bob", "stage", "enigne_id", "TODO-X"),
        "enigne_id", None, f"{BOB_STAGE}.enigne_id", "unknown-key", "unknown key `enigne_id`", "did you mean `engine_id`?",
    ),
    Bad(
        "missing-required-key",
        env("bob", "stage", "region", None),
        # a missing key is reported where its mapping starts
        "project_id: bobs-brain-stage\n        engine_id", "project_id", f"{BOB_STAGE}.region", "missing", "required key `region` is missing", "region: us-central1",
    ),
    Bad(
        "unsupported-schema-version",
        edit('schema_version: "1.0.0"', 'schema_version: "2.0.0"'),
        '"2.0.0"', None, "schema_version", "enum", "schema version `2.0.0` is not supported; this version of the tool reads: 1.0.0", "supported schema version",
    ),
    # --- wrong types
    Bad(
        "mapping-where-string",
        edit("display_name: Bob's Brain", "display_name: {first: Bob}"),
        "{first: Bob}", None, "agents.bob.display_name", "type", "expected a string, got a mapping", "display_name: <text>",
    ),
    Bad(
        "list-where-object",
        edit("  dev_to_stage:\n    required_checks:", "  dev_to_stage: [make test]\n  old-dev_to_stage:\n    required_checks:"),
        "[make test]", None, "promotion.dev_to_stage", "type", "expected a mapping with keys required_checks, got a list", "key: value",
    ),
    Bad(
        "list-where-map",
        edit("agents:\n", "agents: [bob, foreman]\nold_agents:\n"),
        "[bob, foreman]", None, "agents", "type", "expected a mapping of agent key to entries, got a list", "<agent key>:",
    ),
    # --- YAML syntax
    Bad(
        "syntax-error",
        edit("display_name: Bob's Brain", "display_name: Bob: Brain"),
        "display_name: Bob: Brain", ": Brain", "", "yaml-syntax", "mapping values are not allowed", "must be quoted",
    ),
    Bad(
        "tab-in-indentation",
        edit("    display_name: Bob's Brain", "\tdisplay_name: Bob's Brain"),
        "\tdisplay_name", None, "", "yaml-syntax", "YAML syntax error", "replace the tab characters with spaces",
    ),
    Bad(
        "tab-after-spaces",
        edit("    display_name: Bob's Brain", "  \tdisplay_name: Bob's Brain"),
        "  \tdisplay_name", "\t", "", "yaml-syntax", "YAML syntax error", "replace the tab characters with spaces",
    ),
    Bad(
        "python-object-tag",
        edit("display_name: Bob's Brain", "display_name: !!python/object:os.system {}"),
        "!!python/object", None, "agents.bob.display_name", "yaml-tag", "tag `tag:yaml.org,2002:python/object:os.system` is not allowed", "remove the tag",
    ),
    Bad(
        "self-referencing-alias",
        lambda text: set_env_field(mutate(text, "  bob:\n", "  bob: &bob\n"), "bob", "dev", "<<", "*bob"),
        "&bob", None, "agents.bob.environments.dev", "yaml-alias", "refers to the mapping that contains it", "remove the self-referencing alias",
    ),
    # --- agent keys become file names and URLs
    *(
        Bad(f"unsafe-agent-key-{label}", rename_agent(key), f"  {key}:\n", key, f"agents.{expected}", "identifier", "is not a safe identifier", UNSAFE_HINT)
        for label, key, expected in [
            ("dotdot", "../x", "../x"),
            ("slash", "a/b", "a/b"),
            ("upper-con", "CON", "CON"),
            ("con", "con", "con"),
            ("index", "index", "index"),
            ("empty", '""', ""),
            ("300-chars", "b" * 300, "b" * 300),
            ("cyrillic-o", "b\u043eb", "b\u043eb"),
        ]
    ),
]


def only_problem(error: ConfigError, code: str) -> Problem:
    found = [p for p in error.problems() if p.code == code]
    assert len(found) == 1, f"expected one {code!r} problem, got {[p.format() for p in error.problems()]}"
    return found[0]


def load_broken(text: str, write_config: WriteConfig) -> tuple[str, ConfigError]:
    path = write_config(text)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert type(excinfo.value) is ConfigError
    return path, excinfo.value


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_input_is_located(case: Bad, placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = case.edit(placeholder_config_text)
    path, error = load_broken(text, write_config)
    problem = only_problem(error, case.code)
    assert (problem.location.file, problem.location.line, problem.location.col) == (path, *where(text, case.needle, case.at))
    assert problem.path == case.path
    assert case.message in problem.message
    assert case.hint in problem.hint


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_every_problem_has_location_and_hint(case: Bad, placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = case.edit(placeholder_config_text)
    path, error = load_broken(text, write_config)
    line_count = text.count("\n") + 1
    assert error.problems()
    for problem in error.problems():
        loc = problem.location
        assert loc.file == path and 1 <= loc.line <= line_count and loc.col >= 1, problem.format()
        assert problem.hint.strip(), f"no hint: {problem.format()}"
        assert problem.format().startswith(f"{path}:{loc.line}:{loc.col}: error [{problem.code}] ")


def test_1e3_is_a_string_in_yaml_11_and_fails_pr002(placeholder_config_text: str, write_config: WriteConfig) -> None:
    # YAML 1.2 would read 1e3 as a float; PyYAML (YAML 1.1) needs a dot, so it is a string
    text = set_env_field(placeholder_config_text, "bob", "stage", "engine_id", "1e3")
    config = load_config(write_config(text))
    stage = config.agents["bob"].environments["stage"]
    assert stage.engine_id == "1e3"
    found = [v for v in rules.run(config) if v.code == "PR002"]
    assert [(v.path, v.location.line, v.location.col) for v in found] == [(f"{BOB_STAGE}.engine_id", *where(text, "engine_id: 1e3", "1e3"))]


# --- files that are not YAML configs -----------------------------------------------------


@pytest.mark.parametrize("text", ["", "# just a comment\n# and another\n", "\n\n   \n"], ids=["empty", "comments-only", "blank-lines"])
def test_empty_document(text: str, write_config: WriteConfig) -> None:
    path, error = load_broken(text, write_config)
    problem = only_problem(error, "empty")
    assert (problem.location.line, problem.location.col, problem.path) == (1, 1, "")
    assert "empty" in problem.message
    assert "config/agent_engine_envs.yaml" in problem.hint


@pytest.mark.parametrize(
    ("bad", "code", "message"),
    [(b"\xff", "encoding", "not valid UTF-8 (byte 0xff)"), (b"\x00", "encoding", "NUL bytes")],
    ids=["non-utf8", "nul"],
)
def test_bad_bytes_are_located(bad: bytes, code: str, message: str, placeholder_config_text: str, tmp_path: Path) -> None:
    # "'" and the bad byte are both one byte, so the text position is the byte position
    line, col = where(placeholder_config_text, "Bob's Brain", "'")
    data = placeholder_config_text.encode().replace(b"Bob's Brain", b"Bob" + bad + b"s Brain")
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as excinfo:
        load_config(str(path))
    problem = only_problem(excinfo.value, code)
    assert (problem.location.line, problem.location.col) == (line, col)
    assert message in problem.message
    assert problem.hint


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(str(tmp_path))
    problem = only_problem(excinfo.value, "io")
    assert (problem.location.file, problem.location.line, problem.location.col) == (str(tmp_path), 1, 1)
    assert "is a directory" in problem.message
    assert "--config" in problem.hint


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    problem = only_problem(excinfo.value, "io")
    assert (problem.location.file, problem.location.line) == (path, 1)
    assert "no such file" in problem.message
    assert "--config" in problem.hint


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(33 * 1024 * 1024)  # sparse: costs no disk and no time
    assert os.path.getsize(path) > MAX_CONFIG_BYTES
    started = time.perf_counter()
    with pytest.raises(ConfigError) as excinfo:
        load_config(str(path))
    assert time.perf_counter() - started < 1
    problem = only_problem(excinfo.value, "io")
    assert "33.0 MiB" in problem.message and "32 MiB" in problem.message
    assert problem.hint


# --- aliases and merge keys --------------------------------------------------------------


def merge_bomb(levels: int = 9, fan_out: int = 9) -> str:
    """A billion laughs through merge keys: the one kind of alias expansion this model walks."""
    lines = ["x-anchors:", "  m0: &m0 {lol: lol}"]
    for level in range(1, levels + 1):
        sources = ", ".join([f"*m{level - 1}"] * fan_out)
        lines.append(f"  m{level}: &m{level} {{<<: [{sources}]}}")
    lines += ["environments:", f"  <<: *m{levels}"]
    return "\n".join(lines) + "\n"


def test_billion_laughs_through_merge_keys_fails_fast(write_config: WriteConfig) -> None:
    text = merge_bomb()
    path = write_config(text)
    started = time.perf_counter()
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert time.perf_counter() - started < 2
    problem = only_problem(excinfo.value, "yaml-alias")
    anchor_lines = {i + 1 for i, line in enumerate(text.split("\n")) if "&m" in line}
    assert problem.location.line in anchor_lines
    assert problem.path == "environments"
    assert "too many values through aliases" in problem.message
    assert "anchors and aliases sparingly" in problem.hint


def test_classic_billion_laughs_is_refused_fast(placeholder_config_text: str, write_config: WriteConfig) -> None:
    # nested lists are never walked as lists of lists (checks are scalars or mappings): refused, not expanded
    laughs = ["x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        laughs.append(f"x-{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    text = "\n".join(laughs) + "\n" + mutate(placeholder_config_text, "  dev_to_stage:\n    required_checks:\n", "  dev_to_stage:\n    required_checks: *i\n    x-old-checks:\n")
    path = write_config(text)
    started = time.perf_counter()
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert time.perf_counter() - started < 2
    paths = {p.path for p in excinfo.value.problems()}
    assert "promotion.dev_to_stage.required_checks[0]" in paths


def test_anchor_alias_and_merge_for_two_environments(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = mutate(
        placeholder_config_text,
        "      dev:\n        project_id: bobs-brain-dev\n        region: us-central1\n        engine_id: TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev\n",
        "      dev: &bob-env\n        project_id: bobs-brain-dev\n        region: us-central1\n        engine_id: TODO-SET-DEV-ENGINE-ID\n        engine_name: bobs-brain-dev\n",
    )
    text = mutate(
        text,
        "      stage:\n        project_id: bobs-brain-stage\n        region: us-central1\n        engine_id: TODO-SET-STAGE-ENGINE-ID\n        engine_name: bobs-brain-stage\n        status: pending\n",
        "      stage:\n        <<: *bob-env\n        project_id: bobs-brain-stage\n        engine_id: TODO-SET-STAGE-ENGINE-ID\n        engine_name: bobs-brain-stage\n",
    )
    config = load_config(write_config(text))
    dev = config.agents["bob"].environments["dev"]
    stage = config.agents["bob"].environments["stage"]
    assert stage.project_id == "bobs-brain-stage"  # the explicit key overrides the merged one
    assert stage.engine_id == "TODO-SET-STAGE-ENGINE-ID"
    assert (stage.region, stage.status) == ("us-central1", "pending")  # merged from dev
    assert stage.loc("project_id").line == where(text, "project_id: bobs-brain-stage\n        engine_id: TODO-SET-STAGE")[0]
    assert dev.project_id == "bobs-brain-dev"
    assert not rules.errors(rules.run(config))


# --- encodings and line endings ----------------------------------------------------------


@pytest.mark.parametrize(("bom", "eol"), [(b"\xef\xbb\xbf", "\n"), (b"", "\r\n"), (b"\xef\xbb\xbf", "\r\n")], ids=["bom", "crlf", "bom-crlf"])
def test_bom_and_crlf_load_with_right_lines(bom: bytes, eol: str, placeholder_config_text: str) -> None:
    config = load_config_bytes("c.yaml", bom + placeholder_config_text.replace("\n", eol).encode())
    stage = config.agents["foreman"].environments["stage"]
    line, col = where(placeholder_config_text, "engine_id: TODO-SET-STAGE-ENGINE-ID\n        engine_name: iam-foreman-stage", "TODO")
    assert (stage.loc("engine_id").line, stage.loc("engine_id").col) == (line, col)
    assert stage.engine_id == "TODO-SET-STAGE-ENGINE-ID"  # no stray \r


@pytest.mark.parametrize(("bom", "eol"), [(b"\xef\xbb\xbf", "\n"), (b"\xef\xbb\xbf", "\r\n")], ids=["bom", "bom-crlf"])
def test_bom_and_crlf_errors_have_right_lines(bom: bytes, eol: str, placeholder_config_text: str) -> None:
    text = set_env_field(placeholder_config_text, "bob", "prod", "engine_id", "0123")
    with pytest.raises(ConfigError) as excinfo:
        load_config_bytes("c.yaml", bom + text.replace("\n", eol).encode())
    problem = only_problem(excinfo.value, "type")
    assert (problem.location.line, problem.location.col) == where(text, "engine_id: 0123", "0123")


# --- several problems --------------------------------------------------------------------


def test_all_problems_reported_sorted_by_line(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = set_env_field(placeholder_config_text, "foreman", "prod", "status", "on")  # last in the file
    text = set_env_field(text, "bob", "dev", "engine_id", "0123")
    text = mutate(text, 'app_version: "0.14.1"', "app_version: 3.10")  # first in the file
    text = mutate(text, "    display_name: Bob's Brain\n", "    display_name: Bob's Brain\n    dispaly_name: Bob\n")
    path, error = load_broken(text, write_config)
    got = [(p.location.line, p.location.col, p.path, p.code) for p in error.problems()]
    assert got == [
        (*where(text, "app_version: 3.10", "3.10"), "app_version", "type"),
        (*where(text, "dispaly_name"), "agents.bob.dispaly_name", "unknown-key"),
        (*where(text, "engine_id: 0123", "0123"), "agents.bob.environments.dev.engine_id", "type"),
        (*where(text, "status: on", "on"), "agents.foreman.environments.prod.status", "type"),
    ]
    assert str(error).startswith(f"{path}:{got[0][0]}:{got[0][1]}: error [type] app_version:")


def test_shipped_config_loads(placeholder_config_path: str) -> None:
    config = load_config(placeholder_config_path)
    assert list(config.agents) == ["bob", "foreman"]
    assert config.environment_order == ["dev", "stage", "prod"]
    assert config.agents["foreman"].agent_dir == "agents/iam-senior-adk-devops-lead"


# --- messages a new user found wanting (issue: the seed's file works unchanged) -----------------


def _only_problem(path: str) -> Problem:
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    problems = excinfo.value.problems()
    assert len(problems) == 1, [p.format() for p in problems]
    return problems[0]


def test_yes_for_a_boolean_says_yaml_reads_it_as_true(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = mutate(placeholder_config_text, "    manual_approval: true\n", "    manual_approval: yes\n")
    problem = _only_problem(write_config(text))
    assert problem.message == "`yes` is ambiguous: YAML 1.1 reads it as true, YAML 1.2 as the string `yes`"
    assert problem.hint == "write `manual_approval: true`"
    assert "got a boolean" not in problem.message


def test_an_impossible_date_says_it_does_not_exist(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = mutate(placeholder_config_text, "last_updated: 2025-12-11", "last_updated: 2025-02-30")
    problem = _only_problem(write_config(text))
    assert problem.message.startswith("the date `2025-02-30` does not exist")
    assert "got a date" not in problem.message


def test_an_unquoted_channel_says_hash_starts_a_comment(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = mutate(placeholder_config_text, 'approval_channel: "#deployments"', "approval_channel: #deployments")
    problem = _only_problem(write_config(text))
    assert problem.path == "promotion.stage_to_prod.approval_channel"
    assert problem.message == "`approval_channel` is empty: `#` starts a YAML comment, so `#deployments` is not its value"
    assert problem.hint == 'quote the value: approval_channel: "#deployments"'
    assert "null" not in problem.message


def test_a_missing_colon_points_at_the_line_with_the_mistake(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = mutate(placeholder_config_text, "    auto_deploy: true\n", "    auto_deploy true\n")
    problem = _only_problem(write_config(text))
    line, col = where(text, "auto_deploy true")
    assert (problem.location.line, problem.location.col) == (line, col)
    assert f"line {line} (`auto_deploy true`) has no `:` after its key" in problem.message
    assert problem.hint == "write `key: value`, with a space after the colon"


@pytest.mark.parametrize("indent", ["\t", "  \t"])
def test_the_tab_error_names_the_tab_once(placeholder_config_text: str, write_config: WriteConfig, indent: str) -> None:
    text = mutate(placeholder_config_text, "    display_name: Bob's Brain", indent + "display_name: Bob's Brain")
    problem = _only_problem(write_config(text))
    assert problem.message.count("tab") == 1, problem.message


def test_the_reserved_name_hint_matches_the_readme(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = mutate(placeholder_config_text, "  foreman:\n", "  com0:\n")
    problem = _only_problem(write_config(text))
    assert "com0-com9, lpt0-lpt9" in problem.hint
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "`com0`-`com9`, `lpt0`-`lpt9`" in readme


def test_a_former_key_name_gets_its_new_name(placeholder_config_text: str, write_config: WriteConfig) -> None:
    text = mutate(placeholder_config_text, "    agent_dir: agents/bob\n", "    directory: agents/bob\n")
    problem = _only_problem(write_config(text))  # one problem: no "agent_dir is missing" as well
    assert (problem.code, problem.path) == ("renamed-key", "agents.bob.directory")
    assert problem.message == "`directory` is called `agent_dir` in schema 1.0.0"
    text = mutate(placeholder_config_text, "    purpose: Production workloads\n", "    description: Production workloads\n")
    assert _only_problem(write_config(text)).message == "`description` is called `purpose` in schema 1.0.0"


def test_pr005_lists_the_expected_keys_in_pipeline_order(write_config: WriteConfig) -> None:
    from conftest import FOUR_ENVS_FIXTURE

    from generator import rules

    text = mutate(FOUR_ENVS_FIXTURE.read_text(encoding="utf-8"), "  preprod_to_prod:\n", "  preprod_to_live:\n")
    found = [v for v in rules.run(load_config(write_config(text))) if v.code == "PR005" and v.path == "promotion.preprod_to_live"]
    # pipeline order, not alphabetical (which would put preprod_to_prod before qa_to_preprod)
    assert [v.hint for v in found] == ["the promotion entries are, in pipeline order: dev_to_qa, qa_to_preprod, preprod_to_prod"]
