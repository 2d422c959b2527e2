"""tcpserverd's options, read once (see doc/tcpserverd.md)."""

from . import errors, options, regfile

DEFAULT_NAME = "tcpserverd"  # the head of log lines without -N


class Config:
    def __init__(self, argv):
        opts, self.prog = options.parse(argv, "1v:c:C:XL:N:M:VT:I:")
        flags = dict(opts)
        if not self.prog:
            raise errors.UsageError()
        self.announce = "-1" in flags
        self.verbosity = options.number(flags.get("-v", "1"), "-v")
        limit = flags.get("-c", "40")
        # indimail's -c FILE (a path: starting with / or .): the limit is
        # read from it, and again on SIGHUP
        self.maxconn_file = limit if limit.startswith(("/", ".")) else None
        self.maxconn = read_limit(limit) if self.maxconn_file else options.number(limit, "-c", 1)
        self.localmax = options.number(flags.get("-C", str(self.maxconn)), "-C", 1)
        self.localmax_is_maxconn = "-C" not in flags  # then it follows -c FILE
        self.fuse = "-X" not in flags
        self.style = flags.get("-L", "s6")
        if self.style not in ("s6", "ucspi"):
            raise errors.UsageError("-L takes s6 or ucspi")
        self.name = flags.get("-N", DEFAULT_NAME)
        self.counters_path = flags.get("-M")
        self.table = "-V" in flags  # indimail's -V: the connection table after each change
        # -T: an in-process program's connection is cut after this many seconds
        self.cut_after = options.number(flags["-T"], "-T", 1) if "-T" in flags else None
        # -I: a connection whose client sends nothing this long is cut (the daemon relays)
        self.idle = options.number(flags["-I"], "-I", 1) if "-I" in flags else None


def read_limit(path):
    """The positive number in the file at path (at most 999,999,999):
    BadInput (100) for anything else, SystemFailure (111) when it cannot
    be read."""
    try:
        text = regfile.read_regular(path, 64).decode("ascii", "replace").strip()
    except OSError as exc:
        raise errors.SystemFailure("unable to read the limit in %s: %s" % (path, exc.strerror)) from None
    return options.scan(text, "the limit in %s" % path, 1, 999999999)
