"""tcpserver-bind: create a TCP socket, bind, listen, drop privileges, exec.

    tcpserver-bind [ -d | -D ] [ -r ] [ -b backlog ] [ -1 ] [ -U | -u uid -g gid -G gidlist ]
                   host port prog...

The listening socket is left on fd 0 for the next program (tcpserverd).
host: an IPv4 or IPv6 address, 0 (every IPv4 address), :: (every IPv4
and IPv6 address: dual stack, IPv4 peers appear as IPv4) or a name.
"""

import os

from . import chain, errors, listener, options, privs

PROG = "tcpserver-bind"
USAGE = ("tcpserver-bind [ -d | -D ] [ -r ] [ -b backlog ] [ -1 ] [ -U | -u uid -g gid -G gidlist ]"
         " host port prog...")


def main(argv):
    opts, rest = options.parse(argv, "dDrb:1Uu:g:G:")
    flags = dict(opts)
    if len(rest) < 3:
        raise errors.UsageError()
    backlog = options.number(flags["-b"], "-b") if "-b" in flags else -1
    reuse = True
    for flag, _ in opts:  # the last of -d / -D wins
        reuse = {"-d": True, "-D": False}.get(flag, reuse)
    ids = privs.parse_ids(flags.get("-u"), flags.get("-g"), flags.get("-G"), "-U" in flags)
    family, sockaddr = listener.resolve(rest[0], rest[1])
    sock = listener.listen(family, sockaddr, backlog, reuse, share="-r" in flags)
    if "-1" in flags:
        listener.announce(sock)
    os.dup2(sock.fileno(), 0)  # dup2 makes fd 0 inheritable
    sock.close()
    next_program = chain.prepare_next(rest[2:])  # before the drop: see prepare_next
    privs.drop(*ids)
    if next_program is not None:
        return next_program()
    chain.exec_into(rest[2:], dict(os.environ))
    return 0
