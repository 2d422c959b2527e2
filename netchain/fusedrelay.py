"""Relays in tcpserverd's loop: tlsd fused, and the idle timeout (-I).

When the chain ends in 'tlsd [options] prog', tcpserverd does tlsd's
work itself for every connection the stages let through: the handshake
on the accepted socket with tlsrelay.Relay (memory BIOs, never blocking
the loop; a client that stalls costs its slot until -K), then the
program on a socketpair, then the copying both ways, all in the loop.  A
failed handshake costs no process.  The contexts are made once (before
a privilege drop) and again only when a key or certificate file changes
identity, so a renewed certificate applies to the next connection.

With tcpserverd -I (indimail's tcpserver -T) every connection is relayed
so, TLS or not, and one the client has sent nothing on for that long is
cut: the daemon sees the traffic without a process of its own.
"""

import os
import selectors
import socket
import time

from . import errors, inproc, logline, tlsconf, tlsenv, tlsrelay, tlsrun
from .conn import no_delay

LINGER = 60.0  # seconds a relay may go on flushing to a client once its program has ended
IDLE_CHECK = 1.0  # seconds between two looks for idle connections


class Connection:
    """One relayed connection (TLS, or plain for -I): the accepted one,
    its relay, and (after the handshake) the program's pid and the
    relay's end of the socketpair."""

    def __init__(self, accepted, env, outcome, relay, deadline):
        self.accepted, self.env, self.outcome, self.relay = accepted, env, outcome, relay
        self.deadline = deadline
        self.pid = self.app_fd = None
        self.registered = {}  # fd -> selector event mask


class FusedRelays:
    """The daemon's relays: tls_config is tlsd's (None: no TLS), idle the
    -I timeout in seconds (None: none).  start() takes a connection the
    stages let through; the daemon's callbacks spawn the program
    (run_program(accepted, env, outcome, fd) -> pid or None) and account
    for a refused one (refused(accepted, outcome))."""

    def __init__(self, tls_config, log, idle=None):
        self.config, self.log, self.idle = tls_config, log, idle
        self.handshaking, self.relaying, self.lingering = set(), {}, set()
        self.selector = self.run_program = self.refused = None
        self.next_idle_check = 0.0
        self.contexts = tlsconf.Contexts(tls_config.policy, self._warn) if tls_config else None
        if tls_config and tlsconf.names_certificate(os.environ):  # loaded now, before a privilege drop
            self.contexts.context_for(dict(os.environ))

    def attach(self, selector, run_program, refused):
        self.selector, self.run_program, self.refused = selector, run_program, refused

    def takes(self, argv):
        """Whether the daemon relays for this program: every one with TLS;
        without, all but in-process ones (tcpserverd -T cuts those)."""
        return argv is not None and (self.config is not None or not inproc.is_target(argv))

    def count(self):
        """Connections still in their handshake (they hold a slot)."""
        return len(self.handshaking)

    def _warn(self, text):
        if self.config.verbosity >= 1:
            logline.write("%s: warning: %s" % (tlsrun.PROG, text))

    def start(self, accepted, env, outcome):
        context = None
        if self.config:
            try:
                context = self.contexts.context_for(env)
            except errors.NetchainError as exc:  # never serve without TLS: refuse, say why
                self._warn("refusing %s port %s: %s"
                           % (accepted.remote_ip, accepted.remote_port, exc))
                self.refused(accepted, _refusal(outcome, exc.code))
                os.close(accepted.fd)
                return
        os.set_blocking(accepted.fd, False)
        no_delay(accepted.fd)
        relay = tlsrelay.Relay(context, accepted.fd, accepted.fd,
                               close_notify=bool(self.config and self.config.close_notify))
        conn = Connection(accepted, env, outcome, relay,
                          self.config.deadline() if self.config else None)
        if context is None:
            self._handshaken(conn)  # nothing to wait for: the program starts now
        else:
            self.handshaking.add(conn)
        if conn.relay is not None:
            self._update(conn)

    def _on_event(self, conn, fd, mask):
        relay = conn.relay
        if relay is None:  # closed by an earlier event of the same round
            return
        try:
            for event, bit in ((tlsrelay.READ, selectors.EVENT_READ),
                               (tlsrelay.WRITE, selectors.EVENT_WRITE)):
                if mask & bit and (fd, event) in relay.wanted():
                    relay.ready(fd, event)
        except (tlsrelay.Broken, OSError) as exc:
            self._failed(conn, getattr(exc, "strerror", None) or str(exc))
            return
        if conn in self.handshaking and relay.handshaken:
            self._handshaken(conn)
        self._update(conn)

    def _handshaken(self, conn):
        self.handshaking.discard(conn)
        env = conn.env
        if self.config:
            tlsenv.apply(env, conn.relay.environment())
            if not self.config.keep_env:
                tlsconf.strip_environment(env)
        program_end, relay_end = socket.socketpair()
        conn.app_fd = relay_end.detach()
        os.set_blocking(conn.app_fd, False)
        program_fd = program_end.detach()
        conn.pid = self.run_program(conn.accepted, env, conn.outcome, program_fd)
        if conn.pid != "-":  # an in-process program takes its end over
            os.close(program_fd)
        if conn.pid is None:  # could not start: the daemon has logged and released it
            conn.relay.app_gone = True
            self._close(conn)
            return
        if conn.pid == "-":
            conn.relay.eof_is_end = True  # the function closes its socket when it returns
        else:
            self.relaying[conn.pid] = conn
        try:
            conn.relay.attach(conn.app_fd, conn.app_fd)
        except (tlsrelay.Broken, OSError) as exc:
            self._failed(conn, str(exc))

    def program_ended(self, pid):
        """The daemon reaped pid: its relay flushes what is left, then ends."""
        conn = self.relaying.pop(pid, None)
        if conn is not None and conn.relay is not None:
            conn.relay.app_gone = True
            conn.deadline = time.monotonic() + LINGER
            self.lingering.add(conn)
            self._update(conn)

    def _update(self, conn):
        """Watch what the relay waits for; close it when it is done."""
        if conn.relay.done():
            self._close(conn)
            return
        wanted = {}
        for fd, event in conn.relay.wanted():
            bit = selectors.EVENT_READ if event == tlsrelay.READ else selectors.EVENT_WRITE
            wanted[fd] = wanted.get(fd, 0) | bit
        for fd in set(conn.registered) | set(wanted):
            old, new = conn.registered.get(fd), wanted.get(fd)
            if old == new:
                continue
            if new is None:
                self.selector.unregister(fd)
                del conn.registered[fd]
                continue
            handler = lambda mask, fd=fd: self._on_event(conn, fd, mask)  # noqa: E731
            if old is None:
                self.selector.register(fd, new, handler)
            else:
                self.selector.modify(fd, new, handler)
            conn.registered[fd] = new

    def _failed(self, conn, reason):
        conn.relay.send_alert()
        if self.config:  # the client as the chain knows it, as tlsd alone logs it
            tlsrun.log_failure(tlsrun.PROG, self.config.verbosity, conn.env, reason,
                               conn.relay.handshaken)
        if conn in self.handshaking:
            self.handshaking.discard(conn)
            self.refused(conn.accepted, _refusal(conn.outcome, errors.TLS_FAILED))
        self._close(conn)

    def _close(self, conn):
        for fd in list(conn.registered):
            self.selector.unregister(fd)
        conn.registered.clear()
        for fd in (conn.accepted.fd, conn.app_fd):
            if fd is not None:
                os.close(fd)
        conn.app_fd = None
        conn.relay = None
        if conn.pid not in (None, "-"):
            self.relaying.pop(conn.pid, None)
        self.handshaking.discard(conn)
        self.lingering.discard(conn)

    def cut_overdue(self, now):
        """Handshakes past -K, and relays lingering past LINGER, end; with
        -I, so do connections whose client has been silent that long."""
        for conn in list(self.handshaking) + list(self.lingering):
            if conn.deadline is not None and now >= conn.deadline:
                self._failed(conn, "no TLS handshake within %g s" % self.config.timeout
                             if conn in self.handshaking else "client not reading")
        if self.idle and now >= self.next_idle_check:
            self.next_idle_check = now + IDLE_CHECK
            for conn in list(self.relaying.values()):
                if conn.relay is not None and now - conn.relay.last_heard >= self.idle:
                    self.log.warn("idle timeout: closing connection from %s port %s after %g s"
                                  " without data" % (conn.accepted.remote_ip,
                                                     conn.accepted.remote_port, self.idle))
                    self._close(conn)

    def next_deadline(self):
        """The earliest deadline to wake up for, or None."""
        deadlines = [conn.deadline for conn in self.handshaking | self.lingering
                     if conn.deadline is not None]
        if self.idle and self.relaying:
            deadlines.append(self.next_idle_check)
        return min(deadlines) if deadlines else None


def _refusal(outcome, code):
    """The Outcome of a connection tlsd refused: no program ran for it."""
    from .fuse import Outcome

    return Outcome(None, outcome.lines, code, tlsrun.PROG)
