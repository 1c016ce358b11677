"""The engine times subjects that are not work orders (issue 8: clocks on
any subject) with the same rules: warning share, notice to the unit and its
supervisor, escalation up the tree, catch-up when a clock stops after its
due time, exactly once, every notice in the subject's history."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from hotline.core import clock
from hotline.timelimits import history
from hotline.timelimits import services as engine
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders import services as orders

pytestmark = pytest.mark.django_db

SUBJECT = "partner_receipt"


@pytest.fixture
def written():
    """The subject's history: what the engine hands the subject type's writer."""
    entries = []

    def writer(entries_):
        entries.extend(entries_)

    history.register(SUBJECT, writer)
    yield entries
    history.register(SUBJECT, lambda entries: None)


def start(world, *, subject_id=7, minutes=10, **kw):
    now = clock.now()
    return engine.start(subject_type=SUBJECT, subject_id=subject_id, metric="receipt", at=now,
                        due_at=now + dt.timedelta(minutes=minutes), responsible_unit_id=world.stations[0].id, **kw)


def notices(subject_id=7):
    return list(engine.notices_of(SUBJECT, subject_id).order_by("kind", "level").values_list("kind", "level", "unit__name"))


@pytest.mark.rule("D5a", "D5b", "D5c", "D5e")
def test_a_subject_that_is_not_an_order_is_warned_noticed_and_escalated(world, frozen, written):
    clk = start(world, escalation_seconds=600)
    assert clk.order_id is None and clk.rule_id is None
    frozen.advance(seconds=479)
    engine.sweep_until_idle()
    assert notices() == []
    frozen.advance(seconds=1)  # 80 % of 10 min
    engine.sweep_until_idle()
    assert notices() == [("warning", 0, world.stations[0].name)]
    frozen.advance(minutes=2)  # at the limit: to the unit, its supervisor above it
    engine.sweep_until_idle()
    sup = Notice.objects.get(subject_type=SUBJECT, subject_id=7, kind=NoticeKind.SUPERVISION, level=1)
    assert (sup.unit, sup.supervisor_unit) == (world.stations[0], world.county)
    frozen.advance(minutes=10)  # a second breach: one level up
    engine.sweep_until_idle()
    esc = Notice.objects.get(subject_type=SUBJECT, subject_id=7, kind=NoticeKind.SUPERVISION, level=2)
    assert esc.unit == world.county
    engine.sweep_until_idle()  # exactly once, however often the sweep comes round
    assert Notice.objects.filter(subject_type=SUBJECT, subject_id=7).count() == 3
    assert [(e.subject_id, e.kind) for e in written] == [(7, "warning"), (7, "supervision"), (7, "escalation")]
    assert written[1].payload["unit_id"] == world.stations[0].id


@pytest.mark.rule("D5b", "D5c")
def test_a_late_stop_raises_what_fell_due_before_it_once_and_is_breached(world, frozen, written):
    start(world, escalation_seconds=600)
    frozen.advance(minutes=25)  # the worker was down: warning, notice and an escalation all fell due
    [stopped] = engine.stop(subject_type=SUBJECT, subject_id=7, at=clock.now(), kind="received")
    assert stopped.status == ClockStatus.BREACHED and stopped.overdue_seconds == 15 * 60
    assert [(k, lvl) for k, lvl, _u in notices()] == [("supervision", 1), ("supervision", 2), ("warning", 0)]
    assert [e.kind for e in written] == ["warning", "supervision", "escalation"]
    engine.sweep_until_idle()
    assert Notice.objects.filter(subject_type=SUBJECT).count() == 3
    assert Clock.objects.get(pk=stopped.pk).next_check_at is None


@pytest.mark.rule("D5b")
def test_a_stop_exactly_at_the_due_time_is_met_without_a_notice(world, frozen, written):
    start(world)
    frozen.advance(minutes=10)
    [stopped] = engine.stop(subject_type=SUBJECT, subject_id=7, at=clock.now(), kind="received")
    assert stopped.status == ClockStatus.MET
    assert [k for k, _l, _u in notices()] == ["warning"]


def test_cancel_counts_neither_way_and_a_restart_is_a_new_round(world, frozen, written):
    first = start(world)
    assert start(world).pk == first.pk  # a repeated start is not a second limit
    [stopped] = engine.stop(subject_type=SUBJECT, subject_id=7, at=clock.now(), kind="withdrawn", cancel=True)
    assert stopped.status == ClockStatus.CANCELLED
    again = start(world)
    assert (again.round, again.status) == (1, ClockStatus.RUNNING)
    assert list(engine.clocks_of(SUBJECT, 7).values_list("round", flat=True)) == [0, 1]


def test_the_database_refuses_a_second_clock_of_the_same_round(world, frozen, written):
    clk = start(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Clock.objects.create(subject_type=SUBJECT, subject_id=7, metric="receipt", round=clk.round,
                             started_at=clk.started_at, warn_at=clk.warn_at, due_at=clk.due_at)


def test_an_order_key_must_name_the_clocks_subject(world, frozen):
    order = orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        fault_scope="company"))
    clk = Clock.objects.filter(order=order).first()
    assert (clk.subject_type, clk.subject_id) == ("work_order", order.id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Clock.objects.filter(pk=clk.pk).update(subject_id=order.id + 1)


@pytest.mark.rule("D5b")
def test_orders_and_other_subjects_share_one_sweep(world, frozen, written):
    order = orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        fault_scope="company"))
    start(world, minutes=3)
    frozen.advance(minutes=3)
    result = engine.sweep_until_idle(batch=1)  # one subject per transaction
    assert result.notices >= 2
    assert Notice.objects.filter(order=order, kind=NoticeKind.SUPERVISION, metric="accept").count() == 1
    assert Notice.objects.filter(subject_type=SUBJECT, kind=NoticeKind.SUPERVISION).count() == 1
    assert order.events.filter(kind="supervision").count() == 1


def test_supervision_history_is_never_dropped_silently(world, frozen):
    now = clock.now()
    engine.start(subject_type="nobody_writes_this", subject_id=1, metric="x", at=now, due_at=now + dt.timedelta(minutes=1))
    frozen.advance(minutes=2)
    with pytest.raises(RuntimeError, match="no history writer"):
        engine.sweep_until_idle()


def test_work_order_clocks_are_started_by_their_policy_not_by_hand(world):
    now = clock.now()
    with pytest.raises(ValueError):
        engine.start(subject_type="work_order", subject_id=1, metric="accept", at=now, due_at=now)
