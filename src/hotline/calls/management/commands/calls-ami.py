"""``hotline calls-ami --source NAME --host H --port 5038 --username U --secret S``:
read Asterisk AMI queue events into the ingest path until stopped."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from hotline.calls.adapters._stream import (
    Backoff,
    add_stream_arguments,
    run_until_signalled,
)
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
        add_stream_arguments(parser)

    def handle(self, *args, source, host, port, username, secret, batch, flush, backoff_max, **options):
        src = source_named(source, kind=SourceKind.ASTERISK_AMI)
        runner = AmiRunner(src, host=host, port=port, username=username, secret=secret, batch=batch, flush_s=flush,
                           backoff=Backoff(1.0, backoff_max))
        self.stdout.write(run_until_signalled(runner))
