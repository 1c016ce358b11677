import re
import xml.etree.ElementTree as ET

import pytest

from hotline.planning import charts, services
from hotline.planning.models import Queue, Schedule, ScheduleShift, ShiftTemplate
from hotline.planning.tests.conftest import WEEK

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SVG_RE = re.compile(r"<svg.*?</svg>", re.S)


def test_home_forecast_and_target_pages(planning, login):
    client = login(planning.leader)
    home = client.get("/planning/")
    assert home.status_code == 200 and "故障报修" in home.content.decode()
    forecast = client.get("/planning/forecast/", {"queue": Queue.objects.get(code="repair").pk, "day": WEEK.isoformat()})
    assert forecast.status_code == 200 and b"<svg" in forecast.content
    response = client.post("/planning/queues/repair/targets/", {"service_level_pct": "90", "answer_seconds": "10",
                                                                "shrinkage_pct": "35", "patience_seconds": "90"})
    assert response.status_code == 302
    target = Queue.objects.get(code="repair").target
    assert (target.service_level_pct, target.answer_seconds, target.patience_seconds) == (90, 10, 90)
    assert client.post("/planning/queues/repair/targets/", {"service_level_pct": "150", "answer_seconds": "10",
                                                            "shrinkage_pct": "35"}).status_code == 400


def _urls(schedule_pk: int) -> list[tuple[str, str]]:
    return [("get", "/planning/"), ("get", "/planning/what-if/"), ("get", "/planning/forecast/"),
            ("get", f"/planning/schedules/{schedule_pk}/"), ("get", f"/planning/schedules/{schedule_pk}/edit/"),
            ("get", "/planning/queues/repair/targets/"),
            ("post", "/planning/import/"), ("post", "/planning/queues/"), ("post", "/planning/templates/standard/"),
            ("post", "/planning/schedules/"), ("post", f"/planning/schedules/{schedule_pk}/publish/"),
            ("post", f"/planning/schedules/{schedule_pk}/assign/"), ("post", f"/planning/schedules/{schedule_pk}/resolve/")]


def test_permissions(planning, client, login):
    schedule = Schedule.objects.create(week_start=WEEK, required=[0] * 336)
    ScheduleShift.objects.create(schedule=schedule, template=ShiftTemplate.objects.get(name="D0800"), day=0, count=1)
    for method, url in _urls(schedule.pk):
        client.logout()
        assert getattr(client, method)(url).status_code == 302, url  # to the log-in page
        for user in (planning.agent, planning.station_users[0]):
            assert getattr(login(user), method)(url).status_code == 403, (user, url)
    schedule.refresh_from_db()
    assert not schedule.is_published
    for user in (planning.leader, planning.director, planning.admin):
        assert login(user).get("/planning/").status_code == 200
    # the nav link shows for planners only
    assert "/planning/" in login(planning.leader).get("/board/").content.decode()
    assert "/planning/" not in login(planning.agent).get("/intake/").content.decode()


def test_chart_escapes_text_and_is_well_formed():
    svg = charts.chart(charts.Chart(labels=["<a>", "b&c"], title='x"<script>',
                                    series=[charts.Series("<b>", [1, None], "bar"), charts.Series("l", [2, 3], "step")],
                                    bands=[charts.Band(0, 1)], band_labels={"under": "&"},
                                    ref=charts.RefLine(2.5, "<t>")))
    assert "<script>" not in svg and "<a>" not in svg and "<b>" not in svg
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
