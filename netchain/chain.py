"""What chain programs share: the connection context and the exec.

Every chain program (tcp-env, ident-lookup, tcpserver-access, connlimit)
is cut in two: parse(argv) -> (config, rest) reads its options once, and
step(config, ctx, rest) -> argv does the work for one connection on a
Context and returns the argv to continue with (raising Denied or another
NetchainError otherwise).  main() runs both and execs; tcpserverd can run
the steps in-process for every connection (doc/design.md section 5).
"""

import errno
import os
import signal  # imported now: after a privilege drop the library may be unreadable
import sys
import time

from . import errors, logline


class Context:
    """One connection: its environment (str -> str), descriptor and deadline."""

    def __init__(self, env, fd=0, family=None, deadline=None, log=None, pid=None):
        self.env = env
        self.fd = fd            # the connection: fd 0 in exec mode, the accepted fd fused
        self._family = family   # known to the daemon; else read from the socket
        self.sock = None        # made only for the stages that need one
        self.deadline = deadline
        self.log = log or logline.write
        self.pid = pid          # this process's pid in exec mode; None in-process
        # fused: the daemon wrote PROTO and the four endpoint variables
        # itself, from accept(): valid by construction, not checked again
        self.endpoints_from_daemon = False
        # fused: the perip.Slot this connection is counted under (None in
        # exec mode, where the daemon's count is not ours to change)
        self.slot = None
        self.child_lines = []   # fused: lines waiting for the spawned pid
        # False in tcpserverd's loop thread: a step that would wait raises
        # stage.WouldBlock instead (see netchain/stage.py)
        self.may_wait = True
        self.greeted = False

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
            import socket  # exec-mode stages that never touch the socket skip it

            self.sock = socket.socket(fileno=os.dup(self.fd))
        return self.sock

    def greet(self, nodelay, banner):
        """TCP_NODELAY if asked, then the banner (if any); OSError if the
        socket refuses either.  Once per connection: a step run again in a
        worker (stage.WouldBlock) does not greet twice."""
        if self.greeted:
            return
        self.greeted = True
        if nodelay:
            import socket

            self.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if banner:
            self.socket().sendall(banner)

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
    return head if tail is None else "%s%s%s" % (head, pid, tail)


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


def netchain_program(argv):
    """(name, words) of the netchain program argv starts, or (None, 1).

    Recognised by what it is, never by its name alone: 'python -m netchain
    NAME', or a file that is one of netchain's own launchers (a console
    script or a bin/ launcher).  qmail's tcp-env, or a user's own
    /usr/local/bin/connlimit, is another program and is run as one.
    """
    from . import PROGRAMS

    if not argv:
        return None, 1
    if len(argv) > 3 and argv[1:3] == ["-m", "netchain"] and argv[3] in PROGRAMS:
        return argv[3], 4
    name = os.path.basename(argv[0])
    if name in PROGRAMS and _is_launcher(argv[0], PROGRAMS[name]):
        return name, 1
    return None, 1


def _is_launcher(command, module_name):
    """True when command (a path, or a name found on PATH as exec would)
    is a netchain launcher of module_name."""
    import re

    path = _command_path(command)
    try:
        with open(path, "rb") as handle:
            head = handle.read(2048)
    except (OSError, TypeError):
        return False
    pattern = rb"from netchain\.(entry import %s\b|runner import launch; launch\(\"%s\"\))"
    return re.search(pattern % ((module_name.encode(),) * 2), head) is not None


def _command_path(command):
    """The file exec would run for command (a path, or a name on PATH)."""
    import shutil

    return command if "/" in command else shutil.which(command)


def prepare_next(argv, prog=None):
    """run() for the netchain program argv starts, prepared now; None when
    argv starts another program (exec it instead).

    Called before a privilege drop: the program's modules (and whatever its
    prepare() loads) are read while they still can be, then run() goes on
    in this same process after the drop.  An interpreter installed where
    the service user cannot read it (a virtualenv under a private home)
    then works, and one exec of Python is saved.
    """
    import importlib

    from . import PROGRAMS, runner

    name, words = netchain_program(argv)
    if name is None:
        return None
    module = importlib.import_module("netchain." + PROGRAMS[name])
    prog_argv = [name] + list(argv[words:])
    prepare = getattr(module, "prepare", None)
    if prepare is None:
        return lambda: runner.run(module.PROG, module.USAGE, module.main, prog_argv)
    try:
        run = prepare(prog_argv)
    except errors.NetchainError as exc:  # reported under prog: the front end's name
        code = runner.report(prog or module.PROG, module.USAGE, exc)
        return lambda: code
    return lambda: runner.run(module.PROG, module.USAGE, lambda _: run(), prog_argv)


def blocked_by(command):
    """The file or directory that keeps this user from running command (a
    script whose interpreter it cannot reach), or None."""
    path = _command_path(command)
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.readline(512)
    except OSError:
        return path
    if not head.startswith(b"#!") or not head[2:].split():
        return None
    interpreter = os.path.realpath(os.fsdecode(head[2:].split()[0]))
    parts = interpreter.split("/")
    for end in range(2, len(parts)):
        directory = "/".join(parts[:end])
        if not os.access(directory, os.X_OK):
            return directory
    return None if os.access(interpreter, os.X_OK) else interpreter


def exec_failure(command, exc):
    """The reason command could not be run, naming what blocks it."""
    blocker = blocked_by(command) if exc.errno in (errno.EACCES, errno.ENOENT) else None
    if blocker is None:
        return exc.strerror
    return ("%s: uid %d cannot reach %s, which it needs; install netchain where the service"
            " user can read it (see the README)" % (exc.strerror, os.getuid(), blocker))


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
            "unable to exec %s: %s" % (argv[0], exec_failure(argv[0], exc)),
            errors.NOT_FOUND if isinstance(exc, FileNotFoundError) else errors.NOT_EXECUTABLE)
        failure.errno, failure.command = exc.errno, argv[0]
        raise failure from None


def run_alone(module, argv, parsed=None):
    """main() of a chain program: parse (unless parsed, the (config, rest)
    its main already has), run the step on fd 0, exec."""
    config, rest = parsed or module.parse(argv)
    if not rest:
        raise errors.UsageError("no program to run")
    ctx = Context(dict(os.environ), log=logline.write,
                  pid=os.getpid())
    try:
        next_argv = module.step(config, ctx, rest)
    finally:
        ctx.close()
    return continue_with(next_argv, ctx.env, module.PROG)


def continue_with(argv, env, prog):
    """Go on to argv: exec it, or run a python:pkg.mod:func here (prog
    names this process in its log lines)."""
    if argv[0].startswith("python:"):
        from . import inproc  # asyncio and inspect: only for a chain that needs them

        return inproc.run_here(argv, env, prog)
    exec_into(argv, env)
    return errors.OK
