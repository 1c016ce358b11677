"""Open-loop HTTP load for the work-order benchmark (stdlib only).

Arrival instants are fixed in advance (Poisson process at the offered rate).
A pool of client threads (each with its own keep-alive connection and API
token) takes the next arrival, waits for its instant and sends it; latency is
measured from the *scheduled* instant to the end of the response, so a slow
server is charged for the requests queued behind it (no coordinated
omission).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class LoadResult:
    offered_rate: float
    duration: float
    clients: int
    scheduled: int
    ok: int
    errors: int
    error_samples: list
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    send_lag_p99_ms: float
    achieved_rate: float

    def passed(self, p99_limit_ms: float = 100.0) -> bool:
        return self.errors == 0 and self.p99_ms <= p99_limit_ms and self.achieved_rate >= 0.95 * self.scheduled / self.duration

    def row(self) -> dict:
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def open_loop(*, host: str, port: int, path: str, tokens: list[str], rate: float, duration: float, clients: int,
              body_fn, seed: int = 1) -> LoadResult:
    rnd = random.Random(seed)
    arrivals = []
    t = 0.0
    while True:
        t += rnd.expovariate(rate)
        if t >= duration:
            break
        arrivals.append(t)
    bodies = [json.dumps(body_fn(rnd), ensure_ascii=False).encode() for _ in arrivals]
    n = len(arrivals)
    done_at = [0.0] * n
    sent_at = [0.0] * n
    status = [0] * n
    samples: list[str] = []
    lock = threading.Lock()
    next_i = [0]
    start = time.perf_counter() + 0.5

    def client(k: int) -> None:
        token = tokens[k % len(tokens)]
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= n:
                break
            wait = start + arrivals[i] - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent_at[i] = time.perf_counter()
            try:
                conn.request("POST", path, body=bodies[i], headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                    "Idempotency-Key": uuid.uuid4().hex})
                resp = conn.getresponse()
                data = resp.read()
                status[i] = resp.status
                if resp.status != 201 and len(samples) < 5:
                    samples.append(f"{resp.status}: {data[:300]!r}")
            except Exception as exc:  # connection reset, timeout
                status[i] = -1
                if len(samples) < 5:
                    samples.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
            done_at[i] = time.perf_counter()
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lat = [(done_at[i] - (start + arrivals[i])) * 1000 for i in range(n)]
    lag = [(sent_at[i] - (start + arrivals[i])) * 1000 for i in range(n)]
    ok = sum(1 for s in status if s == 201)
    last = max(done_at) if n else start
    span = max(last - start, duration)
    return LoadResult(
        offered_rate=rate, duration=duration, clients=clients, scheduled=n, ok=ok, errors=n - ok, error_samples=samples,
        p50_ms=percentile(lat, 50), p95_ms=percentile(lat, 95), p99_ms=percentile(lat, 99), max_ms=max(lat) if lat else 0.0,
        send_lag_p99_ms=percentile(lag, 99), achieved_rate=ok / span,
    )


def get_json(host: str, port: int, path: str, token: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class KeepAlive:
    """One keep-alive connection for repeated timed GETs."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.conn = http.client.HTTPConnection(host, port, timeout=60)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            self.conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
            resp = self.conn.getresponse()
            return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()
