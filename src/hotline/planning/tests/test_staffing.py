import datetime as dt

import numpy as np
import pytest

from hotline.planning import services
from hotline.planning.models import Queue
from hotline.planning.tests.conftest import PEAKS, WEEK, calls
from hotline.workforce import staffing

pytestmark = pytest.mark.django_db


def test_history_average_is_the_same_weekday_and_time(planning):
    repair = Queue.objects.get(code="repair")
    expected = services.history_average(queue=repair, week_start=WEEK, interval_minutes=30)
    assert expected.source == "history" and expected.weeks == 2
    pattern = [calls(PEAKS["repair"], m, d) for d in range(7) for m in range(0, 1440, 30)]
    np.testing.assert_allclose(expected.offered, pattern)
    np.testing.assert_allclose(expected.aht, 280.0)
    # hourly view of 30-minute statistics: two intervals summed
    hourly = services.history_average(queue=repair, week_start=WEEK, interval_minutes=60)
    np.testing.assert_allclose(hourly.offered, np.asarray(pattern).reshape(-1, 2).sum(axis=1))


def test_required_agents_match_the_workforce_staffing_function(planning):
    repair = Queue.objects.get(code="repair")
    services.save_target(queue=repair, service_level_pct=85, answer_seconds=15, shrinkage_pct=25, max_asa_seconds=30,
                         patience_seconds=None)
    req = services.required_for_week(queue=repair, week_start=WEEK, interval_minutes=30)
    exp = services.expected_calls(queue=repair, week_start=WEEK, interval_minutes=30)
    ref = staffing.required_agents_for_intervals(exp.offered, exp.aht, 1800, staffing.StaffingTargets(0.85, 15.0, max_asa=30.0),
                                                 shrinkage=0.25)
    np.testing.assert_array_equal(req.agents, ref.agents)
    np.testing.assert_array_equal(req.scheduled, ref.scheduled)
    assert req.agents.max() > 0 and (req.scheduled >= req.agents).all()
    # Erlang A when a patience is given: callers abandon, so never more agents than Erlang C
    services.save_target(queue=repair, service_level_pct=85, answer_seconds=15, shrinkage_pct=25, max_asa_seconds=None,
                         patience_seconds=120)
    req_a = services.required_for_week(queue=repair, week_start=WEEK, interval_minutes=30)
    ref_a = staffing.required_agents_for_intervals(exp.offered, exp.aht, 1800, staffing.StaffingTargets(0.85, 15.0),
                                                   model="erlang_a", patience=120.0, shrinkage=0.25)
    np.testing.assert_array_equal(req_a.agents, ref_a.agents)
    plain_c = staffing.required_agents_for_intervals(exp.offered, exp.aht, 1800, staffing.StaffingTargets(0.85, 15.0))
    assert (req_a.agents <= plain_c.agents).all()


def test_total_requirement_sums_the_queues(planning):
    total, _ = services.required_total(week_start=WEEK, interval_minutes=30, queue=None)
    parts = sum(services.required_for_week(queue=q, week_start=WEEK).scheduled for q in Queue.objects.all())
    np.testing.assert_array_equal(total, parts)


def test_extra_agents_now_uses_observed_calls(planning, frozen):
    from hotline.planning.models import IntervalStat
    from hotline.core import clock
    now = clock.localnow()
    repair = Queue.objects.get(code="repair")
    IntervalStat.objects.create(queue=repair, start=now - dt.timedelta(minutes=30), offered=120, answered=100,
                                aht_seconds=300, abandoned=20)
    answer = services.extra_agents_now()
    row = next(r for r in answer.rows if r.queue == repair)
    assert row.observed and row.offered == 120
    ref = staffing.extra_agents_now(120, 300, 0, target_sl=0.8, t_seconds=20.0, interval_minutes=30)
    assert row.required == ref["required_agents"]
    assert answer.scheduled is None and answer.extra is None  # no published schedule this week
