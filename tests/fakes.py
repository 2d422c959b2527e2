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


class FakeDNS:
    """answers: {(name, type): [rdata text]}; delay: {name: seconds};
    silent: set of names never answered; raw: {name: bytes} sent as is."""

    def __init__(self, answers=None, delay=None, silent=(), raw=None):
        self.answers = answers or {}
        self.delay = delay or {}
        self.silent = set(silent)
        self.raw = raw or {}
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def env(self):
        return {"DNSCACHEIP": "127.0.0.1", "DNSCACHEPORT": str(self.port)}

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(data, peer), daemon=True).start()

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
            wire = response.to_wire()
        try:
            self.sock.sendto(wire, peer)
        except OSError:
            pass

    def close(self):
        self.stopped.set()
        self.sock.close()
        self.thread.join(2)


class FakeIdentd:
    """Answers every query with reply(query_line) -> bytes (or None: silence)."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def env(self):
        return {"IDENTPORT": str(self.port)}

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

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

    def close(self):
        self.stopped.set()
        self.sock.close()
        self.thread.join(2)


def ident_answer(user):
    """A reply function answering USERID user for the ports asked."""
    def reply(line):
        ports = line.strip().decode()
        return ("%s : USERID : UNIX : " % ports).encode() + user + b"\r\n"
    return reply
