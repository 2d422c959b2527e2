"""finger@: as Debian's script: the user sent with CR LF, the answer
without CRs and through cat -v."""

import pytest

from companions import same
from service_at import fixed_port_server


@pytest.mark.parametrize("user", [[], ["someone"], [""]])
def test_output_and_query_match_ucspi_tcp(user):
    server = fixed_port_server(79, until=b"\n")
    try:
        result = same("finger@", "127.0.0.1", *user)
    finally:
        server.close()
    assert result.returncode == 0 and b"^A^?M-i" in result.stdout
    expected = (user[0] if user else "").encode() + b"\r\n"
    assert server.received == [expected, expected]  # ours, then Debian's
