"""Engine rules on subjects that are not work orders which mutation testing
(scripts/mutation, docs/testing.md) showed no test checked: a stop touches
only its subject's running clocks, the reads of one subject's clocks and
notices, and a subject type's claimer taking part in the sweep until it is
withdrawn."""

import datetime as dt

import pytest

from hotline.core import clock
from hotline.timelimits import history
from hotline.timelimits import services as engine
from hotline.timelimits.models import Clock, ClockStatus, NoticeKind
from hotline.workorders import services as orders

pytestmark = pytest.mark.django_db

SUBJECT = "partner_receipt"
OTHER = "expert_escalation"


@pytest.fixture
def written():
    entries = []
    for subject_type in (SUBJECT, OTHER):
        history.register(subject_type, entries.extend)
    yield entries
    for subject_type in (SUBJECT, OTHER):
        history.register(subject_type, lambda entries: None)


def start(world, subject_id, *, subject_type=SUBJECT, metric="receipt", minutes=10):
    now = clock.now()
    return engine.start(subject_type=subject_type, subject_id=subject_id, metric=metric, at=now,
                        due_at=now + dt.timedelta(minutes=minutes), responsible_unit_id=world.stations[0].id)


@pytest.mark.rule("D5b")
def test_a_stop_stops_only_its_subjects_running_clocks(world, frozen, written):
    mine, theirs, other_type = start(world, 7), start(world, 8), start(world, 7, subject_type=OTHER)
    frozen.advance(minutes=5)
    stopped_at = clock.now()
    assert [c.pk for c in engine.stop(subject_type=SUBJECT, subject_id=7, at=stopped_at, kind="received")] == [mine.pk]
    statuses = dict(Clock.objects.values_list("pk", "status"))
    assert statuses == {mine.pk: ClockStatus.MET, theirs.pk: ClockStatus.RUNNING, other_type.pk: ClockStatus.RUNNING}
    # A second stop finds nothing running: the first stop's time and verdict stand.
    frozen.advance(minutes=20)
    assert engine.stop(subject_type=SUBJECT, subject_id=7, at=clock.now(), kind="received") == []
    again = Clock.objects.get(pk=mine.pk)
    assert (again.stopped_at, again.status, again.elapsed_seconds) == (stopped_at, ClockStatus.MET, 300)


@pytest.mark.rule("D5e")
def test_a_subjects_clocks_and_notices_are_its_own_in_metric_and_round_order(world, frozen, written):
    start(world, 7, metric="receipt")
    engine.stop(subject_type=SUBJECT, subject_id=7, at=clock.now(), kind="x", cancel=True)
    start(world, 7, metric="receipt")
    start(world, 7, metric="answer")
    start(world, 8, metric="aaa")
    start(world, 7, subject_type=OTHER, metric="aaa")
    assert list(engine.clocks_of(SUBJECT, 7).values_list("metric", "round")) == [
        ("answer", 0), ("receipt", 0), ("receipt", 1)]
    start(world, 9, metric="aaa")
    engine.stop(subject_type=SUBJECT, subject_id=9, at=clock.now(), kind="x", cancel=True)
    start(world, 9, metric="aaa")
    start(world, 9, metric="zzz")
    assert list(engine.clocks_of(SUBJECT, 9).values_list("metric", "round")) == [("aaa", 0), ("aaa", 1), ("zzz", 0)]
    order = orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        fault_scope="company"))
    frozen.advance(minutes=10)
    engine.sweep_until_idle()
    mine = engine.notices_of(SUBJECT, 7)
    assert {(n.subject_type, n.subject_id) for n in mine} == {(SUBJECT, 7)}
    assert sorted(mine.values_list("metric", "kind")) == [
        ("answer", NoticeKind.SUPERVISION), ("answer", NoticeKind.WARNING),
        ("receipt", NoticeKind.SUPERVISION), ("receipt", NoticeKind.WARNING)]
    assert set(engine.notices_of(OTHER, 7).values_list("subject_type", "subject_id")) == {(OTHER, 7)}
    of_order = engine.notices_of("work_order", order.pk)
    assert of_order.exists() and set(of_order.values_list("order_id", flat=True)) == {order.pk}


@pytest.mark.rule("D5b")
def test_a_registered_claimer_picks_the_subjects_the_sweep_handles_until_withdrawn(world, frozen, written):
    asked = []

    def claim(ids, limit):
        asked.append(sorted(ids))
        return [i for i in ids if i != 8][:limit]  # subject 8 is held elsewhere

    start(world, 7), start(world, 8)
    engine.register_subject(SUBJECT, claim=claim)
    try:
        frozen.advance(minutes=8)
        engine.sweep_once()
        assert asked == [[7, 8]]
        warned = set(engine.notices_of(SUBJECT, 7).values_list("kind", flat=True))
        assert warned == {NoticeKind.WARNING} and not engine.notices_of(SUBJECT, 8).exists()
    finally:
        engine.register_subject(SUBJECT)
    engine.register_subject("never_registered")  # withdrawing what was never there is no error
    engine.sweep_once()  # withdrawn: the clocks are taken directly
    assert asked == [[7, 8]] and engine.notices_of(SUBJECT, 8).exists()


@pytest.mark.rule("D5b")
def test_subjects_all_held_elsewhere_leave_the_round_to_the_other_types(world, frozen, written):
    start(world, 7, minutes=10)
    start(world, 7, subject_type=OTHER, minutes=11)  # due after the first: later in the window
    engine.register_subject(SUBJECT, claim=lambda ids, limit: [])  # every one held by another worker
    try:
        frozen.advance(minutes=9)
        r = engine.sweep_once()
        assert (r.clocks, r.warnings, r.full) == (1, 1, False)
        assert engine.notices_of(OTHER, 7).exists() and not engine.notices_of(SUBJECT, 7).exists()
        assert engine.sweep_once() == engine.SweepResult()  # nothing to take: not "full", no rush to come back
    finally:
        engine.register_subject(SUBJECT)


@pytest.mark.rule("D5b", "D5c")
def test_a_late_stop_of_several_clocks_raises_what_each_of_them_missed(world, frozen, written):
    start(world, 7, metric="receipt")
    start(world, 7, metric="answer", minutes=20)
    frozen.advance(minutes=25)  # both past their limits, the worker never came round
    stopped = engine.stop(subject_type=SUBJECT, subject_id=7, at=clock.now(), kind="received")
    assert {c.metric: c.status for c in stopped} == {"receipt": ClockStatus.BREACHED, "answer": ClockStatus.BREACHED}
    raised = set(engine.notices_of(SUBJECT, 7).filter(level__lte=1).values_list("metric", "kind", "level"))
    assert raised == {("receipt", NoticeKind.WARNING, 0), ("receipt", NoticeKind.SUPERVISION, 1),
                      ("answer", NoticeKind.WARNING, 0), ("answer", NoticeKind.SUPERVISION, 1)}


@pytest.mark.rule("D5c")
def test_a_subject_escalates_twice_by_default_one_given_gap_apart(world, frozen, written):
    now = clock.now()
    engine.start(subject_type=SUBJECT, subject_id=7, metric="receipt", at=now, due_at=now + dt.timedelta(minutes=10),
                 responsible_unit_id=world.stations[0].id, escalation_seconds=300)
    frozen.advance(minutes=14, seconds=59)
    engine.sweep_until_idle()
    assert sorted(engine.notices_of(SUBJECT, 7).filter(kind=NoticeKind.SUPERVISION).values_list("level", flat=True)) == [1]
    frozen.advance(seconds=1)  # one 5-minute gap after the limit, not the limit's own 10 minutes
    engine.sweep_until_idle()
    frozen.advance(hours=5)
    engine.sweep_until_idle()
    assert sorted(engine.notices_of(SUBJECT, 7).filter(kind=NoticeKind.SUPERVISION).values_list("level", "due_at")) == [
        (1, now + dt.timedelta(minutes=10)), (2, now + dt.timedelta(minutes=15)), (3, now + dt.timedelta(minutes=20))]


@pytest.mark.rule("D5e")
def test_an_orders_clocks_are_read_by_its_key(world, frozen):
    order = orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        fault_scope="company"))
    clocks = engine.clocks_of("work_order", order.pk)
    assert clocks.exists() and set(clocks.values_list("order_id", flat=True)) == {order.pk}


def test_an_answer_of_nothing_is_refused(world, frozen):
    from hotline.timelimits.models import Notice

    order = orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
        fault_scope="company"))
    frozen.advance(minutes=3)
    engine.sweep_until_idle()
    notice = Notice.objects.filter(order=order, kind=NoticeKind.SUPERVISION).first()
    for text in (None, "", "   "):
        with pytest.raises(engine.NoticeError):
            engine.answer_notice(notice=notice, user=world.station_users[0], text=text)
    assert Notice.objects.get(pk=notice.pk).answered_at is None


@pytest.mark.rule("D5a", "D5c")
def test_a_subjects_own_warning_share_and_escalation_levels_are_kept(world, frozen, written):
    now = clock.now()
    engine.start(subject_type=SUBJECT, subject_id=7, metric="receipt", at=now, due_at=now + dt.timedelta(minutes=10),
                 responsible_unit_id=world.stations[0].id, warn_share=0.5, escalation_levels=1)
    frozen.advance(minutes=5)  # half the span
    engine.sweep_until_idle()
    assert list(engine.notices_of(SUBJECT, 7).values_list("kind", "due_at")) == [
        (NoticeKind.WARNING, now + dt.timedelta(minutes=5))]
    frozen.advance(hours=5)
    engine.sweep_until_idle()
    assert sorted(engine.notices_of(SUBJECT, 7).filter(kind=NoticeKind.SUPERVISION).values_list("level", flat=True)) == [
        1, 2]  # the notice and one escalation


@pytest.mark.rule("D5b")
def test_a_sweep_round_takes_no_more_subjects_than_its_batch_and_says_more_are_waiting(world, frozen, written):
    start(world, 7), start(world, 8), start(world, 7, subject_type=OTHER)
    frozen.advance(minutes=8)  # three warnings due, on three subjects (two share an id)
    rounds = []
    for _ in range(3):
        r = engine.sweep_once(batch=1)
        rounds.append((r.clocks, r.warnings, r.full))
    assert rounds == [(1, 1, True), (1, 1, True), (1, 1, True)]  # a full batch: come back at once
    assert engine.sweep_once(batch=1).clocks == 0
    assert Clock.objects.filter(stage=engine.STAGE_WARNED).count() == 3


def _addressed(subject_id):
    return list(engine.notices_of(SUBJECT, subject_id).order_by("kind", "level").values_list(
        "kind", "level", "unit__code", "supervisor_unit__code"))


@pytest.mark.rule("D5a", "D5b", "D5c")
def test_escalations_past_the_top_of_the_tree_stay_with_the_top_unit(world, frozen, written):
    now = clock.now()
    engine.start(subject_type=SUBJECT, subject_id=7, metric="receipt", at=now, due_at=now + dt.timedelta(minutes=10),
                 responsible_unit_id=world.stations[0].id, escalation_levels=5)
    frozen.advance(hours=5)
    engine.sweep_until_idle()
    assert _addressed(7) == [
        ("supervision", 1, "t-st0", "t-county"), ("supervision", 2, "t-county", "t-city"),
        ("supervision", 3, "t-city", "t-prov"), ("supervision", 4, "t-prov", None), ("supervision", 5, "t-prov", None),
        ("supervision", 6, "t-prov", None),
        ("warning", 0, "t-st0", "t-county")]  # the warning names the unit's supervisor as well


@pytest.mark.rule("D5a", "D5b", "D5e")
def test_a_clock_held_at_the_root_or_by_no_unit_is_noticed_all_the_same(world, frozen, written):
    now = clock.now()
    for subject_id, unit in ((7, world.province.id), (8, None)):
        engine.start(subject_type=SUBJECT, subject_id=subject_id, metric="receipt", at=now,
                     due_at=now + dt.timedelta(minutes=10), responsible_unit_id=unit)
    frozen.advance(minutes=30)
    engine.sweep_until_idle()
    assert _addressed(7) == [("supervision", 1, "t-prov", None), ("supervision", 2, "t-prov", None),
                             ("supervision", 3, "t-prov", None), ("warning", 0, "t-prov", None)]
    assert _addressed(8) == [("supervision", 1, None, None), ("supervision", 2, None, None),
                             ("supervision", 3, None, None), ("warning", 0, None, None)]
    unaddressed = [e.payload for e in written if e.subject_id == 8]
    assert len(unaddressed) == 4 and all((p["unit"], p["unit_id"], p["supervisor_unit"]) == ("", None, "")
                                         for p in unaddressed)
    at_root = [e.payload for e in written if e.subject_id == 7]
    assert all((p["unit"], p["supervisor_unit"]) == (world.province.name, "") for p in at_root)


@pytest.mark.rule("D5a")
def test_a_sweep_before_anything_is_due_handles_nothing(world, frozen, written):
    start(world, 7)
    frozen.advance(minutes=7, seconds=59)  # the warning falls at 8 minutes
    assert engine.sweep_once() == engine.SweepResult()
    assert engine.sweep_until_idle() == engine.SweepResult()
    assert Clock.objects.get().next_check_at == clock.now() + dt.timedelta(seconds=1)
    frozen.advance(seconds=1)
    assert engine.sweep_once() == engine.SweepResult(clocks=1, warnings=1, notices=0, full=False)


@pytest.mark.rule("D5a")
def test_one_round_takes_every_due_clock_of_every_type_that_fits(world, frozen, written):
    start(world, 7), start(world, 8), start(world, 7, subject_type=OTHER)
    frozen.advance(minutes=8)
    assert engine.sweep_once() == engine.SweepResult(clocks=3, warnings=3, notices=0, full=False)


@pytest.mark.rule("D5b", "D5e")
def test_a_notice_raised_already_is_skipped_and_the_rest_still_go_in(world, frozen, written):
    from hotline.timelimits.models import Notice

    clk = start(world, 7)
    frozen.advance(minutes=8)
    engine.sweep_until_idle()  # the warning
    warning = Notice.objects.get()
    written.clear()

    def copy(kind, level):
        return Notice(clock=clk, subject_type=SUBJECT, subject_id=7, kind=kind, level=level, metric="receipt",
                      unit=world.stations[0], due_at=clk.due_at, created_at=clock.now())

    again, first, second = copy(NoticeKind.WARNING, 0), copy(NoticeKind.SUPERVISION, 1), copy(NoticeKind.SUPERVISION, 2)
    created = engine.raise_notices([again, first, second])  # as if another worker had raised the warning
    assert [n.level for n in created] == [1, 2] and all(n.pk for n in created)
    assert sorted(Notice.objects.values_list("kind", "level")) == [
        (NoticeKind.SUPERVISION, 1), (NoticeKind.SUPERVISION, 2), (NoticeKind.WARNING, 0)]
    assert Notice.objects.get(kind=NoticeKind.WARNING).pk == warning.pk
    assert [(e.kind, e.payload["level"]) for e in written] == [("supervision", 1), ("escalation", 2)]


def test_work_order_clocks_by_hand_are_refused_with_where_to_go_instead(world):
    now = clock.now()
    with pytest.raises(ValueError, match=r"^work-order clocks follow the order's policy: use workorders\.clocks$"):
        engine.start(subject_type="work_order", subject_id=1, metric="accept", at=now, due_at=now)
    with pytest.raises(ValueError, match=r"^work-order clocks stop on the order's events: use workorders\.clocks$"):
        engine.stop(subject_type="work_order", subject_id=1, at=now, kind="receive")


@pytest.mark.rule("N4a", "D5b")
def test_a_subjects_clocks_and_notices_carry_its_center_and_holder_and_follow_it_to_another_unit(world, frozen, written):
    from hotline.timelimits.models import Notice

    now = clock.now()
    due = now + dt.timedelta(minutes=10)
    center, (first, second) = world.center, world.stations[:2]
    unheld = engine.start(subject_type=SUBJECT, subject_id=7, metric="receipt", at=now, due_at=due,
                          responsible_unit_id=first.id, scope_unit_id=center.id)  # not held by a unit yet
    held = engine.start(subject_type=SUBJECT, subject_id=7, metric="answer", at=now, due_at=due,
                        responsible_unit_id=first.id, scope_unit_id=center.id, holder_unit_id=second.id)
    engine.start(subject_type=SUBJECT, subject_id=8, metric="receipt", at=now, due_at=due,
                 responsible_unit_id=first.id, holder_unit_id=second.id)
    engine.start(subject_type=OTHER, subject_id=7, metric="receipt", at=now, due_at=due, responsible_unit_id=first.id)
    assert [(c.scope_unit_id, c.holder_unit_id) for c in Clock.objects.filter(pk__in=[unheld.pk, held.pk])
            .order_by("metric")] == [(center.id, second.id), (center.id, None)]
    frozen.advance(minutes=10)
    engine.sweep_until_idle()
    notices = Notice.objects.filter(subject_type=SUBJECT, subject_id=7)
    assert {(n.metric, n.scope_unit_id, n.holder_unit_id) for n in notices} == {
        ("receipt", center.id, None), ("answer", center.id, second.id)}

    def holders(subject_type=SUBJECT, subject_id=7):
        return (set(Clock.objects.filter(subject_type=subject_type, subject_id=subject_id).values_list("holder_unit_id", flat=True)),
                set(Notice.objects.filter(subject_type=subject_type, subject_id=subject_id).values_list("holder_unit_id", flat=True)))

    engine.move_subject(subject_type=SUBJECT, subject_id=7, holder_unit_id=first.id)
    assert holders() == ({first.id}, {first.id})  # the unheld clock and its notices too
    assert holders(subject_id=8) == ({second.id}, {second.id})  # another subject's stay
    assert holders(OTHER) == ({None}, {None})
    engine.move_subject(subject_type=SUBJECT, subject_id=7, holder_unit_id=second.id)
    assert holders() == ({second.id}, {second.id})


@pytest.mark.rule("D5e")
def test_an_answer_takes_the_subjects_lock_first_when_its_type_registered_one(world, frozen, written):
    from hotline.timelimits.models import Notice

    start(world, 7)
    start(world, 7, subject_type=OTHER)
    frozen.advance(minutes=10)
    engine.sweep_until_idle()
    locked = []
    engine.register_subject(SUBJECT, lock=locked.append)
    try:
        mine = Notice.objects.get(subject_type=SUBJECT, subject_id=7, kind=NoticeKind.SUPERVISION)
        engine.answer_notice(notice=mine, user=world.station_users[0], text="已处理")
        assert locked == [7]
    finally:
        engine.register_subject(SUBJECT)
    # A type without a lock of its own: the notice's row lock alone.
    theirs = Notice.objects.get(subject_type=OTHER, subject_id=7, kind=NoticeKind.SUPERVISION)
    assert engine.answer_notice(notice=theirs, user=world.station_users[0], text="已处理").answer == "已处理"
    assert locked == [7]


@pytest.mark.rule("D5f")
def test_a_clock_stopped_as_it_starts_took_no_time_and_one_stopped_by_a_cancel_is_not_counted(world, frozen, written):
    at_once = start(world, 7)
    engine.stop(subject_type=SUBJECT, subject_id=7, at=at_once.started_at, kind="received")
    at_once.refresh_from_db()
    assert (at_once.status, at_once.elapsed_seconds, at_once.overdue_seconds) == (ClockStatus.MET, 0, 0)
    cancelled = start(world, 8)
    frozen.advance(minutes=20)  # past the limit, yet a cancel is no breach
    engine.stop(subject_type=SUBJECT, subject_id=8, at=clock.now(), kind="cancel")
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.elapsed_seconds, cancelled.overdue_seconds) == (ClockStatus.CANCELLED, 1200, 600)


@pytest.mark.rule("D5a", "D5b")
def test_a_clock_started_past_its_due_time_warns_and_is_noticed_as_of_its_due_time(world, frozen, written):
    from hotline.timelimits.models import Notice

    now = clock.now()
    due = now - dt.timedelta(minutes=10)  # a limit counted back from a planned time, already over
    clk = engine.start(subject_type=SUBJECT, subject_id=7, metric="receipt", at=now, due_at=due,
                       responsible_unit_id=world.stations[0].id)
    assert (clk.warn_at, clk.next_check_at) == (due, due)
    engine.sweep_until_idle()
    assert sorted(Notice.objects.filter(subject_type=SUBJECT, subject_id=7, level__lte=1)
                  .values_list("kind", "level", "due_at")) == [
        (NoticeKind.SUPERVISION, 1, due), (NoticeKind.WARNING, 0, due)]


@pytest.mark.rule("D5a", "D5c")
def test_a_short_clock_warns_at_its_share_and_escalates_no_sooner_than_a_minute_after_its_breach(world, frozen, written):
    from hotline.timelimits.models import Notice

    now = clock.now()
    second = engine.start(subject_type=SUBJECT, subject_id=8, metric="receipt", at=now,
                          due_at=now + dt.timedelta(seconds=1), responsible_unit_id=world.stations[0].id)
    assert second.warn_at == now + dt.timedelta(milliseconds=800)  # 80 % of even a one-second span
    short = engine.start(subject_type=SUBJECT, subject_id=7, metric="receipt", at=now,
                         due_at=now + dt.timedelta(seconds=30), responsible_unit_id=world.stations[0].id)
    assert short.escalation_seconds == 60

    def levels():
        return sorted(Notice.objects.filter(subject_type=SUBJECT, subject_id=7, kind=NoticeKind.SUPERVISION)
                      .values_list("level", flat=True))
    frozen.advance(seconds=30 + 59)
    engine.sweep_until_idle()
    assert levels() == [1]
    frozen.advance(seconds=1)  # a minute after the breach, not the 30 s span
    engine.sweep_until_idle()
    assert levels() == [1, 2]
