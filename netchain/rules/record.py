"""A rule (allow/deny, env, exec) and its s6 cdb record (doc/design.md 4.3).

This module is the one owner of the s6 record bytes: the tree converter,
the cdb backend and the tools all encode and decode through it.

    deny:  b"D"
    allow: b"A" + u16be(len(env)) + env + u16be(len(exec)) + exec
           env = b"NAME=value\\0" (set) or b"NAME\\0" (unset), in order
"""

import collections
import os

from .. import errors

MAX_PART = 4096
MAX_RECORD = 1 + 2 + MAX_PART + 2 + MAX_PART + 1  # 8197, as s6's reader


# namedtuples, not dataclasses: dataclasses costs milliseconds of import
# time in every program of an exec-mode chain.
class Rule(collections.namedtuple("Rule", "allow env exec_text", defaults=((), b""))):
    """allow is True or False; env is a tuple of (name, value-or-None) bytes."""

    __slots__ = ()

    def environment_changes(self):
        """Return env as a list of (str name, str value or None)."""
        return [(os.fsdecode(name), None if value is None else os.fsdecode(value))
                for name, value in self.env]


DENY = Rule(False)
ALLOW = Rule(True)


class Decision(collections.namedtuple("Decision", "key rule", defaults=(None, None))):
    """The outcome of a lookup: the key that decided and its rule.

    rule is None when nothing matched (key is None then too).
    """

    __slots__ = ()

    @property
    def allowed(self):
        return self.rule is not None and self.rule.allow


NAME_MAX = 255  # a variable of a tree rule is the file env/NAME
_SHELL_FIRST = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_SHELL_REST = _SHELL_FIRST | frozenset(b"0123456789")


def check_name(name, shell=False):
    """name (bytes) if it can be a rule's variable, else BadInput.

    Any rule: not empty, at most 255 bytes, no '=', '/' or NUL, not
    starting with '.' (what the tree's reader would skip or could not
    store).  shell: also letters, digits and '_' only, not starting with a
    digit, as accessrules asks of a person typing one.
    """
    bad = (not name or len(name) > NAME_MAX or name.startswith(b".")
           or any(c in name for c in b"=/\0"))
    if bad or (shell and (name[0] not in _SHELL_FIRST or not _SHELL_REST.issuperset(name))):
        raise errors.BadInput("invalid variable name: %r%s" % (
            name[:60].decode("utf-8", "replace"), " (letters, digits and _ only)" if shell else ""))
    return name


def encode_env(env):
    return b"".join(name + b"\0" if value is None else name + b"=" + value + b"\0"
                    for name, value in env)


def encode(rule):
    """Return the s6 cdb value for rule."""
    if not rule.allow:
        return b"D"
    env = encode_env(rule.env)
    if len(env) > MAX_PART or len(rule.exec_text) > MAX_PART:
        raise errors.BadInput("rule too big: env %d bytes, exec %d bytes (max %d each)"
                              % (len(env), len(rule.exec_text), MAX_PART))
    return (b"A" + len(env).to_bytes(2, "big") + env
            + len(rule.exec_text).to_bytes(2, "big") + rule.exec_text)


def decode_env(blob):
    """Split b'A=1\\0B\\0' into ((b'A', b'1'), (b'B', None))."""
    entries = []
    for item in blob.split(b"\0")[:-1]:
        name, sep, value = item.partition(b"=")
        entries.append((name, value if sep else None))
    return tuple(entries)


class BadRecord(ValueError):
    """An s6 record that is not well-formed."""


def decode(value):
    """Return the Rule for an s6 cdb value, or None for 'not found'.

    Raises BadRecord for a value s6's reader refuses (the caller maps it to
    exit 111: a damaged record is never an allow).
    """
    if not value or len(value) > MAX_RECORD:
        raise BadRecord("bad record length %d" % len(value))
    kind = value[:1]
    if kind == b"D":
        return DENY
    if kind != b"A":
        return None
    if len(value) < 5:
        raise BadRecord("allow record too short")
    env_len = int.from_bytes(value[1:3], "big")
    if env_len > MAX_PART or env_len + 5 > len(value):
        raise BadRecord("bad env length")
    exec_len = int.from_bytes(value[3 + env_len:5 + env_len], "big")
    if exec_len > MAX_PART or 5 + env_len + exec_len != len(value):
        raise BadRecord("bad exec length")
    env = value[3:3 + env_len]
    if env and not env.endswith(b"\0"):
        raise BadRecord("env not NUL-terminated")
    return Rule(True, decode_env(bytes(env)), bytes(value[5 + env_len:]))
