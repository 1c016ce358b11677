"""Spec domain.md §0–§1 in the catalogue: the national defaults (each
business type's sub-classes, priorities, owner, limits and callback), and
that every number is a versioned policy an administrator edits."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from hotline.calendars.services import add_duration
from hotline.catalog import defaults, selectors, services
from hotline.catalog.lifecycle import parse_lifecycle, standard_lifecycle
from hotline.catalog.models import BusinessType, LifecycleVersion, PolicyVersion, SubClass, TimeLimitRule
from hotline.catalog.tests.admin_form import form_data, post_form
from hotline.core import clock
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MIN, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)
START = dt.datetime(2026, 11, 17, 9, 0, tzinfo=SH)  # a Tuesday


def bt(code: str) -> BusinessType:
    return BusinessType.objects.get(code=code)


def limits(code: str, *, sub: str = "", priority: str = "", area_class: str = "", version=None) -> dict[str, TimeLimitRule]:
    t = bt(code)
    sub_class = SubClass.objects.get(business_type=t, code=sub) if sub else None
    return selectors.rules_for(version=version or services.current_policy_version(), business_type=t, sub_class=sub_class,
                               priority=priority, area_class=area_class)


def length(rule: TimeLimitRule) -> dt.timedelta:
    return add_duration(START, rule.amount, rule.unit) - START


def sub_names(code: str) -> set[str]:
    return set(SubClass.objects.filter(business_type__code=code, parent__isnull=True).values_list("name", flat=True))


def callback_limit_is_one_working_day(rules: dict[str, TimeLimitRule], *, after: str = "review") -> None:
    cb = rules["callback"]
    assert (cb.amount, cb.unit, cb.start_on) == (1, "working_days", after)
    assert {"callback", "close"} <= set(cb.stop_events())


# --- §0 -------------------------------------------------------------------------------

@pytest.mark.rule("D0a")
def test_every_default_number_is_policy_data_not_code():
    v1 = PolicyVersion.objects.get(number=1)
    stored = {(r.business_type.code, r.sub_class.code if r.sub_class else "", r.priority, r.area_class, r.metric): (r.amount, r.unit)
              for r in v1.rules.select_related("business_type", "sub_class")}
    expected = {(code, sub, prio, area, metric): (amount, unit)
                for code, sub, prio, area, metric, amount, unit, *_ in defaults.RULES}
    assert stored == expected
    assert v1.published_at is not None


@pytest.mark.rule("D0a")
def test_an_administrator_changes_a_limit_in_the_admin_and_the_next_order_follows(world, frozen):
    from hotline.workorders import services as wo

    c = Client()
    assert c.login(username=world.admin.username, password=PASSWORD)
    changelist = reverse("admin:catalog_policyversion_changelist")
    c.post(changelist, {"action": "make_draft", "_selected_action": [PolicyVersion.objects.get(number=1).pk]})
    draft = PolicyVersion.objects.get(number=2)
    url = reverse("admin:catalog_policyversion_change", args=[draft.pk])
    data = form_data(c, url)
    complaint = str(bt("complaint").pk)
    i = next(k.split("-")[1] for k, v in data.items() if k.endswith("-metric") and v == "dispatch"
             and data[k.replace("metric", "business_type")] == complaint)
    assert post_form(c, url, {f"rules-{i}-amount": "15"}).status_code == 302
    c.post(changelist, {"action": "publish", "_selected_action": [draft.pk]})
    order = wo.create_order(actor=world.agent, intake=wo.Intake(business_type="complaint", sub_class="service", description="投诉",
                                                                 customer_id=world.customers["li"].id))
    clk = order.clocks.get(metric="dispatch")
    assert clk.due_at - clk.started_at == 15 * MIN
    assert order.policy_version == draft


@pytest.mark.rule("D0b")
def test_a_new_policy_version_leaves_the_old_one_as_it_was():
    v1 = services.current_policy_version()
    draft = services.draft_new_version(note="faster")
    TimeLimitRule.objects.filter(version=draft, business_type__code="repair", metric="dispatch").update(amount=3)
    services.publish_version(version=draft)
    assert limits("repair", version=v1)["dispatch"].amount == 5
    assert limits("repair")["dispatch"].amount == 3
    assert services.current_policy_version() == draft


@pytest.mark.rule("D0b")
def test_a_life_cycle_edit_is_a_new_version_and_the_old_version_is_kept(world):
    complaint = bt("complaint")
    v1 = selectors.current_lifecycle_version(complaint)
    complaint.lifecycle, complaint.callback = standard_lifecycle(on_site=False, callback="never"), "never"
    # The always-callback rule must go first: the new life-cycle has no callback.
    draft = services.draft_new_version()
    TimeLimitRule.objects.filter(version=draft, business_type=complaint, metric="callback").delete()
    services.publish_version(version=draft)
    services.save_business_type(business_type=complaint, user=world.admin)
    v2 = selectors.current_lifecycle_version(bt("complaint"))
    assert (v1.number, v2.number) == (1, 2)
    assert "callback" in selectors.lifecycle_of_version(v1.pk).actions()
    assert "callback" not in selectors.lifecycle_of_version(v2.pk).actions()
    assert LifecycleVersion.objects.get(pk=v1.pk).definition == standard_lifecycle(on_site=False, callback="always")


@pytest.mark.rule("D0c")
def test_times_are_asia_shanghai_unless_configured(world):
    from hotline.workorders import services as wo

    code = "import os, hotline.settings as s; print(s.TIME_ZONE)"
    env = {k: v for k, v in os.environ.items() if k != "HOTLINE_TIME_ZONE"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip() == "Asia/Shanghai"
    env["HOTLINE_TIME_ZONE"] = "Asia/Urumqi"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip() == "Asia/Urumqi"

    # 00:30 on 18 November in Shanghai is still 17 November in Urumqi (UTC+6).
    instant = dt.datetime(2026, 11, 18, 0, 30, tzinfo=SH)

    def order():
        with clock.frozen(instant):
            return wo.create_order(actor=world.agent, intake=wo.Intake(business_type="complaint", sub_class="service", description="投诉",
                                                                       customer_id=world.customers["li"].id))

    shanghai = order()
    assert shanghai.number.startswith("TS261118")
    # Calendar days end at the same wall-clock time in the center's zone.
    reply = shanghai.clocks.get(metric="reply")
    assert reply.due_at.astimezone(SH) == dt.datetime(2026, 11, 23, 0, 30, tzinfo=SH)
    with override_settings(TIME_ZONE="Asia/Urumqi"):
        urumqi = order()
    assert urumqi.number.startswith("TS261117")


# --- §1 business types -------------------------------------------------------------------

@pytest.mark.rule("D1a")
def test_repair_defaults():
    t = bt("repair")
    assert {"高压故障", "低压故障", "电能质量故障", "计量故障", "非电力故障", "充电设施故障"} <= sub_names("repair")
    assert t.priorities == [["urgent", "紧急"], ["normal", "一般"]]
    assert (t.routing, t.routing_function, t.callback, t.mergeable) == ("area", "", "always", True)
    for area_class, arrival, restoration in (("urban", 45 * MIN, 3 * HOUR), ("rural", 90 * MIN, 4 * HOUR), ("remote", 120 * MIN, 4 * HOUR)):
        rules = limits("repair", sub="lv", priority="normal", area_class=area_class)
        assert length(rules["dispatch"]) == 5 * MIN and rules["dispatch"].start_on == "create"
        assert length(rules["accept"]) == 3 * MIN and rules["accept"].start_on == "dispatch"
        assert length(rules["arrival"]) == arrival, area_class
        assert length(rules["restoration"]) == restoration, area_class
        assert length(rules["callback"]) == 24 * HOUR and rules["callback"].start_on == "reply"


@pytest.mark.rule("D3.3a")
@pytest.mark.parametrize("generic_first", [True, False])
def test_the_area_class_arrival_rule_beats_the_generic_one_in_any_insertion_order(generic_first):
    v = PolicyVersion.objects.create(number=50, note="arrival order")
    repair = bt("repair")
    specs = [("", 90), ("urban", 45), ("rural", 90), ("remote", 120)]
    for area, amount in (specs if generic_first else specs[::-1]):
        services.save_rule(rule=TimeLimitRule(version=v, business_type=repair, area_class=area, metric="arrival", amount=amount,
                                              unit="minutes", start_on="dispatch", stop_on="arrive,cancel,merge"), user=None)
    assert limits("repair", area_class="urban", version=v)["arrival"].amount == 45
    assert limits("repair", area_class="remote", version=v)["arrival"].amount == 120
    assert limits("repair", area_class="", version=v)["arrival"].amount == 90


@pytest.mark.rule("D1b")
def test_complaint_defaults():
    t = bt("complaint")
    assert {"服务", "营业", "停送电", "供电质量", "电网建设"} <= sub_names("complaint")
    assert [label for _, label in t.priorities] == ["特殊", "重大", "重要", "一般"]
    assert (t.routing, t.routing_function, t.callback) == ("function", "marketing", "always")
    assert SubClass.objects.get(business_type=t, code="conduct").routing_function == "discipline"
    rules = limits("complaint", sub="service", priority="normal")
    assert length(rules["dispatch"]) == 20 * MIN
    assert length(rules["contact"]) == 24 * HOUR
    assert (rules["reply"].amount, rules["reply"].unit) == (5, "calendar_days")
    callback_limit_is_one_working_day(rules)


@pytest.mark.rule("D1c")
def test_report_defaults():
    t = bt("report")
    assert sub_names("report") >= {"行风问题", "窃电", "违约用电", "破坏电力设施", "盗窃电力设施"}
    assert (t.routing, t.routing_function, t.restricted_reporter, t.callback) == ("function", "discipline", True, "if_wanted")
    rules = limits("report", sub="theft")
    assert (rules["reply"].amount, rules["reply"].unit) == (10, "calendar_days")
    callback_limit_is_one_working_day(rules)


@pytest.mark.rule("D1d")
@pytest.mark.parametrize("code", ["opinion", "suggestion"])
def test_opinion_and_suggestion_defaults(code):
    t = bt(code)
    assert {"业扩及变更用电", "电能计量", "抄表催费"} <= sub_names(code)
    assert (t.routing, t.routing_function, t.callback) == ("function", "marketing", "if_wanted")
    rules = limits(code, sub="metering")
    assert (rules["reply"].amount, rules["reply"].unit, rules["reply"].start_on) == (9, "working_days", "create")
    callback_limit_is_one_working_day(rules)


@pytest.mark.rule("D1d")
def test_opinion_sub_classes_include_repair_quality_and_frequent_outages():
    assert {"抢修质量", "多次停电"} <= sub_names("opinion")


@pytest.mark.rule("D1e")
def test_praise_defaults():
    t = bt("praise")
    assert sub_names("praise") == {"供电服务", "电网建设", "行风建设"}
    assert (t.routing, t.callback) == ("function", "always")
    rules = limits("praise", sub="service")
    assert (rules["reply"].amount, rules["reply"].unit) == (4, "working_days")
    callback_limit_is_one_working_day(rules)


@pytest.mark.rule("D1f")
def test_inquiry_defaults():
    t = bt("inquiry")
    assert {"电费账单", "缴费", "电价", "政策", "工单进度", "停电信息"} <= sub_names("inquiry")
    lc = selectors.lifecycle(t)
    # Answered on the call: closed at once, no callback …
    assert lc.find("answer", "accepted").target == "closed"
    # … otherwise a department answers within 2 working days and the customer is called back.
    rules = limits("inquiry", sub="policy")
    assert (rules["reply"].amount, rules["reply"].unit, rules["reply"].start_on) == (2, "working_days", "dispatch")
    assert t.callback == "always" and lc.find("close", "reviewed") is None
    callback_limit_is_one_working_day(rules)


@pytest.mark.rule("D1f")
def test_a_database_on_the_first_defaults_gets_the_inquiry_callback_as_a_new_life_cycle_version():
    from django.apps import apps

    migration = importlib.import_module("hotline.catalog.migrations.0005_inquiry_callback_always")
    old = standard_lifecycle(on_site=False, callback="if_wanted", answer_on_call=True)
    BusinessType.objects.filter(code="inquiry").update(callback="if_wanted", lifecycle=old)
    LifecycleVersion.objects.filter(business_type__code="inquiry").update(definition=old)
    migration.inquiry_callback_always(apps, None)
    t = bt("inquiry")
    assert t.callback == "always" and parse_lifecycle(t.lifecycle).find("close", "reviewed") is None
    assert list(LifecycleVersion.objects.filter(business_type=t).order_by("number").values_list("number", flat=True)) == [1, 2]
    # An inquiry the administrator has changed is left alone.
    t.callback = "never"
    t.save(update_fields=["callback"])
    migration.inquiry_callback_always(apps, None)
    assert bt("inquiry").callback == "never"


@pytest.mark.rule("D1g")
def test_service_request_defaults():
    t = bt("service_request")
    assert {"欠费复电", "电器损坏核损", "电能表异常", "抄表数据异常", "校验电表", "新装增容 / 业扩报装", "用电变更"} <= sub_names("service_request")
    assert (t.routing_function, t.callback) == ("marketing", "always")
    assert SubClass.objects.get(business_type=t, code="meter_test").routing_function == "metering"
    assert length(limits("service_request", sub="reconnection")["restoration"]) == 24 * HOUR
    for sub in ("meter_test", "new_connection", "usage_change", "appliance_damage"):
        reply = limits("service_request", sub=sub)["reply"]
        assert (reply.amount, reply.unit) == (5, "working_days"), sub
    callback_limit_is_one_working_day(limits("service_request", sub="usage_change"))


@pytest.mark.rule("D1h")
def test_chase_up_defaults():
    t = bt("chase_up")
    assert not SubClass.objects.filter(business_type=t).exists()
    assert t.callback == "never"
    rules = limits("chase_up")
    assert length(rules["dispatch"]) == 10 * MIN
    assert set(rules) == {"dispatch"}


@pytest.mark.rule("D1j")
def test_the_core_types_ship_and_each_has_its_sub_class_tree():
    codes = set(BusinessType.objects.values_list("code", flat=True))
    assert {"repair", "complaint", "report", "opinion", "suggestion", "praise", "inquiry", "service_request", "chase_up"} <= codes
    for t in BusinessType.objects.exclude(code="chase_up"):
        assert SubClass.objects.filter(business_type=t).count() >= 3, t.code
    # The tree is editable: a child sub-class under a level-1 one.
    hv = SubClass.objects.get(business_type__code="repair", code="hv")
    child = services.save_sub_class(sub_class=SubClass(business_type=hv.business_type, parent=hv, code="hv_cable", name="电缆故障"),
                                    user=None)
    assert child.lineage_ids() == [child.pk, hv.pk]
    # A center adds a type of its own.
    own = BusinessType(code="charging_card", name="充电卡业务", number_prefix="CK", routing="function", routing_function="marketing",
                       lifecycle=standard_lifecycle(on_site=False, callback="never"), callback="never")
    services.save_business_type(business_type=own, user=None)
    assert selectors.business_type("charging_card") is not None
    assert selectors.current_lifecycle_version(own).number == 1


@pytest.mark.rule("D1l")
def test_days_are_calendar_days_unless_the_policy_says_working_days():
    friday = dt.datetime(2026, 11, 20, 15, 0, tzinfo=SH)
    complaint_reply = limits("complaint", sub="service")["reply"]
    opinion_reply = limits("opinion", sub="metering")["reply"]
    assert complaint_reply.unit == "calendar_days" and opinion_reply.unit == "working_days"
    assert add_duration(friday, complaint_reply.amount, complaint_reply.unit) == dt.datetime(2026, 11, 25, 15, 0, tzinfo=SH)
    assert add_duration(friday, 5, "working_days") == dt.datetime(2026, 11, 27, 15, 0, tzinfo=SH)
    # The policy decides: the same 5 days counted as working days in a new version.
    draft = services.draft_new_version()
    TimeLimitRule.objects.filter(version=draft, business_type__code="complaint", metric="reply").update(unit="working_days")
    services.publish_version(version=draft)
    changed = limits("complaint", sub="service")["reply"]
    assert add_duration(friday, changed.amount, changed.unit) == dt.datetime(2026, 11, 27, 15, 0, tzinfo=SH)
