"""connlimit: the per-IP limit taken from rules, like s6-connlimit.

    connlimit prog...

With ${PROTO}CONNMAX set (by a rule), exits 1 when ${PROTO}CONNNUM (set by
tcpserverd: connections already open from this IP) reaches it.
"""

import sys

from . import chain, errors, options

PROG = "connlimit"
USAGE = "connlimit prog..."


def parse(argv):
    _, rest = options.parse(argv, "")
    return None, rest


def step(config, ctx, argv):
    """Deny (exit 1) when ${PROTO}CONNNUM has reached ${PROTO}CONNMAX;
    BadInput (100) for a value that is not a number.  Never waits."""
    proto = ctx.env.get("PROTO", "TCP")
    limit_text = ctx.env.get(proto + "CONNMAX")
    if limit_text is None:
        return argv
    limit = options.scan(limit_text, proto + "CONNMAX")
    count_text = ctx.env.get(proto + "CONNNUM")
    if count_text is None:
        raise errors.BadInput("%sCONNNUM not set" % proto)
    if options.scan(count_text, proto + "CONNNUM") >= limit:
        raise errors.Denied("info: too many %s connections from %s (%s open, max %s)"
                            % (proto, ctx.env.get(proto + "REMOTEIP", "?"), count_text, limit_text))
    return argv


def main(argv):
    return chain.run_alone(sys.modules[__name__], argv)
