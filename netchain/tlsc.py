"""tlsc: the client side of TLS over a tcpclient connection, then the program.

    tlsc [ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ] [ -K timeout ]
         [ -k servername ] [ -6 rfd ] [ -7 wfd ] prog...

s6-tlsc's interface (doc/tlsc.md), placed after tcpclient: the server is
on fd 6 (read) and fd 7 (write), or -6/-7; the certificate chain is
verified against CAFILE or CADIR (one of them is required), and with -k
the server's name too, which is also sent as SNI.  prog then reads
plaintext on fd 6 and writes on fd 7, with the SSL_* variables set.  The
relay is tlsd's (netchain/tlsrun.py), on the client side.
"""

import os

from . import errors, options, tlsconf, tlsrun

PROG = "tlsc"
USAGE = ("tlsc [ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ] [ -K timeout ]"
         " [ -k servername ] [ -6 rfd ] [ -7 wfd ] prog...")
PROGRAM_FDS = (6, 7)


def parse(argv):
    opts, rest = options.parse(argv, "SsJjYyZzv:K:k:6:7:")
    return tlsrun.Config(opts, server_side=False, net_fds=PROGRAM_FDS), rest


def main(argv):
    config, rest = parse(argv)
    if not rest:
        raise errors.UsageError("no program to run")
    env = dict(os.environ)
    if not (env.get("CAFILE") or env.get("CADIR")):
        raise errors.BadInput("CAFILE or CADIR must be set: the server is always verified")
    send_certificate = config.policy.verify == tlsconf.REQUIRE_CERTIFICATE  # -y
    if send_certificate and not env.get("CERTFILE"):
        raise errors.TlsConfigError("-y given but CERTFILE is not set")
    named = dict(env)
    if not send_certificate:
        for name in ("KEYFILE", "CERTFILE"):
            named.pop(name, None)  # -Y: no client certificate, whatever is set
    return tlsrun.serve(PROG, config, rest, env, named)
