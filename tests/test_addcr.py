"""addcr: byte for byte as Debian's on random input."""

from hypothesis import given, settings

from companions import CRLF_HEAVY, same


@settings(max_examples=30, deadline=None)
@given(CRLF_HEAVY)
def test_random_input_matches_ucspi_tcp(data):
    same("addcr", stdin=data)


def test_every_lf_gets_a_cr_but_not_a_partial_last_line():
    assert same("addcr", stdin=b"a\nb\r\nc").stdout == b"a\r\nb\r\r\nc"


def test_arguments_are_ignored_and_a_large_input_streams():
    data = b"line\n" * 200000
    result = same("addcr", "whatever", stdin=data)
    assert result.returncode == 0 and result.stdout == b"line\r\n" * 200000
