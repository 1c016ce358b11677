import os
import signal
import socket
import sys

from django.core.management.base import BaseCommand, CommandError


def _default_processes() -> int:
    if os.environ.get("HOTLINE_WEB_PROCESSES"):
        return int(os.environ["HOTLINE_WEB_PROCESSES"])
    # Requests spend part of their time waiting on the database, so two
    # processes per core keep the cores busy; a cap keeps a big host's
    # memory in check (each process holds a Django instance, ~100 MB).
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


class Command(BaseCommand):
    help = ("Serve the web application: on Linux and other POSIX systems with gunicorn's pre-forked worker "
            "processes, elsewhere (or with --server waitress) with waitress.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--processes", type=int, default=None,
                            help="web processes (default: HOTLINE_WEB_PROCESSES, else 2 per core, 2 to 8)")
        parser.add_argument("--threads", type=int, default=int(os.environ.get("HOTLINE_WEB_THREADS", "1")),
                            help="threads per process (gunicorn: 1 = one request at a time per process)")
        parser.add_argument("--timeout", type=int, default=int(os.environ.get("HOTLINE_WEB_TIMEOUT", "300")),
                            help="seconds a request may run before its process is recycled (gunicorn)")
        parser.add_argument("--server", choices=["auto", "gunicorn", "waitress"], default=os.environ.get("HOTLINE_WEB_SERVER", "auto"))

    def handle(self, *args, host, port, processes, threads, timeout, server, **options):
        from django.conf import settings
        from django.db import connections

        from hotline.core.checks import secret_key_problem

        # System checks do not know the bind address; a public one is production.
        if problem := secret_key_problem(host):
            raise CommandError(problem)
        processes = processes or _default_processes()
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # before WhiteNoise looks at it
        # Forked processes open their own database connections.
        connections.close_all()
        if server == "auto":
            server = "gunicorn" if hasattr(os, "fork") else "waitress"
        if server == "gunicorn":
            if not hasattr(os, "fork"):
                raise CommandError("gunicorn needs a POSIX system; use --server waitress")
            self._gunicorn(host, port, processes, threads, timeout)
        else:
            self._waitress(host, port, processes, max(threads, 4))

    def _gunicorn(self, host: str, port: int, processes: int, threads: int, timeout: int) -> None:
        # Sync workers take one request at a time and only an idle worker
        # accepts the next connection, so the kernel spreads load evenly and
        # no request waits behind another for the interpreter lock.
        from gunicorn.app.base import BaseApplication

        from hotline.wsgi import application

        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        options = {
            "bind": bind, "workers": processes, "worker_class": "gthread" if threads > 1 else "sync", "threads": threads,
            "timeout": timeout, "graceful_timeout": 30, "keepalive": 5, "backlog": 2048,
            "accesslog": None, "errorlog": "-", "loglevel": "warning", "proc_name": "hotline-web",
        }

        class App(BaseApplication):
            def load_config(self):
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self):
                return application

        _warm_up()
        self.stdout.write(f"hotline web on http://{host}:{port}/ ({processes} processes)")
        sys.stdout.flush()
        App().run()

    def _waitress(self, host: str, port: int, processes: int, threads: int) -> None:
        from waitress import serve

        from hotline.wsgi import application

        _warm_up()
        if processes <= 1 or not hasattr(os, "fork"):
            self.stdout.write(f"hotline web on http://{host}:{port}/")
            serve(application, host=host, port=port, threads=threads, ident="hotline", channel_timeout=120)
            return
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
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


def _warm_up() -> None:
    """Load what the apps load lazily (core.warmup) once, here, before the
    workers fork: they share it, and no request pays for it."""
    from django.db import connections

    from hotline.core import warmup

    warmup.run()
    connections.close_all()  # never a connection shared across a fork
