import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from hotline.core.checks import secret_key_problem


class Command(BaseCommand):
    help = "Migrate, load the demo center on first run, then serve the web app with a worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo center")

    def handle(self, *args, host, port, no_demo, **options):
        if problem := secret_key_problem(host):  # before migrating or loading the demo
            raise CommandError(problem)
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if not no_demo:
            call_command("demo", if_empty=True, quiet=True, url=f"http://{host}:{port}/")
        if not os.environ.get("HOTLINE_SMS_URL"):
            # No SMS gateway here: customers' messages (outage notices,
            # restoration notices) go to the file channel, data/outbox.jsonl.
            for name in ("HOTLINE_OUTAGE_SMS_CHANNEL", "HOTLINE_RESTORATION_CHANNEL"):
                os.environ.setdefault(name, "file")
        env = dict(os.environ)
        worker = subprocess.Popen([sys.executable, "-m", "hotline", "worker"], env=env)
        # A plain SIGTERM would end this process without stopping the worker.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            call_command("serve", host=host, port=port)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
