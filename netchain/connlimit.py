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
    proto = ctx.env.get("PROTO", "TCP")
    limit_text = ctx.env.get(proto + "CONNMAX")
    if limit_text is None:
        return argv
    if not limit_text.isdigit():
        raise errors.BadInput("invalid %sCONNMAX: %r" % (proto, limit_text))
    count_text = ctx.env.get(proto + "CONNNUM")
    if count_text is None or not count_text.isdigit():
        raise errors.BadInput("%sCONNNUM not set or invalid" % proto)
    if int(count_text) >= int(limit_text):
        raise errors.Denied("info: too many %s connections from %s (%s open, max %s)"
                            % (proto, ctx.env.get(proto + "REMOTEIP", "?"), count_text, limit_text))
    return argv


def main(argv):
    return chain.run_alone(sys.modules[__name__], argv)
