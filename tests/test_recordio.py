"""recordio: as Debian's: the lines on stderr (pids aside), the data
passed through, the program's exit code."""

import pytest

from companions import PID_AT_LINE_START, both, same
from conftest import run


def normalise(stderr):
    return PID_AT_LINE_START.sub(b"PID ", stderr)


# Every program reads all its input before it writes: the relay logs the
# end of input before any output, so the order of the lines is fixed (a
# program that echoes as it reads would interleave them by timing), and
# writes its output at once.
LONG_OUTPUT = 'cat >/dev/null; printf "%s\\nab\\n" "$(head -c 700 /dev/zero | tr "\\0" y)"'


@pytest.mark.parametrize("stdin, program", [
    # one write: how separate writes reach the relay depends on timing
    (b"in1\nin2", ["sh", "-c", r'cat >/dev/null; printf "a\nbc\n\n\001\377x"']),
    (b"x" * 700 + b"\nab\n", ["sh", "-c", LONG_OUTPUT]),  # pieces of 256 bytes both ways
    (b"", ["sh", "-c", "cat >/dev/null; echo out; exit 3"]),
    (b"\n\n\n", ["sh", "-c", "cat >/dev/null"]),
])
def test_records_match_ucspi_tcp(stdin, program):
    # the input arrives in writes of 512 bytes: reads of 256 land the same way for both
    ours = same("recordio", *program, stdin=stdin, normalise=normalise)
    assert b" < [EOF]\n" in ours.stderr and ours.stderr.endswith(b" > [EOF]\n")


def test_lines_name_the_programs_pid():
    result = run("recordio", "sh", "-c", "echo $$")
    pid = result.stdout.strip()
    assert result.stderr.splitlines()[-1] == pid + b" > [EOF]"


def test_usage_and_missing_program_match_ucspi_tcp():
    assert same("recordio").returncode == 100
    # the message (from the process that could not exec) and the relay's
    # lines come from two processes: their order is not fixed, and the
    # relay may end (the program's output is over) before it sees the end
    # of its input, in Debian's as in ours
    for result in both("recordio", "/nonexistent/prog"):
        lines = set(normalise(result.stderr).splitlines())
        assert result.returncode == 111
        assert {b"recordio: fatal: unable to run /nonexistent/prog: file does not exist",
                b"PID > [EOF]"} <= lines <= {b"recordio: fatal: unable to run /nonexistent/prog: "
                                            b"file does not exist", b"PID > [EOF]", b"PID < [EOF]"}
