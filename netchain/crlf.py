"""Line-end conversions of ucspi-tcp's companion programs, on a stream of
chunks: each converter keeps what it must remember across chunk borders
(a CR at the end of one chunk, before the LF that starts the next)."""


def add_cr(data):
    """addcr: a CR before every LF."""
    return data.replace(b"\n", b"\r\n")


class RemoveCR:
    """delcr: the CR of every CR LF removed; a CR that ends the input
    (a partial last line) is kept."""

    def __init__(self):
        self.held = b""

    def __call__(self, data):
        data = self.held + data
        self.held = b""
        if data.endswith(b"\r"):  # its LF may come in the next chunk
            data, self.held = data[:-1], b"\r"
        return data.replace(b"\r\n", b"\n")

    def end(self):
        held, self.held = self.held, b""
        return held


class FixCR:
    """fixcrio: a CR inserted before every LF that has none."""

    def __init__(self):
        self.last = b""

    def __call__(self, data):
        if not data:
            return data
        fixed = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if data.startswith(b"\n") and self.last == b"\r":
            fixed = fixed[1:]  # the CR came at the end of the last chunk
        self.last = data[-1:]
        return fixed

    def end(self):
        return b""
