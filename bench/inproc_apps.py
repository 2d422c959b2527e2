"""The in-process handlers bench/serve.py measures: write hello, close
(what /bin/echo hello does in the other rows)."""


def hello_sync(sock, env):
    sock.sendall(b"hello\n")


async def hello_async(reader, writer, env):
    writer.write(b"hello\n")

