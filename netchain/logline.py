"""The one log writer: a whole line to stderr (fd 2) in one write().

Every program, every stage and the daemon write through it, in exec
and in fused mode alike, so lines from the daemon and from its stages
never interleave inside a line.  Callers build the text with their own
templates and the data as arguments: network text is never a template
(doc/design.md section 2).
"""

import os


def write(text):
    """Write text and a newline to fd 2; a closed stderr is not an error
    worth dying for."""
    try:
        os.write(2, (text + "\n").encode("utf-8", "surrogateescape"))
    except OSError:
        pass
