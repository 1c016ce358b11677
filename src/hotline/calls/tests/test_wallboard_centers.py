"""C4a per center: a center's wallboard counts the calls of its own queues.
Calls carry a queue, not a center; an administrator gives each queue its
center (planning's call queues, in the admin). With one center every queue
is its; with several, one center's board never counts another's calls, and
a queue without a center is on no board and named on the board list."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.calls import kpis, services, wallboard
from hotline.calls.tests.events import at, call, ev
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.planning.models import Queue
from hotline.testing import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.rule("C4a")]

NOW = 1200


@pytest.fixture
def two_centers(world, frozen, http_source):
    """The world's center has queue 95598; a second center (its leader and
    agent 2001) has queue north; queue orphan belongs to no center.

    - 95598: c1 answered (talk 100), c2 abandoned, w1 waiting since 09:16:40;
    - north: n1, n2, n3 answered, n4 abandoned, w2 waiting since 09:10, t2 talking;
    - orphan: o1 answered, w3 waiting."""
    frozen.set(at(NOW))
    other = org.create_unit(name="北区客服中心", code="t-center2", kind="center", parent=world.county)
    leader2 = org.create_user(username="t-leader2", password=PASSWORD, role=Role.SHIFT_LEADER, unit=other)
    org.create_user(username="t-agent2001", password=PASSWORD, role=Role.AGENT, unit=other, agent_number="2001")
    Queue.objects.create(code="95598", name="95598 综合", center=world.center)
    Queue.objects.create(code="north", name="北区", center=other)
    services.ingest(http_source, [
        *call("c1", 0, answer=10, talk=100),
        *call("c2", 60, abandon=30),
        *call("w1", 1000),
        *[e for i in (1, 2, 3) for e in call(f"n{i}", 100 * i, queue="north", answer=5, agent="2001", talk=40)],
        *call("n4", 400, queue="north", abandon=8),
        *call("w2", 600, queue="north"),
        *call("t2", 900, queue="north", answer=4, agent="2001"),
        *call("o1", 500, queue="orphan", answer=3, talk=20),
        *call("w3", 1100, queue="orphan"),
        ev("agent.login", 0, agent="2001", queue="north"),
    ])
    return world, other, leader2


def _figures(b):
    return b.offered, b.answered, b.abandoned, b.waiting, b.talking


def test_each_centers_board_counts_only_its_queues(two_centers):
    world, other, _leader2 = two_centers
    mine = wallboard.board(center=world.center)
    theirs = wallboard.board(center=other)
    assert _figures(mine) == (2, 1, 1, 1, 0)
    assert mine.longest_wait_s == pytest.approx(200)  # w1; w2 (north, 10 min) is the other center's
    assert _figures(theirs) == (4, 3, 1, 1, 1)
    assert theirs.longest_wait_s == pytest.approx(600)
    # Agents are the center's own, as before.
    assert theirs.agents["talking"] == 1 and mine.agents["talking"] == 0
    # The same figures as the KPIs of the day for those queues.
    day = kpis.Period.day(dt.date(2026, 11, 17))
    assert (mine.offered, mine.answered) == (kpis.report(day, queue="95598").offered,
                                             kpis.report(day, queue="95598").answered)


def test_a_queue_board_of_another_centers_queue_is_not_found(two_centers, client):
    world, other, _leader2 = two_centers
    client.force_login(world.leader)
    assert client.get(f"/calls/wallboard/{world.center.pk}/?queue=95598").status_code == 200
    assert client.get(f"/calls/wallboard/{world.center.pk}/?queue=north").status_code == 404
    assert client.get(f"/calls/wallboard/{world.center.pk}/live/?queue=north").status_code == 404
    client.force_login(world.county_user)  # the county's director sees both centers
    assert client.get(f"/calls/wallboard/{other.pk}/live/?queue=north").status_code == 200
    assert client.get(f"/calls/wallboard/{other.pk}/live/?queue=95598").status_code == 404


def test_the_board_list_shows_each_center_its_queues_and_names_the_queues_of_none(two_centers, client):
    world, _other, leader2 = two_centers
    client.force_login(world.county_user)
    html = client.get("/calls/wallboard/").content.decode()
    sections = {part.split("</h3>", 1)[0]: part for part in html.split("<h3>")[1:]}
    mine, theirs = sections[world.center.name], sections["北区客服中心"]
    assert "?queue=95598" in mine and "?queue=north" not in mine
    assert "?queue=north" in theirs and "?queue=95598" not in theirs
    assert "?queue=orphan" not in html
    assert 'id="wb-unassigned"' in html and "不属于任何客服中心" in html and ">orphan<" in html
    client.force_login(leader2)
    html = client.get("/calls/wallboard/").content.decode()
    assert "?queue=north" in html and "?queue=95598" not in html


def test_a_queue_given_a_center_in_the_admin_moves_to_its_board(two_centers, client):
    world, other, _leader2 = two_centers
    assert wallboard.board(center=world.center).offered == 2
    client.force_login(world.admin)
    orphan = Queue.objects.create(code="orphan", name="孤立队列")
    response = client.post(f"/admin/planning/queue/{orphan.pk}/change/", {
        "code": "orphan", "name": "孤立队列", "center": world.center.pk,
        "target-TOTAL_FORMS": "0", "target-INITIAL_FORMS": "0", "target-MIN_NUM_FORMS": "0",
        "target-MAX_NUM_FORMS": "1"})
    assert response.status_code == 302, response.content.decode()[:3000]
    b = wallboard.board(center=world.center)
    assert (b.offered, b.answered, b.waiting) == (3, 2, 2)
    assert wallboard.board(center=other).offered == 4


def test_with_one_center_every_queue_is_its(world, frozen, http_source):
    frozen.set(at(NOW))
    services.ingest(http_source, [*call("c1", 0, answer=10, talk=100), *call("o1", 500, queue="orphan", abandon=9),
                                  *call("w1", 1000, queue="other")])
    b = wallboard.board(center=world.center)
    assert (b.offered, b.answered, b.abandoned, b.waiting) == (2, 1, 1, 1)
    assert [code for code, _name in wallboard.queues(center=world.center)] == ["95598", "orphan", "other"]


@pytest.mark.rule("C2c")
def test_a_shift_leader_links_a_call_of_a_queue_of_their_center(two_centers, frozen):
    """An abandoned call (nobody answered it) is the center's whose queue it
    entered: that center's shift leader may record an order on it, the other
    center's may not."""
    from hotline.calls.models import Call
    from hotline.workorders import services as orders
    from hotline.workorders.errors import OrderError

    world, _other, leader2 = two_centers
    intake = {"business_type": "inquiry", "sub_class": "bill", "description": "回拨放弃来电", "caller_phone": "13800001111"}
    abandoned = Call.objects.get(call_id="n4").contact  # queue north: the other center's
    assert abandoned.agent is None
    order = orders.create_order(actor=leader2, intake=orders.Intake(**intake, contact_id=abandoned.pk))
    assert list(order.contact_links.values_list("contact_id", flat=True)) == [abandoned.pk]
    with pytest.raises(OrderError) as exc:
        orders.create_order(actor=world.leader, intake=orders.Intake(**intake, contact_id=abandoned.pk))
    assert exc.value.field == "contact_id" and "其他中心" in exc.value.message
    mine = Call.objects.get(call_id="c2").contact  # 95598, abandoned: this center's
    orders.create_order(actor=world.leader, intake=orders.Intake(**intake, contact_id=mine.pk))
