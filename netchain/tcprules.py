"""tcprules: compile djb's text rules into a cdb, as ucspi-tcp 0.88 does.

    tcprules rules.cdb rules.tmp

Reads rules on stdin, writes TMP, fsyncs, renames TMP to CDB.  Same
messages and exit codes as the C program; unlike it, a failed run also
removes TMP (which it had created or truncated) instead of leaving half a
cdb lying there.
"""

import os
import sys

from . import errors, options
from .rules import cdbfile, djb
from .errstr import error_str

PROG = "tcprules"
USAGE = "tcprules rules.cdb rules.tmp"


def _fail(text, exc):
    return errors.SystemFailure("%s: %s" % (text, error_str(exc.errno)))


def compile_stream(stream, cdb_path, temp_path):
    """Compile a binary stream of rules lines into cdb_path via temp_path."""
    try:
        fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as exc:
        raise _fail("unable to create " + temp_path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            _write(handle, stream, temp_path)
        try:
            os.rename(temp_path, cdb_path)
        except OSError as exc:
            raise _fail("unable to move %s to %s" % (temp_path, cdb_path), exc) from None
    except BaseException:
        try:
            os.unlink(temp_path)
        except OSError:
            pass
        raise


def _write(handle, stream, temp_path):
    try:
        cdbfile.write_pairs(handle, *_records(stream))
    except djb.ParseError as exc:
        raise errors.BadInput(str(exc)) from None
    except _InputError as exc:
        raise _fail("unable to read input", exc.cause) from None
    except OSError as exc:
        raise _fail("unable to write to " + temp_path, exc) from None


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
