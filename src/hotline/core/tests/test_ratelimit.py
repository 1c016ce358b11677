"""core.ratelimit: fixed-window counters every web process shares."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from hotline.core import ratelimit
from hotline.core.models import RateCounter

pytestmark = pytest.mark.django_db

T = dt.datetime(2026, 12, 3, 9, 0, 10, tzinfo=dt.UTC)  # 10 s into a minute


def test_each_hit_counts_once_and_a_new_window_starts_again():
    assert [ratelimit.hit("api:7", 60, now=T).count for _ in range(3)] == [1, 2, 3]
    assert ratelimit.hit("api:7", 60, now=T).seconds_left == 50
    assert ratelimit.hit("api:8", 60, now=T).count == 1  # another identity
    assert ratelimit.hit("api:7", 60, now=T + dt.timedelta(seconds=50)).count == 1  # the next minute
    assert ratelimit.hit("api:7", 3600, now=T).count == 1  # another window length


def test_ended_windows_are_deleted_and_running_ones_kept():
    ratelimit.hit("api:7", 60, now=T)
    ratelimit.hit("api:7", 60, now=T + dt.timedelta(minutes=5))
    assert ratelimit.delete_ended(now=T + dt.timedelta(minutes=2)) == 1
    assert RateCounter.objects.count() == 1


def test_a_window_must_have_a_length():
    with pytest.raises(ValueError):
        ratelimit.hit("api:7", 0, now=T)


@pytest.mark.postgres
def test_concurrent_hits_from_many_connections_are_all_counted(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL")
    counts, barrier = [], threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            for _ in range(25):
                counts.append(ratelimit.hit("api:shared", 60, now=T).count)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == list(range(1, 201))  # none counted twice, none lost
