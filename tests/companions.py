"""Side-by-side helpers for ucspi-tcp's companion programs: run ours and
Debian's on the same input and compare what matters."""

import re

from hypothesis import strategies as st

from conftest import need, run, run_ref

PID_AT_LINE_START = re.compile(rb"^\d+ ", re.M)
# input for the CR/LF converters: random bytes, or runs of CR, LF and CR LF
CRLF_HEAVY = st.binary(max_size=200) | st.lists(st.sampled_from([b"\r", b"\n", b"a", b"\r\n"])).map(b"".join)


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
