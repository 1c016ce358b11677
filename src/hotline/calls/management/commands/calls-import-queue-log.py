"""``hotline calls-import-queue-log FILE --source NAME [--follow]``: the same
as ``hotline calls import FILE --format queue_log``."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from hotline.calls.management.commands.calls import run_import


class Command(BaseCommand):
    help = "Load an Asterisk queue_log through the ingest path; --follow keeps reading it through rotation."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", default="asterisk", help="the event source (created if new)")
        parser.add_argument("--follow", action="store_true")
        parser.add_argument("--poll", type=float, default=0.5)
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args, path, source, follow, poll, batch, **options):
        run_import(self, path=path, source_name=source, follow=follow, poll=poll, batch=batch)
