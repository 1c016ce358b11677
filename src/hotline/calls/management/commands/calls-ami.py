"""``hotline calls-ami --source NAME --host H --port 5038 --username U --secret S``:
read Asterisk AMI queue events into the ingest path until stopped."""

from __future__ import annotations

import asyncio
import signal

from django.core.management.base import BaseCommand

from hotline.calls.adapters._stream import Backoff
from hotline.calls.adapters.asterisk_ami import AmiRunner
from hotline.calls.management.commands.calls import source_named
from hotline.calls.models import SourceKind


class Command(BaseCommand):
    help = "Read Asterisk AMI queue events (timestampevents=yes) into the ingest path; reconnects with backoff."

    def add_arguments(self, parser):
        parser.add_argument("--source", default="asterisk-ami", help="the event source (created if new)")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=5038)
        parser.add_argument("--username", required=True)
        parser.add_argument("--secret", required=True)
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--flush", type=float, default=0.5, help="seconds before a partial batch is sent")
        parser.add_argument("--backoff-max", type=float, default=60.0)

    def handle(self, *args, source, host, port, username, secret, batch, flush, backoff_max, **options):
        src = source_named(source, kind=SourceKind.ASTERISK_AMI)
        runner = AmiRunner(src, host=host, port=port, username=username, secret=secret, batch=batch, flush_s=flush,
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
