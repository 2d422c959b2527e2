"""getopt-style option parsing shared by every program (DESIGN.md 6)."""

import getopt

from . import errors


def parse(argv, spec):
    """Return (list of (flag, value), rest) for argv[1:]; UsageError if bad.

    Stops at the first non-option and honours '--', so the rest of argv
    reaches the next program untouched.
    """
    try:
        return getopt.getopt(argv[1:], spec)
    except getopt.GetoptError as exc:
        raise errors.UsageError(str(exc)) from None


def number(text, flag, low=0, high=None):
    """An unsigned decimal option value; anything else is a usage error."""
    if not text.isdigit():
        raise errors.UsageError("%s needs a number, not %r" % (flag, text))
    value = int(text)
    if value < low or (high is not None and value > high):
        raise errors.UsageError("%s out of range: %s" % (flag, text))
    return value
