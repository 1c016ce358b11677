"""The outage pages: list and filters, the new-outage form, the detail with
its history and actions, the revision form, the import (D7a)."""

import datetime as dt
import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hotline.outages import services
from hotline.outages.models import Outage, OutageEvent, OutageStatus
from hotline.outages.tests.factories import kinds, outage_input, own_events, published
from hotline.outages.tests.test_import import BAD, GOOD, csv_bytes
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db
LIST = reverse("outages:list")


@pytest.fixture
def login(client):
    def _login(user):
        client.logout()
        assert client.login(username=user.username, password=PASSWORD)
        return client
    return _login


def visible_text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r'<option value="[^"]*"[^>]*>[^<]*\(t-[^)]*\)</option>', " ", body)  # area codes are data
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def english_runs(body: str) -> list[str]:
    """Three English words in a row on a Chinese page: an untranslated text."""
    allowed = {"csv", "xlsx", "utf", "gbk", "bom", "kv", "hh", "mm", "yyyy", "dd", "mb", "sms", "email", "td"}
    runs = re.findall(r"\b[A-Za-z]{2,}(?:[ ,.:;'-]+[A-Za-z]{2,}){2,}\b", visible_text(body))
    return [r for r in runs if not set(re.findall(r"[A-Za-z]+", r.lower())) <= allowed]


def test_the_pages_are_for_the_center_and_the_units(world, login):
    from hotline.organisation.services import create_user

    expert = create_user(username="t-expert", password=PASSWORD, role="expert", unit=world.marketing)
    assert login(expert).get(LIST).status_code == 403
    for user in (world.agent, world.leader, world.station_users[0], world.admin):
        assert login(user).get(LIST).status_code == 200
    assert login(world.agent).get(reverse("outages:new")).status_code == 403
    client = login(world.agent)
    client.logout()
    assert client.get(LIST).status_code == 302


@pytest.mark.rule("D7a")
def test_the_list_filters_by_status_class_area_and_date(world, desk, login, frozen, town1_t):
    a = world.areas
    planned = published(desk, [a["town0"]], start=dt.datetime(2026, 12, 1, 8, 0, tzinfo=frozen().tzinfo))
    temporary = published(desk, [town1_t], start=dt.datetime(2026, 11, 20, 9, 0, tzinfo=frozen().tzinfo),
                          cls="temporary")
    draft = services.draft(actor=desk, data=outage_input([a["v2"]]))
    client = login(world.agent)  # every member of staff reads outages
    body = client.get(LIST).content.decode()
    assert "停电信息" in body and all(o.number in body for o in (planned, temporary, draft))
    assert 'data-nav="outages"' in body and reverse("outages:new") not in body  # agents read only
    assert english_runs(body) == []

    def shown(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200, response.content.decode()[:500]
        content = response.content.decode()
        return {o.number for o in (planned, temporary, draft) if o.number in content}

    assert shown(status="draft") == {draft.number}
    assert shown(status="active") == {planned.number, temporary.number}
    assert shown(outage_class="temporary") == {temporary.number}
    assert shown(area="t-a0t") == {planned.number}  # the township's outage covers the transformer area
    assert shown(area="东山乡") == {temporary.number}  # and a township shows the outages inside it
    assert shown(day="2026-12-01") == {planned.number}
    response = client.get(LIST, {"area": "不存在的地方"})
    assert "没有该编码或名称的供电区域" in response.content.decode()


@pytest.mark.rule("D7a")
def test_a_dispatcher_publishes_from_the_form_and_is_told_each_problem(world, desk, login, frozen):
    client = login(desk)
    page = client.get(reverse("outages:new")).content.decode()
    assert "新建停电信息" in page and "计划停电" in page and "欠费停电" not in page  # the desk's classes only
    assert english_runs(page) == []
    form = {"outage_class": "planned", "areas": [world.areas["v0"].pk], "planned_start": "2026-11-25T08:00",
            "planned_end": "2026-11-25T07:00", "reason": "10kV城关线检修", "lines": "10kV城关线；10kV南街线",
            "publish": "on"}
    response = client.post(reverse("outages:new"), form)
    assert response.status_code == 400 and "计划结束时间：必须晚于计划开始时间" in response.content.decode()
    assert not Outage.objects.exists()
    form["planned_end"] = "2026-11-25T17:00"
    response = client.post(reverse("outages:new"), form)
    outage = Outage.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("outages:detail", args=[outage.number])
    assert outage.status == OutageStatus.PUBLISHED and outage.lines == ["10kV城关线", "10kV南街线"]


@pytest.mark.rule("D7a")
def test_the_detail_shows_the_history_and_the_actions_that_fit(world, desk, login, frozen):
    start = frozen() + dt.timedelta(minutes=30)
    outage = published(desk, [world.areas["t0"]], start=start, hours=2)
    services.revise(outage=outage, actor=desk, changes={"reason": "更换刀闸"})
    url = reverse("outages:detail", args=[outage.number])
    client = login(world.agent)
    body = client.get(url).content.decode()
    assert "变更记录" in body and "更换刀闸" in body and "10kV城关线检修" in body and "→" in body
    assert "您可以查看本条停电信息，但无权变更" in body and 'data-action="start"' not in body
    assert client.post(reverse("outages:act", args=[outage.number, "start"])).status_code == 403

    client = login(desk)
    body = client.get(url).content.decode()
    assert english_runs(body) == []
    for action in ("start", "restore", "cancel"):
        assert f'data-action="{action}"' in body
    assert 'data-action="delay"' not in body
    frozen.set(start + dt.timedelta(minutes=1))
    assert client.post(reverse("outages:act", args=[outage.number, "start"]), {}).status_code == 302
    response = client.post(reverse("outages:act", args=[outage.number, "delay"]),
                           {"new_end": "2026-11-17T10:00", "reason": "抢修中"})
    assert response.status_code == 400 and "新的预计送电时间：必须晚于原预计送电时间" in response.content.decode()
    response = client.post(reverse("outages:act", args=[outage.number, "delay"]),
                           {"new_end": "2026-11-17T13:00", "reason": "抢修中"})
    assert response.status_code == 302
    response = client.post(reverse("outages:act", args=[outage.number, "restore"]), {})
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.status == OutageStatus.RESTORED
    body = client.get(url).content.decode()
    assert "本次停电已结束" in body and "订阅通知内容" in body  # the notices sent are in the history
    assert kinds(outage) == [
        "drafted", "published", "revised", "started", "delayed", "restored"]
    assert client.post(reverse("outages:act", args=[outage.number, "cancel"]), {"reason": "x"}).status_code == 403


def test_the_history_shows_what_the_time_limit_engine_wrote_into_it(world, desk, login, frozen):
    from hotline.outages.models import Outage

    outage = published(desk, [world.areas["t0"]])
    locked = Outage.objects.get(pk=outage.pk)
    services._record_event(locked, "warning", frozen(), None, {
        "notice": 7, "notice_kind": "warning", "level": 0, "metric": "publication", "unit": "县调度台",
        "due_at": "2026-11-18T09:00:00+08:00"})
    body = login(world.agent).get(reverse("outages:detail", args=[outage.number])).content.decode()
    assert "预警" in body and "停电信息发布时限" in body and "县调度台" in body and "2026-11-18 09:00" in body
    assert english_runs(body) == []


@pytest.mark.rule("D7a")
def test_the_revision_form_starts_from_the_outage(world, desk, login, frozen):
    outage = published(desk, [world.areas["t0"]], lines=["10kV城关线"])
    client = login(desk)
    url = reverse("outages:revise", args=[outage.number])
    page = client.get(url).content.decode()
    assert "变更 " + outage.number in page and "10kV城关线" in page and 'value="2026-11-25T09:00"' in page
    assert english_runs(page) == []
    form = {"outage_class": "planned", "areas": [world.areas["t0"].pk, world.areas["v1"].pk],
            "planned_start": "2026-11-25T09:00", "planned_end": "2026-11-25T18:00", "reason": outage.reason,
            "lines": "10kV城关线", "note": "调度通知延长"}
    assert client.post(url, form).status_code == 302
    event = own_events(outage).last()
    assert event.kind == "revised" and set(event.payload["changes"]) == {"planned_end", "areas"}
    assert event.payload["note"] == "调度通知延长"
    response = client.post(url, form)  # the same again changes nothing
    assert response.status_code == 400 and "没有任何变更" in response.content.decode()


@pytest.mark.rule("D7a")
def test_the_import_page_lists_every_bad_row_and_imports_a_good_file(world, desk, login, frozen):
    client = login(desk)
    url = reverse("outages:import")
    page = client.get(url).content.decode()
    assert "停电区域编码" in page and "导入并发布" in page and english_runs(page) == []
    bad = SimpleUploadedFile("停电计划.csv", csv_bytes(GOOD + BAD), content_type="text/csv")
    response = client.post(url, {"file": bad})
    body = response.content.decode()
    assert response.status_code == 400 and "未导入任何数据" in body
    rows = re.findall(r'<tr class="row-error"><td class="num">(\d+)</td><td>([^<]+)</td>', body)
    assert rows == [("5", "结束时间"), ("6", "停电区域编码"), ("6", "停电类型"), ("7", "原因"), ("7", "开始时间"),
                    ("8", "编号")]
    assert not Outage.objects.exists()
    good = SimpleUploadedFile("停电计划.csv", csv_bytes(GOOD), content_type="text/csv")
    response = client.post(url, {"file": good})
    assert response.status_code == 302 and Outage.objects.filter(status="published").count() == 3
    assert client.get(response["Location"]).content.decode().count("已从 停电计划.csv 导入并发布 3 条停电信息") == 1
    assert login(world.agent).get(url).status_code == 403
