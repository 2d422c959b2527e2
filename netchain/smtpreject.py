"""The SMTP dialogue rblsmtpd holds with a blocked client (ucspi-tcp 0.88's,
byte for byte): a greeting, 250 for HELO, EHLO, MAIL, NOOP and RSET, the
refusal (451 or 553) for every other command, 221 for QUIT, and the end
at EOF or when the client says nothing for `timeout` seconds.

Unlike 0.88, a line is never held whole in memory: past MAX_LINE bytes
the rest of it is read and dropped (the command word is at its head).
"""

import os
import select

HOST = b"rblsmtpd.local"
ACCEPTED = frozenset((b"helo", b"ehlo", b"mail", b"noop", b"rset"))
MAX_LINE = 1024


def message(code, text):
    """'451 text' / '553 text': at most 200 bytes of text, every byte that
    is not printable ASCII shown as '?' (the text may come from DNS)."""
    shown = bytes(byte if 32 <= byte <= 126 else 63 for byte in text[:200])
    return b"%d %s" % (code, shown)


def hold(in_fd, out_fd, refusal, timeout):
    """Talk to the client until QUIT, EOF or timeout; with timeout 0, say
    the refusal once and hang up.  OSError from the socket ends it too."""
    if timeout == 0:
        _send(out_fd, refusal + b"\r\n", 1.0)
        return
    _send(out_fd, b"220 " + HOST + b"\r\n", timeout)
    for word in _commands(in_fd, timeout):
        if word == b"quit":
            _send(out_fd, b"221 " + HOST + b"\r\n", timeout)
            return
        _send(out_fd, (b"250 " + HOST if word in ACCEPTED else refusal) + b"\r\n", timeout)


def _commands(in_fd, timeout):
    """The command word of each line, lowercased (up to the first space;
    a line's final CR removed), until EOF or `timeout` seconds of silence."""
    line, dropping = b"", False
    while True:
        chunk = _receive(in_fd, timeout)
        if not chunk:
            return
        while chunk:
            head, newline, chunk = chunk.partition(b"\n")
            if not dropping:
                line += head
                if len(line) > MAX_LINE:
                    line, dropping = line[:MAX_LINE], True
            if not newline:
                break
            if line.endswith(b"\r"):
                line = line[:-1]
            yield line.split(b" ", 1)[0].lower()
            line, dropping = b"", False


def _receive(fd, timeout):
    """Up to 1024 bytes, or b'' at EOF or after timeout seconds."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if not poller.poll(_milliseconds(timeout)):
        return b""
    try:
        return os.read(fd, 1024)
    except (BlockingIOError, InterruptedError):
        return b""


def _send(fd, data, timeout):
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    while data:
        if not poller.poll(_milliseconds(timeout)):
            raise TimeoutError("the client does not read")
        data = data[os.write(fd, data):]


def _milliseconds(seconds):
    return min(int(seconds * 1000), (1 << 31) - 1)  # poll takes a C int
