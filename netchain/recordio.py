"""recordio: a program's input and output, recorded on stderr as they pass
(ucspi-tcp 0.88's).

    recordio program [ arg ... ]

Each chunk read (at most 256 bytes) becomes lines 'PID < text' (input) or
'PID > text' (output): a line ends with a space where the data had a
newline, with '+' where it did not; 'PID < [EOF]' and 'PID > [EOF]' mark
the ends.  PID is prog's, which runs in this process; a child relays and
records, and exits when prog's output ends.
"""

from . import errors, filterio, relay

PROG = "recordio"
USAGE = "recordio program [ arg ... ]"
CHUNK = 256


def recorder(pid, direction):
    head = b"%d %s " % (pid, direction)

    def record(data):
        if data is None:
            filterio.write_all(2, head + b"[EOF]\n")
            return
        lines = []
        while data:
            line, newline, data = data.partition(b"\n")
            lines.append(head + line + (b" \n" if newline else b"+\n"))
        filterio.write_all(2, b"".join(lines))
    return record


def main(argv):
    if len(argv) < 2:
        raise errors.UsageError()

    def flows(to_program, from_program, program_pid):
        reading = relay.Flow(0, to_program, record=recorder(program_pid, b"<"),
                             close_at_end=True, chunk=CHUNK)
        writing = relay.Flow(from_program, 1, record=recorder(program_pid, b">"), chunk=CHUNK)
        return [reading, writing], writing
    relay.run_beside(argv[1:], flows)
    return errors.BUG


