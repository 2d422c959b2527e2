"""tlsd: the server side of TLS over the connection, then the program.

    tlsd [ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ]
         [ -K timeout ] [ -k snilevel ] prog...

s6-tlsd's interface (doc/tlsd.md).  A TLS session cannot cross exec: a
forked relay (no exec) keeps it, does the handshake on fd 0/1 and then
copies between the client and a socketpair; this process waits for the
handshake and execs prog on the socketpair with the SSL_* variables, so
prog keeps the pid the daemon knows.  A failed handshake never runs prog.
Behind tcpserverd, the daemon does all this in its own loop (fused mode,
netchain/fusedrelay.py) with the same Relay.
"""

import os

from . import errors, options, tlsrun

PROG = "tlsd"
USAGE = ("tlsd [ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ]"
         " [ -K timeout ] [ -k snilevel ] prog...")


def parse(argv):
    opts, rest = options.parse(argv, "SsJjYyZzv:K:k:")
    return tlsrun.Config(opts), rest


def main(argv):
    config, rest = parse(argv)
    if not rest:
        raise errors.UsageError("no program to run")
    env = dict(os.environ)
    return tlsrun.serve(PROG, config, rest, env, env)

