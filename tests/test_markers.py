"""The CLAUDE.md section: only the bytes between the markers ever change."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from generator import markers
from generator.errors import WriteRefused
from generator.markers import BEGIN_TEMPLATE, END_TEMPLATE, update_section
from generator.writer import digest

SOURCE = "config/promotion.yaml"
BODY = "## Promotion\n\n- agent `scout`: ready\n"
NEW_BODY = "## Promotion\n\n- agent `scout`: ready\n- agent `scribe`: blocked\n"
BOM = b"\xef\xbb\xbf"


def read_section(existing: bytes, *, file: str = "CLAUDE.md") -> str | None:
    """The body between the markers as LF text, or None without a section (test oracle)."""
    span = markers._find_section(existing, file)
    if span is None:
        return None
    _, body_start, end_start, _, _ = span
    return existing[body_start:end_start].replace(b"\r\n", b"\n").decode("utf-8", errors="replace")


def begin_line(source: str = SOURCE) -> bytes:
    return BEGIN_TEMPLATE.format(source=source).encode()


def end_line(body: bytes) -> bytes:
    return END_TEMPLATE.format(digest=digest(body)).encode()


def section(body: str = BODY, eol: bytes = b"\n") -> bytes:
    """The section as update_section writes it, without the END line's ending."""
    data = body.encode()
    lines = [begin_line(), *data.removesuffix(b"\n").split(b"\n"), end_line(data)]
    return eol.join(lines)


def refused(excinfo: pytest.ExceptionInfo[WriteRefused]) -> tuple[str, int, str]:
    (problem,) = excinfo.value.problems()
    return problem.code, problem.location.line, problem.message


# --- create and append -------------------------------------------------------------


def test_no_file_creates_just_the_section() -> None:
    result = update_section(None, BODY, SOURCE)
    assert result == section() + b"\n"
    assert b"\r" not in result
    assert read_section(result) == BODY


def test_empty_body() -> None:
    result = update_section(None, "", SOURCE)
    assert result == begin_line() + b"\n" + end_line(b"") + b"\n"
    assert read_section(result) == ""


def test_body_without_final_newline_gets_one() -> None:
    assert update_section(None, "one line", SOURCE) == update_section(None, "one line\n", SOURCE)


@pytest.mark.parametrize(
    ("existing", "expected_prefix", "eol"),
    [
        pytest.param(b"# Notes\n", b"# Notes\n\n", b"\n", id="lf"),
        pytest.param(b"# Notes\r\nmore\r\n", b"# Notes\r\nmore\r\n\r\n", b"\r\n", id="crlf"),
        pytest.param(b"# Notes\nno final newline", b"# Notes\nno final newline\n\n", b"\n", id="no-final-newline"),
        pytest.param(b"a\r\nb\r\nc", b"a\r\nb\r\nc\r\n\r\n", b"\r\n", id="crlf-no-final-newline"),
        pytest.param(b"# Notes\n\n", b"# Notes\n\n", b"\n", id="already-blank-line"),
        pytest.param(BOM + b"# Notes\n", BOM + b"# Notes\n\n", b"\n", id="bom"),
        pytest.param(b"", b"", b"\n", id="empty-file"),
        pytest.param(BOM, BOM, b"\n", id="bom-only"),
        pytest.param(
            b"---\ntitle: Notes\n---\n# Notes\n",
            b"---\ntitle: Notes\n---\n# Notes\n\n",
            b"\n",
            id="front-matter",
        ),
        pytest.param(
            b"# Notes\n<!-- BEGIN other -->\nx\n<!-- END other -->\n",
            b"# Notes\n<!-- BEGIN other -->\nx\n<!-- END other -->\n\n",
            b"\n",
            id="other-tools-section",
        ),
        pytest.param(
            b"Mentions <!-- BEGIN promotion --> in prose.\n",
            b"Mentions <!-- BEGIN promotion --> in prose.\n\n",
            b"\n",
            id="marker-text-mid-line",
        ),
        pytest.param(
            b"<!-- BEGIN promotional -->\n<!-- END promotion-other -->\n",
            b"<!-- BEGIN promotional -->\n<!-- END promotion-other -->\n\n",
            b"\n",
            id="similar-names",
        ),
    ],
)
def test_no_markers_appends_section(existing: bytes, expected_prefix: bytes, eol: bytes) -> None:
    result = update_section(existing, BODY, SOURCE)
    assert result == expected_prefix + section(eol=eol) + eol
    assert read_section(result) == BODY


def test_dominant_line_ending_wins_in_a_mixed_file() -> None:
    existing = b"a\r\nb\r\nc\nd\r\n"
    result = update_section(existing, BODY, SOURCE)
    assert result == existing + b"\r\n" + section(eol=b"\r\n") + b"\r\n"


# --- replace ------------------------------------------------------------------------

OUTSIDE_CASES = [
    pytest.param(b"# Notes\n\n", b"\nAfter.\n", b"\n", id="lf"),
    pytest.param(b"# Notes\r\n\r\n", b"\r\nAfter.\r\n", b"\r\n", id="crlf"),
    pytest.param(b"# Notes\n\n", b"", b"\n", id="section-at-end-no-final-newline"),
    pytest.param(b"# Notes\n\n", b"\nno final newline", b"\n", id="no-final-newline-after"),
    pytest.param(BOM, b"\nAfter.\n", b"\n", id="bom-then-section"),
    pytest.param(BOM + b"# Notes\r\n", b"\r\n", b"\r\n", id="bom-crlf"),
    pytest.param(b"---\r\ntitle: x\r\n---\r\n", b"\r\n# Body\r\n", b"\r\n", id="front-matter-crlf"),
    pytest.param(
        b"<!-- BEGIN other -->\nkeep me\n<!-- END other -->\n",
        b"\n<!-- BEGIN other2 -->\n<!-- END other2 -->\n",
        b"\n",
        id="other-tools-sections",
    ),
    pytest.param(b"# Notes  \n\t\n", b"\n  trailing spaces  \n\n\n", b"\n", id="whitespace-outside"),
]


@pytest.mark.parametrize(("before", "after", "eol"), OUTSIDE_CASES)
def test_replace_keeps_everything_outside_byte_identical(before: bytes, after: bytes, eol: bytes) -> None:
    end_eol = b"" if after == b"" else eol
    existing = before + section(BODY, eol) + end_eol + after
    result = update_section(existing, NEW_BODY, SOURCE)
    assert result == before + section(NEW_BODY, eol) + end_eol + after
    assert read_section(result) == NEW_BODY
    # Running again with the same body changes nothing.
    assert update_section(result, NEW_BODY, SOURCE) == result


def test_replace_keeps_the_end_lines_own_ending() -> None:
    # The file is LF-dominant, but the END line ends in CRLF: that ending is outside.
    existing = b"a\nb\nc\n" + section(BODY, b"\n") + b"\r\nafter\n"
    result = update_section(existing, NEW_BODY, SOURCE)
    assert result == b"a\nb\nc\n" + section(NEW_BODY, b"\n") + b"\r\nafter\n"


def test_hand_written_markers_without_hash_are_filled() -> None:
    existing = b"# Notes\n\n<!-- BEGIN promotion -->\nTODO\n<!-- END promotion -->\nAfter\n"
    result = update_section(existing, BODY, SOURCE)
    assert result == b"# Notes\n\n" + section() + b"\nAfter\n"


@pytest.mark.parametrize(
    "markers",
    [
        pytest.param((b"  <!-- BEGIN promotion -->  ", b"\t<!-- END promotion -->"), id="indented"),
        pytest.param((b"<!-- BEGIN promotion: anything -->", b"<!-- END promotion-->"), id="compact"),
    ],
)
def test_marker_lines_are_recognised_after_stripping(markers: tuple[bytes, bytes]) -> None:
    existing = b"x\n" + markers[0] + b"\nold\n" + markers[1] + b"\ny\n"
    assert update_section(existing, BODY, SOURCE) == b"x\n" + section() + b"\ny\n"


def test_begin_on_first_line_after_bom() -> None:
    existing = BOM + section() + b"\n"
    result = update_section(existing, NEW_BODY, SOURCE)
    assert result == BOM + section(NEW_BODY) + b"\n"


def test_source_change_rewrites_begin_line() -> None:
    existing = update_section(None, BODY, SOURCE)
    result = update_section(existing, BODY, "other.yaml")
    assert result.startswith(begin_line("other.yaml") + b"\n")


def test_non_utf8_bytes_outside_are_kept() -> None:
    before = b"caf\xe9 latin-1\n\n"
    existing = before + section() + b"\n"
    assert update_section(existing, NEW_BODY, SOURCE) == before + section(NEW_BODY) + b"\n"


def test_unicode_body() -> None:
    body = "Prüfung ✓ — 日本\n"
    result = update_section(None, body, SOURCE)
    assert body.encode() in result
    assert read_section(result) == body


# --- broken markers -----------------------------------------------------------------

B = b"<!-- BEGIN promotion -->"
E = b"<!-- END promotion -->"


@pytest.mark.parametrize(
    ("existing", "line", "words"),
    [
        pytest.param(b"# x\n\n" + B + b"\nbody\n", 3, ["BEGIN", "line 3", "no END"], id="lone-begin"),
        pytest.param(b"# x\nbody\n" + E + b"\n", 3, ["END", "line 3", "no BEGIN"], id="lone-end"),
        pytest.param(b"a\n" + E + b"\nb\n" + B + b"\n", 2, ["line 2", "before", "line 4"], id="end-before-begin"),
        pytest.param(B + b"\n" + B + b"\n" + E + b"\n", 1, ["2 BEGIN", "line 1, 2", "line 3"], id="two-begins"),
        pytest.param(B + b"\n" + E + b"\n" + E + b"\n", 1, ["1 BEGIN", "2 END", "line 2, 3"], id="two-ends"),
        pytest.param(
            b"x\n" + B + b"\n" + E + b"\n\n" + B + b"\n" + E + b"\n",
            2,
            ["2 BEGIN", "line 2, 5", "line 3, 6"],
            id="two-sections",
        ),
        pytest.param(b"x\r\n" + B + b"\r\n", 2, ["line 2"], id="lone-begin-crlf"),
        pytest.param(BOM + E + b"\n", 1, ["line 1"], id="lone-end-after-bom"),
    ],
)
def test_broken_markers_are_refused_with_line(existing: bytes, line: int, words: list[str]) -> None:
    with pytest.raises(WriteRefused) as excinfo:
        update_section(existing, BODY, SOURCE, file="docs/CLAUDE.md")
    code, got_line, message = refused(excinfo)
    assert (code, got_line) == ("markers", line)
    for word in words:
        assert word in message
    (problem,) = excinfo.value.problems()
    assert problem.location.file == "docs/CLAUDE.md"
    assert problem.hint
    # --force does not repair broken markers, and read_section refuses the same way.
    with pytest.raises(WriteRefused):
        update_section(existing, BODY, SOURCE, force=True)
    with pytest.raises(WriteRefused):
        read_section(existing)


# --- hand edits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda s: s.replace(b"ready", b"READY"), id="changed-line"),
        pytest.param(lambda s: s.replace(b"## Promotion\n", b"## Promotion\nextra\n"), id="added-line"),
        pytest.param(lambda s: s.replace(b"\n\n- agent", b"\n- agent"), id="removed-line"),
    ],
)
def test_hand_edited_section_is_refused_then_forced(edit: Callable[[bytes], bytes]) -> None:
    original = b"# Notes\n\n" + update_section(None, BODY, SOURCE) + b"After\n"
    edited = edit(original)
    assert edited != original
    with pytest.raises(WriteRefused) as excinfo:
        update_section(edited, NEW_BODY, SOURCE)
    code, line, message = refused(excinfo)
    assert (code, line) == ("hand-edited", 3)
    assert "edited by hand" in message
    assert "--force" in excinfo.value.problems()[0].hint

    forced = update_section(edited, NEW_BODY, SOURCE, force=True)
    assert forced == b"# Notes\n\n" + section(NEW_BODY) + b"\nAfter\n"


def test_whole_file_converted_to_crlf_is_not_a_hand_edit() -> None:
    original = b"# Notes\n\n" + update_section(None, BODY, SOURCE)
    converted = original.replace(b"\n", b"\r\n")
    result = update_section(converted, NEW_BODY, SOURCE)
    assert result == b"# Notes\r\n\r\n" + section(NEW_BODY, b"\r\n") + b"\r\n"


def test_edited_end_hash_is_a_hand_edit() -> None:
    original = update_section(None, BODY, SOURCE)
    tampered = original.replace(b"sha256=", b"sha256=0")
    with pytest.raises(WriteRefused) as excinfo:
        update_section(tampered, BODY, SOURCE)
    assert refused(excinfo)[0] == "hand-edited"


# --- the body itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "text\n<!-- BEGIN promotion -->\n",
        "<!-- END promotion sha256=abc -->\n",
        "ok\n   <!-- END promotion -->   \nok\n",
    ],
)
def test_body_containing_a_marker_line_is_refused(body: str) -> None:
    for existing in (None, b"# Notes\n"):
        with pytest.raises(WriteRefused) as excinfo:
            update_section(existing, body, SOURCE)
        assert refused(excinfo)[0] == "markers"
        assert "body" in refused(excinfo)[2]


def test_body_mentioning_a_marker_mid_line_is_fine() -> None:
    body = "Do not edit between `<!-- BEGIN promotion -->` and the END marker.\n"
    result = update_section(None, body, SOURCE)
    assert read_section(result) == body


def test_source_that_would_break_the_begin_line_is_a_bug() -> None:
    with pytest.raises(ValueError, match="marker line"):
        update_section(None, BODY, "a -->\nb")


# --- read_section -------------------------------------------------------------------


def test_read_section_without_markers() -> None:
    assert read_section(b"# Notes\n") is None
    assert read_section(b"") is None


def test_read_section_normalises_crlf() -> None:
    assert read_section(section(BODY, b"\r\n") + b"\r\n") == BODY
