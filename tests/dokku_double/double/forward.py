"""What Docker's `-p HOST:CONTAINER` does for a process "container": relay 127.0.0.1:HOST to 127.0.0.1:CONTAINER.

Run as `python3 forward.py HOST_PORT CONTAINER_PORT`; it serves until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def _relay(target: int, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
    try:
        app_r, app_w = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        client_w.close()  # like docker-proxy: the connection is accepted, then closed
        return
    await asyncio.gather(_pipe(client_r, app_w), _pipe(app_r, client_w))


async def main(listen: int, target: int) -> None:
    server = await asyncio.start_server(lambda r, w: _relay(target, r, w), "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
