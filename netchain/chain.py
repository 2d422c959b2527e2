"""What chain programs share: the connection context and the exec.

Every chain program (tcp-env, ident-lookup, tcpserver-access, connlimit)
is cut in two: parse(argv) -> (config, rest) reads its options once, and
step(config, ctx, rest) -> argv does the work for one connection on a
Context and returns the argv to continue with (raising Denied or another
NetchainError otherwise).  main() runs both and execs; tcpserverd can run
the steps in-process for every connection (doc/design.md section 5).
"""

import os
import signal  # imported now: after a privilege drop the library may be unreadable
import sys
import time

from . import errors


class Context:
    """One connection: its environment (str -> str), descriptor and deadline."""

    def __init__(self, env, fd=0, family=None, deadline=None, log=None, pid=None):
        self.env = env
        self.fd = fd            # the connection: fd 0 in exec mode, the accepted fd fused
        self._family = family   # known to the daemon; else read from the socket
        self.sock = None        # made only for the stages that need one
        self.deadline = deadline
        self.log = log or (lambda text: sys.stderr.write(text + "\n"))
        self.pid = pid          # this process's pid in exec mode; None in-process
        self.child_lines = []   # fused: lines waiting for the spawned pid

    def log_child(self, head, tail=None):
        """Log the line head + PID + tail, PID naming the connection's
        process (tail None: the line is head alone, kept in order with the
        others).

        In exec mode that is us; in-process the daemon writes the line once
        it knows the pid of the program it spawns (0 if none), in its place
        among the daemon's own lines.  The parts are joined, never used as a
        template: they hold network text.
        """
        if self.pid is not None:
            self.log(join_child_line(head, tail, self.pid))
        else:
            self.child_lines.append((head, tail))

    def socket(self):
        """The connection as a socket object, on a dup of its fd (the fd
        itself goes on to the next program); close() releases it."""
        if self.sock is None:
            import socket  # exec-mode programs that never touch the socket skip it

            self.sock = socket.socket(fileno=os.dup(self.fd))
        return self.sock

    def family(self):
        if self._family is None:
            self._family = self.socket().family
        return self._family

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def remaining(self, default):
        """Seconds left before the deadline (default when none is set)."""
        if self.deadline is None:
            return default
        return max(0.0, min(default, self.deadline - time.monotonic()))

    def set(self, name, value):
        if value is None:
            self.env.pop(name, None)
        else:
            self.env[name] = value


def join_child_line(head, tail, pid):
    """The text of a log_child line for pid."""
    return head if tail is None else "%s%d%s" % (head, pid, tail)


def apply_rule_env(env, changes):
    """Apply a rule's (name, value-or-None) changes to an env dict."""
    for name, value in changes:
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value


def restore_signals():
    """Default dispositions and an empty mask for the program we exec into.

    Python ignores SIGPIPE and SIGXFSZ at start-up, and an ignored signal
    survives exec: without this the final program of an exec-mode chain
    would not die quietly when its client leaves, as it does under
    ucspi-tcp (the fused path's posix_spawn resets them the same way).
    """
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def exec_into(argv, env):
    """Replace this process with argv; raise 126/127 errors if we cannot."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    restore_signals()
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        failure = errors.NetchainError(
            "unable to exec %s: %s" % (argv[0], exc.strerror),
            errors.NOT_FOUND if isinstance(exc, FileNotFoundError) else errors.NOT_EXECUTABLE)
        failure.errno = exc.errno
        raise failure from None


def run_alone(module, argv):
    """main() of a chain program: parse, run the step on fd 0, exec."""
    config, rest = module.parse(argv)
    if not rest:
        raise errors.UsageError("no program to run")
    ctx = Context(dict(os.environ), log=lambda text: sys.stderr.write(text + "\n"),
                  pid=os.getpid())
    try:
        next_argv = module.step(config, ctx, rest)
    finally:
        ctx.close()
    exec_into(next_argv, ctx.env)
