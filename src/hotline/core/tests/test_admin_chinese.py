"""The admin is Chinese throughout for a Chinese user: app labels, model
names, columns, filters, actions and the add forms.

Stricter than the page walk (three English words in a row): here a single
English word outside the allow-list fails, since the admin's words are all
ours or Django's (translated), and the test world's data is Chinese."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from hotline.testing import PASSWORD, english_words

pytestmark = pytest.mark.django_db


def test_the_word_finder_finds_english():
    assert english_words("<p>审计 Audit entrys</p><script>var x</script>") == ["Audit", "entrys"]
    assert english_words('<p>订单 GZ26111700001 t-center a@b.cn 13800001111 /api/docs (outages.lead_minutes)</p>') == []
    assert english_words('<p>例如 [["urgent", "紧急"]]，{action, from, to}</p>') == []
    assert english_words('<input type="submit" value="Save">') == ["Save"]
    assert english_words('<button aria-label="Close">×</button><kbd>Enter</kbd>') == ["Close"]
    assert english_words("<p>Open 打开</p>", allow={"Open"}) == []
    assert english_words("<p>盐: <bdi>Ns********************</bdi> 138****1111</p>") == []  # masked values are codes


@pytest.fixture
def records(world, frozen):
    """A row in the tables the admin lists, so columns and change pages show."""
    from hotline.core import audit, clock, jobs
    from hotline.core.outbox import enqueue
    from hotline.organisation import services as org
    from hotline.organisation.models import Role
    from hotline.outages import services as outages
    from hotline.timelimits.services import sweep_until_idle
    from hotline.workorders import services

    order = services.create_order(actor=world.agent, intake=services.Intake(
        channel="phone", business_type="repair", sub_class="lv", description="停电", fault_scope="company",
        customer_id=world.customers["zhang"].id))
    frozen.advance(hours=1)
    sweep_until_idle()  # warnings and supervision notices
    audit.record(user=world.admin, action="reporter_reveal", obj=order, detail={})
    jobs.Job.objects.create(kind="planning.create_schedule", params={}, created_by=world.admin, created_at=clock.now())
    enqueue(channel="file", recipient="13800001111", payload={"text": "通知"}, dedup_key="k1", source="s1")
    desk = org.create_user(username="t-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk,
                           display_name="调度员")
    outages.draft(actor=desk, data=outages.OutageInput(
        outage_class="planned", area_ids=[world.areas["town0"].pk], planned_start=clock.now() + dt.timedelta(days=3),
        planned_end=clock.now() + dt.timedelta(days=3, hours=8), reason="10kV城关线检修"), publish=True)
    return order


def _admin_urls() -> list[str]:
    urls = ["/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse("admin:app_list", args=[meta.app_label]))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
        try:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        except NoReverseMatch:
            continue
    return sorted(set(urls))


def _data_words(world) -> set[str]:
    """Words that are the records' data, not the admin's text: codes as the
    records store them (business types, life-cycle actions and states,
    metrics, event kinds, audit actions, subject types, functions, sources,
    area classes, outbox channels), usernames and notes."""
    from hotline.catalog.models import BusinessType, LifecycleVersion, PolicyVersion, TimeLimitRule
    from hotline.contacts.models import Contact
    from hotline.core.models import AuditEntry, OutboxMessage
    from hotline.organisation.models import AreaClass, Unit, User
    from hotline.outages.models import OutageEvent
    from hotline.timelimits.models import Clock
    from hotline.workorders.models import WorkOrderEvent

    values: list[str] = list(BusinessType.objects.values_list("code", flat=True))
    for definition in LifecycleVersion.objects.values_list("definition", flat=True):
        for t in (definition or {}).get("transitions", []):
            values += [t.get("action", ""), t.get("from", ""), t.get("to", "")]
    values += [v for row in TimeLimitRule.objects.values_list("metric", "start_on", "stop_on") for v in row]
    values += list(AreaClass.values) + list(PolicyVersion.objects.values_list("note", flat=True))
    values += [v for row in WorkOrderEvent.objects.values_list("kind", "from_state", "to_state") for v in row]
    values += list(OutageEvent.objects.values_list("kind", flat=True))
    values += [v for row in Clock.objects.values_list("metric", "subject_type") for v in row]
    values += [v for row in AuditEntry.objects.values_list("action", "object_type") for v in row]
    values += list(Unit.objects.values_list("function", flat=True)) + list(Contact.objects.values_list("source", flat=True))
    values += list(User.objects.values_list("username", flat=True))
    values += list(OutboxMessage.objects.values_list("channel", flat=True))
    # Policy values that are codes the administrator types (the desk's
    # not-ready reasons "break,meal,…", a ring-pass rule), shown as set.
    from hotline.core import policy

    values += [d.default for d in policy.declared().values() if isinstance(d.default, str)]
    # The text the records shown on change pages hold (names such as "Hu Wei"
    # that the test world's generator gives people, e-mail addresses, notes).
    for model in admin.site._registry:  # the rows a change list shows (its first page)
        texts = [f.attname for f in model._meta.concrete_fields
                 if f.get_internal_type() in ("CharField", "TextField", "EmailField")]
        for row in model._default_manager.order_by("pk").values_list(*texts)[:200] if texts else ():
            values += [v or "" for v in row]
    return {w.lower() for v in values for w in re.split(r"[^A-Za-z]+", str(v)) if w}


@pytest.mark.rule("N1g")
def test_every_admin_page_is_chinese(world, records):
    client = Client(headers={"Accept-Language": "en"})  # a browser's English does not switch the admin
    assert client.login(username=world.admin.username, password=PASSWORD)
    data = _data_words(world)
    problems = {}
    for url in _admin_urls():
        r = client.get(url)
        if r.status_code == 403:  # the add page of a model only services write
            continue
        assert r.status_code == 200, url
        words = [w for w in english_words(r.content.decode()) if w.lower() not in data]
        if words:
            problems[url] = words
    assert not problems, problems


def test_the_admin_speaks_english_when_chosen(world):
    from hotline.core.models import AuditEntry, OutboxMessage

    client = Client()
    assert client.login(username=world.admin.username, password=PASSWORD)
    client.cookies["django_language"] = "en"
    body = client.get("/admin/").content.decode()
    assert "Audit entries" in body
    client.cookies["django_language"] = "zh-hans"
    body = client.get("/admin/").content.decode()
    assert str(AuditEntry._meta.verbose_name_plural) in body and "Audit" not in body
