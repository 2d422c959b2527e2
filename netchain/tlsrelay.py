"""One TLS session between the network and a program, over memory BIOs.

Relay holds an ssl.SSLObject whose ciphertext goes through two
MemoryBIOs, so that nothing here ever blocks: the caller watches the
descriptors Relay.wanted() names and calls Relay.ready() when one is
ready.  tlsd and tlsc drive it with poll in their relay process (run());
tcpserverd drives many at once from its own selector loop.  The same
code therefore does the handshake, the copying both ways, the half-closes
and close_notify in exec mode and in fused mode.
"""

import errno
import hashlib
import os
import select
import socket
import ssl
import time

CHUNK = 65536
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
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                    server_hostname=servername)
        self.net_in, self.net_out, self.app_in, self.app_out = net_in, net_out, app_in, app_out
        self.close_notify = close_notify
        self.handshaken = False
        self.to_net, self.to_app = bytearray(), bytearray()
        self.net_eof = self.app_eof = False        # each side has said it is done sending
        self.net_closed = self.app_closed = False  # we have shut down our sending to it
        self.app_gone = False                      # the program has ended: nobody reads

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
        try:
            data = os.read(self.net_in, CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            data = b""
        if data:
            self.incoming.write(data)
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
        try:
            data = os.read(self.app_in, CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            data = b""
        if data:
            try:
                self.tls.write(data)
            except ssl.SSLError as exc:
                raise Broken(_reason(exc)) from None
        else:
            self.app_eof = True
            if self.close_notify:
                try:
                    self.tls.unwrap()
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass  # ours is sent; the peer's is not waited for
                except ssl.SSLError as exc:
                    raise Broken(_reason(exc)) from None
        self._collect()

    def _send_net(self):
        try:
            written = os.write(self.net_out, self.to_net)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            raise Broken("the client went away") from None
        del self.to_net[:written]
        self._maybe_close_net()

    def _send_app(self):
        try:
            written = os.write(self.app_out, self.to_app)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            self.to_app.clear()  # the program stopped reading: drop what it will not read
            written = 0
            self.net_eof = True
        del self.to_app[:written]
        if self.net_eof and not self.to_app:
            self._close_app()

    def _collect(self):
        """Move what OpenSSL has written into the network buffer."""
        if self.outgoing.pending:
            self.to_net += self.outgoing.read()
        self._maybe_close_net()

    def _maybe_close_net(self):
        if self.app_eof and not self.to_net and not self.net_closed and self.handshaken:
            self.net_closed = True
            _shut_write(self.net_out)

    def _close_app(self):
        if not self.app_closed:
            self.app_closed = True
            _shut_write(self.app_out)

    # -- what the program is told -----------------------------------------

    def environment(self):
        """The SSL_* variables of the completed handshake."""
        return session_environment(self.tls)


def _shut_write(fd):
    """Half-close fd: the peer reads EOF, and can still send."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # not a socket, or already gone: nothing to tell
    finally:
        sock.close()


def _reason(exc):
    """One line for an SSLError: OpenSSL's reason, else its text."""
    return getattr(exc, "reason", None) or str(exc).splitlines()[0]


def session_environment(tls):
    """SSL_PROTOCOL, SSL_CIPHER, and when present SSL_TLS_SNI_SERVERNAME
    and the peer certificate's SHA-256 and subject."""
    env = {"SSL_PROTOCOL": tls.version() or "", "SSL_CIPHER": (tls.cipher() or ("",))[0]}
    name = getattr(tls, "sni_name", None) if tls.server_side else tls.server_hostname
    if name:
        env["SSL_TLS_SNI_SERVERNAME"] = name
    der = tls.getpeercert(binary_form=True)
    if der:
        env["SSL_PEER_CERT_HASH"] = "SHA256:" + hashlib.sha256(der).hexdigest()
        subject = (tls.getpeercert() or {}).get("subject")
        if subject:
            env["SSL_PEER_CERT_SUBJECT"] = rfc4514(subject)
    return env


SHORT_NAMES = {"commonName": "CN", "countryName": "C", "localityName": "L",
               "stateOrProvinceName": "ST", "organizationName": "O",
               "organizationalUnitName": "OU", "domainComponent": "DC", "userId": "UID",
               "streetAddress": "STREET"}


def rfc4514(subject):
    """A subject as ssl gives it (RDNs, most significant first) in RFC 4514
    text (least significant first, special characters escaped)."""
    return ",".join("+".join("%s=%s" % (SHORT_NAMES.get(kind, kind), _escape(value))
                             for kind, value in rdn) for rdn in reversed(subject))


def _escape(value):
    out = "".join("\\" + char if char in ',+"\\<>;=' else ("\\00" if char == "\0" else char)
                  for char in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


def run(relay, deadline=None, until_handshaken=False):
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
            masks[fd] = masks.get(fd, 0) | (select.POLLIN if event == READ else select.POLLOUT)
        poller = select.poll()
        for fd, mask in masks.items():
            poller.register(fd, mask)
        timeout = None
        if not relay.handshaken and deadline is not None:
            timeout = max(0, int((deadline - time.monotonic()) * 1000) + 1)
        events = poller.poll(timeout)
        if not events:
            raise TimeoutError("no TLS handshake within the deadline")
        for fd, mask in events:
            if mask & select.POLLHUP and fd in (relay.app_in, relay.app_out):
                relay.app_gone = True
            for event, bits in ((READ, select.POLLIN | select.POLLHUP | select.POLLERR),
                                (WRITE, select.POLLOUT | select.POLLERR)):
                if mask & bits and (fd, event) in wanted:
                    relay.ready(fd, event)
