"""mconnect: talk to an SMTP server by hand (ucspi-tcp 0.88's script).

    mconnect [ host [ port ] ]

host defaults to 0 (this machine), port to 25; mconnect-io adds the CRs.
"""

from . import ucspiscript as sh

PROG = "mconnect"
USAGE = "mconnect [ host [ port ] ]"


def main(argv):
    return sh.run(PROG, "exec %s %s" % (sh.tcpclient('"${2-25}"'), sh.own("mconnect-io")), argv[1:])
