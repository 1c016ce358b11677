import re
import xml.etree.ElementTree as ET

import pytest

from hotline.planning import charts, services
from hotline.planning.models import Queue, Schedule, ScheduleShift, ShiftTemplate
from hotline.planning.tests.conftest import WEEK

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SVG_RE = re.compile(r"<svg.*?</svg>", re.S)


def test_what_if_page_answers_with_an_svg(planning, login):
    repair = Queue.objects.get(code="repair")
    query = {"queue": repair.pk, "day": WEEK.isoformat(), "start": "14:00", "hours": "2", "factor": "3", "target": "80"}
    response = login(planning.leader).get("/planning/what-if/", query, **EN)
    assert response.status_code == 200
    html = response.content.decode()
    answer = response.context["answer"]
    assert answer.standby > 0  # tripled calls need standby agents
    assert f'id="standby-answer">{answer.standby}<' in html
    svgs = SVG_RE.findall(html)
    assert len(svgs) == 2
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    # the standby agents lift the simulated service level during the storm (a fresh simulation
    # run checks it, so single intervals may land a little under the target by chance)
    first, last = answer.surge
    assert answer.service_level[first:last].mean() > answer.service_level_without[first:last].mean() + 0.2
    assert (answer.service_level_without[first:last] < 0.8).all()
    # htmx asks for the result only
    part = login(planning.leader).get("/planning/what-if/", query, HTTP_HX_REQUEST="true")
    assert b"<html" not in part.content and b"<svg" in part.content


def test_what_if_form_errors_and_no_history(world, login):
    services.add_standard_queues()
    repair = Queue.objects.get(code="repair")
    client = login(world.director)
    bad = client.get("/planning/what-if/", {"queue": repair.pk, "day": "2026-03-16", "start": "14:00", "hours": "2",
                                            "factor": "50", "target": "80"}, **EN)
    assert bad.status_code == 200 and "answer" not in bad.context and bad.context["form"].errors
    none = client.get("/planning/what-if/", {"queue": repair.pk, "day": "2026-03-16", "start": "14:00", "hours": "2",
                                             "factor": "3", "target": "80"}, **EN)
    assert "该队列尚无时段统计" in none.content.decode()


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
