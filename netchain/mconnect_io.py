"""mconnect-io: the terminal side of mconnect (ucspi-tcp 0.88's).

    mconnect-io

Run by tcpclient: standard input goes to the server on fd 7 with a CR
before every LF; what the server sends on fd 6 goes to standard output as
it is.  Ends (exit 0) when the server's side ends; the end of standard
input does not close fd 7, and an error reading or writing ends it as EOF
does, with exit 0 (both as 0.88's).
"""

from . import crlf, errors, relay

PROG = "mconnect-io"
USAGE = "mconnect-io"


def main(argv):
    typed = relay.Flow(0, 7, crlf.add_cr)
    answers = relay.Flow(6, 1)
    try:
        relay.pump([typed, answers], answers)
    except OSError:
        pass
    return errors.OK
