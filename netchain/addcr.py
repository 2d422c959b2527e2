"""addcr: a CR before every LF of standard input (ucspi-tcp 0.88's).

    addcr

Arguments are ignored, as by 0.88's.
"""

from . import crlf, filterio

PROG = "addcr"
USAGE = "addcr"


def main(argv):
    return filterio.copy_through(crlf.add_cr)
