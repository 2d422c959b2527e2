"""The fused chain (doc/design.md section 5).

tcpserverd hands every connection to a Pipeline.  With fusing on, the
netchain programs at the head of prog (tcp-env, ident-lookup,
tcpserver-access, connlimit) have their options parsed once here and
their step() run in-process per connection; only what remains is
spawned.  A stage that may wait on the network (DNS, IDENT) runs in a
worker thread so the accept loop never waits for it: there are as many
workers as connections may be open (-c), so one client's slow lookup
never queues another's, and they are daemon threads, so pending lookups
never hold up an exit on SIGTERM.
"""

import collections
import importlib
import queue
import threading
import time

from . import STAGES, chain, errors, inproc, mailbox, runner, stage

FUSABLE = STAGES  # the rows of netchain.TABLE that are stages
STAGE_DEADLINE = 30.0


# One accepted connection: its descriptor (owned by the daemon), the
# listener's address family, the client, its count before this one, the
# listener's name (systemd's LISTEN_FDNAMES; None without), and the
# perip.Slot it is counted under (a stage that learns the real client
# moves it there).
Accepted = collections.namedtuple("Accepted", "fd family remote_ip remote_port count listener slot",
                                  defaults=(None, None))


class Outcome:
    """What the stages decided: argv to spawn (None: drop), lines, exit
    code, and the stage that dropped the connection."""

    def __init__(self, argv, lines=(), code=0, stage=None, spawn_error=None):
        self.argv, self.lines, self.code, self.stage = argv, lines, code, stage
        self.spawn_error = spawn_error  # (program, OSError) when it could not start


def stage_name(argv):
    """(name, words) of the fusable netchain stage argv starts, or (None, 1);
    see chain.netchain_program for how a program is recognised."""
    name, words = chain.netchain_program(argv)
    return (name, words) if name in FUSABLE else (None, 1)


class Workers:
    """Daemon threads started as work arrives, one for each job running at
    once; the daemon never has more jobs than -c allows connections."""

    def __init__(self):
        self.jobs = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.busy = self.threads = 0

    def submit(self, func, *args):
        with self.lock:
            self.busy += 1
            grow = self.busy > self.threads
            self.threads += grow
        self.jobs.put((func, args))
        if grow:
            threading.Thread(target=self._work, daemon=True).start()

    def _work(self):
        while True:
            func, args = self.jobs.get()
            try:
                func(*args)
            finally:
                with self.lock:
                    self.busy -= 1


def build(prog, enabled, log, idle=None):
    """Parse the fusable head of prog once; return the Pipeline."""
    stages, rest = [], list(prog)
    while enabled and rest:
        name, skip = stage_name(rest)  # reads a launcher's head: once per program
        if name is None:
            break
        module = importlib.import_module("netchain." + FUSABLE[name])
        config, after = module.parse([name] + rest[skip:])
        if not after:
            raise errors.UsageError("%s: no program to run" % name)
        stages.append((module, config))
        rest = after
    relays = None
    name, words = chain.netchain_program(rest) if enabled else (None, 1)
    if name == "tlsd" or idle:
        from . import fusedrelay  # the daemon relays: tlsd's work, or watching for -I

        tls_config = None
        if name == "tlsd":
            from . import tlsd

            tls_config, rest = tlsd.parse(["tlsd"] + rest[words:])
            if not rest:
                raise errors.UsageError("tlsd: no program to run")
        relays = fusedrelay.FusedRelays(tls_config, log, idle)
    pipeline = Pipeline(stages, rest, log)
    pipeline.relays = relays
    if inproc.is_target(rest) and (enabled or not stages):
        # imported now, before a privilege drop; a bad target is exit 100 at start
        pipeline.inproc = inproc.Target(rest)
    return pipeline


class Deferred:
    """Stages that must go on in a worker thread: one raised WouldBlock in
    the loop thread.  ctx, the stage to run again, and the argv before it."""

    def __init__(self, ctx, index, argv):
        self.ctx, self.index, self.argv = ctx, index, argv


class Pipeline:
    def __init__(self, stages, final_argv, log):
        self.stages, self.final_argv, self.log = stages, final_argv, log
        self.blocking = any(stage.may_block(module, config) for module, config in stages)
        self.uses_dns = any(stage.uses_dns(module, config) for module, config in stages)
        # the first stage replaces the client's address (proxy-server): the
        # daemon leaves the per-IP limit to it (stage.REKEYS)
        self.rekeys = bool(stages) and getattr(stages[0][0], "REKEYS", False)
        self.mailbox = mailbox.Mailbox(log)  # lookups, deferred stages, in-process programs end here
        self.pool = Workers()  # threads are made only when work is handed over
        self.inproc = None  # an inproc.Target when final_argv is python:...
        self.relays = None  # fusedrelay.FusedRelays: the chain ends in tlsd, or -I

    def close(self):
        """Release the wake-up pair (the daemon leaves it to its exit)."""
        self.mailbox.close()

    def start(self, accepted, env, finish):
        """Run the stages for one connection; then finish(accepted, env, Outcome).

        Stages that may wait on the network run in a worker thread; the
        others run here, in the loop thread, unless one raises WouldBlock
        (stage.py): then that stage and the rest go on in a worker."""
        if not self.stages:
            finish(accepted, env, Outcome(self.final_argv))
        elif self.blocking:
            self.pool.submit(self._in_worker, accepted, env, finish, None)
        else:
            ctx = self._context(accepted, env, may_wait=False)
            outcome = self._steps(ctx, 0, self.final_argv)
            if isinstance(outcome, Deferred):
                self.pool.submit(self._in_worker, accepted, env, finish, outcome)
                return
            ctx.close()
            finish(accepted, env, outcome)

    def _in_worker(self, accepted, env, finish, deferred):
        ctx = deferred.ctx if deferred else self._context(accepted, env, may_wait=True)
        ctx.may_wait = True
        try:
            if deferred:
                outcome = self._steps(ctx, deferred.index, deferred.argv)
            else:
                outcome = self._steps(ctx, 0, self.final_argv)
        except Exception as exc:  # the loop must hear of every connection
            self.log.warn("internal error (bug), dropping a connection: %r" % (exc,))
            outcome = Outcome(None, (), errors.BUG, "tcpserverd")
        finally:
            ctx.close()
        self.mailbox.post(finish, accepted, env, outcome)

    def _context(self, accepted, env, may_wait):
        ctx = chain.Context(env, fd=accepted.fd, family=accepted.family,
                            deadline=time.monotonic() + STAGE_DEADLINE, log=self.log.raw)
        ctx.endpoints_from_daemon = True
        ctx.slot = accepted.slot
        ctx.may_wait = may_wait
        return ctx

    def _steps(self, ctx, first, argv):
        """The Outcome, or a Deferred when a stage would wait and may not."""
        for index in range(first, len(self.stages)):
            module, config = self.stages[index]
            try:
                argv = module.step(config, ctx, argv)
            except stage.WouldBlock:
                if not ctx.may_wait:
                    return Deferred(ctx, index, argv)
                self.log.warn("internal error in %s: WouldBlock where it may wait" % module.PROG)
                return Outcome(None, ctx.child_lines, errors.BUG, module.PROG)
            except errors.NetchainError as exc:
                runner.report(module.PROG, module.USAGE, exc)
                return Outcome(None, ctx.child_lines, exc.code, module.PROG)
            except Exception as exc:  # a bug in one stage must not end the daemon
                self.log.warn("internal error in %s: %r" % (module.PROG, exc))
                return Outcome(None, ctx.child_lines, errors.BUG, module.PROG)
        return Outcome(argv, ctx.child_lines)
