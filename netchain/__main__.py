"""python -m netchain PROG args...: run any netchain program."""

import sys

from . import PROGRAMS, runner

if len(sys.argv) < 2:
    sys.stderr.write("netchain: usage: python -m netchain PROG args...\n"
                     "netchain: programs: %s\n" % " ".join(sorted(PROGRAMS)))
    sys.exit(100)
if sys.argv[1] not in PROGRAMS:
    sys.stderr.write("netchain: fatal: unknown program: %s (programs: %s)\n"
                     % (sys.argv[1], " ".join(sorted(PROGRAMS))))
    sys.exit(100)
runner.launch(PROGRAMS[sys.argv[1]], sys.argv[1:])
