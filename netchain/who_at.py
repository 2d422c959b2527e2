"""who@: ask host's systat (port 11): who is logged in (ucspi-tcp 0.88's script).

    who@ [ host ]

host defaults to 0 (this machine).  CRs removed, control characters shown
by cat -v.
"""

from . import ucspiscript as sh

PROG = "who@"
USAGE = "who@ [ host ]"


def main(argv):
    return sh.ask_port(PROG, 11, argv[1:])
