"""Working-day rules that mutation testing (scripts/mutation) showed no test
checked: zero limits, a long closure entered by an administrator, and the
inclusive count of working days."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.calendars.models import DayOverride
from hotline.calendars.services import (DurationUnit, add_duration, is_working_day, next_working_day,
                                        working_days_between)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


@pytest.mark.rule("D1m")
def test_a_zero_limit_is_due_at_once_or_at_the_start_of_the_next_working_day():
    friday = at(2026, 11, 20, 10, 0)
    assert add_duration(friday, 0, DurationUnit.MINUTES) == friday  # "immediate"
    assert add_duration(friday, 0, DurationUnit.WORKING_DAYS) == friday
    saturday = at(2026, 11, 21, 10, 0)
    assert add_duration(saturday, 0, DurationUnit.WORKING_DAYS) == at(2026, 11, 23, 0, 0)
    with pytest.raises(ValueError):
        add_duration(friday, -1, DurationUnit.MINUTES)


@pytest.mark.rule("D1m")
def test_a_long_closure_entered_by_the_administrator_moves_every_working_day_deadline_past_it():
    first, last = dt.date(2026, 11, 21), dt.date(2027, 1, 31)  # 72 days off
    DayOverride.objects.bulk_create([DayOverride(date=first + dt.timedelta(days=i), is_working_day=False, name="closure")
                                     for i in range((last - first).days + 1)])
    reopening = dt.date(2027, 2, 1)
    assert is_working_day(reopening)
    assert next_working_day(first) == reopening
    assert add_duration(at(2026, 11, 20, 10, 0), 1, DurationUnit.WORKING_DAYS) == at(2027, 2, 1, 10, 0)
    assert add_duration(at(2026, 11, 20, 10, 0), 2, DurationUnit.WORKING_DAYS) == at(2027, 2, 2, 10, 0)


@pytest.mark.rule("D1m")
def test_working_days_between_counts_both_ends():
    monday, friday = dt.date(2026, 11, 23), dt.date(2026, 11, 27)
    assert working_days_between(monday, friday) == [monday + dt.timedelta(days=i) for i in range(5)]
    assert working_days_between(friday, friday) == [friday]


def _notice_2027(**changes):
    from hotline.calendars import services

    data = {"year": 2027,
            "holidays": [services.HolidayRange("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 3)),
                         services.HolidayRange("春节", dt.date(2027, 2, 5), dt.date(2027, 2, 12))],
            "workdays": [dt.date(2027, 2, 20)], "reference": "国办发明电〔2026〕99号"}
    data.update(changes)
    return services.NoticeData(**data)


@pytest.mark.rule("D1m", "N3g", "N3h")
def test_the_service_itself_refuses_a_wrong_notice_naming_the_field_and_saves_nothing(world):
    from hotline.calendars import services
    from hotline.calendars.models import YearNotice
    from hotline.core.models import AuditEntry

    wrong = _notice_2027(holidays=[services.HolidayRange("春节", dt.date(2026, 2, 5), dt.date(2027, 2, 12))])
    with pytest.raises(services.NoticeInvalid) as refused:
        services.save_notice(user=world.admin, data=wrong)
    problems = refused.value.problems
    assert [(p.field, p.index, p.part) for p in problems] == [("holidays", 0, "first_day")]
    assert refused.value.messages == [problems[0].message] and "2026-02-05" in problems[0].message
    assert not YearNotice.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.rule("D1m")
def test_an_entered_notice_reads_back_whole_and_its_audit_entry_says_what_was_entered(world):
    from hotline.calendars import services, sources
    from hotline.core.models import AuditEntry

    was = sources.source_of(2027)
    notice = services.save_notice(user=world.admin, data=_notice_2027())
    assert notice.entered_by == world.admin
    back = services.notice_data(2027)
    assert (back.year, back.reference, back.workdays) == (2027, "国办发明电〔2026〕99号", [dt.date(2027, 2, 20)])
    assert [(h.name, h.first_day, h.last_day) for h in back.holidays] == [
        ("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 3)), ("春节", dt.date(2027, 2, 5), dt.date(2027, 2, 12))]
    assert services.suggested_notice(2027) == back  # an entered year is suggested as entered
    entry = AuditEntry.objects.get(action="calendar_notice")
    assert entry.user == world.admin and entry.detail["was"] == was and entry.detail["replaced"] is None
    assert {k: entry.detail[k] for k in ("year", "reference", "holidays", "workdays")} == {
        "year": 2027, "reference": "国办发明电〔2026〕99号", "workdays": ["2027-02-20"],
        "holidays": [{"name": "元旦", "first_day": "2027-01-01", "last_day": "2027-01-03"},
                     {"name": "春节", "first_day": "2027-02-05", "last_day": "2027-02-12"}]}


@pytest.mark.rule("D1m")
def test_a_year_not_entered_is_suggested_from_the_libraries_as_whole_ranges(world):
    from hotline.calendars import services

    suggestion = services.suggested_notice(2028)
    assert suggestion.year == 2028 and suggestion.holidays
    assert all(h.first_day.year == h.last_day.year == 2028 and h.first_day <= h.last_day for h in suggestion.holidays)
    assert services.validate_notice(suggestion) == []  # a start the administrator can save as it is


@pytest.mark.rule("D1m", "N3g")
def test_notice_validation_names_the_year_bounds_the_missing_list_and_the_unnamed_row():
    from hotline.calendars import services

    def problems(**changes):
        return [(p.field, p.index, p.part, p.message) for p in services.validate_notice(_notice_2027(**changes))]

    assert problems(year=2101) == [("year", None, None, "年份：请输入2000至2100之间的年份。")]
    assert problems(year=1999) == [("year", None, None, "年份：请输入2000至2100之间的年份。")]
    for year in (2000, 2100):  # both bounds are allowed years
        assert [p for p in problems(year=year, holidays=[services.HolidayRange("元旦", dt.date(year, 1, 1),
                                                                                dt.date(year, 1, 1))], workdays=[])
                if p[0] == "year"] == []
    assert problems(holidays=[]) == [("holidays", None, None, "假期：请至少录入一个假期（名称、第一天、最后一天）。")]
    unnamed = [services.HolidayRange("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 1)),  # one day is a holiday
               services.HolidayRange("  ", dt.date(2027, 2, 5), dt.date(2027, 2, 12))]
    assert problems(holidays=unnamed) == [("holidays", 1, "name", "第2个假期的「假期名称」：请填写假期名称。")]
    # Rows as the user numbered them, when the form says so.
    shown = services.validate_notice(_notice_2027(holidays=unnamed), row_numbers=[3, 7])
    assert [p.message for p in shown] == ["第7个假期的「假期名称」：请填写假期名称。"]


@pytest.mark.rule("D1m")
def test_the_year_preview_says_which_source_decides_each_day_and_names_it(world):
    from hotline.calendars import services

    services.save_notice(user=world.admin, data=_notice_2027())
    DayOverride.objects.create(date=dt.date(2027, 2, 22), is_working_day=False, name="冰冻灾害")
    assert services.year_source(2027) == services.NOTICE
    days = {d.day: d for d in services.days_info(dt.date(2027, 2, 19), dt.date(2027, 2, 22))}
    assert (days[dt.date(2027, 2, 22)].working, days[dt.date(2027, 2, 22)].source, days[dt.date(2027, 2, 22)].name) == (
        False, services.OVERRIDE, "冰冻灾害")
    assert (days[dt.date(2027, 2, 20)].working, days[dt.date(2027, 2, 20)].source) == (True, services.NOTICE)  # worked Saturday
    assert (days[dt.date(2027, 2, 19)].working, days[dt.date(2027, 2, 19)].source, days[dt.date(2027, 2, 19)].name) == (
        True, services.NOTICE, "")  # an ordinary day has no holiday name
    holiday = services.days_info(dt.date(2027, 2, 8), dt.date(2027, 2, 8))[0]
    assert (holiday.working, holiday.source, holiday.name) == (False, services.NOTICE, "春节")


@pytest.mark.rule("D1m", "N3g")
def test_notice_validation_names_each_wrong_holiday_range_in_the_users_words():
    from hotline.calendars import services

    H = services.HolidayRange

    def problems(holidays, workdays=()):
        return [(p.field, p.index, p.part, p.message)
                for p in services.validate_notice(_notice_2027(holidays=holidays, workdays=list(workdays)))]

    # Both ends outside the year: both named, and nothing more is said of the row.
    assert problems([H("元旦", dt.date(2026, 12, 31), dt.date(2026, 12, 30))]) == [
        ("holidays", 0, "first_day", "第1个假期的「第一天」：2026-12-31 不在2027年内。"),
        ("holidays", 0, "last_day", "第1个假期的「最后一天」：2026-12-30 不在2027年内。")]
    assert problems([H("春节", dt.date(2027, 2, 12), dt.date(2027, 2, 5))]) == [
        ("holidays", 0, "last_day", "第1个假期的「最后一天」：2027-02-05 早于第一天 2027-02-12。")]
    # Fifteen days is the longest holiday a notice has; sixteen is a typing error.
    assert problems([H("国庆", dt.date(2027, 10, 1), dt.date(2027, 10, 15))]) == []
    assert problems([H("国庆", dt.date(2027, 10, 1), dt.date(2027, 10, 16))]) == [
        ("holidays", 0, "last_day", "第1个假期的「最后一天」：假期将长达16天，通知中的假期最长15天，请检查日期。")]


@pytest.mark.rule("D1m", "N3g")
def test_notice_validation_finds_overlapping_holidays_in_date_order_not_row_order():
    from hotline.calendars import services

    H = services.HolidayRange

    def problems(holidays):
        return [(p.field, p.index, p.part, p.message)
                for p in services.validate_notice(_notice_2027(holidays=holidays, workdays=[]))]

    # Rows entered out of order; the second row ends on the day the first begins.
    assert problems([H("劳动节", dt.date(2027, 5, 5), dt.date(2027, 5, 6)),
                     H("清明", dt.date(2027, 5, 1), dt.date(2027, 5, 5)),
                     H("端午", dt.date(2027, 5, 7), dt.date(2027, 5, 7))]) == [  # the day after: no overlap
        ("holidays", 0, "first_day", "第1个假期的「第一天」：2027-05-05 与第2个假期（清明，2027-05-01至2027-05-05）重叠。")]
    # A row already refused (too long) is not compared again.
    assert [p[2:] for p in problems([H("清明", dt.date(2027, 4, 1), dt.date(2027, 4, 30)),
                                      H("劳动节", dt.date(2027, 4, 29), dt.date(2027, 5, 3))])] == [
        ("last_day", "第1个假期的「最后一天」：假期将长达30天，通知中的假期最长15天，请检查日期。")]


@pytest.mark.rule("D1m", "N3g")
def test_notice_validation_names_each_wrong_adjusted_working_day():
    from hotline.calendars import services

    holidays = [services.HolidayRange("春节", dt.date(2027, 2, 6), dt.date(2027, 2, 14))]  # Saturday to Sunday

    def problems(*workdays):
        return [(p.field, p.index, p.part, p.message)
                for p in services.validate_notice(_notice_2027(holidays=holidays, workdays=list(workdays)))]

    saturday, sunday = dt.date(2027, 2, 20), dt.date(2027, 2, 21)
    assert problems(saturday, sunday) == []
    # Each wrong day is named, in entry order; a repeated day once, and the check goes on after it.
    assert problems(saturday, saturday, dt.date(2026, 12, 26), dt.date(2026, 12, 26), dt.date(2027, 2, 19),
                    dt.date(2027, 2, 22), dt.date(2027, 2, 6), dt.date(2027, 2, 14), dt.date(2027, 2, 13)) == [
        ("workdays", None, None, "调休上班日：2027-02-20 重复录入。"),
        ("workdays", None, None, "调休上班日：2026-12-26 不在2027年内。"),
        ("workdays", None, None, "调休上班日：2026-12-26 重复录入。"),
        ("workdays", None, None, "调休上班日：2027-02-19 是星期五，调休上班日应为周六或周日。"),
        ("workdays", None, None, "调休上班日：2027-02-22 是星期一，调休上班日应为周六或周日。"),
        ("workdays", None, None, "调休上班日：2027-02-06 在第1个假期（春节）之内。"),  # its first day
        ("workdays", None, None, "调休上班日：2027-02-14 在第1个假期（春节）之内。"),  # its last day
        ("workdays", None, None, "调休上班日：2027-02-13 在第1个假期（春节）之内。")]
    # The row as the user numbered it.
    shown = services.validate_notice(_notice_2027(holidays=holidays, workdays=[dt.date(2027, 2, 13)]), row_numbers=[4])
    assert [p.message for p in shown] == ["调休上班日：2027-02-13 在第4个假期（春节）之内。"]


@pytest.mark.rule("D1m")
def test_a_replaced_notice_is_gone_and_the_audit_entry_keeps_what_it_replaced(world):
    from hotline.calendars import services
    from hotline.calendars.models import NoticeHoliday, YearNotice
    from hotline.core.models import AuditEntry

    first = _notice_2027()
    services.save_notice(user=world.admin, data=first)
    second = _notice_2027(holidays=[services.HolidayRange(" 元旦 ", dt.date(2027, 1, 1), dt.date(2027, 1, 1))],
                          workdays=[dt.date(2027, 2, 20), dt.date(2027, 2, 20)], reference=" 第二版 ")
    with pytest.raises(services.NoticeInvalid):  # the repeated day
        services.save_notice(user=world.admin, data=second)
    second = _notice_2027(holidays=second.holidays, workdays=[dt.date(2027, 2, 20)], reference=" 第二版 ")
    services.save_notice(user=world.admin, data=second)
    assert YearNotice.objects.get().reference == "第二版"
    assert list(NoticeHoliday.objects.values_list("name", "first_day", "last_day")) == [
        ("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 1))]
    assert services.days_info(dt.date(2027, 2, 8), dt.date(2027, 2, 8))[0].working  # the old 春节 is gone
    entry = AuditEntry.objects.filter(action="calendar_notice").order_by("-id").first()
    assert entry.detail["was"] == services.NOTICE and entry.detail["replaced"] == first.as_detail()


@pytest.mark.rule("D1m")
def test_working_day_deadlines_across_a_long_closure_count_each_working_day_once_whatever_the_start():
    # A 72-day closure with a few days worked inside it: a deadline counts the
    # working days one by one, before, inside and after it (it used to hang
    # when a working day came just before a closure longer than its window).
    first, last = dt.date(2026, 11, 21), dt.date(2027, 1, 31)
    worked = {dt.date(2026, 12, 19), dt.date(2027, 1, 4), dt.date(2027, 1, 5), dt.date(2027, 1, 30)}
    DayOverride.objects.bulk_create([DayOverride(date=first + dt.timedelta(days=i), name="closure",
                                                 is_working_day=first + dt.timedelta(days=i) in worked)
                                     for i in range((last - first).days + 1)])
    assert add_duration(at(2026, 11, 19, 10, 0), 2, DurationUnit.WORKING_DAYS) == at(2026, 12, 19, 10, 0)

    def by_hand(start: dt.datetime, n: int) -> dt.datetime:
        day, time_of_day = start.date(), start.time()
        if not is_working_day(day):
            day, time_of_day = next_working_day(day), dt.time(0, 0)
        for _ in range(n):
            day += dt.timedelta(days=1)
            while not is_working_day(day):
                day += dt.timedelta(days=1)
        return at(day.year, day.month, day.day, time_of_day.hour, time_of_day.minute)

    for offset in range(0, 60, 3):
        start = at(2026, 11, 1, 9, 30) + dt.timedelta(days=offset)
        for n in (1, 2, 3, 5, 8):
            assert add_duration(start, n, DurationUnit.WORKING_DAYS) == by_hand(start, n), (start, n)


@pytest.mark.rule("D1m", "N3g")
def test_notice_validation_goes_on_past_a_wrong_holiday_row():
    from hotline.calendars import services

    H = services.HolidayRange
    wrong = [H("元旦", dt.date(2026, 12, 31), dt.date(2027, 1, 1)),  # not in the year
             H("春节", dt.date(2027, 2, 12), dt.date(2027, 2, 5)),  # ends before it begins
             H("国庆", dt.date(2027, 10, 1), dt.date(2027, 10, 20)),  # too long
             H("", dt.date(2027, 5, 1), dt.date(2027, 5, 5))]  # unnamed
    found = services.validate_notice(_notice_2027(holidays=wrong, workdays=[]))
    assert [(p.index, p.part) for p in found] == [(0, "first_day"), (1, "last_day"), (2, "last_day"), (3, "name")]
