"""Every page as every role, in Chinese (N1g): each URL pattern of the pages
(the apps' urls.py; the admin has its own test, the API its fuzz run) with
real object ids from a small center (orders at a station, the marketing
department and the dispatch desk, notices, outages, a schedule, what-if
runs), fetched by each role with ``Accept-Language: zh-hans``. Each answer
is the one the role should get (200, a redirect, 403, 404 outside its
scope, 405 for an action fetched with GET), and no English word outside
the allow-list shows. Then every form is submitted empty, where its errors
must be Chinese too.

A new URL pattern fails the test until it has a sample here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse

from hotline.testing import english_words, handled
from hotline.web import nav

pytestmark = pytest.mark.django_db

ROLES = ("anon", "agent", "leader", "director", "inspector", "expert", "station", "desk", "marketing", "admin")
# Administrators are superusers: every page's role check lets them in.
CENTER = {"agent", "leader", "director", "admin"}
UNITS = {"station", "desk", "marketing"}
PLANNERS = {"leader", "director", "admin"}
READERS = CENTER | UNITS  # outages.access.READER_ROLES
LOGGED_IN = set(ROLES) - {"anon"}
# URL namespaces with tests of their own.
ELSEWHERE = ("admin:", "api:", "set_language")
# Words a page may show although they look English: codes and names the
# center uses as they are.
ALLOW = {
    "kv",  # 10kV lines
    "holidays", "chinesecalendar",  # the libraries the working-day calendar comes from (their banner names them)
    "xlsx", "csv",  # file types
}


LINK = re.compile(r'<a\b[^>]*\bhref="(/[^"]*)"')
# How the pages show an error (a message box, a field's error).
ERROR_MARKS = ('role="alert"', "alert-error", "errorlist", "has-error", 'class="err', "msg-error")


@dataclass
class Sample:
    """A concrete URL of a pattern and, per role, the status a GET answers."""

    name: str
    url: str
    ok: set[str]  # roles answered 200
    other: dict[str, int] = field(default_factory=dict)  # role → status, where not 200/403
    # Submissions with nothing (or something wrong) in them, by a role in ok
    # (not the administrator, where another may).
    posts: list[dict] = field(default_factory=list)
    by: str = ""  # who submits them, where no role may GET the URL
    htmx: bool = False  # submitted as the page does, by htmx

    def expected(self, role: str) -> int:
        if role in self.ok:
            return 200
        if role in self.other:
            return self.other[role]
        return 302 if role == "anon" else 403

    @property
    def poster(self) -> str:
        return self.by or sorted(self.ok - {"admin"} or self.ok or {"anon"})[0]


def _patterns(resolver=None, prefix: str = "") -> list[str]:
    """Every named pattern of the site as 'namespace:name'."""
    resolver = resolver or get_resolver()
    names = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            names += _patterns(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.append(f"{prefix}{p.name}")
    return names


@pytest.fixture
def site(world, frozen):
    """The test world with something on every page."""
    from hotline.core import jobs
    from hotline.organisation import services as org
    from hotline.organisation.models import Role
    from hotline.outages import services as outages
    from hotline.outages.tests.factories import outage_input
    from hotline.planning import services as planning
    from hotline.planning.models import Queue, Schedule, ScheduleShift, ShiftTemplate
    from hotline.planning.tests.conftest import WEEK, add_history
    from hotline.timelimits.models import Notice
    from hotline.timelimits.services import sweep_until_idle
    from hotline.workorders import services
    from hotline.testing import PASSWORD

    w = world
    users = {"agent": w.agent, "leader": w.leader, "director": w.director, "station": w.station_users[0],
             "marketing": w.marketing_user, "admin": w.admin,
             "inspector": org.create_user(username="t-inspector", password=PASSWORD, role=Role.INSPECTOR,
                                          unit=w.center, display_name="质检员"),
             "expert": org.create_user(username="t-expert", password=PASSWORD, role=Role.EXPERT, unit=w.marketing,
                                       display_name="营销专家"),
             "desk": org.create_user(username="t-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=w.desk,
                                     display_name="调度员")}

    def intake(**kw):
        data = dict(business_type="repair", sub_class="lv", description="整栋楼停电", fault_scope="company",
                    customer_id=w.customers["zhang"].id, caller_name="张伟", caller_phone="13812345678")
        data.update(kw)
        return services.create_order(actor=w.agent, intake=services.Intake(**data))

    orders = {
        "station": intake(),
        "marketing": intake(business_type="complaint", sub_class="service", description="营业厅态度差",
                            customer_id=w.customers["li"].id, caller_name="李娜", caller_phone="0571-87654321",
                            fault_scope=""),
        "desk": intake(customer_id=None, address="火星路1号", desk_fallback=True, caller_phone="13900009999"),
        "report": intake(business_type="report", sub_class="theft", description="邻居私拉电线窃电",
                         reporter={"id_number": "330102199001011234"}, fault_scope=""),
    }
    resolved = intake(customer_id=w.customers["wang"].id, caller_name="王芳", caller_phone="15900001111")
    for action in ("receive", "arrive", "resolve"):
        resolved = services.transition(order=resolved, action=action, actor=w.station_users[2], payload=handled(resolved, action))
    frozen.advance(hours=1)
    sweep_until_idle()  # warnings and supervision notices on the board and in the inboxes
    notice = Notice.objects.filter(order=orders["station"], kind="supervision").order_by("pk").first()

    draft = outages.draft(actor=users["desk"], data=outage_input([w.areas["town0"]]))
    active = outages.draft(actor=users["desk"], data=outage_input([w.areas["v1"]], start=frozen() + dt.timedelta(
        days=2)), publish=True)

    planning.add_standard_queues()
    planning.add_standard_templates()
    for queue in Queue.objects.all():
        add_history(queue, first=WEEK - dt.timedelta(weeks=2), days=14)
    schedule = Schedule.objects.create(week_start=WEEK, required=[0] * 336)
    ScheduleShift.objects.create(schedule=schedule, template=ShiftTemplate.objects.get(name="D0800"), day=0, count=1)
    repair = Queue.objects.get(code="repair")
    whatif = {"queue": repair.pk, "day": (WEEK - dt.timedelta(days=1)).isoformat(), "start": "14:00", "hours": 1,
              "factor": 2, "target": 80, "replications": 10}
    done = jobs.enqueue(kind="planning.storm_what_if", actor=w.leader, params=whatif)
    assert jobs.run_next().status == "done"  # an answer to show
    queued = jobs.enqueue(kind="planning.storm_what_if", actor=w.leader, params=whatif)
    solve = jobs.enqueue(kind="planning.create_schedule", actor=w.leader,
                         params={"week_start": WEEK.isoformat(), "queue": None, "interval_minutes": 30})
    # Calls on the wallboard: one answered, one abandoned, one waiting.
    from hotline.calls import services as calls
    from hotline.calls.tests.events import call

    calls.ingest(calls.create_source(name="acd-pages", kind="http"), [
        *call("p1", -600, queue="repair", answer=8, talk=60), *call("p2", -300, queue="repair", abandon=30),
        *call("p3", -60, queue="repair")])
    # A call ringing the agent: the desk's screen pop on the agent's pages, an escalation on it.
    from hotline.calls import services as calls
    from hotline.calls.desk import services as desk
    from hotline.calls.models import Call

    switch = calls.create_source(name="acd-1", kind="http")
    calls.ingest(switch, [calls.EventIn("r1", "call.offered", frozen(), "c1", queue="95598",
                                        payload={"caller_number": "13812345678"}),
                          calls.EventIn("r2", "call.ringing", frozen(), "c1", agent="1001", queue="95598")])
    desk.set_state(user=w.agent, action="not_ready", reason="training")
    desk.escalate(user=w.agent, call=Call.objects.get(call_id="c1"), target="expert")
    return {"users": users, "orders": orders, "resolved": resolved, "notice": notice, "draft": draft,
            "active": active, "schedule": schedule, "solve": solve, "whatif_done": done, "whatif_queued": queued,
            "queue": repair, "week": WEEK}


def samples(site) -> list[Sample]:
    o, u = site["orders"], site["users"]
    schedule, week = site["schedule"].pk, site["week"]
    customer = site["orders"]["station"].customer_id
    center = u["leader"].unit_id  # the wallboards' center
    year = 2026

    def order_roles(order) -> set[str]:
        from hotline.workorders import access

        return {r for r, user in u.items() if access.visible_orders(user).filter(pk=order.pk).exists()}

    result = [
        Sample("web:home", "/", ok=set(), other={r: 302 for r in LOGGED_IN}),  # every role has a workspace
        Sample("web:login", "/login/", ok={"anon"}, other={r: 302 for r in LOGGED_IN},
               posts=[{"username": "", "password": ""}, {"username": "t-agent", "password": "wrong"}]),
        Sample("web:logout", "/logout/", ok=set(), other={r: 405 for r in ROLES}),
        Sample("workorders:intake", "/intake/", ok=CENTER, posts=[{}, {"business_type": "repair", "caller_phone": "12345abc"}]),
        Sample("workorders:intake-customers", "/intake/customers/?q=5678", ok=CENTER),
        Sample("workorders:intake-customer", f"/intake/customers/{customer}/?q=5678", ok=CENTER),
        Sample("workorders:intake-customer-clear", "/intake/customers/clear/", ok=CENTER),
        Sample("workorders:intake-type-fields", "/intake/type-fields/?business_type=complaint", ok=CENTER),
        Sample("workorders:intake-area", "/intake/area/?address=火星路1号", ok=CENTER),
        Sample("workorders:intake-check", f"/intake/check/?customer_id={customer}", ok=CENTER),
        Sample("workorders:intake-duplicates",
               f"/intake/duplicates/?business_type=repair&customer_id={customer}&sub_class=lv&fault_scope=company",
               ok=CENTER),
        Sample("workorders:intake-areas", "/intake/areas/?area_q=南街", ok=CENTER),
        Sample("workorders:my-orders", "/orders/", ok=CENTER),
        Sample("workorders:search", "/orders/", ok=CENTER | {"inspector", "expert"}),  # url set below
        Sample("workorders:inbox", "/inbox/", ok=UNITS | {"admin"}),
        Sample("workorders:board", "/board/", ok={"leader", "director", "admin"}),
        Sample("outages:list", "/outages/", ok=READERS),
        Sample("outages:new", "/outages/new/", ok=READERS - {"agent"}, posts=[{}]),
        Sample("outages:import", "/outages/import/", ok=READERS - {"agent"}, posts=[{}]),
        Sample("outages:detail", f"/outages/{site['draft'].number}/", ok=READERS),
        Sample("outages:revise", f"/outages/{site['draft'].number}/revise/",
               ok={"leader", "director", "desk", "admin"}, posts=[{}]),
        Sample("outages:act", f"/outages/{site['draft'].number}/publish/", ok=set(), other={r: 405 for r in ROLES}),
        Sample("planning:home", "/planning/", ok=PLANNERS),
        Sample("planning:target", f"/planning/queues/{site['queue'].code}/targets/", ok=PLANNERS,
               posts=[{}, {"service_level_pct": "150", "answer_seconds": "x", "shrinkage_pct": "-1"}]),
        Sample("planning:schedule", f"/planning/schedules/{schedule}/", ok=PLANNERS),
        Sample("planning:schedule-edit", f"/planning/schedules/{schedule}/edit/", ok=PLANNERS),
        Sample("planning:job", f"/planning/jobs/{site['solve'].pk}/", ok=PLANNERS),
        Sample("planning:whatif", "/planning/what-if/", ok=PLANNERS, posts=[{}, {"hours": "999", "factor": "0", "replications": "1", "day": "2026/03/16"}]),
        Sample("planning:whatif-run", f"/planning/what-if/{site['whatif_done'].pk}/", ok=PLANNERS),
        Sample("planning:forecast", f"/planning/forecast/?queue={site['queue'].pk}&day={week}", ok=PLANNERS),
        Sample("calls:wallboard-index", "/calls/wallboard/", ok=PLANNERS),
        Sample("calls:wallboard", f"/calls/wallboard/{center}/", ok=PLANNERS),
        Sample("calls:wallboard", f"/calls/wallboard/{center}/?queue=repair", ok=PLANNERS),
        Sample("calls:wallboard-live", f"/calls/wallboard/{center}/live/?queue=repair", ok=PLANNERS),
        Sample("reports:daily", "/reports/daily/", ok=PLANNERS),
        Sample("reports:daily", f"/reports/daily/?center={center}&day=2026-13-40", ok=PLANNERS),  # the error said
        Sample("reports:daily-xlsx", f"/reports/daily/xlsx/?center={center}", ok=PLANNERS),
        Sample("reports:daily-pdf", f"/reports/daily/pdf/?center={center}", ok=PLANNERS),
        Sample("reports:score", "/reports/score/", ok=PLANNERS),
        Sample("reports:score", f"/reports/score/?center={center}&month=2026-13", ok=PLANNERS),  # the error said
        Sample("calendars:years", "/calendars/", ok={"admin"}),
        Sample("calendars:notice", f"/calendars/{year}/notice/", ok={"admin"}, posts=[{}]),
        Sample("selfservice:index", "/self-service/", ok=set(ROLES)),
        Sample("selfservice:outages", "/self-service/outages/", ok=set(), other={r: 302 for r in ROLES},
               posts=[{}, {"kind": "phone", "query": "12"}, {"kind": "account", "query": "t9999"}]),
        Sample("selfservice:order", "/self-service/orders/", ok=set(), other={r: 302 for r in ROLES},
               posts=[{}, {"number": "GZ26111700001", "phone_tail": "0000"}]),
        Sample("calls:desk", "/calls/desk/", ok=CENTER),
        Sample("calls:desk-live", "/calls/desk/live/", ok=CENTER),
        Sample("calls:desk-state", "/calls/desk/state/", ok=set(), other={r: 405 for r in ROLES}, by="agent",
               posts=[{}, {"action": "not_ready", "reason": "nap"}], htmx=True),
        Sample("calls:desk-transfer", "/calls/desk/transfer/", ok=set(), other={r: 405 for r in ROLES}, by="agent",
               posts=[{}, {"call": "x"}], htmx=True),
        Sample("calls:desk-wrapup", "/calls/desk/wrapup/", ok=CENTER, by="agent",
               posts=[{}, {"call": "x"}, {"call": "1", "reason": "nap"}], htmx=True),
    ]
    # More than one sample of some patterns: the search with results and
    # with a refused criterion, the board filtered, each order page, a queued run.
    search = next(s for s in result if s.name == "workorders:search")
    search.url = "/orders/search/"
    result += [
        Sample("workorders:search", "/orders/search/?phone=5678&state=", ok=search.ok),
        Sample("workorders:search", "/orders/search/?phone=12", ok=set(),
               other={**{r: 400 for r in search.ok}, "anon": 302}),
        Sample("workorders:board", f"/board/?unit={site['orders']['station'].assigned_unit_id}&sort=unit",
               ok={"leader", "director", "admin"}),
        Sample("planning:whatif-run", f"/planning/what-if/{site['whatif_queued'].pk}/", ok=PLANNERS),
        Sample("outages:detail", f"/outages/{site['active'].number}/", ok=READERS),
    ]
    for key, order in [*o.items(), ("resolved", site["resolved"])]:
        seen = order_roles(order)
        result.append(Sample("workorders:order", f"/orders/{order.number}/", ok=seen,
                             other={r: 404 for r in LOGGED_IN - seen}))
    # Actions: POST only. Those an empty submission cannot carry out are
    # submitted so, by a role that may act.
    number = o["station"].number
    post_only = {r: 405 for r in ROLES}
    result += [
        Sample("workorders:order-act", f"/orders/{number}/act/", ok=set(), other=post_only, by="agent",
               posts=[{}, {"action": "fly"}, {"action": "close"}]),
        Sample("workorders:order-chase", f"/orders/{number}/chase-up/", ok=set(), other=post_only, by="agent",
               posts=[{}]),
        Sample("workorders:order-reporter", f"/orders/{number}/reporter/", ok=set(), other=post_only),
        Sample("workorders:order-remind", f"/orders/{number}/remind/", ok=set(), other=post_only),
        Sample("workorders:inbox-act", f"/inbox/{number}/act/", ok=set(), other=post_only, by="station",
               posts=[{}, {"action": "close"}], htmx=True),
        Sample("workorders:notice-answer", f"/inbox/notices/{site['notice'].pk}/answer/", ok=set(), other=post_only,
               by="station", posts=[{}], htmx=True),
        Sample("workorders:board-act", f"/board/{number}/act/", ok=set(), other=post_only, by="leader",
               posts=[{}, {"action": "reassign"}, {"action": "reassign", "unit_id": "999999"}], htmx=True),
    ]
    for name in ("import", "queue-create", "schedule-create"):
        result.append(Sample(f"planning:{name}", reverse(f"planning:{name}"), ok=set(), other=post_only, by="leader",
                             posts=[{}]))
    result.append(Sample("planning:standard-templates", reverse("planning:standard-templates"), ok=set(),
                         other=post_only))
    for name in ("schedule-resolve", "schedule-assign", "schedule-publish"):
        result.append(Sample(f"planning:{name}", reverse(f"planning:{name}", args=[schedule]), ok=set(),
                             other={r: 405 for r in ROLES}))
    return result


def client_for(user) -> Client:
    client = Client(headers={"Accept-Language": "zh-hans"})
    if user is not None:
        client.force_login(user)
    return client


def _data_words(site) -> set[str]:
    """The records' own text and the codes that may show: the people's
    display names, queue codes, the import file's column names."""
    from hotline.planning import imports
    from hotline.planning.models import Queue

    words = {w for user in site["users"].values() for w in user.display_name.split()}
    words |= set(Queue.objects.values_list("code", flat=True))
    return words | {part for column in imports.COLUMNS for part in column.split("_")}


def test_the_check_finds_english(site):
    client = client_for(site["users"]["agent"])
    client.cookies["django_language"] = "en"  # the user's explicit choice
    assert {"Intake", "Search"} <= set(english_words(client.get("/intake/").content.decode()))


def test_every_pattern_has_a_sample(site):
    names = {s.name for s in samples(site)}
    missing = [n for n in _patterns() if not n.startswith(ELSEWHERE) and n not in names]
    assert not missing, f"URL patterns without a sample in {__name__}: {missing}"


@pytest.mark.rule("N1g")
@pytest.mark.parametrize("role", ROLES)
def test_every_page_as_each_role_is_chinese(site, role):
    user = site["users"].get(role)
    client = client_for(user)
    allow = ALLOW | _data_words(site)
    wrong, english = {}, {}
    for s in samples(site):
        response = client.get(s.url)
        if response.status_code != s.expected(role):
            wrong[s.url] = f"{response.status_code}, expected {s.expected(role)}"
            continue
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            if "<html" in html and 'lang="zh-hans"' not in html:
                english[s.url] = ["<html lang> is not zh-hans"]
            words = english_words(html, allow)
            if words:
                english[s.url] = words
            for href in LINK.findall(html):  # every link of the page leads to a page of the site
                path = urlsplit(unescape(href)).path
                try:
                    resolve(path)
                except Resolver404:
                    wrong[f"{s.url} → {path}"] = "a link to no page"
    # What the navigation offers the role (and its home) opens.
    for entry in nav.entries_for(user) if user is not None else []:
        response = client.get(entry["url"])
        if response.status_code != 200:
            wrong[f"nav {entry['key']} {entry['url']}"] = response.status_code
    assert not wrong and not english, f"{role}: unexpected answers {wrong}; English on Chinese pages {english}"


@pytest.mark.rule("N1g")
@pytest.mark.rule("N3g")
def test_every_form_submitted_empty_explains_in_chinese(site):
    allow = ALLOW | _data_words(site)
    english, wrong = {}, {}
    for s in samples(site):
        role = s.poster
        client = client_for(site["users"].get(role))
        for data in s.posts:
            response = client.post(s.url, data, headers={"HX-Request": "true"} if s.htmx else {})
            key = f"{role} {s.url} {data}"
            # The form again with its errors, or a refusal that says why.
            if response.status_code not in (200, 400, 403, 409, 422):
                wrong[key] = response.status_code
                continue
            # What the submission carried may come back (a code the user typed).
            echo = {w for v in data.values() for w in str(v).split()}
            body = response.content.decode()
            if not data and not any(mark in body for mark in ERROR_MARKS):  # an empty form says what it lacks
                wrong[key] = f"{response.status_code} without an error shown"
            words = english_words(body, allow | echo)
            if words:
                english[key] = words
    assert not wrong and not english, f"unexpected answers {wrong}; English in the answers {english}"
