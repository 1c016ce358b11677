"""Solves asked for on the pages run in the worker; the page follows them."""

import pytest

from hotline.core import jobs
from hotline.core.models import Job, JobStatus
from hotline.planning.models import Schedule, ScheduleStatus, ShiftTemplate
from hotline.planning.tests.conftest import WEEK

pytestmark = pytest.mark.django_db


def test_solve_the_week_through_a_background_job(planning, login):
    ShiftTemplate.objects.exclude(name__in=["D0700", "D0800", "D1000", "E1400", "E1600", "N2300"]).update(active=False)
    client = login(planning.leader)
    response = client.post("/planning/schedules/", {"week_start": WEEK.isoformat(), "interval_minutes": "30"})
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/planning/jobs/{job.pk}/"
    assert not Schedule.objects.exists()  # nothing solved in the request
    page = client.get(response.url)
    assert page.status_code == 200 and 'hx-trigger="every 2s"' in page.content.decode()
    assert client.get(response.url, HTTP_HX_REQUEST="true").status_code == 200  # still queued: the partial
    jobs.run_next()  # what a worker does
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    schedule = Schedule.objects.get()
    assert job.result["schedule"] == schedule.pk and schedule.created_by == planning.leader
    polled = client.get(response.url, HTTP_HX_REQUEST="true")
    assert polled.headers["HX-Redirect"] == f"/planning/schedules/{schedule.pk}/"
    # Opening the page afterwards goes straight to the schedule, with the message.
    final = client.get(response.url, follow=True)
    assert final.redirect_chain[-1][0] == f"/planning/schedules/{schedule.pk}/"
    assert "排班已求解" in final.content.decode() or "Schedule solved" in final.content.decode()


def test_a_failed_assignment_shows_its_reason(planning, login):
    schedule = Schedule.objects.create(week_start=WEEK, interval_minutes=30, created_by=planning.leader,
                                       required=[0] * 336, solver_status="test")
    from hotline.planning.models import ScheduleShift

    for d in range(7):
        ScheduleShift.objects.create(schedule=schedule, template=ShiftTemplate.objects.get(name="D0800"), day=d, count=3)
    client = login(planning.leader)
    response = client.post(f"/planning/schedules/{schedule.pk}/assign/")
    job = Job.objects.get(kind="planning.assign_agents")
    assert response.url == f"/planning/jobs/{job.pk}/"
    jobs.run_next()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "Not enough agents" in job.error
    final = client.get(response.url, follow=True)
    assert final.redirect_chain[-1][0] == f"/planning/schedules/{schedule.pk}/edit/"
    assert "agents" in final.content.decode() or "座席" in final.content.decode()


def test_a_published_schedule_gets_no_job(planning, login):
    schedule = Schedule.objects.create(week_start=WEEK, required=[0] * 336, status=ScheduleStatus.PUBLISHED)
    client = login(planning.leader)
    response = client.post(f"/planning/schedules/{schedule.pk}/resolve/")
    assert response.status_code == 302 and not Job.objects.exists()


def test_only_planners_follow_jobs(planning, login):
    job = jobs.enqueue(kind="planning.resolve_schedule", params={"schedule": 1}, actor=planning.leader)
    assert login(planning.agent).get(f"/planning/jobs/{job.pk}/").status_code == 403
    assert login(planning.director).get(f"/planning/jobs/{job.pk}/").status_code == 200
