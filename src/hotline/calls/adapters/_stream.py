"""What the two socket adapters (AMI, ESL) share: a batching ingester that
hands normalised events to ``ingest`` off the event loop, and the
reconnect backoff.

The ORM is synchronous, so each batch is stored from one worker thread
(``ingest`` in its own transaction); the event loop keeps reading the
socket meanwhile. A batch is sent when it is full or ``flush_s`` after its
first event, whichever comes first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from hotline.calls.services import EventIn, IngestResult, ingest

log = logging.getLogger(__name__)


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


class Backoff:
    """Doubling delays from ``initial`` to ``cap`` seconds; ``reset`` after a
    successful log-in."""

    def __init__(self, initial: float = 1.0, cap: float = 60.0):
        self.initial, self.cap = initial, cap
        self.current = initial

    def next(self) -> float:
        delay = self.current
        self.current = min(self.cap, self.current * 2)
        return delay

    def reset(self) -> None:
        self.current = self.initial


class BatchIngester:
    def __init__(self, source, *, batch: int = 500, flush_s: float = 0.5):
        self.source = source
        self.batch = max(1, batch)
        self.flush_s = flush_s
        self.total = IngestResult()
        self.events = 0  # events handed to ingest so far
        self._queue: asyncio.Queue[EventIn] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calls-ingest")

    def put(self, events: Iterable[EventIn]) -> None:
        for event in events:
            self._queue.put_nowait(event)

    def _ingest(self, chunk: list[EventIn]) -> IngestResult:
        return ingest(self.source, chunk)

    async def _flush(self, chunk: list[EventIn]) -> None:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, self._ingest, chunk)
        self.total.add(result)
        self.events += len(chunk)
        log.debug("ingested %d events (%d new, %d duplicate)", len(chunk), result.accepted, result.duplicate)

    async def run(self) -> None:
        """Send batches until cancelled; what is queued is sent first."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                chunk = [await self._queue.get()]
                deadline = loop.time() + self.flush_s
                while len(chunk) < self.batch:
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                    try:
                        chunk.append(await asyncio.wait_for(self._queue.get(), timeout))
                    except TimeoutError:
                        break
                await self._flush(chunk)
        except asyncio.CancelledError:
            rest = []
            while not self._queue.empty():
                rest.append(self._queue.get_nowait())
            if rest:
                await self._flush(rest)
            raise

    def close(self) -> None:
        # The worker thread's database connections are closed in that thread.
        self._executor.submit(_close_connections).result()
        self._executor.shutdown(wait=True)


# --- the adapters' commands ---------------------------------------------------------------

def add_stream_arguments(parser) -> None:
    """The options every switch-stream command shares."""
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--flush", type=float, default=0.5, help="seconds before a partial batch is sent")
    parser.add_argument("--backoff-max", type=float, default=60.0)


def run_until_signalled(runner) -> str:
    """Run ``runner.run(stop)`` until SIGINT/SIGTERM; answer the counts line."""
    import signal

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runner.run(stop)

    asyncio.run(main())
    t = runner.ingester.total
    return f"events {runner.ingester.events} stored {t.accepted} duplicate {t.duplicate} unplaced {t.unplaced}"
