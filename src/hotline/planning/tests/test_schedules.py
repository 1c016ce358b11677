import datetime as dt

import numpy as np
import pytest

from hotline.core import jobs
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.planning import selectors, services
from hotline.planning.models import Schedule, ScheduleAssignment, ScheduleShift, ScheduleStatus, ShiftTemplate
from hotline.planning.tests.conftest import WEEK
from hotline.testing import PASSWORD
from hotline.workforce import scheduling

pytestmark = pytest.mark.django_db

FEW = ["D0600", "D0700", "D0800", "D1000", "E1400", "E1600", "N2200", "N2300"]


@pytest.fixture
def few_templates(planning):
    ShiftTemplate.objects.exclude(name__in=FEW).update(active=False)
    return planning


def test_solve_and_store_a_week(few_templates, login):
    schedule = services.create_schedule(actor=few_templates.leader, week_start=WEEK + dt.timedelta(days=3),
                                        time_limit=10)
    assert schedule.week_start == WEEK  # any day of the week means that week
    assert schedule.status == ScheduleStatus.DRAFT and schedule.created_by == few_templates.leader
    assert schedule.solver_status and schedule.mip_gap is not None and schedule.agents_needed > 0
    assert set(ScheduleShift.objects.filter(schedule=schedule).values_list("template__name", flat=True)) <= set(FEW)
    # stored requirement = the sum of the queues' requirements, and the stored counts cover it
    total, _ = services.required_total(week_start=WEEK, interval_minutes=30, queue=None)
    assert schedule.required == total.tolist()
    cov = selectors.coverage(schedule)
    assert cov.under_intervals == 0 and (cov.scheduled >= cov.required).all()
    # the same coverage as the workforce package computes from the counts
    week = services.workforce_schedule(schedule)
    matrix = scheduling.coverage_matrix(week.templates, 30)
    np.testing.assert_array_equal(cov.scheduled, matrix @ week.counts.ravel())
    # pages
    client = login(few_templates.leader)
    page = client.get(f"/planning/schedules/{schedule.pk}/?day=2")
    assert page.status_code == 200 and b"<svg" in page.content and b"tone-over" in page.content
    part = client.get(f"/planning/schedules/{schedule.pk}/?day=3", HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and b"<html" not in part.content and b"<svg" in part.content
    assert client.get(f"/planning/schedules/{schedule.pk}/edit/").status_code == 200


def _small_schedule(user) -> Schedule:
    schedule = Schedule.objects.create(week_start=WEEK, interval_minutes=30, created_by=user,
                                       required=[0] * 336, solver_status="test")
    day, evening = ShiftTemplate.objects.get(name="D0800"), ShiftTemplate.objects.get(name="E1500")
    for d in range(5):
        ScheduleShift.objects.create(schedule=schedule, template=day, day=d, count=2)
    for d in range(7):
        ScheduleShift.objects.create(schedule=schedule, template=evening, day=d, count=1)
    return schedule


def test_hand_edit_changes_coverage_and_clears_roster(planning, login):
    schedule = _small_schedule(planning.leader)
    day = ShiftTemplate.objects.get(name="D0800")
    before = selectors.coverage(schedule).scheduled.copy()
    response = login(planning.leader).post(f"/planning/schedules/{schedule.pk}/edit/", {f"c-{day.pk}-0": "5"})
    assert response.status_code == 302
    after = selectors.coverage(schedule).scheduled
    assert after[16] == before[16] + 3  # Monday 08:00
    assert ScheduleShift.objects.get(schedule=schedule, template=day, day=0).count == 5
    bad = login(planning.leader).post(f"/planning/schedules/{schedule.pk}/edit/", {f"c-{day.pk}-0": "-2"})
    assert bad.status_code == 400
    assert ScheduleShift.objects.get(schedule=schedule, template=day, day=0).count == 5


def test_assignment_respects_one_shift_per_agent_per_day(planning, login):
    for i in range(4):
        org.create_user(username=f"extra{i}", password=PASSWORD, role=Role.AGENT, unit=planning.center,
                        display_name=f"坐席{i}", agent_number=f"20{i}")
    schedule = _small_schedule(planning.leader)
    response = login(planning.leader).post(f"/planning/schedules/{schedule.pk}/assign/")
    assert response.status_code == 302 and response.url.startswith("/planning/jobs/")
    jobs.run_next()  # the worker's part
    rows = list(ScheduleAssignment.objects.filter(schedule=schedule))
    assert len(rows) == 2 * 5 + 7  # every slot filled
    assert all(r.agent.role == Role.AGENT for r in rows)
    per_day = {}
    for r in rows:
        per_day.setdefault((r.agent_id, r.day), []).append(r)
    assert all(len(v) == 1 for v in per_day.values())
    per_agent = {}
    for r in rows:
        per_agent[r.agent_id] = per_agent.get(r.agent_id, 0) + 1
    assert max(per_agent.values()) <= 5
    # filled per (day, template) exactly as the counts say
    for s in schedule.shifts.all():
        assert sum(1 for r in rows if r.day == s.day and r.template_id == s.template_id) == s.count
    page = login(planning.leader).get(f"/planning/schedules/{schedule.pk}/edit/")
    assert "坐席0" in page.content.decode()


def test_too_few_agents_is_refused(planning):
    schedule = _small_schedule(planning.leader)  # 17 shifts; the world has 2 agents
    with pytest.raises(services.PlanningError, match="Not enough agents"):
        services.assign_schedule_agents(schedule=schedule, actor=planning.leader)
    assert not ScheduleAssignment.objects.exists()


def test_publish_makes_the_schedule_read_only(planning, login, frozen):
    schedule = _small_schedule(planning.leader)
    day = ShiftTemplate.objects.get(name="D0800")
    client = login(planning.director)
    assert client.post(f"/planning/schedules/{schedule.pk}/publish/").status_code == 302
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.PUBLISHED and schedule.published_by == planning.director
    assert schedule.published_at is not None
    with pytest.raises(services.PlanningError):
        services.set_shift_counts(schedule=schedule, counts={(day.pk, 0): 9}, actor=planning.leader)
    with pytest.raises(services.PlanningError):
        services.resolve_schedule(schedule=schedule, actor=planning.leader)
    with pytest.raises(services.PlanningError):
        services.assign_schedule_agents(schedule=schedule, actor=planning.leader)
    with pytest.raises(services.PlanningError):
        services.publish_schedule(schedule=schedule, actor=planning.leader)
    response = client.post(f"/planning/schedules/{schedule.pk}/edit/", {f"c-{day.pk}-0": "9"})
    assert response.status_code == 400
    assert ScheduleShift.objects.get(schedule=schedule, template=day, day=0).count == 2
    page = client.get(f"/planning/schedules/{schedule.pk}/edit/").content.decode()
    assert 'type="number"' not in page  # no inputs on a published schedule


def test_published_schedule_feeds_extra_agents_now(planning, frozen):
    # the frozen clock is Tuesday 2026-11-17 09:00; publish that week with 3 agents on D0800
    schedule = Schedule.objects.create(week_start=dt.date(2026, 11, 16), interval_minutes=30, required=[0] * 336)
    ScheduleShift.objects.create(schedule=schedule, template=ShiftTemplate.objects.get(name="D0800"), day=1, count=3)
    services.publish_schedule(schedule=schedule, actor=planning.leader)
    answer = services.extra_agents_now()
    assert answer.scheduled == 3
    assert answer.extra == max(answer.required - 3, 0)
