"""C2c: the agent records orders while talking, and each order of the call
links to it — to that call only when it is the agent's own, current or
recent one (after-call work included); a shift leader or director may link
any call of their center. Otherwise the intake is refused with a message
in Chinese, nothing saved, and the page keeps what the agent typed."""

import datetime as dt
import json

import pytest
from django.test import Client

from hotline.contacts.models import Contact
from hotline.core import policy
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.testing import PASSWORD
from hotline.workorders import policies, services
from hotline.workorders.errors import OrderError
from hotline.workorders.models import OrderContact, WorkOrder

pytestmark = [pytest.mark.django_db, pytest.mark.rule("C2c")]

INQUIRY = {"business_type": "inquiry", "sub_class": "bill", "description": "咨询电费", "caller_phone": "13812345678"}


def call_of(agent, frozen, *, began_min_ago: float = 5, ended_min_ago: float | None = None, source_id: str = "c-1"):
    now = frozen()
    return Contact.objects.create(
        source="pbx", source_id=source_id, caller_number="13812345678", agent=agent,
        started_at=now - dt.timedelta(minutes=began_min_ago),
        ended_at=None if ended_min_ago is None else now - dt.timedelta(minutes=ended_min_ago))


def create(actor, **kw):
    return services.create_order(actor=actor, intake=services.Intake(**{**INQUIRY, **kw}))


def refused(actor, field="contact_id", **kw) -> str:
    before = (WorkOrder.objects.count(), OrderContact.objects.count(), Contact.objects.count())
    with pytest.raises(OrderError) as exc:
        create(actor, **kw)
    assert exc.value.field == field
    assert (WorkOrder.objects.count(), OrderContact.objects.count(), Contact.objects.count()) == before
    return exc.value.message


def linked(order) -> list[int]:
    return list(OrderContact.objects.filter(order=order).values_list("contact_id", flat=True))


def test_an_agent_links_their_own_call_while_talking_and_in_after_call_work(world, frozen):
    talking = call_of(world.agent, frozen)
    assert linked(create(world.agent, contact_id=talking.pk)) == [talking.pk]
    # Two more orders of the same call; the last in after-call work, 1 h 59 min after its end.
    assert linked(create(world.agent, contact_id=talking.pk)) == [talking.pk]
    ended = call_of(world.agent, frozen, began_min_ago=130, ended_min_ago=119, source_id="c-2")
    assert linked(create(world.agent, contact_id=ended.pk)) == [ended.pk]
    assert talking.order_links.count() == 2


def test_another_agents_call_is_refused(world, frozen):
    theirs = call_of(world.agent2, frozen)
    assert refused(world.agent, contact_id=theirs.pk) == "该来电由其他座席接听：工单只能关联您本人接听的来电"
    unanswered = call_of(None, frozen, source_id="c-3")  # an abandoned call nobody took
    assert refused(world.agent, contact_id=unanswered.pk) == "该来电由其他座席接听：工单只能关联您本人接听的来电"


def test_a_call_that_ended_long_ago_is_refused_within_a_configurable_window(world, frozen):
    old = call_of(world.agent, frozen, began_min_ago=3 * 24 * 60, ended_min_ago=3 * 24 * 60 - 10)
    assert refused(world.agent, contact_id=old.pk) == "该来电已结束超过 2 小时：工单只能关联本人当前或刚结束的来电"
    ended = call_of(world.agent, frozen, began_min_ago=200, ended_min_ago=180, source_id="c-2")
    assert "超过 2 小时" in refused(world.agent, contact_id=ended.pk)
    policy.set_value(key=policies.CONTACT_LINK_HOURS, value="4", user=world.admin)
    assert linked(create(world.agent, contact_id=ended.pk)) == [ended.pk]
    assert "超过 4 小时" in refused(world.agent, contact_id=old.pk)


def test_a_call_whose_end_never_arrived_is_current_only_for_a_while(world, frozen):
    lost_end = call_of(world.agent, frozen, began_min_ago=13 * 60)
    assert refused(world.agent, contact_id=lost_end.pk) == (
        "该来电开始已超过 12 小时且一直未收到结束：工单只能关联本人当前或刚结束的来电")
    long_call = call_of(world.agent, frozen, began_min_ago=3 * 60, source_id="c-2")  # a long call still going
    assert linked(create(world.agent, contact_id=long_call.pk)) == [long_call.pk]


def test_a_shift_leader_links_any_call_of_their_center_not_another_centers(world, frozen):
    theirs = call_of(world.agent2, frozen, began_min_ago=3 * 24 * 60, ended_min_ago=3 * 24 * 60 - 10)
    assert linked(create(world.leader, contact_id=theirs.pk)) == [theirs.pk]
    assert linked(create(world.director, contact_id=theirs.pk)) == [theirs.pk]
    other_center = org.create_unit(name="另一客服中心", code="t-center2", kind="center", parent=world.county)
    other_leader = org.create_user(username="t-leader2", password=PASSWORD, role=Role.SHIFT_LEADER, unit=other_center)
    other_agent = org.create_user(username="t-agent9", password=PASSWORD, role=Role.AGENT, unit=other_center)
    assert refused(other_leader, contact_id=theirs.pk) == "该来电属于其他中心：工单只能关联本中心的来电"
    of_other = call_of(other_agent, frozen, source_id="c-9")
    assert "其他中心" in refused(world.leader, contact_id=of_other.pk)
    # An administrator may link any call.
    assert linked(services.create_order(actor=world.admin, intake=services.Intake(**INQUIRY, contact_id=of_other.pk))) == [
        of_other.pk]


def test_describing_an_existing_call_by_its_source_id_is_the_same_link(world, frozen):
    theirs = call_of(world.agent2, frozen)
    message = refused(world.agent, field="contact", contact={"source": "pbx", "source_id": "c-1"})
    assert message == "该来电由其他座席接听：工单只能关联您本人接听的来电"
    mine = call_of(world.agent, frozen, source_id="c-2")
    order = create(world.agent, contact={"source": "pbx", "source_id": "c-2", "recording_ref": "r.wav"})
    assert linked(order) == [mine.pk] and theirs.order_links.count() == 0
    # A contact is its source and id together: another source's "c-1" is not the other agent's call.
    order = create(world.agent, contact={"source": "web-chat", "source_id": "c-1", "channel": "web"})
    other = Contact.objects.get(pk=linked(order)[0])
    assert (other.source, other.source_id, other.agent) == ("web-chat", "c-1", world.agent) and other != theirs


def test_a_chase_up_from_another_agents_call_is_refused(world, frozen):
    order = create(world.agent)
    frozen.advance(minutes=10)
    theirs = call_of(world.agent2, frozen)
    with pytest.raises(OrderError) as exc:
        services.chase_up(order=order.number, actor=world.agent, note="还没人联系我", contact_id=theirs.pk)
    assert exc.value.field == "contact_id" and "其他座席" in exc.value.message
    assert not WorkOrder.objects.filter(chased_order=order).exists()


def _client(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def test_the_intake_page_refuses_another_agents_call_and_keeps_the_input(world, frozen):
    theirs = call_of(world.agent2, frozen)
    c = _client(world.agent)
    form = {"contact_id": theirs.pk, "business_type": "inquiry", "sub_class": "bill", "description": "咨询本月电费为何偏高",
            "caller_phone": "13812345678", "caller_name": "张伟", "reply_wanted": "on"}
    r = c.post("/intake/", form)
    assert r.status_code == 400
    html = r.content.decode()
    assert "该来电由其他座席接听：工单只能关联您本人接听的来电" in html
    assert "咨询本月电费为何偏高" in html and 'value="张伟"' in html and f'name="contact_id" value="{theirs.pk}"' in html
    assert "不关联此来电，直接保存工单" in html and 'name="unlink_contact"' in html
    assert not WorkOrder.objects.exists()
    # The agent saves it without that call: the intake itself is its contact.
    r = c.post("/intake/", {**form, "unlink_contact": "on"})
    assert r.status_code == 302, r.content.decode()[:2000]
    order = WorkOrder.objects.get()
    assert linked(order) != [theirs.pk] and theirs.order_links.count() == 0
    assert Contact.objects.get(pk=linked(order)[0]).agent == world.agent


def test_the_api_refuses_another_agents_call(world, frozen):
    theirs = call_of(world.agent2, frozen)
    r = _client(world.agent).post("/api/orders", data=json.dumps({**INQUIRY, "contact_id": theirs.pk}),
                                  content_type="application/json")
    assert r.status_code == 422, r.content
    assert r.json()["detail"] == [{"loc": ["contact_id"], "msg": "该来电由其他座席接听：工单只能关联您本人接听的来电",
                                   "type": "value_error"}]
    assert not WorkOrder.objects.exists() and theirs.order_links.count() == 0
    mine = call_of(world.agent, frozen, source_id="c-2")
    r = _client(world.agent).post("/api/orders", data=json.dumps({**INQUIRY, "contact_id": mine.pk}),
                                  content_type="application/json")
    assert r.status_code == 201, r.content
    assert mine.order_links.count() == 1


# --- calls from the switch: the agent a call rings, and every agent it reached ------------------

@pytest.fixture
def switch(db):
    from hotline.calls import services as calls

    return calls.create_source(name="acd-1", kind="http")


def test_the_agent_a_call_rings_links_it_before_answering(world, frozen, switch):
    from hotline.calls import services as calls
    from hotline.calls.models import Call
    from hotline.calls.tests.events import ev

    calls.ingest(switch, [ev("call.offered", 0, call="r1", caller_number="13812345678"),
                          ev("call.ringing", 1, call="r1", agent="1001")])
    contact = Call.objects.get(call_id="r1").contact
    assert contact.agent is None  # nobody answered yet
    frozen.advance(seconds=2)
    assert linked(create(world.agent, contact_id=contact.pk)) == [contact.pk]
    assert "其他座席" in refused(world.agent2, contact_id=contact.pk)


def test_every_agent_a_transferred_call_reached_links_it(world, frozen, switch):
    from hotline.calls import services as calls
    from hotline.calls.models import Call
    from hotline.calls.tests.events import ev

    calls.ingest(switch, [
        ev("call.offered", 0, call="x1", queue="95598", caller_number="13812345678"),
        ev("call.answered", 5, call="x1", queue="95598", agent="1001"),
        ev("call.transferred", 60, call="x1", queue="95598", agent="1001", target="complaint", ends_call=True),
        ev("call.offered", 61, call="x1", queue="complaint", caller_number="13812345678"),
        ev("call.answered", 70, call="x1", queue="complaint", agent="1002"),
    ])
    contact = Call.objects.filter(call_id="x1").first().contact
    assert contact.agent == world.agent  # the first to answer
    frozen.advance(seconds=100)
    assert linked(create(world.agent2, contact_id=contact.pk)) == [contact.pk]
    assert linked(create(world.agent, contact_id=contact.pk)) == [contact.pk]
