"""The handling record's items (issue 11 item 3) are data on the business
type: installed with the national defaults, added by migration 0008 to a
database installed before, validated on save, edited in the admin (audited)."""

import importlib
import json

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hotline.catalog import defaults, selectors, services
from hotline.catalog.models import BusinessType, HandlingField
from hotline.catalog.tests.admin_form import form_data, post_form
from hotline.core.models import AuditEntry
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db
migration = importlib.import_module("hotline.catalog.migrations.0008_handling_fields")


def bt(code: str) -> BusinessType:
    return BusinessType.objects.get(code=code)


def items(code: str) -> list[tuple[str, str, str, bool]]:
    return [(f.action, f.code, f.kind, f.required) for f in selectors.handling_fields(bt(code).pk)]


@pytest.fixture
def admin_client(world):
    c = Client()
    assert c.login(username=world.admin.username, password=PASSWORD)
    return c


def test_the_seeded_types_declare_what_a_95598_center_records():
    assert items("repair") == [("reply", "customer_opinion", "choice", True), ("resolve", "cause", "choice", True),
                               ("resolve", "measures", "text", True), ("resolve", "restored_at", "datetime", False)]
    cause = HandlingField.objects.get(business_type__code="repair", code="cause")
    assert ["tree", "树障"] in cause.choices and ["lightning", "雷击"] in cause.choices
    restored = HandlingField.objects.get(business_type__code="repair", code="restored_at")
    assert restored.action_time and restored.label == "恢复送电时间"
    assert items("complaint") == [("reply", "findings", "text", True), ("reply", "handling", "text", True),
                                  ("reply", "responsibility", "choice", True), ("reply", "customer_accepts", "boolean", True)]
    responsibility = HandlingField.objects.get(business_type__code="complaint", code="responsibility")
    assert [label for _, label in responsibility.choices] == ["供电企业责任", "客户责任", "第三方责任", "无责任"]
    for code in ("report", "opinion", "suggestion", "praise", "inquiry", "service_request"):
        assert items(code), code
    assert items("chase_up") == []  # a chase-up's reply records nothing more than before


def test_an_item_the_services_could_not_ask_is_refused_naming_the_field():
    repair = bt("repair")
    cases = [
        (dict(kind="choice", choices=[]), "choices"),
        (dict(kind="choice", choices=[["a", "甲"], ["a", "乙"]]), "choices"),
        (dict(kind="choice", choices=[["a"]]), "choices"),
        (dict(kind="text", choices=[["a", "甲"]]), "choices"),
        (dict(kind="text", action_time=True), "action_time"),
        (dict(kind="datetime", action_time=True), "action_time"),  # resolve has its restoration time already
        (dict(kind="text", max_length=5000), "max_length"),
        (dict(kind="text", code="cause"), "__all__"),  # one code per type
    ]
    for extra, field in cases:
        data = dict(business_type=repair, action="resolve", code="extra", label="补充", kind="text")
        data.update(extra)
        with pytest.raises(ValidationError) as exc:
            HandlingField(**data).full_clean()
        assert field in exc.value.message_dict, (extra, exc.value.message_dict)
    # A complaint has no resolve: an item asked there would never be asked.
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        HandlingField(business_type=bt("complaint"), action="resolve", code="x", label="x").full_clean()
    assert exc.value.message_dict["action"] == ["投诉的流程中没有“处理完毕”环节"]
    HandlingField(business_type=repair, action="resolve", code="crew", label="抢修人员", kind="text").full_clean()


@pytest.mark.rule("D0a")
def test_the_admin_adds_an_item_to_a_type_audited_and_it_is_asked_next(world, admin_client):
    praise = bt("praise")
    url = reverse("admin:catalog_businesstype_change", args=[praise.pk])
    page = admin_client.get(url).content.decode()
    assert "处理记录项" in page and 'name="handling_fields-0-code"' in page
    data = form_data(admin_client, url)
    n = int(data["handling_fields-TOTAL_FORMS"])
    new = {f"handling_fields-{n}-{k}": v for k, v in {
        "action": "reply", "code": "thanked", "label": "是否已转达表扬", "kind": "boolean", "choices": "[]",
        "required": "on", "max_length": "500", "active": "on", "sort_order": "5", "business_type": str(praise.pk)}.items()}
    r = post_form(admin_client, url, {"handling_fields-TOTAL_FORMS": str(n + 1), **new})
    assert r.status_code == 302, r.content[:3000]
    added = HandlingField.objects.get(business_type=praise, code="thanked")
    assert AuditEntry.objects.get(action="handling_field_add", object_id=str(added.pk)).user == world.admin
    assert ("reply", "thanked", "boolean", True) in items("praise")
    # A choice without its list is refused on the page, nothing saved.
    r = post_form(admin_client, url, {"handling_fields-TOTAL_FORMS": str(n + 2), **{
        f"handling_fields-{n + 1}-{k}": v for k, v in {
            "action": "reply", "code": "kind", "label": "类别", "kind": "choice", "choices": "[]", "max_length": "500",
            "active": "on", "sort_order": "6", "business_type": str(praise.pk)}.items()}})
    assert r.status_code == 200 and not HandlingField.objects.filter(business_type=praise, code="kind").exists()
    assert "[编码, 名称]" in r.content.decode()


def test_migration_0008_gives_a_database_installed_before_the_defaults_and_leaves_edited_types_alone():
    HandlingField.objects.all().delete()
    own = HandlingField.objects.create(business_type=bt("complaint"), action="reply", code="result", label="处理结果")
    # A center whose repair type lost its resolve (an edited life-cycle) gets only its reply's items.
    repair = bt("repair")
    repair.lifecycle = {**repair.lifecycle, "transitions": [t for t in repair.lifecycle["transitions"]
                                                             if t["action"] != "resolve"]}
    BusinessType.objects.filter(pk=repair.pk).update(lifecycle=repair.lifecycle)
    migration.default_handling_fields(apps, None)
    assert list(HandlingField.objects.filter(business_type__code="complaint")) == [own]
    assert list(HandlingField.objects.filter(business_type=repair).values_list("code", flat=True)) == ["customer_opinion"]
    assert HandlingField.objects.filter(business_type__code="report").count() == len(defaults.HANDLING_FIELDS["report"]["reply"])
    count = HandlingField.objects.count()
    migration.default_handling_fields(apps, None)  # once only
    assert HandlingField.objects.count() == count


def test_the_default_items_are_valid_and_the_choices_json_reads_back(world):
    for item in HandlingField.objects.select_related("business_type"):
        item.full_clean()
    cause = HandlingField.objects.get(business_type__code="repair", code="cause")
    assert json.loads(json.dumps(cause.choices)) == defaults.REPAIR_CAUSES
    services.save_handling_field(field=cause, user=world.admin)
    services.delete_handling_field(field=cause, user=world.admin)
    assert AuditEntry.objects.get(action="handling_field_delete").detail["code"] == "cause"
