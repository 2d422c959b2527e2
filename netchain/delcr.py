"""delcr: the CR of every CR LF of standard input removed (ucspi-tcp 0.88's).

    delcr

A CR that ends a partial last line is kept.  Arguments are ignored, as by
0.88's.
"""

from . import crlf, filterio

PROG = "delcr"
USAGE = "delcr"


def main(argv):
    remover = crlf.RemoveCR()
    return filterio.copy_through(remover, remover.end)
