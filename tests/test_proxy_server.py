"""proxy-server: the PROXY protocol parser, crafted headers in both modes,
and a real HAProxy in front (Debian's haproxy; .ci/run installs it)."""

import os
import shutil
import socket
import subprocess
import time

import pytest
from hypothesis import given, settings, strategies as st

from netchain import proxyproto
from servers import prog, read_to_eof, serve, wait_for

SHOW = ["sh", "-c", 'echo "$TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP $TCPLOCALPORT '
        '${PROXYREMOTEIP-none} ${TCPREMOTEHOST-unset} ${SSL_TLS_SNI_SERVERNAME-nosni}"; head -c 5']


def v2(command=1, family=0x11, body=None, tlvs=b"", length=None):
    if body is None:
        body = bytes([10, 1, 2, 3, 10, 9, 8, 7]) + (1234).to_bytes(2, "big") + (25).to_bytes(2, "big")
    body += tlvs
    size = len(body) if length is None else length
    return proxyproto.SIGNATURE + bytes([0x20 | command, family]) + size.to_bytes(2, "big") + body


def tlv(kind, value):
    return bytes([kind]) + len(value).to_bytes(2, "big") + value


GOOD = [
    (b"PROXY TCP4 10.1.2.3 10.9.8.7 1234 25\r\n", ("10.1.2.3", 1234, "10.9.8.7", 25)),
    (b"PROXY TCP6 2001:db8::1 ::1 65535 0\r\n", ("2001:db8::1", 65535, "::1", 0)),
    (b"PROXY TCP6 ::ffff:10.1.2.3 ::1 1 2\r\n", ("10.1.2.3", 1, "::1", 2)),
    (v2(), ("10.1.2.3", 1234, "10.9.8.7", 25)),
    (v2(tlvs=tlv(0x02, b"mail.example") + tlv(0x04, b"\x00\x00\x00\x01")), ("10.1.2.3", 1234, "10.9.8.7", 25)),
    (v2(family=0x21, body=(1).to_bytes(16, "big") + (2).to_bytes(16, "big") + b"\x00\x05\x00\x06"),
     ("::1", 5, "::2", 6)),
]

BAD = {
    "leading zero port": b"PROXY TCP4 10.1.2.3 10.9.8.7 01234 25\r\n",
    "leading zero address": b"PROXY TCP4 10.01.2.3 10.9.8.7 1234 25\r\n",
    "port too big": b"PROXY TCP4 10.1.2.3 10.9.8.7 65536 25\r\n",
    "LF only": b"PROXY TCP4 10.1.2.3 10.9.8.7 1234 25\n",
    "two spaces": b"PROXY TCP4 10.1.2.3  10.9.8.7 1234 25\r\n",
    "wrong family": b"PROXY TCP4 ::1 ::1 1 2\r\n",
    "scope id": b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
    "too long": b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n",
    "lower case": b"proxy TCP4 10.1.2.3 10.9.8.7 1234 25\r\n",
    "v2 version 1": v2()[:12] + b"\x11" + v2()[13:],
    "v2 command 2": v2(command=2),
    "v2 UDP": v2(family=0x12),
    "v2 unix": v2(family=0x31, body=b"\0" * 216),
    "v2 unspecified family with PROXY": v2(family=0x00, body=b""),
    "v2 addresses cut": v2(body=b"\x0a\x01"),
    "v2 truncated TLV": v2(tlvs=b"\x02\x00\x09abc"),
    "not a header": b"GET / HTTP/1.0\r\n\r\n",
}


def _feed(data, tail=b"", versions=(1, 2), timeout=2.0):
    """read_header over a real socket pair; returns (header or exception, rest)."""
    left, right = socket.socketpair()
    with left, right:
        left.sendall(data + tail)
        left.shutdown(socket.SHUT_WR)
        try:
            found = proxyproto.read_header(right.fileno(), time.monotonic() + timeout, versions)
        except (proxyproto.Invalid, TimeoutError) as exc:
            found = exc
        right.settimeout(2)
        return found, read_to_eof(right)


@pytest.mark.parametrize("data,expected", GOOD)
def test_good_headers(data, expected):
    header, rest = _feed(data, b"client bytes")
    assert (header.remote_ip, header.remote_port, header.local_ip, header.local_port) == expected
    assert rest == b"client bytes"  # not one byte of the client's data was taken


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_headers_are_refused(name):
    found, _ = _feed(BAD[name])
    assert isinstance(found, proxyproto.Invalid), name


def test_local_and_unknown_keep_the_real_endpoints():
    for data in (v2(command=0, family=0, body=b""), v2(command=0, family=0x11),
                 b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ffff::1 ::1 1 2\r\n"):
        header, rest = _feed(data, b"x")
        assert header.local and rest == b"x"


def test_versions_can_be_restricted():
    assert isinstance(_feed(v2(), versions=(1,))[0], proxyproto.Invalid)
    assert isinstance(_feed(GOOD[0][0], versions=(2,))[0], proxyproto.Invalid)


def test_a_silent_peer_times_out():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"PROXY TCP4")
        with pytest.raises(TimeoutError):
            proxyproto.read_header(right.fileno(), time.monotonic() + 0.3)


def test_tlv_text_with_control_bytes_is_left_out():
    tlvs = {0x02: b"evil\x1b[2J", 0x20: b"\x01\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3") + tlv(0x22, b"cn\x00")}
    assert proxyproto.tlv_environment(tlvs) == [("SSL_PROTOCOL", "TLSv1.3")]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300),
                 st.builds(lambda a, b: a + b, st.sampled_from([v2(), GOOD[0][0], proxyproto.SIGNATURE]),
                           st.binary(max_size=60))),
       st.binary(min_size=1, max_size=20))
def test_any_bytes_give_a_header_or_a_clean_refusal(data, tail):
    """Never another exception, never a byte past the header."""
    found, rest = _feed(data, tail, timeout=0.5)
    if isinstance(found, proxyproto.Header):
        assert (data + tail).endswith(rest) and len(rest) >= len(tail)


def _send(server, data, source="127.0.0.1"):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                  source_address=(source, 0)) as sock:
        sock.sendall(data)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # already reset: the server refused and closed with our bytes unread
            return b""
        out = b""
        while True:
            try:
                chunk = sock.recv(1000)
            except ConnectionResetError:  # closed with our bytes unread: a refusal
                return out
            if not chunk:
                return out
            out += chunk


def test_served_v1_and_v2(mode):
    server = serve(mode, [], prog("proxy-server") + SHOW, env={"TCPREMOTEHOST": "stale"})
    try:
        assert _send(server, GOOD[0][0] + b"hello") == b"10.1.2.3 1234 10.9.8.7 25 127.0.0.1 unset nosni\nhello"
        with_sni = v2(tlvs=tlv(0x02, b"mail.example"))
        assert _send(server, with_sni + b"world") == \
            b"10.1.2.3 1234 10.9.8.7 25 127.0.0.1 unset mail.example\nworld"
    finally:
        assert server.stop()[0] == 0


@pytest.mark.parametrize("opts,data,reason", [
    (["-a", "10.0.0.0/8"], GOOD[0][0], "refused 127.0.0.1: not a trusted proxy"),
    ([], BAD["leading zero port"], "refused 127.0.0.1: invalid PROXY header"),
    (["-t", "300"], b"", "refused 127.0.0.1: no PROXY header within 300 ms"),
    (["-2"], GOOD[0][0], "refused 127.0.0.1: invalid PROXY header"),
])
def test_served_refusals_are_logged_and_run_nothing(mode, opts, data, reason):
    server = serve(mode, ["-v2"], prog("proxy-server") + opts + SHOW)
    try:
        if data:
            assert _send(server, data + b"hello") == b""
        else:
            with server.connect(timeout=10) as sock:  # silent: says nothing, holds on
                assert sock.recv(10) == b""
        server.wait_log("proxy-server: warning: " + reason)
    finally:
        code, log = server.stop()
    assert code == 0 and "10.1.2.3" not in log.split(reason)[0][-200:]


def test_rules_see_the_real_client(mode, tmp_path):
    from netchain.rules import record, tree
    root = str(tmp_path / "rules")
    tree.install_rule(root, "ip4/10.1.2.3_32", record.DENY)
    tree.install_rule(root, "ip4/0.0.0.0_0", record.ALLOW)
    server = serve(mode, [], prog("proxy-server") + prog("tcpserver-access") + ["-H", "-i", root] + SHOW)
    try:
        assert _send(server, GOOD[0][0] + b"hello") == b""  # 10.1.2.3 is denied
        assert _send(server, b"PROXY TCP4 10.1.2.4 10.9.8.7 1 25\r\nhello").startswith(b"10.1.2.4 1 ")
    finally:
        server.stop()


# A real HAProxy in front ---------------------------------------------------

def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HAProxy:
    """haproxy -db on 127.0.0.1 with one backend server line; stopped by pid."""

    def __init__(self, tmp_path, backend_port, server_options):
        if shutil.which("haproxy") is None:
            pytest.skip("haproxy not installed (apt-get install haproxy; .ci/run does)")
        for _ in range(5):  # a port taken between picking and binding: pick again
            self.port = _free_port()
            config = tmp_path / "haproxy.cfg"
            config.write_text(
                "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 20s\n  timeout server 20s\n"
                "frontend fe\n  bind 127.0.0.1:%d\n  default_backend be\n"
                "backend be\n  server s1 127.0.0.1:%d %s\n" % (self.port, backend_port, server_options))
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if wait_for(self._listening, timeout=15):
                return
            self.stop()
        raise AssertionError("haproxy did not start")

    def _listening(self):
        if self.proc.poll() is not None:
            return True
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


@pytest.mark.parametrize("options", ["send-proxy", "send-proxy-v2", "send-proxy-v2 proxy-v2-options crc32c,unique-id"])
def test_behind_haproxy(tmp_path, options):
    server = serve([], [], prog("proxy-server") + ["-a", "127.0.0.1"] + SHOW)
    haproxy = HAProxy(tmp_path, server.port, options)
    try:
        assert haproxy.proc.poll() is None
        with socket.create_connection(("127.0.0.1", haproxy.port), timeout=10,
                                      source_address=("127.0.0.2", 0)) as sock:
            client_port = sock.getsockname()[1]
            sock.sendall(b"hello")
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while not answer.endswith(b"hello"):
                chunk = sock.recv(1000)
                if not chunk:
                    break
                answer += chunk
    finally:
        haproxy.stop()
        server.stop()
    assert answer == b"127.0.0.2 %d 127.0.0.1 %d 127.0.0.1 unset nosni\nhello" % (client_port, haproxy.port)


@pytest.mark.parametrize("options,expected", [
    ("send-proxy-v2 check inter 200", "127.0.0.1 none"),  # v2 health check: LOCAL, real endpoints
    ("send-proxy check inter 200", "127.0.0.1 127.0.0.1"),  # v1: the check's own endpoints
])
def test_haproxy_health_checks(tmp_path, options, expected):
    seen = tmp_path / "seen"
    program = ["sh", "-c", 'echo "$TCPREMOTEIP ${PROXYREMOTEIP-none}" >> %s' % seen]
    server = serve([], [], prog("proxy-server") + ["-a", "127.0.0.1"] + program)
    haproxy = HAProxy(tmp_path, server.port, options)
    try:
        # a check runs every 200 ms: wait for one that says what is meant
        # (HAProxy may also send other headers on its own connections)
        assert wait_for(lambda: os.path.exists(seen) and expected in seen.read_text().splitlines(),
                        timeout=20), (seen.read_text() if os.path.exists(seen) else "no check came")
    finally:
        haproxy.stop()
        server.stop()


def test_rules_deny_the_real_client_behind_haproxy(tmp_path):
    from netchain.rules import record, tree
    root = str(tmp_path / "rules")
    tree.install_rule(root, "ip4/127.0.0.2_32", record.DENY)
    tree.install_rule(root, "ip4/0.0.0.0_0", record.ALLOW)
    server = serve([], ["-v2"], prog("proxy-server") + ["-a", "127.0.0.1"] + prog("tcpserver-access") +
                   ["-H", "-v2", "-i", root] + SHOW)
    haproxy = HAProxy(tmp_path, server.port, "send-proxy-v2")
    try:
        for source, allowed in (("127.0.0.2", False), ("127.0.0.3", True)):
            with socket.create_connection(("127.0.0.1", haproxy.port), timeout=10,
                                          source_address=(source, 0)) as sock:
                sock.sendall(b"hello")
                sock.shutdown(socket.SHUT_WR)
                try:
                    data = sock.recv(1000)
                except ConnectionResetError:
                    data = b""
            assert data.startswith(source.encode()) == allowed, (source, data)
        server.wait_log("tcpserver-access: info: deny 127.0.0.2 key ip4/127.0.0.2_32")
    finally:
        haproxy.stop()
        server.stop()


def test_fused_per_ip_limit_counts_the_real_client():
    """-C 1 behind one proxy: two real clients at once are both served (the
    proxy's own address is not limited), a second connection from the same
    real client is refused, and TCPCONNNUM counts the real client."""
    program = ["sh", "-c", 'echo "$TCPREMOTEIP $TCPCONNNUM"; exec cat']
    server = serve([], ["-v2", "-C", "1"], prog("proxy-server") + program)

    def open_as(client):
        sock = server.connect(timeout=10)
        sock.sendall(b"PROXY TCP4 %s 10.9.8.7 1000 25\r\n" % client.encode())
        return sock
    try:
        first, second = open_as("10.0.0.1"), open_as("10.0.0.2")
        assert first.recv(100) == b"10.0.0.1 0\n"
        assert second.recv(100) == b"10.0.0.2 0\n"
        with open_as("10.0.0.1") as third:
            try:
                assert third.recv(100) == b""
            except ConnectionResetError:
                pass
        server.wait_log("proxy-server: warning: refused 127.0.0.1: per-IP limit reached for 10.0.0.1")
        first.close()
        second.close()
        server.wait_log("tcpserverd: info: end pid ", count=2)
        with open_as("10.0.0.1") as again:
            assert again.recv(100) == b"10.0.0.1 0\n"
    finally:
        code, log = server.stop()
    assert code == 0
