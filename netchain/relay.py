"""Copying between descriptors in both directions at once: the engine of
fixcrio, recordio and mconnect-io.

A Flow reads from one descriptor, converts, and writes to another; pump
serves several flows with poll, so that neither direction waits for the
other (a program blocked writing its output is still read while its
input waits), until the flow that ends the run has seen EOF and written
everything.  run_beside is ucspi-tcp's shape for fixcrio and recordio:
the program is exec'ed in this process (it keeps the pid) with its input
and output on pipes, and a forked child relays them.
"""

import errno
import os
import select

from . import errors
from .errstr import error_str

PIECE = 4096  # at most PIPE_BUF at a time to a descriptor we share (fd 1, fd 7)


class Flow:
    """src -> convert -> dst.  record(data) sees every chunk read (None at
    EOF); at EOF, end() is written, then dst is closed if close_at_end."""

    def __init__(self, src, dst, convert=None, end=None, record=None,
                 close_at_end=False, chunk=65536):
        self.src, self.dst, self.chunk = src, dst, chunk
        self.convert = convert or (lambda data: data)
        self.end = end or (lambda: b"")
        self.record = record or (lambda data: None)
        self.close_at_end = close_at_end
        self.reading, self.pending, self.done = True, b"", False

    def read(self):
        data = os.read(self.src, self.chunk)
        self.record(data or None)
        if data:
            self.pending += self.convert(data)
        else:
            self.reading = False
            self.pending += self.end()
        self._maybe_done()

    def write(self):
        try:
            written = os.write(self.dst, self.pending[:PIECE])
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self.reading, self.pending = False, b""  # the reader went away: this flow is over
            written = 0
        self.pending = self.pending[written:]
        self._maybe_done()

    def _maybe_done(self):
        if not self.reading and not self.pending and not self.done:
            self.done = True
            if self.close_at_end:
                os.close(self.dst)


def pump(flows, last):
    """Serve flows until last is done.  OSError (other than a reader gone)
    goes to the caller."""
    while not last.done:
        poller, handlers = select.poll(), {}
        for flow in flows:  # descriptors differ between flows: each is watched once
            if flow.pending:
                poller.register(flow.dst, select.POLLOUT)
                handlers[flow.dst] = flow.write
            elif flow.reading:
                poller.register(flow.src, select.POLLIN)
                handlers[flow.src] = flow.read
        if not handlers:
            return
        for fd, _ in poller.poll():
            handlers[fd]()


def run_beside(argv, make_flows):
    """Exec argv here with stdin and stdout on pipes; a forked child runs
    pump(*make_flows(to_program, from_program, program_pid)).  Raises
    SystemFailure (111) when argv cannot be run."""
    to_read, to_write = os.pipe()
    from_read, from_write = os.pipe()
    program_pid = os.getpid()
    if os.fork() == 0:
        os.close(to_read)
        os.close(from_write)
        for fd in (to_write, from_read):
            os.set_blocking(fd, False)
        code = errors.OK
        try:
            pump(*make_flows(to_write, from_read, program_pid))
        except OSError:
            code = errors.TEMPORARY
        os._exit(code)
    os.dup2(to_read, 0)
    os.dup2(from_write, 1)
    for fd in (to_read, to_write, from_read, from_write):
        os.close(fd)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise errors.SystemFailure("unable to run %s: %s" % (argv[0], error_str(exc.errno))) from None
