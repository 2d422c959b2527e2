"""fixcrio: a CR where one is missing before LF, in both directions of a
program's input and output (ucspi-tcp 0.88's).

    fixcrio program [ arg ... ]

prog runs in this process (it keeps the pid); a child relays its input
and output, and exits when prog's output ends.
"""

from . import crlf, errors, relay

PROG = "fixcrio"
USAGE = "fixcrio program [ arg ... ]"


def main(argv):
    if len(argv) < 2:
        raise errors.UsageError()

    def flows(to_program, from_program, program_pid):
        inward, outward = crlf.FixCR(), crlf.FixCR()
        reading = relay.Flow(0, to_program, inward, inward.end, close_at_end=True)
        writing = relay.Flow(from_program, 1, outward, outward.end)
        return [reading, writing], writing
    relay.run_beside(argv[1:], flows)
    return errors.BUG
