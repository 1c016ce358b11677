"""Bulk import of planned outages (D7a): every row checked first, a bad file
imports nothing and names every bad row, a good one is published whole."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from hotline.core.models import OutboxMessage
from hotline.outages import imports, services
from hotline.outages.models import Outage, OutageEvent, OutageStatus
from hotline.outages.tests.factories import kinds

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
HEADER = ["编号", "停电类型", "开始时间", "结束时间", "停电区域编码", "线路", "原因", "停电范围"]
GOOD = [
    ["JH-2026-118", "计划停电", "2026-12-01 08:00", "2026-12-01 17:00", "t-a0t；t-a1", "10kV城关线、10kV东山线",
     "线路检修", "南街、桃园村"],
    ["", "临时停电", "2026/11/20 09:30", "2026/11/20 12:00", "t-a2v", "", "配变更换", ""],
    ["JH-2026-119", "超电网供电能力停限电", "2026年11月21日 18:00", "2026年11月21日 21:00", "t-a0", "", "负荷超限", ""],
]
BAD = [
    ["JH-2026-120", "计划停电", "2026-12-02 08:00", "2026-12-02 07:00", "t-a0", "", "检修", ""],  # end before start
    ["", "停电啦", "2026-12-02 08:00", "2026-12-02 17:00", "t-nope", "", "检修", ""],  # class and area
    ["", "计划停电", "明天早上", "2026-12-02 17:00", "t-a0", "", "", ""],  # start and reason
    ["JH-2026-118", "计划停电", "2026-12-03 08:00", "2026-12-03 17:00", "t-a0", "", "检修", ""],  # same number as row 2
]


def csv_bytes(rows, *, encoding="utf-8", header=HEADER):
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    return text.encode(encoding)


def xlsx_bytes(rows, header=HEADER):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        # A spreadsheet's dates are cells of their own, not text.
        cells = list(row)
        for i in (2, 3):
            try:
                cells[i] = dt.datetime.strptime(cells[i], "%Y-%m-%d %H:%M")
            except ValueError:
                pass
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rejected(**kw):
    with translation.override("zh-hans"), pytest.raises(imports.ImportRejected) as info:
        services.import_outages(**kw)
    return info.value.errors


@pytest.mark.rule("D7a")
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_good_csv_file_is_published_whole(world, desk, frozen, encoding):
    services.subscribe(channel="sms", address="13800000001", area=world.areas["t0"])
    result = services.import_outages(data=csv_bytes(GOOD, encoding=encoding), filename="停电计划.csv", actor=desk)
    assert len(result.outages) == 3
    first = Outage.objects.get(number="JH-2026-118")
    assert first.status == OutageStatus.PUBLISHED and first.published_by == desk
    assert sorted(first.areas.values_list("code", flat=True)) == ["t-a0t", "t-a1"]
    assert first.lines == ["10kV城关线", "10kV东山线"] and first.reason == "线路检修" and first.scope == "南街、桃园村"
    assert first.planned_start == dt.datetime(2026, 12, 1, 8, 0, tzinfo=SH)
    second = Outage.objects.get(outage_class="temporary")
    assert second.number.startswith("TD") and second.planned_end == dt.datetime(2026, 11, 20, 12, 0, tzinfo=SH)
    assert Outage.objects.get(number="JH-2026-119").outage_class == "over_capacity"
    for outage in result.outages:
        assert kinds(outage) == [
            "drafted", "published"]
    # 南街1号台区's subscriber hears of the first and of the township's third.
    assert OutboxMessage.objects.filter(recipient="13800000001").count() == 2


@pytest.mark.rule("D7a")
def test_a_good_workbook_is_published_whole(world, desk, frozen):
    result = services.import_outages(data=xlsx_bytes(GOOD), filename="plan.xlsx", actor=desk)
    assert [o.outage_class for o in result.outages] == ["planned", "temporary", "over_capacity"]
    assert Outage.objects.get(number="JH-2026-118").planned_end == dt.datetime(2026, 12, 1, 17, 0, tzinfo=SH)


def expected_problems():
    # (row, column) of every problem of GOOD + BAD: rows 5 to 8 of the file.
    return [(5, "结束时间"), (6, "停电区域编码"), (6, "停电类型"), (7, "原因"), (7, "开始时间"), (8, "编号")]


@pytest.mark.rule("D7a")
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(world, desk, frozen, kind):
    data = csv_bytes(GOOD + BAD) if kind == "csv" else xlsx_bytes(GOOD + BAD)
    errors = rejected(data=data, filename=f"plan.{kind}", actor=desk)
    assert [(e.row, e.column) for e in errors] == expected_problems()
    by_place = {(e.row, e.column): e.message for e in errors}
    assert "结束时间必须晚于开始时间" in by_place[(5, "结束时间")]
    assert "t-nope" in by_place[(6, "停电区域编码")]
    assert "停电啦" in by_place[(6, "停电类型")] and "计划停电" in by_place[(6, "停电类型")]
    assert "明天早上" in by_place[(7, "开始时间")] and "不能为空" in by_place[(7, "原因")]
    assert "第 2 行" in by_place[(8, "编号")]
    assert not Outage.objects.exists() and not OutageEvent.objects.exists() and not OutboxMessage.objects.exists()


@pytest.mark.rule("D7a")
def test_what_only_the_database_knows_is_checked_for_every_row_too(world, desk, frozen):
    station0 = world.station_users[0]
    services.import_outages(data=csv_bytes(GOOD[:1]), filename="a.csv", actor=desk)
    rows = [
        ["JH-2026-118", "计划停电", "2026-12-05 08:00", "2026-12-05 17:00", "t-a0", "", "检修", ""],  # number taken
        ["", "计划停电", "2026-12-05 08:00", "2026-12-05 17:00", "t-a1", "", "检修", ""],  # another station's area
        ["", "欠费停电", "2026-12-05 08:00", "2026-12-05 17:00", "t-a0", "", "欠费", ""],  # a marketing class
        ["", "计划停电", "2026-12-05 08:00", "2026-12-05 17:00", "t-a0", "", "检修", ""],  # fine
    ]
    errors = rejected(data=csv_bytes(rows), filename="b.csv", actor=station0)
    assert [(e.row, e.column) for e in errors] == [(2, "编号"), (3, "停电区域编码"), (4, "停电类型")]
    assert "东山乡" in errors[1].message or "t-a1" in errors[1].message
    assert Outage.objects.count() == 1


def test_a_file_that_is_no_outage_plan_is_refused(world, desk):
    errors = rejected(data=csv_bytes(GOOD, header=["类型", "开始", "结束"]), filename="x.csv", actor=desk)
    assert errors[0].row == 1 and "结束时间" in errors[0].message and "停电区域编码" in errors[0].message
    assert "csv" in rejected(data=b"x", filename="x.pdf", actor=desk)[0].message
    assert rejected(data=b"not a zip", filename="x.xlsx", actor=desk)[0].row == 0
    assert "空" in rejected(data=b"", filename="x.csv", actor=desk)[0].message
    with pytest.raises(services.NotAllowed):
        services.import_outages(data=csv_bytes(GOOD), filename="x.csv", actor=world.agent)
