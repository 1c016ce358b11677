"""``hotline reports kpi``: the call KPIs and the order KPIs of a period as
one JSON object (snake_case keys, fractions, null on empty denominators)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from hotline.calls import services as calls
from hotline.calls.tests.events import call
from hotline.reports import kpis
from hotline.reports.tests.conftest import act, complaint, local, move_to

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = StringIO()
    call_command("reports", "kpi", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.rule("C3k", "C3l", "C3s")
def test_reports_kpi_prints_call_and_order_kpis_as_one_json_object(world, other, frozen, http_source):
    calls.set_agent_identity(source=http_source, agent_ref="1001", user=world.agent)
    calls.ingest(http_source, call("c1", 0, answer=5, talk=100) + call("c2", 600, abandon=10))
    from hotline.calls.models import Call

    c = complaint(world, contact_id=Call.objects.get(call_id="c1").contact_id)
    complaint(other)
    move_to(frozen, local(23, 10))  # the reply was due Sun 22 09:00: missed
    act(c, "receive", world.marketing_user)
    act(c, "reply", world.marketing_user)
    data = run("--from", "2026-11-17", "--to", "2026-11-24", "--unit", world.center.code)
    # the call KPIs, as ``hotline calls kpi`` prints them
    assert (data["offered"], data["answered"], data["answer_rate"]) == (2, 1, 0.5)
    assert data["unit"] == world.center.code
    # every order KPI with its two counts; rates as fractions
    for key, (_fn, num, den) in kpis.ORDER_KPIS.items():
        assert key in data and num in data and den in data
    assert (data["complaints_due"], data["complaints_replied_in_limit"], data["complaint_timeliness"]) == (1, 0, 0.0)
    assert (data["answered_calls"], data["complaints_from_calls"], data["complaints_per_answered_call"]) == (1, 1, 1.0)
    assert data["complaints_per_million_customers"] == pytest.approx(1 / 3 * 1_000_000)
    assert data["callback_rate"] is None and data["callbacks_due"] == 0  # null, never 0
    everyone = run("--from", "2026-11-17", "--to", "2026-11-24")
    assert everyone["unit"] is None and everyone["complaints_due"] == 2


def test_reports_kpi_refuses_an_unknown_unit_and_a_bad_period(world):
    with pytest.raises(CommandError, match="no unit"):
        run("--from", "2026-11-17", "--to", "2026-11-18", "--unit", "nowhere")
    with pytest.raises(CommandError, match="--from/--to"):
        run("--from", "yesterday", "--to", "2026-11-18")
