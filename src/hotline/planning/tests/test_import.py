import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from hotline.planning import services
from hotline.planning.imports import FileRejected
from hotline.planning.models import IntervalStat, Queue

pytestmark = pytest.mark.django_db

HEADER = "queue,start,interval_minutes,offered,answered,aht_seconds,abandoned\n"


def upload(name, content):
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)


@pytest.fixture
def queues(world):
    services.add_standard_queues()
    return world


def test_good_csv_is_imported_through_the_page(queues, login):
    body = HEADER + "repair,2026-03-02 08:00,30,40,38,280,2\nrepair,2026-03-02 08:30,30,44,40,300.5,4\n" \
        "general,2026-03-02 08:00,60,20,20,200,0\n"
    response = login(queues.leader).post("/planning/import/", {"file": upload("stats.csv", body)})
    assert response.status_code == 302
    assert IntervalStat.objects.count() == 3
    stat = IntervalStat.objects.get(queue__code="repair", offered=44)
    assert stat.aht_seconds == 300.5 and stat.abandoned == 4 and stat.interval_minutes == 30
    # the same (queue, start) again replaces the row instead of failing
    again = HEADER + "repair,2026-03-02 08:30,30,50,45,310,5\n"
    assert login(queues.leader).post("/planning/import/", {"file": upload("fix.csv", again)}).status_code == 302
    assert IntervalStat.objects.count() == 3
    assert IntervalStat.objects.get(queue__code="repair", start__minute=30).offered == 50


def test_xlsx_and_chinese_headers(queues):
    book = Workbook()
    sheet = book.active
    sheet.append(["队列", "开始时间", "时长", "呼入量", "接通量", "平均处理时长", "放弃量"])
    import datetime as dt
    sheet.append(["complaint", dt.datetime(2026, 3, 2, 9, 0), 15, 7, 6, 410, 1])
    sheet.append(["complaint", "2026-03-02 09:15", 15, 5, 5, 380, 0])
    buf = io.BytesIO()
    book.save(buf)
    result = services.import_interval_stats(data=buf.getvalue(), filename="export.xlsx")
    assert result.rows == 2 and result.queues == ["complaint"]
    assert IntervalStat.objects.filter(queue__code="complaint").count() == 2


def test_bad_file_reports_row_numbers_and_writes_nothing(queues, login):
    IntervalStat.objects.create(queue=Queue.objects.get(code="repair"), start="2026-03-01T08:00+08:00", offered=1, answered=1, aht_seconds=100,
                                abandoned=0)
    body = HEADER + (
        "repair,2026-03-02 08:00,30,40,38,280,2\n"  # row 2: fine
        "repair,2026-03-02 08:30,30,-1,0,280,0\n"  # row 3: negative
        "repair,yesterday,30,4,4,280,0\n"  # row 4: bad date
        "nosuch,2026-03-02 09:00,30,4,4,280,0\n"  # row 5: unknown queue (reported once the rest is clean)
        "repair,2026-03-02 09:10,30,4,4,280,0\n"  # row 6: off the 30-minute grid
        "repair,2026-03-02 09:30,30,4,5,280,0\n"  # row 7: answered > offered
        "repair,2026-03-02 08:00,30,40,38,280,2\n"  # row 8: duplicate of row 2
    )
    response = login(queues.leader).post("/planning/import/", {"file": upload("bad.csv", body)}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    errors = {e.number for e in response.context["import_errors"]}
    assert errors == {3, 4, 6, 7, 8}
    assert "未导入任何数据" in html  # nothing imported (the UI is Chinese by default)
    assert IntervalStat.objects.count() == 1  # the good row 2 was not written either


def test_unknown_queue_and_missing_columns_are_refused(queues):
    with pytest.raises(FileRejected) as exc:
        services.import_interval_stats(data=(HEADER + "nosuch,2026-03-02 09:00,30,4,4,280,0\n").encode(), filename="a.csv")
    assert [e.number for e in exc.value.errors] == [2]
    with pytest.raises(FileRejected) as exc:
        services.import_interval_stats(data=b"queue,start\nrepair,2026-03-02 09:00\n", filename="a.csv")
    assert "缺少列" in exc.value.errors[0].message  # Chinese, the default language
    with pytest.raises(FileRejected):
        services.import_interval_stats(data=b"x", filename="a.pdf")
    assert IntervalStat.objects.count() == 0


def test_gbk_csv(queues):
    body = ("队列,开始时间,时长,呼入量,接通量,平均处理时长,放弃量\nrepair,2026-03-02 08:00,30,40,38,280,2\n").encode("gbk")
    assert services.import_interval_stats(data=body, filename="gbk.csv").rows == 1
