"""tcpserverd's log lines, in s6's style or in ucspi-tcp 0.88's (-L ucspi).

One method per event, so the daemon says what happened and the style says
how it reads.  Lines go to fd 2 with one write each.
"""


from . import chain, logline, spawn
from .errstr import error_str


_write = logline.write


def _write_child_lines(lines, pid):
    """Stage lines (head, tail) waiting for the pid (see chain.Context.log_child)."""
    for head, tail in lines:
        _write(chain.join_child_line(head, tail, pid))


class S6Log:
    """s6-tcpserverd's lines: 'tcpserverd: info: allow IP port P pid N count C/M'."""

    info_prefix = "info: "

    def __init__(self, prog, verbosity, maxconn, localmax):
        self.prog, self.verbosity = prog, verbosity
        self.maxconn, self.localmax = maxconn, localmax

    def info(self, text):
        if self.verbosity >= 2:
            _write("%s: %s%s" % (self.prog, self.info_prefix, text))

    def warn(self, text):
        if self.verbosity >= 1:
            _write("%s: warning: %s" % (self.prog, text))

    raw = staticmethod(_write)

    def starting(self):
        self.info("starting")

    def exiting(self):
        self.info("exiting")

    def status(self, count):
        self.info("status: %d/%d" % (count, self.maxconn))

    def ip_limit(self, ip, port, count):
        self.info("deny %s port %d count %d/%d" % (ip, port, count, self.localmax))

    def spawned(self, pid, ip, port, count, open_count, stage_lines, listener=None):
        _write_child_lines(stage_lines, pid)
        if self.verbosity >= 2:  # checked first: this runs for every connection
            self.info("allow %s port %d pid %s count %d/%d%s" % (
                ip, port, pid, count, self.localmax, "" if listener is None else " on " + listener))
            self.status(open_count)

    def stage_refused(self, ip, port, outcome, open_count):
        """A connection the fused stages dropped: no process ran for it.

        Where exec mode shows the stage's process and its exit code, this
        line names the client, the stage and its code (a per-IP limit of
        the daemon itself is the 'deny ... count' line instead)."""
        _write_child_lines(outcome.lines, 0)
        if outcome.spawn_error:
            program, exc = outcome.spawn_error
            self.warn("unable to spawn %s: %s" % (program, chain.exec_failure(program, exc)))
        elif self.verbosity >= 2:
            self.info("refused %s port %d by %s exitcode %d"
                      % (ip, port, outcome.stage or "?", outcome.code))
            self.status(open_count)

    def table(self, connections, open_count):
        """On SIGUSR1, whatever the verbosity: one line per live connection
        (pid '-' for an in-process one)."""
        for pid, ip in connections:
            _write("%s: %sconnection pid %s from %s" % (self.prog, self.info_prefix, pid, ip))
        _write("%s: %sstatus: %d/%d" % (self.prog, self.info_prefix, open_count, self.maxconn))

    def ended(self, pid, ip, status, open_count):
        if self.verbosity >= 2:
            self.info("end pid %s %s %s" % (pid, ip, spawn.describe_status(status)))
            self.status(open_count)


class UcspiLog(S6Log):
    """ucspi-tcp 0.88's lines: 'tcpserver: pid N from IP', 'end N status W'.

    The raw wait status is kept on 'end' lines: log parsers read it.  A
    connection refused in-process (fused) has no process: its lines say
    pid 0 and the status the C child would have had.
    """

    info_prefix = ""

    def starting(self):
        self.status(0)

    def exiting(self):
        pass

    def ip_limit(self, ip, port, count):
        self.info("per-IP limit %d reached: closing connection from %s port %d"
                  % (self.localmax, ip, port))

    def spawned(self, pid, ip, port, count, open_count, stage_lines, listener=None):
        self.status(open_count)
        self.info("pid %s from %s" % (pid, ip))
        _write_child_lines(stage_lines, pid)

    def stage_refused(self, ip, port, outcome, open_count):
        self.status(open_count + 1)
        self.info("pid 0 from %s" % ip)
        _write_child_lines(outcome.lines, 0)
        if outcome.spawn_error and self.verbosity >= 1:
            program, exc = outcome.spawn_error
            _write("%s: warning: dropping connection, unable to run %s: %s"
                   % (self.prog, program, error_str(exc.errno)))
        self.info("end 0 status %d" % (outcome.code << 8))
        self.status(open_count)

    def ended(self, pid, ip, status, open_count):
        self.info("end %s status %d" % (pid, status))
        self.status(open_count)


def make(style, prog, verbosity, maxconn, localmax):
    return (UcspiLog if style == "ucspi" else S6Log)(prog, verbosity, maxconn, localmax)
