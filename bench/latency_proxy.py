"""A TCP forwarder that holds every chunk back ``--delay-ms``: a database on another host.

Run: ``.venv/bin/python -m bench.latency_proxy --listen 5433 --to 127.0.0.1:5432
--delay-ms 0.2``, then point a benchmark at port 5433 (``bench.first_visits --url …``).

In production PostgreSQL usually runs on a host of its own, each statement paying a network
round trip (0.2–1 ms on an intranet) that the benchmark machine's loopback does not; the
kernel's ``netem`` delay is not available here. Each direction's chunk waits ``--delay-ms``
before it is sent on, so a statement's round trip grows by about twice that, plus the
forwarding itself (~0.1 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time


def pipe(source: socket.socket, target: socket.socket, delay_s: float) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            time.sleep(delay_s)
            target.sendall(chunk)
    for each in (source, target):  # the other direction's thread ends with it
        with contextlib.suppress(OSError):
            each.shutdown(socket.SHUT_RDWR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.latency_proxy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--listen", type=int, default=5433)
    parser.add_argument("--to", default="127.0.0.1:5432")
    parser.add_argument("--delay-ms", type=float, default=0.2)
    args = parser.parse_args(argv)
    host, port = args.to.rsplit(":", 1)
    server = socket.create_server(("127.0.0.1", args.listen), reuse_port=False)
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection((host, int(port)))
        for each in (client, upstream):
            each.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b, args.delay_ms / 1000), daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main())
