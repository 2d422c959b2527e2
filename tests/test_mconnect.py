"""mconnect: as Debian's script, against a server that records what it gets."""

from companions import both
from fakes import ReplyServer

TYPED = b"helo x\nmail from:<a@example.com>\r\nQUIT\n"
ANSWER = b"220 ready\r\n250 ok\r\n221 bye\r\n"


def test_same_dialogue_as_ucspi_tcp():
    server = ReplyServer(lambda got: ANSWER, until=b"QUIT")
    try:
        ours, theirs = both("mconnect", "127.0.0.1", str(server.port), stdin=TYPED)
    finally:
        server.close()
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
    assert ours.stdout == ANSWER
    assert server.received == [TYPED.replace(b"\n", b"\r\n")] * 2  # ours, then Debian's
