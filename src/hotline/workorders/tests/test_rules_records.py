"""Spec domain.md §11: the record kept together and complete, and the
work-order correctness KPI."""

import pytest

from hotline.contacts.models import Contact
from hotline.testing import handled
from hotline.workorders import records, services
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def create(world, actor=None, **kw):
    return services.create_order(actor=actor or world.agent, intake=services.Intake(**kw))


def act(order, action, actor, **payload):
    # A unit's resolve and reply carry the handling record its type asks.
    return services.transition(order=order.number, action=action, actor=actor, payload=handled(order, action, payload))


def complaint(world, **kw):
    data = dict(business_type="complaint", sub_class="service", description="营业厅态度差", customer_id=world.customers["li"].id)
    data.update(kw)
    return create(world, **data)


def handle(order, world, *, review="review"):
    for action in ("receive", "reply"):
        act(order, action, world.marketing_user)
    act(order, review, world.agent, **({"reason": "答复不完整"} if review == "rework" else {}))


@pytest.mark.rule("D11a")
def test_order_contacts_recording_and_satisfaction_kept_together(world, frozen):
    order = complaint(world, contact={"source": "asterisk-main", "source_id": "1700000000.42", "queue": "95598",
                                      "recording_ref": "/var/spool/asterisk/monitor/1700000000.42.wav"})
    handle(order, world)
    act(order, "callback", world.agent, outcome="satisfied", note="客户表示满意")
    rec = records.order_record(WorkOrder.objects.get(pk=order.pk))
    assert [c.recording_ref for c in rec.contacts] == ["/var/spool/asterisk/monitor/1700000000.42.wav"]
    assert rec.contacts[0].agent == world.agent and rec.contacts[0].queue == "95598"
    assert rec.satisfaction == "satisfied"
    assert [e.kind for e in rec.events][:2] == ["create", "dispatch"] and rec.problems == []


@pytest.mark.rule("D11a")
def test_one_call_many_orders_and_a_chase_up_call_joins_the_order(world, frozen):
    call = Contact.objects.create(source="asterisk-main", source_id="1700000001.7", caller_number="13812345678",
                                  started_at=frozen(), agent=world.agent)
    a = create(world, business_type="repair", sub_class="lv", description="停电", fault_scope="company",
               customer_id=world.customers["zhang"].id, contact_id=call.pk)
    b = complaint(world, customer_id=world.customers["zhang"].id, contact_id=call.pk)
    assert set(call.order_links.values_list("order__number", flat=True)) == {a.number, b.number}
    frozen.advance(minutes=10)
    chase = services.chase_up(order=a.number, actor=world.agent, note="还没来人")
    contacts_of_a = records.order_record(WorkOrder.objects.get(pk=a.pk)).contacts
    assert len(contacts_of_a) == 2 and contacts_of_a[0] == call
    assert records.order_record(chase).contacts == [contacts_of_a[1]]


@pytest.mark.rule("D11a")
def test_the_same_contact_from_a_source_is_recorded_once(world, frozen):
    described = {"source": "asterisk-main", "source_id": "1700000002.1", "caller_number": "0571-87654321"}
    a = complaint(world, contact=described)
    b = complaint(world, customer_id=world.customers["wang"].id, contact=dict(described, recording_ref="r.wav"))
    assert Contact.objects.filter(source="asterisk-main", source_id="1700000002.1").count() == 1
    contact = Contact.objects.get(source_id="1700000002.1")
    assert contact.recording_ref == "r.wav" and contact.caller_number == "057187654321"
    assert {a.pk, b.pk} == set(contact.order_links.values_list("order_id", flat=True))


@pytest.mark.rule("D11b")
def test_correctness_counts_reviewed_orders_that_passed_and_are_complete(world, frozen):
    good = complaint(world)
    handle(good, world)
    reworked = complaint(world, customer_id=world.customers["wang"].id)
    handle(reworked, world, review="rework")
    not_reviewed = complaint(world, customer_id=world.customers["zhang"].id)
    kpi = records.correctness(WorkOrder.objects.filter(pk__in=[good.pk, reworked.pk, not_reviewed.pk]))
    assert kpi == {"reviewed": 2, "correct": 1, "rate": 0.5}
    assert records.correctness(WorkOrder.objects.none())["rate"] is None


@pytest.mark.rule("D11b")
def test_an_incomplete_record_fails_even_when_reviewed(world, frozen):
    order = complaint(world)
    handle(order, world)
    # The order lost its contact link: the record is no longer complete.
    order.contact_links.all().delete()
    assert records.completeness_problems(WorkOrder.objects.get(pk=order.pk)) == ["no_contact"]
    assert records.correctness(WorkOrder.objects.filter(pk=order.pk))["correct"] == 0


@pytest.mark.rule("D11b", "D3.1a")
def test_completeness_checks_of_a_repair_report(world, frozen):
    order = create(world, business_type="repair", sub_class="lv", description="停电", fault_scope="company",
                   caller_name="", caller_phone="13600009999", address="城关镇南街社区")
    assert records.completeness_problems(order) == ["no_caller"]
    full = create(world, business_type="repair", sub_class="lv", description="停电", fault_scope="company",
                  caller_name="赵六", caller_phone="13600009998", address="城关镇南街社区")
    assert records.completeness_problems(full) == []
