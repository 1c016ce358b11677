"""Interval statistics (C4f): kept up to date as calls change, equal to the
KPIs computed from the calls for the same interval, whatever order the
events came in, and equal to a rebuild from the calls."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from django.core.management import call_command
from django.db import transaction

from hotline.calls import intervals, kpis, selectors, services
from hotline.calls.adapters import asterisk_queue_log as ql
from hotline.calls.models import IntervalStat
from hotline.calls.tests.conftest import FIXTURES, T0
from hotline.calls.tests.events import call

pytestmark = pytest.mark.django_db

S = kpis.Settings(T=20, S=5)


def _lines():
    return FIXTURES.joinpath("queue_log_day.txt").read_text().splitlines()


def _stats() -> list[tuple]:
    return sorted((r.minutes, r.start, r.queue, r.agent_id, r.offered, r.answered, r.abandoned, r.short_abandoned,
                   r.answered_within_t, round(r.wait_answered_s, 6), round(r.handle_s, 6), r.ring_no_answer)
                  for r in IntervalStat.objects.exclude(offered=0, ring_no_answer=0))


def test_an_interval_starts_on_its_boundary_in_the_center_zone():
    at = dt.datetime(2026, 11, 17, 1, 37, 12, tzinfo=dt.UTC)  # 09:37:12 in Shanghai
    assert intervals.bucket(at, 15) == dt.datetime(2026, 11, 17, 1, 30, tzinfo=dt.UTC)
    assert intervals.bucket(at, 30) == dt.datetime(2026, 11, 17, 1, 30, tzinfo=dt.UTC)
    assert intervals.bucket(at, 60) == dt.datetime(2026, 11, 17, 1, 0, tzinfo=dt.UTC)


@pytest.mark.rule("C4f", "C5a", "C5f", "C5i")
def test_the_intervals_agree_with_the_kpis_of_the_same_periods(world, queue_log_source, http_source):
    ql.import_file(queue_log_source, str(FIXTURES / "queue_log_day.txt"))
    services.ingest(http_source, [
        *call("i1", 1800, answer=10, ring=4, talk=100, hold=(10, 30), wrap=20),  # 09:30
        *call("i2", 2700, abandon=3),  # 09:45
        *call("i3", 3700, answer=30, agent="1002", ring=6, rang_first=("1001", 9), talk=50),  # 10:01
    ])
    for minutes in intervals.SIZES:
        start = T0
        while start < T0 + dt.timedelta(hours=2):
            end = start + dt.timedelta(minutes=minutes)
            period = kpis.Period(start, end)
            for queue in ("95598", "repair"):
                f = kpis.figures(period, queue=queue, settings=S)
                row = selectors.interval_stats(minutes=minutes, start=start, end=end, queue=queue).first()
                got = (row.offered, row.answered, row.abandoned, row.short_abandoned, row.answered_within_t,
                       row.wait_answered_s, row.handle_s, row.ring_no_answer) if row else (0,) * 8
                assert got == pytest.approx((f.offered, f.answered, f.abandoned, f.short_abandoned,
                                             f.answered_within_T, f.wait_answered_s, f.handle_s, f.ring_no_answer)), \
                    (minutes, start, queue)
                for agent in (world.agent, world.agent2):
                    fa = kpis.figures(period, queue=queue, agent=agent, settings=S)
                    row = selectors.interval_stats(minutes=minutes, start=start, end=end, queue=queue,
                                                   agent=agent).first()
                    got = (row.offered, row.answered, row.abandoned, row.answered_within_t, row.handle_s,
                           row.ring_no_answer) if row else (0,) * 6
                    assert got == pytest.approx((fa.offered, fa.answered, fa.abandoned, fa.answered_within_T,
                                                 fa.handle_s, fa.ring_no_answer)), (minutes, start, queue, agent)
            start = end
    hour = IntervalStat.objects.get(minutes=60, start=T0, queue="95598", agent_id=0)
    assert (hour.offered, hour.answered) == (9 + 2, 4 + 1)  # the queue_log day's 95598 and i1, i2
    assert hour.aht_s == pytest.approx((120 + 300 + 100 + 3 + (100 + 20 + 20)) / 5)


@pytest.mark.rule("C4f", "C1h")
def test_kept_up_to_date_whatever_the_order_and_equal_to_a_rebuild(world, queue_log_source):
    events = list(ql.parse_lines(_lines()))
    with transaction.atomic():
        services.ingest(queue_log_source, events)
        in_order = _stats()
        transaction.set_rollback(True)
    rng = random.Random(7)
    shuffled = events + rng.sample(events, 15)
    rng.shuffle(shuffled)
    while shuffled:
        n = rng.randint(1, 5)
        services.ingest(queue_log_source, shuffled[:n])
        shuffled = shuffled[n:]
    assert _stats() == in_order and in_order
    # a talking call that ends moves its interval on
    c12 = "1794877815|c12|95598|Agent/1001|COMPLETEAGENT|5|30|1"
    services.ingest(queue_log_source, list(ql.parse_lines([c12])))
    hour = IntervalStat.objects.get(minutes=60, start=T0, queue="95598", agent_id=0)
    assert (hour.offered, hour.answered) == (10, 5)
    incremental = _stats()
    out = io.StringIO()
    call_command("calls", "intervals", "--from", "2026-11-17", "--to", "2026-11-18", stdout=out)
    assert "13" in out.getvalue()
    assert _stats() == incremental
