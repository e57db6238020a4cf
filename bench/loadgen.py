"""A small HTTP/1.1 load generator, run as its own process by the storefront benches.

Open loop (`--rate`): requests are scheduled at fixed intervals and each latency is measured from its scheduled
start, so a stalled server shows up as latency instead of quietly lowering the offered rate (no coordinated
omission). Closed loop (`--concurrency` without `--rate`): as fast as N keep-alive connections go.
Prints one JSON line: sent, ok, errors, statuses, elapsed, rps, p50/p90/p99/max in ms, and the JSON bodies'
"accepted" sum when `--count-accepted` is given (the event bench checks nothing was lost).
Usage: loadgen.py --host 127.0.0.1 --port N --paths FILE [--rate 500 | --concurrency 16] --duration 10
       [--method POST --bodies FILE] [--header "User-Agent: ..."]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from pathlib import Path


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(raw)
                await self.writer.drain()
                head = await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await self.reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("connection", "").lower() == "close":
                    self.close()
                return status, body
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def build(method: str, host: str, path: str, body: bytes, headers: list[str]) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive", *headers]
    if method == "POST":
        head += ["Content-Type: text/plain;charset=UTF-8", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def run(args: argparse.Namespace) -> dict:
    paths = [p.strip() for p in Path(args.paths).read_text().splitlines() if p.strip()]
    bodies = [b.encode() for b in Path(args.bodies).read_text().splitlines()] if args.bodies else [b""]
    requests = [build(args.method, f"{args.host}:{args.port}", paths[i % len(paths)], bodies[i % len(bodies)],
                      args.header) for i in range(max(len(paths), len(bodies)))]
    latencies: list[float] = []
    lags: list[float] = []  # scheduled start -> the request's first byte written: the load generator's own delay
    statuses: dict[int, int] = {}
    state = {"sent": 0, "errors": 0, "accepted": 0, "next": 0}
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    start = time.perf_counter()
    deadline = start + args.duration
    closed_loop = args.rate is None

    def enqueue(scheduled: float) -> None:
        state["sent"] += 1
        queue.put_nowait(scheduled)

    async def worker() -> None:
        conn = Conn(args.host, args.port)
        while True:
            scheduled = await queue.get()
            if scheduled is None:
                conn.close()
                return
            index = state["next"]
            state["next"] += 1
            lags.append(time.perf_counter() - scheduled)
            try:
                # asyncio.timeout, not wait_for: no extra task per request (the generator's own CPU is jitter)
                async with asyncio.timeout(args.timeout):
                    status, body = await conn.request(requests[index % len(requests)])
                statuses[status] = statuses.get(status, 0) + 1
                if args.count_accepted and status == 202:
                    state["accepted"] += json.loads(body).get("accepted", 0)
            except Exception:  # noqa: BLE001 - a failed or timed-out request is counted, the run goes on
                state["errors"] += 1
                conn.close()
            latencies.append(time.perf_counter() - scheduled)
            more = state["sent"] < args.count if args.count else time.perf_counter() < deadline
            if closed_loop and more:
                enqueue(time.perf_counter())

    workers = [asyncio.create_task(worker()) for _ in range(args.concurrency)]
    if closed_loop:
        for _ in range(args.concurrency):
            enqueue(time.perf_counter())
        while (len(latencies) < args.count) if args.count else time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    else:
        interval = 1.0 / args.rate
        for i in range(int(args.rate * args.duration)):
            scheduled = start + i * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            enqueue(scheduled)
    while len(latencies) < state["sent"] and (args.count or time.perf_counter() < deadline + 30):
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - start
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers, return_exceptions=True)
    done = sorted(latencies)

    def pct(p: float) -> float:
        return round(1000 * done[min(len(done) - 1, int(p * len(done)))], 2) if done else 0.0

    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return {
        "sent": state["sent"], "ok": ok, "errors": state["errors"], "statuses": statuses, "elapsed": round(elapsed, 2),
        "rps": round(len(done) / elapsed, 1), "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
        "max_ms": round(1000 * done[-1], 2) if done else 0.0, "accepted": state["accepted"],
        "send_lag_p99_ms": round(1000 * sorted(lags)[int(0.99 * len(lags))], 2) if lags else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--paths", required=True)
    ap.add_argument("--bodies")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--rate", type=float)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--count-accepted", action="store_true")
    ap.add_argument("--count", type=int, default=0, help="closed loop: stop after this many requests")
    ap.add_argument("--timeout", type=float, default=10, help="seconds before a request counts as an error")
    args = ap.parse_args()
    gc.freeze()  # the generator's own collections walk only what a run allocates: shorter pauses of its own
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
