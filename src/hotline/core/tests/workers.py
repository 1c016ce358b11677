"""Real ``hotline worker`` processes for the outbox tests (PostgreSQL: the
test database is shared with them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager

from django.db import connection


def db_url() -> str:
    s = connection.settings_dict
    auth = s.get("USER") or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@contextmanager
def outbox_workers(tmp_path, n: int, env: dict[str, str], *, seconds: int = 90):
    """``n`` outbox workers on the test database, stopped (TERM, then KILL)
    on leaving; their logs in ``tmp_path/worker-<i>.log``."""
    procs = []
    try:
        for i in range(n):
            log = open(tmp_path / f"worker-{i}.log", "w")  # noqa: SIM115 - the child writes it
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hotline", "worker", "--only", "outbox", "--max-seconds", str(seconds)],
                env=dict(os.environ, DATABASE_URL=db_url(), HOTLINE_LOG_LEVEL="INFO", **env),
                stdout=log, stderr=subprocess.STDOUT))
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def logs(tmp_path) -> str:
    return "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker-*.log")))
