"""ledger: one file per entry; names sort and never collide; entries load as strictly as the config."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import mutate, where

from generator import ledger
from generator.errors import ConfigError, ExitCode, WriteRefused
from generator.ledger import Action
from generator.paths import ledger_dir

DEV_1 = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/4971253843961757696"
DEV_2 = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/3315572609187643392"
DEV_3 = "projects/bobs-brain-dev/locations/us-central1/reasoningEngines/7740384128936263680"
AT = "2026-01-20T09:30:15.123456Z"


def make_entry(**changes: object) -> ledger.Entry:
    fields: dict[str, object] = {
        "agent": "bob",
        "env": "dev",
        "action": Action.RECORD,
        "engine_before": "TODO-SET-DEV-ENGINE-ID",
        "engine_after": DEV_1,
        "status_before": "pending",
        "status_after": "deployed",
        "by": "Jane Doe",
        "at": AT,
    }
    fields.update(changes)
    return ledger.new_entry(**fields)  # type: ignore[arg-type]


def problems_of(path: Path) -> list:
    with pytest.raises(ConfigError) as caught:
        ledger.parse_entry(str(path), path.read_bytes())
    assert caught.value.exit_code == ExitCode.CONFIG
    return caught.value.problems()


# --- names ------------------------------------------------------------------------------------


def test_ledger_dir_is_beside_the_config() -> None:
    assert Path(ledger_dir("config/agent_engine_envs.yaml")) == Path("config/ledger")
    assert ledger_dir("c.yaml") == "ledger"
    assert Path(ledger_dir("/x/y/c.yaml")) == Path("/x/y/ledger")


def test_a_name_says_time_agent_env_action_engine() -> None:
    entry = make_entry()
    assert entry.key.startswith("20260120T093015.123456Z.bob.dev.record.4971253843961757696.")
    name = ledger.parse_name(entry.key)
    assert name is not None
    assert (name.at, name.agent, name.env, name.action, name.engine) == (AT, "bob", "dev", Action.RECORD, "4971253843961757696")
    placeholder = make_entry(action=Action.ROLLBACK, engine_after="TODO-X")
    assert ".bob.dev.rollback.none." in placeholder.key
    assert ledger.parse_name(placeholder.key).engine is None  # type: ignore[union-attr]


def test_names_made_in_a_tight_loop_are_unique_and_sorted() -> None:
    names = [make_entry(at=None).key for _ in range(1000)]
    assert len(set(names)) == 1000
    assert names == sorted(names)
    parsed = [ledger.parse_name(name) for name in names]
    assert all(parsed)
    times = [name.at for name in parsed if name]
    assert times == sorted(times) and len(set(times)) == 1000  # strictly increasing, even within a microsecond


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("notes.md", "does not end in `.yaml`"),
        ("20260120T093015.123456Z.bob.dev.record.4971253843961757696.yaml", "6 dot-separated parts"),
        ("20260120T093015.123456Z.bob.dev.deploy.4971253843961757696.3fa9c1.yaml", "`deploy` is not an action"),
        ("20260120T093015.123456Z.Bob.dev.record.4971253843961757696.3fa9c1.yaml", ""),
        ("20261320T093015.123456Z.bob.dev.record.4971253843961757696.3fa9c1.yaml", ""),  # month 13
        ("20260120T093015Z.bob.dev.record.4971253843961757696.3fa9c1.yaml", "6 dot-separated parts"),  # no microseconds
        ("20260120T093015.123456Z.bob.dev.record.4971253843961757696.3FA9C1.yaml", ""),
        ("20260120T093015.123456Z.bob.dev.record.TODO.3fa9c1.yaml", ""),
    ],
)
def test_scan_reports_a_file_that_is_not_an_entry(tmp_path: Path, name: str, why: str) -> None:
    (tmp_path / name).write_text("x")
    (tmp_path / make_entry().key).write_text("x")
    with pytest.raises(ConfigError) as caught:
        ledger.scan(tmp_path)
    assert caught.value.exit_code == ExitCode.CONFIG
    (problem,) = caught.value.problems()
    assert problem.location.file == str(tmp_path / name)
    assert problem.code == "ledger-name"
    assert f"`{name}` in the ledger folder is not a ledger entry's name" in problem.message
    assert why in problem.message
    assert ledger.NAME_FORMAT in problem.hint and ledger.NAME_EXAMPLE in problem.hint


def test_scan_sorts_by_time_skips_dotfiles_and_opens_nothing(tmp_path: Path) -> None:
    later = make_entry(at="2026-02-01T00:00:00.000000Z", env="stage")
    earlier = make_entry(at="2026-01-01T00:00:00.000001Z")
    for entry in (later, earlier):
        (tmp_path / entry.key).write_text("not even YAML: scan reads names only {[")
    (tmp_path / ".gitkeep").write_text("")
    (tmp_path / f".{later.key}.x1y2.tmp").write_text("")  # an interrupted write
    assert [name.name for name in ledger.scan(tmp_path)] == [earlier.key, later.key]
    assert [name.at for name in ledger.scan(tmp_path)] == [earlier.at, later.at]  # the entries' own times, from the names
    assert ledger.scan(tmp_path / "missing") == []
    assert ledger.NAME_EXAMPLE and ledger.parse_name(ledger.NAME_EXAMPLE)


def test_scan_of_a_file_instead_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "ledger").write_text("")
    with pytest.raises(ConfigError, match="the ledger must be a folder"):
        ledger.scan(tmp_path / "ledger")


# --- writing ----------------------------------------------------------------------------------


def test_written_entry_format(tmp_path: Path) -> None:
    entry = make_entry(link="https://ci.example/run/42", commit="a" * 40, override_freeze=True, details={"unit_tests": "passed"})
    path = ledger.write_entry(tmp_path / "ledger", entry)
    assert path == (tmp_path / "ledger" / entry.key).resolve()
    assert path.read_text() == (
        "# promotion ledger entry: written by promotion record; do not edit\n"
        f'at: "{AT}"\n'
        'agent: "bob"\n'
        'env: "dev"\n'
        'action: "record"\n'
        'engine_before: "TODO-SET-DEV-ENGINE-ID"\n'
        f'engine_after: "{DEV_1}"\n'
        'status_before: "pending"\n'
        'status_after: "deployed"\n'
        'by: "Jane Doe"\n'
        'link: "https://ci.example/run/42"\n'
        f'commit: "{"a" * 40}"\n'
        "override_freeze: true\n"
        "details:\n"
        '  "unit_tests": "passed"\n'
    )
    (loaded,) = ledger.load_entries(tmp_path / "ledger")
    assert loaded.key == entry.key
    assert [getattr(loaded, f.name) for f in ledger.Entry.KIND.fields] == [getattr(entry, f.name) for f in ledger.Entry.KIND.fields]
    assert loaded.action is Action.RECORD
    assert not [name for name in os.listdir(tmp_path / "ledger") if name.startswith(".")]  # no temp file left


def test_optional_fields_are_left_out(tmp_path: Path) -> None:
    text = ledger.render_entry(make_entry())
    for name in ("link", "commit", "override_freeze", "details"):
        assert f"\n{name}:" not in text
    path = ledger.write_entry(tmp_path, make_entry())
    (loaded,) = ledger.load_entries(tmp_path)
    assert (loaded.link, loaded.commit, loaded.override_freeze, loaded.details) == (None, None, False, None)
    assert path.exists()


@pytest.mark.parametrize(
    "by",
    ['Jane "JD" Doe', "back\\slash", "new\nline", "tab\there", "Zoë Ørsted", "emoji 🚀", "esc\x1b[31m", "nul\x00", "ls\u2028ps\u2029nel\x85", "bom\ufeff", "yes", "# not a comment", "{a: b}"],
)
def test_every_string_round_trips(tmp_path: Path, by: str) -> None:
    ledger.write_entry(tmp_path, make_entry(by=by, link=by))
    (loaded,) = ledger.load_entries(tmp_path)
    assert (loaded.by, loaded.link) == (by, by)


def test_an_existing_name_is_never_overwritten(tmp_path: Path) -> None:
    entry = make_entry()
    (tmp_path / entry.key).write_text("someone's entry\n")
    with pytest.raises(WriteRefused) as caught:
        ledger.write_entry(tmp_path, entry)
    assert caught.value.problems()[0].code == "ledger-exists"
    assert (tmp_path / entry.key).read_text() == "someone's entry\n"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"agent": "Bob"}, "agent"),
        ({"status_after": "live"}, "status_after"),
        ({"by": ""}, "by"),
        ({"commit": "abc"}, "commit"),
        ({"details": {"Not An Identifier": "x"}}, "details.Not An Identifier"),
    ],
)
def test_an_entry_that_would_not_read_back_is_not_written(tmp_path: Path, changes: dict, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ledger.write_entry(tmp_path / "ledger", make_entry(**changes))
    assert path in [problem.path for problem in caught.value.problems()]
    assert not (tmp_path / "ledger").exists()


# --- git: people, commits, merges -------------------------------------------------------------

GIT_ID = ["-c", "user.name=Tester", "-c", "user.email=tester@example.com", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No global or system git config: the tests see only what they set."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def test_two_branches_that_each_record_merge_without_conflict(tmp_path: Path, isolated_git: None) -> None:
    repo = tmp_path / "repo"
    folder = repo / "config" / "ledger"
    folder.mkdir(parents=True)
    git(repo, "init", "-q")
    ledger.write_entry(folder, make_entry(at=None))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "dev-deploy")
    ledger.write_entry(folder, make_entry(at=None, env="stage", engine_after=DEV_2))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "record stage")
    git(repo, "checkout", "-q", "main")
    ledger.write_entry(folder, make_entry(at=None, agent="foreman", engine_after=DEV_3))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "record foreman")
    git(repo, "merge", "-q", "--no-edit", "dev-deploy")
    assert git(repo, "status", "--porcelain") == ""
    names = ledger.scan(folder)
    assert [(n.agent, n.env) for n in names] == [("bob", "dev"), ("bob", "stage"), ("foreman", "dev")]
    assert len(ledger.load_entries(folder)) == 3


def test_default_by_and_current_commit(tmp_path: Path, isolated_git: None, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    git(repo, "init", "-q")
    assert ledger.current_commit(repo / "config") is None  # no commit yet
    git(repo, "config", "user.name", "Jane Doe")
    assert ledger.default_by(repo / "config") == "Jane Doe"
    (repo / "config" / "c.yaml").write_text("x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "c")
    assert ledger.current_commit(repo / "config") == git(repo, "rev-parse", "HEAD").strip()

    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert ledger.current_commit(outside) is None
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "osuser")
    assert ledger.default_by(outside) == "osuser"

    def no_user() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert ledger.default_by(outside) == "unknown"
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    assert ledger.current_commit(repo) is None
    assert ledger.default_by(repo) == "unknown"


# --- broken entries ---------------------------------------------------------------------------


def written(tmp_path: Path, **changes: object) -> tuple[Path, str]:
    path = ledger.write_entry(tmp_path, make_entry(**changes))
    return path, path.read_text()


@pytest.mark.parametrize(
    ("old", "new", "needle", "at", "path", "code", "words"),
    [
        ('by: "Jane Doe"\n', 'by: "Jane Doe"\nby: "Eve"\n', 'by: "Eve"', "by", "by", "yaml-duplicate-key", "duplicate key `by`"),
        ('by: "Jane Doe"\n', 'by: "Jane Doe"\napproved_by: "Eve"\n', "approved_by", None, "approved_by", "unknown-key", "unknown key `approved_by`"),
        ('by: "Jane Doe"\n', 'by: "Jane Doe"\nlnik: "x"\n', "lnik", None, "lnik", "unknown-key", "unknown key `lnik`"),
        ('by: "Jane Doe"\n', "by: yes\n", "by: yes", "yes", "by", "type", "expected a string, got a boolean"),
        ('by: "Jane Doe"\n', "by: 0123\n", "by: 0123", "0123", "by", "type", "expected a string, got an integer"),
        (f'at: "{AT}"\n', f"at: {AT}\n", f"at: {AT}", AT, "at", "type", "expected a string, got a date"),
        (f'at: "{AT}"\n', 'at: "2026-01-20T10:30:15.123456+01:00"\n', '"2026-01-20T10:30:15.123456+01:00"', None, "at", "pattern", "is not a valid at"),
        (f'at: "{AT}"\n', 'at: "2026-01-20T09:30:15Z"\n', '"2026-01-20T09:30:15Z"', None, "at", "pattern", "is not a valid at"),
        ('status_after: "deployed"\n', 'status_after: "live"\n', '"live"', None, "status_after", "enum", "is not one of: pending, deployed, validated"),
        ('action: "record"\n', 'action: "deploy"\n', '"deploy"', None, "action", "enum", "is not one of: record, rollback, approve, checks"),
        ('by: "Jane Doe"\n', "", "agent:", None, "by", "missing", "required key `by` is missing"),
        ('by: "Jane Doe"\n', 'by: "Jane Doe"\noverride_freeze: "yes"\n', '"yes"', None, "override_freeze", "type", "expected true or false"),
        ('by: "Jane Doe"\n', 'by: "Jane Doe"\ndetails:\n  "unit_tests": true\n', "true", None, "details.unit_tests", "type", "expected a string, got a boolean"),
        ('by: "Jane Doe"\n', 'by: !!python/object:os.system "Jane"\n', "!!python", None, "by", "yaml-tag", "is not allowed"),
        ('by: "Jane Doe"\n', 'by: "Jane Doe\n', 'by: "Jane Doe', None, "", "yaml-syntax", "YAML syntax error"),
    ],
)
def test_a_broken_entry_is_located(tmp_path: Path, old: str, new: str, needle: str, at: str | None, path: str, code: str, words: str) -> None:
    file, text = written(tmp_path)
    text = mutate(text, old, new)
    file.write_text(text)
    problems = problems_of(file)
    assert [p.code for p in problems] == [code], [p.format() for p in problems]
    (problem,) = problems
    assert problem.location.file == str(file)
    assert problem.path == path
    assert words in problem.message
    assert problem.hint
    if code == "missing":
        assert (problem.location.line, problem.location.col) == (2, 1)  # the mapping that lacks it
    elif code == "yaml-syntax":
        assert problem.location.line >= where(text, needle)[0]
    else:
        assert (problem.location.line, problem.location.col) == where(text, needle, at)


def test_yaml_trap_hints_say_how_to_quote(tmp_path: Path) -> None:
    file, text = written(tmp_path)
    file.write_text(mutate(text, f'at: "{AT}"\n', f"at: {AT}\n"))
    (problem,) = problems_of(file)
    assert "quote it" in problem.hint


@pytest.mark.parametrize("at", ["2026-02-30T09:30:15.123456Z", "2026-13-01T09:30:15.123456Z", "2026-01-01T25:00:00.000000Z", "2026-01-01T24:00:00.000000Z", "2026-01-01T23:60:00.000000Z"])
def test_a_time_that_does_not_exist(tmp_path: Path, at: str) -> None:
    """Hour 24 too, which Python's fromisoformat reads as the next midnight from 3.14 on."""
    entry = make_entry(at=at)
    (tmp_path / entry.key).write_text(ledger.render_entry(entry))
    problems = problems_of(tmp_path / entry.key)  # its file name may not parse either
    assert [p for p in problems if p.path == "at" and "is not a real time" in p.message], problems


def test_an_empty_or_binary_entry(tmp_path: Path) -> None:
    file, _ = written(tmp_path)
    file.write_text("# only a comment\n")
    assert [p.code for p in problems_of(file)] == ["empty"]
    file.write_bytes(b"\x00\x01")
    assert [p.code for p in problems_of(file)] == ["encoding"]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('agent: "bob"\n', 'agent: "foreman"\n', "agent"),
        ('env: "dev"\n', 'env: "stage"\n', "env"),
        ('action: "record"\n', 'action: "rollback"\n', "action"),
        (f'engine_after: "{DEV_1}"\n', f'engine_after: "{DEV_2}"\n', "engine_after"),
        (f'engine_after: "{DEV_1}"\n', 'engine_after: "TODO-X"\n', "engine_after"),
        (f'at: "{AT}"\n', 'at: "2026-01-20T09:30:15.123457Z"\n', "at"),  # one microsecond off
    ],
)
def test_content_must_agree_with_the_name(tmp_path: Path, old: str, new: str, field: str) -> None:
    file, text = written(tmp_path)
    text = mutate(text, old, new)
    file.write_text(text)
    (problem,) = problems_of(file)
    assert problem.code == "ledger-mismatch"
    assert problem.path == field
    assert "the file was renamed or edited after it was written" in problem.message
    assert (problem.location.line, problem.location.col) == where(text, new.rstrip("\n"), new.split(": ", 1)[1].rstrip("\n"))
    assert "git checkout" in problem.hint


def test_a_renamed_file_is_caught(tmp_path: Path) -> None:
    file, _ = written(tmp_path)
    renamed = file.with_name(file.name.replace(".bob.", ".foreman."))
    file.rename(renamed)
    with pytest.raises(ConfigError) as caught:
        ledger.load_entries(tmp_path)
    (problem,) = caught.value.problems()
    assert problem.location.file == str(tmp_path / renamed.name)
    assert "file name says agent `foreman` but the entry says `bob`" in problem.message


def test_load_entries_reports_every_broken_file_at_once(tmp_path: Path) -> None:
    first, text1 = written(tmp_path, at="2026-01-01T00:00:00.000000Z")
    second, text2 = written(tmp_path, at="2026-01-02T00:00:00.000000Z")
    first.write_text(mutate(text1, 'by: "Jane Doe"\n', "by: no\n"))
    second.write_text(mutate(text2, 'env: "dev"\n', 'env: "prod"\n'))
    with pytest.raises(ConfigError) as caught:
        ledger.load_entries(tmp_path)
    assert [(os.path.basename(p.location.file), p.path) for p in caught.value.problems()] == [(first.name, "by"), (second.name, "env")]


def test_the_entry_class_is_its_declarations() -> None:
    declared = {field.name for field in ledger.Entry.KIND.fields}
    assert set(ledger.Entry.__annotations__) - {"key"} == declared
    assert set(ledger.Entry.__slots__) == declared | {"key"}


# --- questions --------------------------------------------------------------------------------


def timeline() -> list[ledger.Entry]:
    """bob in dev: a placeholder, then DEV_1, DEV_2, DEV_3, a rollback to DEV_2; approvals around."""
    return [
        make_entry(at="2026-01-01T00:00:00.000000Z", engine_before="TODO-SET-DEV-ENGINE-ID", engine_after=DEV_1),
        make_entry(at="2026-01-02T00:00:00.000000Z", action=Action.APPROVE, engine_before=DEV_1, engine_after=DEV_1),
        make_entry(at="2026-01-03T00:00:00.000000Z", engine_before=DEV_1, engine_after=DEV_2),
        make_entry(at="2026-01-03T12:00:00.000000Z", env="stage", engine_before="TODO", engine_after=DEV_3),
        make_entry(at="2026-01-04T00:00:00.000000Z", engine_before=DEV_2, engine_after=DEV_3),
        make_entry(at="2026-01-05T00:00:00.000000Z", action=Action.ROLLBACK, engine_before=DEV_3, engine_after=DEV_2, status_after="validated"),
        make_entry(at="2026-01-06T00:00:00.000000Z", action=Action.CHECKS, engine_before=DEV_2, engine_after=DEV_2, details={"unit_tests": "passed"}),
    ]


def number(resource: str) -> str:
    return resource.rsplit("/", 1)[1]


def test_latest_engine_from_entries_and_from_names(tmp_path: Path) -> None:
    entries = timeline()
    assert ledger.latest_engine(entries, "bob", "dev") == number(DEV_2)
    assert ledger.latest_engine(entries, "bob", "stage") == number(DEV_3)
    assert ledger.latest_engine(entries, "bob", "prod") is None
    for entry in entries:
        ledger.write_entry(tmp_path, entry)
    names = ledger.scan(tmp_path)
    assert ledger.latest_engine(names, "bob", "dev") == number(DEV_2)


def test_history_is_newest_first_and_filters() -> None:
    entries = timeline()
    dev = ledger.history(entries, "bob", "dev")
    assert [e.at for e in dev] == sorted((e.at for e in entries if e.env == "dev"), reverse=True)
    assert len(ledger.history(entries)) == len(entries)
    assert [e.env for e in ledger.history(entries, env="stage")] == ["stage"]
    assert ledger.history(entries, agent="foreman") == []


def test_previous_engines_for_a_rollback() -> None:
    entries = timeline()
    # Now on DEV_2 again (since the rollback): before it ran DEV_3, and before that DEV_1.
    offered = ledger.previous_engines(entries, "bob", "dev", DEV_2)
    assert [(p.engine, p.since, p.until) for p in offered] == [
        (DEV_3, "2026-01-04T00:00:00.000000Z", "2026-01-05T00:00:00.000000Z"),
        (DEV_1, "2026-01-01T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"),
    ]
    assert offered[0].entry is entries[4]
    # A bare number is the same engine as its resource name.
    assert [p.number for p in ledger.previous_engines(entries, "bob", "dev", number(DEV_2))] == [number(DEV_3), number(DEV_1)]
    # Nothing before the first real engine (the placeholder is never offered).
    assert ledger.previous_engines(entries[:1], "bob", "dev", DEV_1) == []


def test_previous_engines_offer_what_ran_before_the_first_entry() -> None:
    first = make_entry(at="2026-01-01T00:00:00.000000Z", engine_before=DEV_1, engine_after=DEV_2, status_before="validated")
    (offered,) = ledger.previous_engines([first], "bob", "dev", DEV_2)
    assert (offered.engine, offered.since, offered.until, offered.entry) == (DEV_1, None, "2026-01-01T00:00:00.000000Z", None)


def test_previous_engines_when_the_config_was_edited_by_hand() -> None:
    # The config names an engine the ledger never set: every engine the ledger knows is "before".
    offered = ledger.previous_engines(timeline(), "bob", "dev", "projects/p/locations/l/reasoningEngines/42")
    assert [p.engine for p in offered] == [DEV_2, DEV_3, DEV_1]
