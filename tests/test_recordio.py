"""recordio: as Debian's: the lines on stderr (pids aside), the data
passed through, the program's exit code."""

import pytest

from companions import PID_AT_LINE_START, same
from conftest import run


def normalise(stderr):
    return PID_AT_LINE_START.sub(b"PID ", stderr)


@pytest.mark.parametrize("stdin, program", [
    (b"in1\nin2", ["sh", "-c", r'cat >/dev/null; printf "a\nb"; printf "c\n\n"; printf "\001\377x"']),
    (b"x" * 700 + b"\nab\n", ["cat"]),         # pieces of 256 bytes
    (b"", ["sh", "-c", "echo out; exit 3"]),
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
    result = same("recordio", "/nonexistent/prog", normalise=normalise)
    assert result.returncode == 111
