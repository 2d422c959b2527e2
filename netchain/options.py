"""getopt-style option parsing and the one number scanner (doc/design.md 6)."""

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
        return _getopt(argv[1:], spec)
    except _OptionError as exc:
        if not djb:
            raise errors.UsageError(exc.text) from None
        failure = errors.UsageError()
        failure.first_line = "%s -- %s" % (
            "option requires an argument" if exc.missing else "illegal option", exc.letter)
        raise failure from None


class _OptionError(Exception):
    def __init__(self, letter, missing):
        super().__init__(letter)
        self.letter, self.missing = letter, missing
        self.text = ("option -%s requires an argument" % letter if missing
                     else "option -%s not recognized" % letter)


def _getopt(args, spec):
    """POSIX getopt: clustered letters (-HRl0), an argument attached or in
    the next word, '--' ends the options, the first non-option too.  Our
    own, not the getopt module: that one imports gettext and re, which
    cost every exec-mode program milliseconds at start-up."""
    opts, index = [], 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return opts, args[index + 1:]
        if not word.startswith("-") or word == "-":
            break
        position = 1
        while position < len(word):
            letter = word[position]
            place = spec.find(letter)
            if letter == ":" or place < 0:
                raise _OptionError(letter, False)
            if spec[place + 1:place + 2] != ":":
                opts.append(("-" + letter, ""))
                position += 1
                continue
            if position + 1 < len(word):
                opts.append(("-" + letter, word[position + 1:]))
            elif index + 1 < len(args):
                index += 1
                opts.append(("-" + letter, args[index]))
            else:
                raise _OptionError(letter, True)
            break
        index += 1
    return opts, args[index:]


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
