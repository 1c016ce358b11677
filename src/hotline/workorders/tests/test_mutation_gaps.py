"""Rules of the work orders' clocks (workorders/clocks.py) that mutation
testing (scripts/mutation) showed no test checked: a merged caller's callback
clock over a master's second reply, what a reminder or an escalation is
addressed to and which limit it names, the 2-hour progress chain's warning
and a policy without the 4-hour first report, and which clocks a reopen
starts again under the default and an administrator's own policy."""

import datetime as dt

import pytest

from hotline.catalog import services as catalog
from hotline.catalog.models import TimeLimitRule
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.timelimits.services import sweep_until_idle
from hotline.workorders import services
from hotline.workorders.tests.test_rules_repair import (
    act,
    clock,
    complaint,
    finish,
    on_site,
    repair,
)

pytestmark = pytest.mark.django_db


def clocks_of(order, metric):
    return list(Clock.objects.filter(order=order, metric=metric).order_by("round").values_list("round", "status"))


def policy(world, code, change):
    """Publish a new policy version in which ``change(rules of type code)``
    edited the type's rules; orders created afterwards follow it (D0a, D0b)."""
    draft = catalog.draft_new_version(note="test", user=world.admin)
    change({r.metric: r for r in TimeLimitRule.objects.filter(version=draft, business_type__code=code)}, draft)
    catalog.publish_version(version=draft, user=world.admin)


# --- D3.4c: every merged caller gets a callback, one per reply it waits for ----------------

@pytest.mark.rule("D3.4c", "D2g")
def test_a_merged_caller_waits_for_one_callback_however_often_the_master_replies(world, frozen):
    master = repair(world)
    frozen.advance(minutes=1)
    sub = repair(world, customer_id=None, caller_phone="13600003330", service_area_id=world.areas["t0"].id,
                 merge_into=master.number)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(master, action, st)
    assert clocks_of(sub, "callback") == [(0, ClockStatus.RUNNING)]
    # Sent back for rework and replied again before the caller was called
    # back: the caller still owes one callback, on the first clock (as the
    # master keeps its own).
    act(master, "rework", world.agent, reason="处理记录不全")
    frozen.advance(hours=1)
    for action in ("arrive", "resolve", "reply"):
        act(master, action, st)
    assert clocks_of(sub, "callback") == [(0, ClockStatus.RUNNING)]
    assert clocks_of(master, "callback") == [(0, ClockStatus.RUNNING)]
    # Called back, then the master replies once more: a new callback is due.
    act(sub, "callback", world.agent, outcome="satisfied", note="客户确认已来电")
    act(master, "rework", world.agent, reason="客户反映仍有闪断")
    for action in ("arrive", "resolve", "reply"):
        act(master, action, st)
    assert clocks_of(sub, "callback") == [(0, ClockStatus.MET), (1, ClockStatus.RUNNING)]
    second = clock(sub, "callback")
    assert (second.started_at, second.due_at - second.started_at) == (frozen(), dt.timedelta(hours=24))
    assert Notice.objects.filter(order=sub).count() == 0  # nothing due yet
    frozen.advance(hours=24)
    sweep_until_idle()
    assert Notice.objects.filter(order=sub, kind=NoticeKind.SUPERVISION, metric="callback").count() == 1


# --- D5d: a reminder names the order's most pressing limit and goes to who holds it --------

@pytest.mark.rule("D5d", "D5e")
def test_a_reminder_names_the_orders_soonest_running_limit(world, frozen):
    earlier = repair(world, customer_id=world.customers["li"].id)  # another order's accept limit runs sooner
    frozen.advance(minutes=1)
    order = repair(world)
    act(order, "receive", world.station_users[0])  # its accept limit (3 min) is met
    reminder = services.remind(order=order.number, actor=world.agent, text="客户再次来电")
    arrival = Clock.objects.get(order=order, metric="arrival")
    assert (reminder.clock, reminder.metric, reminder.level) == (arrival, "arrival", 0)
    assert (reminder.unit, reminder.supervisor_unit) == (world.stations[0], world.county)
    assert Clock.objects.get(order=earlier, metric="accept").due_at < arrival.due_at


@pytest.mark.rule("D5d")
def test_a_reminder_of_an_order_no_unit_holds_and_no_limit_times_goes_to_the_center(world, frozen):
    inquiry = complaint(world, business_type="inquiry", sub_class="bill", description="电费为什么高")
    assert inquiry.assigned_unit is None and not Clock.objects.filter(order=inquiry, status=ClockStatus.RUNNING).exists()
    reminder = services.remind(order=inquiry.number, actor=world.leader, text="请尽快答复客户")
    assert (reminder.unit, reminder.supervisor_unit) == (world.center, world.county)
    assert (reminder.clock, reminder.metric, reminder.level) == (None, "", 0)


@pytest.mark.rule("D5d", "D0a")
def test_a_reminder_goes_to_the_unit_holding_the_order_even_when_the_soonest_limit_is_the_centers(world, frozen):
    def contact_by_the_center(rules, draft):
        rules["contact"].responsible = "center"
        catalog.save_rule(rule=rules["contact"], user=world.admin)
    policy(world, "complaint", contact_by_the_center)
    order = complaint(world)
    act(order, "receive", world.marketing_user)
    contact = Clock.objects.get(order=order, metric="contact")
    assert contact.responsible_unit == world.center  # 24 h, sooner than the department's 5-day reply
    reminder = services.remind(order=order.number, actor=world.agent, text="客户催问进度")
    assert (reminder.clock, reminder.unit, reminder.supervisor_unit) == (contact, world.marketing, world.county)


@pytest.mark.rule("D5d", "D5c")
def test_a_shift_leaders_escalation_goes_one_level_up_with_that_units_supervisor(world, frozen):
    order = repair(world)
    notice = services.escalate(order=order.number, actor=world.leader, text="请督促供电所尽快接单")
    accept = Clock.objects.get(order=order, metric="accept")
    assert (notice.unit, notice.supervisor_unit, notice.level) == (world.county, world.city, 1)
    assert (notice.kind, notice.clock, notice.metric) == (NoticeKind.MANUAL, accept, "accept")


# --- D3.6c: the 2-hour progress chain --------------------------------------------------------

@pytest.mark.rule("D3.6c", "D5a")
def test_an_early_progress_reports_next_one_is_warned_at_its_share_of_the_longer_span(world, frozen):
    order, st = on_site(world, frozen)
    first_due = clock(order, "progress_first").due_at  # 4 h after arrival
    frozen.advance(hours=1)
    act(order, "progress", st, note="正在查找故障点")
    chain = clock(order, "progress")
    span = first_due - frozen()  # 3 h, not the rule's 2 h
    assert chain.due_at == first_due
    assert chain.warn_at == frozen() + span * 0.8 == chain.next_check_at
    frozen.advance(hours=2, minutes=23)
    sweep_until_idle()
    assert not Notice.objects.filter(order=order, metric="progress").exists()
    frozen.advance(minutes=1)
    sweep_until_idle()
    assert list(Notice.objects.filter(order=order, metric="progress").values_list("kind", flat=True)) == [NoticeKind.WARNING]


@pytest.mark.rule("D3.6c", "D0a")
def test_without_a_first_report_rule_each_progress_report_is_due_two_hours_after_the_last(world, frozen):
    def no_first_report(rules, draft):
        catalog.delete_rule(rule=rules["progress_first"], user=world.admin)
    policy(world, "repair", no_first_report)
    order, st = on_site(world, frozen)
    assert clock(order, "progress_first") is None
    frozen.advance(minutes=30)
    act(order, "progress", st, note="正在查找故障点")
    chain = clock(order, "progress")
    assert (chain.due_at, chain.warn_at) == (frozen() + dt.timedelta(hours=2), frozen() + dt.timedelta(minutes=96))


# --- D6g: what a reopen starts again -------------------------------------------------------

@pytest.mark.rule("D6g", "D1f")
def test_an_inquiry_answered_on_the_call_and_reopened_starts_its_reply_limit_for_the_first_time(world, frozen):
    inquiry = complaint(world, business_type="inquiry", sub_class="bill", description="电费为什么高")
    act(inquiry, "answer", world.agent, note="已解释阶梯电价")
    assert not Clock.objects.filter(order=inquiry).exists()
    frozen.advance(hours=3)
    act(inquiry, "reopen", world.leader, reason="客户来电投诉答复不清")
    assert clocks_of(inquiry, "reply") == [(0, ClockStatus.RUNNING)]  # the department's 2 working days
    assert clock(inquiry, "reply").started_at == frozen()
    assert not Clock.objects.filter(order=inquiry).exclude(metric="reply").exists()


def callback_from_the_call_and_a_whole_life_limit(world):
    """The administrator's own report policy: the callback is owed from the
    call (not from the review), and the whole order, archive included, is
    timed by a 15-day "review" limit of the center."""
    def change(rules, draft):
        rules["callback"].start_on = "create"
        catalog.save_rule(rule=rules["callback"], user=world.admin)
        catalog.save_rule(rule=TimeLimitRule(
            version=draft, business_type=rules["reply"].business_type, metric="review", amount=15, unit="calendar_days",
            start_on="create", stop_on="close,cancel", responsible="center"), user=world.admin)
    policy(world, "report", change)


def report(world, **kw):
    return complaint(world, business_type="report", sub_class="theft", description="邻居私拉电线窃电", **kw)


@pytest.mark.rule("D6g", "D1c", "D0a")
def test_a_reopened_report_whose_reporter_wants_no_reply_restarts_its_limits_but_no_callback(world, frozen):
    callback_from_the_call_and_a_whole_life_limit(world)
    order = report(world, reply_wanted=False)
    finish(order, world.discipline_user, world.agent)
    act(order, "close", world.agent)
    frozen.advance(hours=1)
    act(order, "reopen", world.leader, reason="举报人再次来电")
    assert clocks_of(order, "reply") == [(0, ClockStatus.MET), (1, ClockStatus.RUNNING)]
    assert clocks_of(order, "review") == [(0, ClockStatus.MET), (1, ClockStatus.RUNNING)]
    assert clocks_of(order, "callback") == []


@pytest.mark.rule("D6g", "D1c", "D0a")
def test_a_reopen_keeps_a_limit_still_running_and_restarts_the_callback_a_reporter_wants(world, frozen):
    callback_from_the_call_and_a_whole_life_limit(world)
    order = report(world)
    assert clocks_of(order, "callback") == [(0, ClockStatus.RUNNING)]
    finish(order, world.discipline_user, world.agent)
    act(order, "callback", world.agent, outcome="dissatisfied", note="举报人不满意处理结果")
    frozen.advance(hours=1)
    act(order, "reopen", world.leader, reason="回访不满意，重新处理")
    assert clocks_of(order, "review") == [(0, ClockStatus.RUNNING)]  # the whole-life limit runs on
    assert clocks_of(order, "callback") == [(0, ClockStatus.MET), (1, ClockStatus.RUNNING)]
    assert clock(order, "callback").started_at == frozen()


# --- D2f: the center's limits are the owner's --------------------------------------------

@pytest.mark.rule("D2f", "D5b")
def test_a_center_limit_started_after_a_handover_is_addressed_to_the_new_owners_unit(world, frozen):
    order = repair(world)
    services.hand_over(order=order.number, actor=world.agent, to_user=world.county_user, reason="县公司主任接手督办")
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(order, action, st)
    callback = clock(order, "callback")  # the center's 24 h, owed by the owner (county), not the scope (center)
    assert (callback.responsible_unit, order.scope_unit) == (world.county, world.center)
    frozen.advance(hours=24)
    sweep_until_idle()
    notice = Notice.objects.get(order=order, kind=NoticeKind.SUPERVISION, metric="callback")
    assert (notice.unit, notice.supervisor_unit) == (world.county, world.city)


# --- D0a, D5c: what an administrator sets on a rule reaches the order's clocks -------------

@pytest.mark.rule("D5c", "D0a")
def test_a_rules_own_escalation_levels_bound_the_escalations_of_its_orders(world, frozen):
    def one_escalation(rules, draft):
        rules["accept"].escalation_levels = 1
        catalog.save_rule(rule=rules["accept"], user=world.admin)
    policy(world, "repair", one_escalation)
    order = repair(world)
    assert clock(order, "accept").escalation_levels == 1
    frozen.advance(hours=2)  # the 3-minute limit, breached many times over
    sweep_until_idle()
    levels = Notice.objects.filter(order=order, metric="accept", kind=NoticeKind.SUPERVISION).values_list("level", flat=True)
    assert sorted(levels) == [1, 2]  # the notice and one escalation, not the default two


@pytest.mark.rule("D1j", "D1a", "D0a")
def test_a_rule_for_a_priority_times_the_orders_of_that_priority_only(world, frozen):
    def urgent_arrival(rules, draft):
        catalog.save_rule(rule=TimeLimitRule(
            version=draft, business_type=rules["accept"].business_type, priority="urgent", metric="arrival", amount=30,
            unit="minutes", start_on="dispatch", stop_on="arrive,cancel,merge", responsible="unit"), user=world.admin)
    policy(world, "repair", urgent_arrival)
    urgent = repair(world, priority="urgent")  # urban: the area's 45 minutes give way to the priority's 30
    normal = repair(world, priority="normal", customer_id=world.customers["li"].id)
    assert clock(urgent, "arrival").due_at - urgent.dispatched_at == dt.timedelta(minutes=30)
    assert clock(normal, "arrival").due_at - normal.dispatched_at == dt.timedelta(minutes=90)  # rural


# --- D5b: who a limit started at intake is addressed to --------------------------------------

@pytest.mark.rule("D5b", "D4a", "D3.2a")
def test_limits_started_at_intake_follow_the_order_to_the_unit_it_is_dispatched_to(world, frozen):
    order = repair(world)  # restoration runs from the call, the station's once dispatched
    assert clock(order, "restoration").responsible_unit == world.stations[0]
    held = complaint(world, dispatch=False)  # contact and reply run from the call too
    assert {clock(held, m).responsible_unit for m in ("contact", "reply")} == {world.center}
    act(held, "dispatch", world.agent)
    assert {clock(held, m).responsible_unit for m in ("contact", "reply")} == {world.marketing}
    at_once = complaint(world, customer_id=world.customers["wang"].id)
    assert {clock(at_once, m).responsible_unit for m in ("contact", "reply")} == {world.marketing}
    act(order, "receive", world.station_users[0])
    act(order, "arrive", world.station_users[0])
    frozen.advance(hours=3)  # urban restoration: 3 h
    sweep_until_idle()
    notice = Notice.objects.get(order=order, metric="restoration", kind=NoticeKind.SUPERVISION)
    assert (notice.unit, notice.supervisor_unit) == (world.stations[0], world.county)


# --- D5b, D2c: a stop that closes the order --------------------------------------------------

@pytest.mark.rule("D5b", "D5e")
def test_a_late_cancel_raises_what_each_of_its_running_limits_missed(world, frozen):
    order = repair(world)
    frozen.advance(minutes=50)  # no sweep ran: accept (3 min) and arrival (45 min) both passed unseen
    act(order, "cancel", world.agent, reason="客户来电取消")
    raised = set(Notice.objects.filter(order=order, kind=NoticeKind.SUPERVISION, level=1).values_list("metric", flat=True))
    assert raised == {"accept", "arrival"}
    assert set(order.events.filter(kind="supervision").values_list("payload__metric", flat=True)) >= {"accept", "arrival"}


@pytest.mark.rule("D2c", "D0a")
def test_cancelling_an_order_stops_a_limit_whose_rule_does_not_name_the_cancel(world, frozen):
    def contact_not_stopped_by_cancel(rules, draft):
        rules["contact"].stop_on = "contact,reply"
        catalog.save_rule(rule=rules["contact"], user=world.admin)
    policy(world, "complaint", contact_not_stopped_by_cancel)
    order = complaint(world)
    frozen.advance(hours=1)
    act(order, "cancel", world.agent, reason="客户撤诉")
    assert Clock.objects.filter(order=order, status=ClockStatus.RUNNING).count() == 0
    contact = clock(order, "contact")
    assert (contact.stopped_at, contact.stopped_by) == (frozen(), "cancel")
    frozen.advance(hours=24)
    sweep_until_idle()
    assert not Notice.objects.filter(order=order).exists()


@pytest.mark.rule("D0a", "D3.4c")
def test_a_repeating_limit_starts_again_on_its_event_while_another_limit_of_that_event_runs_on(world, frozen):
    def review_each_reply(rules, draft):
        catalog.save_rule(rule=TimeLimitRule(
            version=draft, business_type=rules["accept"].business_type, metric="review", amount=2, unit="hours",
            start_on="reply", stop_on="review,rework,cancel", responsible="center", repeat=True), user=world.admin)
    policy(world, "repair", review_each_reply)
    order = repair(world)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(order, action, st)
    act(order, "rework", world.agent, reason="处理记录不全")
    frozen.advance(minutes=30)
    for action in ("arrive", "resolve", "reply"):
        act(order, action, st)
    # The callback owed since the first reply runs on (kept, D2g); the review starts again.
    assert clocks_of(order, "callback") == [(0, ClockStatus.RUNNING)]
    assert clocks_of(order, "review") == [(0, ClockStatus.MET), (1, ClockStatus.RUNNING)]
    assert clock(order, "review").started_at == frozen()
