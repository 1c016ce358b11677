#!/usr/bin/env python
"""Issue-8 benchmark: the durable outbox on PostgreSQL.

    .venv/bin/python bench/outbox_bench.py                  # 100,000 messages, 2 workers
    .venv/bin/python bench/outbox_bench.py --messages 10000 # a quick run

1. a fresh database (``--db``, default ``hotline_outbox_bench`` on the local
   PostgreSQL), migrated;
2. a local HTTP sink in a process of its own: a lean threaded HTTP/1.1
   server (keep-alive) that checks each request's HMAC signature and counts
   requests by Idempotency-Key;
3. enqueue: ``outbox.enqueue_many`` of all messages (webhook channel, to the
   sink) in one transaction, timed;
4. delivery: ``hotline worker --only outbox`` × 2 processes, started (and
   up) before the enqueue, timed from its commit until every message is
   ``sent``;
5. lost (keys that never reached the sink) and duplicates (requests beyond
   the first per key: what a receiver that ignored the key would double),
   side by side with the targets; bench/results/outbox.json.

Only the standard library, the project and psycopg are used.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SECRET = "outbox-bench-secret"
TARGETS = {"enqueue_s": 5.0, "rate": 1000.0}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] (load {os.getloadavg()[0]:.1f}) {msg}", flush=True)


# --- the sink -----------------------------------------------------------------------

def sink(port_file: str) -> None:
    """Runs in its own process: one thread per keep-alive connection."""
    lock = threading.Lock()
    seen: dict[str, int] = {}
    stats = {"requests": 0, "bad_signatures": 0}

    def handle(conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                method, path = lines[0].split(b" ")[:2]
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(b":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get(b"content-length", b"0"))
                while len(buf) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                if method == b"GET" and path == b"/stats":
                    with lock:
                        doc = {**stats, "unique": len(seen), "duplicates": stats["requests"] - len(seen)}
                    out = json.dumps(doc).encode()
                else:
                    ts = headers.get(b"x-hotline-timestamp", b"")
                    sig = headers.get(b"x-hotline-signature", b"").decode()
                    good = hmac.compare_digest(
                        "sha256=" + hmac.new(SECRET.encode(), ts + b"." + body, hashlib.sha256).hexdigest(), sig)
                    key = headers.get(b"idempotency-key", b"").decode()
                    with lock:
                        stats["requests"] += 1
                        stats["bad_signatures"] += not good
                        seen[key] = seen.get(key, 0) + 1
                    out = b"{}"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(out)).encode() + b"\r\n\r\n" + out)

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    Path(port_file).write_text(str(server.getsockname()[1]))
    while True:
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def cpu_seconds(pids=None, comm: str | None = None) -> float:
    """User + system CPU of the given processes (or all named ``comm``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in (pids if pids is not None else [p for p in os.listdir("/proc") if p.isdigit()]):
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        if comm and name != comm:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def sink_stats(port: int) -> dict:
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/stats")
    return json.loads(c.getresponse().read())


# --- the run ------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4, help="sender threads per worker")
    ap.add_argument("--batch", type=int, default=200, help="messages per claim")
    ap.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/hotline_outbox_bench")
    ap.add_argument("--sink", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sink:
        return sink(args.sink)

    import psycopg

    base, _, name = args.db.rpartition("/")
    log(f"database {name}: drop, create, migrate")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=args.db, HOTLINE_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="hotline.settings")
    py = sys.executable
    subprocess.run([py, "-m", "hotline", "migrate", "-v0"], env=env, check=True, cwd=ROOT)

    port_file = BENCH / "results" / "outbox-sink.port"
    port_file.parent.mkdir(exist_ok=True)
    port_file.unlink(missing_ok=True)
    sink_proc = subprocess.Popen([py, __file__, "--sink", str(port_file)])
    while not port_file.exists():
        time.sleep(0.05)
    port = int(port_file.read_text())
    url = f"http://127.0.0.1:{port}/hook"

    os.environ.update(DATABASE_URL=args.db, DJANGO_SETTINGS_MODULE="hotline.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.db import connection, transaction

    from hotline.core import outbox
    from hotline.core.models import OutboxMessage

    worker_env = dict(env, HOTLINE_WEBHOOK_SECRET=SECRET, HOTLINE_WEBHOOK_TIMEOUT="5",
                      HOTLINE_OUTBOX_THREADS=str(args.threads), HOTLINE_OUTBOX_BATCH=str(args.batch),
                      HOTLINE_OUTBOX_INTERVAL="0.2", HOTLINE_LOG_LEVEL="WARNING")
    # Workers run all the time in production: start them first and wait
    # until they are up (their first line), so their start-up is not timed.
    log(f"start {args.workers} workers × {args.threads} sender threads, batches of {args.batch}")
    logs = [BENCH / "results" / f"outbox-worker-{i}.log" for i in range(args.workers)]
    workers = [subprocess.Popen([py, "-m", "hotline", "worker", "--only", "outbox"], env=worker_env, cwd=ROOT,
                                stdout=open(path, "w"), stderr=subprocess.STDOUT) for path in logs]
    while not all("hotline worker" in path.read_text() for path in logs):
        time.sleep(0.1)

    n = args.messages
    items = [{"channel": "webhook", "recipient": url, "dedup_key": f"bench:order:{i}:notice",
              "payload": {"order": f"GZ2612{i:08d}", "text": "您的报修已受理，抢修人员正在赶往现场。"}}
             for i in range(n)]
    log(f"enqueue {n:,} messages in one transaction")
    t = time.perf_counter()
    with transaction.atomic():
        created = outbox.enqueue_many(items, source="bench")
    enqueue_s = time.perf_counter() - t
    assert created == n, created
    log(f"enqueued in {enqueue_s:.2f} s ({n / enqueue_s:,.0f}/s); delivering")
    pids = [w.pid for w in workers]
    cpu0 = (cpu_seconds(pids), cpu_seconds([sink_proc.pid]), cpu_seconds(comm="postgres"))
    t = time.perf_counter()
    sent = 0
    try:
        deadline = time.monotonic() + max(600, n / 100)
        while time.monotonic() < deadline:
            time.sleep(0.25)
            sent = OutboxMessage.objects.filter(state="sent").count()
            if sent >= n:
                break
        deliver_s = time.perf_counter() - t
        cpu1 = (cpu_seconds(pids), cpu_seconds([sink_proc.pid]), cpu_seconds(comm="postgres"))
        cpu_ms = {k: round((b - a) / max(sent, 1) * 1000, 3) for k, a, b in zip(("workers", "sink", "postgres"), cpu0, cpu1)}
        log(f"{sent:,} sent in {deliver_s:.1f} s; CPU ms per message: {cpu_ms}")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
    with connection.cursor() as cur:
        cur.execute("SELECT EXTRACT(EPOCH FROM max(sent_at) - min(sent_at)) FROM core_outboxmessage")
        span = float(cur.fetchone()[0] or 0)
        cur.execute("SELECT state, count(*) FROM core_outboxmessage GROUP BY state")
        states = dict(cur.fetchall())
    stats = sink_stats(port)
    sink_proc.terminate()
    port_file.unlink(missing_ok=True)
    for path in logs:  # kept only when a worker said more than its first line
        if len(path.read_text().splitlines()) <= 1:
            path.unlink()
    rate = sent / deliver_s
    lost = n - stats["unique"]
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(), "messages": n, "workers": args.workers, "threads": args.threads,
        "batch": args.batch, "enqueue_s": round(enqueue_s, 2), "deliver_s": round(deliver_s, 2),
        "rate_per_s": round(rate), "rate_first_to_last_sent_per_s": round(sent / span) if span else None,
        "lost": lost, "duplicates": stats["duplicates"], "bad_signatures": stats["bad_signatures"],
        "sink_requests": stats["requests"], "states": states, "cpu_ms_per_message": cpu_ms, "load_after": round(os.getloadavg()[0], 2),
    }
    (BENCH / "results" / f"outbox-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json").write_text(json.dumps(result, indent=2) + "\n")
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    print()
    print("| measure | result | target | |")
    print("| --- | --- | --- | --- |")
    print(f"| enqueue {n:,} (one transaction) | {enqueue_s:.2f} s | ≤ {TARGETS['enqueue_s']:g} s | "
          f"{ok(enqueue_s <= TARGETS['enqueue_s'])} |")
    print(f"| delivery, {args.workers} workers (enqueue commit to last sent) | {rate:,.0f} /s | ≥ {TARGETS['rate']:,.0f} /s | "
          f"{ok(rate >= TARGETS['rate'])} |")
    if span:
        print(f"| delivery, first to last send | {sent / span:,.0f} /s | | |")
    print(f"| lost | {lost} | 0 | {ok(lost == 0)} |")
    print(f"| duplicates at the sink | {stats['duplicates']} | 0 | {ok(stats['duplicates'] == 0)} |")
    print(f"| bad signatures | {stats['bad_signatures']} | 0 | {ok(stats['bad_signatures'] == 0)} |")


if __name__ == "__main__":
    main()
