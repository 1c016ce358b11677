"""The access policy (workorders.access): scope, actions, masking, reporter
identity; and a moved unit's orders following it."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hotline.core.models import AuditEntry
from hotline.organisation import services as org
from hotline.organisation.models import Role, Unit, User
from hotline.testing import build_world
from hotline.workorders import access, services
from hotline.workorders.errors import NotAllowed

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def repair(world, customer_key="zhang", actor=None, **kw):
    customer = world.customers[customer_key]
    return services.create_order(actor=actor or world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", fault_scope="company", customer_id=customer.id,
        caller_name=customer.name, caller_phone=PHONE, **kw))


def report(world, **kw):
    return services.create_order(actor=world.agent, intake=services.Intake(
        business_type="report", sub_class="theft", description="邻居私拉电线窃电", customer_id=world.customers["zhang"].id,
        caller_name="张伟", caller_phone=PHONE, reporter={"id_number": "330102199001011234"}, **kw))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fresh(user: User) -> User:
    return User.objects.select_related("unit").get(pk=user.pk)


def visible(user, order) -> bool:
    return access.visible_orders(user).filter(pk=order.pk).exists()


# --- scope -------------------------------------------------------------------------------

def test_a_second_tree_builds_beside_the_first(world):
    u = build_world(prefix="u")
    assert u.county.pk != world.county.pk and not u.county.path.startswith(world.province.path)
    assert u.customers["zhang"].account_number != world.customers["zhang"].account_number
    assert Unit.objects.filter(code__startswith="u-").count() == Unit.objects.filter(code__startswith="t-").count()


@pytest.mark.rule("N4a")
def test_a_unit_sees_the_orders_assigned_into_its_subtree_only(world, frozen):
    own, sibling = repair(world), repair(world, "li")
    station0, station1 = world.station_users[:2]
    county_staff = org.create_user(username="t-county-staff", password="x", role=Role.UNIT_STAFF, unit=world.county)
    crew_staff = org.create_user(username="t-crew0", password="x", role=Role.UNIT_STAFF, unit=world.crews[0])
    assert visible(station0, own) and not visible(station0, sibling)
    assert visible(station1, sibling) and not visible(station1, own)
    # The county's unit staff see what is assigned below them; a crew below
    # the station does not see the station's orders.
    assert visible(county_staff, own) and visible(county_staff, sibling)
    assert not visible(crew_staff, own)
    # Unit staff do not see an order merely scoped to a center above them.
    center_staff = org.create_user(username="t-center-staff", password="x", role=Role.UNIT_STAFF, unit=world.center)
    assert not visible(center_staff, own)
    nobody = org.create_user(username="t-nobody", password="x", role=Role.AGENT, unit=None)
    assert not access.visible_orders(nobody).exists()


@pytest.mark.rule("N4b")
def test_a_county_sees_its_subtree_and_no_other(world, frozen):
    u = build_world(prefix="u")
    mine, theirs = repair(world), repair(u, actor=u.agent)
    assert visible(world.county_user, mine) and not visible(world.county_user, theirs)
    assert visible(u.county_user, theirs) and not visible(u.county_user, mine)
    assert visible(world.agent, mine) and not visible(world.agent, theirs)
    assert visible(world.admin, mine) and visible(world.admin, theirs)
    # The board reads the same scope.
    from hotline.workorders.selectors import shift_leader_board

    frozen.advance(minutes=30)
    board = shift_leader_board(world.leader)
    assert {c.order.number for c in board["clocks"]} == {mine.number}


@pytest.mark.rule("N4a", "N4b")
def test_customers_are_looked_up_within_the_areas_served(world):
    u = build_world(prefix="u")
    nowhere = org.create_customer(account_number="t0099", name="赵无区", address="外省", phone_numbers=["13900009999"])
    zhang, li, wang = (world.customers[k] for k in ("zhang", "li", "wang"))

    def ids(user):
        return set(access.visible_customers(user).values_list("id", flat=True))

    t_all = {zhang.id, li.id, wang.id}
    assert ids(world.station_users[0]) == {zhang.id}
    assert ids(world.station_users[1]) == {li.id}
    # A center serves its county: all the county's areas, and area-less customers.
    assert ids(world.agent) == ids(world.leader) == t_all | {nowhere.id}
    assert ids(world.county_user) == t_all | {nowhere.id}
    assert ids(u.agent) == {c.id for c in u.customers.values()} | {nowhere.id}
    assert ids(world.discipline_user) == set()
    inspector = org.create_user(username="t-inspector", password="x", role=Role.INSPECTOR, unit=world.center)
    assert ids(inspector) == set()
    assert ids(world.admin) >= t_all | {nowhere.id, u.customers["zhang"].id}
    # The API and the intake search answer within it.
    assert [c["id"] for c in client_for(world.station_users[0]).get("/api/customers?q=13812345678").json()] == [zhang.id]
    assert {c["id"] for c in client_for(world.agent).get("/api/customers?q=13812345678").json()} == {zhang.id}
    assert client_for(world.agent).get(f"/intake/customers/{u.customers['zhang'].pk}/").status_code == 404


@pytest.mark.rule("N4a", "N4b")
def test_an_intake_cannot_pick_a_customer_outside_the_scope_by_id(world, frozen):
    u = build_world(prefix="u")
    client = client_for(world.agent)
    r = client.get(f"/intake/customers/{u.customers['zhang'].pk}/")
    assert r.status_code == 404
    # The intake form re-rendered with a posted foreign customer id shows no card of it.
    html = client.post("/intake/", {"business_type": "repair", "customer_id": u.customers["zhang"].pk}).content.decode()
    assert u.customers["zhang"].account_number not in html


# --- actions -------------------------------------------------------------------------------

@pytest.mark.rule("N4a", "N4b")
def test_can_act_by_unit_center_and_leader(world, frozen):
    u = build_world(prefix="u")
    order = repair(world)
    cases = [
        (world.station_users[0], "unit", None),
        (world.station_users[1], "unit", "this order is not assigned to your unit"),
        (world.agent, "unit", "only the handling unit's staff can do this"),
        (world.agent, "center", None),
        (world.county_user, "center", None),
        (u.agent, "center", "this order belongs to another center"),
        (world.station_users[0], "center", "only center staff can do this"),
        (world.agent, "leader", "only a shift leader can do this"),
        (world.leader, "leader", None),
        (world.director, "leader", None),
        (world.admin, "unit", None),
        (org.create_user(username="t-lost", password="x", role=Role.AGENT, unit=None), "center",
         "your account belongs to no unit"),
    ]
    assert [access.can_act(user, order, by) for user, by, _ in cases] == [reason for _, _, reason in cases]


# --- phone masking -----------------------------------------------------------------------

@pytest.mark.rule("N4f")
def test_phones_are_masked_for_roles_that_do_not_call_back(world, frozen):
    expert = org.create_user(username="t-expert", password="x", role=Role.EXPERT, unit=world.marketing)
    inspector = org.create_user(username="t-inspector", password="x", role=Role.INSPECTOR, unit=world.center)
    for user in (world.station_users[0], expert, inspector):
        assert access.mask_phone(user, PHONE) == "138****5678"
        assert access.mask_phone(user, "057187654321-123") == "0571****4321"
    for user in (world.agent, world.leader, world.director, world.admin):
        assert access.mask_phone(user, PHONE) == PHONE
        assert access.mask_phone(user, "057187654321-123") == "057187654321-123"
    order = repair(world)
    station = client_for(world.station_users[0])
    page = station.get(f"/orders/{order.number}/").content.decode()
    assert "138****5678" in page and PHONE not in page
    inbox = station.get("/inbox/").content.decode()
    assert "138****5678" in inbox and PHONE not in inbox
    assert station.get(f"/api/orders/{order.number}").json()["caller_phone"] == "138****5678"
    assert station.get("/api/customers?q=t0001").json()[0]["phones"] == ["138****5678"]
    assert client_for(world.agent).get(f"/api/orders/{order.number}").json()["caller_phone"] == PHONE


# --- reporter identity -------------------------------------------------------------------

IDENTITY = ("张伟", PHONE, "南街社区12号", "t0001", "330102199001011234")


def _leaks(text: str) -> list[str]:
    return [s for s in IDENTITY if s in text]


@pytest.mark.rule("D4d", "N4d")
def test_a_reports_reporter_is_hidden_from_shift_leaders_and_agents_everywhere(world, frozen):
    order = report(world)
    assert order.customer_id == world.customers["zhang"].id and order.address  # the link exists, behind the policy
    n = order.number
    for user in (world.leader, world.agent):
        c = client_for(user)
        page = c.get(f"/orders/{n}/")
        assert page.status_code == 200 and not _leaks(page.content.decode())
        got = c.get(f"/api/orders/{n}").json()
        assert (got["customer_id"], got["caller_name"], got["caller_phone"], got["address"]) == (None, "", "", "")
        assert got["reporter_restricted"] is True
        listed = {i["number"]: i for i in c.get("/api/orders?limit=500").json()["items"]}
        assert listed[n]["customer_id"] is None and listed[n]["address"] == ""
        assert n not in {i["number"] for i in c.get(f"/api/orders?phone={PHONE}").json()["items"]}
        assert not _leaks(json.dumps(c.get(f"/api/orders/{n}/events").json(), ensure_ascii=False))
        card = c.get(f"/intake/customers/{world.customers['zhang'].pk}/").content.decode()
        assert n not in card
        search = c.get(f"/intake/customers/?q={PHONE}").content.decode()
        assert n not in search
        assert c.post(f"/orders/{n}/reporter/").status_code == 403
        assert c.post(f"/api/orders/{n}/reporter").status_code == 403
    mine = client_for(world.agent).get("/orders/").content.decode()
    assert n in mine and not _leaks(mine)
    assert not AuditEntry.objects.filter(action="view_reporter").exists()


@pytest.mark.rule("D4d", "N4d", "N4e")
def test_the_director_and_the_discipline_unit_see_the_reporter_and_each_reveal_is_audited(world, frozen):
    order = report(world)
    n = order.number
    director = client_for(world.director)
    # Shown only through the reveal: the page alone is no view of it.
    assert not _leaks(director.get(f"/orders/{n}/").content.decode())
    assert not AuditEntry.objects.filter(action="view_reporter").exists()
    html = director.post(f"/orders/{n}/reporter/", HTTP_HX_REQUEST="true").content.decode()
    assert set(_leaks(html)) == set(IDENTITY)
    api = director.post(f"/api/orders/{n}/reporter").json()
    assert api == {"name": "张伟", "phone": PHONE, "id_number": "330102199001011234", "customer_id": world.customers["zhang"].pk,
                   "customer_name": "张伟", "account_number": "t0001", "address": "城关镇南街社区12号"}
    discipline = access.reveal_reporter(fresh(world.discipline_user), order, via="test")
    assert discipline.phone == PHONE
    entries = list(AuditEntry.objects.filter(action="view_reporter", object_id=str(order.pk)).order_by("id"))
    assert [(e.user_id, e.detail["via"]) for e in entries] == [
        (world.director.pk, "page"), (world.director.pk, "api"), (world.discipline_user.pk, "test")]
    # Staff of another department, and a discipline unit not handling it, may not.
    with pytest.raises(NotAllowed):
        access.reveal_reporter(fresh(world.marketing_user), order)
    other_discipline = org.create_unit(name="纪检二", code="t-disc2", kind="department", parent=world.county, function="discipline")
    other = org.create_user(username="t-disc2", password="x", role=Role.UNIT_STAFF, unit=other_discipline)
    assert not access.can_see_reporter(other, order)
    assert AuditEntry.objects.filter(action="view_reporter").count() == 3


@pytest.mark.rule("D4d", "N4d")
def test_event_payloads_of_a_report_never_carry_the_reporter(world, frozen):
    order = report(world)
    plain = repair(world)
    for o in (order, plain):
        services.record_event(order=o, kind="progress", actor=world.agent,
                              payload={"customer_id": o.customer_id, "address": o.address, "caller_phone": PHONE, "note": "已联系"})
    for user in (world.director, world.agent, world.discipline_user):
        events = client_for(user).get(f"/api/orders/{order.number}/events").json()
        assert events[-1]["payload"] == {"note": "已联系"}
    page = client_for(world.director).get(f"/orders/{order.number}/").content.decode()
    assert "已联系" in page and not _leaks(page)
    # Other orders keep their payloads; phones in them masked per role.
    agent_view = client_for(world.agent).get(f"/api/orders/{plain.number}/events").json()[-1]["payload"]
    assert agent_view["customer_id"] == plain.customer_id and agent_view["caller_phone"] == PHONE
    station_view = client_for(world.station_users[0]).get(f"/api/orders/{plain.number}/events").json()[-1]["payload"]
    assert station_view["caller_phone"] == "138****5678"


@pytest.mark.rule("D4d", "N4d")
def test_a_chase_up_of_a_report_is_restricted_as_the_report(world, frozen):
    order = report(world)
    chase = services.chase_up(order=order, actor=world.agent, note="举报人催问进展")
    assert chase.customer_id == order.customer_id  # copied, so it must be hidden as well
    c = client_for(world.leader)
    got = c.get(f"/api/orders/{chase.number}").json()
    assert (got["customer_id"], got["address"], got["reporter_restricted"]) == (None, "", True)
    assert chase.number not in c.get(f"/intake/customers/{world.customers['zhang'].pk}/").content.decode()
    assert not _leaks(c.get(f"/orders/{chase.number}/").content.decode())
    revealed = access.reveal_reporter(fresh(world.director), chase)
    assert revealed.phone == PHONE and revealed.customer_id == order.customer_id


# --- moving units ------------------------------------------------------------------------

@pytest.mark.rule("N4a", "N4b")
def test_a_moved_station_keeps_acting_on_its_orders_and_the_old_county_loses_them(world, frozen):
    u = build_world(prefix="u")
    station = world.stations[0]
    order = repair(world)
    crew_order = repair(world, assigned_unit_id=world.crews[0].pk)
    assert crew_order.assigned_unit == world.crews[0]
    old_county_staff = org.create_user(username="t-county-staff", password="x", role=Role.UNIT_STAFF, unit=world.county)
    crew_user = org.create_user(username="t-crew0", password="x", role=Role.UNIT_STAFF, unit=world.crews[0])
    assert visible(old_county_staff, order)

    org.move_unit(unit=station, new_parent=u.county)

    station.refresh_from_db()
    order.refresh_from_db()
    crew_order.refresh_from_db()
    assert station.path.startswith(u.county.path)
    assert order.assigned_path == station.path
    assert crew_order.assigned_path == Unit.objects.get(pk=world.crews[0].pk).path
    assert order.scope_path == world.center.path  # the center did not move
    staff = fresh(world.station_users[0])
    assert access.can_act(staff, order, "unit") is None
    services.transition(order=order, action="receive", actor=staff)
    services.transition(order=crew_order, action="receive", actor=fresh(crew_user))
    assert not visible(old_county_staff, order)
    assert visible(fresh(u.county_user), order)
    assert client_for(staff).get(f"/orders/{order.number}/").status_code == 200


@pytest.mark.rule("N4b")
def test_a_moved_center_takes_the_scope_of_its_orders_along(world, frozen):
    u = build_world(prefix="u")
    order = repair(world)
    org.move_unit(unit=world.center, new_parent=u.county)
    order.refresh_from_db()
    center = Unit.objects.get(pk=world.center.pk)
    assert order.scope_path == center.path and center.path.startswith(u.county.path)
    assert access.can_act(fresh(world.agent), order, "center") is None
    assert access.can_act(fresh(u.county_user), order, "center") is None
    assert access.can_act(fresh(world.county_user), order, "center") == "this order belongs to another center"
    # The old county still sees it while one of its stations handles it.
    assert visible(fresh(world.county_user), order)
