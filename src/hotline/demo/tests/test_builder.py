"""Invariants of a small demo center (300 customers, one day of history)."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings

from hotline.demo import builder
from hotline.organisation.models import AreaClass, AreaLevel, Customer, CustomerPhone, Role, ServiceArea, Unit, User
from hotline.organisation.selectors import area_for_address
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders.models import TERMINAL, WorkOrder, WorkOrderEvent

# A Wednesday evening: repairs peak, departments have closed for the day.
NOW = dt.datetime(2025, 11, 19, 19, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One demo for the whole module (building it is the slow part), rolled back afterwards."""
    fast_hasher = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hasher:
        with transaction.atomic():
            result = builder.build(customers=300, days=1, seed=7, now=NOW)
            yield result
            transaction.set_rollback(True)


def test_organisation_has_the_county_structure(demo, db):
    county = Unit.objects.get(kind="county")
    assert [u.kind for u in county.ancestors()] == ["province", "city"]
    for kind in ("center", "dispatch_desk"):
        assert Unit.objects.filter(kind=kind, parent=county).count() == 1
    stations = Unit.objects.filter(kind="station", parent=county)
    assert stations.count() >= 3
    for station in stations:
        assert station.children.filter(kind="crew").exists(), station
    assert set(Unit.objects.filter(kind="department").values_list("function", flat=True)) >= {"marketing", "discipline", "metering"}


def test_staff_and_demo_logins(demo, db):
    agents = User.objects.filter(role=Role.AGENT)
    assert agents.count() >= 10
    assert all(a.agent_number and a.stars in (3, 4, 5) for a in agents)
    assert agents.filter(stars=3).count() == 1
    assert User.objects.filter(role=Role.SHIFT_LEADER).count() == 2
    for role, n in ((Role.DIRECTOR, 1), (Role.INSPECTOR, 1), (Role.EXPERT, 2), (Role.ADMIN, 1)):
        assert User.objects.filter(role=role).count() == n, role
    for unit in Unit.objects.filter(kind__in=["station", "department", "dispatch_desk"]):
        assert unit.users.filter(role=Role.UNIT_STAFF).exists(), unit
    usernames = {login.username for login in demo.logins}
    assert {"agent01", "agent12", "leader01", "director", "station01", "marketing", "discipline", "admin"} <= usernames
    assert usernames == set(User.objects.values_list("username", flat=True))
    assert User.objects.get(username="agent01").check_password(builder.PASSWORD)
    assert User.objects.get(username="admin").is_superuser


def test_service_areas(demo, db):
    areas = ServiceArea.objects.all()
    assert areas.count() >= 200
    assert set(areas.values_list("level", flat=True)) == set(AreaLevel.values)
    assert set(areas.values_list("area_class", flat=True)) == set(AreaClass.values)
    names = list(areas.values_list("full_name", flat=True))
    assert len(names) == len(set(names))
    assert not areas.exclude(unit__kind="station").exists()
    for area in areas.filter(level=AreaLevel.TRANSFORMER_AREA)[:50]:
        assert area.name.endswith("号台区") and area.name.startswith(area.parent.name)
    assert ServiceArea.objects.get(name="城关镇").area_class == AreaClass.URBAN


def test_every_customer_address_resolves_to_its_own_area(demo, db):
    customers = list(Customer.objects.select_related("service_area"))
    assert len(customers) == 300
    for customer in customers:
        assert area_for_address(customer.address) == customer.service_area, customer.address
        assert re.fullmatch(r"\d{10}", customer.account_number)
    assert not Customer.objects.filter(phones__isnull=True).exists()
    assert CustomerPhone.objects.filter(number__startswith="0").exists()  # some landlines
    assert CustomerPhone.objects.filter(number__startswith="1").exists()  # mostly mobiles


def test_event_histories_replay_to_the_order_state(demo, db):
    events: dict[int, list[WorkOrderEvent]] = {}
    for event in WorkOrderEvent.objects.order_by("order_id", "seq"):
        events.setdefault(event.order_id, []).append(event)
    orders = list(WorkOrder.objects.all())
    assert len(orders) >= 60
    for order in orders:
        history = events[order.pk]
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert history[0].kind == "create"
        state = ""
        for e in history:
            if e.to_state:  # chased / master_* / notice_answer events do not change the state
                assert e.from_state == state, (order.number, e.kind)
                state = e.to_state
        assert state == order.state, order.number
        assert all(e.at <= NOW for e in history)
        assert [e.at for e in history] == sorted(e.at for e in history)


def test_orders_cover_states_and_types(demo, db):
    states = set(WorkOrder.objects.values_list("state", flat=True))
    assert {"closed", "merged", "dispatched", "draft", "returned", "received", "on_site", "resolved", "replied"} <= states
    types = set(WorkOrder.objects.values_list("business_type__code", flat=True))
    assert {"repair", "inquiry", "service_request", "complaint"} <= types
    assert len(types) >= 6
    kinds = set(WorkOrderEvent.objects.values_list("kind", flat=True))
    assert {"return", "redispatch", "merge", "callback", "close", "approve"} <= kinds
    assert WorkOrder.objects.filter(master__isnull=False, state="merged").exists()
    assert demo.skipped == []  # every simulated step was one the services allow


def test_overdue_open_orders_have_supervision_notices(demo, db):
    overdue = Clock.objects.filter(status=ClockStatus.RUNNING, due_at__lte=NOW)
    assert overdue.exists()
    for clk in overdue:
        assert Notice.objects.filter(clock=clk, kind=NoticeKind.SUPERVISION, level=1).exists(), clk
    assert Notice.objects.filter(kind=NoticeKind.WARNING).exists()
    assert Notice.objects.filter(answered_at__isnull=False).exists()
    # Closed orders run no clock; a merged caller's own callback clock (D3.4c)
    # is the one clock a merged sub-order keeps running.
    running = Clock.objects.filter(status=ClockStatus.RUNNING, order__state__in=TERMINAL)
    assert not running.exclude(order__state="merged", metric="callback").exists()


@pytest.mark.rule("W4c")
def test_the_history_has_the_simulators_calls_of_every_agent(demo, db):
    from hotline.calls import kpis
    from hotline.calls.models import AgentIdentity, Call, CallEvent, EventSource, IntervalStat

    source = EventSource.objects.get(kind="simulator")
    agents = User.objects.filter(role=Role.AGENT)
    assert set(AgentIdentity.objects.filter(source=source).values_list("user_id", flat=True)) == set(
        agents.values_list("pk", flat=True))
    assert demo.calls == Call.objects.filter(source=source).count() > 100
    assert demo.call_events == CallEvent.objects.filter(source=source).count()
    assert not CallEvent.objects.filter(state="unplaced").exists()
    day = kpis.report(kpis.Period(NOW - dt.timedelta(days=1), NOW))
    assert day.offered == demo.calls and day.in_progress == 0
    assert 0.8 < day.answer_rate < 1 and day.service_level > 0.6 and day.satisfaction > 0.8
    assert day.aht_s > 100 and day.ring_pass_rate > 0.8
    assert set(Call.objects.values_list("queue", flat=True)) == {"repair", "general", "complaint"}
    assert Call.objects.filter(agent__isnull=False).values("agent").distinct().count() >= 6
    assert IntervalStat.objects.filter(minutes=60, agent_id=0).count() >= 20
    # Callers are the demo's customers most of the time (their screen pops).
    known = Call.objects.filter(caller_number__in=CustomerPhone.objects.values("number")).count()
    assert known > demo.calls / 3


@pytest.mark.rule("C4a")
def test_the_demo_centers_queues_are_its_own(demo, db):
    """Each simulated queue belongs to the demo center, whose board counts it."""
    from hotline.calls import selectors
    from hotline.planning.models import Queue

    center = Unit.objects.get(kind="center")
    assert {(q.code, q.center_id) for q in Queue.objects.all()} == {
        ("repair", center.pk), ("general", center.pk), ("complaint", center.pk)}
    assert {selectors.center_of_queue(code) for code in ("repair", "general", "complaint")} == {center.pk}
