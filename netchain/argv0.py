"""argv0: run a program with another 0th argument (ucspi-tcp 0.88's).

    argv0 realname program [ arg ... ]

Runs the program found as realname (on PATH when it has no slash) with
argv[0] = program.  No options: the first word is realname whatever it is.
"""

import os

from . import errors
from .errstr import error_str

PROG = "argv0"
USAGE = "argv0 realname program [ arg ... ]"


def main(argv):
    if len(argv) < 3:
        raise errors.UsageError()
    realname = argv[1]
    try:
        os.execvp(realname, argv[2:])
    except OSError as exc:
        raise errors.SystemFailure("unable to run %s: %s" % (realname, error_str(exc.errno))) from None
    return errors.BUG
