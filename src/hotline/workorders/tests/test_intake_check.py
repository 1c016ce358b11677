"""Intake classification of repair reports (spec D3.1, D7h, D7k) and the
guard on returns after a fault notice (D3.5c): the check proposes, the
agent decides, both are on the order."""

import datetime as dt

import pytest

from hotline.core import clock
from hotline.organisation import services as org
from hotline.organisation.models import Role, SpecialMark
from hotline.outages import services as outages
from hotline.outages.models import OutageClass
from hotline.testing import PASSWORD, handled
from hotline.workorders import intake_check, services
from hotline.workorders.errors import TransitionError
from hotline.workorders.models import State, WorkOrder

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def desk(world):
    return org.create_user(username="t-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk, display_name="调度员")


@pytest.fixture
def neighbour(world):
    """A transformer area beside the customer's 南街1号台区, in the same village."""
    return org.create_service_area(name="南街2号台区", code="t-a0t2", level="transformer_area", unit=world.stations[0],
                                   parent=world.areas["v0"])


def publish(desk, areas, *, cls=OutageClass.TEMPORARY, start=None, hours=4, reason="10kV城关线抢修", **kw):
    start = start or clock.now() - dt.timedelta(minutes=30)
    return outages.draft(actor=desk, publish=True, data=outages.OutageInput(
        outage_class=cls, area_ids=[a.pk for a in areas], planned_start=start, planned_end=start + dt.timedelta(hours=hours),
        reason=reason, **kw))


def repair(world, fault_scope="company", customer="zhang", **kw):
    return services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="家里没电了", fault_scope=fault_scope,
        customer_id=world.customers[customer].id, **kw))


def zhang_area(world):
    return world.customers["zhang"].service_area


@pytest.mark.rule("D3.1d", "D7k")
def test_an_outage_covering_the_address_proposes_an_inquiry_and_the_agent_follows(world, frozen, desk):
    outage = publish(desk, [world.areas["t0"]])
    found = intake_check.check(service_area_id=zhang_area(world).pk, customer=world.customers["zhang"])
    assert found.proposal == "inquiry" and found.proposed_scope == "planned_outage"
    assert [o["number"] for o in found.outages] == [outage.number]
    assert found.outages[0]["reason"] == "10kV城关线抢修" and found.expected_restoration == outage.planned_end
    order = repair(world, fault_scope="planned_outage")
    assert order.business_type.code == "inquiry" and order.state == State.CLOSED and order.assigned_unit is None
    created = order.events.get(kind="create").payload
    assert created["intake_check"]["outages"] == [outage.number] and created["intake_check"]["proposal"] == "inquiry"
    assert created["intake_decision"] == "followed"


@pytest.mark.rule("D3.1d", "D3.1b")
def test_the_agent_may_override_and_dispatch_and_that_is_recorded(world, frozen, desk):
    publish(desk, [world.areas["t0"]])
    order = repair(world)  # the caller's fault is another one: dispatched
    assert order.business_type.code == "repair" and order.state == State.DISPATCHED
    assert order.events.get(kind="create").payload["intake_decision"] == "overridden"


@pytest.mark.rule("D3.1d")
def test_a_township_outage_covers_the_transformer_area_below_a_neighbours_does_not(world, frozen, desk, neighbour):
    publish(desk, [neighbour])
    assert intake_check.check(service_area_id=zhang_area(world).pk, customer=None).proposal == ""
    publish(desk, [world.areas["town0"]], reason="城关镇全镇检修")
    found = intake_check.check(service_area_id=zhang_area(world).pk, customer=None)
    assert found.proposal == "inquiry" and [o["reason"] for o in found.outages] == ["城关镇全镇检修"]


@pytest.mark.rule("D3.1d")
def test_an_outage_not_yet_begun_or_over_proposes_nothing(world, frozen, desk):
    publish(desk, [world.areas["t0"]], start=clock.now() + dt.timedelta(days=8), cls=OutageClass.PLANNED)
    assert intake_check.check(service_area_id=zhang_area(world).pk, customer=None).proposal == ""
    over = publish(desk, [world.areas["t0"]], start=clock.now() - dt.timedelta(hours=6), hours=2)
    outages.start(outage=over, actor=desk, actual_start=over.planned_start)
    outages.restore(outage=over, actor=desk, actual_restoration=over.planned_end)
    assert intake_check.check(service_area_id=zhang_area(world).pk, customer=None).proposal == ""


@pytest.mark.rule("D3.1d")
def test_arrears_proposes_an_inquiry(world, frozen):
    customer = world.customers["zhang"]
    customer.special_mark = SpecialMark.ARREARS
    customer.save(update_fields=["special_mark"])
    found = intake_check.check(service_area_id=customer.service_area_id, customer=customer)
    assert (found.proposal, found.proposed_scope, found.arrears) == ("inquiry", "arrears", True)
    order = repair(world, fault_scope="arrears")
    assert order.business_type.code == "inquiry"
    assert order.events.get(kind="create").payload["intake_check"]["arrears"] is True


@pytest.mark.rule("D3.1c")
def test_a_customer_internal_fault_is_dispatched_only_with_the_paid_service_stated(world, frozen):
    guided = repair(world, fault_scope="customer_internal")
    assert guided.business_type.code == "inquiry"
    paid = repair(world, fault_scope="customer_internal", paid_service=True, customer="li")
    assert paid.business_type.code == "repair" and paid.state == State.DISPATCHED and paid.paid_service
    assert paid.events.get(kind="create").payload["paid_service_stated"] is True


@pytest.mark.rule("D7h")
def test_frequent_outages_are_shown_and_recorded_at_intake(world, frozen, desk):
    for days in (50, 30, 10):
        o = publish(desk, [world.areas["t0"]], start=clock.now() - dt.timedelta(days=days), hours=1)
        outages.start(outage=o, actor=desk, actual_start=o.planned_start)
        outages.restore(outage=o, actor=desk, actual_restoration=o.planned_end)
    found = intake_check.check(service_area_id=None, customer=world.customers["zhang"])
    assert found.frequent["count"] == 3 and found.frequent["flagged"] and "frequent_outage" in found.reasons
    order = repair(world)
    assert order.events.get(kind="create").payload["intake_check"]["frequent_outages"] == 3


@pytest.mark.rule("D3.1d", "D7k")
def test_the_intake_page_shows_the_notice_and_the_one_key_proposal(world, frozen, desk, login):
    publish(desk, [world.areas["t0"]], reason="10kV城关线抢修")
    client = login(world.agent)
    html = client.get("/intake/check/", {"customer_id": world.customers["zhang"].id}, **HTMX).content.decode()
    assert "该地址在已发布的停电范围内" in html and "10kV城关线抢修" in html
    assert 'data-set-scope="planned_outage"' in html and "按咨询记录" in html
    quiet = client.get("/intake/check/", {"customer_id": world.customers["li"].id}, **HTMX).content.decode()
    assert "停电范围" not in quiet


@pytest.mark.rule("D3.5c")
def test_an_order_dispatched_soon_after_a_fault_notice_is_merged_not_returned(world, frozen, desk):
    publish(desk, [world.areas["t0"]], cls=OutageClass.GRID_FAULT, occurred_at=clock.now() - dt.timedelta(minutes=5))
    master = repair(world)
    frozen.advance(minutes=9)
    order = repair(world)  # dispatched 9 minutes after the notice
    with pytest.raises(TransitionError, match="不能退单"):
        services.transition(order=order, action="return", actor=world.station_users[0], payload={"reason": "outside_area"})
    services.transition(order=order, action="merge", actor=world.agent, payload={"master": master.number})
    order.refresh_from_db()
    assert order.state == State.MERGED and order.return_count == 0


@pytest.mark.rule("D3.5c")
def test_returns_stay_open_after_the_guard_or_for_other_places(world, frozen, desk, neighbour):
    publish(desk, [world.areas["t0"]], cls=OutageClass.GRID_FAULT, occurred_at=clock.now() - dt.timedelta(minutes=5))
    frozen.advance(minutes=10, seconds=1)
    late = repair(world)  # more than 10 minutes after the notice
    services.transition(order=late, action="return", actor=world.station_users[0], payload={"reason": "outside_area"})
    assert late.events.filter(kind="return").exists()


@pytest.mark.rule("D3.5c")
def test_a_fault_notice_of_a_neighbouring_area_does_not_guard(world, frozen, desk, neighbour):
    publish(desk, [neighbour], cls=OutageClass.GRID_FAULT, occurred_at=clock.now())
    frozen.advance(minutes=2)
    order = repair(world)
    services.transition(order=order, action="return", actor=world.station_users[0], payload={"reason": "outside_area"})
    assert order.events.filter(kind="return").exists()


# --- duplicate proposals on the intake page (D3.4) -----------------------------------

def first_report(world):
    return services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="整栋楼都停电了，邻居家也没电", fault_scope="company",
        customer_id=world.customers["zhang"].id))


@pytest.mark.rule("D3.4a", "D3.4e")
def test_the_intake_form_proposes_the_master_and_the_agent_keeps_it_with_one_key(world, frozen, login):
    master = first_report(world)
    frozen.advance(minutes=7)
    client = login(world.agent)
    query = {"business_type": "repair", "service_area_id": world.areas["t0"].pk, "sub_class": "lv",
             "fault_scope": "company", "description": "我家没电了，楼里都黑了"}
    html = client.get("/intake/duplicates/", query, **HTMX).content.decode()
    assert "可能是已报修的同一故障" in html and f'value="{master.number}"' in html and "checked" in html
    assert "同一台区" in html and "Alt+M" in html
    # Unticked once, a refresh keeps the agent's decision.
    again = client.get("/intake/duplicates/", {**query, "merge_offer": master.number}, **HTMX).content.decode()
    assert "checked" not in again.split('id="f-merge_into"')[1].split(">")[0]
    response = client.post("/intake/", {**query, "customer_id": world.customers["zhang"].id, "caller_phone": "13812345678",
                                        "merge_into": master.number, "reply_wanted": "on"})
    assert response.status_code == 302
    sub = WorkOrder.objects.exclude(pk=master.pk).get()
    assert sub.state == State.MERGED and sub.master == master and sub.assigned_unit is None
    created = sub.events.get(kind="create").payload
    assert created["duplicate_decision"] == "merge" and created["duplicate_suggestions"][0]["number"] == master.number


@pytest.mark.rule("D3.4d")
def test_a_neighbouring_transformer_area_is_not_proposed(world, frozen, login, neighbour):
    first_report(world)
    html = login(world.agent).get("/intake/duplicates/", {
        "business_type": "repair", "service_area_id": neighbour.pk, "sub_class": "lv", "fault_scope": "company",
        "description": "整栋楼都停电了"}, **HTMX).content.decode()
    assert "可能是已报修" not in html


@pytest.mark.rule("D3.4c")
def test_every_caller_of_a_merged_group_gets_the_restoration_notice_once(world, frozen, settings):
    from hotline.core.models import OutboxMessage

    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_RESTORATION_CHANNEL": "file"}
    master = first_report(world)
    merged = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="楼里没电", fault_scope="company", caller_phone="13900002222",
        service_area_id=world.areas["t0"].pk, merge_into=master.number))
    landline = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="没电了", fault_scope="company", caller_phone="0571-86001234",
        service_area_id=world.areas["t0"].pk, merge_into=master.number))
    st = world.station_users[0]
    for action in ("receive", "arrive"):
        services.transition(order=master, action=action, actor=st)
    services.transition(order=master, action="resolve", actor=st, payload=handled(master, "resolve"))
    messages = OutboxMessage.objects.filter(source__endswith=":restoration").order_by("recipient")
    assert [(m.recipient, m.channel) for m in messages] == [("13812345678", "file"), ("13900002222", "file")]
    assert all("已于" in m.payload["text"] and "恢复送电" in m.payload["text"] for m in messages)
    assert {m.payload["order"] for m in messages} == {master.number, merged.number}
    assert landline.events.filter(kind="restoration").exists()  # no SMS to a landline, the event all the same
    # Told again (a repeated resolve, a retry): nobody gets it twice.
    assert services.notify_restoration(master, [merged], at=clock.now()) == 0
    assert OutboxMessage.objects.filter(source__endswith=":restoration").count() == 2
