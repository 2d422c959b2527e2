"""date@: as Debian's script: CRs removed, cat -v, tcpclient's errors."""

from service_at import check_asked_port


def test_output_and_errors_match_ucspi_tcp():
    check_asked_port("date@", 13)
