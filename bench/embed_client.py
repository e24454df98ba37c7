"""The load of `pnpm bench:embed` from outside Node: C Python clients each POST one text at a time to /v1/embeddings.

  python embed_client.py --url http://127.0.0.1:PORT --token TOKEN --texts TEXTS.json
                         [--concurrency 1,8,32,128] [--seconds 8] [--min-requests 200] [--json]

TEXTS.json is a list of strings. Standard library only (asyncio, one keep-alive HTTP/1.1 connection per client), so
that the client costs little of the CPU it shares with the service. For each C: C clients without pause; after a
second's warm-up the measurement runs for --seconds and at least --min-requests requests (so that p99, by nearest
rank, is not simply the slowest of a few); tokens per second from the answers' usage, p50 and p99 latency. Prints a
Markdown table, or with --json one JSON line per C:
{"concurrency", "tokens_per_s", "p50_ms", "p99_ms", "requests"}."""

import argparse
import asyncio
import json
import math
import sys
import time
from urllib.parse import urlsplit


class Connection:
    """One keep-alive connection that sends a request and reads its answer (Content-Length or chunked)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nx-service-token: {self.token}\r\n\r\n"
        ).encode("ascii")
        self.writer.write(head + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the service closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = None
        chunked = False
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


def quantile(values: list[float], q: float) -> float:
    """The q-quantile of sorted values by nearest rank: the smallest value with at least q of all at or below it."""
    return values[max(0, math.ceil(q * len(values)) - 1)]


async def load(url: str, token: str, texts: list[str], concurrency: int, seconds: float,
               min_requests: int = 200) -> dict:
    """C clients without pause from warm-up to the end; the window opens after a second once C answers (at least 8:
    the sessions warm up on their first batches) have come, and closes once `seconds` have passed and `min_requests`
    requests started in it were answered.
    Tokens per second: answers that arrived in the window; latencies: every request started in it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path.rstrip("/") or "") + "/v1/embeddings"
    bodies = [json.dumps({"input": [text]}).encode("utf-8") for text in texts]
    state: dict = {"next": 0, "tokens": 0, "warm": 0, "opened": None, "closed": None}
    latencies: list[float] = []
    warm_until = time.perf_counter() + 1

    async def client(connection: Connection) -> None:
        while state["closed"] is None:
            body = bodies[state["next"] % len(bodies)]
            state["next"] += 1
            started = time.perf_counter()
            if state["opened"] is None and started >= warm_until and state["warm"] >= max(concurrency, 8):
                state["opened"] = started
            measured = state["opened"] is not None
            status, answer = await connection.post(path, body)
            answered = time.perf_counter()
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {answer[:300].decode('utf-8', 'replace')}")
            tokens = json.loads(answer)["usage"]["prompt_tokens"]
            if state["opened"] is None:
                state["warm"] += 1
            elif state["closed"] is None:
                state["tokens"] += tokens
            if measured:
                latencies.append((answered - started) * 1000)
            if (state["closed"] is None and state["opened"] is not None
                    and answered - state["opened"] >= seconds and len(latencies) >= min_requests):
                state["closed"] = answered

    connections = [Connection(host, port, token) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    latencies.sort()
    return {"concurrency": concurrency, "tokens_per_s": state["tokens"] / (state["closed"] - state["opened"]),
            "p50_ms": quantile(latencies, 0.5), "p99_ms": quantile(latencies, 0.99), "requests": len(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--texts", required=True)
    parser.add_argument("--concurrency", default="1,8,32,128")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--min-requests", type=int, default=200,
                        help="requests each level measures at least, so that its p99 is not the slowest of a few")
    parser.add_argument("--json", action="store_true", help="one JSON line per concurrency instead of a table")
    args = parser.parse_args()
    with open(args.texts, encoding="utf-8") as handle:
        texts = json.load(handle)
    levels = [int(level) for level in args.concurrency.split(",")]
    if not texts or any(level < 1 for level in levels) or args.seconds <= 0 or args.min_requests < 1:
        parser.error("needs texts, concurrency levels of at least 1 and a positive --seconds")
    if not args.json:
        print("| run | tokens/s | p50 ms | p99 ms | requests |")
        print("| --- | ---: | ---: | ---: | ---: |")
    for level in levels:
        result = asyncio.run(load(args.url, args.token, texts, level, args.seconds, args.min_requests))
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"| Python client C={level} | {result['tokens_per_s']:.0f} | {result['p50_ms']:.0f} | "
                  f"{result['p99_ms']:.0f} | {result['requests']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
