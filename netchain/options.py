"""getopt-style option parsing and the one number scanner (doc/design.md 6)."""

import getopt

from . import errors

INT_MAX = (1 << 31) - 1   # what a C int holds: listen(), timeouts
ID_MAX = (1 << 32) - 2    # uid_t/gid_t; (uid_t)-1 means 'no change'
_DIGITS = frozenset("0123456789")


def parse(argv, spec, djb=False):
    """Return (list of (flag, value), rest) for argv[1:]; UsageError if bad.

    Stops at the first non-option and honours '--', so the rest of argv
    reaches the next program untouched.  djb: the message is worded as
    djb's sgetopt words it ('illegal option -- Z', 'option requires an
    argument -- c'), to be printed before the usage line.
    """
    try:
        return getopt.getopt(argv[1:], spec)
    except getopt.GetoptError as exc:
        if not djb:
            raise errors.UsageError(str(exc)) from None
        missing = exc.opt and exc.opt in spec and spec[spec.index(exc.opt) + 1:][:1] == ":"
        failure = errors.UsageError()
        failure.first_line = "%s -- %s" % (
            "option requires an argument" if missing else "illegal option", exc.opt)
        raise failure from None


def scan(text, what, low=0, high=INT_MAX):
    """The unsigned decimal in text (ASCII digits only, no sign, no blank),
    between low and high; BadInput (exit 100) for anything else.

    str.isdigit() alone would take '²' or Arabic digits, and int() of a
    6,000-digit string raises; both end here instead.
    """
    if not text or not _DIGITS.issuperset(text):
        raise errors.BadInput("%s is not a number: %r" % (what, text[:40]))
    if len(text) > len(str(high)) + 20 or not low <= int(text) <= high:
        raise errors.BadInput("%s out of range (%d to %d): %s" % (what, low, high, text[:40]))
    return int(text)


def number(text, flag, low=0, high=INT_MAX):
    """An option's number: as scan(), but a usage error (also exit 100)."""
    try:
        return scan(text, flag, low, high)
    except errors.BadInput as exc:
        raise errors.UsageError(str(exc)) from None
