"""tcpserverd: the accept loop (s6-tcpserverd's interface).

    tcpserverd [ -1 ] [ -v verbosity ] [ -c maxconn ] [ -C localmaxconn ] [ -X ]
               [ -L s6|ucspi ] [ -N name ] [ -M metricsfile ] [ -V ] [ -T timeout ]
               [ -I idle ] prog...

Serves the listening socket on fd 0 (or systemd's fd 3 with LISTEN_FDS),
runs prog once per connection with the connection on fd 0 and fd 1.
netchain chain programs at the head of prog run in-process (see
netchain.fuse) unless -X is given.
"""

import errno
import functools
import os
import selectors
import signal
import socket
import time

from . import conn, counters, errors, fuse, inproc, listener, perip, serverlog, spawn
from . import daemonsignals
from .daemonconfig import Config

PROG = "tcpserverd"
USAGE = ("tcpserverd [ -1 ] [ -v verbosity ] [ -c maxconn ] [ -C localmaxconn ] [ -X ]"
         " [ -L s6|ucspi ] [ -N name ] [ -M metricsfile ] [ -V ] [ -T timeout ] [ -I idle ] prog...")
HANDLED_SIGNALS = (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                   signal.SIGABRT, signal.SIGINT, signal.SIGUSR1)
EMFILE_PAUSE = 1.0


class Server(daemonsignals.SignalsMixin):
    """Accept, spawn, reap, log; one selector loop, signals through it."""

    def __init__(self, listeners, config, pipeline, log, plugins):
        self.listeners, self.config, self.pipeline, self.log = listeners, config, pipeline, log
        self.plugins = plugins
        self.children = {}   # pid -> the perip.Slot it is counted under
        self.counters = (counters.Counters(config.counters_path, config.maxconn)
                         if config.counters_path else counters.NoCounters())
        self.per_ip = perip.PerIP(config.localmax)
        self.pending = 0     # connections inside the fused stages
        self.accepting = False
        self.resume_at = None
        self.stopping = False
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        for end in (self.wake_r, self.wake_w):
            end.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._on_signal)
        self.inproc = (inproc.InProcess(pipeline.inproc, pipeline.mailbox, log, pipeline.pool,
                                        config.cut_after) if pipeline.inproc else None)
        # lookups, deferred stages and in-process programs end through it
        self.selector.register(pipeline.mailbox.wake_r, selectors.EVENT_READ, pipeline.mailbox.drain)
        self.base_env = conn.base_environment()
        self.child_exited = False
        self.relays = pipeline.relays  # tlsd's work and -I, done here (netchain/fusedrelay.py)
        if self.relays:
            self.relays.attach(self.selector, self._run_program, self._refused)

    def open_count(self):
        return (len(self.children) + self.pending + (len(self.inproc.live) if self.inproc else 0)
                + (self.relays.count() if self.relays else 0))

    def _set_accepting(self, wanted):
        if wanted and not self.accepting:
            for listening in self.listeners:
                self.selector.register(listening.sock, selectors.EVENT_READ,
                                       functools.partial(self._on_accept, listening))
        elif not wanted and self.accepting:
            for listening in self.listeners:
                self.selector.unregister(listening.sock)
        self.accepting = wanted

    def _update_accepting(self):
        paused = self.resume_at is not None and time.monotonic() < self.resume_at
        self._set_accepting(not self.stopping and not paused
                            and self.open_count() < self.config.maxconn)

    def serve(self, ready=None):
        """Serve until told to stop; ready() (the -1 announcement) is
        called once the signals are handled here: a supervisor or test
        that signals us as soon as we say we are up must not kill us."""
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, lambda *_: None)  # work happens in the loop
        self.reset_signals = spawn.signals_to_reset()
        if self.inproc:
            self.inproc.begin()
        self.log.starting()
        self._update_accepting()
        if ready is not None:
            ready()
        while not self.stopping:
            events = self.selector.select(self._timeout())
            for key, mask in events:
                try:
                    key.data(mask)
                except Exception as exc:  # a bug met by one connection must not end the daemon
                    self.log.warn("internal error (bug), going on: %r" % (exc,))
            if self.child_exited or not events:
                # Also on every timeout: a wake-up byte may be lost, a child never.
                self.child_exited = False
                self._reap()
            if self.resume_at is not None and time.monotonic() >= self.resume_at:
                self.resume_at = None
            if self.inproc and self.config.cut_after:
                self.inproc.cut_overdue(time.monotonic())
            if self.relays:
                self.relays.cut_overdue(time.monotonic())
            self._update_accepting()
            self.counters.write(self.open_count())
        self._reap()  # children already gone get their end lines
        self.counters.write(self.open_count(), force=True)
        self.log.exiting()
        return 0

    def _timeout(self):
        """Seconds until the next thing due: a pause's end, a TLS deadline;
        at most 1 s (a wake-up byte may be lost, a child never)."""
        due = [when for when in (self.resume_at, self.relays and self.relays.next_deadline())
               if when is not None]
        return max(0.0, min([1.0] + [when - time.monotonic() for when in due]))

    def _on_signal(self, _events=None):
        try:
            data = self.wake_r.recv(4096)
        except BlockingIOError:
            return
        for signum in data:
            self._handle_signal(signum)

    def _on_accept(self, listening, _events=None):
        while self.accepting and self.open_count() < self.config.maxconn:
            try:
                # _accept() is socket.accept() without the socket object
                # (and its enum conversions) that we would only close again.
                fd, remote = listening.sock._accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._accept_failed(exc)
                return
            self._start(fd, remote, listening)

    def _accept_failed(self, exc):
        if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
            # Out of descriptors: stop accepting for a while instead of
            # spinning on a listener that stays readable; one warning a pause.
            self.log.warn("unable to accept: %s: pausing %.1fs" % (exc.strerror, EMFILE_PAUSE))
            self.resume_at = time.monotonic() + EMFILE_PAUSE
            self._set_accepting(False)
        elif exc.errno not in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
            self.log.warn("unable to accept: %s" % exc.strerror)

    def _start(self, fd, remote, listening):
        # The remote end as accept() gave it, as ucspi-tcp does: no
        # getpeername, which fails once a client has already gone.
        self.counters.accept(listening.name)
        remote_ip, remote_port = conn.address_text(remote, listening.family)
        try:
            local_ip, local_port = conn.local_end(fd, listening.family, listening.local_end)
        except OSError:
            os.close(fd)  # the client vanished between accept and now
            return
        # A stage that learns the real client (proxy-server) applies -C
        # itself, to that client: the proxy's own address is not limited.
        count = self.per_ip.take(remote_ip, check=not self.pipeline.rekeys)
        if count is None:
            self.log.ip_limit(remote_ip, remote_port, self.config.localmax)
            self.counters.refusal("connlimit")
            os.close(fd)
            return
        env = self.base_env.copy()
        env["PROTO"] = "TCP"
        env["TCPLOCALIP"], env["TCPLOCALPORT"] = local_ip, str(local_port)
        env["TCPREMOTEIP"], env["TCPREMOTEPORT"] = remote_ip, str(remote_port)
        env["TCPCONNNUM"] = str(count)
        self.pending += 1
        self.pipeline.start(fuse.Accepted(fd, listening.family, remote_ip, remote_port, count,
                                          listening.name, perip.Slot(self.per_ip, remote_ip)),
                            env, self._finish)

    def _finish(self, accepted, env, outcome):
        """Called by the pipeline: spawn outcome.argv (after a TLS handshake
        with tlsd fused), or drop the connection."""
        self.pending -= 1
        if self.relays and self.relays.takes(outcome.argv):
            self.relays.start(accepted, env, outcome)  # the program runs once the handshake is done
            return
        if self._run_program(accepted, env, outcome, accepted.fd) != "-":
            os.close(accepted.fd)  # the program has its copy; an in-process one takes this one

    def _run_program(self, accepted, env, outcome, fd):
        """Run outcome.argv on fd; its pid, None if not run, or '-' for an
        in-process program (which takes fd over)."""
        if self.inproc and inproc.is_target(outcome.argv):  # never a rule's exec: that is sh -c
            self.inproc.start(fd, accepted.family, env, accepted.slot, self._inproc_ended,
                              lambda: self._spawned("-", accepted, outcome))
            return "-"
        pid = None
        if outcome.argv is not None:
            try:
                pid = spawn.spawn(outcome.argv, env, fd, self.reset_signals)
            except OSError as exc:
                outcome = fuse.Outcome(None, outcome.lines, errors.TEMPORARY,
                                       spawn_error=(outcome.argv[0], exc))
        if pid is None:
            self._refused(accepted, outcome)
            return None
        self.children[pid] = accepted.slot
        self._spawned(pid, accepted, outcome)
        return pid

    def _refused(self, accepted, outcome):
        self._release(accepted.slot)
        self.counters.refusal(outcome.stage, outcome.spawn_error is not None)
        self.log.stage_refused(accepted.remote_ip, accepted.remote_port, outcome, self.open_count())

    def _spawned(self, pid, accepted, outcome):
        self.log.spawned(pid, accepted.remote_ip, accepted.remote_port, accepted.count + 1,
                         self.open_count(), outcome.lines, accepted.listener)
        self._show_table()

    def _inproc_ended(self, slot, code):
        self._release(slot)
        self.log.ended("-", slot.ip, code << 8, self.open_count())
        self.counters.end("exitcode %d" % code)
        self._show_table()

    def _show_table(self, asked=False):
        if asked or self.config.table:
            live = sorted((pid, slot.ip) for pid, slot in self.children.items())
            live += [("-", one.slot.ip) for one in (self.inproc.live.values() if self.inproc else ())]
            self.log.table(live, self.open_count())

    def _release(self, slot):
        self.per_ip.release(slot.ip)
        self._update_accepting()

    def _reap(self):
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = self.children.pop(pid, None)
            if slot is None:
                continue
            if self.relays:
                self.relays.program_ended(pid)
            self._release(slot)
            self.log.ended(pid, slot.ip, status, self.open_count())
            self.counters.end(spawn.describe_status(status))
            self._show_table()


def prepare(argv):
    """Everything that reads files or imports code, done once: the options,
    the fused stages (their modules, and DNS code if a stage looks names
    up), an in-process program and indimail's PLUGINn.  Returns run(),
    which serves.  tcpserver-bind calls this before it drops privileges,
    so the daemon works from an interpreter the service user cannot read
    (a virtualenv under a private home)."""
    config = Config(argv)
    log = serverlog.make(config.style, config.name, config.verbosity, config.maxconn,
                         config.localmax)
    pipeline = fuse.build(config.prog, config.fuse, log, config.idle)
    if pipeline.uses_dns:
        from . import dnsclient

        dnsclient.preload()
    plugins = inproc.Plugins(os.environ)  # indimail's PLUGINn: imported and initialised now
    plugins.initialise(False, log)
    return lambda: _run(config, log, pipeline, plugins)


def main(argv):
    return prepare(argv)()


def _run(config, log, pipeline, plugins):
    spawn.ensure_standard_fds()
    listeners = listener.inherited(os.environ, os.getpid())
    server = Server(listeners, config, pipeline, log, plugins)
    # only once the loop is ready and its signals are ours
    return server.serve(lambda: listener.announce(listeners[0].sock) if config.announce else None)
