"""ucspi-tcp's client scripts (tcpcat, mconnect, who@, date@, finger@,
http@), run as Debian ships them: a /bin/sh pipeline around tcpclient,
here with netchain's own tcpclient, addcr, delcr and mconnect-io."""

import os
import shlex
import sys

from . import errors
from .errstr import error_str


def own(name):
    """Shell words that run netchain's NAME with this interpreter."""
    return shlex.join([sys.executable, "-m", "netchain", name])


def inner(script):
    """A script for sh -c inside the outer one, quoted as one word."""
    return "sh -c " + shlex.quote(script)


def tcpclient(port):
    """Debian's: tcpclient -RHl0 -- "${1-0}" PORT (PORT shell text)."""
    return '%s -RHl0 -- "${1-0}" %s' % (own("tcpclient"), port)


# finger@ and http@: the request goes out with CRs, the answer comes back without
LINE_DIALOGUE = inner("\n  %s >&7\n  exec %s <&6\n" % (own("addcr"), own("delcr")))


def ask_port(prog, port, args):
    """who@ and date@: what the service on port of host $1 says, CRs
    removed, through cat -v."""
    return run(prog, "%s %s | cat -v" % (tcpclient(str(port)), inner("exec %s <&6" % own("delcr"))), args)


def run(prog, text, args):
    """exec /bin/sh -c text, with $0 = prog and $1... = args."""
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    try:
        os.execve("/bin/sh", ["/bin/sh", "-c", text, prog] + list(args), env)
    except OSError as exc:
        raise errors.SystemFailure("unable to run /bin/sh: %s" % error_str(exc.errno)) from None
    return errors.BUG
