"""date@: as Debian's script: CRs removed, cat -v, tcpclient's errors."""

from companions import same
from service_at import ANSWER, fixed_port_server


def test_output_matches_ucspi_tcp():
    server = fixed_port_server(13)
    try:
        result = same("date@", "127.0.0.1")
    finally:
        server.close()
    assert result.returncode == 0
    assert result.stdout.startswith(ANSWER.split(b"\r\n")[0] + b"\n")
    assert b"^A^?M-i" in result.stdout


def test_nothing_listening_matches_ucspi_tcp():
    result = same("date@", "127.0.0.2")
    assert result.stderr.startswith(b"tcpclient: unable to connect to 127.0.0.2 port 13")
