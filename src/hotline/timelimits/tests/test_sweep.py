import datetime as dt

import pytest

from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.timelimits.services import answer_notice, sweep_until_idle
from hotline.workorders import services
from hotline.workorders.models import WorkOrderEvent

pytestmark = pytest.mark.django_db


def repair(world, **kw):
    data = dict(business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
                fault_scope="company")
    data.update(kw)
    return services.create_order(actor=world.agent, intake=services.Intake(**data))


def notices(order, metric):
    return list(Notice.objects.filter(order=order, metric=metric).order_by("kind", "level").values_list("kind", "level", "unit__name"))


def test_warning_at_80_percent_then_notice_at_the_limit(world, frozen):
    order = repair(world)
    frozen.advance(seconds=2 * 60 + 23)  # accept limit 3 min: 80% = 144 s
    sweep_until_idle()
    assert notices(order, "accept") == []
    frozen.advance(seconds=1)
    sweep_until_idle()
    assert notices(order, "accept") == [("warning", 0, "城关供电所")]
    frozen.advance(seconds=36)
    sweep_until_idle()
    assert notices(order, "accept") == [("supervision", 1, "城关供电所"), ("warning", 0, "城关供电所")]
    n = Notice.objects.get(order=order, metric="accept", kind="supervision")
    assert n.supervisor_unit == world.county


def test_second_breach_escalates_one_level_up(world, frozen):
    order = repair(world)
    frozen.advance(minutes=3, seconds=1)
    sweep_until_idle()
    frozen.advance(minutes=3)  # another full limit without acceptance
    sweep_until_idle()
    rows = notices(order, "accept")
    assert ("supervision", 2, "县公司") in rows
    frozen.advance(minutes=3)
    sweep_until_idle()
    assert ("supervision", 3, "市公司") in notices(order, "accept")
    frozen.advance(minutes=30)
    sweep_until_idle()
    assert len([r for r in notices(order, "accept") if r[0] == "supervision"]) == 3  # escalation_levels=2 after the first


def test_each_notice_exactly_once_even_when_swept_repeatedly(world, frozen):
    order = repair(world)
    frozen.advance(hours=5)
    for _ in range(3):
        sweep_until_idle()
    counts = {}
    for kind, level, metric in Notice.objects.filter(order=order).values_list("kind", "level", "metric"):
        counts[(kind, level, metric)] = counts.get((kind, level, metric), 0) + 1
    assert counts and all(v == 1 for v in counts.values())


def test_catch_up_after_downtime_raises_everything_that_fell_due(world, frozen):
    order = repair(world)
    frozen.advance(hours=10)  # the worker was down
    sweep_until_idle()
    metrics = set(Notice.objects.filter(order=order, kind=NoticeKind.SUPERVISION, level=1).values_list("metric", flat=True))
    assert metrics == {"accept", "arrival", "restoration"}
    # The notice records when it was due, not just when it was raised.
    n = Notice.objects.get(order=order, metric="accept", kind="supervision", level=1)
    assert n.due_at < n.created_at


def test_stopped_clock_records_met_or_breached_with_durations(world, frozen):
    order = repair(world)
    frozen.advance(minutes=4)
    services.transition(order=order, action="receive", actor=world.station_users[0])
    accept = Clock.objects.get(order=order, metric="accept")
    assert accept.status == ClockStatus.BREACHED
    assert accept.elapsed_seconds == 240 and accept.overdue_seconds == 60
    frozen.advance(minutes=10)
    services.transition(order=order, action="arrive", actor=world.station_users[0])
    arrival = Clock.objects.get(order=order, metric="arrival")
    assert arrival.status == ClockStatus.MET and arrival.overdue_seconds == 0
    # A stopped clock raises nothing later.
    frozen.advance(hours=1)
    sweep_until_idle()
    assert not Notice.objects.filter(order=order, metric="arrival").exists()


def test_return_keeps_clocks_and_starts_a_redispatch_clock(world, frozen):
    order = repair(world)
    arrival_due = Clock.objects.get(order=order, metric="arrival").due_at
    frozen.advance(minutes=1)
    order = services.transition(order=order, action="return", actor=world.station_users[0],
                                payload={"reason": "outside_area", "note": "不在本所范围"})
    assert order.return_count == 1 and order.state == "returned"
    redispatch = Clock.objects.get(order=order, metric="redispatch")
    assert redispatch.due_at - redispatch.started_at == dt.timedelta(minutes=3)
    frozen.advance(minutes=1)
    order = services.transition(order=order, action="redispatch", actor=world.agent,
                                payload={"unit_id": world.stations[1].id})
    assert order.assigned_unit == world.stations[1]
    number = order.number
    arrival = Clock.objects.get(order=order, metric="arrival")
    assert arrival.due_at == arrival_due and arrival.round == 0  # not restarted
    assert arrival.responsible_unit == world.stations[1]
    assert Clock.objects.filter(order=order, metric="accept").count() == 1
    assert order.number == number
    assert Clock.objects.get(order=order, metric="redispatch").status == ClockStatus.MET


def test_repair_return_needs_a_valid_reason(world, frozen):
    from hotline.workorders.errors import OrderError

    order = repair(world)
    with pytest.raises(OrderError):
        services.transition(order=order, action="return", actor=world.station_users[0], payload={"reason": "busy"})


def test_answering_a_notice_is_recorded_once_as_an_event(world, frozen):
    order = repair(world)
    frozen.advance(minutes=4)
    sweep_until_idle()
    n = Notice.objects.get(order=order, metric="accept", kind="supervision", level=1)
    answer_notice(notice=n, user=world.station_users[0], text="抢修人员已出发")
    assert WorkOrderEvent.objects.filter(order=order, kind="notice_answer").count() == 1
    from hotline.timelimits.services import NoticeError

    with pytest.raises(NoticeError):
        answer_notice(notice=n, user=world.station_users[0], text="again")
    n2 = Notice.objects.filter(order=order, kind="supervision", metric="arrival").first()
    frozen.advance(hours=1)
    sweep_until_idle()
    n2 = Notice.objects.filter(order=order, kind="supervision", metric="arrival").first()
    with pytest.raises(PermissionError):
        answer_notice(notice=n2, user=world.station_users[1], text="not ours")


def test_policy_version_is_kept_by_existing_orders(world, frozen):
    from hotline.catalog.models import TimeLimitRule
    from hotline.catalog.services import draft_new_version, publish_version

    old = repair(world)
    draft = draft_new_version(note="shorter arrival")
    TimeLimitRule.objects.filter(version=draft, business_type__code="repair", metric="arrival", area_class="urban").update(amount=30)
    publish_version(version=draft)
    new = repair(world)
    old_arrival = Clock.objects.get(order=old, metric="arrival")
    new_arrival = Clock.objects.get(order=new, metric="arrival")
    assert (old_arrival.due_at - old_arrival.started_at) == dt.timedelta(minutes=45)
    assert (new_arrival.due_at - new_arrival.started_at) == dt.timedelta(minutes=30)
    assert old.policy_version.number == 1 and new.policy_version.number == 2
