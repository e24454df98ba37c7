"""The load of `pnpm bench:embed` from outside Node: C Python clients each POST one text at a time to /v1/embeddings.

  python embed_client.py --url http://127.0.0.1:PORT --token TOKEN --texts TEXTS.json
                         [--concurrency 1,8,32,128] [--seconds 8] [--json]

TEXTS.json is a list of strings. Standard library only (asyncio, one keep-alive HTTP/1.1 connection per client), so
that the client costs little of the CPU it shares with the service. For each C: a second's warm-up, then C clients
for --seconds (and at least 3 requests each for C <= 8, 2 above); tokens per second from the answers' usage, p50
and p99 latency. Prints a Markdown table, or with --json one JSON line per C:
{"concurrency", "tokens_per_s", "p50_ms", "p99_ms", "requests"}."""

import argparse
import asyncio
import json
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


async def load(url: str, token: str, texts: list[str], concurrency: int, seconds: float) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path.rstrip("/") or "") + "/v1/embeddings"
    bodies = [json.dumps({"input": [text]}).encode("utf-8") for text in texts]
    state = {"next": 0, "tokens": 0, "completed": 0}
    latencies: list[float] = []

    async def client(connection: Connection, deadline: float, min_rounds: int) -> None:
        while time.perf_counter() < deadline or state["completed"] < min_rounds * concurrency:
            body = bodies[state["next"] % len(bodies)]
            state["next"] += 1
            started = time.perf_counter()
            status, answer = await connection.post(path, body)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {answer[:300].decode('utf-8', 'replace')}")
            state["tokens"] += json.loads(answer)["usage"]["prompt_tokens"]
            state["completed"] += 1
            latencies.append((time.perf_counter() - started) * 1000)

    connections = [Connection(host, port, token) for _ in range(concurrency)]
    try:
        warm_until = time.perf_counter() + 1
        await asyncio.gather(*(client(c, warm_until, 1) for c in connections))
        state.update(tokens=0, completed=0)
        latencies.clear()
        rounds = 3 if concurrency <= 8 else 2
        started = time.perf_counter()
        await asyncio.gather(*(client(c, started + seconds, rounds) for c in connections))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    latencies.sort()

    def at(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {"concurrency": concurrency, "tokens_per_s": state["tokens"] / elapsed, "p50_ms": at(0.5),
            "p99_ms": at(0.99), "requests": len(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--texts", required=True)
    parser.add_argument("--concurrency", default="1,8,32,128")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--json", action="store_true", help="one JSON line per concurrency instead of a table")
    args = parser.parse_args()
    with open(args.texts, encoding="utf-8") as handle:
        texts = json.load(handle)
    levels = [int(level) for level in args.concurrency.split(",")]
    if not texts or any(level < 1 for level in levels) or args.seconds <= 0:
        parser.error("needs texts, concurrency levels of at least 1 and a positive --seconds")
    if not args.json:
        print("| run | tokens/s | p50 ms | p99 ms | requests |")
        print("| --- | ---: | ---: | ---: | ---: |")
    for level in levels:
        result = asyncio.run(load(args.url, args.token, texts, level, args.seconds))
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"| Python client C={level} | {result['tokens_per_s']:.0f} | {result['p50_ms']:.0f} | "
                  f"{result['p99_ms']:.0f} | {result['requests']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
