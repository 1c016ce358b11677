"""The monthly center score out of 100 (C4g): configurable items and
deductions, earned against the daily report's targets."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command

from hotline.calls import services as calls
from hotline.calls.tests.events import call
from hotline.reports import scoring
from hotline.reports.models import ScoreDeduction, ScoreItem, ScoreMethod
from hotline.reports.tests.conftest import local, move_to
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db
NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def month(world, frozen, http_source):
    """November: 4 calls offered, 3 answered (waits 5, 10, 30 s; rings 2,
    2, 12 s: one over the 9 s / 3 rings limit), none gave an order; 1
    abandoned. Nothing else: no callback, complaint, outage fell due."""
    calls.ingest(http_source, call("n1", 0, answer=5, ring=2, talk=60) + call("n2", 300, answer=10, ring=2, talk=60)
                 + call("n3", 600, answer=30, ring=12, talk=60) + call("n4", 900, abandon=40))
    move_to(frozen, local(30, 20))


def item(s, metric):
    return next(i for i in s.items if i.metric == metric)


@pytest.mark.rule("C4g")
def test_the_default_score_earns_each_metric_against_its_target_minus_deductions(world, month):
    s = scoring.monthly_score(world.center, NOVEMBER)
    assert sum(i.points for i in s.items) == 100
    assert item(s, "answer_rate").earned == pytest.approx(15 * 75 / 95, abs=0.01)  # 3 of 4 against 95%
    assert item(s, "service_level").earned == pytest.approx(10 * 50 / 80, abs=0.01)  # 2 of 4 within 20 s against 80%
    assert item(s, "ring_pass_rate").earned == pytest.approx(10 * 2 / 3, abs=0.01)
    for nothing_to_count in ("callback_rate", "complaint_timeliness", "supervision_rate", "work_order_correctness",
                             "outage_publication_timeliness", "satisfaction"):
        assert item(s, nothing_to_count).earned == 10
    # all 3 answered calls gave no order: 100% omissions against at most 0.001%
    assert item(s, "omission_rate").earned == pytest.approx(5 * 0.001 / 100, abs=0.01)
    assert [(d.event, d.count, d.deducted) for d in s.deductions] == [("ring_over_limit", 1, 2.0)]  # −2 each [000]
    expected = 15 * 75 / 95 + 10 * 50 / 80 + 10 * 2 / 3 + 60 - 2
    assert s.total == pytest.approx(expected, abs=0.03)
    # December: nothing counted, nothing missed
    assert scoring.monthly_score(world.center, dt.date(2026, 12, 1)).total == 100


@pytest.mark.rule("C4g")
def test_items_and_deductions_are_an_administrators(world, month):
    ScoreItem.objects.create(metric="answer_rate", points=50, method=ScoreMethod.THRESHOLD)
    ScoreItem.objects.create(metric="callback_rate", points=30)
    ScoreItem.objects.create(metric="satisfaction", points=20, active=False)
    ScoreDeduction.objects.create(event="ring_over_limit", points_each=5, cap=3)
    ScoreDeduction.objects.create(event="omission", points_each=1, cap=10)
    s = scoring.monthly_score(world.center, NOVEMBER)
    # 80 points scaled to 100: answer rate 62.5 (threshold: 75% < 95%, none), callbacks 37.5 (none due: all)
    assert [(i.metric, i.points, i.earned) for i in s.items] == [("answer_rate", 62.5, 0.0), ("callback_rate", 37.5, 37.5)]
    assert [(d.event, d.count, d.deducted) for d in s.deductions] == [("ring_over_limit", 1, 3.0), ("omission", 3, 3.0)]
    assert s.total == 31.5
    ScoreDeduction.objects.create(event="callback_missed", points_each=50, cap=100)
    assert scoring.monthly_score(world.center, NOVEMBER).total == 31.5  # no callback was missed


@pytest.mark.rule("C4g")
def test_the_score_is_a_page_and_a_command(world, month, client):
    client.login(username=world.director.username, password=PASSWORD)
    page = client.get(f"/reports/score/?center={world.center.pk}&month=2026-11")
    assert page.status_code == 200 and "2026-11" in page.content.decode()
    out = StringIO()
    call_command("reports", "score", "--month", "2026-11", "--unit", world.center.code, "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["score"] == scoring.monthly_score(world.center, NOVEMBER).total
    assert data["deductions"][0] == {"event": "ring_over_limit", "count": 1, "points_each": 2.0, "cap": 20.0,
                                     "deducted": 2.0}
