"""Side-by-side helpers for ucspi-tcp's companion programs: run ours and
Debian's on the same input and compare what matters."""

import re

from conftest import need, run, run_ref

PID_AT_LINE_START = re.compile(rb"^\d+ ", re.M)


def both(prog, *args, stdin=b"", env=None, timeout=60):
    """(ours, Debian's) CompletedProcess for prog args."""
    need(prog)
    return (run(prog, *args, input=stdin, env=env, timeout=timeout),
            run_ref(prog, *args, input=stdin, env=env, timeout=timeout))


def same(prog, *args, stdin=b"", env=None, normalise=lambda text: text):
    """Assert ours and Debian's agree on exit code, stdout and stderr."""
    ours, theirs = both(prog, *args, stdin=stdin, env=env)
    assert (ours.returncode, ours.stdout, normalise(ours.stderr)) == \
        (theirs.returncode, theirs.stdout, normalise(theirs.stderr))
    return ours
