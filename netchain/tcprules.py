"""tcprules: compile djb's text rules into a cdb, as ucspi-tcp 0.88 does.

    tcprules rules.cdb rules.tmp

Reads rules on stdin, writes TMP, fsyncs, renames TMP to CDB.  Same
messages and exit codes as the C program; unlike it, a failed run also
removes TMP (which it had created or truncated) instead of leaving half a
cdb lying there.
"""

import sys

from . import errors, options, regfile
from .rules import cdbfile, djb
from .errstr import error_str

PROG = "tcprules"
USAGE = "tcprules rules.cdb rules.tmp"


def _fail(text, exc):
    return errors.SystemFailure("%s: %s" % (text, error_str(exc.errno)))


def compile_stream(stream, cdb_path, temp_path):
    """Compile a binary stream of rules lines into cdb_path via temp_path,
    with tcprules' messages for each step that can fail."""
    try:
        regfile.write_atomic(cdb_path, lambda handle: _write(handle, stream), temp_path,
                              regfile.umasked(0o644))
    except regfile.WriteFailed as exc:
        text = {"create": "unable to create " + temp_path,
                "write": "unable to write to " + temp_path,
                "rename": "unable to move %s to %s" % (temp_path, cdb_path)}[exc.step]
        raise _fail(text, exc.cause) from None


def _write(handle, stream):
    try:
        cdbfile.write_pairs(handle, *_records(stream))
    except djb.ParseError as exc:
        raise errors.BadInput(str(exc)) from None
    except _InputError as exc:
        raise _fail("unable to read input", exc.cause) from None


class _InputError(Exception):
    """Reading stdin failed (kept apart from errors writing the cdb)."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


def _records(stream):
    try:
        data = stream.read()
    except OSError as exc:
        raise _InputError(exc) from None
    return djb.parse_text(data)


def main(argv):
    _, args = options.parse(argv, "")
    if len(args) < 2:
        raise errors.UsageError()
    compile_stream(sys.stdin.buffer, args[0], args[1])
    return 0
