"""mconnect-io: between Debian's tcpclient and a server that records what
it gets: the same bytes reach the server and the terminal as with Debian's."""

import pytest

from conftest import need, run_ref
from fakes import ReplyServer
from servers import prog

ANSWER = b"220 hi\r\nline2\nbare\rcr\r\r\nend\r"
TYPED = b"helo x\nmail\r\nq\r\r\npartial\nQUIT\n"


def exchange(mconnect_io):
    server = ReplyServer(lambda got: ANSWER, until=b"QUIT")
    try:
        result = run_ref("tcpclient", "-RHl0", "127.0.0.1", server.port, *mconnect_io,
                         input=TYPED, timeout=30)
    finally:
        server.close()
    return result, server.received


def test_same_bytes_both_ways_as_ucspi_tcp():
    need("tcpclient")
    need("mconnect-io")
    ours, ours_sent = exchange(prog("mconnect-io"))
    theirs, theirs_sent = exchange(["mconnect-io"])
    assert (ours.returncode, ours.stdout, ours_sent) == (theirs.returncode, theirs.stdout, theirs_sent)
    assert ours_sent == [TYPED.replace(b"\n", b"\r\n")] and ours.stdout == ANSWER


@pytest.mark.parametrize("fds", ["6</dev/null 7>/dev/null", ""])
def test_without_a_server_it_ends_quietly(fds):
    need("mconnect-io")
    for argv in (prog("mconnect-io"), ["mconnect-io"]):
        result = run_ref("sh", "-c", 'exec "$@" %s' % fds, "sh", *argv)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
