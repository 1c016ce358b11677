"""``hotline calls-esl --source NAME --host H --port 8021 --password P``:
read FreeSWITCH mod_callcenter events into the ingest path until stopped."""

from __future__ import annotations

import asyncio
import signal

from django.core.management.base import BaseCommand

from hotline.calls.adapters._stream import Backoff
from hotline.calls.adapters.freeswitch_esl import EslRunner, source_named


class Command(BaseCommand):
    help = "Read FreeSWITCH mod_callcenter events into the ingest path; reconnects with backoff."

    def add_arguments(self, parser):
        parser.add_argument("--source", default="freeswitch", help="the event source (created if new)")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8021)
        parser.add_argument("--password", required=True, help="the event socket's password")
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--flush", type=float, default=0.5, help="seconds before a partial batch is sent")
        parser.add_argument("--backoff-max", type=float, default=60.0)

    def handle(self, *args, source, host, port, password, batch, flush, backoff_max, **options):
        src = source_named(source)
        runner = EslRunner(src, host=host, port=port, password=password, batch=batch, flush_s=flush,
                           backoff=Backoff(1.0, backoff_max))

        async def main():
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await runner.run(stop)

        asyncio.run(main())
        t = runner.ingester.total
        self.stdout.write(f"events {runner.ingester.events} stored {t.accepted} duplicate {t.duplicate} "
                          f"unplaced {t.unplaced}")
