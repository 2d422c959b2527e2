"""One TLS session between the network and a program, over memory BIOs.

Relay holds an ssl.SSLObject whose ciphertext goes through two
MemoryBIOs, so that nothing here ever blocks: the caller watches the
descriptors Relay.wanted() names and calls Relay.ready() when one is
ready.  tlsd and tlsc drive it with poll in their relay process
(netchain/tlsrun.py);
tcpserverd drives many at once from its own selector loop.  The same
code therefore does the handshake, the copying both ways, the half-closes
and close_notify in exec mode and in fused mode.
"""

import errno
import os
import ssl
import time

from . import conn, tlsenv

CHUNK = 262144
HIGH_WATER = 4 * CHUNK  # stop reading a side while this much waits for the other
READ, WRITE = 1, 2
GONE = (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN)


class Broken(Exception):
    """The TLS session failed: the reason, one line, no traceback."""


class Relay:
    """net_in/net_out: the client's side (ciphertext); app_in/app_out: the
    program's (plaintext).  close_notify: send one when the program ends
    (-S); otherwise the TCP connection is just shut down (-s)."""

    def __init__(self, context, net_in, net_out, app_in=None, app_out=None, server_side=True,
                 servername=None, close_notify=False):
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        if context is None:  # no TLS: the daemon relays to watch the client (tcpserverd -I)
            self.tls = Clear(self.incoming, self.outgoing)
        else:
            self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                        server_hostname=servername)
        self.last_heard = time.monotonic()  # when the client last sent something
        self.net_in, self.net_out, self.app_in, self.app_out = net_in, net_out, app_in, app_out
        self.close_notify = close_notify
        self.handshaken = context is None  # nothing to agree on without TLS
        self.to_net, self.to_app = bytearray(), bytearray()
        self.net_eof = self.app_eof = False        # each side has said it is done sending
        self.net_closed = self.app_closed = False  # we have shut down our sending to it
        self.app_gone = False                      # the program has ended: nobody reads
        self.eof_is_end = False  # the program's EOF means it has ended (in-process programs)

    def attach(self, app_in, app_out):
        """The program's descriptors, once it runs (after the handshake):
        what the client sent with its last handshake message goes to it."""
        self.app_in, self.app_out = app_in, app_out
        self._decrypt()

    # -- what to wait for ------------------------------------------------

    def wanted(self):
        """[(fd, READ|WRITE)]: what to wait for before calling ready()."""
        wants = []
        if self.to_net:
            wants.append((self.net_out, WRITE))
        if not self.handshaken:
            if not self.to_net:
                wants.append((self.net_in, READ))
            return wants
        if not self.net_eof and len(self.to_app) < HIGH_WATER:
            wants.append((self.net_in, READ))
        if self.app_in is None:
            return wants  # fused: the program is not running yet
        if self.to_app and not self.app_closed:
            wants.append((self.app_out, WRITE))
        if not self.app_eof and len(self.to_net) < HIGH_WATER:
            wants.append((self.app_in, READ))
        return wants

    def done(self):
        """Both ways finished (or nobody left to talk to)."""
        toward_net = self.net_closed
        toward_app = self.app_closed or (self.app_gone and self.app_eof)
        return self.handshaken and toward_net and toward_app

    # -- progress ----------------------------------------------------------

    def handshake(self):
        """Go on with the handshake; True once it is complete.  Broken if
        it fails."""
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            if self.net_eof:
                raise Broken("connection closed during the handshake") from None
            return False
        except ssl.SSLError as exc:
            raise Broken(_reason(exc)) from None
        finally:
            self._collect()
        self.handshaken = True
        return True

    def ready(self, fd, event):
        """fd is ready for event; do what can be done now.  Broken if the
        session fails; OSError other than a gone peer goes to the caller."""
        if event == WRITE and fd == self.net_out:
            self._send_net()
        elif event == READ and fd == self.net_in:
            self._receive_net()
        elif event == WRITE and fd == self.app_out:
            self._send_app()
        elif event == READ and fd == self.app_in:
            self._receive_app()

    def _receive_net(self):
        data = _read(self.net_in)
        if data is None:
            return
        if data:
            self.incoming.write(data)
            self.last_heard = time.monotonic()
        else:
            self.net_eof = True
            self.incoming.write_eof()
        if not self.handshaken and not self.handshake():
            return
        if self.app_out is not None:
            self._decrypt()

    def _decrypt(self):
        try:
            while True:
                data = self.tls.read(CHUNK)
                if not data:  # the peer's close_notify (or, without -J, a plain EOF)
                    self.net_eof = True
                    break
                self.to_app += data
        except ssl.SSLWantReadError:
            if self.net_eof:  # EOF inside a record
                raise Broken("connection closed inside a TLS record") from None
        except ssl.SSLZeroReturnError:  # close_notify (or, without -J, plain EOF)
            self.net_eof = True
        except ssl.SSLError as exc:
            raise Broken(_reason(exc)) from None
        finally:
            self._collect()
        if self.net_eof and not self.to_app:
            self._close_app()

    def _receive_app(self):
        data = _read(self.app_in)
        if data is None:
            return
        if data:
            try:
                self.tls.write(data)
            except ssl.SSLError as exc:
                raise Broken(_reason(exc)) from None
        else:
            self.app_eof = True
            self.app_gone = self.app_gone or self.eof_is_end
            if self.close_notify:
                try:
                    self.tls.unwrap()
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass  # ours is sent; the peer's is not waited for
                except ssl.SSLError as exc:
                    raise Broken(_reason(exc)) from None
        self._collect()

    def _send_net(self):
        written = _write(self.net_out, self.to_net)
        if written is None:
            raise Broken("the client went away")
        del self.to_net[:written]
        self._maybe_close_net()

    def _send_app(self):
        written = _write(self.app_out, self.to_app)
        if written is None:  # the program stopped reading: drop what it will not read
            self.to_app.clear()
            self.net_eof = True
        else:
            del self.to_app[:written]
        if self.net_eof and not self.to_app:
            self._close_app()

    def _take_outgoing(self):
        """Move what OpenSSL has written into the network buffer."""
        if self.outgoing.pending:
            self.to_net += self.outgoing.read()

    def _collect(self):
        self._take_outgoing()
        self._maybe_close_net()

    def _maybe_close_net(self):
        if self.app_eof and not self.to_net and not self.net_closed and self.handshaken:
            self.net_closed = True
            conn.shut_write(self.net_out)

    def _close_app(self):
        if not self.app_closed:
            self.app_closed = True
            conn.shut_write(self.app_out)

    def send_alert(self):
        """On failure: one try at sending what OpenSSL has queued (the
        alert that tells the client why), never waiting."""
        self._take_outgoing()
        if self.to_net:
            try:
                os.write(self.net_out, self.to_net)
            except OSError:
                pass
            self.to_net.clear()

    # -- what the program is told -----------------------------------------

    def environment(self):
        """The SSL_* variables of the completed handshake."""
        return {} if isinstance(self.tls, Clear) else tlsenv.session_environment(self.tls)


class Clear:
    """No TLS: what Relay asks of an SSLObject, passing bytes as they are."""

    def __init__(self, incoming, outgoing):
        self.incoming, self.outgoing = incoming, outgoing

    def do_handshake(self):
        pass

    def read(self, size):
        data = self.incoming.read(size)
        if not data and not self.incoming.eof:
            raise ssl.SSLWantReadError()
        return data

    def write(self, data):
        self.outgoing.write(data)

    def unwrap(self):
        pass


def _read(fd):
    """What fd gives: bytes; b"" at its end, or when its peer is gone;
    None when nothing is ready yet."""
    try:
        return os.read(fd, CHUNK)
    except BlockingIOError:
        return None
    except OSError as exc:
        if exc.errno not in GONE:
            raise
        return b""


def _write(fd, data):
    """How much of data fd took: 0 when it takes nothing now; None when
    its reader is gone."""
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as exc:
        if exc.errno not in GONE:
            raise
        return None


def _reason(exc):
    """One line for an SSLError: OpenSSL's reason (and why a certificate
    was refused), else its text."""
    verify = getattr(exc, "verify_message", None)
    if verify:
        return "certificate verify failed: %s" % verify
    return getattr(exc, "reason", None) or str(exc).splitlines()[0]
