"""The one in-process dispatcher (core.dispatch): receivers run in the
publisher's transaction, in order; keyed receivers are one per key; a
required topic nobody receives fails loudly."""

import pytest
from django.db import transaction

from hotline.core import dispatch
from hotline.core import clock
from hotline.core.models import PolicySetting


@pytest.fixture
def topic():
    name = "test.topic"
    yield name
    dispatch._receivers.pop(name, None)


def test_receivers_run_in_order_and_return_their_results(topic):
    seen = []
    a = lambda **kw: seen.append(("a", kw)) or 1  # noqa: E731
    b = lambda **kw: seen.append(("b", kw)) or 2  # noqa: E731
    dispatch.subscribe(topic, a)
    dispatch.subscribe(topic, b)
    dispatch.subscribe(topic, a)  # twice is once
    assert dispatch.publish(topic, x=1) == [1, 2]
    assert seen == [("a", {"x": 1}), ("b", {"x": 1})]
    dispatch.unsubscribe(topic, a)
    assert dispatch.publish(topic, x=2) == [2]


def test_a_keyed_receiver_is_the_only_one_for_its_key(topic):
    dispatch.subscribe(topic, lambda **kw: "old", key="k")
    dispatch.subscribe(topic, lambda **kw: "new", key="k")
    dispatch.subscribe(topic, lambda **kw: "other", key="j")
    assert dispatch.publish(topic, key="k") == ["new"]
    with pytest.raises(LookupError):
        dispatch.publish(topic, key="missing", required=True)
    assert dispatch.publish("test.nobody") == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_rolls_the_whole_change_back(topic):
    def write(**kw):
        PolicySetting.objects.create(key="test.rollback", value=kw["value"], updated_at=clock.now())

    def fail(**kw):
        raise RuntimeError("no")

    dispatch.subscribe(topic, write)
    dispatch.subscribe(topic, fail)
    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch.publish(topic, value=41)
    assert not PolicySetting.objects.filter(key="test.rollback").exists()


@pytest.mark.django_db
def test_work_orders_publish_their_creates_and_transitions(world, topic):
    from hotline.workorders import services

    seen = []
    created = lambda **kw: seen.append(("created", kw["order"].number))  # noqa: E731
    moved = lambda **kw: seen.append((kw["action"], kw["order"].state))  # noqa: E731
    dispatch.subscribe("workorders.created", created)
    dispatch.subscribe("workorders.transition", moved)
    try:
        order = services.create_order(actor=world.agent, intake=services.Intake(
            business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
            fault_scope="company"))
        services.transition(order=order, action="receive", actor=world.station_users[0])
    finally:
        dispatch.unsubscribe("workorders.created", created)
        dispatch.unsubscribe("workorders.transition", moved)
    assert seen == [("created", order.number), ("receive", "received")]
