"""Which outages cover a place (D7i's lookup, the intake check) and the
frequent-outage flag (D7h)."""

import datetime as dt
import statistics
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.outages import selectors, services
from hotline.outages.models import Outage, OutageArea, OutageClass, OutageStatus
from hotline.outages.tests.factories import outage_input, published

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def numbers(qs):
    return sorted(o.number for o in qs)


def past_outage(actor, areas, *, start, minutes, restore=True, cls=OutageClass.PLANNED):
    """An outage that happened: published, off at ``start`` for ``minutes``."""
    outage = services.draft(actor=actor, data=outage_input(areas, start=start, hours=4, cls=cls), publish=True)
    services.start(outage=outage, actor=actor, actual_start=start)
    if restore:
        services.restore(outage=outage, actor=actor, actual_restoration=start + dt.timedelta(minutes=minutes))
    return Outage.objects.get(pk=outage.pk)


# --- covering -----------------------------------------------------------------------

@pytest.mark.rule("D7i")
def test_an_outage_covers_the_areas_below_its_areas_not_beside_them(world, desk, frozen, neighbour_t, town1_t):
    now = frozen()
    township = published(desk, [world.areas["town0"]], start=now - dt.timedelta(hours=1))
    village = published(desk, [world.areas["v0"]], start=now - dt.timedelta(minutes=30))
    transformer = published(desk, [world.areas["t0"]], start=now - dt.timedelta(minutes=10))
    assert numbers(selectors.active_outages_covering(world.areas["t0"].pk)) == numbers([township, village, transformer])
    assert numbers(selectors.active_outages_covering(customer=world.customers["zhang"])) == numbers(
        [township, village, transformer])
    assert numbers(selectors.active_outages_covering(neighbour_t.pk)) == numbers([township, village])
    assert numbers(selectors.active_outages_covering(world.areas["town0"].pk)) == numbers([township])
    assert list(selectors.active_outages_covering(town1_t.pk)) == []
    assert list(selectors.active_outages_covering(customer=world.customers["li"])) == []


@pytest.mark.rule("D7i")
def test_covering_means_announced_for_now_or_off_and_not_yet_restored(world, desk, frozen):
    now, t0 = frozen(), world.areas["t0"]
    later = published(desk, [t0], start=now + dt.timedelta(days=2), hours=3)
    late = published(desk, [t0], start=now - dt.timedelta(hours=6), hours=2)
    services.start(outage=late, actor=desk, actual_start=now - dt.timedelta(hours=6))  # past its end, still off
    over = past_outage(desk, [t0], start=now - dt.timedelta(hours=3), minutes=60)
    called_off = published(desk, [t0], start=now - dt.timedelta(hours=1))
    services.cancel(outage=called_off, actor=desk, reason="改期")
    services.draft(actor=desk, data=outage_input([t0], start=now - dt.timedelta(hours=1)))
    announced_not_started = published(desk, [t0], start=now - dt.timedelta(hours=1))
    assert numbers(selectors.active_outages_covering(t0.pk)) == numbers([late, announced_not_started])
    assert numbers(selectors.active_outages_covering(t0.pk, at=now + dt.timedelta(days=2, hours=1))) == numbers(
        [later, late])
    assert over.status == OutageStatus.RESTORED
    # Over is over: their links leave the live index in the same transaction.
    assert not OutageArea.objects.filter(outage__in=[over, called_off], live=True).exists()
    assert OutageArea.objects.filter(outage=late, live=True).exists()


@pytest.mark.rule("D7i")
def test_the_covering_lookup_is_two_indexed_queries_among_ten_thousand_outages(world, desk, frozen, neighbour_t):
    from hotline.organisation.models import ServiceArea

    now = frozen()
    # 200 transformer areas under 东山乡, 10,000 active outages over them.
    village = world.areas["v1"]
    areas = ServiceArea.objects.bulk_create([
        ServiceArea(name=f"桃园{i}号台区", code=f"bulk-{i}", level="transformer_area", parent=village,
                    unit=world.stations[1], full_name=f"东山乡桃园村桃园{i}号台区") for i in range(200)])
    rows = [Outage(number=f"B{i:05d}", outage_class="planned", status="published", publishing_unit=world.desk,
                   planned_start=now - dt.timedelta(hours=1), planned_end=now + dt.timedelta(hours=3),
                   reason="检修", created_at=now, created_by=desk, updated_at=now) for i in range(10_000)]
    outages = Outage.objects.bulk_create(rows, batch_size=1000)
    if outages[0].pk is None:  # a backend that returns no ids
        outages = list(Outage.objects.filter(number__startswith="B").order_by("number"))
    OutageArea.objects.bulk_create([OutageArea(outage=o, area=areas[i % 200]) for i, o in enumerate(outages)],
                                   batch_size=2000)
    # Years of history over the same areas: restored outages are no longer live.
    old = Outage.objects.bulk_create([Outage(
        number=f"H{i:05d}", outage_class="planned", status="restored", publishing_unit=world.desk,
        planned_start=now - dt.timedelta(days=30), planned_end=now - dt.timedelta(days=30, hours=-4), reason="检修",
        created_at=now, created_by=desk, updated_at=now) for i in range(10_000)], batch_size=1000)
    if old[0].pk is None:
        old = list(Outage.objects.filter(number__startswith="H").order_by("number"))
    OutageArea.objects.bulk_create([OutageArea(outage=o, area=areas[i % 200], live=False) for i, o in enumerate(old)],
                                   batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE outages_outage; ANALYZE outages_outagearea")
    ours = published(desk, [world.areas["t0"]], start=now - dt.timedelta(minutes=5))
    selectors.active_outages_covering(world.areas["t0"].pk)  # the ancestry is cached from here on
    with CaptureQueriesContext(connection) as queries:
        found = list(selectors.active_outages_covering(world.areas["t0"].pk))
    assert [o.number for o in found] == [ours.number] and len(queries) == 2
    assert len(list(selectors.active_outages_covering(areas[7].pk))) == 50
    timings = []
    for _ in range(20):
        began = time.perf_counter()
        list(selectors.active_outages_covering(areas[7].pk))
        timings.append(time.perf_counter() - began)
    # A few ms on a quiet machine; the bound leaves room for a busy CI box.
    assert statistics.median(timings) < 0.05, timings
    # The first query reads an index of the links (the partial one of live
    # links once history outweighs them), never the whole table.
    ids = OutageArea.objects.filter(area_id__in=selectors.area_and_ancestor_ids(areas[7].pk), live=True)
    sql, params = ids.values_list("outage_id").query.sql_with_params()
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert ("outage_area_live_idx" in plan or "outage_area_lookup_idx" in plan) and "Seq Scan" not in plan, plan


# --- frequent outage (D7h) ----------------------------------------------------------

@pytest.mark.rule("D7h")
def test_three_outages_in_two_months_flag_a_frequent_outage(world, desk, frozen):
    now, zhang = frozen(), world.customers["zhang"]
    a = world.areas
    past_outage(desk, [a["t0"]], start=now - dt.timedelta(days=50), minutes=90)
    past_outage(desk, [a["town0"]], start=now - dt.timedelta(days=20), minutes=4)  # the township's covers it
    result = selectors.frequent_outage(zhang, now)
    assert result.count == 2 and not result.flagged
    third = past_outage(desk, [a["v0"]], start=now - dt.timedelta(days=1), minutes=30)
    result = selectors.frequent_outage(zhang, now)
    assert result.count == 3 and result.flagged and result.outages[-1].pk == third.pk
    assert result.since == dt.datetime(2026, 9, 17, 9, 0, tzinfo=SH)
    assert not selectors.frequent_outage(world.customers["li"], now).flagged


@pytest.mark.rule("D7h")
def test_flickers_older_outages_and_outages_that_never_happened_do_not_count(world, desk, frozen, neighbour_t):
    now, zhang, t0 = frozen(), world.customers["zhang"], world.areas["t0"]
    past_outage(desk, [t0], start=now - dt.timedelta(days=10), minutes=2)  # a flicker (a reclose)
    # A fault that tripped and came back within the minute limit.
    flick = services.draft(actor=desk, data=outage_input([t0], cls=OutageClass.GRID_FAULT, start=None,
                                                         occurred_at=now - dt.timedelta(days=9)), publish=True)
    services.start(outage=flick, actor=desk)
    services.restore(outage=flick, actor=desk, actual_restoration=now - dt.timedelta(days=9) + dt.timedelta(
        minutes=2, seconds=59))
    past_outage(desk, [t0], start=now - dt.timedelta(days=62), minutes=120)  # before 17 September
    past_outage(desk, [neighbour_t], start=now - dt.timedelta(days=5), minutes=120)  # the neighbour's supply
    cancelled = published(desk, [t0], start=now - dt.timedelta(days=3))
    services.cancel(outage=cancelled, actor=desk, reason="改期")
    published(desk, [t0], start=now - dt.timedelta(days=2))  # announced, never marked as off
    assert selectors.frequent_outage(zhang, now).count == 0
    exactly = past_outage(desk, [t0], start=now - dt.timedelta(days=4), minutes=3)  # 3 minutes count
    ongoing = past_outage(desk, [t0], start=now - dt.timedelta(hours=1), minutes=0, restore=False)
    result = selectors.frequent_outage(zhang, now)
    assert [o.pk for o in result.outages] == [exactly.pk, ongoing.pk]  # the ongoing one by its planned window


@pytest.mark.rule("D7h", "D0a")
def test_the_thresholds_are_policy_settings(world, desk, frozen):
    from hotline.core import policy

    now, zhang, t0 = frozen(), world.customers["zhang"], world.areas["t0"]
    past_outage(desk, [t0], start=now - dt.timedelta(days=80), minutes=10)
    past_outage(desk, [t0], start=now - dt.timedelta(days=3), minutes=2)
    assert selectors.frequent_outage(zhang, now).count == 0
    policy.set_value(key="outages.frequent_count", value="2", user=world.admin)
    policy.set_value(key="outages.frequent_months", value="3", user=world.admin)
    policy.set_value(key="outages.frequent_min_minutes", value="1", user=world.admin)
    result = selectors.frequent_outage(zhang, now)
    assert result.count == 2 and result.flagged and result.threshold == 2


def test_two_months_back_are_calendar_months():
    def at(*args):
        return dt.datetime(*args, tzinfo=SH)

    assert selectors.months_before(at(2026, 12, 31, 8, 0), 2) == at(2026, 10, 31, 8, 0)
    assert selectors.months_before(at(2026, 4, 30, 8, 0), 2) == at(2026, 2, 28, 8, 0)
    assert selectors.months_before(at(2028, 4, 30, 8, 0), 2) == at(2028, 2, 29, 8, 0)
    assert selectors.months_before(at(2027, 1, 15, 0, 0), 2) == at(2026, 11, 15, 0, 0)


@pytest.mark.rule("D7h")
def test_the_count_in_the_database_agrees_with_the_list(world, desk, frozen):
    now, zhang, t0 = frozen(), world.customers["zhang"], world.areas["t0"]
    past_outage(desk, [t0], start=now - dt.timedelta(days=50), minutes=30)
    past_outage(desk, [world.areas["town0"]], start=now - dt.timedelta(days=20), minutes=3)  # exactly 3 min counts
    past_outage(desk, [t0], start=now - dt.timedelta(days=10), minutes=2)  # a flicker
    past_outage(desk, [t0], start=now - dt.timedelta(days=70), minutes=60)  # before the two months
    listed = selectors.frequent_outage(zhang, now)
    assert selectors.frequent_outage_count(zhang, now) == (listed.count, 3, 2) == (2, 3, 2)
