"""Publication lead times of outage notices (spec D7b–D7g): clocks on the
time-limit engine with the publishing unit responsible, notices in the
outage's history, and the timeliness KPI."""

import datetime as dt

import pytest

from hotline.core import clock
from hotline.outages import leadtimes
from hotline.outages import services as outages
from hotline.outages.models import OutageClass
from hotline.timelimits.models import ClockStatus, Notice, NoticeKind
from hotline.timelimits.services import clocks_of, sweep_until_idle

pytestmark = pytest.mark.django_db


def data(world, *, cls, start, hours=4, **kw):
    return outages.OutageInput(outage_class=cls, area_ids=[world.areas["t0"].pk], planned_start=start,
                               planned_end=start + dt.timedelta(hours=hours), reason="10kV城关线检修", **kw)


def clock_of(outage, metric):
    return clocks_of(leadtimes.SUBJECT, outage.pk).filter(metric=metric).order_by("-round").first()


@pytest.mark.rule("D7b", "D7g")
def test_a_planned_outage_is_published_at_least_7_days_before_it_starts(world, frozen, desk):
    start = clock.now() + dt.timedelta(days=10)
    early = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=start))
    publication = clock_of(early, "publication")
    assert publication.due_at == start - dt.timedelta(days=7) and publication.responsible_unit == desk.unit
    frozen.advance(days=2)
    outages.publish(outage=early, actor=desk)
    assert clock_of(early, "publication").status == ClockStatus.MET
    late = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=clock.now() + dt.timedelta(days=6)),
                         publish=True)
    assert clock_of(late, "publication").status == ClockStatus.BREACHED
    assert leadtimes.timeliness() == {"due": 2, "kept": 1, "missed": 1, "rate": 0.5}


@pytest.mark.rule("D7b")
def test_exactly_7_days_before_is_in_time(world, frozen, desk):
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=clock.now() + dt.timedelta(days=7)),
                           publish=True)
    assert clock_of(outage, "publication").status == ClockStatus.MET


@pytest.mark.rule("D7c")
def test_a_temporary_outage_is_published_24_hours_before(world, frozen, desk):
    start = clock.now() + dt.timedelta(hours=30)
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.TEMPORARY, start=start))
    assert clock_of(outage, "publication").due_at == start - dt.timedelta(hours=24)
    frozen.advance(hours=6, seconds=1)  # now 23 h 59 min 59 s before the start
    sweep_until_idle()
    notice = Notice.objects.get(subject_type=leadtimes.SUBJECT, subject_id=outage.pk, kind=NoticeKind.SUPERVISION)
    assert notice.unit == desk.unit
    assert outage.events.filter(kind="supervision").exists()  # the notice is in the outage's history
    outages.publish(outage=outage, actor=desk)
    assert clock_of(outage, "publication").status == ClockStatus.BREACHED


@pytest.mark.rule("D7d", "D5a")
def test_a_fault_outage_is_published_within_15_minutes_of_the_trip(world, frozen, desk):
    tripped = clock.now()
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.GRID_FAULT, start=tripped, occurred_at=tripped))
    publication = clock_of(outage, "publication")
    assert publication.started_at == tripped and publication.due_at == tripped + dt.timedelta(minutes=15)
    frozen.advance(minutes=12)
    sweep_until_idle()
    assert outage.events.filter(kind="warning").exists()  # 80 % of the 15 minutes
    frozen.advance(minutes=2)
    outages.publish(outage=outage, actor=desk)
    assert clock_of(outage, "publication").status == ClockStatus.MET


@pytest.mark.rule("D7d")
def test_a_fault_entered_late_is_breached_at_once_and_supervised(world, frozen, desk):
    tripped = clock.now() - dt.timedelta(minutes=40)
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.GRID_FAULT, start=tripped, occurred_at=tripped),
                           publish=True)
    publication = clock_of(outage, "publication")
    assert publication.status == ClockStatus.BREACHED and publication.overdue_seconds == 25 * 60
    # What fell due before the publication was raised with it (D5: never lost).
    assert Notice.objects.filter(clock=publication, kind=NoticeKind.SUPERVISION, level=1).exists()


@pytest.mark.rule("D7e")
def test_the_power_going_off_and_coming_back_are_published_within_10_minutes(world, frozen, desk):
    start = clock.now() + dt.timedelta(days=8)
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=start), publish=True)
    frozen.advance(days=8, minutes=12)
    outages.start(outage=outage, actor=desk, actual_start=start)  # told 12 minutes after it happened
    change = clock_of(outage, "change")
    assert change.status == ClockStatus.BREACHED and change.elapsed_seconds == 12 * 60
    frozen.advance(hours=3)
    outages.restore(outage=outage, actor=desk, actual_restoration=clock.now() - dt.timedelta(minutes=10))
    change = clock_of(outage, "change")
    assert change.round == 1 and change.status == ClockStatus.MET  # exactly 10 minutes is in time


@pytest.mark.rule("D7f")
def test_a_delay_is_announced_30_minutes_before_the_announced_end(world, frozen, desk):
    start = clock.now() + dt.timedelta(days=8)
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=start, hours=4), publish=True)
    delay = clock_of(outage, "delay")
    assert delay.due_at == outage.planned_end - dt.timedelta(minutes=30)
    frozen.advance(days=8)
    outages.start(outage=outage, actor=desk)
    frozen.advance(hours=3, minutes=20)  # 40 minutes before the end
    outages.delay(outage=outage, actor=desk, new_end=outage.planned_end + dt.timedelta(hours=2), reason="电缆故障点难以查找")
    assert list(clocks_of(leadtimes.SUBJECT, outage.pk).filter(metric="delay").order_by("round")
                .values_list("status", flat=True)) == [ClockStatus.MET, ClockStatus.RUNNING]
    frozen.advance(hours=2, minutes=20)  # 20 minutes before the new end, no second delay announced
    sweep_until_idle()
    assert Notice.objects.filter(clock=clock_of(outage, "delay"), kind=NoticeKind.SUPERVISION).exists()


@pytest.mark.rule("D7f")
def test_back_by_the_announced_end_owes_no_delay(world, frozen, desk):
    start = clock.now() + dt.timedelta(days=8)
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=start, hours=4), publish=True)
    frozen.advance(days=8)
    outages.start(outage=outage, actor=desk)
    frozen.advance(hours=3, minutes=45)  # the delay limit passed: supervised, as it should be
    sweep_until_idle()
    outages.restore(outage=outage, actor=desk)
    assert clock_of(outage, "delay").status == ClockStatus.CANCELLED
    late = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=clock.now() + dt.timedelta(days=8),
                                               hours=2), publish=True)
    frozen.advance(days=8)
    outages.start(outage=late, actor=desk)
    frozen.advance(hours=2, minutes=10)
    outages.restore(outage=late, actor=desk)  # 10 minutes past the announced end, never delayed
    assert clock_of(late, "delay").status == ClockStatus.BREACHED


def test_a_cancelled_draft_owes_nothing_and_marketing_outages_have_no_lead_time(world, frozen, desk):
    outage = outages.draft(actor=desk, data=data(world, cls=OutageClass.PLANNED, start=clock.now() + dt.timedelta(days=3)))
    outages.cancel(outage=outage, actor=desk, reason="计划取消")
    assert clock_of(outage, "publication").status == ClockStatus.CANCELLED
    # Marketing outages are the marketing department's to publish.
    arrears = outages.draft(actor=world.marketing_user, publish=True,
                            data=data(world, cls=OutageClass.ARREARS, start=clock.now() + dt.timedelta(hours=1)))
    assert clock_of(arrears, "publication") is None
    assert leadtimes.timeliness()["due"] == 0
