"""argv0: as Debian's: the 0th argument, PATH search, errors."""

import pytest

from companions import same


def test_program_sees_the_zeroth_argument():
    result = same("argv0", "/bin/sh", "-fancy", "-c", 'echo "$0 $*"', "first", "second")
    assert result.stdout == b"first second\n"
    # found on PATH; the shell's own command line shows the name it was given
    result = same("argv0", "sh", "zeroth-name", "-c", "cat /proc/$$/cmdline")
    assert result.stdout.startswith(b"zeroth-name\0-c\0")


@pytest.mark.parametrize("args, code", [
    ([], 100), (["/bin/sh"], 100),
    (["/nonexistent/prog", "x"], 111), (["no-such-program-here", "x"], 111),
    (["/etc/hostname", "x"], 111), (["-z", "x"], 111), (["/tmp", "x"], 111),
])
def test_errors_match_ucspi_tcp(args, code):
    assert same("argv0", *args).returncode == code
