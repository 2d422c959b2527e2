"""A fake DNS server and a fake identd on 127.0.0.1, for tests.

Never the machine's resolver: programs are pointed at these with
DNSCACHEIP=127.0.0.1 DNSCACHEPORT=<port>, and IDENTPORT=<port>.
"""

import socket
import threading
import time

import dns.message
import dns.rcode
import dns.rrset


def _bound(kind, address):
    """A socket bound to address; closed again when the bind fails (a
    port taken by another run), so that no socket is left to the
    garbage collector."""
    sock = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class _LoopbackServer:
    """A socket on 127.0.0.1 served by a thread, one worker thread per request."""

    def _start(self, sock, receive, handle):
        self.sock = sock
        self.port = sock.getsockname()[1]
        sock.settimeout(0.1)  # here: a close() right after start must not race it
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(receive, handle), daemon=True)
        self.thread.start()

    def _serve(self, receive, handle):
        while not self.stopped.is_set():
            try:
                request = receive()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=request, daemon=True).start()

    def close(self):
        self.stopped.set()
        self.sock.close()
        self.thread.join(2)


class FakeDNS(_LoopbackServer):
    """answers: {(name, type): [rdata text]}; delay: {name: seconds};
    silent: set of names never answered; raw: {name: bytes} sent as is."""

    def __init__(self, answers=None, delay=None, silent=(), raw=None, address=("127.0.0.1", 0)):
        """address: where to listen; port 53 (root only) on a loopback
        address of its own serves djb's C clients, which use no other."""
        self.answers = answers or {}
        self.delay = delay or {}
        self.silent = set(silent)
        self.raw = raw or {}
        self.queries = []
        sock = _bound(socket.SOCK_DGRAM, address)
        self.ip = address[0]
        self._start(sock, lambda: sock.recvfrom(4096), self._answer)

    def env(self):
        return {"DNSCACHEIP": self.ip, "DNSCACHEPORT": str(self.port)}

    def _answer(self, data, peer):
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self.silent:
            return
        time.sleep(self.delay.get(name, 0))
        if name in self.raw:
            wire = self.raw[name](query) if callable(self.raw[name]) else self.raw[name]
        else:
            response = dns.message.make_response(query)
            texts = self.answers.get((name, rdtype))
            if texts is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                response.answer.append(dns.rrset.from_text_list(
                    question.name, 60, "IN", rdtype, texts))
            wire = response.to_wire(want_shuffle=False)  # records in the order given
        try:
            self.sock.sendto(wire, peer)
        except OSError:
            pass


class FakeIdentd(_LoopbackServer):
    """Answers every query with reply(query_line) -> bytes (or None: silence)."""

    def __init__(self, reply):
        self.reply = reply
        sock = _bound(socket.SOCK_STREAM, ("127.0.0.1", 0))
        sock.listen(50)
        self._start(sock, lambda: sock.accept()[:1], self._one)

    def env(self):
        return {"IDENTPORT": str(self.port)}

    def _one(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                line = conn.recv(1000)
                answer = self.reply(line)
                if answer is None:
                    time.sleep(3)
                    return
                conn.sendall(answer)
            except OSError:
                pass


def ident_answer(user):
    """A reply function answering USERID user for the ports asked."""
    def reply(line):
        ports = line.strip().decode()
        return ("%s : USERID : UNIX : " % ports).encode() + user + b"\r\n"
    return reply


class ReplyServer(_LoopbackServer):
    """A TCP server for client tests: for each connection, reads until
    `until` has arrived (or EOF, or 5 s), records it, sends reply(received)
    and closes.  received: the bytes of each connection, in order."""

    def __init__(self, reply, until=b"\n", address=("127.0.0.1", 0)):
        self.reply, self.until, self.received = reply, until, []
        sock = _bound(socket.SOCK_STREAM, address)
        sock.listen(20)
        self._start(sock, lambda: sock.accept()[:1], self._one)

    def _one(self, conn):
        with conn:
            conn.settimeout(5)
            got = b""
            try:
                while self.until not in got:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except OSError:
                pass
            self.received.append(got)
            try:
                conn.sendall(self.reply(got))
            except OSError:
                pass
