"""Data for the work-order benchmark (issue 2).

Two stages:

1. *Templates* — a few hundred small groups of orders (one order, or an order
   plus its merged sub-order or its chase-up) are driven through the real
   services (``create_order``, ``transition``, ``chase_up``, the time-limit
   ``sweep_once`` and ``answer_notice``) under a frozen clock, so every row
   they leave (order, events, clocks, notices, reporter identity) is exactly
   what production code writes.
2. *Replication* — set-based SQL copies the templates into the real tables
   as many times as asked (1,000,000 orders by default): new ids, numbers and
   customers, every timestamp shifted to a creation instant spread over a
   year (closed orders) or over the last hours/days (the open tail). The
   templates themselves are deleted afterwards.

Only ``bench/`` imports this module; Django must be set up first.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

# --- organisation ---------------------------------------------------------------

STATIONS = ["城关供电所", "东山供电所", "西岭供电所", "南湖供电所", "北塘供电所", "桥头供电所", "石门供电所", "青溪供电所"]
AREA_CLASS = ["urban", "urban", "urban", "rural", "rural", "rural", "remote", "remote"]
PASSWORD = "hotline-bench-pw-1"


@dataclass
class BenchWorld:
    county: object
    center: object
    desk: object
    stations: list
    departments: dict
    agents: list
    leader: object
    director: object
    county_user: object
    admin: object
    unit_users: dict  # unit id -> unit_staff user
    areas: list  # leaf areas with customers
    customers_by_area: dict = field(default_factory=dict)  # area id -> [customer ids]


def build_world(*, n_agents: int = 50, n_customers: int = 20000, seed: int = 7) -> BenchWorld:
    from hotline.organisation import services as org
    from hotline.organisation.models import Customer, CustomerPhone, Role

    rnd = random.Random(seed)
    province = org.create_unit(name="省公司", code="b-prov", kind="province")
    city = org.create_unit(name="市公司", code="b-city", kind="city", parent=province)
    county = org.create_unit(name="县公司", code="b-county", kind="county", parent=city)
    center = org.create_unit(name="95598客服中心", code="b-center", kind="center", parent=county)
    desk = org.create_unit(name="县调度台", code="b-desk", kind="dispatch_desk", parent=county)
    departments = {
        "marketing": org.create_unit(name="营销部", code="b-mkt", kind="department", parent=county, function="marketing"),
        "discipline": org.create_unit(name="纪检监察部", code="b-disc", kind="department", parent=county, function="discipline"),
        "metering": org.create_unit(name="计量中心", code="b-meter", kind="department", parent=county, function="metering"),
    }
    stations = []
    areas = []
    for i, name in enumerate(STATIONS):
        st = org.create_unit(name=name, code=f"b-st{i}", kind="station", parent=county)
        org.create_unit(name=f"{name}抢修班", code=f"b-crew{i}", kind="crew", parent=st)
        stations.append(st)
        town = org.create_service_area(name=f"{name[:2]}镇", code=f"b-a{i}", level="township", unit=st, area_class=AREA_CLASS[i])
        for v in range(3):
            village = org.create_service_area(name=f"{name[:2]}{v + 1}村", code=f"b-a{i}v{v}", level="village", unit=st,
                                              parent=town, area_class=AREA_CLASS[i])
            areas.append(village)
            for t in range(2):
                areas.append(org.create_service_area(name=f"{v + 1}-{t + 1}号台区", code=f"b-a{i}v{v}t{t}",
                                                     level="transformer_area", unit=st, parent=village,
                                                     area_class=AREA_CLASS[i]))

    def user(name, role, unit, **kw):
        return org.create_user(username=f"b-{name}", password=PASSWORD, role=role, unit=unit, display_name=name, **kw)

    agents = [user(f"agent{i:02d}", Role.AGENT, center, agent_number=f"{1000 + i}", stars=4 + (i % 2)) for i in range(n_agents)]
    unit_users = {}
    for st in stations:
        unit_users[st.id] = user(f"staff-{st.code}", Role.UNIT_STAFF, st)
    for dept in departments.values():
        unit_users[dept.id] = user(f"staff-{dept.code}", Role.UNIT_STAFF, dept)
    unit_users[desk.id] = user("staff-desk", Role.UNIT_STAFF, desk)
    world = BenchWorld(
        county=county, center=center, desk=desk, stations=stations, departments=departments, agents=agents,
        leader=user("leader", Role.SHIFT_LEADER, center), director=user("director", Role.DIRECTOR, center),
        county_user=user("county", Role.DIRECTOR, county), admin=user("admin", Role.ADMIN, province),
        unit_users=unit_users, areas=areas,
    )
    # Customers: bulk rows shaped like create_customer's (normalised mobile numbers).
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌辉宇浩凯鹏"
    now = timezone.now()
    rows = []
    for n in range(n_customers):
        area = areas[rnd.randrange(len(areas))]
        name = rnd.choice(surnames) + rnd.choice(given) + (rnd.choice(given) if rnd.random() < 0.6 else "")
        rows.append(Customer(account_number=f"33{n:08d}", name=name, address=f"{area.full_name}{rnd.randint(1, 200)}号",
                             service_area=area, created_at=now))
    Customer.objects.bulk_create(rows, batch_size=5000)
    phones = []
    used = set()
    for c in Customer.objects.filter(account_number__startswith="33").only("id", "service_area_id"):
        while True:
            number = f"1{rnd.choice('3578')}{rnd.randrange(10**9):09d}"
            if number not in used:
                used.add(number)
                break
        phones.append(CustomerPhone(customer_id=c.id, number=number, raw=number))
        world.customers_by_area.setdefault(c.service_area_id, []).append(c.id)
    CustomerPhone.objects.bulk_create(phones, batch_size=5000)
    return world


def load_world() -> BenchWorld:
    """The world of an already-built benchmark database."""
    from hotline.organisation.models import Customer, Role, ServiceArea, Unit, User

    units = {u.code: u for u in Unit.objects.filter(code__startswith="b-")}
    users = {u.username: u for u in User.objects.filter(username__startswith="b-").select_related("unit")}
    stations = [units[f"b-st{i}"] for i in range(len(STATIONS))]
    world = BenchWorld(
        county=units["b-county"], center=units["b-center"], desk=units["b-desk"], stations=stations,
        departments={"marketing": units["b-mkt"], "discipline": units["b-disc"], "metering": units["b-meter"]},
        agents=sorted((u for u in users.values() if u.role == Role.AGENT), key=lambda u: u.username),
        leader=users["b-leader"], director=users["b-director"], county_user=users["b-county"], admin=users["b-admin"],
        unit_users={u.unit_id: u for u in users.values() if u.role == Role.UNIT_STAFF},
        areas=list(ServiceArea.objects.filter(code__startswith="b-").exclude(level="township")),
    )
    for cid, area_id in Customer.objects.filter(account_number__startswith="33").values_list("id", "service_area_id"):
        world.customers_by_area.setdefault(area_id, []).append(cid)
    return world


# --- templates --------------------------------------------------------------------

# Order mix of a county 95598 center (share of orders).
TYPE_MIX = [
    ("repair", 0.50), ("inquiry", 0.22), ("service_request", 0.09), ("opinion", 0.05), ("complaint", 0.04),
    ("repair_merge", 0.03), ("chase", 0.02), ("suggestion", 0.01), ("praise", 0.01), ("report", 0.005),
    ("repair_inquiry", 0.025),
]
SUBS = {
    "repair": [("lv", 0.6), ("hv", 0.15), ("quality", 0.1), ("metering", 0.1), ("charging", 0.05)],
    "complaint": [("service", 0.3), ("business", 0.25), ("outage", 0.2), ("quality", 0.15), ("conduct", 0.1)],
    "report": [("theft", 0.5), ("violation", 0.3), ("conduct", 0.2)],
    "opinion": [("connection", 0.2), ("metering", 0.2), ("billing", 0.3), ("repair_quality", 0.15), ("frequent_outage", 0.15)],
    "suggestion": [("connection", 0.3), ("metering", 0.2), ("billing", 0.2), ("service", 0.3)],
    "praise": [("service", 0.7), ("construction", 0.2), ("conduct", 0.1)],
    "inquiry": [("bill", 0.35), ("payment", 0.2), ("tariff", 0.1), ("policy", 0.1), ("progress", 0.15), ("outage", 0.1)],
    "service_request": [("reconnection", 0.3), ("appliance_damage", 0.1), ("meter_abnormal", 0.2), ("reading_abnormal", 0.15),
                        ("meter_test", 0.1), ("new_connection", 0.1), ("usage_change", 0.05)],
}
DESCRIPTIONS = {
    "repair": ["家中停电，邻居也没电", "电压不稳，灯一闪一闪", "表箱冒烟，请尽快处理", "线路掉落在路边，有安全隐患", "整个小区停电"],
    "complaint": ["抢修人员态度差", "多次报修无人处理", "电费计算有误，营业厅不解释", "停电未提前通知", "施工后未恢复路面"],
    "report": ["有人私拉电线窃电", "工地违约用电", "工作人员收取好处费"],
    "opinion": ["希望缩短业扩办理时间", "电表读数与实际不符", "催费短信太频繁", "抢修后现场未清理", "本月多次停电"],
    "suggestion": ["建议增加线上缴费渠道", "建议在村里设立便民服务点"],
    "praise": ["感谢抢修班冒雨抢修", "营业厅工作人员服务热情"],
    "inquiry": ["咨询本月电费构成", "咨询缴费方式", "咨询阶梯电价", "咨询峰谷电价政策", "咨询工单处理进度", "咨询停电计划"],
    "service_request": ["欠费已缴，申请复电", "雷击后电器损坏，申请核损", "电能表显示异常", "抄表数据异常", "申请校验电表",
                        "申请新装", "申请变更用电性质"],
}

# Steps after intake: (action, by, (lo, hi) minutes). by: "unit", "center", "leader".
U, C = "unit", "center"
PATHS = {
    "repair": [("receive", U, (0.5, 4)), ("arrive", U, (15, 110)), ("resolve", U, (15, 200)), ("reply", U, (2, 30)),
               ("review", C, (5, 120)), ("callback", C, (60, 1300)), ("close", C, (1, 10))],
    "service_request": [("receive", U, (2, 240)), ("arrive", U, (60, 2880)), ("resolve", U, (30, 600)), ("reply", U, (10, 600)),
                        ("review", C, (10, 240)), ("callback", C, (60, 1300)), ("close", C, (1, 10))],
    "complaint": [("receive", U, (5, 150)), ("contact", U, (60, 1700)), ("reply", U, (600, 7000)), ("review", C, (30, 600)),
                  ("callback", C, (60, 1800)), ("close", C, (1, 30))],
    "report": [("receive", U, (10, 300)), ("reply", U, (1440, 14000)), ("review", C, (30, 600)), ("close", C, (1, 60))],
    "opinion": [("receive", U, (10, 300)), ("reply", U, (1440, 12000)), ("review", C, (30, 600)), ("callback", C, (60, 1800)),
                ("close", C, (1, 30))],
    "suggestion": [("receive", U, (10, 300)), ("reply", U, (1440, 12000)), ("review", C, (30, 600)), ("close", C, (1, 30))],
    "praise": [("receive", U, (10, 300)), ("reply", U, (600, 5000)), ("review", C, (30, 600)), ("callback", C, (60, 1800)),
               ("close", C, (1, 30))],
    "inquiry": [("answer", C, (1, 6))],
    # D1f: an inquiry not answered on the call is called back.
    "inquiry_dispatched": [("dispatch", C, (1, 10)), ("receive", U, (5, 200)), ("reply", U, (60, 2000)), ("review", C, (10, 300)),
                           ("callback", C, (60, 1300)), ("close", C, (1, 30))],
    "chase_up": [("receive", U, (1, 10)), ("reply", U, (10, 120)), ("review", C, (5, 60)), ("close", C, (1, 10))],
}
PRIORITIES = {"repair": [("normal", 0.8), ("urgent", 0.2)], "complaint": [("normal", 0.7), ("important", 0.2), ("major", 0.1)]}


def _pick(rnd: random.Random, weighted):
    r = rnd.random() * sum(w for _, w in weighted)
    for value, w in weighted:
        r -= w
        if r <= 0:
            return value
    return weighted[-1][0]


def _delay(rnd: random.Random, lo: float, hi: float) -> float:
    minutes = rnd.uniform(lo, hi)
    if rnd.random() < 0.08:  # the slow tail that breaches limits
        minutes *= rnd.uniform(1.5, 4)
    return minutes


@dataclass
class Plan:
    scenario: str
    open_after: int | None  # number of post-intake steps done before the template stops (open tail)


class TemplateBuilder:
    def __init__(self, world: BenchWorld, *, t0: dt.datetime, seed: int = 11):
        self.w = world
        self.t0 = t0
        self.rnd = random.Random(seed)
        self.groups: list[dict] = []  # {gid, scenario, open, orders: [ids], span_seconds}

    # -- helpers
    def _agent(self):
        return self.rnd.choice(self.w.agents)

    def _customer(self, area=None):
        if area is None:
            area_id = self.rnd.choice([a for a in self.w.customers_by_area])
        else:
            area_id = area
        return area_id, self.rnd.choice(self.w.customers_by_area[area_id])

    def _intake(self, code: str, **kw):
        from hotline.workorders.services import Intake

        sub = _pick(self.rnd, SUBS[code]) if code in SUBS else ""
        pr = _pick(self.rnd, PRIORITIES[code]) if code in PRIORITIES else ""
        fields = dict(business_type=code, sub_class=sub, priority=pr, description=self.rnd.choice(DESCRIPTIONS[code]),
                      channel="phone", dispatch=True)
        if code == "repair":
            fields["fault_scope"] = "company"
        if code == "report":
            fields.update(caller_phone=f"139{self.rnd.randrange(10**8):08d}", caller_name="匿名", reply_wanted=self.rnd.random() < 0.5)
        else:
            _, cid = self._customer(kw.pop("area_id", None))
            fields["customer_id"] = cid
            from hotline.organisation.models import Customer

            c = Customer.objects.prefetch_related("phones").get(pk=cid)
            fields["caller_name"] = c.name
            fields["caller_phone"] = c.phones.all()[0].number
        fields.update(kw)
        return Intake(**fields)

    def _unit_user(self, order):
        user = self.w.unit_users.get(order.assigned_unit_id)
        if user is None:
            raise RuntimeError(f"no staff user for unit {order.assigned_unit_id}")
        return user

    def _catch_up(self, clk, group_ids, target):
        """Sweep at every instant a clock of this group falls due before ``target``."""
        from hotline.timelimits.models import Clock, ClockStatus
        from hotline.timelimits.services import sweep_until_idle

        for _ in range(1000):
            nc = (Clock.objects.filter(order_id__in=group_ids, status=ClockStatus.RUNNING, next_check_at__isnull=False)
                  .order_by("next_check_at").values_list("next_check_at", flat=True).first())
            if nc is None or nc > target:
                break
            clk.set(max(nc, clk.current))
            sweep_until_idle(now=clk.current)
        clk.set(target)

    def _answer_notices(self, group_ids):
        from hotline.timelimits.models import Notice, NoticeKind
        from hotline.timelimits.services import answer_notice

        for n in Notice.objects.filter(order_id__in=group_ids, kind=NoticeKind.SUPERVISION, answered_at__isnull=True).select_related("unit", "order"):
            if self.rnd.random() < 0.1:
                continue  # some stay unanswered
            user = self.w.unit_users.get(n.unit_id) if n.unit_id else None
            if user is None:
                user = {self.w.center.id: self.w.director, self.w.county.id: self.w.county_user}.get(n.unit_id, self.w.admin)
            answer_notice(notice=n, user=user, text="已安排处理")

    def _walk(self, clk, order, steps, group_ids, open_after, owner):
        from hotline.workorders.services import transition
        from hotline.testing import handled

        done = 0
        for action, by, (lo, hi) in steps:
            if open_after is not None and done >= open_after:
                return
            minutes = _delay(self.rnd, lo, hi)
            if action == "return":
                minutes = min(minutes, hi)  # no slow tail: past the accept limit a return is refused
            target = clk.current + dt.timedelta(minutes=minutes)
            self._catch_up(clk, group_ids, target)
            self._answer_notices(group_ids)
            order.refresh_from_db()
            payload = {}
            if action == "callback":
                payload = {"outcome": _pick(self.rnd, [("satisfied", 0.8), ("basically_satisfied", 0.12), ("dissatisfied", 0.03),
                                                       ("unreachable", 0.05)]), "note": "客户表示满意"}
            elif action == "return":
                payload = {"reason": "outside_area" if order.business_type.code == "repair" else "不属于本单位"}
            elif action in ("cancel", "rework"):
                payload = {"reason": "客户撤销" if action == "cancel" else "答复不完整"}
            elif action in ("reply", "contact", "answer", "resolve", "arrive"):
                payload = {"note": "已处理"}
            actor = self._unit_user(order) if by == U else owner
            # Resolves and replies carry the handling record the order's type asks.
            transition(order=order, action=action, actor=actor, payload=handled(order, action, payload))
            done += 1

    def run(self, plan: Plan) -> dict:
        from hotline.core import clock as hclock
        from hotline.timelimits.models import Clock, ClockStatus
        from hotline.workorders.models import WorkOrder
        from hotline.workorders.services import chase_up, create_order, transition

        rnd = self.rnd
        ids: list[int] = []
        with hclock.frozen(self.t0) as clk:
            owner = self._agent()
            sc = plan.scenario
            if sc in ("repair", "service_request", "complaint", "report", "opinion", "suggestion", "praise"):
                o = create_order(actor=owner, intake=self._intake(sc))
                ids.append(o.id)
                steps = list(PATHS[sc])
                # variants: return + redispatch, rework, cancel
                r = rnd.random()
                if sc in ("repair", "complaint", "service_request") and r < 0.06:
                    # A unit returns within its accept limit (D3.5a: 3 min for a repair).
                    steps = [("return", U, (1, 2.5) if sc == "repair" else (2, 30)), ("redispatch", C, (2, 15))] + steps
                elif sc in ("complaint", "opinion") and r < 0.12:
                    i = [s[0] for s in steps].index("reply")
                    steps = steps[: i + 1] + [("rework", C, (30, 600)), ("reply", U, (60, 3000))] + steps[i + 1:]
                elif r > 0.985:
                    steps = [("cancel", C, (1, 60))]
                self._walk(clk, o, [(a, b, d) for a, b, d in steps], ids, plan.open_after, owner)
            elif sc == "inquiry":
                dispatched = rnd.random() < 0.15
                o = create_order(actor=owner, intake=self._intake("inquiry"))
                ids.append(o.id)
                self._walk(clk, o, PATHS["inquiry_dispatched" if dispatched else "inquiry"], ids, plan.open_after, owner)
            elif sc == "repair_inquiry":
                # customer-internal fault, no paid service: recorded as an inquiry and answered on the call
                o = create_order(actor=owner, intake=self._intake("repair", fault_scope="customer_internal", sub_class="lv"))
                ids.append(o.id)
            elif sc == "repair_merge":
                master = create_order(actor=owner, intake=self._intake("repair"))
                ids.append(master.id)
                area_id = master.service_area_id
                self._catch_up(clk, ids, clk.current + dt.timedelta(minutes=rnd.uniform(1, 20)))
                if area_id not in self.w.customers_by_area:
                    area_id = None
                sub = create_order(actor=self._agent(), intake=self._intake("repair", area_id=area_id, merge_into=master.number))
                ids.append(sub.id)
                master.refresh_from_db()
                steps = PATHS["repair"]
                if master.state == "accepted":  # still waiting for dispatch (should not happen: auto-dispatch)
                    steps = [("dispatch", C, (1, 3))] + steps
                self._walk(clk, master, steps, ids, plan.open_after, owner)
            elif sc == "chase":
                kind = "repair" if rnd.random() < 0.7 else "complaint"
                o = create_order(actor=owner, intake=self._intake(kind))
                ids.append(o.id)
                path = list(PATHS[kind])
                self._walk(clk, o, path[:1], ids, None, owner)  # received
                self._catch_up(clk, ids, clk.current + dt.timedelta(minutes=rnd.uniform(30, 180)))
                ch = chase_up(order=o, actor=self._agent(), note="客户催促尽快处理")
                ids.append(ch.id)
                ch_owner = ch.owner
                self._walk(clk, ch, PATHS["chase_up"], ids, plan.open_after, ch_owner)
                if plan.open_after is None:
                    self._walk(clk, o, path[1:], ids, None, owner)
            else:
                raise ValueError(sc)
            end = clk.current
            if plan.open_after is None:
                # Everything closed: let pending answers happen.
                self._answer_notices(ids)
            # Hide this group's running clocks from later templates' sweeps (restored before replication).
            running = list(Clock.objects.filter(order_id__in=ids, status=ClockStatus.RUNNING).values_list("id", "next_check_at"))
            if running:
                with connection.cursor() as cur:
                    cur.executemany("INSERT INTO bench_hidden_clock (clock_id, next_check_at) VALUES (%s, %s)", running)
                Clock.objects.filter(id__in=[c for c, _ in running]).update(next_check_at=None)
            states = list(WorkOrder.objects.filter(id__in=ids).values_list("state", flat=True))
        is_open = any(s not in ("closed", "merged", "cancelled") for s in states)
        return {"scenario": plan.scenario, "orders": ids, "open": is_open, "end": end}


def build_templates(world: BenchWorld, *, n_closed: int, n_open: int, t0: dt.datetime, seed: int = 11, log=print) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_hidden_clock (clock_id bigint PRIMARY KEY, next_check_at timestamptz)")
    tb = TemplateBuilder(world, t0=t0, seed=seed)
    rnd = random.Random(seed + 1)
    scen_names = [s for s, _ in TYPE_MIX]
    weights = dict(TYPE_MIX)
    # Closed templates: per scenario in proportion to its share, at least 3 of each.
    plans: list[Plan] = []
    for s in scen_names:
        k = max(3, round(n_closed * weights[s]))
        plans += [Plan(s, None) for _ in range(k)]
    # Open templates: the tail is mostly slow types; answered-on-the-call inquiries are never open.
    open_mix = [("repair", 0.30), ("service_request", 0.15), ("complaint", 0.15), ("opinion", 0.12), ("inquiry", 0.05),
                ("suggestion", 0.04), ("praise", 0.04), ("report", 0.05), ("chase", 0.05), ("repair_merge", 0.05)]
    for _ in range(n_open):
        s = _pick(rnd, open_mix)
        key = {"inquiry": "inquiry_dispatched", "chase": "chase_up", "repair_merge": "repair"}.get(s, s)
        length = len(PATHS[key])
        plans.append(Plan(s, rnd.randrange(0, length)))
    out = []
    started = time.monotonic()
    for i, plan in enumerate(plans):
        with transaction.atomic():
            g = tb.run(plan)
        if plan.open_after is not None and not g["open"]:
            g["open"] = False
        g["weight_key"] = plan.scenario
        out.append(g)
        if (i + 1) % 100 == 0:
            log(f"  templates: {i + 1}/{len(plans)} ({time.monotonic() - started:.0f} s)")
    return out


# --- replication ------------------------------------------------------------------

ORDER_TABLE = "workorders_workorder"
BULK_TABLES = ["workorders_workorder", "workorders_workorderevent", "timelimits_clock", "timelimits_notice",
               "workorders_reporteridentity"]


def _columns(model) -> list[str]:
    # Generated columns (the phone tails) are the database's to fill.
    return [f.column for f in model._meta.concrete_fields if not getattr(f, "generated", False)]


def replicate(world: BenchWorld, groups: list[dict], *, n_orders: int, open_share: float, t0: dt.datetime, seed: int = 5,
              log=print) -> dict:
    """Copy the templates into ``n_orders`` orders. Returns timings."""
    from hotline.timelimits.models import Clock, Notice
    from hotline.workorders.models import ReporterIdentity, WorkOrder, WorkOrderEvent

    rnd = random.Random(seed)
    timings = {}
    now = timezone.now().replace(microsecond=0)
    cur = connection.cursor()
    # Restore the hidden clocks of open templates.
    cur.execute("UPDATE timelimits_clock c SET next_check_at = h.next_check_at FROM bench_hidden_clock h WHERE h.clock_id = c.id")

    # Template registry.
    cur.execute("DROP TABLE IF EXISTS bench_tpl, bench_tpl_order, bench_tpl_clock, bench_map")
    cur.execute("CREATE TABLE bench_tpl (gid int PRIMARY KEY, scenario text, is_open bool, cnt int, n_orders int, span interval)")
    cur.execute("CREATE TABLE bench_tpl_order (gid int, ordinal int, order_id bigint PRIMARY KEY, cust_slot int, area_id bigint)")
    weights = dict(TYPE_MIX)
    closed = [g for g in groups if not g["open"]]
    opened = [g for g in groups if g["open"]]
    # Orders per scenario → groups per template (a merge/chase group holds two orders).
    n_open_orders = round(n_orders * open_share)
    n_closed_orders = n_orders - n_open_orders

    def allot(tpls, total_orders, weight_of):
        by_s: dict[str, list] = {}
        for g in tpls:
            by_s.setdefault(g["scenario"], []).append(g)
        wsum = sum(weight_of(s) for s in by_s)
        counts = {}
        for s, gs in by_s.items():
            orders_s = total_orders * weight_of(s) / wsum
            groups_s = orders_s / len(gs[0]["orders"])
            base, extra = divmod(round(groups_s), len(gs))
            for i, g in enumerate(gs):
                counts[id(g)] = base + (1 if i < extra else 0)
        return counts

    open_w = {"repair": 0.30, "service_request": 0.15, "complaint": 0.15, "opinion": 0.12, "inquiry": 0.05, "suggestion": 0.04,
              "praise": 0.04, "report": 0.05, "chase": 0.05, "repair_merge": 0.05}
    c_counts = allot(closed, n_closed_orders, lambda s: weights[s])
    o_counts = allot(opened, n_open_orders, lambda s: open_w.get(s, 0.01))
    tpl_rows, order_rows = [], []
    for gid, g in enumerate(groups, start=1):
        g["gid"] = gid
        cnt = (o_counts if g["open"] else c_counts).get(id(g), 0)
        span = (g["end"] - t0).total_seconds()
        tpl_rows.append((gid, g["scenario"], g["open"], cnt, len(g["orders"]), dt.timedelta(seconds=span)))
    cur.executemany("INSERT INTO bench_tpl VALUES (%s,%s,%s,%s,%s,%s)", tpl_rows)
    for g in groups:
        for ordinal, oid in enumerate(g["orders"]):
            order_rows.append((g["gid"], ordinal, oid))
    cur.executemany("INSERT INTO bench_tpl_order (gid, ordinal, order_id) VALUES (%s,%s,%s)", order_rows)
    # The template's real span: last event / notice / answer of its orders.
    cur.execute("""
        UPDATE bench_tpl t SET span = GREATEST(t.span, x.last - %s) FROM (
          SELECT o.gid, GREATEST(max(e.at), COALESCE(max(n.created_at), max(e.at)), COALESCE(max(n.answered_at), max(e.at))) AS last
          FROM bench_tpl_order o JOIN workorders_workorderevent e ON e.order_id = o.order_id
          LEFT JOIN timelimits_notice n ON n.order_id = o.order_id GROUP BY o.gid) x WHERE x.gid = t.gid""", [t0])
    # Customer slot: a chase-up keeps its chased order's customer; a merged sub-order has its own customer of the same area.
    cur.execute("""
        UPDATE bench_tpl_order t SET area_id = w.service_area_id,
               cust_slot = CASE WHEN t.ordinal = 1 AND w.customer_id = (SELECT w0.customer_id FROM bench_tpl_order t0
                   JOIN workorders_workorder w0 ON w0.id = t0.order_id WHERE t0.gid = t.gid AND t0.ordinal = 0) THEN 0 ELSE t.ordinal END
        FROM workorders_workorder w WHERE w.id = t.order_id""")
    cur.execute("""CREATE TABLE bench_tpl_clock AS SELECT c.id AS clock_id, t.gid,
                   (row_number() OVER (PARTITION BY t.gid ORDER BY c.id)) - 1 AS ordinal
                   FROM timelimits_clock c JOIN bench_tpl_order t ON t.order_id = c.order_id""")
    cur.execute("CREATE INDEX ON bench_tpl_clock (clock_id)")
    cur.execute("SELECT COALESCE(max(ordinal), 0) + 1 FROM bench_tpl_clock")
    clocks_per_group = cur.fetchone()[0]
    # Customers per area as arrays.
    cur.execute("DROP TABLE IF EXISTS bench_area_customers")
    cur.execute("""CREATE TABLE bench_area_customers AS SELECT c.service_area_id AS area_id, array_agg(c.id ORDER BY c.id) AS ids,
                   count(*) AS n FROM organisation_customer c WHERE c.service_area_id IS NOT NULL GROUP BY c.service_area_id""")
    cur.execute("ALTER TABLE bench_area_customers ADD PRIMARY KEY (area_id)")

    t_start = time.monotonic()
    # The map: one row per replicated group, in creation order (ids grow with time as in production).
    cur.execute("SELECT COALESCE(max(id), 0) + 10 FROM workorders_workorder")
    order_base = cur.fetchone()[0]
    cur.execute("SELECT COALESCE(max(id), 0) + 10 FROM timelimits_clock")
    clock_base = cur.fetchone()[0]
    year = dt.timedelta(days=365)
    # Diurnal arrival pattern (local hour weights) of a 95598 center.
    hours = [1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 7, 8, 9, 9, 8, 8, 9, 9, 8, 6, 4, 2]
    hour_array = "ARRAY[" + ",".join(str(h) for h, w in enumerate(hours) for _ in range(w)) + "]"
    cur.execute(f"""
        CREATE UNLOGGED TABLE bench_map AS
        WITH g AS (
          SELECT t.gid, t.is_open, t.span, t.n_orders, random() AS r1, random() AS r2, random() AS r3
          FROM bench_tpl t CROSS JOIN LATERAL generate_series(1, t.cnt)
        ), c AS (
          SELECT gid, is_open, span, n_orders, r3,
            CASE WHEN is_open THEN
              -- the open tail: created a little before its last step; slow types stay open longer
              %(now)s - span - make_interval(secs => -ln(1 - r1 * 0.999) *
                  CASE WHEN span < interval '1 day' THEN 4 * 3600 ELSE 2 * 86400 END)
            ELSE
              date_trunc('day', (%(now)s - %(year)s + (%(year)s - span - interval '1 hour') * r1) AT TIME ZONE 'Asia/Shanghai')
                AT TIME ZONE 'Asia/Shanghai'
              + make_interval(hours => ({hour_array})[1 + floor(r2 * {sum(hours)})::int], secs => floor(r3 * 3600))
            END AS created
          FROM g
        )
        SELECT (row_number() OVER (ORDER BY created))::bigint AS g, gid, created, created - %(t0)s AS delta,
               floor(r3 * 1000000)::int AS cust_r
        FROM c""", {"now": now, "year": year, "t0": t0})
    # Closed orders created so late that they would end in the future are pulled back.
    cur.execute("UPDATE bench_map m SET created = %(now)s - t.span - interval '1 minute', delta = (%(now)s - t.span - interval '1 minute') - %(t0)s "
                "FROM bench_tpl t WHERE t.gid = m.gid AND m.created + t.span > %(now)s", {"now": now, "t0": t0})
    cur.execute("ALTER TABLE bench_map ADD PRIMARY KEY (g)")
    cur.execute("CREATE INDEX ON bench_map (gid)")
    cur.execute("SELECT count(*) FROM bench_map")
    n_groups = cur.fetchone()[0]
    log(f"  map: {n_groups} groups ({time.monotonic() - t_start:.1f} s)")

    # --- drop secondary indexes, no FK triggers during the load ---
    cur.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                   AND i.indexname NOT IN (SELECT conname FROM pg_constraint)""", [BULK_TABLES])
    saved = cur.fetchall()
    for name, _ in saved:
        cur.execute(f'DROP INDEX "{name}"')
    cur.execute("SET session_replication_role = replica")
    cur.execute("SET synchronous_commit = off")
    cur.execute("SET maintenance_work_mem = '1GB'")
    cur.execute("SET work_mem = '256MB'")

    # --- orders ---
    t = time.monotonic()
    cols = _columns(WorkOrder)
    expr = {c: f"o.{c}" for c in cols}
    expr.update({
        "id": f"{order_base} + m.g * 2 + t.ordinal",
        "number": "bt.number_prefix || to_char((o.created_at + m.delta) AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || "
                  "lpad((row_number() OVER (PARTITION BY bt.number_prefix, to_char((o.created_at + m.delta) AT TIME ZONE "
                  "'Asia/Shanghai', 'YYMMDD') ORDER BY m.g, t.ordinal))::text, 5, '0')",
        "customer_id": "CASE WHEN o.customer_id IS NULL THEN NULL ELSE ac.ids[1 + (m.cust_r + t.cust_slot * 7919) %% ac.n] END",
        "caller_name": "CASE WHEN o.caller_name = '' OR o.customer_id IS NULL THEN o.caller_name ELSE cu.name END",
        "caller_phone": "CASE WHEN o.caller_phone = '' OR o.customer_id IS NULL THEN o.caller_phone ELSE "
                        "(SELECT p.number FROM organisation_customerphone p WHERE p.customer_id = cu.id LIMIT 1) END",
        "address": "CASE WHEN o.address = '' OR o.customer_id IS NULL THEN o.address ELSE cu.address END",
        "master_id": f"CASE WHEN o.master_id IS NULL THEN NULL ELSE {order_base} + m.g * 2 + "
                     "(SELECT t2.ordinal FROM bench_tpl_order t2 WHERE t2.order_id = o.master_id) END",
        "chased_order_id": f"CASE WHEN o.chased_order_id IS NULL THEN NULL ELSE {order_base} + m.g * 2 + "
                           "(SELECT t2.ordinal FROM bench_tpl_order t2 WHERE t2.order_id = o.chased_order_id) END",
    })
    for c in ("created_at", "updated_at", "dispatched_at", "closed_at"):
        expr[c] = f"o.{c} + m.delta"
    cur.execute(f"""
        INSERT INTO workorders_workorder ({", ".join(cols)})
        SELECT {", ".join(expr[c] for c in cols)}
        FROM bench_map m JOIN bench_tpl_order t ON t.gid = m.gid
        JOIN workorders_workorder o ON o.id = t.order_id
        JOIN catalog_businesstype bt ON bt.id = o.business_type_id
        LEFT JOIN bench_area_customers ac ON ac.area_id = o.service_area_id
        LEFT JOIN organisation_customer cu ON cu.id = ac.ids[1 + (m.cust_r + t.cust_slot * 7919) %% ac.n]
        ORDER BY m.g, t.ordinal""", {"t0": t0})
    inserted = cur.rowcount
    cur.execute("""
        INSERT INTO workorders_numbercounter (key, last)
        SELECT left(number, -5), max(right(number, 5)::int) FROM workorders_workorder GROUP BY left(number, -5)
        ON CONFLICT (key) DO UPDATE SET last = GREATEST(workorders_numbercounter.last, EXCLUDED.last)""")
    timings["orders"] = time.monotonic() - t
    log(f"  orders: {inserted} rows ({timings['orders']:.1f} s)")

    # --- reporter identities ---
    cols = [c for c in _columns(ReporterIdentity) if c != "id"]
    expr = {c: f"r.{c}" for c in cols}
    expr["order_id"] = f"{order_base} + m.g * 2 + t.ordinal"
    cur.execute(f"""INSERT INTO workorders_reporteridentity ({", ".join(cols)})
                    SELECT {", ".join(expr[c] for c in cols)} FROM bench_map m JOIN bench_tpl_order t ON t.gid = m.gid
                    JOIN workorders_reporteridentity r ON r.order_id = t.order_id""")

    # --- events ---
    t = time.monotonic()
    cols = [c for c in _columns(WorkOrderEvent) if c != "id"]
    expr = {c: f"e.{c}" for c in cols}
    expr["order_id"] = f"{order_base} + m.g * 2 + t.ordinal"
    expr["at"] = "e.at + m.delta"
    cur.execute(f"""INSERT INTO workorders_workorderevent ({", ".join(cols)})
                    SELECT {", ".join(expr[c] for c in cols)} FROM bench_map m JOIN bench_tpl_order t ON t.gid = m.gid
                    JOIN workorders_workorderevent e ON e.order_id = t.order_id ORDER BY m.g, t.ordinal, e.seq""")
    timings["events"] = time.monotonic() - t
    log(f"  events: {cur.rowcount} rows ({timings['events']:.1f} s)")

    # --- clocks ---
    t = time.monotonic()
    cols = _columns(Clock)
    expr = {c: f"c.{c}" for c in cols}
    expr["id"] = f"{clock_base} + m.g * {clocks_per_group} + tc.ordinal"
    expr["order_id"] = expr["subject_id"] = f"{order_base} + m.g * 2 + t.ordinal"
    for c in ("started_at", "warn_at", "due_at", "next_check_at", "stopped_at"):
        expr[c] = f"c.{c} + m.delta"
    cur.execute(f"""INSERT INTO timelimits_clock ({", ".join(cols)})
                    SELECT {", ".join(expr[c] for c in cols)} FROM bench_map m JOIN bench_tpl_order t ON t.gid = m.gid
                    JOIN timelimits_clock c ON c.order_id = t.order_id JOIN bench_tpl_clock tc ON tc.clock_id = c.id
                    ORDER BY m.g, tc.ordinal""")
    timings["clocks"] = time.monotonic() - t
    log(f"  clocks: {cur.rowcount} rows ({timings['clocks']:.1f} s)")

    # --- notices ---
    t = time.monotonic()
    cols = [c for c in _columns(Notice) if c != "id"]
    expr = {c: f"n.{c}" for c in cols}
    expr["clock_id"] = f"CASE WHEN n.clock_id IS NULL THEN NULL ELSE {clock_base} + m.g * {clocks_per_group} + tc.ordinal END"
    expr["order_id"] = expr["subject_id"] = f"{order_base} + m.g * 2 + t.ordinal"
    for c in ("due_at", "created_at", "answered_at"):
        expr[c] = f"n.{c} + m.delta"
    cur.execute(f"""INSERT INTO timelimits_notice ({", ".join(cols)})
                    SELECT {", ".join(expr[c] for c in cols)} FROM bench_map m JOIN bench_tpl_order t ON t.gid = m.gid
                    JOIN timelimits_notice n ON n.order_id = t.order_id LEFT JOIN bench_tpl_clock tc ON tc.clock_id = n.clock_id
                    ORDER BY m.g, n.created_at""")
    timings["notices"] = time.monotonic() - t
    log(f"  notices: {cur.rowcount} rows ({timings['notices']:.1f} s)")

    # --- drop the templates ---
    cur.execute("DELETE FROM timelimits_notice WHERE order_id IN (SELECT order_id FROM bench_tpl_order)")
    cur.execute("DELETE FROM timelimits_clock WHERE order_id IN (SELECT order_id FROM bench_tpl_order)")
    cur.execute("DELETE FROM workorders_workorderevent WHERE order_id IN (SELECT order_id FROM bench_tpl_order)")
    cur.execute("DELETE FROM workorders_reporteridentity WHERE order_id IN (SELECT order_id FROM bench_tpl_order)")
    cur.execute("DELETE FROM workorders_idempotencykey WHERE order_id IN (SELECT order_id FROM bench_tpl_order)")
    cur.execute("DELETE FROM workorders_workorder WHERE id IN (SELECT order_id FROM bench_tpl_order)")
    cur.execute("SET session_replication_role = DEFAULT")

    # --- sequences, indexes ---
    for table in ("workorders_workorder", "timelimits_clock"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    t = time.monotonic()
    for name, ddl in saved:
        cur.execute(ddl)
    timings["indexes"] = time.monotonic() - t
    log(f"  secondary indexes rebuilt: {len(saved)} ({timings['indexes']:.1f} s)")
    cur.execute("DROP TABLE IF EXISTS bench_map, bench_hidden_clock, bench_area_customers, bench_tpl, bench_tpl_order, bench_tpl_clock")
    cur.close()
    return timings
