"""Answered calls that need no order (C3y): marked at wrap-up on the desk
with a reason, or linked to the order they were about; the omission rate
leaves the first out of its requests, the second is its order's to handle."""

from __future__ import annotations

import pytest

from hotline.calls import dispositions
from hotline.calls import policies as call_policies
from hotline.calls import services as calls
from hotline.calls.models import Call, CallDisposition
from hotline.calls.tests.events import call
from hotline.core import policy
from hotline.reports import kpis
from hotline.reports.kpis import Ratio, Scope
from hotline.reports.tests.conftest import complaint
from hotline.reports.tests.test_kpis_calls import TUESDAY, calls_day, from_call  # noqa: F401 (a fixture)
from hotline.workorders.models import OrderContact, WorkOrder

pytestmark = pytest.mark.django_db


def c(call_id: str) -> Call:
    return Call.objects.get(call_id=call_id)


@pytest.mark.rule("C3y")
@pytest.mark.usefixtures("calls_day")
def test_a_call_marked_as_needing_no_order_is_no_service_request(world):
    center = Scope(unit=world.center)
    assert kpis.omission_rate(TUESDAY, center) == Ratio(3, 9, 1 / 3)  # c7 gave no order: unhandled
    mark = dispositions.mark(user=world.agent, call=c("c7"), reason="wrong_number", note="打错了")
    # c7 leaves both counts; the other omissions stay
    assert kpis.omission_rate(TUESDAY, center) == Ratio(2, 8, 0.25)
    # the agent's: c1, c2, c5 and the web orders w1, w2 they own (w2 closed without its callback)
    assert kpis.omission_rate(TUESDAY, Scope(unit=world.center, agent=world.agent)) == Ratio(1, 5, 0.2)
    # the daily report's per-agent counts say the same
    people = kpis.person_counts(TUESDAY, world.center, [world.agent.pk], ring_limit_s=9)
    counts, _complaints = people.of([world.agent.pk])
    assert (counts.unhandled, counts.requests) == (1, 5)
    assert (mark.call, mark.contact_id, mark.agent, mark.order) == (c("c7"), c("c7").contact_id, world.agent, None)


@pytest.mark.rule("C3y")
@pytest.mark.usefixtures("calls_day")
def test_a_call_neither_ordered_nor_marked_stays_an_omission_and_a_mark_yields_to_an_order(world, frozen):
    center = Scope(unit=world.center)
    dispositions.mark(user=world.agent, call=c("c7"), reason="silent")
    assert kpis.omission_rate(TUESDAY, center) == Ratio(2, 8, 0.25)
    # an order recorded from the call after all: a request again, and handled
    frozen.set(c("c7").ended_at)
    from_call(frozen, "c7", lambda **kw: complaint(world, customer="wang", **kw))
    assert kpis.omission_rate(TUESDAY, center) == Ratio(2, 9, 2 / 9)


@pytest.mark.rule("C3y")
@pytest.mark.usefixtures("calls_day")
def test_a_call_about_an_existing_order_is_linked_to_it_and_handled_by_it(world, http_source, frozen):
    center = Scope(unit=world.center)
    frozen.set(TUESDAY.start.replace(hour=15))
    calls.ingest(http_source, call("c10", 20_000, answer=3, talk=50))
    assert kpis.omission_rate(TUESDAY, center) == Ratio(4, 10, 0.4)
    order = WorkOrder.objects.filter(contact_links__contact=c("c1").contact, business_type__code="complaint").get()
    with pytest.raises(dispositions.DispositionError) as refused:
        dispositions.mark(user=world.agent, call=c("c10"), reason=dispositions.EXISTING_ORDER)
    assert refused.value.field == "order"
    mark = dispositions.mark(user=world.agent, call=c("c10"), reason=dispositions.EXISTING_ORDER,
                             order_number=order.number)
    assert mark.order == order
    assert OrderContact.objects.get(order=order, contact=c("c10").contact).kind == OrderContact.Kind.CHASE
    # the order's history says the customer called about it again
    linked = order.events.get(kind="call_linked")
    assert (linked.actor, linked.payload) == (world.agent, {"contact_id": c("c10").contact_id})
    # a request, handled by its order
    assert kpis.omission_rate(TUESDAY, center) == Ratio(3, 10, 0.3)


@pytest.mark.rule("C3y")
@pytest.mark.usefixtures("calls_day")
def test_only_the_agents_own_answered_call_is_marked_with_a_configured_reason(world):
    for user, call_id, reason, field in ((world.agent2, "c7", "silent", "call"),  # not theirs
                                         (world.agent, "c4", "silent", "call"),  # abandoned
                                         (world.agent, "c7", "nap", "reason")):  # no such reason
        with pytest.raises(dispositions.DispositionError) as refused:
            dispositions.mark(user=user, call=c(call_id), reason=reason)
        assert refused.value.field == field
    assert not CallDisposition.objects.exists()
    policy.set_value(key=call_policies.NO_ORDER_REASONS, value="silent，停电通知回访", user=world.admin)
    assert [code for code, _label in dispositions.reasons()] == ["silent", "停电通知回访"]
    dispositions.mark(user=world.agent, call=c("c7"), reason="停电通知回访")
    assert kpis.omission_rate(TUESDAY, Scope(unit=world.center)) == Ratio(2, 8, 0.25)


@pytest.mark.rule("C3y")
@pytest.mark.usefixtures("calls_day")
def test_the_desk_lists_calls_to_wrap_up_and_marks_one(world, client):
    from hotline.testing import PASSWORD

    client.login(username=world.agent.username, password=PASSWORD)
    page = client.get("/calls/desk/wrapup/").content.decode()
    assert f'data-open-call="{c("c7").pk}"' in page and f'data-open-call="{c("c1").pk}"' not in page
    assert "无需工单" in page and "打错电话" in page
    desk = client.get("/calls/desk/").content.decode()
    assert "/calls/desk/wrapup/" in desk
    answer = client.post("/calls/desk/wrapup/", {"call": c("c7").pk, "reason": "hung_up"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    text = answer.content.decode()
    assert f'data-open-call="{c("c7").pk}"' not in text and 'data-disposition="hung_up"' in text
    assert CallDisposition.objects.get().reason == "hung_up"
    # another agent's call is refused, with why, in Chinese
    client.login(username=world.agent2.username, password=PASSWORD)
    refused = client.post("/calls/desk/wrapup/", {"call": c("c7").pk, "reason": "silent"}, HTTP_HX_REQUEST="true")
    assert "这不是您接听的电话" in refused.content.decode()
    assert CallDisposition.objects.count() == 1
