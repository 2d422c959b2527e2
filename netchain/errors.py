"""Exit codes and the exceptions that carry them (doc/design.md section 3).

Library code raises one of these; netchain.runner turns it into a message
on stderr and an exit code.  Nothing below calls sys.exit.
"""

OK = 0
DENIED = 1
IDENT_ERROR = 2
TLS_CONFIG = 96     # tlsd/tlsc: a bad key, certificate or TLS setting
TLS_ENGINE = 97     # tlsd/tlsc: the TLS library could not be set up
TLS_FAILED = 98     # tlsd/tlsc: the handshake or the session failed, or -K passed
TIMEOUT = 99
PERMANENT = 100
BUG = 101
TEMPORARY = 111
NOT_EXECUTABLE = 126
NOT_FOUND = 127


class NetchainError(Exception):
    """An error with an exit code; str() is the text after 'PROG: fatal: '."""

    code = TEMPORARY

    def __init__(self, message="", code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(NetchainError):
    """Bad command line: the runner prints 'PROG: usage: USAGE' (exit 100)."""

    code = PERMANENT

    def __init__(self, message=""):
        super().__init__(message, PERMANENT)


class BadInput(NetchainError):
    """Malformed rules, files or arguments: a permanent error (exit 100)."""

    code = PERMANENT


class SystemFailure(NetchainError):
    """A temporary or system error: missing file, I/O, socket (exit 111)."""

    code = TEMPORARY


class CorruptRules(SystemFailure):
    """A rules source that cannot be read safely; never treated as allow."""


class Denied(NetchainError):
    """Access denied (exit 1); the runner prints nothing unless asked to."""

    code = DENIED



class TlsConfigError(NetchainError):
    """A missing, unreadable or malformed key, certificate or CA (exit 96)."""

    code = TLS_CONFIG


class TlsFailure(NetchainError):
    """A failed handshake or TLS session, or -K passed (exit 98)."""

    code = TLS_FAILED
