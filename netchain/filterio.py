"""Copy standard input to standard output through a conversion: the loop
of addcr and delcr.  Errors end the program with exit 111 and no message,
as djb's; a reader that goes away ends it by SIGPIPE, as a C filter."""

import os
import signal

from . import errors


def copy_through(convert, end=lambda: b""):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        while True:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            write_all(1, convert(chunk))
        write_all(1, end())
    except OSError:
        raise errors.NetchainError("", errors.TEMPORARY) from None
    return 0


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]
