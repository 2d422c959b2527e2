"""What tcpserverd does on each signal, as a mixin of its Server (the
way CPython's socketserver adds behaviour to a server class).

The signals reach the loop through a wake-up descriptor, so these run in
the loop thread, between connections, never inside a handler.
"""

import os
import signal

from . import daemonconfig, errors


class SignalsMixin:
    """Needs self.config, self.log, self.children, self.plugins,
    self.counters, self.per_ip, self.stopping, self.child_exited,
    open_count() and _show_table()."""

    def _handle_signal(self, signum):
        if signum == signal.SIGCHLD:
            self.child_exited = True  # reaped once after this round of events
        elif signum in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True
        elif signum == signal.SIGHUP:  # the front end's (indimail's) SIGHUP only reloads
            if self.config.style != "ucspi":
                self._kill_children(signal.SIGTERM)
            self.plugins.initialise(True, self.log)
            self._reload_limit()
        elif signum == signal.SIGUSR1:  # indimail's: the live connections (its default would kill us)
            self._show_table(True)
        elif signum == signal.SIGQUIT:
            self._kill_children(signal.SIGTERM)
            self.stopping = True
        elif signum == signal.SIGABRT:
            self._kill_children(signal.SIGKILL)
            self.stopping = True

    def _reload_limit(self):
        """-c FILE read again (a bad file keeps the old limit; lowering it ends nobody)."""
        if self.config.maxconn_file is None:
            return
        try:
            limit = daemonconfig.read_limit(self.config.maxconn_file)
        except errors.NetchainError as exc:
            self.log.warn("sighup: keeping the limit %d: %s" % (self.config.maxconn, exc))
            return
        self.config.maxconn = self.log.maxconn = self.counters.limit = limit
        if self.config.localmax_is_maxconn:
            self.config.localmax = self.log.localmax = self.per_ip.limit = limit
        self.log.info("sighup: %d/%d" % (self.open_count(), limit))

    def _kill_children(self, signum):
        for pid in list(self.children):
            for sig in (signum, signal.SIGCONT):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass

