"""Configuration is validated on save and every administrator's change is
audited (issue 7 item 8)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hotline.catalog import selectors, services
from hotline.catalog.lifecycle import SYSTEM_EVENTS, LifecycleError, parse_lifecycle
from hotline.catalog.models import BusinessType, LifecycleVersion, PolicyVersion, SubClass, TimeLimitRule
from hotline.catalog.tests.admin_form import form_data, post_form
from hotline.core.models import AuditEntry
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


def bt(code: str) -> BusinessType:
    return BusinessType.objects.get(code=code)


def draft() -> PolicyVersion:
    return services.draft_new_version(note="test")


def new_rule(version, code="repair", **kw) -> TimeLimitRule:
    fields = dict(metric="arrival", amount=30, unit="minutes", start_on="dispatch", stop_on="arrive,cancel")
    fields.update(kw)
    return TimeLimitRule(version=version, business_type=bt(code), **fields)


def errors_of(r: TimeLimitRule) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        services.validate_rule(r)
    return exc.value.message_dict


@pytest.fixture
def admin_client(world):
    c = Client()
    assert c.login(username=world.admin.username, password=PASSWORD)
    return c


# --- rule validation ---------------------------------------------------------------

def test_start_and_stop_events_must_be_actions_of_the_types_life_cycle():
    v = draft()
    # "arrive" is no action of a complaint (no on-site work); "create" is the engine's own event.
    errs = errors_of(new_rule(v, "complaint", metric="review", start_on="arrive", stop_on="reply"))
    assert "start_on" in errs and "arrive" in errs["start_on"][0]
    errs = errors_of(new_rule(v, "complaint", metric="review", start_on="create", stop_on="reply,teleport"))
    assert list(errs) == ["stop_on"] and "teleport" in errs["stop_on"][0]
    errs = errors_of(new_rule(v, "complaint", metric="review", start_on="create", stop_on=" , "))
    assert list(errs) == ["stop_on"]
    assert SYSTEM_EVENTS == ("create",)
    services.validate_rule(new_rule(v, "complaint", metric="review", start_on="create", stop_on="reply,cancel"))
    services.validate_rule(new_rule(v, "repair", metric="review", start_on="arrive", stop_on="resolve"))


def test_warning_share_lies_strictly_between_0_and_1():
    v = draft()
    for bad in ("0", "1", "1.2", "-0.1"):
        errs = errors_of(new_rule(v, metric="review", warn_share=Decimal(bad)))
        assert "warn_share" in errs, bad
    services.validate_rule(new_rule(v, metric="review", warn_share=Decimal("0.999")))
    services.validate_rule(new_rule(v, metric="review", warn_share=Decimal("0.001")))


def test_amount_unit_area_class_priority_and_sub_class_are_checked():
    v = draft()
    assert "amount" in errors_of(new_rule(v, metric="review", amount=0))
    assert "unit" in errors_of(new_rule(v, metric="review", unit="weeks"))
    assert "area_class" in errors_of(new_rule(v, metric="review", area_class="urbn"))
    assert "priority" in errors_of(new_rule(v, metric="review", priority="whenever"))
    assert "priority" in errors_of(new_rule(v, "opinion", metric="review", start_on="create", stop_on="reply", priority="urgent"))
    other_type_sub = SubClass.objects.get(business_type__code="complaint", code="service")
    assert "sub_class" in errors_of(new_rule(v, metric="review", sub_class=other_type_sub))
    assert "escalation_gap_minutes" in errors_of(new_rule(v, metric="review", escalation_gap_minutes=0))
    services.validate_rule(new_rule(v, metric="review", priority="urgent", area_class="remote", unit="working_days",
                                escalation_gap_minutes=15))


def test_every_default_rule_is_valid():
    for r in TimeLimitRule.objects.select_related("business_type", "sub_class", "version"):
        r.version.published_at = None  # the published check aside, each default passes every other check
        r.clean()


def test_the_admin_refuses_an_invalid_rule_naming_the_field_and_saves_nothing(world, admin_client):
    v = draft()
    url = reverse("admin:catalog_policyversion_change", args=[v.pk])
    data = form_data(admin_client, url)
    i = next(k.split("-")[1] for k, val in data.items()
             if k.endswith("-metric") and val == "arrival" and data[k.replace("metric", "area_class")] == "urban")
    r = post_form(admin_client, url, {f"rules-{i}-start_on": "teleport", f"rules-{i}-warn_share": "1.5"})
    assert r.status_code == 200  # the form again, with errors
    errors = r.context["inline_admin_formsets"][0].formset.errors[int(i)]
    assert "start_on" in errors and "warn_share" in errors
    assert "teleport" in errors["start_on"][0]
    assert TimeLimitRule.objects.get(pk=data[f"rules-{i}-id"]).start_on == "dispatch"
    assert not AuditEntry.objects.filter(action="rule_change").exists()


def test_an_admin_edit_of_a_rule_is_saved_with_its_escalation_gap_and_audited(world, admin_client):
    v = draft()
    url = reverse("admin:catalog_policyversion_change", args=[v.pk])
    data = form_data(admin_client, url)
    i = next(k.split("-")[1] for k, val in data.items()
             if k.endswith("-metric") and val == "arrival" and data[k.replace("metric", "area_class")] == "urban")
    r = post_form(admin_client, url, {f"rules-{i}-amount": "40", f"rules-{i}-escalation_gap_minutes": "20"})
    assert r.status_code == 302, r.content[:3000]
    saved = TimeLimitRule.objects.get(pk=data[f"rules-{i}-id"])
    assert (saved.amount, saved.escalation_gap_minutes) == (40, 20)
    entry = AuditEntry.objects.get(action="rule_change", object_id=str(saved.pk))
    assert entry.user == world.admin
    assert entry.detail["changes"]["amount"] == {"before": 45, "after": 40}
    assert entry.detail["changes"]["escalation_gap_minutes"] == {"before": None, "after": 20}


def test_escalation_gap_defaults_to_the_limits_span():
    v = draft()
    r = new_rule(v)
    assert r.escalation_gap_minutes is None
    assert r.escalation_seconds(45 * 60) == 45 * 60
    assert r.escalation_seconds(10) == 60  # never closer than a minute
    r.escalation_gap_minutes = 15
    assert r.escalation_seconds(45 * 60) == 15 * 60


# --- declared specificity -------------------------------------------------------------

def _winner(version, *, sub_class=None, priority="", area_class="") -> TimeLimitRule:
    return selectors.rules_for(version=version, business_type=bt("repair"), sub_class=sub_class, priority=priority,
                               area_class=area_class)["arrival"]


@pytest.mark.parametrize("reverse_order", [False, True])
def test_the_most_specific_rule_wins_whatever_the_insertion_order(reverse_order):
    v = PolicyVersion.objects.create(number=90, note="order test")
    hv = SubClass.objects.get(business_type__code="repair", code="hv")
    child = SubClass.objects.create(business_type=hv.business_type, parent=hv, code="hv-cable", name="电缆故障")
    specs = [
        dict(amount=90),                                         # generic
        dict(amount=45, area_class="urban"),                     # area class
        dict(amount=30, priority="urgent"),                      # priority beats area class
        dict(amount=25, priority="normal", area_class="rural"),  # both beat either
        dict(amount=20, sub_class=hv),                           # a sub-class beats priority and area
        dict(amount=15, sub_class=child),                        # the nearer sub-class beats its parent
    ]
    for spec in reversed(specs) if reverse_order else specs:
        services.save_rule(rule=new_rule(v, **spec), user=None)
    assert _winner(v).amount == 90
    assert _winner(v, area_class="urban").amount == 45
    assert _winner(v, priority="urgent").amount == 30
    assert _winner(v, priority="urgent", area_class="urban").amount == 30  # priority and area rules both match
    assert _winner(v, priority="normal", area_class="rural").amount == 25
    assert _winner(v, priority="normal", area_class="urban").amount == 45
    assert _winner(v, sub_class=hv, priority="urgent", area_class="urban").amount == 20
    assert _winner(v, sub_class=child, priority="urgent", area_class="urban").amount == 15
    assert _winner(v, sub_class=SubClass.objects.get(business_type__code="repair", code="lv"), area_class="rural").amount == 90


def test_an_ambiguous_duplicate_is_refused_with_a_clear_message():
    v = draft()
    dupe = new_rule(v, area_class="urban", amount=50)
    with pytest.raises(ValidationError) as exc:
        services.save_rule(rule=dupe, user=None)
    assert exc.value.messages == ["本版本已有业务类型、时限指标、业务子类、紧急程度和区域类别都相同的规则：请修改那条规则"]
    # The database refuses it too, whatever path the write takes.
    with pytest.raises(IntegrityError), transaction.atomic():
        TimeLimitRule.objects.bulk_create([new_rule(v, area_class="urban", amount=50)])
    # A blank sub-class is a value like any other: two blank ones tie.
    with pytest.raises(IntegrityError), transaction.atomic():
        TimeLimitRule.objects.bulk_create([new_rule(v, amount=60)])
    services.save_rule(rule=new_rule(v, area_class="urban", priority="urgent", amount=50), user=None)


def test_the_admin_refuses_two_new_rows_that_tie(world, admin_client):
    v = draft()
    url = reverse("admin:catalog_policyversion_change", args=[v.pk])
    data = form_data(admin_client, url)
    total = int(data["rules-TOTAL_FORMS"])
    repair = str(bt("repair").pk)
    changes = {"rules-TOTAL_FORMS": str(total + 2)}
    for n in (total, total + 1):
        changes.update({f"rules-{n}-business_type": repair, f"rules-{n}-metric": "review", f"rules-{n}-amount": "10",
                        f"rules-{n}-unit": "minutes", f"rules-{n}-start_on": "reply", f"rules-{n}-stop_on": "review",
                        f"rules-{n}-responsible": "center", f"rules-{n}-warn_share": "0.8",
                        f"rules-{n}-escalation_levels": "2", f"rules-{n}-version": str(v.pk)})
    r = post_form(admin_client, url, changes)
    assert r.status_code == 200
    assert r.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert not TimeLimitRule.objects.filter(version=v, metric="review").exists()


# --- published is final ---------------------------------------------------------------

def test_published_versions_and_their_rules_are_immutable():
    v1 = PolicyVersion.objects.get(number=1)
    r = v1.rules.first()
    r.amount = 1
    with pytest.raises(ValidationError):
        r.save()
    with pytest.raises(ValidationError):
        r.delete()
    with pytest.raises(ValidationError):
        TimeLimitRule.objects.create(version=v1, business_type=bt("repair"), metric="review", amount=5, unit="minutes",
                                     start_on="reply", stop_on="review")
    v1.note = "changed"
    with pytest.raises(ValidationError):
        v1.save()
    with pytest.raises(ValidationError):
        services.delete_draft(version=v1, user=None)
    with pytest.raises(ValueError):
        services.publish_version(version=v1)


def test_publishing_rechecks_rules_written_behind_the_services_back():
    v = draft()
    TimeLimitRule.objects.filter(version=v, business_type__code="repair", metric="arrival", area_class="urban").update(warn_share=Decimal("1.5"))
    with pytest.raises(ValidationError) as exc:
        services.publish_version(version=v)
    assert "repair/arrival" in exc.value.messages[0]
    v.refresh_from_db()
    assert v.published_at is None


# --- life-cycle versions -----------------------------------------------------------------

def test_every_type_has_life_cycle_version_1_and_the_selectors_read_it():
    for t in BusinessType.objects.all():
        version = selectors.current_lifecycle_version(t)
        assert (version.number, version.definition) == (1, t.lifecycle)
        assert selectors.lifecycle_of_version(version.pk) == parse_lifecycle(t.lifecycle)
    assert LifecycleVersion.objects.count() == BusinessType.objects.count()


def test_a_changed_life_cycle_is_a_new_version_and_the_old_one_stays(world):
    complaint = bt("complaint")
    v1 = selectors.current_lifecycle_version(complaint)
    services.save_business_type(business_type=complaint, user=world.admin)  # nothing changed
    assert LifecycleVersion.objects.filter(business_type=complaint).count() == 1
    lc = json.loads(json.dumps(complaint.lifecycle))
    lc["transitions"] = [t for t in lc["transitions"] if t["action"] != "rework"]
    complaint.lifecycle = lc
    services.save_business_type(business_type=complaint, user=world.admin)
    v2 = selectors.current_lifecycle_version(bt("complaint"))
    assert v2.number == 2 and v2.definition == lc
    assert "rework" in selectors.lifecycle_of_version(v1.pk).actions()
    assert "rework" not in selectors.lifecycle_of_version(v2.pk).actions()
    v1.definition = lc
    with pytest.raises(ValidationError):
        v1.save()
    with pytest.raises(ValidationError):
        v1.delete()
    entry = AuditEntry.objects.get(action="business_type_change", object_id=str(complaint.pk), detail__changes__has_key="lifecycle")
    assert entry.user == world.admin
    assert AuditEntry.objects.filter(action="lifecycle_version", detail__version=2).count() == 1


def test_a_life_cycle_changed_outside_the_admin_gets_its_version_when_first_needed():
    praise = bt("praise")
    lc = json.loads(json.dumps(praise.lifecycle))
    lc["transitions"] = [t for t in lc["transitions"] if t["action"] != "progress"]
    BusinessType.objects.filter(pk=praise.pk).update(lifecycle=lc)
    version = selectors.current_lifecycle_version(bt("praise"))
    assert (version.number, version.definition) == (2, lc)
    assert selectors.current_lifecycle_version(bt("praise")).pk == version.pk


def test_a_life_cycle_change_that_would_orphan_a_live_rule_is_refused():
    complaint = bt("complaint")
    lc = json.loads(json.dumps(complaint.lifecycle))
    lc["transitions"] = [t for t in lc["transitions"] if t["action"] != "contact"]  # the contact limit stops on it
    complaint.lifecycle = lc
    with pytest.raises(ValidationError) as exc:
        services.save_business_type(business_type=complaint, user=None)
    assert "contact" in exc.value.message_dict["lifecycle"][0]
    assert LifecycleVersion.objects.filter(business_type=complaint).count() == 1


def test_the_admin_records_a_new_life_cycle_version_and_audits_the_change(world, admin_client):
    praise = bt("praise")
    url = reverse("admin:catalog_businesstype_change", args=[praise.pk])
    lc = json.loads(json.dumps(praise.lifecycle))
    lc["transitions"] = [t for t in lc["transitions"] if t["action"] != "progress"]
    r = post_form(admin_client, url, {"lifecycle": json.dumps(lc, ensure_ascii=False), "name": "表扬（新）"})
    assert r.status_code == 302, r.content[:3000]
    assert selectors.current_lifecycle_version(bt("praise")).number == 2
    entry = AuditEntry.objects.get(action="business_type_change", object_id=str(praise.pk))
    assert entry.user == world.admin
    assert entry.detail["changes"]["name"] == {"before": "表扬", "after": "表扬（新）"}
    assert set(entry.detail["changes"]) == {"name", "lifecycle"}
    # An invalid life-cycle is refused in the form, in the user's language.
    r = post_form(admin_client, url, {"lifecycle": json.dumps({"transitions": [{"action": "warp", "from": ["accepted"], "to": "closed"}]})})
    assert r.status_code == 200
    assert "未知动作" in r.context["adminform"].form.errors["lifecycle"][0]


# --- audit of every configuration change ---------------------------------------------------

def test_drafting_and_publishing_a_policy_are_audited(world):
    v = services.draft_new_version(note="夏季", user=world.admin)
    services.publish_version(version=v, user=world.director)
    draft_entry = AuditEntry.objects.get(action="policy_draft")
    assert (draft_entry.user, draft_entry.object_id, draft_entry.detail["from_version"]) == (world.admin, str(v.pk), 1)
    publish = AuditEntry.objects.get(action="policy_publish")
    assert (publish.user, publish.object_id, publish.detail["number"]) == (world.director, str(v.pk), v.number)


def test_the_admins_policy_actions_are_audited_under_the_admin(world, admin_client):
    changelist = reverse("admin:catalog_policyversion_changelist")
    v1 = PolicyVersion.objects.get(number=1)
    r = admin_client.post(changelist, {"action": "make_draft", "_selected_action": [v1.pk]})
    assert r.status_code == 302
    v2 = PolicyVersion.objects.get(number=2)
    r = admin_client.post(changelist, {"action": "publish", "_selected_action": [v2.pk]})
    assert r.status_code == 302
    assert AuditEntry.objects.filter(action="policy_draft", user=world.admin, object_id=str(v2.pk)).exists()
    assert AuditEntry.objects.filter(action="policy_publish", user=world.admin, object_id=str(v2.pk)).exists()


def test_sub_class_edits_and_deletes_in_the_admin_are_audited(world, admin_client):
    praise = bt("praise")
    url = reverse("admin:catalog_businesstype_change", args=[praise.pk])
    data = form_data(admin_client, url)
    n = int(data["sub_classes-TOTAL_FORMS"])
    i = next(k.split("-")[1] for k, val in data.items() if k.startswith("sub_classes-") and k.endswith("-code") and val == "conduct")
    r = post_form(admin_client, url, {
        "sub_classes-TOTAL_FORMS": str(n + 1), f"sub_classes-{n}-code": "staff", f"sub_classes-{n}-name": "员工表扬",
        f"sub_classes-{n}-sort_order": "9", f"sub_classes-{n}-active": "on", f"sub_classes-{n}-business_type": str(praise.pk),
        f"sub_classes-{i}-DELETE": "on",
    })
    assert r.status_code == 302, r.content[:3000]
    added = SubClass.objects.get(business_type=praise, code="staff")
    assert AuditEntry.objects.get(action="sub_class_add", object_id=str(added.pk)).user == world.admin
    assert not SubClass.objects.filter(business_type=praise, code="conduct").exists()
    assert AuditEntry.objects.get(action="sub_class_delete").detail["code"] == "conduct"


def test_deleting_a_draft_rule_in_the_admin_is_audited(world, admin_client):
    v = draft()
    url = reverse("admin:catalog_policyversion_change", args=[v.pk])
    data = form_data(admin_client, url)
    i = next(k.split("-")[1] for k, val in data.items() if k.endswith("-metric") and val == "callback"
             and data[k.replace("metric", "business_type")] == str(bt("praise").pk))
    r = post_form(admin_client, url, {f"rules-{i}-DELETE": "on"})
    assert r.status_code == 302, r.content[:3000]
    assert not TimeLimitRule.objects.filter(version=v, business_type__code="praise", metric="callback").exists()
    entry = AuditEntry.objects.get(action="rule_delete")
    assert (entry.user, entry.detail["rule"], entry.detail["version"]) == (world.admin, "praise/callback", v.number)


# --- translated life-cycle errors ------------------------------------------------------------

def test_life_cycle_errors_speak_the_users_language():
    bad = {"transitions": [{"action": "dispatch", "from": ["accepted"], "to": "dispatched", "by": "robot"}]}
    with translation.override("zh-hans"), pytest.raises(LifecycleError) as zh:
        parse_lifecycle(bad)
    with translation.override("en"), pytest.raises(LifecycleError) as en:
        parse_lifecycle(bad)
    assert str(en.value) == "transition 0: “by” must be one of center, unit, leader"
    assert str(zh.value) == "第0条流转：“by”必须是以下之一：center, unit, leader"
    with translation.override("zh-hans"), pytest.raises(LifecycleError) as zh:
        parse_lifecycle({"transitions": [{"action": "dispatch", "from": ["accepted"], "to": "dispatched"},
                                         {"action": "dispatch", "from": ["accepted"], "to": "received"}]})
    assert str(zh.value) == "动作“dispatch”在状态 accepted 下有歧义"
