"""djb's tcprules format (doc/design.md 4.4): the one owner of its text and
cdb value encodings, following ucspi-tcp 0.88's tcprules.c byte for byte.

A text line is 'address:instructions'; the cdb value is a run of
NUL-terminated instructions: b'D\\0' for deny, b'+NAME=value\\0' per
variable.  A plain allow is the empty value.
"""

from . import record


class ParseError(ValueError):
    """A line tcprules cannot parse; .line is the line as tcprules shows it."""

    def __init__(self, line):
        super().__init__("unable to parse this line: %s" % line.decode("latin-1"))
        self.line = line


def _number(text, line):
    """scan_ulong, then a check that nothing follows: '' is 0, '1x' fails.

    Like the C unsigned long, the value wraps modulo 2**64 (tcprules 0.88
    takes a 5,000-digit bound without complaint); int() of such a string
    would raise, so it is taken a chunk at a time.
    """
    digits = len(text) - len(text.lstrip(b"0123456789"))
    if digits != len(text):
        raise ParseError(line)
    value = 0
    for start in range(0, len(text), 1000):
        chunk = text[start:start + 1000]
        value = (value * 10 ** len(chunk) + int(chunk)) % (1 << 64)
    return value


def parse_instructions(text, line):
    """Return the cdb value for the part after the colon."""
    if text.startswith(b"deny"):
        data, rest = [b"D\0"], text[4:]
    elif text.startswith(b"allow"):
        data, rest = [], text[5:]
    else:
        raise ParseError(line)
    while rest:  # only ',NAME=QvalueQ' may follow: 0.88 skips no blanks here
        if rest[:1] != b",":
            raise ParseError(line)
        equals = rest.find(b"=")
        if equals < 0 or equals + 1 >= len(rest):
            raise ParseError(line)
        quote = rest[equals + 1:equals + 2]
        end = rest.find(quote, equals + 2)
        if end < 0:
            raise ParseError(line)
        data.append(b"+" + rest[1:equals + 1] + rest[equals + 2:end] + b"\0")
        rest = rest[end + 1:]
    return b"".join(data)


def expand_address(address, line):
    """Keys for an address field: a range like 1.2.3.4-7 gives several."""
    if b"=" in address or b"@" in address:
        return [address]
    dash = address.find(b"-")
    if dash < 0:
        return [address]
    left = address.rfind(b".", 0, dash) + 1
    right_dot = address.find(b".", dash + 1)
    right = len(address) if right_dot < 0 else right_dot
    bottom = _number(address[left:dash], line)
    top = min(_number(address[dash + 1:right], line), 255)
    head, tail = address[:left], address[right:]
    # Debian's 0.88 leaves every key's case as written, ranges included.
    return [head + b"%d" % n + tail for n in range(bottom, top + 1)]


def parse_lines(lines):
    """Yield (key, value) records for an iterable of lines, as tcprules.c.

    Trailing blanks are cut, '#' lines, blank lines and lines without ':'
    skipped.  One flat loop, no call per line: it runs for every line of
    files with hundreds of thousands of them.  The instruction texts
    already seen are remembered (real files repeat a few of them).
    """
    cache = {}
    for raw in lines:
        line = raw.rstrip(b"\n\t ")
        if not line or raw[:1] == b"#":
            continue
        colon = line.find(b":")
        if colon < 0:
            continue
        instructions = line[colon + 1:]
        value = cache.get(instructions)
        if value is None:
            value = cache[instructions] = parse_instructions(instructions, line)
        address = line[:colon]
        if b"-" in address:
            yield from ((key, value) for key in expand_address(address, line))
        else:
            yield address, value


def decode(value):
    """Rule for a tcprules cdb value, as tcpserver's callback reads it.

    Instructions not ending in NUL are ignored, '+' without '=' is ignored,
    and one 'D' anywhere makes it a deny (the env is still parsed).
    """
    allow = True
    env = []
    items = bytes(value).split(b"\0")[:-1]
    for item in items:
        if item.startswith(b"D"):
            allow = False
        elif item.startswith(b"+"):
            name, sep, val = item[1:].partition(b"=")
            if sep:
                env.append((name, val))
    return record.Rule(allow, tuple(env))


def explain(value):
    """tcprulescheck's lines for a found value (after 'rule KEY:')."""
    lines = []
    for item in bytes(value).split(b"\0")[:-1]:
        if item.startswith(b"D"):
            lines.append(b"deny connection")
            return lines
        if item.startswith(b"+"):
            lines.append(b"set environment variable " + item[1:])
    lines.append(b"allow connection")
    return lines
