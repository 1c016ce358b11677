"""The daily report reads a fixed number of queries (C4c): set-based
aggregates grouped by agent, not a query per order or per agent, so a
center of hundreds of agents and thousands of orders a day opens it in
the same few hundred queries as a small one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.calls import services as calls
from hotline.calls.models import Call
from hotline.calls.tests.events import call
from hotline.core import cache
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.reports import selectors
from hotline.reports.models import Team
from hotline.reports.tests.conftest import act, complaint, local
from hotline.reports.tests.test_daily import WEDNESDAY, seconds_to
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


def grow(world, frozen, http_source, start: int, n: int) -> None:
    """On Wednesday: ``n`` more agents (numbers from 2000 + ``start``), each
    answering two calls, one of them a complaint the unit replies to and the
    center reviews the same day; a team of the new agents."""
    team, _new = Team.objects.get_or_create(center=world.center, name="乙班")
    for i in range(start, start + n):
        frozen.set(local(18, 9, i % 60))
        agent = org.create_user(username=f"grow{i}", password=PASSWORD, role=Role.AGENT, unit=world.center,
                                agent_number=f"{2000 + i}", display_name=f"员{i}")
        team.members.add(agent)
        calls.ingest(http_source, call(f"g{i}a", seconds_to(local(18, 9, i % 60)), answer=5, talk=60,
                                       agent=f"{2000 + i}", caller=f"1380000{i:04d}")
                     + call(f"g{i}b", seconds_to(local(18, 9, i % 60, 30)), answer=8, talk=40, ring=4,
                            agent=f"{2000 + i}", survey=1))
        frozen.set(local(18, 11, i % 60))
        order = complaint(world, actor=agent, customer="li",
                          contact_id=Call.objects.get(call_id=f"g{i}a").contact_id)
        act(order, "receive", world.marketing_user)
        act(order, "reply", world.marketing_user)
        act(order, "review", agent)
    frozen.set(local(19, 8))


def queries(world) -> tuple[int, selectors.DailyReport]:
    # Both counts start from an empty configuration cache (core.cache), its generation read once.
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        report = selectors.daily_report(world.center, WEDNESDAY)
    return len(captured), report


@pytest.mark.rule("C4c")
def test_the_daily_reports_queries_do_not_grow_with_its_orders_and_agents(world, frozen, http_source, monkeypatch):
    # The cache rereads its generation every 2 s of wall time: not in the middle of a slow run here.
    monkeypatch.setattr(cache, "CHECK_SECONDS", 3600.0)
    grow(world, frozen, http_source, 0, 2)
    small, before = queries(world)
    grow(world, frozen, http_source, 2, 8)
    large, after = queries(world)
    # the report did see the growth: 8 more agents with their calls and complaints, reviewed
    assert len(after.agents) == len(before.agents) + 8
    rows = {row.name: dict(zip(selectors.PERSON_METRICS, [m.value for m in row.metrics])) for row in after.agents}
    assert rows["2009 员9"]["answered"] == 2 and rows["2009 员9"]["complaints_per_answered_call"] == 0.5
    assert dict(zip(selectors.PERSON_METRICS, [m.value for m in after.teams[0].metrics]))["answered"] == 20
    correctness = selectors.CENTER_METRICS.index("work_order_correctness")
    assert after.center_metrics[correctness].value is not None
    assert (before.orders_total, after.orders_total) == (2, 10)
    assert large == small, f"{small} queries for 2 agents and orders, {large} for 10"
    assert large < 300


@pytest.mark.rule("C3n")
def test_completeness_read_for_many_orders_at_once_is_each_orders_own(world, frozen, http_source):
    from hotline.reports.tests.conftest import inquiry, repair
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.records import completeness_of, completeness_problems

    grow(world, frozen, http_source, 0, 2)
    # records the intake would refuse now (kept from before a rule): no fault scope, no sub-class
    WorkOrder.objects.filter(pk=repair(world).pk).update(fault_scope="")
    WorkOrder.objects.filter(pk=inquiry(world).pk).update(sub_class=None)
    cb = complaint(world, customer="wang")
    act(cb, "receive", world.marketing_user)
    act(cb, "reply", world.marketing_user)
    act(cb, "review", world.agent)
    act(cb, "callback", world.agent, outcome="satisfied", note="满意")  # its payload read at once too
    orders = list(WorkOrder.objects.all())
    each = {o.pk: completeness_problems(o) for o in orders}
    assert completeness_of([o.pk for o in orders]) == each
    assert {p for problems in each.values() for p in problems} >= {"no_fault_scope", "no_sub_class"}
    assert each[cb.pk] == []
