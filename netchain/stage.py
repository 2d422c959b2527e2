"""The stage contract: what a chain program that tcpserverd may fuse provides.

A stage is a program that works on one connection and then hands it on:
tcp-env, ident-lookup, tcpserver-access, connlimit, tcpserver-rules (the
rows of netchain.TABLE with stage=True).  Its module provides:

PROG, USAGE
    its name and its usage line (printed as 'PROG: usage: USAGE').
parse(argv) -> (config, rest)
    reads the options in argv (argv[0] is the program's name) once;
    rest is the argv of the next program.  Raises UsageError or BadInput
    (exit 100) for bad options, and checks here, once, what the
    environment must hold for it (DNSCACHEIP, IDENTPORT...).
step(config, ctx, argv) -> argv
    does the work for one connection described by ctx (a
    netchain.chain.Context: env, the connection's descriptor, a deadline,
    log) and returns the argv to continue with (argv itself, or a rule's
    command).  It never execs, never exits, never writes to stdout.  It
    raises Denied (exit 1) to refuse the connection, BadInput (100) for an
    environment it cannot use, another NetchainError for anything else
    (111 system, 2/99 IDENT under -w...); any other exception is a bug.
    Log lines go through ctx.log, or ctx.log_child for a line naming the
    connection's process.  Network text is data: never a format string.
REKEYS   (optional; absent means False)
    True for a stage that replaces the client's address (proxy-server):
    fused, the daemon then leaves its per-IP limit to the stage, which
    moves the connection's count to the real client with ctx.slot.move.
uses_dns(config) -> bool   (optional; absent means False)
    whether step may look names up: the daemon then loads dnspython
    before a privilege drop (and only then: it costs 80 ms and 60 modules).
may_block(config) -> bool   (optional; absent means False)
    whether step may wait on the network (DNS, IDENT): fused, such a
    step runs in a worker thread, never in the accept loop.
WouldBlock   (raised by step, never by anything else)
    fused, step runs in the accept loop unless may_block says it may
    wait; there ctx.may_wait is False, and a step that finds it would
    have to wait after all (an SQL table locked by a writer) raises
    WouldBlock before changing anything: the daemon runs that step again,
    and the rest, in a worker thread, with ctx.may_wait True.  In exec
    mode and in worker threads ctx.may_wait is True: wait, never raise it.
main(argv) -> int
    the program run alone: chain.run_alone(module, argv), which runs
    parse and step on fd 0 and execs the next program.

Exec mode and fused mode therefore run the same code: exec mode through
main in one process per stage, fused mode through parse once and step
per connection inside tcpserverd (netchain.fuse).  Adding a stage is one
module and one row of netchain.TABLE.
"""

REQUIRED = ("PROG", "USAGE", "parse", "step", "main")


class WouldBlock(Exception):
    """step would have to wait, and ctx.may_wait is False (see above)."""


def missing(module):
    """The names of the contract module does not provide."""
    return [name for name in REQUIRED if not hasattr(module, name)]


def uses_dns(module, config):
    """Whether the stage's step may make a DNS lookup."""
    check = getattr(module, "uses_dns", None)
    return bool(check(config)) if check is not None else False


def may_block(module, config):
    """Whether the stage's step may wait on the network."""
    check = getattr(module, "may_block", None)
    return bool(check(config)) if check is not None else False
