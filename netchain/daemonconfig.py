"""tcpserverd's options, read once (see doc/tcpserverd.md)."""

from . import errors, options

DEFAULT_NAME = "tcpserverd"  # the head of log lines without -N


class Config:
    def __init__(self, argv):
        opts, self.prog = options.parse(argv, "1v:c:C:XL:N:M:VT:")
        flags = dict(opts)
        if not self.prog:
            raise errors.UsageError()
        self.announce = "-1" in flags
        self.verbosity = options.number(flags.get("-v", "1"), "-v")
        self.maxconn = options.number(flags.get("-c", "40"), "-c", 1)
        self.localmax = options.number(flags.get("-C", str(self.maxconn)), "-C", 1)
        self.fuse = "-X" not in flags
        self.style = flags.get("-L", "s6")
        if self.style not in ("s6", "ucspi"):
            raise errors.UsageError("-L takes s6 or ucspi")
        self.name = flags.get("-N", DEFAULT_NAME)
        self.counters_path = flags.get("-M")
        self.table = "-V" in flags  # indimail's -V: the connection table after each change
        # -T: an in-process program's connection is cut after this many seconds
        self.cut_after = options.number(flags["-T"], "-T", 1) if "-T" in flags else None
