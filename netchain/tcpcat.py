"""tcpcat: print what a server sends (ucspi-tcp 0.88's script).

    tcpcat [ host [ port ] ]

host defaults to 0 (this machine), port to 17.
"""

from . import ucspiscript as sh

PROG = "tcpcat"
USAGE = "tcpcat [ host [ port ] ]"


def main(argv):
    return sh.run(PROG, "exec %s %s" % (sh.tcpclient('"${2-17}"'), sh.inner("exec cat <&6")), argv[1:])
