"""A TCP proxy in front of Postgres that notes when the client sends (one send per round
trip: a client waits for the answer before it sends again), for `make bench`'s
round-trips-per-request row. Serves the send times on a small HTTP port.

    python3 pgproxy.py <listen-port> <postgres-port> <stats-port>

`GET /` on the stats port answers the client's sends since the last `GET /` as JSON, and
forgets them: `[time, kind]` pairs, the CLOCK_MONOTONIC time (seconds) and `check` for a
send that is a lone Sync message (sqlx's pool sends one when a connection comes back, its
"ping") or `query` for anything else.
"""

import asyncio
import json
import sys
import time

sends = []
# A Sync message: type 'S', length 4, no body.
LONE_SYNC = b"S\x00\x00\x00\x04"


async def pipe(reader, writer, note):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if note:
                sends.append([time.monotonic(), "check" if data == LONE_SYNC else "query"])
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def client(reader, writer, upstream_port):
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


async def stats(reader, writer):
    await reader.readuntil(b"\r\n\r\n")
    global sends
    body = json.dumps(sends).encode()
    sends = []
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    writer.close()


async def main():
    listen, upstream, stats_port = (int(a) for a in sys.argv[1:4])
    proxy = await asyncio.start_server(lambda r, w: client(r, w, upstream), "127.0.0.1", listen)
    stats_server = await asyncio.start_server(stats, "127.0.0.1", stats_port)
    async with proxy, stats_server:
        await asyncio.gather(proxy.serve_forever(), stats_server.serve_forever())


if __name__ == "__main__":
    asyncio.run(main())
