"""Who may see and do what, for every role × scope × surface, generated from
one table (spec N4a, N4b, N4d, N4f; D4d).

Two county trees: the ``world`` fixture ("t") and a second one built beside
it ("u"), so "another center" is a real other organisation.

Users: the world's roles (``county`` is the director at the county), an
inspector at the center, an expert at marketing, unit staff at the county
office and at the center itself, and the u center's agent.

Targets:
- ``own``: a repair order of 张伟 (t, 城关供电所 = station0), recorded by the t center;
- ``sibling``: a repair order of 李娜 (t, 东山供电所 = station1);
- ``other``: a repair order of the u center's 张伟 (u, its station0);
- ``report``: a report (举报) linked to t 张伟, at the t discipline department;
- ``c_in`` / ``c_sibling`` / ``c_out`` / ``c_none``: the customers t 张伟, t 李娜,
  u 张伟, and one without a service area.

Surfaces (orders): ``page`` GET /orders/<n>/ · ``api`` GET /api/orders/<n> ·
``list`` GET /api/orders · ``events`` GET /api/orders/<n>/events · ``search``
GET /api/orders?phone= (the customer's phone) · ``card`` the order on its
customer's intake card · ``unit`` POST a unit action (receive) through the API ·
``center`` POST a center action (cancel) on the order page · ``reveal`` POST
the reporter reveal, on the page and in the API.
Surfaces (customers): ``api`` GET /api/customers?q= · ``search`` the intake
customer search · ``card`` the intake customer card.

There is no export of orders or customers yet; when one comes, it gets a
column here.

Outcomes: ``full`` seen whole · ``masked`` seen, phone masked (N4f) ·
``redacted`` seen without the reporter's customer link, name, phone, account
number and address (and never on the customer's card or found by their
phone) · ``hidden`` not found (404 / not listed) · ``allow`` / ``deny`` (403)
for actions and reveals · ``forbidden`` the page is not for this role (403) ·
``-`` not applicable.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import Client, override_settings

from hotline.core import cache, clock
from hotline.core.models import AuditEntry
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.testing import build_world
from hotline.workorders import services
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

ORDER_SURFACES = ("page", "api", "list", "events", "search", "card", "unit", "center", "reveal")
CUSTOMER_SURFACES = ("api", "search", "card")

# The one table. Order targets fill the nine order columns; customer
# targets the first three (customers: api, search, card).
TABLE = """
user         target    page      api       list      events    search    card      unit   center reveal
agent        own       full      full      full      full      full      full      deny   allow  -
agent        sibling   full      full      full      full      full      full      deny   allow  -
agent        other     hidden    hidden    hidden    hidden    hidden    hidden    hidden hidden -
agent        report    redacted  redacted  redacted  redacted  redacted  redacted  deny   allow  deny
leader       own       full      full      full      full      full      full      deny   allow  -
leader       other     hidden    hidden    hidden    hidden    hidden    hidden    hidden hidden -
leader       report    redacted  redacted  redacted  redacted  redacted  redacted  deny   allow  deny
director     own       full      full      full      full      full      full      deny   allow  -
director     other     hidden    hidden    hidden    hidden    hidden    hidden    hidden hidden -
director     report    redacted  redacted  redacted  redacted  redacted  redacted  deny   allow  allow
county       own       full      full      full      full      full      full      deny   allow  -
county       sibling   full      full      full      full      full      full      deny   allow  -
county       other     hidden    hidden    hidden    hidden    hidden    hidden    hidden hidden -
county       report    redacted  redacted  redacted  redacted  redacted  redacted  deny   allow  allow
admin        own       full      full      full      full      full      full      allow  allow  -
admin        other     full      full      full      full      full      full      allow  allow  -
admin        report    redacted  redacted  redacted  redacted  redacted  redacted  allow  allow  allow
station0     own       masked    masked    masked    masked    masked    forbidden allow  deny   -
station0     sibling   hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
station0     other     hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
station0     report    hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden hidden
station1     own       hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
station1     sibling   masked    masked    masked    masked    masked    forbidden allow  deny   -
discipline   own       hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
discipline   report    redacted  redacted  redacted  redacted  redacted  forbidden allow  deny   allow
inspector    own       masked    masked    masked    masked    masked    forbidden deny   deny   -
inspector    other     hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
inspector    report    redacted  redacted  redacted  redacted  redacted  forbidden deny   deny   deny
expert       own       hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
expert       report    hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden hidden
county_staff own       masked    masked    masked    masked    masked    forbidden allow  deny   -
county_staff other     hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
county_staff report    redacted  redacted  redacted  redacted  redacted  forbidden allow  deny   deny
center_staff own       hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden -
center_staff report    hidden    hidden    hidden    hidden    hidden    forbidden hidden hidden hidden
u_agent      own       hidden    hidden    hidden    hidden    hidden    hidden    hidden hidden -
u_agent      other     full      full      full      full      full      full      deny   allow  -
u_agent      report    hidden    hidden    hidden    hidden    hidden    hidden    hidden hidden hidden

user         target    api       search    card
agent        c_in      full      full      full
agent        c_sibling full      full      full
agent        c_out     hidden    hidden    hidden
agent        c_none    full      full      full
leader       c_in      full      full      full
leader       c_out     hidden    hidden    hidden
director     c_in      full      full      full
director     c_out     hidden    hidden    hidden
county       c_sibling full      full      full
county       c_out     hidden    hidden    hidden
county       c_none    full      full      full
admin        c_in      full      full      full
admin        c_out     full      full      full
station0     c_in      masked    forbidden forbidden
station0     c_sibling hidden    forbidden forbidden
station0     c_out     hidden    forbidden forbidden
station0     c_none    hidden    forbidden forbidden
station1     c_in      hidden    forbidden forbidden
station1     c_sibling masked    forbidden forbidden
discipline   c_in      hidden    forbidden forbidden
inspector    c_in      hidden    forbidden forbidden
expert       c_in      hidden    forbidden forbidden
county_staff c_in      masked    forbidden forbidden
county_staff c_out     hidden    forbidden forbidden
center_staff c_in      hidden    forbidden forbidden
u_agent      c_in      hidden    hidden    hidden
u_agent      c_out     full      full      full
u_agent      c_none    full      full      full
"""


def _cases() -> list:
    cases, columns = [], ()
    for line in TABLE.strip().splitlines():
        cells = line.split()
        if not cells:
            continue
        if cells[0] == "user":
            columns = tuple(cells[2:])
            continue
        user, target, *outcomes = cells
        assert len(outcomes) == len(columns), line
        for surface, expected in zip(columns, outcomes):
            if expected == "-":
                continue
            kind = "customer" if target.startswith("c_") else "order"
            cases.append(pytest.param(user, target, kind, surface, expected, id=f"{user}-{target}-{surface}-{expected}"))
    return cases


CASES = _cases()

PHONE = "13812345678"  # 张伟's mobile, in both trees
MASKED = "138****5678"


FROZEN_AT = dt.datetime(2026, 11, 17, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # as the ``frozen`` fixture


def _build_scene() -> dict:
    """Both trees, the four orders, the extra roles and the area-less customer."""
    world, u = build_world(prefix="t"), build_world(prefix="u")
    inspector = org.create_user(username="t-inspector", password="x", role=Role.INSPECTOR, unit=world.center)
    expert = org.create_user(username="t-expert", password="x", role=Role.EXPERT, unit=world.marketing)
    # Unit staff above the stations (county office) and at the center itself.
    county_staff = org.create_user(username="t-county-staff", password="x", role=Role.UNIT_STAFF, unit=world.county)
    center_staff = org.create_user(username="t-center-staff", password="x", role=Role.UNIT_STAFF, unit=world.center)
    nowhere = org.create_customer(account_number="t0099", name="赵无区", address="外省某地", phone_numbers=["13900009999"])

    def repair(actor, customer):
        return services.create_order(actor=actor, intake=services.Intake(
            business_type="repair", sub_class="lv", description="停电", fault_scope="company",
            customer_id=customer.id, caller_name=customer.name, caller_phone=PHONE))

    orders = {
        "own": repair(world.agent, world.customers["zhang"]),
        "sibling": repair(world.agent, world.customers["li"]),
        "other": repair(u.agent, u.customers["zhang"]),
        "report": services.create_order(actor=world.agent, intake=services.Intake(
            business_type="report", sub_class="theft", description="邻居私拉电线窃电", customer_id=world.customers["zhang"].id,
            caller_name="张伟", caller_phone=PHONE)),
    }
    assert orders["own"].assigned_unit == world.stations[0] and orders["sibling"].assigned_unit == world.stations[1]
    assert orders["other"].assigned_unit == u.stations[0] and orders["report"].assigned_unit == world.discipline
    users = {
        "agent": world.agent, "leader": world.leader, "director": world.director, "county": world.county_user,
        "admin": world.admin, "station0": world.station_users[0], "station1": world.station_users[1],
        "discipline": world.discipline_user, "inspector": inspector, "expert": expert, "county_staff": county_staff, "center_staff": center_staff, "u_agent": u.agent,
    }
    customers = {"c_in": world.customers["zhang"], "c_sibling": world.customers["li"], "c_out": u.customers["zhang"],
                 "c_none": nowhere}
    return {"users": users, "orders": {k: o.pk for k, o in orders.items()}, "customers": customers}


@pytest.fixture(scope="module")
def scene(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at its end;
    each test runs in a savepoint of it (pytest-django's ``db``), so actions a
    test takes are undone before the next."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        # As Django marks its TestCase transactions: a durable block inside
        # a test then behaves as it does in any test.
        outer._from_testcase = True
        outer.__enter__()
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]), clock.frozen(FROZEN_AT):
            data = _build_scene()
    yield data
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
        cache.clear()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _check_order_json(item: dict, order: WorkOrder, expected: str) -> None:
    if expected == "full":
        assert item["caller_phone"] == PHONE and item["customer_id"] == order.customer_id and item["address"]
    elif expected == "masked":
        assert item["caller_phone"] == MASKED and item["customer_id"] == order.customer_id
    elif expected == "redacted":
        assert item["reporter_restricted"] is True
        assert (item["customer_id"], item["caller_name"], item["caller_phone"], item["address"]) == (None, "", "", "")
    else:
        raise AssertionError(f"no JSON check for {expected}")


IDENTITY = ("张伟", "13812345678", "南街社区12号")


def _order_surface(client: Client, order: WorkOrder, surface: str, expected: str, customer) -> None:
    n = order.number
    if surface == "page":
        r = client.get(f"/orders/{n}/")
        if expected == "hidden":
            assert r.status_code == 404
            return
        html = r.content.decode()
        assert r.status_code == 200 and n in html
        if expected == "full":
            assert PHONE in html and customer.account_number in html and order.address in html
        elif expected == "masked":
            assert MASKED in html and PHONE not in html
        elif expected == "redacted":
            assert not [s for s in (*IDENTITY, customer.account_number) if s in html]
    elif surface == "api":
        r = client.get(f"/api/orders/{n}")
        if expected == "hidden":
            assert r.status_code == 404
            return
        assert r.status_code == 200
        _check_order_json(r.json(), order, expected)
    elif surface in ("list", "search"):
        url = "/api/orders?limit=500" + (f"&phone={PHONE}" if surface == "search" else "")
        r = client.get(url)
        assert r.status_code == 200
        items = {i["number"]: i for i in r.json()["items"]}
        if expected == "hidden" or (surface == "search" and expected == "redacted"):
            # A report is never found by its reporter's phone.
            assert n not in items
            return
        _check_order_json(items[n], order, expected)
    elif surface == "events":
        r = client.get(f"/api/orders/{n}/events")
        if expected == "hidden":
            assert r.status_code == 404
            return
        assert r.status_code == 200 and r.json()
        text = json.dumps(r.json(), ensure_ascii=False)
        if expected in ("masked", "redacted"):
            assert PHONE not in text
        if expected == "redacted":
            assert not [k for e in r.json() for k in e["payload"] if k in ("customer_id", "address", "caller_name", "caller_phone")]
    elif surface == "card":
        r = client.get(f"/intake/customers/{customer.pk}/")
        if expected == "forbidden":
            assert r.status_code == 403
        elif expected == "hidden":
            assert r.status_code == 404 or (r.status_code == 200 and n not in r.content.decode())
        else:
            assert r.status_code == 200
            listed = n in r.content.decode()
            assert listed if expected == "full" else not listed
    elif surface == "unit":
        r = client.post(f"/api/orders/{n}/transitions", data=json.dumps({"action": "receive"}), content_type="application/json")
        assert r.status_code == {"allow": 200, "deny": 403, "hidden": 404}[expected], r.content
        order.refresh_from_db()
        assert (order.state == "received") == (expected == "allow")
    elif surface == "center":
        r = client.post(f"/orders/{n}/act/", {"action": "cancel", "reason": "客户撤销"})
        assert r.status_code == {"allow": 302, "deny": 403, "hidden": 404}[expected]
        order.refresh_from_db()
        assert (order.state == "cancelled") == (expected == "allow")
    elif surface == "reveal":
        status = {"allow": 200, "deny": 403, "hidden": 404}[expected]
        page = client.post(f"/orders/{n}/reporter/")
        api = client.post(f"/api/orders/{n}/reporter")
        assert (page.status_code, api.status_code) == (status, status)
        reveals = AuditEntry.objects.filter(action="view_reporter", object_id=str(order.pk)).count()
        if expected == "allow":
            assert "13812345678" in page.content.decode() and api.json()["phone"] == "13812345678"
            assert api.json()["customer_id"] == customer.pk and "南街社区12号" in api.json()["address"]
            assert reveals == 2
        else:
            assert reveals == 0
    else:
        raise AssertionError(surface)


def _customer_surface(client: Client, customer, surface: str, expected: str) -> None:
    if surface == "api":
        r = client.get(f"/api/customers?q={customer.account_number}")
        assert r.status_code == 200
        found = {c["id"]: c for c in r.json()}
        if expected == "hidden":
            assert customer.pk not in found
            return
        phones = found[customer.pk]["phones"]
        number = customer.phones.first().number
        if expected == "masked":
            assert number not in phones and phones[0].count("*") == 4
        else:
            assert number in phones
    elif surface == "search":
        r = client.get(f"/intake/customers/?q={customer.account_number}")
        if expected == "forbidden":
            assert r.status_code == 403
            return
        assert r.status_code == 200
        assert (customer.account_number in r.content.decode()) == (expected == "full")
    elif surface == "card":
        r = client.get(f"/intake/customers/{customer.pk}/")
        assert r.status_code == {"full": 200, "hidden": 404, "forbidden": 403}[expected]
        if expected == "full":
            assert customer.account_number in r.content.decode()
    else:
        raise AssertionError(surface)


@pytest.mark.rule("N4a")
@pytest.mark.rule("N4b")
@pytest.mark.rule("N4d")
@pytest.mark.rule("N4e")
@pytest.mark.rule("N4f")
@pytest.mark.rule("D4d")
@pytest.mark.parametrize("user,target,kind,surface,expected", CASES)
def test_permission(scene, frozen, user, target, kind, surface, expected):
    client = _client(scene["users"][user])
    if kind == "order":
        order = WorkOrder.objects.select_related("customer").get(pk=scene["orders"][target])
        customer = order.customer
        _order_surface(client, order, surface, expected, customer)
    else:
        _customer_surface(client, scene["customers"][target], surface, expected)


def test_the_table_covers_every_role_and_scope():
    """Every user of the scene meets an own-scope and an out-of-scope target,
    and every role of the model is in the table."""
    rows = {(c.values[0], c.values[1]) for c in CASES}
    users = {u for u, _ in rows}
    assert users == {"agent", "leader", "director", "county", "admin", "station0", "station1", "discipline", "inspector",
                     "expert", "county_staff", "center_staff", "u_agent"}
    roles = {"agent": Role.AGENT, "leader": Role.SHIFT_LEADER, "director": Role.DIRECTOR, "station0": Role.UNIT_STAFF,
             "inspector": Role.INSPECTOR, "expert": Role.EXPERT, "admin": Role.ADMIN}
    assert set(roles.values()) == set(Role.values)
    for user in users:
        targets = {t for u, t in rows if u == user}
        assert targets & {"own", "sibling", "other", "report"} and targets & {"c_in", "c_sibling", "c_out", "c_none"}
    surfaces = {c.values[3] for c in CASES if c.values[2] == "order"}
    assert surfaces == set(ORDER_SURFACES)
