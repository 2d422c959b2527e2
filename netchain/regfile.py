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


class WriteFailed(Exception):
    """An atomic write failed at one step: 'create', 'write' or 'rename'
    (callers word their messages by step; cause is the OSError)."""

    def __init__(self, step, cause):
        super().__init__("%s: %s" % (step, cause))
        self.step, self.cause = step, cause


def write_atomic(path, fill, temp_path=None, mode=None, durable=True):
    """Put a new file at path, whole or not at all.

    fill(handle) writes the content to a temporary file in path's
    directory (temp_path if given, as tcprules takes one; else a fresh
    name); the file is fsynced, renamed over path, and the directory
    fsynced.  On any failure path is untouched and the temporary removed.
    mode: the new file's permissions (default: umasked(0o666)).  durable:
    fsync the file and the directory (rules must survive a crash; a
    counters file rewritten every second need not, and its fsyncs would
    stall the daemon's loop).
    Raises WriteFailed, or what fill raises.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if temp_path is None:
            import tempfile  # only writers need it: readers start faster without

            fd, temp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ":", dir=directory)
        else:
            fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise WriteFailed("create", exc) from None
    try:
        _fill_and_sync(fd, fill, umasked() if mode is None else mode, durable)
        try:
            os.rename(temp_path, path)
        except OSError as exc:
            raise WriteFailed("rename", exc) from None
    except BaseException:
        _unlink_quietly(temp_path)
        raise
    if durable:
        fsync_directory(directory)


def _fill_and_sync(fd, fill, mode, durable):
    with os.fdopen(fd, "wb") as handle:
        try:
            os.fchmod(fd, mode)
            fill(handle)
            handle.flush()
            if durable:
                os.fsync(fd)
        except OSError as exc:
            raise WriteFailed("write", exc) from None


def build_directory(path, fill):
    """Make the directory path whole or not at all: fill(built) writes it
    under a temporary name beside path, which is then renamed into place.
    FileExistsError if path appeared meanwhile (never replaced, even
    empty); a failure leaves nothing behind."""
    import shutil
    import tempfile

    parent = os.path.dirname(os.path.abspath(path))
    staging = tempfile.mkdtemp(prefix=".%s:" % os.path.basename(path), dir=parent)
    try:
        built = os.path.join(staging, "tree")
        os.mkdir(built)
        fill(built)
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
        os.rename(built, path)
        fsync_directory(parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fsync_directory(directory):
    """Make a rename in directory durable; a file system that cannot
    fsync a directory is no reason to fail."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def umasked(mode=0o666):
    """mode less the process's umask, as open() would make it."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass  # already gone, or the original error matters more
