"""Starting the final program of a connection with posix_spawn.

No fork of the big interpreter: the child gets the connection on fd 0 and
fd 1, stderr inherited, nothing else (Python opens every other descriptor
close-on-exec), default signal dispositions and an empty signal mask.
"""

import os
import signal

def signals_to_reset():
    """Every signal whose disposition can change: the ones posix_spawn resets.

    Listing them all is what keeps posix_spawn short (the parent waits for
    the child's exec): glibc's child asks the disposition of every signal
    not listed and resets it unless ignored, two calls each, where a listed
    signal costs one (62 sigaction calls instead of 119 with glibc 2.36).
    The child gets the same default dispositions either way.
    """
    unchangeable = {signal.SIGKILL, signal.SIGSTOP}
    # plain ints: posix_spawn converts them at every call
    return tuple(int(signum) for signum in sorted(signal.valid_signals())
                 if signum not in unchangeable)


def spawn(argv, env, fd, reset_signals):
    """Start argv with fd on 0 and 1; return its pid.  Raises OSError."""
    actions = [(os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_DUP2, fd, 1)]
    return os.posix_spawnp(argv[0], argv, env, file_actions=actions,
                           setsigdef=reset_signals, setsigmask=())


def describe_status(status):
    """'exitcode N' or 'signal N' for a wait status (never the raw number)."""
    if os.WIFSIGNALED(status):
        return "signal %d" % os.WTERMSIG(status)
    return "exitcode %d" % os.waitstatus_to_exitcode(status)


def ensure_standard_fds():
    """Open /dev/null on a closed fd 1 or 2 so a socket never lands there."""
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
