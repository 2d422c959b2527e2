"""ident-lookup: set TCPREMOTEINFO from the peer's identd (RFC 1413).

    ident-lookup [ -w ] [ -t timeout ] prog...

TCPREMOTEINFO is set to the answer, or unset when there is none (never
left stale).  With -w a failure ends the connection instead: exit 2 for
an ERROR answer, 99 for a timeout, 111 otherwise.
"""

import sys

from . import chain, identclient, options, tcp_env

PROG = "ident-lookup"
USAGE = "ident-lookup [ -w ] [ -t timeout ] prog..."


class Config:
    def __init__(self, opts):
        flags = dict(opts)
        self.strict = "-w" in flags
        self.timeout = options.number(flags.get("-t", "5000"), "-t") / 1000


def parse(argv):
    opts, rest = options.parse(argv, "wt:")
    tcp_env.check_lookup_settings(False, True)
    return Config(opts), rest


def may_block(config):
    return True


def step(config, ctx, argv):
    tcp_env.fill_from_socket(ctx)
    try:
        ctx.env["TCPREMOTEINFO"] = identclient.query_env(ctx.env, ctx.remaining(config.timeout))
    except identclient.IdentFailed as exc:
        ctx.env.pop("TCPREMOTEINFO", None)
        if config.strict:
            raise
        ctx.log("%s: warning: %s" % (PROG, exc))
    return argv


def main(argv):
    return chain.run_alone(sys.modules[__name__], argv)
