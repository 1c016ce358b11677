"""Rules of the time-limit engine that mutation testing (scripts/mutation)
showed no test checked: escalation timing and its last level, what a notice's
event says, answers and their errors, reminders' supervisors, the supervision
rate's counting, and what a sweep reports."""

import datetime as dt

import pytest

from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.timelimits.services import NoticeError, answer_notice, supervision_rate, sweep_once, sweep_until_idle
from hotline.testing import handled
from hotline.workorders import services
from hotline.workorders.models import WorkOrderEvent

pytestmark = pytest.mark.django_db


def repair(world, customer="zhang"):
    return services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="整片停电", customer_id=world.customers[customer].id,
        fault_scope="company"))


def levels(order, metric="accept"):
    return sorted(Notice.objects.filter(order=order, metric=metric, kind=NoticeKind.SUPERVISION)
                  .values_list("level", flat=True))


# --- D5c: escalations one gap apart, and no further than the policy's levels --------------

@pytest.mark.rule("D5c")
def test_each_later_breach_comes_one_more_gap_after_the_limit(world, frozen):
    order = repair(world)  # accept 3 min, gap = the limit's span, 2 escalation levels
    for minutes in (3, 3):
        frozen.advance(minutes=minutes)
        sweep_until_idle()
    assert levels(order) == [1, 2]
    frozen.advance(minutes=2, seconds=59)  # 8:59, not yet two gaps after the limit
    sweep_until_idle()
    assert levels(order) == [1, 2]
    frozen.advance(seconds=1)
    sweep_until_idle()
    third = Notice.objects.get(order=order, metric="accept", level=3)
    accept = Clock.objects.get(order=order, metric="accept")
    assert third.due_at == accept.due_at + 2 * (accept.due_at - accept.started_at)
    assert (third.unit, third.supervisor_unit) == (world.city, world.province)


@pytest.mark.rule("D5c", "N3f")
def test_a_long_downtime_escalates_no_further_than_the_policys_levels(world, frozen):
    order = repair(world)
    frozen.advance(hours=5)  # the worker was down far past every escalation
    sweep_until_idle()
    assert levels(order) == [1, 2, 3]  # the first notice and 2 escalations


@pytest.mark.rule("D5c", "D5b")
def test_a_late_stop_catches_up_no_further_than_the_policys_levels(world, frozen):
    order = repair(world)
    frozen.advance(minutes=30)
    services.transition(order=order, action="receive", actor=world.station_users[0])
    assert levels(order) == [1, 2, 3]
    assert Clock.objects.get(order=order, metric="accept").status == ClockStatus.BREACHED
    # Caught up or swept, each notice goes to the same units (D5b, D5c).
    addressed = Notice.objects.filter(order=order, metric="accept", kind=NoticeKind.SUPERVISION).order_by("level")
    assert [(n.unit, n.supervisor_unit) for n in addressed] == [
        (world.stations[0], world.county), (world.county, world.city), (world.city, world.province)]


# --- D5e: the event says who was addressed, above whom, and when it fell due ---------------

@pytest.mark.rule("D5e", "D5b")
def test_a_notices_event_names_its_unit_supervisor_and_due_time(world, frozen):
    order = repair(world)
    frozen.advance(minutes=3)
    sweep_until_idle()
    notice = Notice.objects.get(order=order, metric="accept", kind=NoticeKind.SUPERVISION, level=1)
    event = WorkOrderEvent.objects.get(order=order, kind="supervision", payload__notice=notice.pk)
    p = event.payload
    assert (p["notice_kind"], p["unit"], p["unit_id"], p["supervisor_unit"]) == (
        "supervision", world.stations[0].name, world.stations[0].id, world.county.name)
    assert p["due_at"] == notice.due_at.isoformat()
    warning = WorkOrderEvent.objects.get(order=order, kind="warning", payload__metric="accept")
    assert warning.payload["notice_kind"] == "warning" and warning.payload["unit"] == world.stations[0].name
    # Both belong to the accept limit's clock (D5a/D5b: the limit produces them).
    accept = Clock.objects.get(order=order, metric="accept")
    assert set(Notice.objects.filter(order=order, metric="accept").values_list("clock", flat=True)) == {accept.pk}


@pytest.mark.rule("D5e")
def test_an_answer_is_kept_with_who_gave_it_and_its_event_names_the_notice(world, frozen):
    order = repair(world)
    frozen.advance(minutes=3)
    sweep_until_idle()
    notice = Notice.objects.get(order=order, metric="accept", kind=NoticeKind.SUPERVISION, level=1)
    answer_notice(notice=notice, user=world.station_users[0], text="  抢修班已出发  ")
    notice.refresh_from_db()
    assert (notice.answer, notice.answered_by, notice.answered_at) == ("抢修班已出发", world.station_users[0], frozen())
    event = WorkOrderEvent.objects.get(order=order, kind="notice_answer")
    assert (event.payload["notice_kind"], event.payload["level"], event.payload["metric"]) == ("supervision", 1, "accept")


@pytest.mark.rule("N3g")
def test_answer_errors_name_the_field_in_the_users_language(world, frozen):
    order = repair(world)
    frozen.advance(minutes=3)
    sweep_until_idle()
    notice = Notice.objects.get(order=order, metric="accept", kind=NoticeKind.SUPERVISION, level=1)
    with pytest.raises(NoticeError) as empty:
        answer_notice(notice=notice, user=world.station_users[0], text="   ")
    assert (empty.value.field, empty.value.message) == ("answer", "请填写答复内容")
    warning = Notice.objects.get(order=order, metric="accept", kind=NoticeKind.WARNING)
    with pytest.raises(NoticeError) as warned:
        answer_notice(notice=warning, user=world.station_users[0], text="收到")
    assert (warned.value.field, warned.value.message) == ("answer", "预警无需答复")
    with pytest.raises(PermissionError) as foreign:
        answer_notice(notice=notice, user=world.station_users[1], text="不是我们的")
    assert str(foreign.value) == "该督办单不是发给您单位的"
    notice.refresh_from_db()
    assert notice.answered_at is None


# --- D5d: a reminder reaches the unit and its supervisor -----------------------------------

@pytest.mark.rule("D5d", "D5b")
def test_a_reminder_goes_to_the_unit_holding_the_order_and_its_supervisor(world, frozen):
    order = repair(world)
    reminder = services.remind(order=order.number, actor=world.agent, text="客户再次来电")
    assert (reminder.unit, reminder.supervisor_unit) == (world.stations[0], world.county)
    event = WorkOrderEvent.objects.get(order=order, kind="reminder")
    assert event.payload["supervisor_unit"] == world.county.name


# --- D5f: what counts as past a limit, and as supervised -----------------------------------

@pytest.mark.rule("D5f")
def test_limits_met_or_not_yet_due_are_not_past_the_limit(world, frozen):
    met = repair(world)
    services.transition(order=met, action="receive", actor=world.station_users[0])
    running = repair(world, customer="li")
    frozen.advance(minutes=2)  # running's accept clock is not yet due
    assert supervision_rate(clocks=Clock.objects.filter(metric="accept")) == {
        "past_limit": 0, "supervised": 0, "rate": None}
    frozen.advance(hours=1)  # met's limit is long past, but it was met
    rate = supervision_rate(clocks=Clock.objects.filter(metric="accept", order=met))
    assert rate == {"past_limit": 0, "supervised": 0, "rate": None}


@pytest.mark.rule("D5f")
def test_only_a_notice_on_the_clock_itself_counts_and_a_warning_is_not_one(world, frozen):
    noticed = repair(world)
    frozen.advance(minutes=3)
    sweep_until_idle()  # noticed: warning and notice
    warned = repair(world, customer="li")
    frozen.advance(seconds=144)
    sweep_until_idle()  # warned: its warning; noticed: nothing new before 6 min
    frozen.advance(seconds=37)  # warned is past its limit (by a second), not swept since
    accept = Clock.objects.filter(metric="accept")
    assert Notice.objects.filter(order=warned, kind=NoticeKind.WARNING).exists()
    assert supervision_rate(clocks=accept) == {"past_limit": 2, "supervised": 1, "rate": 0.5}
    assert supervision_rate(clocks=accept.filter(order=noticed))["rate"] == 1.0
    assert supervision_rate(clocks=accept.filter(order=warned))["rate"] == 0.0


# --- what a sweep reports (the worker logs it and runs again on a full batch) --------------

def test_a_sweep_reports_the_clocks_warnings_and_notices_of_all_its_rounds(world, frozen):
    repair(world)
    repair(world, customer="li")
    frozen.advance(seconds=144)  # both accept clocks warn, nothing else yet
    first = sweep_until_idle(batch=1)  # one order per round
    assert (first.clocks, first.warnings, first.notices) == (2, 2, 0)
    frozen.advance(seconds=36)
    second = sweep_until_idle(batch=1)
    assert (second.clocks, second.warnings, second.notices) == (2, 0, 2)
    assert sweep_until_idle().clocks == 0


def test_a_round_takes_whole_orders_whose_due_clocks_fill_the_batch(world, frozen):
    orders = [repair(world, customer=c) for c in ("zhang", "li", "wang", "zhang")]
    start = frozen()
    for i, order in enumerate(orders):  # every clock due now, the orders one second apart
        Clock.objects.filter(order=order, status=ClockStatus.RUNNING).update(next_check_at=start - dt.timedelta(seconds=10 - i))
    per_order = [Clock.objects.filter(order=o, status=ClockStatus.RUNNING).count() for o in orders]
    assert len(set(per_order)) == 1 and per_order[0] >= 2, per_order
    n = per_order[0]

    def swept():
        # An order swept has no clock left at the check time set above.
        return [o for i, o in enumerate(orders)
                if not Clock.objects.filter(order=o, next_check_at=start - dt.timedelta(seconds=10 - i)).exists()]

    # Which orders a round claims is the database's choice (SKIP LOCKED, no
    # order); how many whole orders it takes is the rule.
    first = sweep_once(batch=1)  # at least one whole order, however small the batch
    assert (first.clocks, first.full, len(swept())) == (n, True, 1)
    second = sweep_once(batch=2 * n - 1)  # a second order's clocks would not fit beside the first's
    assert (second.clocks, second.full, len(swept())) == (n, True, 2)
    third = sweep_once(batch=2 * n)  # two whole orders fill it exactly
    assert (third.clocks, third.full, len(swept())) == (2 * n, True, 4)
    assert sweep_once(batch=1).clocks == 0


@pytest.mark.rule("D5b", "N3f")
def test_a_sweep_at_a_given_time_raises_what_is_due_by_then(world, frozen):
    # The demo builder and catch-up runs sweep "as of" a time, not the clock's now.
    order = repair(world)
    result = sweep_until_idle(now=frozen() + dt.timedelta(minutes=3))
    assert levels(order) == [1] and result.notices >= 1
    assert Notice.objects.get(order=order, metric="accept", level=1).created_at == frozen() + dt.timedelta(minutes=3)


@pytest.mark.rule("N3g")
def test_long_answers_and_reminders_are_cut_to_what_their_fields_hold(world, frozen):
    order = repair(world)
    reminder = services.remind(order=order.number, actor=world.agent, text="催" * 400)
    assert Notice.objects.get(pk=reminder.pk).message == "催" * 300
    frozen.advance(minutes=3)
    sweep_until_idle()
    notice = Notice.objects.get(order=order, metric="accept", kind=NoticeKind.SUPERVISION, level=1)
    answer_notice(notice=notice, user=world.station_users[0], text="答" * 600)
    notice.refresh_from_db()
    assert notice.answer == "答" * 500


@pytest.mark.rule("D6a", "D2a")
def test_after_a_reopen_the_callback_clock_starts_at_the_new_completion_not_at_the_reopen(world, frozen):
    def act(order, action, actor, **payload):
        # A unit's reply carries the handling record its type asks.
        return services.transition(order=order.number, action=action, actor=actor, payload=handled(order, action, payload))

    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="complaint", sub_class="service", description="营业厅工作人员态度恶劣",
        customer_id=world.customers["li"].id))
    for action in ("receive", "reply"):
        act(order, action, world.marketing_user)
    act(order, "review", world.agent)
    act(order, "callback", world.agent, outcome="dissatisfied", note="客户不满意处理结果")
    act(order, "close", world.agent)
    frozen.advance(hours=1)
    act(order, "reopen", world.leader, reason="回访不满意，重新处理")
    assert not Clock.objects.filter(order=order, metric="callback", status=ClockStatus.RUNNING).exists()
    frozen.advance(hours=2)
    act(order, "reply", world.marketing_user)
    act(order, "review", world.agent)
    callback = Clock.objects.get(order=order, metric="callback", status=ClockStatus.RUNNING)
    assert callback.round == 1 and callback.started_at == frozen()
