"""Shared test helpers: a small county center built through the services."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from hotline.organisation import services as org
from hotline.organisation.models import AreaClass, Customer, Role, ServiceArea, Unit, User

PASSWORD = "hotline-test-pw-1"

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("HOTLINE_SCREENSHOTS", "/tmp")
# Browser tests: CI installs chromium (scripts/test); there a missing browser
# must fail, not skip.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true",
                       reason="needs Debian's chromium (apt-get install chromium)"),
]
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def browser_page(browser):
    """A page in a browser context of its own (its own cookies: a second
    user beside the ``page`` fixture's is ``browser_page(page.context.browser)``);
    script errors and CSP refusals collect in ``page.problems``. Closing
    ``page.context`` closes it."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    # Generous: CI machines have 2 cores and may be busy.
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(msg.text))
    return page


class ServedRequests:
    """The requests being served right now, by thread, from Django's request
    signals (the live server serves each request in a thread of this
    process; ``request_finished`` fires when its response is closed, in the
    same thread).

    Closing the browser does not stop what the server is still doing for the
    page: a request htmx sent just before (the intake's duplicate check on
    ``load``) runs on, into the test's teardown, and the database flush lands
    in the middle of it — the user read before, the user's unit after, which
    raised ``Unit.DoesNotExist`` from ``KeyError: 'unit'`` in the access
    policy. ``close_browser`` waits for them first."""

    def __init__(self) -> None:
        self._active: set[int] = set()
        self._changed = threading.Condition()

    def connect(self) -> None:
        from django.core.signals import request_finished, request_started

        request_started.connect(self._started, dispatch_uid="hotline-testing-served-started")
        request_finished.connect(self._finished, dispatch_uid="hotline-testing-served-finished")

    def _started(self, **kwargs) -> None:
        with self._changed:
            self._active.add(threading.get_ident())

    def _finished(self, **kwargs) -> None:
        with self._changed:
            self._active.discard(threading.get_ident())
            self._changed.notify_all()

    def busy(self) -> int:
        """How many requests other threads are serving."""
        with self._changed:
            return len(self._active - {threading.get_ident()})

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no other thread serves a request; False on time-out."""
        deadline = time.monotonic() + timeout
        me = threading.get_ident()
        with self._changed:
            while self._active - {me}:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True


served_requests = ServedRequests()


def close_browser(page, *, timeout: float = 60.0) -> None:
    """Close the page's browser, then wait until the live server has finished
    every request the page left running, so that nothing it does overlaps
    the test database's teardown (see ``ServedRequests``)."""
    browser = page.context.browser
    page.context.close()
    if browser is not None:
        browser.close()
    if not served_requests.wait_idle(timeout):
        warnings.warn(f"the live server still serves {served_requests.busy()} request(s) {timeout:.0f} s after the "
                      "browser closed; the test database's teardown may cut them off", pytest.PytestWarning, stacklevel=2)


@dataclass
class World:
    province: Unit
    city: Unit
    county: Unit
    center: Unit
    desk: Unit
    stations: list[Unit]
    crews: list[Unit]
    marketing: Unit
    discipline: Unit
    metering: Unit
    areas: dict[str, ServiceArea]
    agent: User
    agent2: User
    leader: User
    director: User
    station_users: list[User]
    marketing_user: User
    discipline_user: User
    county_user: User
    admin: User
    customers: dict[str, Customer] = field(default_factory=dict)


def build_world(prefix: str = "t") -> World:
    p = prefix
    province = org.create_unit(name="省公司", code=f"{p}-prov", kind="province")
    city = org.create_unit(name="市公司", code=f"{p}-city", kind="city", parent=province)
    county = org.create_unit(name="县公司", code=f"{p}-county", kind="county", parent=city)
    center = org.create_unit(name="95598客服中心", code=f"{p}-center", kind="center", parent=county)
    desk = org.create_unit(name="县调度台", code=f"{p}-desk", kind="dispatch_desk", parent=county)
    stations, crews = [], []
    for i, name in enumerate(["城关供电所", "东山供电所", "西岭供电所"]):
        st = org.create_unit(name=name, code=f"{p}-st{i}", kind="station", parent=county)
        stations.append(st)
        crews.append(org.create_unit(name=f"{name}抢修班", code=f"{p}-crew{i}", kind="crew", parent=st))
    marketing = org.create_unit(name="营销部", code=f"{p}-mkt", kind="department", parent=county, function="marketing")
    discipline = org.create_unit(name="纪检监察部", code=f"{p}-disc", kind="department", parent=county, function="discipline")
    metering = org.create_unit(name="计量中心", code=f"{p}-meter", kind="department", parent=county, function="metering")
    areas = {}
    town0 = org.create_service_area(name="城关镇", code=f"{p}-a0", level="township", unit=stations[0], area_class=AreaClass.URBAN)
    v0 = org.create_service_area(name="南街社区", code=f"{p}-a0v", level="village", unit=stations[0], parent=town0, area_class=AreaClass.URBAN)
    t0 = org.create_service_area(name="南街1号台区", code=f"{p}-a0t", level="transformer_area", unit=stations[0], parent=v0, area_class=AreaClass.URBAN)
    town1 = org.create_service_area(name="东山乡", code=f"{p}-a1", level="township", unit=stations[1], area_class=AreaClass.RURAL)
    v1 = org.create_service_area(name="桃园村", code=f"{p}-a1v", level="village", unit=stations[1], parent=town1, area_class=AreaClass.RURAL)
    town2 = org.create_service_area(name="西岭乡", code=f"{p}-a2", level="township", unit=stations[2], area_class=AreaClass.REMOTE)
    v2 = org.create_service_area(name="高山村", code=f"{p}-a2v", level="village", unit=stations[2], parent=town2, area_class=AreaClass.REMOTE)
    areas.update({"town0": town0, "v0": v0, "t0": t0, "town1": town1, "v1": v1, "town2": town2, "v2": v2})

    def user(name, role, unit, **kw):
        return org.create_user(username=f"{p}-{name}", password=PASSWORD, role=role, unit=unit, display_name=name, **kw)

    w = World(
        province=province, city=city, county=county, center=center, desk=desk, stations=stations, crews=crews,
        marketing=marketing, discipline=discipline, metering=metering, areas=areas,
        agent=user("agent", Role.AGENT, center, agent_number="1001", stars=5),
        agent2=user("agent2", Role.AGENT, center, agent_number="1002", stars=4),
        leader=user("leader", Role.SHIFT_LEADER, center),
        director=user("director", Role.DIRECTOR, center),
        station_users=[user(f"station{i}", Role.UNIT_STAFF, st) for i, st in enumerate(stations)],
        marketing_user=user("marketing", Role.UNIT_STAFF, marketing),
        discipline_user=user("discipline", Role.UNIT_STAFF, discipline),
        county_user=user("county", Role.DIRECTOR, county),
        admin=user("admin", Role.ADMIN, province),
    )
    w.customers["zhang"] = org.create_customer(account_number=f"{p}0001", name="张伟", address="城关镇南街社区12号",
                                               phone_numbers=["13812345678"], service_area=t0)
    w.customers["li"] = org.create_customer(account_number=f"{p}0002", name="李娜", address="东山乡桃园村3组",
                                            phone_numbers=["0571-8765 4321"], service_area=v1)
    w.customers["wang"] = org.create_customer(account_number=f"{p}0003", name="王芳", address="西岭乡高山村",
                                              phone_numbers=["15900001111"], service_area=v2)
    return w


# --- handling records ------------------------------------------------------------------

def handling_record(order, action: str, **values) -> dict:
    """A complete handling record for ``action`` on ``order`` as its type
    declares it (workorders.handling): each required item gets ``values``'
    value, else its first choice, yes, or a short text; the time of the
    action is left to the time of the step. For tests and benchmarks about
    something else; ``{}`` when the type asks nothing."""
    from hotline.catalog.models import FieldKind
    from hotline.workorders import handling

    record = {}
    for item in handling.fields_for(order, action):
        if item.code in values:
            record[item.code] = values.pop(item.code)
        elif not item.required or item.action_time:
            continue
        elif item.kind == FieldKind.CHOICE:
            record[item.code] = item.choice_codes()[0]
        elif item.kind == FieldKind.BOOLEAN:
            record[item.code] = True
        elif item.kind == FieldKind.TEXT:
            record[item.code] = "已处理"
    if values:
        raise ValueError(f"{order.business_type.code} asks no {', '.join(values)} on {action}")
    return record


def handled(order, action: str, payload: dict | None = None) -> dict:
    """``payload`` with a complete handling record for ``action`` added
    when the type asks one and none was given."""
    payload = dict(payload or {})
    if "record" not in payload:
        record = handling_record(order, action)
        if record:
            payload["record"] = record
    return payload


# --- untranslated English on Chinese pages ------------------------------------------

# Technical tokens and names that stay as they are on a Chinese page (compared
# lower-case). Words of all capitals (AHT, WAPE, SMS, CSV) and tokens with
# digits, dots, underscores, @ or / (numbers, codes, paths) never count.
ENGLISH_ALLOW = frozenset({
    "id", "api",  # Django's "ID" column; "API" tokens and channels
    "control", "command", "mac",  # Django's Chinese help names the keys: 按住 Control 键或 Mac 上的 Command 键
    "erlang",  # Erlang A / Erlang C, the queueing models' names
    "asterisk",  # the switch's name (Asterisk queue_log, Asterisk AMI): an event source's kind
})
_SKIP_TAGS = {"script", "style", "noscript", "template", "code", "pre", "textarea", "svg", "kbd", "samp"}
_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_WORD = re.compile(r"^[A-Za-z][a-z]+(?:['’-][A-Za-z]+)*$")
# Literal values shown as examples ("urgent", {action, from, to}) are codes.
_LITERALS = re.compile(r"\"[^\"]*\"|\{[^}]*\}|\[\[.*?\]\]")


class _Text(HTMLParser):
    """Visible text, plus the labels of buttons, placeholders and titles."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self._skip += 1
        a = dict(attrs)
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.parts.append(a["value"])
        for name in ("placeholder", "aria-label"):
            if a.get(name):
                self.parts.append(a[name])
        if a.get("title") and tag in ("a", "button", "input", "span", "img", "abbr", "td", "th", "div"):
            self.parts.append(a["title"])

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words(html: str, allow: Iterable[str] = ()) -> list[str]:
    """English words in the visible text of ``html`` outside ENGLISH_ALLOW
    and ``allow`` (lower-case)."""
    parser = _Text()
    parser.feed(html)
    text = _LITERALS.sub(" ", " ".join(parser.parts))
    allowed = ENGLISH_ALLOW | {w.lower() for w in allow}
    found = set()
    for token in re.split(rf"[\s{_CJK}]+", text):
        if "**" in token:  # a masked value (a password's salt, a hidden phone): a code, whatever its letters
            continue
        token = token.strip("()[]{}<>.,:;!?…*«»|·•\"'“”‘’")
        if _WORD.match(token) and token.lower() not in allowed:
            found.add(token)
    return sorted(found)
