"""delcr: byte for byte as Debian's on random input."""

from hypothesis import given, settings

from companions import CRLF_HEAVY, same


@settings(max_examples=30, deadline=None)
@given(CRLF_HEAVY)
def test_random_input_matches_ucspi_tcp(data):
    same("delcr", stdin=data)


def test_one_cr_before_each_lf_goes_a_final_cr_stays():
    assert same("delcr", stdin=b"a\r\nb\rc\r\r\nd\r").stdout == b"a\nb\rc\r\nd\r"


def test_a_cr_lf_split_across_reads():
    data = (b"x" * 65535 + b"\r\n") * 3  # the CR ends one read, the LF starts the next
    assert same("delcr", stdin=data).stdout == (b"x" * 65535 + b"\n") * 3
