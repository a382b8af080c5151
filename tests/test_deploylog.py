"""deploylog: the reasoning engine a deploy's output names."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from generator import deploylog
from generator.errors import ConfigError, ExitCode

DEV = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/4971253843961757696"
DEV_NUMBER = "4971253843961757696"
OTHER = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/3315572609187643392"

# What `python agents/bob/deploy.py` prints with the Agent Engine SDK: its logger (which names
# the engine by project *number*, also inside the operation's name and a `get(...)` hint) and
# the script's own summary lines.
SDK_DEPLOY_OUTPUT = """\
Deploying bob to bobs-brain-dev (us-central1)...
INFO:vertexai.agent_engines:Identified the following requirements: {'google-cloud-aiplatform': '1.112.0'}
INFO:vertexai.agent_engines:Using bucket bobs-brain-dev-staging
INFO:vertexai.agent_engines:Wrote to gs://bobs-brain-dev-staging/agent_engine/agent_engine.pkl
INFO:vertexai.agent_engines:Creating AgentEngine
INFO:vertexai.agent_engines:Create AgentEngine backing LRO: projects/205354194989/locations/us-central1/reasoningEngines/4971253843961757696/operations/6371480125468852224
INFO:vertexai.agent_engines:View progress and logs at https://console.cloud.google.com/logs/query?project=bobs-brain-dev
INFO:vertexai.agent_engines:AgentEngine created. Resource name: projects/205354194989/locations/us-central1/reasoningEngines/4971253843961757696
INFO:vertexai.agent_engines:To use this AgentEngine in another session:
INFO:vertexai.agent_engines:agent_engine = vertexai.agent_engines.get('projects/205354194989/locations/us-central1/reasoningEngines/4971253843961757696')

Deployment complete.
   Resource Name: projects/bobs-brain-dev/locations/us-central1/reasoningEngines/4971253843961757696
   Engine ID: 4971253843961757696
   Query: https://us-central1-aiplatform.googleapis.com/v1/projects/bobs-brain-dev/locations/us-central1/reasoningEngines/4971253843961757696:query
"""


def problems_of(text: str, name: str = "deploy.log") -> list:
    with pytest.raises(ConfigError) as caught:
        deploylog.engine_from_log(text, name)
    assert caught.value.exit_code == ExitCode.CONFIG
    return caught.value.problems()


@pytest.mark.parametrize(
    ("line", "engine"),
    [
        (f"   Resource Name: {DEV}", DEV),
        (f"Engine ID: {DEV_NUMBER}", DEV_NUMBER),
        (f"engine_id: {DEV_NUMBER}", DEV_NUMBER),
        (f"ENGINE ID = {DEV_NUMBER}", DEV_NUMBER),
        (f'engine_id: "{DEV_NUMBER}"', DEV_NUMBER),
        (f"created {DEV}", DEV),
        (f"POST https://us-central1-aiplatform.googleapis.com/v1/{DEV}:query", DEV),
        (f"GET https://example/v1/{DEV}/sessions/123456", DEV),
        (f"engine = agent_engines.get('{DEV}')", DEV),
    ],
)
def test_one_engine(line: str, engine: str) -> None:
    assert deploylog.engine_from_log(f"starting\n{line}\ndone\n", "deploy.log") == engine


def test_mentions_carry_line_column_and_kind() -> None:
    mentions = deploylog.find_engines(f"a\n   Resource Name: {DEV}\n   Engine ID: {DEV_NUMBER}\nsee {DEV}:query\n")
    assert [(m.line, m.col, m.kind) for m in mentions] == [
        (2, 19, deploylog.MentionKind.RESOURCE_NAME_LINE),
        (3, 15, deploylog.MentionKind.ENGINE_ID_LINE),
        (4, 5, deploylog.MentionKind.RESOURCE_NAME),
    ]
    assert {m.number for m in mentions} == {DEV_NUMBER}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Deploying...\nfailed: permission denied\n",
        "engine_id: TODO-SET-DEV-ENGINE-ID\n",
        "projects/p/locations/l/reasoningEngines/\n",  # no number
        "projects/p/locations/l/reasoningEngines/12abc\n",  # not a number
        "my_engine_id: 123\nreasoning_engine_id: 456\n",  # another label that ends in engine_id
        "Engine IDs: 123\n",
    ],
)
def test_none_found(text: str) -> None:
    (problem,) = problems_of(text, "out/deploy.log")
    assert problem.code == "deploy-log"
    assert (problem.location.file, problem.location.line, problem.location.col) == ("out/deploy.log", 1, 1)
    assert problem.message.startswith("no reasoning engine found in out/deploy.log; looked for `Resource Name: projects/.../reasoningEngines/N`, `Engine ID: N` or a resource name")
    assert "--engine-id" in problem.hint


def test_two_distinct_engines_are_refused_with_each_line() -> None:
    text = f"first deploy\n   Resource Name: {DEV}\n   Engine ID: {DEV_NUMBER}\nsecond deploy\n   Resource Name: {OTHER}\n"
    first, second = problems_of(text)
    assert (first.location.line, first.location.col) == (2, 19)
    assert (second.location.line, second.location.col) == (5, 19)
    assert f"`{DEV}`, is on lines 2, 3" in first.message
    assert f"`{OTHER}`, is on line 5" in second.message
    assert "2 different reasoning engines" in first.message
    assert first.code == second.code == "deploy-log-ambiguous"
    assert "--engine-id" in first.hint


def test_two_bare_numbers_are_two_engines() -> None:
    assert len(problems_of("Engine ID: 1\nEngine ID: 2\n")) == 2


def test_same_engine_in_two_forms_is_one_and_the_full_name_wins() -> None:
    assert deploylog.engine_from_log(f"Engine ID: {DEV_NUMBER}\nthen\n   Resource Name: {DEV}\n", "x") == DEV
    assert deploylog.engine_from_log(f"{DEV}\n{DEV}:query\nEngine ID: {DEV_NUMBER}\n", "x") == DEV


def test_same_number_in_two_locations_is_ambiguous() -> None:
    europe = DEV.replace("us-central1", "europe-west1")
    assert len(problems_of(f"{DEV}\n{europe}\n")) == 2


def test_realistic_sdk_deploy_output() -> None:
    # The SDK names the engine by project number, the script by project ID: one engine, and the
    # `Resource Name:` line's form is the one returned.
    assert deploylog.engine_from_log(SDK_DEPLOY_OUTPUT, "deploy.log") == DEV
    lines = sorted({m.line for m in deploylog.find_engines(SDK_DEPLOY_OUTPUT)})
    assert lines == [6, 8, 10, 13, 14, 15]


def test_ansi_colour_codes_do_not_matter() -> None:
    text = f"\x1b[1;32m✔\x1b[0m Deployed\n\x1b[36m   Resource Name:\x1b[0m \x1b[1m{DEV}\x1b[0m\n\x1b]0;title\x07   \x1b[33mEngine ID:\x1b[0m {DEV_NUMBER}\x1b[K\n"
    assert deploylog.engine_from_log(text, "x") == DEV
    kinds = [m.kind for m in deploylog.find_engines(text)]
    assert kinds == [deploylog.MentionKind.RESOURCE_NAME_LINE, deploylog.MentionKind.ENGINE_ID_LINE]


def test_crlf_does_not_matter() -> None:
    crlf = SDK_DEPLOY_OUTPUT.replace("\n", "\r\n")
    assert deploylog.engine_from_log(crlf, "x") == DEV
    assert [m.line for m in deploylog.find_engines(crlf)] == [m.line for m in deploylog.find_engines(SDK_DEPLOY_OUTPUT)]
    assert deploylog.engine_from_log(f"Engine ID: {DEV_NUMBER}\r\n", "x") == DEV_NUMBER


def test_recognised_patterns_are_data_and_each_example_is_recognised() -> None:
    assert len(deploylog.RECOGNISED) == 3
    for description, example in deploylog.RECOGNISED:
        assert description and example
        assert deploylog.engine_from_log(example, "example").endswith("5732961048817152000")


# --- reading the log --------------------------------------------------------------------------


def test_read_log_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "deploy.log"
    path.write_bytes(SDK_DEPLOY_OUTPUT.encode())
    assert deploylog.read_log(str(path)) == (str(path), SDK_DEPLOY_OUTPUT)
    assert deploylog.read_log("-", io.BytesIO(b"Engine ID: 7\n")) == ("<stdin>", "Engine ID: 7\n")


def test_read_log_replaces_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "deploy.log"
    path.write_bytes(b"caf\xe9 \xff\n   Resource Name: " + DEV.encode() + b"\n")
    name, text = deploylog.read_log(str(path))
    assert "\ufffd" in text
    assert deploylog.engine_from_log(text, name) == DEV


def test_read_log_utf16_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "deploy.log"
    path.write_bytes(f"   Resource Name: {DEV}\r\n".encode("utf-16"))  # PowerShell's `>`
    assert deploylog.engine_from_log(deploylog.read_log(str(path))[1], "x") == DEV
    path.write_bytes(b"\xef\xbb\xbfEngine ID: 5\n")
    assert deploylog.read_log(str(path))[1] == "Engine ID: 5\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "missing.log"), "no such file"),
        (lambda tmp: str(tmp), "is a directory, not a deploy log"),
    ],
)
def test_read_log_errors(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(ConfigError) as caught:
        deploylog.read_log(path)
    (problem,) = caught.value.problems()
    assert caught.value.exit_code == ExitCode.CONFIG
    assert problem.location.file == path
    assert problem.message == message
    assert problem.hint


def test_read_log_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(b"x" * 101)
    assert deploylog.read_log(str(path), max_bytes=101)[1] == "x" * 101
    with pytest.raises(ConfigError, match="larger than"):
        deploylog.read_log(str(path), max_bytes=100)
    with pytest.raises(ConfigError, match="larger than"):
        deploylog.read_log("-", io.BytesIO(b"x" * 101), max_bytes=100)
    assert deploylog.MAX_LOG_BYTES == 64 * 1024 * 1024
