"""Where an in-process connection's time goes: the parts measured alone.

    .venv/bin/python bench/inproc_costs.py [--count 5000]

On socket pairs, in one process, microseconds per connection:
- asyncio streams: open_connection(sock=...), write, close, wait_closed
  (what tcpserverd does around an async def function);
- the loop's own socket calls (sock_sendall) without streams;
- a plain blocking sendall and close (a sync function's work);
- a hand-off to a worker thread and back (what the daemon pays per sync
  connection: queue, wake-up, mailbox).
"""

import argparse
import asyncio
import queue
import socket
import threading
import time


def per_connection(seconds, count):
    return seconds / count * 1e6


async def streams(count):
    start = time.perf_counter()
    for _ in range(count):
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        writer.write(b"hello\n")
        writer.close()
        await writer.wait_closed()
        theirs.close()
    return per_connection(time.perf_counter() - start, count)


async def loop_sockets(count):
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    for _ in range(count):
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        await loop.sock_sendall(ours, b"hello\n")
        ours.close()
        theirs.close()
    return per_connection(time.perf_counter() - start, count)


def plain(count):
    start = time.perf_counter()
    for _ in range(count):
        ours, theirs = socket.socketpair()
        ours.sendall(b"hello\n")
        ours.close()
        theirs.close()
    return per_connection(time.perf_counter() - start, count)


def hand_off(count):
    jobs, done = queue.SimpleQueue(), queue.SimpleQueue()

    def worker():
        while True:
            item = jobs.get()
            if item is None:
                return
            done.put(item)
    thread = threading.Thread(target=worker)
    thread.start()
    start = time.perf_counter()
    for number in range(count):
        jobs.put(number)
        done.get()
    elapsed = time.perf_counter() - start
    jobs.put(None)
    thread.join()
    return per_connection(elapsed, count)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    count = parser.parse_args().count
    print("asyncio streams (open, write, close, wait_closed): %6.1f us" % asyncio.run(streams(count)))
    print("asyncio loop socket calls, no streams:            %6.1f us" % asyncio.run(loop_sockets(count)))
    print("plain blocking sendall + close:                   %6.1f us" % plain(count))
    print("hand-off to a worker thread and back:             %6.1f us" % hand_off(count))


if __name__ == "__main__":
    main()
