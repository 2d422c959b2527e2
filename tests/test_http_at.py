"""http@: as Debian's script: the request it sends, the body it prints."""

from companions import same
from fakes import ReplyServer

RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody line\r\n\r\nsecond \x01\r\nlast"


def test_request_and_body_match_ucspi_tcp():
    server = ReplyServer(lambda got: RESPONSE, until=b"\r\n\r\n")
    try:
        result = same("http@", "127.0.0.1", "some/page", str(server.port))
    finally:
        server.close()
    assert result.stdout == b"body line\nsecond \x01\nlast\n"  # awk skips every empty line
    request = b"GET /some/page HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n" % server.port
    assert server.received == [request, request]
