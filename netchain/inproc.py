"""In-process programs: python:package.module:function in place of a program.

The function is imported once, when the daemon starts (before a privilege
drop), and called for each connection without a process: a plain function
as function(sock, env) in a worker thread, an async def as
function(reader, writer, env) on one asyncio event loop in a thread of its
own.  env is the dict the stages built.  Returning ends the connection; an
exception is logged once and ends that connection only.  The end of each
connection is posted to the daemon's mailbox, so the daemon's counts and
logs are only ever touched by its loop thread.

In exec mode (no daemon around it) the last program of the chain runs the
function itself on fd 0 (run_here).
"""

import functools
import importlib
import itertools
import os
import socket
import threading
import time

from . import errors, logline

PREFIX = "python:"
RETURNED, RAISED = 0, 1  # the "exit codes" of an in-process connection


def is_target(argv):
    return bool(argv) and argv[0].startswith(PREFIX)


class Target:
    """A python:package.module:function, imported and checked: exit 100
    (naming it) when it cannot be imported, is not callable or does not
    take the arguments it will be given."""

    def __init__(self, argv):
        self.spec = argv[0]
        if len(argv) > 1:
            raise errors.UsageError("%s takes no arguments (it is given sock and env)" % self.spec)
        module_name, _, attribute = self.spec[len(PREFIX):].partition(":")
        if not module_name or not attribute:
            raise errors.UsageError("%s: expected python:package.module:function" % self.spec)
        try:
            self.module = found = importlib.import_module(module_name)
        except (Exception, SystemExit) as exc:
            raise errors.BadInput("unable to import %s for %s: %s"
                                  % (module_name, self.spec, describe(exc))) from None
        for name in attribute.split("."):
            found = getattr(found, name, None)
            if found is None:
                raise errors.BadInput("%s: %s has no %s" % (self.spec, module_name, attribute))
        if not callable(found):
            raise errors.BadInput("%s: not a function" % self.spec)
        self.func = found
        import inspect  # here, not at the top: a daemon without a target skips it

        self.is_async = inspect.iscoroutinefunction(found)
        if self.is_async:
            import asyncio  # noqa: F401  loaded now, before a privilege drop
        self._check_signature(inspect)

    def _check_signature(self, inspect):
        params = ("reader", "writer", "env") if self.is_async else ("sock", "env")
        try:
            inspect.signature(self.func).bind(*params)
        except TypeError:
            raise errors.BadInput("%s must take (%s)" % (self.spec, ", ".join(params))) from None
        except ValueError:
            pass  # no signature to read (a builtin): it is called as documented


def describe(exc):
    """One line for an exception: its type and its text, control bytes
    escaped (the text may hold what a client sent)."""
    text = str(exc)
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        text = repr(text)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


class Live:
    """One in-process connection, as the daemon's loop thread sees it."""

    def __init__(self, slot, sock, deadline):
        self.slot, self.sock, self.deadline = slot, sock, deadline
        self.task = None  # the asyncio task of an async function
        self.cut = False


class InProcess:
    """The daemon's runner of a Target: start() per connection; on_end(key,
    code) is posted to the mailbox when the function is done.  A plain
    function runs on pool (the pipeline's worker threads)."""

    def __init__(self, target, mailbox, log, pool, cut_after=None):
        self.target, self.mailbox, self.log, self.pool = target, mailbox, log, pool
        self.cut_after = cut_after
        self.loop = None
        self.live = {}  # key -> Live: what the daemon counts it under, its socket, when to cut it
        self.keys = itertools.count(1)
        self.next_check = 0.0  # cut_overdue looks at most four times a second

    def begin(self):
        """Start the event loop thread of an async target (called once,
        after any privilege drop: asyncio was imported before it, by Target)."""
        if self.target.is_async:
            import asyncio

            self.loop = asyncio.new_event_loop()
            threading.Thread(target=self.loop.run_forever, name="inproc-loop", daemon=True).start()

    def start(self, fd, family, env, slot, on_end, announce):
        """Serve connection fd (which this takes over) with the function;
        announce() is called once it counts as live, before the function
        runs (so that the daemon's line comes before any the function
        logs); on_end(slot, code) runs in the loop thread when it is done."""
        key = next(self.keys)
        sock = socket.socket(family, socket.SOCK_STREAM, 0, fd)
        self.live[key] = Live(slot, sock, None if self.cut_after is None else
                              time.monotonic() + self.cut_after)
        announce()
        on_end = functools.partial(self._ended, on_end)
        if self.loop is not None:
            # a task made in the loop's own thread: no concurrent Future to
            # build and resolve for every connection
            self.loop.call_soon_threadsafe(self._create_task, key, sock, env, on_end)
        else:
            self.pool.submit(self._serve_sync, key, sock, env, on_end)

    def _create_task(self, key, sock, env, on_end):
        task = self.loop.create_task(self._serve_async(key, sock, env, on_end))
        live = self.live.get(key)
        if live is not None:
            live.task = task

    def _ended(self, on_end, key, code):
        on_end(self.live.pop(key).slot, code)

    def cut_overdue(self, now):
        """In the loop thread: shut down the socket of every connection
        past its deadline (-T), so that the function's next read or write
        fails, and cancel an async one; each is cut once, and logged."""
        if now < self.next_check:
            return
        self.next_check = now + 0.25
        for live in self.live.values():
            if live.deadline is None or now < live.deadline or live.cut:
                continue
            live.cut = True
            self.log.warn("%s: cut after %d seconds" % (self.target.spec, self.cut_after))
            try:
                live.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the function: it is ending anyway
            if live.task is not None:
                self.loop.call_soon_threadsafe(live.task.cancel)

    def _failed(self, exc):
        self.log.warn("%s: %s" % (self.target.spec, describe(exc)))
        return RAISED

    def _serve_sync(self, key, sock, env, on_end):
        code = RETURNED
        try:
            self.target.func(sock, env)
        except Exception as exc:
            code = self._failed(exc)
        finally:
            sock.close()
            self.mailbox.post(on_end, key, code)

    async def _serve_async(self, key, sock, env, on_end):
        import asyncio

        code, writer = RETURNED, None
        try:
            reader, writer = await asyncio.open_connection(sock=sock)
            await self.target.func(reader, writer, env)
        except asyncio.CancelledError:
            code = RAISED  # cut by -T: logged when it was cut
        except Exception as exc:
            code = self._failed(exc)
        finally:
            await _close(writer, sock)
            self.mailbox.post(on_end, key, code)


async def _close(writer, sock):
    import asyncio

    if writer is None:
        sock.close()
        return
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, asyncio.CancelledError):
        pass  # the client had gone: nothing more to say to it


def run_here(argv, env, prog):
    """Exec mode: run the function on the connection on fd 0 in this
    process (prog's); return 0 when it returns, 1 when it raises (logged)."""
    target = Target(argv)
    sock = socket.socket(fileno=os.dup(0))
    if target.is_async:
        import asyncio

        async def serve():
            reader, writer = await asyncio.open_connection(sock=sock)
            try:
                await target.func(reader, writer, env)
            finally:
                await _close(writer, sock)
        call = lambda: asyncio.run(serve())  # noqa: E731
    else:
        call = lambda: target.func(sock, env)  # noqa: E731
    try:
        call()
    except Exception as exc:
        logline.write("%s: warning: %s: %s" % (prog, target.spec, describe(exc)))
        return RAISED
    finally:
        sock.close()
    return RETURNED


class Plugins:
    """indimail's preload: PLUGIN0, PLUGIN1... (python:pkg.mod:func each,
    imported at start), PLUGINn_init (a function of that module, called
    in PLUGINn_dir at start as init(reload=False) and on SIGHUP as
    init(reload=True)), read until the first PLUGINn missing."""

    def __init__(self, environ):
        self.inits = []  # (function, directory or None)
        number = 0
        while "PLUGIN%d" % number in environ:
            name = "PLUGIN%d" % number
            spec = environ[name]
            if not spec.startswith(PREFIX):
                raise errors.BadInput("%s=%s: netchain loads python:package.module:function"
                                      " plugins only" % (name, spec))
            target = Target([spec])
            init_name = environ.get(name + "_init")
            if init_name:
                init = getattr(target.module, init_name, None)
                if not callable(init):
                    raise errors.BadInput("%s_init=%s: %s has no such function"
                                          % (name, init_name, target.module.__name__))
                self.inits.append((init, environ.get(name + "_dir"), target.spec))
            number += 1

    def initialise(self, reload, log):
        """Call every init; at start a failure is exit 111, on SIGHUP a
        warning (the daemon goes on with what it had)."""
        for init, directory, spec in self.inits:
            here = os.getcwd() if directory else None
            try:
                if directory:
                    os.chdir(directory)
                init(reload=reload)
            except Exception as exc:
                if not reload:
                    raise errors.NetchainError("%s init failed: %s" % (spec, describe(exc))) from None
                log.warn("%s init failed on SIGHUP: %s" % (spec, describe(exc)))
            finally:
                if here:
                    os.chdir(here)
