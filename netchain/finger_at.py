"""finger@: ask host's finger server (port 79) about user (ucspi-tcp 0.88's
script).

    finger@ [ host [ user ] ]

host defaults to 0 (this machine), user to nobody in particular (the
list of users).  Control characters are shown by cat -v.
"""

from . import ucspiscript as sh

PROG = "finger@"
USAGE = "finger@ [ host [ user ] ]"


def main(argv):
    return sh.run(PROG, 'echo "${2-}" | %s %s | cat -v' % (sh.tcpclient("79"), sh.LINE_DIALOGUE), argv[1:])
