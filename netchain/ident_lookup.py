"""ident-lookup: set TCPREMOTEINFO from the peer's identd (RFC 1413).

    ident-lookup [ -w ] [ -t timeout ] prog...

TCPREMOTEINFO is set to the answer, or unset when there is none (never
left stale).  With -w a failure ends the connection instead: exit 2 for
an ERROR answer, 99 for a timeout, 111 otherwise.
"""

import sys

from . import chain, conn, identclient, lookups, options

PROG = "ident-lookup"
USAGE = "ident-lookup [ -w ] [ -t timeout ] prog..."


class Config:
    def __init__(self, opts):
        flags = dict(opts)
        self.strict = "-w" in flags
        self.lookups = lookups.Lookups(
            ident=True, timeout=options.number(flags.get("-t", "5000"), "-t") / 1000)
        self.lookups.check_settings()


def parse(argv):
    opts, rest = options.parse(argv, "wt:")
    return Config(opts), rest


def may_block(config):
    return True


def step(config, ctx, argv):
    """Set TCPREMOTEINFO from the client's identd, or unset it.  Raises,
    under -w only, IdentError (2), IdentTimeout (99) or IdentFailed (111);
    BadInput (100) for invalid TCP variables.  Waits on the network."""
    conn.fill_from_socket(ctx)
    try:
        ctx.env["TCPREMOTEINFO"] = config.lookups.remote_info(ctx)
    except identclient.IdentFailed as exc:
        ctx.env.pop("TCPREMOTEINFO", None)
        if config.strict:
            raise
        ctx.log("%s: warning: %s" % (PROG, exc))
    return argv


def main(argv):
    return chain.run_alone(sys.modules[__name__], argv)
