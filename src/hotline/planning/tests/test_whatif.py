"""The storm what-if runs as a background job: the form refuses what could tie
up a worker, the worker reports progress, and a time budget ends it with what
the simulation has established."""

import re
import time
import xml.etree.ElementTree as ET

import pytest

from hotline.core import jobs
from hotline.core.models import Job, JobStatus
from hotline.planning import jobs as planning_jobs
from hotline.planning import services
from hotline.planning.models import Queue
from hotline.planning.tests.conftest import WEEK

pytestmark = pytest.mark.django_db

SVG_RE = re.compile(r"<svg.*?</svg>", re.S)


def _form(q, **over) -> dict:
    data = {"queue": q.pk, "day": WEEK.isoformat(), "start": "14:00", "hours": "2", "factor": "3",
            "target": "80", "replications": "40"}
    data.update({k: str(v) for k, v in over.items()})
    return data


@pytest.mark.rule("W4e")
def test_what_if_runs_in_the_worker_and_the_page_follows_it(planning, login):
    repair = Queue.objects.get(code="repair")
    client = login(planning.leader)
    response = client.post("/planning/what-if/", _form(repair))
    job = Job.objects.get(kind=planning_jobs.WHATIF)
    assert response.status_code == 302 and response.url == f"/planning/what-if/{job.pk}/"
    assert job.status == JobStatus.QUEUED and job.result == {}  # nothing simulated in the request
    page = client.get(response.url).content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page and "风暴推演" in page
    jobs.run_next()  # what `hotline worker`'s job thread does
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    answer = services.StormAnswer.from_json(job.result)
    assert answer.complete and answer.rechecked and answer.proven == answer.to_decide
    assert answer.standby > 0  # tripled calls need standby agents
    # the standby agents lift the simulated service level during the storm (a fresh
    # simulation checks it, so single intervals may land a little under the target by chance)
    first, last = answer.surge
    assert answer.service_level[first:last].mean() > answer.service_level_without[first:last].mean() + 0.2
    assert (answer.service_level_without[first:last] < 0.8).all()
    polled = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in polled and "hx-trigger" not in polled  # finished: polling stops
    assert f'id="standby-answer">{answer.standby}<' in polled and "在时间预算内得出的结果" not in polled
    svgs = SVG_RE.findall(polled)
    assert len(svgs) == 2
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    # the full page shows the form again, filled in with this run's inputs
    full = client.get(response.url).content.decode()
    assert 'name="hours" value="2"' in full and 'value="2026-03-16"' in full


@pytest.mark.rule("W4e")
def test_progress_is_reported_and_shown(planning, login):
    repair = Queue.objects.get(code="repair")
    seen = []
    answer = services.storm_what_if(queue=repair, day=WEEK, start=services.dt.time(14), hours=1.5, factor=3,
                                    target_pct=80, replications=10, progress=lambda *a: seen.append(a))
    fractions = [s[0] for s in seen]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] < 1
    assert seen[-1][3] == "recheck" and seen[-2][1:3] == (answer.to_decide, answer.to_decide)
    # the core job machinery stores what the handler reports, for the polling page
    job = jobs.enqueue(kind=planning_jobs.WHATIF, params={}, actor=planning.leader)
    claimed = jobs.claim_next()
    jobs._running.job = claimed
    try:
        planning_jobs._report(0.4, 2, 5, "search")
    finally:
        jobs._running.job = None
    job.refresh_from_db()
    assert job.result["progress"] == 0.4 and (job.result["done"], job.result["total"]) == (2, 5)
    assert "已确定 5 个时段中 2 个时段的备勤人数" in job.result["message"]
    page = login(planning.director).get(f"/planning/what-if/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'value="40"' in page and "已确定 5 个时段中 2 个时段的备勤人数" in page and "最迟" in page
    assert jobs.report_progress(0.5) is False  # outside a job: nothing to report to


@pytest.mark.rule("W4e")
def test_a_spent_time_budget_answers_with_what_is_established(planning, login, settings):
    settings.HOTLINE = {**settings.HOTLINE, "PLANNING_WHATIF_SECONDS": 1}
    repair = Queue.objects.get(code="repair")
    client = login(planning.leader)
    # a day-long storm at ten times the calls: far more than a second of simulation
    response = client.post("/planning/what-if/", _form(repair, start="00:00", hours=24, factor=10, replications=60))
    assert response.status_code == 302
    started = time.monotonic()
    job = jobs.run_next()
    took = time.monotonic() - started
    assert job.status == JobStatus.DONE, job.error
    answer = services.StormAnswer.from_json(Job.objects.get(pk=job.pk).result)
    assert not answer.complete and answer.proven < answer.to_decide
    assert took < 20  # one budget plus at most the run under way (each run is size-capped)
    # the intervals left carry the Erlang estimate, and the page says what is proven
    first = answer.searched[0] + answer.proven
    assert (answer.extra_agents[first:answer.searched[1]] == answer.erlang_extra[first:answer.searched[1]]).all()
    page = client.get(response.url).content.decode()
    assert "在时间预算内得出的结果" in page and "未经仿真证明" in page and "nan" not in page


@pytest.mark.rule("N3g")
def test_bad_input_is_refused_at_the_form(planning, login):
    repair = Queue.objects.get(code="repair")
    client = login(planning.leader)
    cases = [
        ({"factor": 50}, "倍数：请填写 1 到 20 之间的数。"),
        ({"factor": "nan"}, "倍数：请填写 1 到 20 之间的数。"),
        ({"hours": 0}, "请填写 0.5 到 24 之间的数"),
        ({"hours": 100}, "请填写 0.5 到 24 之间的数"),
        ({"target": 100}, "服务水平：请填写 1 到 99.9 之间的数。"),
        ({"replications": 5}, "重复次数：请填写 10 到 200 之间的数。"),
        ({"replications": 10 ** 9}, "重复次数：请填写 10 到 200 之间的数。"),
        ({"day": "2026/03/16"}, "请按“年-月-日”填写日期"),
        ({"day": "9999-12-31"}, "之间的日期"),
        ({"start": "25:00"}, "请按“时:分”填写时间"),
        ({"queue": 10 ** 6}, "请从列出的队列中选择一个。"),
        # within every field's bounds, but this queue's calls would make one run too large
        ({"start": "00:00", "hours": 24, "factor": 20, "replications": 200}, "重复次数最多"),
    ]
    for over, message in cases:
        response = client.post("/planning/what-if/", _form(repair, **over))
        assert response.status_code == 400, over
        assert message in response.content.decode(), (over, message)
    assert not Job.objects.exists()


@pytest.mark.rule("N3g")
def test_a_queue_without_history_is_refused_and_params_are_checked_again(world, login):
    services.add_standard_queues()
    repair = Queue.objects.get(code="repair")
    response = login(world.director).post("/planning/what-if/", _form(repair))
    assert response.status_code == 400 and "该队列尚无时段统计" in response.content.decode()
    assert not Job.objects.exists()
    # a job's params are checked again by the service (they may come from anywhere)
    with pytest.raises(services.PlanningError):
        services.storm_what_if(queue=repair, day=WEEK, start=services.dt.time(14), hours=2, factor=3,
                               target_pct=80, replications=100_000)


def test_a_failed_what_if_says_why_in_chinese(planning, login):
    job = jobs.enqueue(kind=planning_jobs.WHATIF, params={"queue": 10 ** 6}, actor=planning.leader)
    jobs.run_next()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    page = login(planning.leader).get(f"/planning/what-if/{job.pk}/").content.decode()
    assert "该队列已不存在。" in page


def test_only_planners_run_what_ifs(planning, login, client):
    repair = Queue.objects.get(code="repair")
    job = jobs.enqueue(kind=planning_jobs.WHATIF, params={}, actor=planning.leader)
    for user in (planning.agent, planning.station_users[0]):
        assert login(user).post("/planning/what-if/", _form(repair)).status_code == 403
        assert login(user).get(f"/planning/what-if/{job.pk}/").status_code == 403
    client.logout()
    assert client.get(f"/planning/what-if/{job.pk}/").status_code == 302
    assert Job.objects.count() == 1
    # a schedule job's page is not a what-if page, nor the other way round
    other = jobs.enqueue(kind=planning_jobs.RESOLVE, params={"schedule": 1}, actor=planning.leader)
    assert login(planning.leader).get(f"/planning/what-if/{other.pk}/").status_code == 404
    assert login(planning.leader).get(f"/planning/jobs/{job.pk}/").status_code == 404
