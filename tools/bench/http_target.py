#!/usr/bin/env python3
"""A small, fast HTTP server for the benchmark's ``std.http`` actions.

``GET /?v=VALUE`` answers 200 with ``VALUE`` as the body (JSON type), so a
workflow that calls ``std.http`` on it gets ``VALUE`` back in
``task().result.content``; any other request answers ``null``. A
connection stays open for the next request unless the client asks to close
it (HTTP/1.1 keep-alive, as the server in ``wfbench.py`` and most real
servers do), so a client that keeps connections (ours) and one that opens
one per request (upstream) are both served as they expect.

It is part of the benchmark's fixture, not of what is measured, so it is
kept cheap: one asyncio loop in its own process, a listen backlog deep
enough for hundreds of actions connecting at once (the standard
library's default of 5 makes the kernel drop connection attempts, which
cost the client a one-second SYN retransmission each), no thread per
connection.

Run it alone (``python tools/bench/http_target.py --port 0`` prints
``port N`` once it listens).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib import parse

_HEAD = (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
         b'%sContent-Length: %d\r\n\r\n')


def answer(request_line: bytes, close: bool = True) -> bytes:
    """The response to a request line such as ``GET /?v=3 HTTP/1.1``."""
    parts = request_line.split()
    target = parts[1].decode('latin-1') if len(parts) > 1 else '/'
    query = parse.parse_qs(parse.urlsplit(target).query)
    body = query.get('v', ['null'])[0].encode()
    connection = b'Connection: close\r\n' if close else b''
    return _HEAD % (connection, len(body)) + body


async def _serve_one(reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line.strip():
                break
            # The headers (and no body: GET) up to the blank line.
            close = line.rstrip().endswith(b'HTTP/1.0')
            while True:
                header = await reader.readline()
                if header in (b'\r\n', b'\n', b''):
                    break
                name, _, value = header.partition(b':')
                if (name.strip().lower() == b'connection' and
                        value.strip().lower() == b'close'):
                    close = True
            writer.write(answer(line, close))
            await writer.drain()
            if close:
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _main(host: str, port: int) -> None:
    server = await asyncio.start_server(_serve_one, host, port, backlog=1024,
                                        reuse_address=True)
    print('port %d' % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--host', default='127.0.0.1')
    args = ap.parse_args(argv)
    try:
        asyncio.run(_main(args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
