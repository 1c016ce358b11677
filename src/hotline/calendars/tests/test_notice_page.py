"""The State Council notice form, the provisional banner and the admin audit."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from hotline.calendars import services
from hotline.calendars.models import DayOverride, NoticeHoliday, NoticeWorkday, YearNotice
from hotline.core import clock
from hotline.core.models import AuditEntry
from hotline.testing import PASSWORD

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db
NOTICE_URL = reverse("calendars:notice", args=[2027])


@pytest.fixture
def december():
    with clock.frozen(dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH)) as c:
        yield c


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def form_data(rows, workdays="", action="preview", **extra):
    data = {"holiday-TOTAL_FORMS": str(len(rows)), "holiday-INITIAL_FORMS": "0",
            "holiday-MIN_NUM_FORMS": "0", "holiday-MAX_NUM_FORMS": "20",
            "reference": "国办发明电〔2026〕99号", "workdays": workdays, "action": action, **extra}
    for i, (name, first, last) in enumerate(rows):
        data.update({f"holiday-{i}-name": name, f"holiday-{i}-first_day": first, f"holiday-{i}-last_day": last})
    return data


GOOD_ROWS = [("元旦", "2027-01-01", "2027-01-03"), ("春节", "2027-02-05", "2027-02-12"), ("", "", "")]


def cell(html, day):
    match = re.search(rf'data-date="{day}" data-kind="(\w+)"', html)
    assert match, day
    return match.group(1)


@pytest.mark.rule("D1m")
def test_the_banner_shows_for_shift_leaders_and_administrators_not_agents(client, world, december):
    page = reverse("workorders:my-orders")
    body = login(client, world.leader).get(page).content.decode()
    assert 'data-testid="calendar-banner"' in body and "2027" in body
    assert NOTICE_URL not in body  # shift leaders are told to ask an administrator
    client.logout()
    body = login(client, world.admin).get(reverse("calendars:years")).content.decode()
    assert 'data-testid="calendar-banner"' in body and NOTICE_URL in body
    client.logout()
    body = login(client, world.agent).get(page).content.decode()
    assert 'data-testid="calendar-banner"' not in body

    # Entered: no longer provisional, no banner.
    services.save_notice(user=world.admin, data=services.NoticeData(
        2027, [services.HolidayRange("春节", dt.date(2027, 2, 5), dt.date(2027, 2, 12))], []))
    client.logout()
    assert 'data-testid="calendar-banner"' not in login(client, world.leader).get(page).content.decode()


@pytest.mark.rule("D1m")
def test_no_banner_while_next_year_is_more_than_60_days_away(client, world):
    with clock.frozen(dt.datetime(2026, 11, 1, 9, 0, tzinfo=SH)):
        body = login(client, world.leader).get(reverse("workorders:my-orders")).content.decode()
    assert 'data-testid="calendar-banner"' not in body


@pytest.mark.rule("D1m")
def test_only_administrators_open_the_notice_form(client, world, december):
    for user in (world.leader, world.agent, world.director, world.station_users[0]):
        assert login(client, user).get(NOTICE_URL).status_code == 403
        assert client.post(NOTICE_URL, form_data(GOOD_ROWS, action="save")).status_code == 403
        client.logout()
    assert not YearNotice.objects.exists()
    response = login(client, world.admin).get(NOTICE_URL)
    assert response.status_code == 200
    body = response.content.decode()
    # Filled in from the provisional library; the year's grid as it counts now.
    assert 'value="春节"' in body and 'value="2027-02-05"' in body
    assert 'data-testid="current-year"' in body and cell(body, "2027-02-08") == "holiday"


@pytest.mark.rule("D1m")
@pytest.mark.parametrize("rows, workdays, field, message", [
    ([("春节", "2027-02-12", "2027-02-05")], "", "holiday-0-last_day", "第1个假期的「最后一天」：2027-02-05 早于第一天 2027-02-12"),
    ([("春节", "2026-12-31", "2027-02-05")], "", "holiday-0-first_day", "第1个假期的「第一天」：2026-12-31 不在2027年内"),
    ([("春节", "2027-02-05", "2027-02-12"), ("元宵", "2027-02-10", "2027-02-14")], "", "holiday-1-first_day",
     "第2个假期的「第一天」：2027-02-10 与第1个假期（春节，2027-02-05至2027-02-12）重叠"),
    ([("春节", "2027-02-05", "2027-02-12"), ("元宵", "2027-02-12", "2027-02-14")], "", "holiday-1-first_day",
     "第2个假期的「第一天」：2027-02-12 与第1个假期（春节，2027-02-05至2027-02-12）重叠"),
    ([("春节", "2027-02-05", "2027-02-12")], "2027-02-06", "workdays", "调休上班日：2027-02-06 在第1个假期（春节）之内"),
    ([("春节", "2027-02-05", "2027-02-12")], "2027-02-17", "workdays", "调休上班日：2027-02-17 是星期三，调休上班日应为周六或周日"),
    ([("春节", "2027-02-05", "2027-02-12")], "2028-01-08", "workdays", "调休上班日：2028-01-08 不在2027年内"),
    ([("春节", "2027-02-05", "2027-02-12")], "2027-02-20 2027-2-x", "workdays", "调休上班日：“2027-2-x”不是日期"),
    ([("", "2027-02-05", "2027-02-12")], "", "holiday-0-name", "第1个假期的「假期名称」：整行填写时必填"),
    ([("春节", "2027-13-05", "2027-02-12")], "", "holiday-0-first_day", "第1个假期的「第一天」：请按 YYYY-MM-DD 输入日期"),
    ([("春节", "2027-02-05", "2027-03-05")], "", "holiday-0-last_day", "第1个假期的「最后一天」：假期将长达29天"),
    ([("", "", "")], "", None, "假期：请至少录入一个假期"),
])
@pytest.mark.parametrize("action", ["preview", "save"])
def test_the_form_rejects_bad_input_naming_the_field_and_saves_nothing(client, world, december, rows, workdays,
                                                                         field, message, action):
    response = login(client, world.admin).post(NOTICE_URL, form_data(rows, workdays, action=action, digest="x"))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body, body[body.find("notice-errors"):][:800]
    if field:
        assert re.search(rf'<td class="has-error">[^\n]*name="{field}"', body) or \
            re.search(rf'has-error">[^<]*<textarea name="{field}"', body), field
    assert 'data-testid="notice-preview"' not in body
    assert not YearNotice.objects.exists() and not NoticeHoliday.objects.exists()
    assert not NoticeWorkday.objects.exists() and not AuditEntry.objects.exists()
    assert services.year_status(2027) == services.YearStatus.PROVISIONAL


@pytest.mark.rule("D1m")
def test_preview_shows_the_whole_year_then_save_enters_it_audited(client, world, december):
    login(client, world.admin)
    response = client.post(NOTICE_URL, form_data(GOOD_ROWS, "2027-02-20"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="notice-preview"' in body
    assert body.count('<table class="cal-month">') == 12
    assert cell(body, "2027-02-11") == "holiday"  # in the entered range, a working day in the library
    assert cell(body, "2027-02-20") == "adjusted"
    assert cell(body, "2027-02-27") == "weekend"
    assert cell(body, "2027-05-03") == "workday"  # the library's in-lieu day is not in this notice
    assert cell(body, "2027-12-31") == "workday"
    assert not YearNotice.objects.exists()  # a preview saves nothing
    assert "通知在预览后有改动" not in body
    digest = re.search(r'name="digest" value="(\w+)"', body).group(1)
    # Previewing again from the preview page (its digest posted along) still saves nothing.
    assert client.post(NOTICE_URL, form_data(GOOD_ROWS, "2027-02-20", digest=digest)).status_code == 200
    assert not YearNotice.objects.exists()

    # Edited after the preview: shown again, not saved.
    response = client.post(NOTICE_URL, form_data(GOOD_ROWS, "2027-02-27", action="save", digest=digest))
    assert response.status_code == 200 and 'data-testid="notice-preview"' in response.content.decode()
    assert "通知在预览后有改动" in response.content.decode()
    assert not YearNotice.objects.exists()

    response = client.post(NOTICE_URL, form_data(GOOD_ROWS, "2027-02-20", action="save", digest=digest))
    assert response.status_code == 302
    notice = YearNotice.objects.get(year=2027)
    assert notice.entered_by == world.admin and notice.reference == "国办发明电〔2026〕99号"
    assert [(h.name, h.first_day, h.last_day) for h in notice.holidays.all()] == [
        ("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 3)), ("春节", dt.date(2027, 2, 5), dt.date(2027, 2, 12))]
    assert [w.date for w in notice.workdays.all()] == [dt.date(2027, 2, 20)]
    assert services.year_status(2027) == services.YearStatus.ENTERED
    entry = AuditEntry.objects.get(action="calendar_notice")
    assert (entry.user, entry.object_type, entry.object_id) == (world.admin, "calendar_year", "2027")
    assert entry.detail["workdays"] == ["2027-02-20"] and entry.detail["replaced"] is None
    assert entry.detail["was"] == "holidays"

    # The page now shows the entered year, and a correction replaces it whole, audited with what it replaced.
    body = client.get(NOTICE_URL).content.decode()
    assert cell(body, "2027-02-20") == "adjusted" and 'value="2027-02-12"' in body
    rows = [("春节", "2027-02-05", "2027-02-11")]
    digest = re.search(r'name="digest" value="(\w+)"', client.post(NOTICE_URL, form_data(rows)).content.decode()).group(1)
    assert client.post(NOTICE_URL, form_data(rows, action="save", digest=digest)).status_code == 302
    assert NoticeHoliday.objects.count() == 1 and not NoticeWorkday.objects.exists()
    latest = AuditEntry.objects.filter(action="calendar_notice").order_by("-id").first()
    assert latest.detail["replaced"]["workdays"] == ["2027-02-20"]
    assert services.is_working_day(dt.date(2027, 2, 12))


@pytest.mark.rule("D1m")
def test_date_overrides_made_in_the_admin_are_audited(client, world):
    login(client, world.admin)
    add = reverse("admin:calendars_dayoverride_add")
    response = client.post(add, {"date": "2027-02-13", "is_working_day": "on", "name": "调休"})
    assert response.status_code == 302, response.content.decode()[:2000]
    override = DayOverride.objects.get(date=dt.date(2027, 2, 13))
    assert services.is_working_day(dt.date(2027, 2, 13))
    change = reverse("admin:calendars_dayoverride_change", args=[override.pk])
    assert client.post(change, {"date": "2027-02-13", "name": "调休"}).status_code == 302
    assert not services.is_working_day(dt.date(2027, 2, 13))
    delete = reverse("admin:calendars_dayoverride_delete", args=[override.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    entries = list(AuditEntry.objects.order_by("id").values_list("action", "object_id", "detail"))
    assert [(a, o) for a, o, _ in entries] == [("calendar_override_add", str(override.pk)),
                                               ("calendar_override_change", str(override.pk)),
                                               ("calendar_override_delete", str(override.pk))]
    assert entries[1][2]["before"]["is_working_day"] is True and entries[1][2]["is_working_day"] is False
    assert all(e[2]["date"] == "2027-02-13" for e in entries)
    # Notices are read-only in the admin, which points to the notice page.
    body = client.get(reverse("admin:calendars_yearnotice_changelist")).content.decode()
    assert reverse("calendars:years") in body
    assert client.get(reverse("admin:calendars_yearnotice_add")).status_code == 403
