"""The boards count from the copies of an order's scope that its clocks and
notices carry (``scope_unit``: the center that took it; ``holder_unit``: the
unit holding it now), not by joining the orders. These tests hold the
copies to the orders through every move, and the board's scope to the
orders' access policy for every user of two centers."""

import datetime as dt

import pytest

from hotline.testing import build_world, handled
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.timelimits.services import answer_notice, sweep_until_idle
from hotline.workorders import access, selectors, services
from hotline.workorders.models import State

pytestmark = pytest.mark.django_db


def repair(world, i=0, area="town0", **kw):
    """A repair in one of the world's areas (its own station): both worlds
    name their places alike, so the area, not the address, routes it."""
    data = dict(business_type="repair", sub_class="lv", description="家里停电了", customer_id=None,
                caller_phone=f"1380000{i:04d}", fault_scope="company", address="南街社区12号",
                service_area_id=world.areas[area].id)
    data.update(kw)
    return services.create_order(actor=kw.pop("actor", world.agent), intake=services.Intake(**data))


def act(order, action, actor, **payload):
    return services.transition(order=order.number, action=action, actor=actor, payload=handled(order, action, payload))


def copies_match_orders() -> int:
    """Every work-order clock and notice carries its order's center and
    holder; returns how many rows were compared."""
    n = 0
    for model in (Clock, Notice):
        for row in model.objects.filter(order__isnull=False).select_related("order"):
            assert (row.scope_unit_id, row.holder_unit_id) == (row.order.scope_unit_id, row.order.assigned_unit_id), (
                model.__name__, row.pk, row.order.number, row.order.state)
            n += 1
    return n


@pytest.fixture
def two_centers(frozen):
    return build_world(prefix="t"), build_world(prefix="u")


@pytest.mark.rule("N4a", "D5c")
def test_clocks_and_notices_carry_the_orders_center_and_holder_through_every_move(two_centers, frozen):
    t, u = two_centers
    moved = repair(t)  # to station 0
    kept = repair(t, 1, area="town1")  # station 1
    across = repair(t, 2)
    other = repair(u, 3)
    assert copies_match_orders() > 0  # as created: the dispatch chose the holder after the clocks started
    # A return within the accept limit, and its re-dispatch by the leader.
    act(other, "return", u.station_users[0], reason="outside_area", note="不属本所辖区")
    services.reassign(order=other.number, actor=u.leader, unit_id=u.stations[1].pk, reason="改派")
    frozen.advance(minutes=10)  # accept limits passed: warnings and supervision notices
    sweep_until_idle()
    services.remind(order=kept.number, actor=t.agent, text="请尽快接单")
    assert Notice.objects.filter(order=moved, kind=NoticeKind.SUPERVISION).exists()
    # A shift leader moves one to another station; an administrator one into the other county.
    services.reassign(order=moved.number, actor=t.leader, unit_id=t.stations[1].pk, reason="属东山供电所辖区")
    services.reassign(order=across.number, actor=t.admin, unit_id=u.stations[0].pk, reason="跨县调度")
    frozen.advance(minutes=10)
    sweep_until_idle()
    services.escalate(order=moved.number, actor=t.leader, text="请督促")
    assert copies_match_orders() >= 12
    moved.refresh_from_db()
    assert moved.assigned_unit == t.stations[1]
    assert set(Notice.objects.filter(order=moved).values_list("holder_unit_id", flat=True)) == {t.stations[1].pk}


@pytest.mark.rule("D3.4c")
def test_a_merged_callers_callback_past_its_limit_is_on_the_board(two_centers, frozen):
    t, _ = two_centers
    master = repair(t, area="t0")
    frozen.advance(minutes=1)
    sub = repair(t, 5, area="t0", merge_into=master.number)
    st = t.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(master, action, st)
    callback = Clock.objects.get(order=sub, metric="callback", status=ClockStatus.RUNNING)
    sub.refresh_from_db()  # merged at intake: never dispatched, held by no unit
    assert (callback.scope_unit_id, callback.holder_unit_id) == (t.center.pk, sub.assigned_unit_id)
    frozen.advance(hours=25)  # the merged caller's callback (24 h) is past its limit
    sweep_until_idle()
    sub.refresh_from_db()
    assert sub.state == State.MERGED
    board = selectors.shift_leader_board(t.leader)
    assert callback.pk in {c.pk for c in board["clocks"]}
    assert board["overdue"] == Clock.objects.filter(status=ClockStatus.RUNNING, due_at__lt=frozen(),
                                                    order__isnull=False).count() >= 1
    assert selectors.orders_near_or_past_limit(scope_unit_ids=[t.center.pk])["overdue"] >= 1


@pytest.mark.rule("N4a", "N4b")
def test_the_boards_scope_is_the_orders_scope_for_every_user(two_centers, frozen):
    t, u = two_centers
    orders = [repair(t), repair(t, 1, area="town1"), repair(t, 2), repair(u, 3), repair(u, 4, area="town1")]
    frozen.advance(minutes=10)
    sweep_until_idle()
    services.reassign(order=orders[2].number, actor=t.admin, unit_id=u.stations[1].pk, reason="跨县调度")
    services.reassign(order=orders[4].number, actor=u.leader, unit_id=u.stations[2].pk, reason="改派")
    frozen.advance(minutes=30)
    sweep_until_idle()
    # One notice answered: the board counts open ones only.
    answered = Notice.objects.filter(order=orders[0], kind=NoticeKind.SUPERVISION, level=1).first()
    answer_notice(notice=answered, user=t.station_users[0], text="已到场处理")
    now = frozen()
    users = [t.agent, t.leader, t.director, t.county_user, t.admin, *t.station_users, t.discipline_user,
             u.agent, u.leader, u.director, *u.station_users]
    clocks = Clock.objects.filter(status=ClockStatus.RUNNING, warn_at__lte=now, order__isnull=False)
    notices = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True, order__isnull=False)
    seen_some = set()
    for user in users:
        by_orders = access.order_scope(user, through="order__")
        by_copies = access.clock_scope(user)
        for qs in (clocks, notices):
            want = set((qs if by_orders is None else qs.filter(by_orders)).values_list("id", flat=True))
            got = set((qs if by_copies is None else qs.filter(by_copies)).values_list("id", flat=True))
            assert got == want, (user.username, qs.model.__name__)
            seen_some.add(bool(want))
        board = selectors.shift_leader_board(user, per_page=500)
        overdue = (clocks if by_orders is None else clocks.filter(by_orders)).filter(due_at__lt=now).count()
        open_notices = (notices if by_orders is None else notices.filter(by_orders)).count()
        assert (board["overdue"], board["notice_count"]) == (overdue, open_notices), user.username
        assert {c.pk for c in board["clocks"]} == set(
            (clocks if by_orders is None else clocks.filter(by_orders)).values_list("id", flat=True))
    assert seen_some == {True, False}  # some users see some, others none: the scopes differ
    assert dt.timedelta(0) < now - orders[0].created_at
