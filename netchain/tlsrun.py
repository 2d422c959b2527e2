"""What tlsd and tlsc do in exec mode: the options they share, the relay
process and the program's exec.

A TLS session cannot cross exec.  start() forks a relay (no exec) that
drops to TLS_UID/TLS_GID, does the handshake with tlsrelay.Relay and
drive() (poll), tells this process the SSL_* variables through a pipe,
then copies until both ways are done; this process then execs the
program on a socketpair (run_program), keeping the pid the daemon knows.
A failed handshake: the relay exits 98 and so does this process; the
program never runs.
"""

import os
import select
import socket
import time

from . import chain, conn, errors, logline, options, privs, tlsconf, tlsenv, tlsrelay

PROG = "tlsd"  # the name its lines carry, in exec and in fused mode


class Config:
    """The options: the TLS policy and what the relay and the log do."""

    def __init__(self, opts, server_side=True, net_fds=(0, 1)):
        # the program's descriptors: where the network is unless -6/-7 move it
        self.program_fds = net_fds
        verify, sni_level, strict, self.servername = tlsconf.NO_CERTIFICATE, 0, False, None
        self.close_notify, self.keep_env, self.verbosity, self.timeout = False, False, 1, None
        self.net_fds = net_fds  # where the client (tlsd) or the server (tlsc) is
        for flag, value in opts:
            if flag in ("-S", "-s"):
                self.close_notify = flag == "-S"
            elif flag in ("-J", "-j"):
                strict = flag == "-J"
            elif flag in ("-Y", "-y"):
                verify = tlsconf.ASK_CERTIFICATE if flag == "-Y" else tlsconf.REQUIRE_CERTIFICATE
            elif flag in ("-Z", "-z"):
                self.keep_env = flag == "-Z"
            elif flag == "-v":
                self.verbosity = options.number(value, "-v")
            elif flag == "-K":
                milliseconds = options.number(value, "-K")
                self.timeout = milliseconds / 1000 if milliseconds else None
            elif flag == "-k" and server_side:
                sni_level = options.number(value, "-k", 0, 2)
            elif flag == "-k":
                self.servername = value
            elif flag in ("-6", "-7"):
                fds = list(self.net_fds)
                fds[flag == "-7"] = options.number(value, flag)
                self.net_fds = tuple(fds)
        self.policy = tlsconf.Policy(server_side, verify, sni_level, strict, self.servername)

    def deadline(self):
        return None if self.timeout is None else time.monotonic() + self.timeout


def log_failure(prog, verbosity, env, reason, handshaken=False):
    """The one line for a failed handshake or session (-v2): the client and why."""
    if verbosity >= 2:
        logline.write("%s: warning: %s failed for %s port %s: %s"
                      % (prog, "session" if handshaken else "handshake",
                         env.get("TCPREMOTEIP", "?"), env.get("TCPREMOTEPORT", "?"), reason))


def relay_ids(env):
    """TLS_UID/TLS_GID: what the relay runs as when started as root."""
    if os.getuid() != 0:
        return None, None
    uid, gid, _ = privs.parse_ids(env.get("TLS_UID"), env.get("TLS_GID"), None, False)
    return uid, gid


def start(prog, config, env, context):
    """Fork the relay; once its handshake is complete, return the
    socket the program is to run on, with env holding the SSL_*
    variables.  Exits (through the runner) with the relay's code when
    the handshake fails."""
    uid, gid = relay_ids(env)
    notify_r, notify_w = os.pipe()
    program_end, relay_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        os.close(notify_r)
        program_end.close()
        os._exit(_relay(prog, config, env, context, (uid, gid), notify_w, relay_end))
    os.close(notify_w)
    relay_end.close()
    with os.fdopen(notify_r, "rb") as notice:
        told = notice.read()
    if not told:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        raise errors.NetchainError("", code if code > 0 else errors.TEMPORARY)
    session = {}
    for item in told.split(b"\0"):
        if item:
            name, _, value = item.decode("utf-8", "surrogateescape").partition("=")
            session[name] = value
    tlsenv.apply(env, session)
    return program_end


def _relay(prog, config, env, context, ids, notify_w, relay_end):
    """The relay process: drop to TLS_UID/TLS_GID, handshake, tell the
    program's process, copy until both ways are done.  Its exit code."""
    net_in, net_out = config.net_fds
    relay = None
    try:
        if ids != (None, None):
            privs.drop(ids[0], ids[1], None)
        for fd in (net_in, net_out, relay_end.fileno()):
            os.set_blocking(fd, False)
        conn.no_delay(net_out)
        relay = tlsrelay.Relay(context, net_in, net_out, relay_end.fileno(), relay_end.fileno(),
                               server_side=config.policy.server_side,
                               servername=config.servername, close_notify=config.close_notify)
        drive(relay, config.deadline(), until_handshaken=True)
        told = b"".join(("%s=%s\0" % item).encode("utf-8", "surrogateescape")
                        for item in relay.environment().items())
        os.write(notify_w, told or b"\0")
        os.close(notify_w)
        drive(relay)
        return errors.OK
    except (tlsrelay.Broken, TimeoutError) as exc:
        if relay is not None:
            relay.send_alert()
        log_failure(prog, config.verbosity, env, exc, relay is not None and relay.handshaken)
        return errors.TLS_FAILED
    except errors.NetchainError as exc:
        logline.write("%s: fatal: %s" % (prog, exc))
        return exc.code
    except OSError as exc:
        if config.verbosity >= 1:
            logline.write("%s: fatal: relay: %s" % (prog, exc.strerror))
        return errors.TEMPORARY


def serve(prog, config, rest, env, named):
    """tlsd's and tlsc's main after the options: the context from the files
    named (in named), the relay forked, then rest on the plaintext side."""
    context = tlsconf.make_context(tlsconf.Sources(named, config.policy), config.policy,
                                   lambda text: logline.write("%s: warning: %s" % (prog, text)))
    program_end = start(prog, config, env, context)
    return run_program(prog, config, rest, env, program_end)


def run_program(prog, config, rest, env, program_end):
    """exec rest (or run a python: target here) on program_end."""
    if not config.keep_env:
        tlsconf.strip_environment(env)
    for fd in config.program_fds:
        os.dup2(program_end.fileno(), fd)
    for fd in set(config.net_fds) - set(config.program_fds):
        os.close(fd)  # the TLS side is the relay's alone
    program_end.close()
    return chain.continue_with(rest, env, prog)


def drive(relay, deadline=None, until_handshaken=False):
    """Drive relay with poll until it is done, or only until the handshake
    is complete.  deadline (a time.monotonic() value) bounds the
    handshake.  Broken or TimeoutError if it fails; POLLHUP on the
    program's side means the program has ended."""
    if not relay.handshaken:
        relay.handshake()  # a client speaks first; a server may have to
    while not (relay.handshaken if until_handshaken else relay.done()):
        wanted = relay.wanted()
        if not wanted:
            return
        masks = {}
        for fd, event in wanted:
            masks[fd] = masks.get(fd, 0) | (select.POLLIN if event == tlsrelay.READ else select.POLLOUT)
        poller = select.poll()
        for fd, mask in masks.items():
            poller.register(fd, mask)
        timeout = None
        if not relay.handshaken and deadline is not None:
            timeout = max(0, int((deadline - time.monotonic()) * 1000) + 1)
        events = poller.poll(timeout)
        if not events:
            raise TimeoutError("no TLS handshake within the deadline")
        handled = False
        for fd, mask in events:
            if mask & select.POLLHUP and fd in (relay.app_in, relay.app_out):
                relay.app_gone = True
            trouble = select.POLLHUP | select.POLLERR  # the read or write will say what
            for event, bits in ((tlsrelay.READ, select.POLLIN | trouble),
                                (tlsrelay.WRITE, select.POLLOUT | trouble)):
                if mask & bits and (fd, event) in wanted:
                    relay.ready(fd, event)
                    handled = True
        if not handled:  # an event nothing answers (POLLNVAL): end, never spin on it
            raise tlsrelay.Broken("unexpected poll events %r" % (events,))
