"""The demo county center, built through the services.

``build()`` creates a province → city → county organisation with a 95598
center, stations, departments and their staff, a few hundred service areas,
thousands of customers and a history of work orders. The history is a small
discrete-event simulation: every order is a generator that performs one
step (create, receive, arrive, …) with the clock frozen at that step's
instant and yields the minutes until its next step; a heap runs all steps of
all orders in time order, so order numbers, duplicate detection, chase-ups
and supervision notices see the world as it was at that moment. A sweeper in
the same heap raises warnings and notices as the real worker would. Steps
that would fall after "now" are dropped, which leaves the recent orders open.

Everything runs in one transaction: a failed build leaves an empty database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from faker import Faker

from hotline.catalog.lifecycle import parse_lifecycle
from hotline.catalog.services import install_defaults
from hotline.core import clock, phones
from hotline.demo import names, texts
from hotline.organisation import services as org_services
from hotline.organisation.models import (
    AreaClass,
    AreaLevel,
    Customer,
    CustomerPhone,
    Role,
    ServiceArea,
    SpecialMark,
    Unit,
    UnitKind,
    User,
)
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.timelimits.services import NoticeError, answer_notice, sweep_until_idle
from hotline.workorders import services as wo
from hotline.workorders.errors import OrderError, TransitionError
from hotline.workorders.models import TERMINAL, WorkOrder, WorkOrderEvent

log = logging.getLogger(__name__)

DEFAULT_SEED = 95598
PASSWORD = "hotline-demo"
URL = "http://127.0.0.1:8000/"

ROLE_LABELS = {Role.AGENT: "座席员", Role.SHIFT_LEADER: "值长", Role.DIRECTOR: "中心主任", Role.EXPERT: "座席专家",
               Role.UNIT_STAFF: "单位人员", Role.INSPECTOR: "质检员", Role.ADMIN: "管理员"}

# Arrival limits by area class (catalog defaults), used to make some arrivals late on purpose.
ARRIVAL_MINUTES = {AreaClass.URBAN: 45, AreaClass.RURAL: 90, AreaClass.REMOTE: 120}

# Share of the daily calls by business type (duplicates and chase-ups come on top).
TYPE_MIX = {"repair": 44, "inquiry": 22, "service_request": 11, "complaint": 5, "opinion": 6, "suggestion": 3,
            "praise": 4, "report": 2}
REPAIR_MIX = {"lv": 58, "hv": 9, "quality": 8, "metering": 7, "non_power": 5, "customer_internal": 8, "charging": 5}
# Calls per local hour 0..23: repairs peak in the evening, the rest in office hours.
REPAIR_HOURS = [1, 1, .5, .5, .5, 1, 1.5, 2.5, 3, 3, 3, 3, 3, 3, 3, 3, 3.5, 4.5, 6.5, 8, 8, 6, 4, 2]
OTHER_HOURS = [.1, .1, .1, .1, .1, .2, .5, 2, 6, 7, 7, 6, 3, 3.5, 6, 6, 5.5, 4, 2.5, 2, 1.5, 1, .5, .2]
# When people take callbacks (spec §6 quiet hours) and when departments work.
CALL_WINDOWS = [((8, 0), (12, 0)), ((14, 0), (21, 0))]
OFFICE_WINDOWS = [((8, 30), (12, 0)), ((13, 30), (17, 30))]
CALLBACK_OUTCOMES = {"satisfied": 80, "basically_satisfied": 12, "dissatisfied": 4, "unreachable": 4}


# --- result ------------------------------------------------------------------

@dataclass
class Login:
    username: str
    role: str
    unit: str
    name: str
    note: str = ""


@dataclass
class DemoResult:
    seconds: float = 0.0
    units: int = 0
    users: int = 0
    areas: int = 0
    customers: int = 0
    orders: int = 0
    events: int = 0
    warnings: int = 0
    notices: int = 0
    states: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)
    calls: int = 0
    call_events: int = 0


def build(*, customers: int = 5000, days: int = 7, seed: int = DEFAULT_SEED, now: dt.datetime | None = None,
          progress: Callable[[str], None] | None = None) -> DemoResult:
    """Build the demo center into a database without an organisation."""
    if customers < 1:
        raise ValueError("the demo needs at least one customer")
    if days < 0:
        raise ValueError("days of history cannot be negative")
    if Unit.objects.exists():
        raise RuntimeError("the database already has an organisation; the demo needs an empty one")
    say = progress or (lambda message: None)
    started = time.monotonic()
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    end = now or clock.now()
    result = DemoResult()
    with transaction.atomic(), _repeats_dropped("hotline.calendars.services"):
        install_defaults()  # normally done by migrate; harmless if present
        pool = names.StemPool(rng, reserved=names.seat_stems())
        plan = plan_townships(pool)
        org = build_organisation(plan)
        build_queues(org)
        staff = build_staff(org, fake)
        say(f"organisation: {Unit.objects.count()} units, {User.objects.count()} users")
        places = build_areas(org, plan, pool, rng)
        say(f"service areas: {ServiceArea.objects.count()}")
        rows = build_customers(customers, places, fake, rng)
        say(f"customers: {len(rows)}")
        if days:
            history = History(org=org, staff=staff, customers=rows, places=places, rng=rng, fake=fake,
                              start=end - dt.timedelta(days=days), end=end, say=say)
            history.run()
            result.skipped = history.skipped
        # The real worker's view of "now": overdue open orders get their notices.
        sweep_until_idle(now=now)
        if days:
            result.calls, result.call_events = fill_calls(start=end - dt.timedelta(days=days), end=end, seed=seed,
                                                          say=say)
            linked, marked = link_calls(start=end - dt.timedelta(days=days), end=end, seed=seed)
            say(f"calls: {linked} orders linked to their calls, {marked} calls marked as needing no order")
    result.logins = staff.logins
    _count(result)
    result.seconds = time.monotonic() - started
    say(f"done in {result.seconds:.1f} s")
    return result


def fill_calls(*, start: dt.datetime, end: dt.datetime, seed: int, say: Callable[[str], None]) -> tuple[int, int]:
    """The calls of the history, from the traffic simulator through the
    ingest path (W4c): the 12 agents on a default roster (or the published
    schedule), so every call KPI and the wallboard have figures at once."""
    from hotline.calls import simulator_feed

    shown = [0]

    def progress(done: int, total: int) -> None:
        if done >= total or done - shown[0] >= total / 4:
            shown[0] = done
            say(f"calls: {done}/{total} events")

    plan, fed = simulator_feed.fill_history(start=start, end=end, seed=seed, now=end, progress=progress)
    say(f"calls: {len(plan.simulation.calls)} simulated, {fed.accepted} events in {plan.seconds:.1f} s")
    return len(plan.simulation.calls), fed.accepted


# What the answered calls that gave no order of the simulated week were
# (C3y): most ask after an order already recorded; the rest need none.
NO_ORDER_MIX = {"existing_order": 45, "hung_up": 18, "silent": 14, "wrong_number": 11, "no_request": 8,
                "harassment": 3, "test_call": 1}
# One answered call in this many is left neither ordered nor marked: an omission to find.
UNMARKED_ONE_IN = 800
# An order is recorded from a call while it is on or within this many minutes after it ended.
LINK_MINUTES = 15


def link_calls(*, start: dt.datetime, end: dt.datetime, seed: int) -> tuple[int, int]:
    """Make the simulated week coherent: each order recorded on the phone
    (its intake contact) moves to the simulated call of the moment — the
    answered call that ended last before the order was saved, within
    ``LINK_MINUTES`` — so the order comes from a call (C3s, C3y, C3f); the
    answered calls left get a wrap-up mark in ``NO_ORDER_MIX`` (one about an
    order already recorded linked to an earlier order of the week, as a
    chase-up contact), all but one in ``UNMARKED_ONE_IN``. Bulk writes: a
    week is a few thousand rows."""
    import bisect

    from hotline.calls.models import Call, CallDisposition
    from hotline.contacts.models import Contact
    from hotline.workorders.models import OrderContact

    rng = random.Random(seed + 3)
    calls = list(Call.objects.filter(status="ended", offered_at__gte=start, offered_at__lt=end, contact__isnull=False,
                                     agent__isnull=False, ended_at__isnull=False)
                 .order_by("ended_at").values_list("pk", "contact_id", "agent_id", "offered_at", "ended_at"))
    ends = [row[4] for row in calls]
    used: set[int] = set()
    links = list(OrderContact.objects.filter(contact__source="intake", order__created_at__gte=start))
    # An intake contact starts when its order is saved (a chase-up's is its chased order's chase contact too).
    intake = (Contact.objects.filter(source="intake", pk__in={link.contact_id for link in links})
              .order_by("started_at", "pk").values_list("pk", "started_at"))
    moved: dict[int, int] = {}  # intake contact → the call's contact
    for intake_id, saved in intake:
        i = bisect.bisect_right(ends, saved)
        # The latest call that ended before the order was saved, not yet taken; else one still on then.
        for j in [*range(i - 1, -1, -1), *range(i, len(calls))]:
            pk, contact_id, _agent, offered, ended = calls[j]
            if j < i and saved - ended > dt.timedelta(minutes=LINK_MINUTES):
                continue
            if j >= i and offered > saved:
                break
            if pk not in used:
                used.add(pk)
                moved[intake_id] = contact_id
                break
    changed = []
    for link in links:
        if link.contact_id in moved:
            link.contact_id = moved[link.contact_id]
            changed.append(link)
    # A chase-up's intake contact is its own origin and its chased order's chase: both move to the call.
    OrderContact.objects.bulk_update(changed, ["contact"], batch_size=500)
    Contact.objects.filter(source="intake", pk__in=list(moved)).exclude(order_links__isnull=False).delete()
    orders = list(OrderContact.objects.filter(order__created_at__gte=start).order_by("order__created_at")
                  .values_list("order_id", "order__created_at"))
    order_times = [at for _order, at in orders]
    reasons, weights = list(NO_ORDER_MIX), list(NO_ORDER_MIX.values())
    marks, chase_links = [], []
    for n, (pk, contact_id, agent_id, offered, ended) in enumerate(calls):
        if pk in used or n % UNMARKED_ONE_IN == UNMARKED_ONE_IN - 1:
            continue
        reason = rng.choices(reasons, weights)[0]
        order_id = None
        if reason == "existing_order":
            earlier = bisect.bisect_left(order_times, offered)
            if earlier == 0:
                reason = "hung_up"
            else:
                order_id = orders[rng.randrange(max(0, earlier - 40), earlier)][0]
                chase_links.append(OrderContact(order_id=order_id, contact_id=contact_id, kind=OrderContact.Kind.CHASE,
                                                linked_at=ended))
        marks.append(CallDisposition(call_id=pk, contact_id=contact_id, agent_id=agent_id, reason=reason,
                                     order_id=order_id, at=ended + dt.timedelta(seconds=rng.uniform(5, 40))))
    OrderContact.objects.bulk_create(chase_links, batch_size=500, ignore_conflicts=True)
    CallDisposition.objects.bulk_create(marks, batch_size=500)
    return len(moved), len(marks)


class _DropRepeats(logging.Filter):
    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


@contextlib.contextmanager
def _repeats_dropped(logger_name: str) -> Iterator[None]:
    """A week of deadlines asks the calendar about many days; one copy of
    each warning (e.g. "no holiday data for 2027") is enough."""
    logger = logging.getLogger(logger_name)
    dedupe = _DropRepeats()
    logger.addFilter(dedupe)
    try:
        yield
    finally:
        logger.removeFilter(dedupe)


def _count(result: DemoResult) -> None:
    result.units = Unit.objects.count()
    result.users = User.objects.count()
    result.areas = ServiceArea.objects.count()
    result.customers = Customer.objects.count()
    result.orders = WorkOrder.objects.count()
    result.events = WorkOrderEvent.objects.count()
    result.warnings = Notice.objects.filter(kind=NoticeKind.WARNING).count()
    result.notices = Notice.objects.filter(kind=NoticeKind.SUPERVISION).count()
    result.states = dict(Counter(WorkOrder.objects.values_list("state", flat=True)))
    result.types = dict(Counter(WorkOrder.objects.values_list("business_type__code", flat=True)))


# --- organisation ----------------------------------------------------------------

@dataclass
class TownshipPlan:
    name: str
    area_class: str


@dataclass
class StationPlan:
    name: str
    townships: list[TownshipPlan]


def plan_townships(pool: names.StemPool) -> list[StationPlan]:
    """Which station serves which townships: the seat (urban), the plains
    (rural 镇) and the mountains (remote 乡)."""
    seat = StationPlan(names.SEAT_STATION, [TownshipPlan(n, AreaClass.URBAN) for n in names.SEAT_TOWNSHIPS])
    plans = [seat]
    for area_class, suffix, sizes in ((AreaClass.RURAL, "镇", (3, 3)), (AreaClass.REMOTE, "乡", (3, 2))):
        for size in sizes:
            towns = [TownshipPlan(pool.rural() + suffix, area_class) for _ in range(size)]
            plans.append(StationPlan(towns[0].name[:2] + "供电所", towns))
    return plans


@dataclass
class Org:
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


def build_organisation(plan: list[StationPlan]) -> Org:
    create = org_services.create_unit
    area_code = settings.HOTLINE.get("DEFAULT_AREA_CODE", "0571")
    province = create(name=names.PROVINCE, code="zj", kind=UnitKind.PROVINCE)
    city = create(name=names.CITY, code="zj-lj", kind=UnitKind.CITY, parent=province)
    county = create(name=names.COUNTY, code="zj-lj-qx", kind=UnitKind.COUNTY, parent=city, phone=f"{area_code}-66095598")
    center = create(name=names.CENTER, code="qx-center", kind=UnitKind.CENTER, parent=county)
    desk = create(name=names.DISPATCH_DESK, code="qx-desk", kind=UnitKind.DISPATCH_DESK, parent=county,
                  phone=f"{area_code}-66012345")
    stations, crews = [], []
    for i, station in enumerate(plan, start=1):
        unit = create(name=station.name, code=f"qx-st{i:02d}", kind=UnitKind.STATION, parent=county,
                      phone=f"{area_code}-6601{i:04d}")
        stations.append(unit)
        crews.append(create(name=f"{station.name}抢修班", code=f"qx-st{i:02d}-crew", kind=UnitKind.CREW, parent=unit))
    marketing = create(name=names.MARKETING, code="qx-mkt", kind=UnitKind.DEPARTMENT, parent=county, function="marketing")
    discipline = create(name=names.DISCIPLINE, code="qx-disc", kind=UnitKind.DEPARTMENT, parent=county, function="discipline")
    metering = create(name=names.METERING, code="qx-meter", kind=UnitKind.DEPARTMENT, parent=county, function="metering")
    return Org(province, city, county, center, desk, stations, crews, marketing, discipline, metering)


# The demo center's call queues (the simulator's queue codes) with their
# names; each belongs to the demo center, whose wallboard counts them (C4a).
QUEUES = (("repair", "故障报修"), ("general", "综合咨询"), ("complaint", "投诉举报"))


def build_queues(org: Org) -> None:
    from hotline.planning.models import Queue

    for code, name in QUEUES:
        queue, _new = Queue.objects.get_or_create(code=code, defaults={"name": name, "center": org.center})
        if queue.center_id is None:
            queue.center = org.center
            queue.save(update_fields=["center"])


@dataclass
class Staff:
    agents: list[User]
    low_star: User
    leaders: list[User]
    director: User
    inspector: User
    experts: list[User]
    admin: User
    unit_users: dict[int, User]
    logins: list[Login]


def build_staff(org: Org, fake: Faker) -> Staff:
    logins: list[Login] = []

    def user(username: str, role: str, unit: Unit, note: str = "", **extra) -> User:
        name = fake.name()
        logins.append(Login(username, ROLE_LABELS[role], unit.name, name, note))
        return org_services.create_user(username=username, password=PASSWORD, role=role, unit=unit, display_name=name,
                                        **extra)

    agents = []
    for i in range(1, 13):
        # One 3-star agent so the shift leader's review of drafts shows up (spec §1).
        stars = 3 if i == 12 else (5 if i % 3 == 1 else 4)
        number = f"{1000 + i}"
        agents.append(user(f"agent{i:02d}", Role.AGENT, org.center, f"工号{number}，{stars}星", agent_number=number, stars=stars))
    leaders = [user(f"leader{i:02d}", Role.SHIFT_LEADER, org.center, "正值" if i == 1 else "副值") for i in (1, 2)]
    director = user("director", Role.DIRECTOR, org.center)
    inspector = user("inspector", Role.INSPECTOR, org.center)
    experts = [user("expert01", Role.EXPERT, org.marketing, "营销专家"), user("expert02", Role.EXPERT, org.metering, "计量专家")]
    unit_users = {}
    for i, station in enumerate(org.stations, start=1):
        unit_users[station.id] = user(f"station{i:02d}", Role.UNIT_STAFF, station)
    for username, unit in (("desk", org.desk), ("marketing", org.marketing), ("discipline", org.discipline),
                           ("metering", org.metering)):
        unit_users[unit.id] = user(username, Role.UNIT_STAFF, unit)
    admin = user("admin", Role.ADMIN, org.province, "系统管理")
    return Staff(agents[:-1], agents[-1], leaders, director, inspector, experts, admin, unit_users, logins)


# --- service areas and customers ----------------------------------------------------

@dataclass
class Place:
    """Somewhere customers live: a transformer area, or a village for
    addresses by villager group (组)."""

    area: ServiceArea
    address: str  # county + area names, without the house number
    weight: float
    station: Unit
    level: str


def build_areas(org: Org, plan: list[StationPlan], pool: names.StemPool, rng: random.Random) -> list[Place]:
    """Townships → villages/communities → transformer areas; the pool keeps
    village stems distinct from the townships' ones."""
    create = org_services.create_service_area
    places: list[Place] = []
    weights = {AreaClass.URBAN: 3.0, AreaClass.RURAL: 1.5, AreaClass.REMOTE: 1.0}
    t = 0
    for station_plan, station in zip(plan, org.stations):
        for town_plan in station_plan.townships:
            t += 1
            cls = town_plan.area_class
            town = create(name=town_plan.name, code=f"QX{t:02d}", level=AreaLevel.TOWNSHIP, unit=station, area_class=cls)
            if cls == AreaClass.URBAN:
                villages, tareas = rng.randint(6, 7), (2, 4)
            elif cls == AreaClass.RURAL:
                villages, tareas = rng.randint(8, 10), (1, 2)
            else:
                villages, tareas = rng.randint(5, 7), (1, 1)
            for v in range(1, villages + 1):
                vname = pool.street() + "社区" if cls == AreaClass.URBAN else pool.rural() + "村"
                village = create(name=vname, code=f"QX{t:02d}{v:02d}", level=AreaLevel.VILLAGE, unit=station, parent=town,
                                 area_class=cls)
                if cls != AreaClass.URBAN:
                    places.append(Place(village, names.COUNTY_PLACE + names.join_lineage([town.name, vname]),
                                        weights[cls] * 0.3, station, AreaLevel.VILLAGE))
                # At most 9 per village, so "…1号台区" is never part of "…11号台区".
                for k in range(1, rng.randint(*tareas) + 1):
                    tname = f"{vname}{k}号台区"
                    tarea = create(name=tname, code=f"QX{t:02d}{v:02d}T{k}", level=AreaLevel.TRANSFORMER_AREA,
                                   unit=station, parent=village, area_class=cls)
                    places.append(Place(tarea, names.COUNTY_PLACE + names.join_lineage([town.name, vname, tname]),
                                        weights[cls], station, AreaLevel.TRANSFORMER_AREA))
    return places


@dataclass
class CustomerRow:
    id: int
    name: str
    phone: str
    address: str
    area: ServiceArea
    station: Unit
    mark: str


def _house_number(place: Place, rng: random.Random) -> str:
    if place.level == AreaLevel.VILLAGE:
        return f"{rng.randint(1, 12)}组{rng.randint(1, 60)}号"
    if place.area.area_class == AreaClass.URBAN:
        return f"{rng.randint(1, 30)}幢{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
    return f"{rng.randint(1, 120)}号"


def _landline(rng: random.Random) -> str:
    area_code = settings.HOTLINE.get("DEFAULT_AREA_CODE", "0571")
    return f"{area_code}-{rng.choice('5678')}{rng.randint(0, 9_999_999):07d}"


def build_customers(n: int, places: list[Place], fake: Faker, rng: random.Random) -> list[CustomerRow]:
    """Customers in bulk (the service has no rules beyond phone normalisation,
    which is applied here the same way)."""
    chosen = rng.choices(places, weights=[p.weight for p in places], k=n)
    accounts = rng.sample(range(1_000_000), n)
    objs, extra = [], []
    for place, account in zip(chosen, accounts):
        roll = rng.random()
        mark = (SpecialMark.ARREARS if roll < 0.02 else SpecialMark.THEFT if roll < 0.023
                else SpecialMark.MALICIOUS if roll < 0.025 else "")
        objs.append(Customer(account_number=f"3307{account:06d}", name=fake.name(),
                             address=place.address + _house_number(place, rng), service_area=place.area, special_mark=mark))
        kind = rng.random()
        raws = [fake.phone_number()] if kind < 0.85 else [_landline(rng)]
        if kind > 0.92:
            raws.append(fake.phone_number())
        extra.append((place, raws))
    created = Customer.objects.bulk_create(objs, batch_size=500)
    phone_rows, out = [], []
    for customer, (place, raws) in zip(created, extra):
        for raw in raws:
            p = phones.normalise(raw)
            phone_rows.append(CustomerPhone(customer=customer, number=p.number, extension=p.extension, raw=raw))
        out.append(CustomerRow(customer.id, customer.name, raws[0], customer.address, place.area, place.station,
                               customer.special_mark))
    CustomerPhone.objects.bulk_create(phone_rows, batch_size=1000)
    return out


# --- history ---------------------------------------------------------------------

Plan = Iterator[float]  # a generator yielding minutes until its next step


def _call(fn: Callable[[], object]) -> Plan:
    fn()
    yield from ()


class History:
    """Runs every order's plan in time order with the clock frozen at each step."""

    def __init__(self, *, org: Org, staff: Staff, customers: list[CustomerRow], places: list[Place], rng: random.Random,
                 fake: Faker,
                 start: dt.datetime, end: dt.datetime, say: Callable[[str], None]):
        self.org, self.staff, self.customers = org, staff, customers
        self.rng, self.fake, self.start, self.end, self.say = rng, fake, start, end, say
        # Its own generator: the handling records do not shift the history's draws.
        self.record_rng = random.Random(rng.getstate()[1][0])
        self.heap: list[tuple[dt.datetime, int, Plan]] = []
        self.seq = itertools.count()
        self.skipped: list[str] = []
        self.villages = [p for p in places if p.level == AreaLevel.VILLAGE]
        self.by_area: dict[int, list[CustomerRow]] = defaultdict(list)
        for row in customers:
            self.by_area[row.area.id].append(row)
        self.clock: clock.FrozenClock | None = None
        self.plans = {"repair": self.repair, "complaint": self.complaint, "report": self.report, "opinion": self.feedback,
                      "suggestion": self.feedback, "praise": self.feedback, "inquiry": self.inquiry,
                      "service_request": self.service_request}

    # driver

    def run(self) -> None:
        self.schedule_calls()
        self.schedule_showcase()
        self.spawn(self.sweeper(), self.start)
        day_shown = None
        with clock.frozen(self.start) as frozen:
            self.clock = frozen
            while self.heap:
                at, _, plan = heapq.heappop(self.heap)
                if at > self.end:
                    continue  # this step lies in the future: the order stays open
                frozen.set(at)
                day = timezone.localtime(at).date()
                if day != day_shown:
                    day_shown = day
                    self.say(f"history: {day:%Y-%m-%d}, {WorkOrder.objects.count()} orders so far")
                try:
                    delay = next(plan)
                except StopIteration:
                    continue
                except (OrderError, TransitionError, NoticeError, PermissionError) as exc:
                    # A service refused a step: the demo keeps the order as it stands.
                    self.skipped.append(f"{timezone.localtime(at):%m-%d %H:%M} {type(exc).__name__}: {exc}")
                    log.debug("demo step refused: %s", exc)
                    continue
                self.spawn(plan, at + dt.timedelta(minutes=max(0.05, delay)))
        self.clock = None

    def spawn(self, plan: Plan, at: dt.datetime) -> None:
        heapq.heappush(self.heap, (at, next(self.seq), plan))

    @property
    def now(self) -> dt.datetime:
        return self.clock.current

    def schedule_calls(self) -> None:
        tz = timezone.get_current_timezone()
        day = timezone.localtime(self.start).date()
        last = timezone.localtime(self.end).date()
        kinds, kind_weights = list(TYPE_MIX), list(TYPE_MIX.values())
        while day <= last:
            count = self.rng.randint(80, 125)
            if day.weekday() >= 5:
                count = int(count * 0.85)
            for _ in range(count):
                kind = self.rng.choices(kinds, kind_weights)[0]
                hours = REPAIR_HOURS if kind == "repair" else OTHER_HOURS
                hour = self.rng.choices(range(24), hours)[0]
                at = dt.datetime.combine(day, dt.time(hour, self.rng.randint(0, 59), self.rng.randint(0, 59)), tz)
                if self.start <= at <= self.end:
                    self.spawn(self.plans[kind](), at)
            day += dt.timedelta(days=1)

    def schedule_showcase(self) -> None:
        """A few repairs that are caught mid-way at "now", so every working
        state has an example on the boards: (state held, minutes before now)."""
        for hold, minutes in (("draft", 12), ("returned", 20), ("received", 35), ("on_site", 130), ("resolved", 190),
                              ("replied", 240)):
            at = self.end - dt.timedelta(minutes=minutes)
            if at >= self.start:
                self.spawn(self.repair(hold=hold), at)

    # helpers

    def wait(self, minutes: float, windows=None, weekdays_only: bool = False) -> float:
        """Minutes from now until ``minutes`` later, pushed into ``windows``."""
        target = self.now + dt.timedelta(minutes=minutes)
        if windows:
            target = self._next_open(target, windows, weekdays_only)
        return max(0.05, (target - self.now).total_seconds() / 60)

    def _next_open(self, at: dt.datetime, windows, weekdays_only: bool) -> dt.datetime:
        local = timezone.localtime(at)
        for _ in range(10):
            if not weekdays_only or local.weekday() < 5:
                for (h1, m1), (h2, m2) in windows:
                    opens = local.replace(hour=h1, minute=m1, second=0, microsecond=0)
                    closes = local.replace(hour=h2, minute=m2, second=0, microsecond=0)
                    if local < opens:
                        return opens + dt.timedelta(minutes=self.rng.uniform(0, 40))
                    if local < closes:
                        return local
            local = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return local

    def agent(self, *, allow_low_star: bool = True) -> User:
        if allow_low_star and self.rng.random() < 0.06:
            return self.staff.low_star
        return self.rng.choice(self.staff.agents)

    def leader(self) -> User:
        return self.rng.choice(self.staff.leaders)

    def unit_user(self, order: WorkOrder) -> User:
        return self.staff.unit_users[order.assigned_unit_id]

    def customer(self) -> CustomerRow:
        return self.rng.choice(self.customers)

    def caller(self, row: CustomerRow | None) -> dict:
        if row is None:
            return {"caller_name": self.fake.name(), "caller_phone": self.fake.phone_number()}
        return {"customer_id": row.id, "caller_name": row.name, "caller_phone": row.phone}

    def pick(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def create(self, actor: User, **fields) -> WorkOrder:
        return wo.create_order(actor=actor, intake=wo.Intake(**fields))

    def act(self, order: WorkOrder, action: str, actor: User, **payload) -> WorkOrder:
        if "record" not in payload:
            record = self.handling_record(order, action, payload.get("note", ""))
            if record:
                payload["record"] = record
        return wo.transition(order=order.pk, action=action, actor=actor, payload=payload)

    def handling_record(self, order: WorkOrder, action: str, note: str) -> dict:
        """What the unit records on ``action`` as the order's type asks it
        (a repair's cause and measures, a complaint's findings …), in the
        demo's words; the time of the action is the step's own."""
        from hotline.catalog.models import FieldKind
        from hotline.workorders import handling

        rng = self.record_rng
        sub = order.sub_class.code if order.sub_class_id else ""
        record: dict = {}
        for item in handling.fields_for(order, action):
            if item.action_time:
                continue
            if item.kind == FieldKind.CHOICE:
                wanted = texts.REPAIR_CAUSES.get(sub) if item.code == "cause" else texts.RECORD_CHOICES.get(item.code)
                codes = [c for c in wanted or [] if c in item.choice_codes()] or item.choice_codes()
                record[item.code] = rng.choice(codes)
            elif item.kind == FieldKind.BOOLEAN:
                record[item.code] = rng.random() < 0.85
            elif item.kind == FieldKind.TEXT:
                text = rng.choice(texts.RECORD_TEXTS[item.code]) if item.code in texts.RECORD_TEXTS else note or "已处理"
                record[item.code] = text[:item.max_length]
        return record

    def chase(self, order: WorkOrder, note: str) -> None:
        self.spawn(self.chase_up(order, note), self.now)

    # plans shared by several types

    def approve_draft(self, order: WorkOrder, hold: str = ""):
        """A 3-star agent's order waits for the shift leader (spec §1)."""
        if order.state != "draft" or hold == "draft":
            return order
        yield self.wait(self.rng.uniform(2, 8))
        order = self.act(order, "approve", self.leader(), note="复核无误，同意派发")
        if order.business_type.code != "inquiry":
            yield self.wait(1)
            order = self.act(order, "dispatch", order.owner)
        return order

    def close_out(self, order: WorkOrder, *, reopen: bool = True):
        """The center's end of an order: review, callback, archive."""
        rng = self.rng
        if rng.random() < 0.02:
            return  # waiting for the center's review
        owner = order.owner
        yield self.wait(rng.uniform(5, 90))
        if rng.random() < 0.04:
            order = self.act(order, "rework", owner, reason=texts.REWORK_REASON)
            order = yield from self.redo(order, "已补充故障原因和处理结果")
            yield self.wait(rng.uniform(5, 60))
        order = self.act(order, "review", owner, note="回单内容完整，审核通过")
        bt = order.business_type
        outcome = ""
        if bt.callback == "always" or (bt.callback == "if_wanted" and order.reply_wanted):
            repair = bt.code == "repair"
            hours = rng.uniform(25, 30) if rng.random() < 0.04 else rng.uniform(1, 20 if repair else 7)
            yield self.wait(hours * 60, CALL_WINDOWS)
            outcome = self.pick(CALLBACK_OUTCOMES)
            order = self.act(order, "callback", owner, outcome=outcome, note=rng.choice(texts.CALLBACK[outcome]))
            # Every merged caller is called back too (spec D3.4c).
            for sub in WorkOrder.objects.filter(master=order, state="merged").order_by("pk"):
                yield self.wait(rng.uniform(1, 4), CALL_WINDOWS)
                sub_outcome = self.pick(CALLBACK_OUTCOMES)
                self.act(sub, "callback", owner, outcome=sub_outcome, note=rng.choice(texts.CALLBACK[sub_outcome]))
        if outcome == "unreachable":
            # Further attempts within 3 working days (spec §6) before archiving.
            yield self.wait(rng.uniform(2 * 60, 30 * 60), CALL_WINDOWS)
        else:
            yield self.wait(rng.uniform(1, 5))
        order = self.act(order, "close", owner)
        if reopen and outcome == "dissatisfied" and rng.random() < 0.5:
            yield self.wait(rng.uniform(30, 180))
            order = self.act(order, "reopen", self.leader(), reason=texts.REOPEN_REASON)
            order = yield from self.redo(order, "已重新处理并向客户说明")
            yield from self.close_out(order, reopen=False)

    def redo(self, order: WorkOrder, note: str):
        """The unit works a reworked or reopened order again, on site if its type goes there."""
        rng = self.rng
        unit = self.unit_user(order)
        if parse_lifecycle(order.business_type.lifecycle).find("arrive", order.state):
            yield self.wait(rng.uniform(30, 120))
            order = self.act(order, "arrive", unit)
            yield self.wait(rng.uniform(20, 90))
            order = self.act(order, "resolve", unit, note="二次处理完毕")
        yield self.wait(rng.uniform(5, 60))
        return self.act(order, "reply", unit, note=note)

    def department(self, order: WorkOrder, *, receive: tuple[float, float], reply_days: tuple[float, float],
                   late_share: float = 0.0, late_days: tuple[float, float] = (0, 0), contact: bool = False,
                   on_site: bool = False, may_return: bool = False, chase_share: float = 0.0, office: bool = True):
        """A department's handling: receive, (contact), (visit), reply."""
        rng = self.rng
        hours = OFFICE_WINDOWS if office else None
        if may_return and rng.random() < 0.08:
            yield self.wait(rng.uniform(30, 100), OFFICE_WINDOWS, True)
            order = self.act(order, "return", self.unit_user(order), reason=texts.RETURN_REASON["complaint"])
            yield self.wait(rng.uniform(5, 25) if rng.random() < 0.9 else rng.uniform(25, 60))
            order = self.act(order, "redispatch", order.owner, unit_id=self.org.metering.id, note="改派计量中心")
        yield self.wait(rng.uniform(*receive), hours, True)
        unit = self.unit_user(order)
        order = self.act(order, "receive", unit)
        if contact:
            yield self.wait(rng.uniform(60, 20 * 60) if rng.random() > 0.05 else rng.uniform(25 * 60, 30 * 60),
                            OFFICE_WINDOWS, True)
            order = self.act(order, "contact", unit, note=rng.choice(texts.CONTACT))
        days = rng.uniform(*late_days) if rng.random() < late_share else rng.uniform(*reply_days)
        minutes = days * 24 * 60
        if rng.random() < chase_share:
            yield self.wait(minutes * 0.5)
            self.chase(order, rng.choice(texts.CHASE["other"]))
            minutes *= 0.5
        if on_site:
            yield self.wait(minutes, hours, True)
            order = self.act(order, "arrive", unit)
            yield self.wait(rng.uniform(20, 120))
            order = self.act(order, "resolve", unit, note=rng.choice(texts.FIELD_REPLY))
            yield self.wait(rng.uniform(5, 60))
            order = self.act(order, "reply", unit, note=rng.choice(texts.FIELD_REPLY))
        else:
            yield self.wait(minutes, OFFICE_WINDOWS, True)
            order = self.act(order, "reply", unit, note=rng.choice(texts.DEPARTMENT_REPLY))
        yield from self.close_out(order)

    # one plan per business type

    def repair(self, hold: str = ""):
        """A repair report; ``hold`` stops it once it reaches that state."""
        rng = self.rng
        sub = self.pick(REPAIR_MIX)
        row = self.customer() if hold or rng.random() > 0.04 else None
        fields = dict(business_type="repair", sub_class=sub, description=rng.choice(texts.REPAIR[sub]),
                      fault_scope="company", priority="urgent" if sub == "hv" or rng.random() < 0.15 else "normal")
        if row is None:
            # A passer-by: no account, an address the lookup resolves (or, rarely, cannot).
            known = self.villages and rng.random() > 0.25
            fields["address"] = rng.choice(self.villages).address + "村口" if known else f"{names.COUNTY_PLACE}省道旁加油站附近"
            if sub == "customer_internal":
                sub = fields["sub_class"] = "lv"
                fields["description"] = rng.choice(texts.REPAIR["lv"])
        roll = rng.random()
        if hold:
            fields.update(sub_class="lv", description=rng.choice(texts.REPAIR["lv"]))
            if hold == "returned":
                fields["assigned_unit_id"] = rng.choice([s for s in self.org.stations if s.id != row.station.id]).id
        elif sub == "customer_internal":
            fields.update(fault_scope="customer_internal", paid_service=roll < 0.5)
        elif row is not None and row.mark == SpecialMark.ARREARS and roll < 0.7:
            fields.update(fault_scope="arrears", description="家里停电了，是不是欠费停的电")
        elif roll < 0.04:
            fields.update(fault_scope="planned_outage", description="家里停电了，询问是否计划停电")
        elif row is not None and rng.random() < 0.04:
            # The agent picked a neighbouring station by mistake; it comes back as outside its area.
            others = [s for s in self.org.stations if s.id != row.station.id]
            fields["assigned_unit_id"] = rng.choice(others).id
        agent = self.staff.low_star if hold == "draft" else self.agent(allow_low_star=not hold)
        order = self.create(agent, **fields, **self.caller(row))
        order = yield from self.approve_draft(order, hold)
        if order.business_type.code == "inquiry":
            if order.state == "accepted":  # recorded as an inquiry by a 3-star agent, now approved
                yield self.wait(rng.uniform(1, 3))
                self.act(order, "answer", order.owner, note=rng.choice(texts.INQUIRY_ANSWER))
            return
        if order.state != "dispatched":
            return
        if sub == "hv" and order.service_area_id and not hold:
            # An area-wide fault: neighbours call too, and their reports merge.
            for _ in range(rng.randint(1, 3)):
                self.spawn(self.duplicate(order), self.now + dt.timedelta(minutes=rng.uniform(3, 40)))
        yield from self.repair_work(order, hold)

    def repair_work(self, order: WorkOrder, hold: str = ""):
        rng = self.rng
        misrouted = order.service_area_id is not None and order.assigned_unit_id != order.service_area.unit_id
        if misrouted or order.service_area_id is None:
            yield self.wait(rng.uniform(1, 2.8))
            order = self.act(order, "return", self.unit_user(order),
                             reason="outside_area" if misrouted else "missing_information",
                             note="非本所供电范围" if misrouted else texts.RETURN_REASON["desk"])
            if hold == order.state:
                return
            yield self.wait(rng.uniform(1, 2.5) if rng.random() < 0.85 else rng.uniform(4, 9))
            target = order.service_area.unit if order.service_area_id else rng.choice(self.org.stations)
            order = self.act(order, "redispatch", order.owner, unit_id=target.id, note=f"已核实地址，改派{target.name}")
        if rng.random() < 0.015 and not hold:
            return  # never accepted: left for supervision
        unit = self.unit_user(order)
        yield self.wait(rng.uniform(0.5, 2.8) if rng.random() > 0.07 else rng.uniform(4, 15))
        order = self.act(order, "receive", unit)
        if hold == order.state:
            return
        if rng.random() < 0.03 and not hold:
            yield self.wait(rng.uniform(8, 40))
            self.act(order, "cancel", order.owner, reason=rng.choice(texts.CANCEL_REASON))
            return
        limit = ARRIVAL_MINUTES.get(order.area_class, 90)
        late = rng.random() < 0.1 and not hold
        travel = limit * (rng.uniform(1.05, 1.8) if late else rng.uniform(0.25, 0.9))
        if travel > 30 and rng.random() < (0.5 if late else 0.08):
            first = travel * rng.uniform(0.5, 0.8)
            yield self.wait(first)
            self.chase(order, rng.choice(texts.CHASE["repair"]))
            travel -= first
        yield self.wait(travel)
        if rng.random() < 0.01 and not hold:
            return  # arrival never recorded
        order = self.act(order, "arrive", unit)
        if hold == order.state:
            return
        work = rng.uniform(200, 420) if rng.random() < 0.07 and not hold else rng.uniform(25, 60 if hold else 150)
        # Repairs over 4 h report progress every 2 h (spec §3.6).
        while work > 130:
            yield self.wait(120)
            order = self.act(order, "progress", unit, note=rng.choice(texts.PROGRESS))
            work -= 120
        yield self.wait(work)
        sub = order.sub_class.code if order.sub_class_id else "lv"
        fix = rng.choice(texts.REPAIR_FIX.get(sub, texts.REPAIR_FIX["lv"]))
        order = self.act(order, "resolve", unit, note=fix)
        if hold == order.state:
            return
        yield self.wait(rng.uniform(2, 10))
        order = self.act(order, "reply", unit, note=f"{fix}。客户已确认恢复正常")
        if hold == order.state:
            return
        yield from self.close_out(order)

    def duplicate(self, master: WorkOrder):
        """A neighbour reports the same fault; the agent merges it (spec §3.4)."""
        rng = self.rng
        if WorkOrder.objects.filter(pk=master.pk).values_list("state", flat=True).get() in TERMINAL:
            return
        neighbours = [r for r in self.by_area.get(master.service_area_id, []) if r.id != master.customer_id]
        row = rng.choice(neighbours) if neighbours else None
        fields = dict(business_type="repair", sub_class=master.sub_class.code, fault_scope="company",
                      priority=master.priority, description=rng.choice(texts.REPAIR["hv"]), **self.caller(row))
        if row is None:
            fields.update(address=master.address, service_area_id=master.service_area_id)
        agent = self.agent(allow_low_star=False)
        if rng.random() < 0.85:
            self.create(agent, merge_into=master.number, **fields)
            return
        # Recorded separately first; the agent merges it once the fault point is confirmed.
        order = self.create(agent, **fields)
        yield self.wait(rng.uniform(3, 15))
        if WorkOrder.objects.filter(pk=master.pk).values_list("state", flat=True).get() not in TERMINAL:
            self.act(order, "merge", agent, master=master.number, note="核实为同一故障点，合并处理")

    def chase_up(self, order: WorkOrder, note: str):
        """The customer calls again; a chase-up (催办) goes to the same unit."""
        rng = self.rng
        chase = wo.chase_up(order=order.pk, actor=self.agent(allow_low_star=False), note=note)
        if chase.state == "accepted":
            yield self.wait(1)
            chase = self.act(chase, "dispatch", chase.owner)
        unit = self.unit_user(chase)
        yield self.wait(rng.uniform(1, 6))
        chase = self.act(chase, "receive", unit)
        yield self.wait(rng.uniform(5, 30))
        chase = self.act(chase, "reply", unit, note=rng.choice(texts.CHASE_REPLY))
        yield self.wait(rng.uniform(3, 20))
        chase = self.act(chase, "review", chase.owner)
        yield self.wait(1)
        self.act(chase, "close", chase.owner)

    def complaint(self):
        rng = self.rng
        sub = self.pick({"service": 30, "business": 25, "outage": 20, "quality": 12, "construction": 8, "conduct": 5})
        anonymous = rng.random() < 0.05
        order = self.create(self.agent(), business_type="complaint", sub_class=sub,
                            description=rng.choice(texts.COMPLAINT[sub]), anonymous=anonymous,
                            priority=self.pick({"normal": 70, "important": 20, "major": 8, "special": 2}),
                            **self.caller(self.customer()))
        order = yield from self.approve_draft(order)
        if order.state != "dispatched":
            return
        if order.business_type.code != "complaint":  # recorded as an opinion (spec §1 intake rules)
            yield from self.department(order, receive=(30, 240), reply_days=(1, 6))
            return
        yield from self.department(order, receive=(10, 100), reply_days=(0.5, 4), late_share=0.06, late_days=(5.1, 6),
                                   contact=True, may_return=sub != "conduct", chase_share=0.15)

    def report(self):
        rng = self.rng
        sub = self.pick({"conduct": 20, "theft": 35, "violation": 20, "damage": 15, "stealing": 10})
        order = self.create(self.agent(), business_type="report", sub_class=sub, description=rng.choice(texts.REPORT[sub]),
                            reply_wanted=rng.random() < 0.6, **self.caller(self.customer()))
        order = yield from self.approve_draft(order)
        if order.state == "dispatched":
            yield from self.department(order, receive=(30, 300), reply_days=(1, 8), late_share=0.05, late_days=(10.1, 11))

    def feedback(self):
        """Opinions, suggestions and praise go to the marketing department."""
        rng = self.rng
        kind = self.pick({"opinion": 6, "suggestion": 3, "praise": 4})
        pool = {"opinion": texts.OPINION, "suggestion": texts.SUGGESTION, "praise": texts.PRAISE}[kind]
        sub = rng.choice(list(pool))
        order = self.create(self.agent(), business_type=kind, sub_class=sub, description=rng.choice(pool[sub]),
                            reply_wanted=kind == "praise" or rng.random() < 0.7, **self.caller(self.customer()))
        order = yield from self.approve_draft(order)
        if order.state == "dispatched":
            yield from self.department(order, receive=(30, 480), reply_days=(0.5, 3 if kind == "praise" else 6))

    def inquiry(self):
        rng = self.rng
        sub = rng.choice(list(texts.INQUIRY))
        order = self.create(self.agent(), business_type="inquiry", sub_class=sub, description=rng.choice(texts.INQUIRY[sub]),
                            reply_wanted=rng.random() < 0.5, **self.caller(self.customer()))
        order = yield from self.approve_draft(order)
        if order.state != "accepted":
            return
        if rng.random() < 0.82:
            # Answered on the call (spec §1: average ≤ 3 min).
            yield self.wait(rng.uniform(1, 4))
            self.act(order, "answer", order.owner, note=rng.choice(texts.INQUIRY_ANSWER))
            return
        yield self.wait(rng.uniform(3, 8))
        order = self.act(order, "dispatch", order.owner, note="知识库无答案，转营销部答复")
        yield from self.department(order, receive=(10, 120), reply_days=(0.2, 1.5), late_share=0.05, late_days=(3, 4))

    def service_request(self):
        rng = self.rng
        sub = self.pick({"reconnection": 20, "appliance_damage": 8, "meter_abnormal": 10, "reading_abnormal": 10,
                         "meter_test": 8, "new_connection": 24, "usage_change": 20})
        row = self.customer()
        order = self.create(self.agent(), business_type="service_request", sub_class=sub,
                            description=rng.choice(texts.SERVICE_REQUEST[sub]), **self.caller(row))
        order = yield from self.approve_draft(order)
        if order.state != "dispatched":
            return
        if sub == "reconnection":
            # Restoration within 24 h of payment, any hour.
            yield from self.department(order, receive=(2, 30), reply_days=(0.05, 0.5), late_share=0.05, late_days=(1.1, 1.5),
                                       on_site=True, office=False)
        else:
            yield from self.department(order, receive=(20, 240), reply_days=(0.3, 4), late_share=0.05, late_days=(6, 8),
                                       on_site=True)

    # the worker

    def sweeper(self):
        """Raise warnings and notices as the worker would, and let units
        answer most supervision notices addressed to them."""
        center = self.org.center.id
        due = Clock.objects.filter(status=ClockStatus.RUNNING)
        while True:
            now = self.now
            # One indexed probe instead of a sweep transaction on the many idle ticks.
            if due.filter(next_check_at__lte=now).exists() and sweep_until_idle(now=now).notices:
                for notice in Notice.objects.filter(kind=NoticeKind.SUPERVISION, level=1, created_at=now):
                    user = self.staff.unit_users.get(notice.unit_id) or (self.leader() if notice.unit_id == center else None)
                    if user is not None and self.rng.random() < 0.7:
                        self.spawn(_call(lambda n=notice, u=user: self.answer(n, u)),
                                   now + dt.timedelta(minutes=self.rng.uniform(10, 90)))
            yield 2

    def answer(self, notice: Notice, user: User) -> None:
        notice.refresh_from_db()
        if notice.answered_at is None:
            answer_notice(notice=notice, user=user, text=self.rng.choice(texts.NOTICE_ANSWER))
