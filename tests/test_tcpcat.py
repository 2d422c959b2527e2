"""tcpcat: as Debian's script: what the server sends, byte for byte; the
connection errors of tcpclient."""

from companions import same
from fakes import ReplyServer

DATA = bytes(range(256)) * 40 + b"\r\nend"


def test_prints_what_the_server_sends():
    server = ReplyServer(lambda got: DATA, until=b"")
    try:
        result = same("tcpcat", "127.0.0.1", str(server.port))
    finally:
        server.close()
    assert result.returncode == 0 and result.stdout == DATA


def test_refused_connection_matches():
    taken = ReplyServer(lambda got: b"", until=b"")  # a port we know, then closed
    port = taken.port
    taken.close()
    result = same("tcpcat", "127.0.0.1", str(port))
    assert result.returncode == 111
    assert result.stderr.startswith(b"tcpclient: unable to connect to 127.0.0.1 port ")
