"""Text from data shown as text: Streamlit renders st.error, st.info, st.markdown... as Markdown, so
app.components.as_text backslash-escapes what would otherwise become an image, a link or bold."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.components import as_text
from app.job_status import problem
from workers.queueing import JobOutcome

# CommonMark: a backslash before an ASCII punctuation character shows that character itself.
ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_seen(markdown: str) -> str:
    """What a person reads once Markdown has resolved the backslash escapes."""
    return ESCAPE.sub(r"\1", markdown)


def unescaped_punctuation(markdown: str) -> list[str]:
    """Punctuation left without its backslash: each could open a Markdown construct."""
    return [c for c in ESCAPE.sub("", markdown) if c in string.punctuation]


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ("![x](http://example.invalid/a.png)", r"\!\[x\]\(http\:\/\/example\.invalid\/a\.png\)"),
        ("[click](http://example.invalid)", r"\[click\]\(http\:\/\/example\.invalid\)"),
        ("**bold** _it_ `code` ~~gone~~", r"\*\*bold\*\* \_it\_ \`code\` \~\~gone\~\~"),
        ("# not a heading", r"\# not a heading"),
        ("1. not a list", r"1\. not a list"),
        ("&lt;b&gt; <b>x</b>", r"\&lt\;b\&gt\; \<b\>x\<\/b\>"),  # entities stay as typed
        (":red[x] costs $1 to $2", r"\:red\[x\] costs \$1 to \$2"),  # Streamlit's colour, math
        ("a \\ b", r"a \\ b"),  # a backslash of the data escapes nothing of ours
        ("Größe 5 – 10 µm 日本", "Größe 5 – 10 µm 日本"),  # only ASCII punctuation is escaped
        ("", ""),
    ],
)
def test_markdown_in_data_is_escaped(data: str, shown: str) -> None:
    assert as_text(data) == shown
    assert as_seen(as_text(data)) == data
    assert unescaped_punctuation(as_text(data)) == []


def test_lines_stay_lines_without_their_indentation() -> None:
    """Four spaces would start a code block, where the backslashes would show."""
    quoted = "row 7:\n    ![x](http://e/a.png)\n\tnext"
    assert as_text(quoted) == "row 7\\:\n\\!\\[x\\]\\(http\\:\\/\\/e\\/a\\.png\\)\nnext"


def test_any_value_is_shown_as_its_str() -> None:
    assert as_text(ValueError("amount '*3*' is not a number")) == (
        r"amount \'\*3\*\' is not a number"
    )
    assert as_text(42) == "42"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))))
def test_what_a_person_reads_is_the_data(data: str) -> None:
    lines = [line.lstrip() for line in data.splitlines()]
    shown = as_text(data)
    assert unescaped_punctuation(shown) == []
    assert as_seen(shown) == "\n".join(lines)


def outcome(state: str, result: object = None, failure: str | None = None) -> JobOutcome:
    return JobOutcome("job-1", state, "", None, result, failure)


def test_a_jobs_problem_shows_its_error_as_text() -> None:
    """The sentence the Sync and Advertising pages show when a worker's job did not do its work."""
    error = "File [click](http://example.invalid) is not a report"
    assert problem(outcome("finished", {"error": error})) == as_text(error)
    crashed = outcome("failed", failure="Traceback ...\nValueError: bad **value**\n")
    assert problem(crashed) == (
        r"The worker could not finish: ValueError\: bad \*\*value\*\* (its log has the details)."
    )
    assert problem(outcome("finished", {"count": 3})) is None
