"""tcpserverd's counters (-M FILE): the Prometheus text format, version
0.0.4, for node_exporter's textfile collector.

The daemon counts in a few dictionaries (nothing else on the hot path)
and writes the file, whole, with regfile's atomic writer at most once a
second and when it exits: a reader never sees half a file.
"""

import collections
import time

from . import regfile

PREFIX = "tcpserverd_"
# Which refusals a fused stage's exit means, by stage; anything else an
# error.  The daemon's own per-IP limit is "per-ip" too.
REASONS = {"tcpserver-access": "rules", "tcpserver-rules": "rules", "connlimit": "per-ip",
           "proxy-server": "proxy", "tcp-env": "lookups", "ident-lookup": "lookups",
           "tlsd": "tls", "rblsmtpd": "rules"}
INTERVAL = 1.0


def _labels(**labels):
    """'{a="x",b="y"}' with Prometheus' escapes, or '' for none."""
    shown = ['%s="%s"' % (name, str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
             for name, value in sorted(labels.items()) if value is not None]
    return "{%s}" % ",".join(shown) if shown else ""


class Counters:
    """What the daemon did since it started, and what is open now."""

    def __init__(self, path, limit):
        self.path, self.limit = path, limit
        self.accepted = collections.Counter()   # listener name (None) -> count
        self.refused = collections.Counter()    # reason -> count
        self.ended = collections.Counter()      # 'exitcode N' / 'signal N' -> count
        self.active = 0
        self.written_at = 0.0
        self.dirty = True

    def accept(self, listener):
        self.accepted[listener] += 1
        self.dirty = True

    def end(self, status_text):
        self.ended[status_text] += 1
        self.dirty = True

    def refusal(self, stage, spawn_failed=False):
        """Count a connection the daemon or a stage refused."""
        reason = "errors" if spawn_failed else REASONS.get(stage, "errors")
        self.refused[reason] += 1
        self.dirty = True

    def text(self):
        lines = []

        def metric(name, kind, help_text, samples):
            lines.extend(["# HELP %s%s %s" % (PREFIX, name, help_text),
                          "# TYPE %s%s %s" % (PREFIX, name, kind)])
            lines.extend("%s%s%s %d" % (PREFIX, name, labels, value) for labels, value in samples)
        metric("accepted_total", "counter", "Connections accepted.",
               [(_labels(listener=name), count) for name, count in sorted(
                   self.accepted.items(), key=lambda item: item[0] or "")] or [("", 0)])
        metric("active", "gauge", "Connections open now (in the stages or running).", [("", self.active)])
        metric("limit", "gauge", "The most connections open at once (-c).", [("", self.limit)])
        metric("refused_total", "counter", "Connections refused, by reason.",
               [(_labels(reason=reason), self.refused[reason])
                for reason in ("rules", "per-ip", "proxy", "tls", "lookups", "errors")])
        metric("ended_total", "counter", "Programs ended, by exit status.",
               [(_labels(status=status), count) for status, count in sorted(self.ended.items())])
        return "\n".join(lines) + "\n"

    def write(self, active, force=False):
        """Write the file if anything changed and a second has passed (or
        force); a failed write is retried at the next chance, never fatal."""
        now = time.monotonic()
        if active != self.active:
            self.active, self.dirty = active, True
        if not (force or (self.dirty and now - self.written_at >= INTERVAL)):
            return
        data = self.text().encode("utf-8")
        try:
            regfile.write_atomic(self.path, lambda handle: handle.write(data), durable=False)
        except (regfile.WriteFailed, OSError):
            return
        self.written_at, self.dirty = now, False


class NoCounters:
    """No -M: the same calls, doing nothing."""

    def accept(self, listener):
        pass

    def end(self, status_text):
        pass

    def refusal(self, stage, spawn_failed=False):
        pass

    def write(self, active, force=False):
        pass
