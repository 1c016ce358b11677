"""The daily operations report (C4c–C4e): yesterday's KPIs of the center,
each team and agent, with 7 days of trend, orders by type and state,
overdue orders and callbacks; flags against the targets; the page, xlsx
and PDF; the morning mail through the outbox, once per day and recipient."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from hotline.calls import services as calls
from hotline.calls.models import Call
from hotline.calls.tests.conftest import T0
from hotline.calls.tests.events import call
from hotline.core import periodic, policy
from hotline.core.models import OutboxMessage
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.reports import policies, selectors, services
from hotline.reports.models import Team
from hotline.reports.tests.conftest import act, complaint, inquiry, local, move_to
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db
WEDNESDAY = dt.date(2026, 11, 18)


def seconds_to(when: dt.datetime) -> float:
    return (when - T0).total_seconds()


@pytest.fixture
def day(world, frozen, http_source):
    """Tue 17: cb1 and cb2 complaints handled and reviewed at 10:00 (callbacks
    due Wed 10:00); two calls answered within 20 s. Wed 18: cb1 called back
    09:00; calls w1 (wait 5 s) and w2 (wait 30 s) answered, w3 abandoned; a
    complaint k from w1, an inquiry answered on the call from w2. Now Thu 19
    08:00: cb2 never called back; k's unit has not accepted it (due Wed 12:00)."""
    calls.ingest(http_source, call("t1", 0, answer=4, talk=60) + call("t2", 100, answer=6, talk=60, agent="1002")
                 + call("w1", seconds_to(local(18, 10)), answer=5, talk=100)
                 + call("w2", seconds_to(local(18, 10, 10)), answer=30, talk=80, agent="1002")
                 + call("w3", seconds_to(local(18, 10, 20)), abandon=12))
    cb = {name: complaint(world, customer=c) for name, c in (("cb1", "li"), ("cb2", "wang"))}
    move_to(frozen, local(17, 10))
    for order in cb.values():
        act(order, "receive", world.marketing_user)
        act(order, "reply", world.marketing_user)
        act(order, "review", world.agent)
    move_to(frozen, local(18, 9))
    act(cb["cb1"], "callback", world.agent, outcome="satisfied", note="客户满意")
    move_to(frozen, local(18, 10, 5))
    k = complaint(world, customer="zhang", contact_id=Call.objects.get(call_id="w1").contact_id)
    act(inquiry(world, actor=world.agent2, contact_id=Call.objects.get(call_id="w2").contact_id), "answer", world.agent2)
    team = Team.objects.create(center=world.center, name="甲班")
    team.members.add(world.agent)
    move_to(frozen, local(19, 8))
    return {**cb, "k": k, "team": team}


def metric(report, key):
    return next(m for m in report.center_metrics if m.key == key)


@pytest.mark.rule("C4c")
def test_daily_report_has_yesterdays_kpis_of_the_center_with_seven_days_of_trend(world, day):
    assert selectors.yesterday() == WEDNESDAY
    r = selectors.daily_report(world.center, WEDNESDAY)
    assert r.trend_days == [WEDNESDAY - dt.timedelta(days=n) for n in range(7, 0, -1)]
    assert (metric(r, "offered").value, metric(r, "answered").value) == (3, 2)
    assert metric(r, "answer_rate").value == pytest.approx(2 / 3)
    assert metric(r, "service_level").value == pytest.approx(1 / 3)  # w2 waited 30 s
    assert metric(r, "callback_rate").value == 0.5  # cb1 in limit, cb2 not
    assert metric(r, "orders_accepted").value == 2
    # the day before, in the trend: two calls, both within 20 s; nothing before that
    assert metric(r, "answer_rate").trend == [None] * 6 + [1.0]
    assert metric(r, "callback_rate").trend[-1] is None  # nothing was due on Tuesday
    assert metric(r, "orders_accepted").trend[-1] == 2


@pytest.mark.rule("C4c")
def test_daily_report_has_each_team_and_agent_orders_overdue_orders_and_callbacks(world, day):
    r = selectors.daily_report(world.center, WEDNESDAY)
    keys = selectors.PERSON_METRICS
    team = dict(zip(keys, [m.value for m in r.teams[0].metrics]))
    assert r.teams[0].name == "甲班" and team["answered"] == 1 and team["orders_accepted"] == 1
    agents = {row.name: dict(zip(keys, [m.value for m in row.metrics])) for row in r.agents}
    assert agents["1001 agent"]["answered"] == 1 and agents["1002 agent2"]["answered"] == 1
    assert agents["1002 agent2"]["orders_accepted"] == 1
    assert agents["1001 agent"]["complaints_per_answered_call"] == 1.0  # k came from w1
    assert agents["1001 agent"]["callback_rate"] == 0.5  # the agent owns cb1 and cb2
    # orders of the day by type and state
    cells = {t["name"]: dict(zip(r.state_labels, t["counts"])) for t in r.by_type}
    assert cells == {"投诉": {"已派单": 1, "已归档": 0}, "咨询": {"已派单": 0, "已归档": 1}}
    assert (r.state_totals, r.orders_total) == ([1, 1], 2)
    # overdue now: cb2's callback, k's acceptance by the unit
    assert r.overdue_count == 2 and {o["number"] for o in r.overdue} == {day["cb2"].number, day["k"].number}
    assert r.callbacks == {"due": 2, "kept": 1, "late": 0, "closed": 0, "waiting": 1, "rate": 0.5}
    assert [m["number"] for m in r.missed_callbacks] == [day["cb2"].number]


@pytest.mark.rule("C4d")
def test_every_metric_on_the_wrong_side_of_its_target_is_flagged(world, day):
    r = selectors.daily_report(world.center, WEDNESDAY)
    flagged = {m.key for m in r.flagged}
    # answer rate 66.67% < 95, service level 33.33% < 80, callbacks 50% < 100,
    # complaints per answered call 50% > 0.001%; omissions: the abandoned call is none of them
    assert {"answer_rate", "service_level", "callback_rate", "complaints_per_answered_call"} <= flagged
    assert "satisfaction" not in flagged  # no survey answered: empty, never flagged
    assert not metric(r, "answer_rate").trend_cells[-1]["flagged"]  # Tuesday's 100%
    assert metric(r, "callback_rate").target_text == "≥ 100%"


@pytest.mark.rule("C4d")
def test_targets_are_policy_settings_an_administrator_changes(world, day):
    from hotline.calls import wallboard

    policy.set_value(key=policies.TARGET + "callback_rate", value="50", user=world.admin)
    policy.set_value(key=wallboard.ANSWER_RATE_TARGET, value="60", user=world.admin)  # the wallboard's, shared
    r = selectors.daily_report(world.center, WEDNESDAY)
    assert not metric(r, "callback_rate").flagged and not metric(r, "answer_rate").flagged
    assert metric(r, "service_level").flagged
    policy.set_value(key=policies.TARGET + "callback_rate", value="50.5", user=world.admin)
    assert selectors.daily_report(world.center, WEDNESDAY, trend=False).center_metrics[
        selectors.CENTER_METRICS.index("callback_rate")].flagged


@pytest.mark.rule("C4e")
def test_the_report_is_a_page_and_downloads_as_xlsx_and_pdf(world, day, client):
    client.login(username=world.director.username, password=PASSWORD)
    page = client.get("/reports/daily/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "运营日报" in html and 'data-testid="flag-summary"' in html and day["cb2"].number in html
    xlsx = client.get(f"/reports/daily/xlsx/?center={world.center.pk}&day=2026-11-18")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["中心指标"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["接通率"][1] == "66.67%" and rows["接通率"][3] == "低于目标"
    assert "座席" in book.sheetnames and "超时工单（2）" in book.sheetnames
    pdf = client.get(f"/reports/daily/pdf/?center={world.center.pk}&day=2026-11-18")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf["Content-Type"] == "application/pdf"
    assert b"/STSong-Light" in pdf.content  # the Chinese text set in the built-in CID font
    # An agent may not; another center is not found
    client.login(username=world.agent.username, password=PASSWORD)
    assert client.get("/reports/daily/").status_code == 403


@pytest.mark.rule("C4e")
def test_the_report_is_mailed_each_morning_once_per_day_and_recipient(world, day, frozen):
    assert periodic.get("reports.daily").func is services.daily_task
    for user in (world.director, world.leader):
        user.email = f"{user.username}@example.cn"
        user.save(update_fields=["email"])
    org.create_user(username="t-leader-noaddress", password=PASSWORD, role=Role.SHIFT_LEADER, unit=world.center)
    move_to(frozen, local(19, 6, 59))
    assert services.send_due() == 0  # before the hour
    move_to(frozen, local(19, 7))
    assert services.send_due() == 2
    assert services.send_due() == 0  # again: nothing new
    messages = OutboxMessage.objects.filter(source=services.SOURCE).order_by("recipient")
    assert [m.recipient for m in messages] == ["t-director@example.cn", "t-leader@example.cn"]
    mail = messages[0]
    assert mail.channel == "email" and mail.dedup_key == f"reports:daily:{world.center.pk}:2026-11-18:t-director@example.cn"
    assert mail.payload["subject"] == "95598客服中心 运营日报 2026-11-18"
    assert "接通率：66.67%" in mail.payload["body"] and "▲" in mail.payload["html"]
    frozen.advance(days=1)
    assert services.send_due() == 2  # the next morning, the next day's
    policy.set_value(key=policies.DAILY_HOUR, value="24", user=world.admin)
    frozen.advance(days=1)
    assert services.send_due() == 0  # an administrator turned it off
