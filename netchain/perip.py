"""Connections open per client address: the daemon's -C and TCPCONNNUM.

Shared by the accept loop and the stage threads: a stage that learns the
real client (proxy-server behind a load balancer) moves its connection
from the proxy's address to the client's, under the same limit.
"""

import threading


class PerIP:
    """Counts of open connections by address, with a limit for each."""

    def __init__(self, limit):
        self.limit = limit
        self.counts = {}
        self.lock = threading.Lock()

    def take(self, ip, check=True):
        """Count one more connection from ip; return how many were open
        before it, or None (nothing counted) when check finds the limit
        reached."""
        with self.lock:
            count = self.counts.get(ip, 0)
            if check and count >= self.limit:
                return None
            self.counts[ip] = count + 1
            return count

    def release(self, ip):
        if ip is None:
            return
        with self.lock:
            left = self.counts.get(ip, 1) - 1
            if left > 0:
                self.counts[ip] = left
            else:
                self.counts.pop(ip, None)


class Slot:
    """The address one connection is counted under (None: not counted)."""

    __slots__ = ("per_ip", "ip")

    def __init__(self, per_ip, ip):
        self.per_ip, self.ip = per_ip, ip

    def move(self, ip):
        """Count this connection under ip instead; return how many were
        open from ip before it, or None when ip is at its limit (the
        connection is then counted nowhere and must be refused)."""
        if ip == self.ip:
            with self.per_ip.lock:
                return self.per_ip.counts.get(ip, 1) - 1
        self.per_ip.release(self.ip)
        self.ip = None
        count = self.per_ip.take(ip)
        if count is not None:
            self.ip = ip
        return count
