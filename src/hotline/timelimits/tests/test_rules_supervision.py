"""Spec domain.md §5: warnings, supervision notices, escalation, manual
reminders, notices as events, the supervision rate — and §5's promise that
supervision is never lost when a clock stops late."""

import pytest

from hotline.catalog.models import TimeLimitRule
from hotline.catalog.services import draft_new_version, publish_version
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.timelimits.services import answer_notice, supervision_rate, sweep_until_idle
from hotline.workorders import selectors, services
from hotline.workorders.errors import NotAllowed, OrderError
from hotline.workorders.models import WorkOrderEvent

pytestmark = pytest.mark.django_db

NOTICE_EVENTS = ("warning", "supervision", "escalation")


def repair(world, **kw):
    data = dict(business_type="repair", sub_class="lv", description="整片停电", customer_id=world.customers["zhang"].id,
                fault_scope="company")
    data.update(kw)
    return services.create_order(actor=kw.pop("actor", world.agent), intake=services.Intake(**data))


def accept_notices(order):
    return sorted(Notice.objects.filter(order=order, metric="accept").values_list("kind", "level"))


@pytest.mark.rule("D5a")
def test_warning_at_the_default_80_percent_share(world, frozen):
    order = repair(world)
    frozen.advance(seconds=143)  # accept 3 min: 80 % = 144 s
    sweep_until_idle()
    assert accept_notices(order) == []
    frozen.advance(seconds=1)
    sweep_until_idle()
    assert accept_notices(order) == [("warning", 0)]


@pytest.mark.rule("D5a", "D0a")
def test_warning_follows_the_rules_own_share(world, frozen):
    draft = draft_new_version(note="accept warns at half time")
    TimeLimitRule.objects.filter(version=draft, business_type__code="repair", metric="accept").update(warn_share="0.5")
    publish_version(version=draft)
    order = repair(world)
    frozen.advance(seconds=89)
    sweep_until_idle()
    assert accept_notices(order) == []
    frozen.advance(seconds=1)  # 50 % of 180 s
    sweep_until_idle()
    assert accept_notices(order) == [("warning", 0)]


@pytest.mark.rule("D5b")
def test_notice_at_the_limit_to_the_unit_and_its_supervisor_seen_by_the_leader(world, frozen):
    order = repair(world)
    frozen.advance(seconds=179)
    sweep_until_idle()
    assert not Notice.objects.filter(order=order, kind="supervision").exists()
    frozen.advance(seconds=1)
    sweep_until_idle()
    notice = Notice.objects.get(order=order, metric="accept", kind="supervision")
    assert notice.level == 1 and notice.unit == world.stations[0] and notice.supervisor_unit == world.county
    board = selectors.shift_leader_board(world.leader)
    assert notice.pk in {n.pk for n in board["notices"]}


@pytest.mark.rule("D5c")
def test_second_breach_escalates_one_level_up_the_tree(world, frozen):
    order = repair(world)
    frozen.advance(minutes=3)
    sweep_until_idle()
    frozen.advance(minutes=2, seconds=59)  # the gap is the limit's span: 3 min
    sweep_until_idle()
    assert not Notice.objects.filter(order=order, metric="accept", level=2).exists()
    frozen.advance(seconds=1)
    sweep_until_idle()
    second = Notice.objects.get(order=order, metric="accept", level=2)
    assert second.unit == world.county and second.supervisor_unit == world.city


@pytest.mark.rule("D5c")
def test_escalation_gap_is_the_rules_own_when_set(world, frozen):
    if not hasattr(TimeLimitRule, "escalation_gap_minutes"):
        pytest.skip("rule has no escalation gap field yet")
    draft = draft_new_version(note="escalate after 10 minutes")
    TimeLimitRule.objects.filter(version=draft, business_type__code="repair", metric="accept").update(escalation_gap_minutes=10)
    publish_version(version=draft)
    order = repair(world)
    frozen.advance(minutes=3 + 9, seconds=59)
    sweep_until_idle()
    assert not Notice.objects.filter(order=order, metric="accept", level=2).exists()
    frozen.advance(seconds=1)
    sweep_until_idle()
    assert Notice.objects.filter(order=order, metric="accept", level=2).exists()


@pytest.mark.rule("D5e")
def test_every_notice_and_answer_is_an_event_of_the_order(world, frozen):
    order = repair(world)
    frozen.advance(minutes=7)  # accept: warning, notice, escalation 1
    sweep_until_idle()
    notices = {n.pk: n for n in Notice.objects.filter(order=order)}
    events = WorkOrderEvent.objects.filter(order=order, kind__in=NOTICE_EVENTS)
    assert sorted(e.payload["notice"] for e in events) == sorted(notices)
    for e in events:
        n = notices[e.payload["notice"]]
        expected = "warning" if n.kind == "warning" else ("supervision" if n.level == 1 else "escalation")
        assert e.kind == expected and e.payload["level"] == n.level and e.payload["metric"] == n.metric
        assert e.actor is None and e.actor_role == "system"
    # Sequence numbers stay gapless with the engine's events among them.
    seqs = list(WorkOrderEvent.objects.filter(order=order).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    notice = Notice.objects.get(order=order, metric="accept", level=1, kind="supervision")
    answer_notice(notice=notice, user=world.station_users[0], text="已安排抢修班出发")
    answered = WorkOrderEvent.objects.get(order=order, kind="notice_answer")
    assert answered.payload["notice"] == notice.pk and answered.payload["answer"] == "已安排抢修班出发"
    assert answered.actor == world.station_users[0]


@pytest.mark.rule("D5a", "D5b", "D5c", "D5e")
def test_clock_stopped_after_its_due_time_gets_everything_that_fell_due_exactly_once(world, frozen):
    order = repair(world)
    frozen.advance(minutes=10)  # the worker was down: nothing swept
    assert not Notice.objects.filter(order=order, metric="accept").exists()
    services.transition(order=order, action="receive", actor=world.station_users[0])
    # accept 3 min: warning, notice at 3, escalations at 6 and 9 (2 levels).
    assert accept_notices(order) == [("supervision", 1), ("supervision", 2), ("supervision", 3), ("warning", 0)]
    assert WorkOrderEvent.objects.filter(order=order, kind__in=NOTICE_EVENTS, payload__metric="accept").count() == 4
    accept = Clock.objects.get(order=order, metric="accept")
    assert accept.status == ClockStatus.BREACHED
    sweep_until_idle()
    sweep_until_idle()
    assert len(accept_notices(order)) == 4
    assert WorkOrderEvent.objects.filter(order=order, kind__in=NOTICE_EVENTS, payload__metric="accept").count() == 4


@pytest.mark.rule("D5b")
def test_clock_stopped_exactly_at_its_due_time_is_met_and_raises_no_notice(world, frozen):
    order = repair(world)
    frozen.advance(minutes=3)
    services.transition(order=order, action="receive", actor=world.station_users[0])
    accept = Clock.objects.get(order=order, metric="accept")
    assert accept.status == ClockStatus.MET and accept.overdue_seconds == 0
    assert accept_notices(order) == [("warning", 0)]  # the warning fell due at 144 s
    sweep_until_idle()
    assert accept_notices(order) == [("warning", 0)]


@pytest.mark.rule("D5d", "D5e")
def test_agent_and_leader_raise_manual_reminders_as_notices_and_events(world, frozen):
    order = repair(world)
    first = services.remind(order=order.number, actor=world.agent, text="客户再次来电，请尽快到场")
    assert first.kind == NoticeKind.MANUAL and first.unit == world.stations[0] and first.created_by == world.agent
    services.remind(order=order.number, actor=world.leader, text="值长督促")
    reminders = WorkOrderEvent.objects.filter(order=order, kind="reminder").order_by("seq")
    assert [e.actor for e in reminders] == [world.agent, world.leader]
    assert reminders[0].payload["message"] == "客户再次来电，请尽快到场"
    assert Notice.objects.filter(order=order, kind="manual").count() == 2
    with pytest.raises(NotAllowed):
        services.remind(order=order.number, actor=world.station_users[0], text="x")
    with pytest.raises(OrderError):
        services.remind(order=order.number, actor=world.agent, text="  ")


@pytest.mark.rule("D5d")
def test_reminder_only_within_the_center_scope(world, frozen):
    from hotline.testing import build_world

    other = build_world(prefix="o")
    order = repair(world)
    with pytest.raises(NotAllowed):
        services.remind(order=order.number, actor=other.agent, text="别的中心")


@pytest.mark.rule("D5f")
def test_supervision_rate_counts_late_stopped_clocks_as_supervised(world, frozen):
    late = repair(world)
    frozen.advance(minutes=10)
    services.transition(order=late, action="receive", actor=world.station_users[0])  # accept breached, caught up
    on_time = repair(world, customer_id=world.customers["li"].id)
    services.transition(order=on_time, action="receive", actor=world.station_users[1])
    rate = supervision_rate(clocks=Clock.objects.filter(metric="accept"))
    assert rate == {"past_limit": 1, "supervised": 1, "rate": 1.0}


@pytest.mark.rule("D5f")
def test_supervision_rate_is_none_without_breaches_and_below_one_when_a_notice_is_missing(world, frozen):
    assert supervision_rate()["rate"] is None
    order = repair(world)
    frozen.advance(minutes=4)
    # Running past the limit with no sweep yet: past the limit, not yet supervised.
    rate = supervision_rate(clocks=Clock.objects.filter(order=order, metric="accept"))
    assert rate == {"past_limit": 1, "supervised": 0, "rate": 0.0}
    sweep_until_idle()
    assert supervision_rate(clocks=Clock.objects.filter(order=order, metric="accept"))["rate"] == 1.0
