import pytest

from hotline.testing import handled
from hotline.timelimits.models import Clock, ClockStatus
from hotline.workorders import services
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError
from hotline.workorders.models import State, WorkOrderEvent

pytestmark = pytest.mark.django_db


def repair(world, **kw):
    data = dict(business_type="repair", sub_class="lv", description="家里停电了", customer_id=world.customers["zhang"].id,
                caller_phone="138 1234 5678", fault_scope="company")
    data.update(kw)
    return services.create_order(actor=world.agent, intake=services.Intake(**data))


def test_repair_is_dispatched_to_the_station_serving_the_address(world, frozen):
    order = repair(world)
    assert order.state == State.DISPATCHED
    assert order.assigned_unit == world.stations[0]
    assert order.number.startswith("GZ261117")
    kinds = list(WorkOrderEvent.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds == ["create", "dispatch"]
    clocks = {c.metric: c for c in Clock.objects.filter(order=order)}
    assert clocks["dispatch"].status == ClockStatus.MET
    assert clocks["accept"].status == ClockStatus.RUNNING
    assert (clocks["arrival"].due_at - clocks["arrival"].started_at).total_seconds() == 45 * 60  # urban
    assert (clocks["restoration"].due_at - clocks["restoration"].started_at).total_seconds() == 3 * 3600


def test_full_repair_life_cycle(world, frozen):
    order = repair(world)
    station = world.station_users[0]
    for action in ["receive", "arrive", "resolve", "reply"]:
        frozen.advance(minutes=2)
        order = services.transition(order=order, action=action, actor=station, payload=handled(order, action))
    assert order.state == State.REPLIED
    order = services.transition(order=order, action="review", actor=world.agent)
    frozen.advance(hours=2)
    order = services.transition(order=order, action="callback", actor=world.agent,
                                payload={"outcome": "satisfied", "note": "客户说：很满意，来得很快"})
    order = services.transition(order=order, action="close", actor=world.agent)
    assert order.state == State.CLOSED and order.closed_at is not None
    seqs = list(WorkOrderEvent.objects.filter(order=order).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    statuses = dict(Clock.objects.filter(order=order).values_list("metric", "status"))
    assert statuses == {"dispatch": "met", "accept": "met", "arrival": "met", "restoration": "met", "callback": "met",
                        "progress_first": "met"}  # resolved within 4 h on site: no progress report owed (D3.6c)


def test_rural_area_gets_the_rural_arrival_limit(world, frozen):
    order = repair(world, customer_id=world.customers["li"].id, caller_phone="0571-87654321")
    assert order.assigned_unit == world.stations[1]
    arrival = Clock.objects.get(order=order, metric="arrival")
    assert (arrival.due_at - arrival.started_at).total_seconds() == 90 * 60


def test_another_station_cannot_touch_the_order(world, frozen):
    order = repair(world)
    with pytest.raises(NotAllowed):
        services.transition(order=order, action="receive", actor=world.station_users[1])
    with pytest.raises(NotAllowed):
        services.transition(order=order, action="receive", actor=world.marketing_user)
    with pytest.raises(NotAllowed):
        services.transition(order=order, action="cancel", actor=world.station_users[0], payload={"reason": "x"})


def test_illegal_transition_is_refused_and_nothing_written(world, frozen):
    order = repair(world)
    before = WorkOrderEvent.objects.count()
    with pytest.raises(TransitionError):
        services.transition(order=order, action="resolve", actor=world.station_users[0])
    with pytest.raises(OrderError) as unknown:
        services.transition(order=order, action="fly", actor=world.station_users[0])
    assert unknown.value.field == "action"
    assert WorkOrderEvent.objects.count() == before


def test_bad_input_names_the_field(world, frozen):
    with pytest.raises(OrderError) as e:
        repair(world, business_type="nonsense")
    assert e.value.field == "business_type"
    with pytest.raises(OrderError) as e:
        repair(world, sub_class="zzz")
    assert e.value.field == "sub_class"
    with pytest.raises(OrderError) as e:
        repair(world, fault_scope="")
    assert e.value.field == "fault_scope"
    with pytest.raises(OrderError) as e:
        repair(world, caller_phone="abc", customer_id=None)
    assert e.value.field == "caller_phone"
    with pytest.raises(OrderError) as e:
        repair(world, description="   ")
    assert e.value.field == "description"
