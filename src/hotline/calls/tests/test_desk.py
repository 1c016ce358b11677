"""The agent desk (issue 10, C2): state set from the agent's page through the
one ingest path, the screen pop of a ringing call, the key that starts an
order linked to the call, escalations, and the shell hook that puts the
pop on other apps' pages."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.calls import services as calls
from hotline.calls.desk import selectors as desk_selectors
from hotline.calls.desk import services as desk
from hotline.calls.models import (
    AgentState,
    AgentStateEvent,
    AgentStateKind,
    Call,
    CallEvent,
    Escalation,
    EventSource,
    SourceKind,
)
from hotline.calls.tests.events import ev
from hotline.core import clock, policy
from hotline.organisation import services as org
from hotline.organisation.models import MarkedNumber, Role, SpecialMark
from hotline.testing import PASSWORD
from hotline.workorders import services as orders
from hotline.workorders.models import OrderContact

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def _login(user):
        client.logout()
        assert client.login(username=user.username, password=PASSWORD)
        return client
    return _login


def ring(source, call_id="c1", *, caller="13812345678", agent="1001", t=0.0, **offered):
    """A call offered and ringing the agent (1001 is world.agent's number)."""
    return calls.ingest(source, [ev("call.offered", t, call=call_id, caller_number=caller, **offered),
                                 ev("call.ringing", t + 1, call=call_id, agent=agent)])


def state_of(user) -> AgentState:
    return AgentState.objects.get(user=user)


# --- state from the desk ---------------------------------------------------------------

@pytest.mark.rule("C1c")
def test_a_state_set_on_the_desk_is_an_event_of_the_desk_source_and_moves_the_state(world, frozen):
    agent = world.agent
    desk.set_state(user=agent, action="sign_in")
    frozen.advance(seconds=5)
    desk.set_state(user=agent, action="ready")
    assert state_of(agent).state == AgentStateKind.READY and state_of(agent).since == clock.now()
    frozen.advance(minutes=20)
    state = desk.set_state(user=agent, action="not_ready", reason="meeting")
    assert (state.state, state.reason, state.since) == (AgentStateKind.NOT_READY, "meeting", clock.now())

    source = EventSource.objects.get(kind=SourceKind.DESK)
    events = list(CallEvent.objects.filter(source=source).order_by("occurred_at", "id"))
    assert [e.type for e in events] == ["agent.login", "agent.ready", "agent.not_ready"]
    assert events[-1].payload == {"reason": "meeting"} and all(e.state == "placed" for e in events)
    # The history is the ingest's own: one row per event, append-only.
    history = list(AgentStateEvent.objects.filter(user=agent).order_by("at", "id"))
    assert [(h.state, h.reason) for h in history] == [("ready", ""), ("ready", ""), ("not_ready", "meeting")]
    assert {h.event.source_id for h in history} == {source.pk}


@pytest.mark.rule("C1c")
def test_after_call_work_from_the_desk_and_a_pause_during_a_call(world, frozen, http_source):
    agent = world.agent
    desk.set_state(user=agent, action="ready")
    ring(http_source)
    calls.ingest(http_source, [ev("call.answered", 3, call="c1", agent="1001"),
                               ev("call.ended", 60, call="c1", agent="1001")])
    frozen.advance(seconds=60)
    # Paused while the switch's call is on: the call activity shows, the pause after.
    assert state_of(agent).state == AgentStateKind.READY
    desk.set_state(user=agent, action="wrapup_start")
    assert state_of(agent).state == AgentStateKind.WRAP_UP
    frozen.advance(seconds=30)
    desk.set_state(user=agent, action="not_ready", reason="break")
    assert state_of(agent).state == AgentStateKind.WRAP_UP  # the after-call work goes on
    frozen.advance(seconds=10)
    desk.set_state(user=agent, action="wrapup_end")
    state = state_of(agent)
    assert (state.state, state.reason, state.since) == (AgentStateKind.NOT_READY, "break", clock.now())


def test_after_call_work_cannot_start_during_the_call(world, frozen, http_source):
    ring(http_source)
    calls.ingest(http_source, [ev("call.answered", 3, call="c1", agent="1001")])
    with pytest.raises(desk.DeskError) as refused:
        desk.set_state(user=world.agent, action="wrapup_start")
    assert refused.value.field == "action" and state_of(world.agent).state == AgentStateKind.TALKING
    assert not CallEvent.objects.filter(type="agent.wrapup_started").exists()


def test_the_switch_ringing_the_agent_wins_over_an_earlier_desk_state(world, frozen, http_source):
    desk.set_state(user=world.agent, action="ready")
    frozen.advance(seconds=1)
    ring(http_source, t=1)
    state = state_of(world.agent)
    assert state.state == AgentStateKind.RINGING and state.activity_call.call_id == "c1"


def test_the_not_ready_reasons_are_the_configured_ones(world, frozen):
    codes = [code for code, _label in desk.not_ready_reasons()]
    assert codes[:4] == ["break", "meal", "meeting", "training"]
    with pytest.raises(desk.DeskError) as refused:
        desk.set_state(user=world.agent, action="not_ready", reason="nap")
    assert refused.value.field == "reason"
    with pytest.raises(desk.DeskError):
        desk.set_state(user=world.agent, action="not_ready")
    policy.set_value(key="calls.not_ready_reasons", value="training，应急值守, break", user=world.admin)
    assert desk.not_ready_reasons() == [("training", "培训"), ("应急值守", "应急值守"), ("break", "小休")]
    assert desk.set_state(user=world.agent, action="not_ready", reason="应急值守").reason == "应急值守"
    with pytest.raises(desk.DeskError):
        desk.set_state(user=world.agent, action="not_ready", reason="meeting")  # no longer offered


def test_only_center_staff_have_a_desk(world):
    with pytest.raises(desk.DeskError):
        desk.set_state(user=world.station_users[0], action="ready")
    with pytest.raises(desk.DeskError):
        desk.set_state(user=world.agent, action="dance")
    assert not CallEvent.objects.exists()


def test_the_desk_page_changes_the_state_without_a_reload(world, frozen, login):
    client = login(world.agent)
    page = client.get("/calls/desk/")
    assert page.status_code == 200 and 'data-desk-action="sign_in"' in page.content.decode()
    answer = client.post("/calls/desk/state/", {"action": "sign_in", "full": "1"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and 'id="desk-live"' in answer.content.decode()
    # A reason chosen from the not-ready menu is the pause.
    answer = client.post("/calls/desk/state/", {"reason": "training", "full": "1"}, headers={"HX-Request": "true"})
    html = answer.content.decode()
    assert answer.status_code == 200 and 'data-desk-state="not_ready"' in html and 'data-history="not_ready"' in html
    assert state_of(world.agent).reason == "training"
    # Refused: shown in the region (htmx swaps 2xx only), nothing recorded.
    answer = client.post("/calls/desk/state/", {"action": "not_ready", "reason": "nap"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and 'role="alert"' in answer.content.decode()
    assert state_of(world.agent).reason == "training"
    # Without htmx: back to the page, with the message.
    answer = client.post("/calls/desk/state/", {"action": "ready", "next": "/intake/"})
    assert answer.status_code == 302 and answer["Location"] == "/intake/"
    assert client.post("/calls/desk/state/", {"action": "ready", "next": "https://evil.example/"})["Location"] == \
        "/calls/desk/"


# --- the screen pop ----------------------------------------------------------------------

@pytest.fixture
def caller(world):
    """Everything the pop shows about 张伟 (13812345678, area 南街1号台区):
    an outage over the address, arrears, an open order, a harassment mark."""
    desk_user = org.create_user(username="t-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk)
    from hotline.outages import services as outages
    from hotline.outages.models import OutageClass

    start = clock.now() - dt.timedelta(hours=1)
    outage = outages.draft(actor=desk_user, publish=True, data=outages.OutageInput(
        outage_class=OutageClass.TEMPORARY, area_ids=[world.areas["t0"].pk], planned_start=start,
        planned_end=start + dt.timedelta(hours=5), reason="10kV城关线临时检修"))
    zhang = world.customers["zhang"]
    zhang.special_mark = SpecialMark.ARREARS
    zhang.save()
    order = orders.create_order(actor=world.agent2, intake=orders.Intake(
        business_type="repair", sub_class="lv", description="家里没电", fault_scope="company",
        customer_id=zhang.pk, caller_phone="13812345678"))
    MarkedNumber.objects.create(number="13812345678", mark=SpecialMark.MALICIOUS, note="多次辱骂坐席")
    return {"customer": zhang, "outage": outage, "order": order}


@pytest.mark.rule("C2a")
def test_the_pop_of_a_ringing_call_shows_the_caller(world, frozen, http_source, caller):
    ring(http_source)
    pop = desk_selectors.pop(world.agent, desk_selectors.state(world.agent))
    assert pop is not None and pop.ringing and pop.call.call_id == "c1"
    assert pop.caller_number == "13812345678"
    assert [f.customer for f in pop.customers] == [caller["customer"]]
    facts = pop.customers[0]
    assert facts.match == "phone" and facts.customer.address == "城关镇南街社区12号"
    assert facts.arrears is True
    assert [o["number"] for o in facts.outages] == [caller["outage"].number]
    assert [o.number for o in facts.orders] == [caller["order"].number]
    assert pop.marked.mark == SpecialMark.MALICIOUS and pop.harassment


@pytest.mark.rule("C2a")
def test_the_pop_matches_the_account_keyed_in_and_says_when_nobody_matches(world, frozen, http_source):
    ring(http_source, "c2", caller="13700009999", account="t0003")  # an unknown number, 王芳's account
    pop = desk_selectors.pop(world.agent, desk_selectors.state(world.agent))
    assert [(f.customer.name, f.match) for f in pop.customers] == [("王芳", "account")]
    assert not pop.harassment and not pop.customers[0].arrears and pop.customers[0].outages == []
    ring(http_source, "c3", caller="13700008888", t=5)
    pop = desk_selectors.pop(world.agent, desk_selectors.state(world.agent))
    assert pop.call.call_id == "c3" and pop.customers == []


@pytest.mark.rule("C2a")
def test_the_pop_shows_only_customers_the_agent_may_see_and_no_other_agents_call(world, frozen, http_source):
    ring(http_source, agent="1002")  # rings agent2
    assert desk_selectors.pop(world.agent, desk_selectors.state(world.agent)) is None
    assert desk_selectors.pop(world.agent2, desk_selectors.state(world.agent2)).call.call_id == "c1"


@pytest.mark.rule("C2c")
def test_after_the_call_the_last_call_stays_on_the_pop_for_a_while(world, frozen, http_source):
    ring(http_source)
    calls.ingest(http_source, [ev("call.answered", 3, call="c1", agent="1001"),
                               ev("call.ended", 90, call="c1", agent="1001")])
    frozen.advance(seconds=120)
    pop = desk_selectors.pop(world.agent, desk_selectors.state(world.agent))
    assert pop.call.call_id == "c1" and not pop.live
    frozen.advance(minutes=31)
    assert desk_selectors.pop(world.agent, desk_selectors.state(world.agent)) is None


@pytest.mark.rule("C2b")
def test_the_poll_answers_nothing_from_one_read_until_the_call_rings(world, frozen, http_source, caller, login):
    client = login(world.agent)
    desk.set_state(user=world.agent, action="ready")
    first = client.get("/calls/desk/live/")
    assert first.status_code == 200 and 'id="desk-pop"' not in first.content.decode()
    version = re.search(r'data-desk-version="([^"]+)"', first.content.decode()).group(1)
    with CaptureQueriesContext(connection) as queries:
        same = client.get(f"/calls/desk/live/?v={version}")
    assert same.status_code == 204 and same.content == b""
    # Besides the session and the user, one query: the agent's state by primary key.
    state_reads = [q["sql"] for q in queries.captured_queries if "calls_" in q["sql"]]
    assert len(state_reads) == 1 and "calls_agentstate" in state_reads[0] and len(queries.captured_queries) <= 3

    ring(http_source)
    changed = client.get(f"/calls/desk/live/?v={version}")
    html = changed.content.decode()
    assert changed.status_code == 200 and 'id="desk-pop"' in html
    assert "张伟" in html and "城关镇南街社区12号" in html and caller["outage"].number in html
    assert caller["order"].number in html and "data-arrears" in html and "data-harassment" in html
    new_version = re.search(r'data-desk-version="([^"]+)"', html).group(1)
    assert new_version != version and client.get(f"/calls/desk/live/?v={new_version}").status_code == 204


@pytest.mark.rule("C2b")
def test_the_version_changes_with_every_state_event(world, frozen, http_source):
    seen = [desk_selectors.version(world.agent)]
    desk.set_state(user=world.agent, action="ready")
    seen.append(desk_selectors.version(world.agent))
    ring(http_source)  # in the same frozen second: the call and activity tell it apart
    seen.append(desk_selectors.version(world.agent))
    calls.ingest(http_source, [ev("call.ring_no_answer", 5, call="c1", agent="1001")])
    seen.append(desk_selectors.version(world.agent))
    ring(http_source, "c2", t=6)
    seen.append(desk_selectors.version(world.agent))
    assert len(set(seen)) == len(seen)
    assert seen[-1] == desk_selectors.version_of(desk_selectors.state(world.agent))


# --- one key starts an order (C2c) -------------------------------------------------------------

@pytest.mark.rule("C2c")
def test_the_pop_opens_intake_prefilled_and_every_order_of_the_call_links_its_contact(world, frozen, http_source,
                                                                                    login):
    client = login(world.agent)
    ring(http_source)
    call = Call.objects.get(call_id="c1")
    assert call.contact is not None and call.contact.caller_number == "13812345678"
    html = client.get("/intake/").content.decode()  # the widget on the intake page
    start = re.search(r'href="([^"]+)" data-desk-start', html).group(1).replace("&amp;", "&")
    assert f"contact_id={call.contact_id}" in start and f"customer_id={world.customers['zhang'].pk}" in start
    intake = client.get(start).content.decode()
    assert f'name="contact_id" value="{call.contact_id}"' in intake
    assert f'name="customer_id" value="{world.customers["zhang"].pk}"' in intake
    assert 'value="张伟"' in intake and 'value="13812345678"' in intake and "城关镇南街社区12号" in intake

    form = {"contact_id": call.contact_id, "customer_id": world.customers["zhang"].pk, "caller_name": "张伟",
            "caller_phone": "13812345678", "business_type": "repair", "sub_class": "lv", "fault_scope": "company",
            "description": "家里没电", "reply_wanted": "on"}
    first = client.post("/intake/", form)
    assert first.status_code == 302, first.content.decode()[:2000]
    # The same call, a second matter: a second order of the same contact.
    second = client.post("/intake/", {**form, "business_type": "inquiry", "sub_class": "tariff", "fault_scope": "",
                                      "description": "咨询电价"})
    assert second.status_code == 302, re.findall(r"alert-error[^>]*>([^<]*)|class=\"err[^>]*>([^<]*)", second.content.decode())
    linked = list(OrderContact.objects.filter(contact=call.contact).order_by("id"))
    assert len(linked) == 2 and len({link.order_id for link in linked}) == 2
    assert {link.kind for link in linked} == {"origin"}


def test_the_intake_prefill_keeps_to_what_the_agent_may_see(world, frozen, login):
    client = login(world.agent)
    html = client.get("/intake/?customer_id=999999&contact_id=abc&caller_phone=13900001111").content.decode()
    assert 'name="customer_id"' not in html and 'name="contact_id"' not in html and 'value="13900001111"' in html
    refused = client.post("/intake/", {"contact_id": 999999, "business_type": "inquiry", "description": "咨询",
                                       "caller_phone": "13900001111"})
    assert refused.status_code == 400 and not OrderContact.objects.exists()


# --- escalation (C2d) ------------------------------------------------------------------------

@pytest.mark.rule("C2d")
def test_an_escalation_from_the_pop_is_recorded(world, frozen, http_source, login):
    ring(http_source)
    calls.ingest(http_source, [ev("call.answered", 3, call="c1", agent="1001")])
    call = Call.objects.get(call_id="c1")
    client = login(world.agent)
    answer = client.post("/calls/desk/transfer/", {"call": call.pk, "target": "expert"},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 200 and 'data-escalation="expert"' in answer.content.decode()
    escalation = Escalation.objects.get()
    assert (escalation.call, escalation.contact, escalation.agent, escalation.target, escalation.at) == (
        call, call.contact, world.agent, "expert", clock.now())
    # Not the agent's call: refused, nothing recorded.
    with pytest.raises(desk.DeskError):
        desk.escalate(user=world.agent2, call=call, target="shift_leader")
    with pytest.raises(desk.DeskError):
        desk.escalate(user=world.agent, call=call, target="director")
    assert Escalation.objects.count() == 1


# --- the shell hook ----------------------------------------------------------------------------

def test_the_pop_widget_is_on_the_pages_of_those_who_take_calls_only(world, frozen, http_source, login):
    ring(http_source)
    for user, shown in [(world.agent, True), (world.leader, False), (world.station_users[0], False),
                        (world.admin, False)]:
        client = login(user)
        url = "/inbox/" if user.role == Role.UNIT_STAFF else "/intake/" if user.role != Role.ADMIN else "/calendars/"
        html = client.get(url).content.decode()
        assert ('id="desk-live"' in html) is shown, user
    # A shift leader with an agent number takes calls too.
    world.leader.agent_number = "1009"
    world.leader.save()
    assert 'id="desk-live"' in login(world.leader).get("/board/").content.decode()
    # The desk page shows it in its own content, once.
    assert login(world.agent).get("/calls/desk/").content.decode().count('id="desk-live"') == 1


def test_the_shell_imports_no_domain_app():
    domain = {"calls", "workorders", "contacts", "outages", "planning", "catalog", "timelimits", "selfservice",
              "calendars", "demo"}
    web = Path(__file__).resolve().parents[2] / "web"
    for path in web.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                parts = name.split(".")
                assert not (parts[0] == "hotline" and len(parts) > 1 and parts[1] in domain), (path, name)


def test_escalations_are_listed_read_only_in_the_admin(world, frozen, http_source, client):
    from django.urls import reverse

    from hotline.testing import english_words

    ring(http_source)
    desk.escalate(user=world.agent, call=Call.objects.get(call_id="c1"), target="shift_leader", note="客户要求找值长")
    assert client.login(username=world.admin.username, password=PASSWORD)
    page = client.get(reverse("admin:calls_escalation_changelist"))
    html = page.content.decode()
    assert page.status_code == 200 and "客户要求找值长" in html and "值长" in html
    assert english_words(html, allow={"agent"}) == []
    assert client.get(reverse("admin:calls_escalation_add")).status_code == 403
