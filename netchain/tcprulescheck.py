"""tcprulescheck: say which tcprules rule applies, as ucspi-tcp 0.88 does.

    tcprulescheck rules.cdb

Looks up TCPREMOTEIP (default 0.0.0.0), TCPREMOTEHOST and TCPREMOTEINFO
in ucspi-tcp's order and prints the rule and what it does.
"""

import os
import sys

from . import errors, options
from .rules import cdbfile, djb, keys
from .errstr import error_str

PROG = "tcprulescheck"
USAGE = "tcprulescheck rules.cdb"


def explain(path, ip, host, info):
    """Return tcprulescheck's output lines (bytes) for one lookup."""
    reader = cdbfile.CdbReader(path)
    try:
        for key in keys.djb_keys(ip, host, info):
            value = reader.get(os.fsencode(key))
            if value is not None:
                return [b"rule " + os.fsencode(key) + b":"] + djb.explain(value)
        return [b"default:", b"allow connection"]
    finally:
        reader.close()


def main(argv):
    _, args = options.parse(argv, "")
    if not args:
        raise errors.UsageError()
    env = os.environ
    try:
        lines = explain(args[0], env.get("TCPREMOTEIP", "0.0.0.0"),
                        env.get("TCPREMOTEHOST"), env.get("TCPREMOTEINFO"))
    except cdbfile.CorruptCdb:
        raise errors.SystemFailure("unable to read %s: protocol error" % args[0]) from None
    except OSError as exc:
        raise errors.SystemFailure("unable to read %s: %s"
                                   % (args[0], error_str(exc.errno))) from None
    sys.stdout.buffer.write(b"".join(line + b"\n" for line in lines))
    return 0
