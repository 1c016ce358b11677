"""``hotline calls-esl --source NAME --host H --port 8021 --password P``:
read FreeSWITCH mod_callcenter events into the ingest path until stopped."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from hotline.calls.adapters._stream import (
    Backoff,
    add_stream_arguments,
    run_until_signalled,
)
from hotline.calls.adapters.freeswitch_esl import EslRunner, source_named


class Command(BaseCommand):
    help = "Read FreeSWITCH mod_callcenter events into the ingest path; reconnects with backoff."

    def add_arguments(self, parser):
        parser.add_argument("--source", default="freeswitch", help="the event source (created if new)")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8021)
        parser.add_argument("--password", required=True, help="the event socket's password")
        add_stream_arguments(parser)

    def handle(self, *args, source, host, port, password, batch, flush, backoff_max, **options):
        src = source_named(source)
        runner = EslRunner(src, host=host, port=port, password=password, batch=batch, flush_s=flush,
                           backoff=Backoff(1.0, backoff_max))
        self.stdout.write(run_until_signalled(runner))
