"""Dropping privileges: setgroups, setgid, setuid, in that order, always."""

import os

from . import errors, options


def parse_ids(uid_text, gid_text, groups_text, from_env):
    """(uid, gid, groups) from -u/-g/-G, or from UID/GID/GIDLIST with -U."""
    if from_env:
        uid_text = os.environ.get("UID", uid_text)
        gid_text = os.environ.get("GID", gid_text)
        groups_text = os.environ.get("GIDLIST", groups_text)
    def ident(text, what):
        return None if text is None else options.scan(text, what, 0, options.ID_MAX)
    uid, gid = ident(uid_text, "uid"), ident(gid_text, "gid")
    groups = None
    if groups_text is not None:
        groups = [ident(g, "gid list") for g in groups_text.split(",") if g]
    return uid, gid, groups


def drop(uid, gid, groups):
    """Apply the ids; a gid alone also resets the supplementary groups.

    The runner's traceback module is imported first: once the ids change,
    an interpreter installed under a private home cannot import anything.
    """
    import importlib

    importlib.import_module("traceback")  # kept loaded for the runner

    try:
        if groups is not None or gid is not None:
            os.setgroups(groups if groups is not None else [gid])
        if gid is not None:
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
    except OSError as exc:
        raise errors.SystemFailure("unable to drop privileges: %s" % exc.strerror) from None
