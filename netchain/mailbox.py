"""Work that ends in another thread, finished in tcpserverd's loop thread.

A worker (a lookup stage's thread, an in-process program's thread or its
event loop) posts a callback and its arguments; one byte on a socket
pair wakes the daemon's selector, whose handler (drain) runs every posted
callback there.  The daemon's state (children, counts, logs) is
therefore only ever touched by the loop thread.
"""

import queue
import socket


class Mailbox:
    def __init__(self, log):
        self.log = log
        self.posted = queue.SimpleQueue()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)

    def post(self, callback, *args):
        """From any thread: have callback(*args) run in the loop thread."""
        self.posted.put((callback, args))
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass  # the reader drains everything on its next wake-up anyway

    def drain(self, _events=None):
        """In the loop thread: run every posted callback; a failure in one
        does not leave the others waiting."""
        try:
            self.wake_r.recv(4096)
        except BlockingIOError:
            pass
        while True:
            try:
                callback, args = self.posted.get_nowait()
            except queue.Empty:
                return
            try:
                callback(*args)
            except Exception as exc:
                self.log.warn("internal error (bug), going on: %r" % (exc,))

    def close(self):
        self.wake_r.close()
        self.wake_w.close()
