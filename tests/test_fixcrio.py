"""fixcrio: as Debian's, both directions, on random input."""

from hypothesis import given, settings
from hypothesis import strategies as st

from companions import same

CRLF_HEAVY = st.lists(st.sampled_from([b"\r", b"\n", b"a", b"\r\n", b"\0"]), max_size=40).map(b"".join)
# the program copies its input, then writes lines of its own, some without CR
PROGRAM = ["sh", "-c", r'cat; printf "x\ny\r\nz\r\r\n\nend"']


@settings(max_examples=20, deadline=None)
@given(CRLF_HEAVY)
def test_random_input_matches_ucspi_tcp(data):
    result = same("fixcrio", *PROGRAM, stdin=data)
    assert result.stdout.endswith(b"x\r\ny\r\nz\r\r\n\r\nend")


def test_program_exit_code_and_pid_are_its_own():
    result = same("fixcrio", "sh", "-c", "cat >/dev/null; exit 7", stdin=b"a\n")
    assert result.returncode == 7


def test_usage_and_missing_program_match_ucspi_tcp():
    assert same("fixcrio").returncode == 100
    result = same("fixcrio", "/nonexistent/prog")
    assert result.returncode == 111
    assert result.stderr == b"fixcrio: fatal: unable to run /nonexistent/prog: file does not exist\n"


def test_a_large_output_while_input_is_still_coming():
    """Neither direction waits for the other: the program writes 1 MB
    before it reads a byte."""
    program = ["sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' '\\n'; cat"]
    result = same("fixcrio", *program, stdin=b"q\n" * 50000)
    assert result.stdout == b"\r\n" * 1048576 + b"q\r\n" * 50000
