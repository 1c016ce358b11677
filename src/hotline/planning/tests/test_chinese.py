"""Planning pages in the default language: date inputs that a browser can show
(ISO values whatever the locale) and no English text."""

import re
from html.parser import HTMLParser

import pytest

from hotline.core import jobs
from hotline.core.models import Job
from hotline.planning import imports, services
from hotline.planning import jobs as planning_jobs
from hotline.planning.models import Queue, ShiftTemplate
from hotline.planning.tests.conftest import WEEK

pytestmark = pytest.mark.django_db

DATE_INPUT = re.compile(r'<input type="date"[^>]*>')


@pytest.mark.rule("N1g")
def test_date_inputs_carry_iso_values_in_chinese(planning, login):
    client = login(planning.leader)
    repair = Queue.objects.get(code="repair").pk
    pages = {"/planning/": "week_start", "/planning/what-if/": "day",
             f"/planning/forecast/?queue={repair}&day={WEEK}": "day"}
    for url, name in pages.items():
        html = client.get(url).content.decode()
        assert 'lang="zh-hans"' in html
        inputs = DATE_INPUT.findall(html)
        assert len(inputs) == 1 and f'name="{name}"' in inputs[0], url
        # Django's zh-hans value would be 2026/03/16, which a date input shows as blank
        assert re.search(r'value="\d{4}-\d{2}-\d{2}"', inputs[0]), inputs[0]
        assert re.search(r'min="\d{4}-\d{2}-\d{2}" max="\d{4}-\d{2}-\d{2}"', inputs[0]), inputs[0]
    assert f'value="{WEEK.isoformat()}"' in client.get(f"/planning/forecast/?queue={repair}&day={WEEK}").content.decode()


@pytest.mark.rule("N1g")
@pytest.mark.rule("N3g")
def test_a_week_submitted_in_chinese_is_solved_and_bad_dates_are_explained(planning, login):
    client = login(planning.leader)
    response = client.post("/planning/schedules/", {"week_start": "2026-03-18", "interval_minutes": "30"})
    job = Job.objects.get(kind=planning_jobs.CREATE)
    assert response.status_code == 302 and job.params["week_start"] == WEEK.isoformat()  # the Monday
    for value, message in (("2026/03/16", "请按“年-月-日”填写日期"), ("", "请选择日期。"),
                           ("9999-12-27", "之间的日期"), ("2026-02-30", "请按“年-月-日”填写日期")):
        bad = client.post("/planning/schedules/", {"week_start": value, "interval_minutes": "30"})
        assert bad.status_code == 400 and message in bad.content.decode(), value
    assert Job.objects.count() == 1


# --- no English on Chinese pages -------------------------------------------------

WORD = re.compile(r"[A-Za-z]{2,}")
# Codes, names and units that stay as they are: the import file's column names,
# queue codes, model and library names, abbreviations a center uses as such.
ALLOWED = {"Erlang", "WAPE", "MAE", "AHT", "ASA", "CSV", "UTF", "GBK", "GB", "xlsx", "EN", "holidays", "MB"}
ALLOWED |= {part for column in imports.COLUMNS for part in column.split("_")}


class _Text(HTMLParser):
    """Visible text and the attributes a user reads (title, placeholder, aria-label)."""

    def __init__(self):
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        self.parts += [v for k, v in attrs if k in ("title", "placeholder", "aria-label", "alt") and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def english(html: str, allowed: set[str]) -> list[tuple[str, str]]:
    parser = _Text()
    parser.feed(html)
    return [(w, part.strip()[:120]) for part in parser.parts for w in WORD.findall(part) if w not in allowed]


@pytest.mark.rule("N1g")
def test_no_english_on_chinese_planning_pages(planning, login):
    ShiftTemplate.objects.exclude(name__in=["D0700", "D0800", "D1000", "E1400", "E1600", "N2300"]).update(active=False)
    schedule = services.create_schedule(actor=planning.leader, week_start=WEEK, time_limit=3)
    client = login(planning.leader)
    repair = Queue.objects.get(code="repair")
    allowed = ALLOWED | {q.code for q in Queue.objects.all()} | set(WORD.findall(planning.leader.username))
    client.post("/planning/what-if/", {"queue": repair.pk, "day": WEEK.isoformat(), "start": "14:00", "hours": "1",
                                       "factor": "3", "target": "80", "replications": "10"})
    whatif = jobs.run_next()
    queued = jobs.enqueue(kind=planning_jobs.WHATIF, params={"queue": repair.pk, "day": WEEK.isoformat(),
                                                              "start": "14:00", "hours": 1, "factor": 3},
                          actor=planning.leader)
    urls = ["/planning/", "/planning/what-if/", f"/planning/what-if/{whatif.pk}/", f"/planning/what-if/{queued.pk}/",
            # a day with actual calls (the history) and one after it (forecast only); the
            # two weeks of history are too short for Holt-Winters: its reason shows
            f"/planning/forecast/?queue={repair.pk}&day=2026-03-12", f"/planning/forecast/?queue={repair.pk}&day={WEEK}",
            f"/planning/schedules/{schedule.pk}/", f"/planning/schedules/{schedule.pk}/edit/",
            "/planning/queues/repair/targets/"]
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "nan" not in re.sub(r"<(script|style).*?</\1>", "", html, flags=re.S).replace("nano", ""), url
        words = english(html, allowed)
        if words:
            found[url] = words
    forecast = client.get(f"/planning/forecast/?queue={repair.pk}&day=2026-03-12").content.decode()
    assert "日类型曲线法" in forecast and "至少需要两周的历史数据。" in forecast
    assert found == {}
    # a bad import's row errors, too
    bad = client.post("/planning/import/", {"file": _upload("queue,start,interval_minutes,offered,answered,"
                                                            "aht_seconds,abandoned\nnosuch,2026-03-02 09:07,45,x,1,"
                                                            "280,0\n")})
    assert bad.status_code == 400 and english(bad.content.decode(), allowed | {"csv"}) == []


def _upload(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("话务统计.csv", text.encode(), content_type="text/csv")
