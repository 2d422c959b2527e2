"""http@: fetch a page with HTTP/1.0 and print its body (ucspi-tcp 0.88's
script).

    http@ [ host [ page [ port ] ] ]

host defaults to 0 (this machine), page to the root, port to 80.  The
headers are dropped: what follows the first empty line is printed.
"""

from . import ucspiscript as sh

PROG = "http@"
USAGE = "http@ [ host [ page [ port ] ] ]"
REQUEST = 'echo "GET /${2-} HTTP/1.0\nHost: ${1-0}:${3-80}\n"'
BODY = "awk '/^$/ { body=1; next } { if (body) print }'"


def main(argv):
    return sh.run(PROG, "%s | %s %s | %s" % (REQUEST, sh.tcpclient('"${3-80}"'), sh.LINE_DIALOGUE, BODY),
                  argv[1:])
