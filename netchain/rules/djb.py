"""djb's tcprules format (doc/design.md 4.4): the one owner of its text and
cdb value encodings, following ucspi-tcp 0.88's tcprules.c byte for byte.

A text line is 'address:instructions'; the cdb value is a run of
NUL-terminated instructions: b'D\\0' for deny, b'+NAME=value\\0' per
variable.  A plain allow is the empty value.
"""

import re

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


# allow or deny, then ',NAME=QvalueQ' items with nothing between them (0.88
# skips no blanks): NAME runs to the first '=', Q is any byte, the value
# runs to the next Q and cannot hold it (so no backtracking can read a
# line otherwise than tcprules.c's loop does).
_INSTRUCTIONS = re.compile(rb"(allow|deny)((?:,[^=]*=(.)(?:(?!\3).)*\3)*)", re.S)
_ITEM = re.compile(rb",([^=]*=)(.)((?:(?!\2).)*)\2", re.S)


def instruction_value(text):
    """The cdb value for the part after the colon: b'D\\0' for deny, then
    b'+NAME=value\\0' per item; None when tcprules cannot parse it."""
    found = _INSTRUCTIONS.fullmatch(text)
    if found is None:
        return None
    items = b"".join([b"+" + name + value + b"\0" for name, _, value in _ITEM.findall(found.group(2))])
    return items if found.group(1) == b"allow" else b"D\0" + items


def parse_instructions(text, line):
    """instruction_value(text), or ParseError naming line."""
    value = instruction_value(text)
    if value is None:
        raise ParseError(line)
    return value


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


# A line tcprules reads: not a comment, an address up to the first ':',
# the instructions (trailing blanks cut later, once per distinct text).
# Lines without ':' (blank ones too) do not match, as tcprules skips them.
_LINE = re.compile(rb"^(?!#)([^:\n]*):([^\n]*)", re.M)
# An address that tcprules expands as a range (no '=' and no '@').
_RANGE = re.compile(rb"^(?!#)[^:=@\n]*-[^:=@\n]*:", re.M)


# One whole line of valid instructions, for checking many texts at once.
_VALID = re.compile(rb"^(?:allow|deny)(?:,[^=\n]*=([^\n])(?:(?!\1)[^\n])*\1)*$", re.M)
_BULK_ITEM = re.compile(rb",([^=\n]*=)([^\n])((?:(?!\2)[^\n])*)\2")


def _values_in_bulk(texts):
    """The cdb values of many instruction texts (no newline in any), made
    with C-level operations only: the texts are joined into one blob,
    checked line by line with one regular expression, their items split
    out and rejoined as '+NAME=value\\0', and 'allow'/'deny' at each line
    start made '' or 'D\\0'.  None when a text does not parse (the caller
    then finds and reports the first bad line)."""
    import itertools

    blob = re.sub(rb"[ \t]+$", b"", b"\n".join(texts), flags=re.M)  # trailing blanks
    if len(_VALID.findall(blob)) != len(texts):
        return None
    parts = _BULK_ITEM.split(blob)  # [between, name=, quote, value, between, ...]
    plus, nul = itertools.repeat(b"+"), itertools.repeat(b"\0")
    joined = b"".join(itertools.chain.from_iterable(
        zip(parts[0::4], plus, parts[1::4], parts[3::4], nul))) + parts[-1]
    return (b"\n" + joined).replace(b"\nallow", b"\n").replace(b"\ndeny", b"\nD\0").split(b"\n")[1:]


def parse_text(data):
    """(keys, values) for a whole tcprules input, in file order.

    The same records as parse_lines, found by one regular-expression pass
    in C, each distinct instruction text parsed once (all of them at once
    by _values_in_bulk); a text that does not parse is reported with the
    first line holding it, which is the first bad line of the file.
    Inputs with address ranges go through parse_lines.
    """
    if b"-" in data and _RANGE.search(data):
        records = list(parse_lines(data.split(b"\n")))
        return [key for key, _ in records], [value for _, value in records]
    found = _LINE.findall(data)
    if not found:
        return [], []
    keys, texts = zip(*found)
    distinct = list(dict.fromkeys(texts))
    values = _values_in_bulk(distinct)
    if values is None:
        first_bad = next(i for i, text in enumerate(texts)
                         if instruction_value(text.rstrip(b" \t")) is None)
        raise ParseError(keys[first_bad] + b":" + texts[first_bad].rstrip(b" \t"))
    return list(keys), list(map(dict(zip(distinct, values)).__getitem__, texts))


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
