import os
import signal
import socket
import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve the web application with waitress (optionally several pre-forked processes on one socket)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=int(os.environ.get("HOTLINE_WEB_THREADS", "8")))
        parser.add_argument("--processes", type=int, default=int(os.environ.get("HOTLINE_WEB_PROCESSES", "1")),
                            help="web processes sharing the listening socket (Python runs one thread at a time per process)")

    def handle(self, *args, host, port, threads, processes, **options):
        from django.conf import settings
        from django.db import connections
        from waitress import serve

        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # before WhiteNoise looks at it
        from hotline.wsgi import application
        if processes <= 1:
            self.stdout.write(f"hotline web on http://{host}:{port}/")
            serve(application, host=host, port=port, threads=threads, ident="hotline", channel_timeout=120)
            return
        if not hasattr(os, "fork"):
            raise CommandError("--processes needs a system with fork(); run several `hotline serve` behind a proxy instead")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        # Each child opens its own database connections.
        connections.close_all()
        children = []
        for _ in range(processes):
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
                try:
                    serve(application, sockets=[sock], threads=threads, ident="hotline", channel_timeout=120)
                finally:
                    os._exit(0)
            children.append(pid)
        self.stdout.write(f"hotline web on http://{host}:{port}/ ({processes} processes)")
        sys.stdout.flush()

        def stop(signum, frame):
            for child in children:
                try:
                    os.kill(child, signal.SIGTERM)
                except ProcessLookupError:
                    pass

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for child in children:
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                pass
