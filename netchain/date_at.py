"""date@: ask host's daytime (port 13): the date (ucspi-tcp 0.88's script).

    date@ [ host ]

host defaults to 0 (this machine).  CRs removed, control characters shown
by cat -v.
"""

from . import ucspiscript as sh

PROG = "date@"
USAGE = "date@ [ host ]"


def main(argv):
    return sh.ask_port(PROG, 13, argv[1:])
