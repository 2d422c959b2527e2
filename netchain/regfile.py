"""Reading files that rules come from, without ever blocking on them.

A FIFO or a device put where a rules file belongs would block a plain
open() or read() for ever (and, in a fused daemon, the accept loop with
it).  Every rules file is opened with O_NONBLOCK and must be a regular
file; anything else is EINVAL ('invalid argument', as ucspi-tcp's
tcprulescheck says for a FIFO).
"""

import errno
import os
import stat


def open_regular(path, dir_fd=None):
    """(fd, stat) of the regular file at path; OSError for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_fd(fd, limit):
    """Up to limit bytes from the start of fd (fewer only at end of file)."""
    chunks, total = [], 0
    while total < limit:
        chunk = os.pread(fd, limit - total, total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_regular(path, limit, dir_fd=None):
    """Up to limit bytes of the regular file at path."""
    fd, _ = open_regular(path, dir_fd)
    try:
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def identity(info):
    """What tells one version of a file from another (rename or rewrite)."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
