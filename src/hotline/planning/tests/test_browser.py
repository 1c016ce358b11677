"""The planning pages in Debian's chromium (Chinese, the default): the
planner's first hour (a week solved and a storm what-if run through the
pages, with the real worker loop), the coverage and what-if pages; no script
or CSP errors, and screenshots."""

import datetime as dt
import re

import pytest

from hotline.core import jobs
from hotline.core.models import Job
from hotline.planning import services
from hotline.planning.models import Queue, Schedule, ShiftTemplate
from hotline.planning.tests.conftest import WEEK
from hotline.testing import BROWSER_MARKS, PASSWORD, SCREENSHOTS

SHOTS = SCREENSHOTS
pytestmark = BROWSER_MARKS


def test_coverage_and_what_if_pages(page, live_server, planning):
    from playwright.sync_api import expect

    ShiftTemplate.objects.exclude(name__in=["D0600", "D0700", "D0800", "D1000", "E1400", "E1600", "N2200",
                                            "N2300"]).update(active=False)
    schedule = services.create_schedule(actor=planning.leader, week_start=WEEK, time_limit=10)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", planning.leader.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_load_state("load")

    page.goto(f"{base}/planning/schedules/{schedule.pk}/")
    expect(page.locator("svg.chart")).to_have_count(2)
    page.click(".daytabs a:nth-child(2)")  # htmx swaps the day
    expect(page).to_have_url(f"{base}/planning/schedules/{schedule.pk}/?day=1")
    expect(page.locator(".daytabs a.active")).to_contain_text("周二")
    page.screenshot(path=f"{SHOTS}/planning-coverage.png", full_page=True)

    repair = Queue.objects.get(code="repair")
    page.goto(f"{base}/planning/what-if/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert page.input_value("#id_day") != ""  # an ISO value: the date input shows it in Chinese
    page.select_option("#id_queue", str(repair.pk))
    page.fill("#id_day", WEEK.isoformat())
    page.fill("#id_start", "14:00")
    page.fill("#id_hours", "2")
    page.fill("#id_factor", "3")
    page.fill("#id_replications", "10")
    page.click(".whatif-form button[type=submit]")
    # queued for the worker: the page shows progress and polls
    expect(page.locator("#whatif-progress progress")).to_be_visible()
    job = Job.objects.get(kind="planning.storm_what_if")
    expect(page).to_have_url(f"{base}/planning/what-if/{job.pk}/")
    assert jobs.run_next() is not None  # this test is the worker
    expect(page.locator("#standby-answer")).to_be_visible(timeout=15000)
    expect(page.locator("#whatif-result svg.chart")).to_have_count(2)
    expect(page.locator("#whatif-partial")).to_have_count(0)
    page.screenshot(path=f"{SHOTS}/planning-whatif.png", full_page=True)

    page.goto(f"{base}/planning/schedules/{schedule.pk}/edit/")
    page.screenshot(path=f"{SHOTS}/planning-edit.png", full_page=False)
    assert page.problems == []


def _only_some_templates():
    # Fewer shift templates: the week solves in a second or two.
    ShiftTemplate.objects.exclude(name__in=["D0600", "D0800", "D1000", "E1400", "E1600", "N2200"]).update(active=False)


@pytest.mark.rule("N1g")
@pytest.mark.rule("W3a")
@pytest.mark.rule("W4e")
def test_planner_first_hour_solves_a_week_and_runs_a_storm_what_if(page, live_server, planning, settings):
    """The planner (a shift leader) in Chinese: from the board to planning,
    the week solved from the page's date field, its coverage by day; then a
    storm what-if that takes longer than its time budget: the page shows its
    progress while the worker simulates and, when the budget ends, what the
    simulation established. The worker is the real job loop of ``hotline
    worker``, in a thread."""
    from playwright.sync_api import expect

    from hotline.workorders.tests.test_browser import log_in

    _only_some_templates()
    # A storm of 8 hours, 5 times the calls, 100 replications: some 7 s of
    # simulation on this 2-core machine (an interval established every 0.7 s
    # or so), cut by a 5 s budget.
    settings.HOTLINE = {**settings.HOTLINE, "PLANNING_WHATIF_SECONDS": 5}
    base = live_server.url
    worker = jobs.JobThread(idle_seconds=0.2)
    worker.start()
    try:
        log_in(page, base, planning.leader)
        expect(page).to_have_url(f"{base}/board/")
        page.click("nav.mainnav a[data-nav=planning]")
        expect(page).to_have_url(f"{base}/planning/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator(".solve-form")).to_contain_text("周")
        assert page.input_value("#id_week_start") != ""  # an ISO value, shown by the date input
        page.fill("#id_week_start", WEEK.isoformat())
        page.locator(".solve-form button[type=submit]").press("Enter")
        expect(page).to_have_url(re.compile(r"/planning/jobs/\d+/$"))
        expect(page.locator("h1")).to_have_text("正在求解本周班次")
        # The worker solves it; the page moves on to the schedule by itself.
        expect(page).to_have_url(re.compile(r"/planning/schedules/\d+/$"), timeout=30_000)
        schedule = Schedule.objects.order_by("-id").first()
        assert schedule.week_start == WEEK and schedule.shifts.exists()
        expect(page.locator(".messages .msg-success")).to_contain_text("排班已求解")
        expect(page.locator("svg.chart")).to_have_count(2)
        page.click(".daytabs a:nth-child(3)")  # Wednesday, swapped in by htmx
        expect(page.locator(".daytabs a.active")).to_contain_text("周三")
        page.screenshot(path=f"{SHOTS}/walk-planner-schedule.png", full_page=True)

        page.click("nav.subnav a[href='/planning/what-if/']")
        expect(page).to_have_url(f"{base}/planning/what-if/")
        page.select_option("#id_queue", label="故障报修")
        page.fill("#id_day", WEEK.isoformat())
        page.fill("#id_start", "14:00")
        for name, value in (("hours", "8"), ("factor", "5"), ("replications", "100")):
            page.fill(f"#id_{name}", value)
        page.locator("#id_replications").press("Enter")
        expect(page).to_have_url(re.compile(r"/planning/what-if/\d+/$"))
        # Progress while the worker simulates: the intervals established (or,
        # at the end, the re-check), a bar that has moved, the budget's end.
        progress = page.locator("#whatif-progress")
        expect(progress).to_contain_text(re.compile(r"已确定 \d+ 个时段中 [1-9]\d* 个时段的备勤人数|正在用新的随机数复核服务水平"),
                                         timeout=20_000)
        expect(progress.locator("progress")).to_have_attribute("value", re.compile(r"^[1-9]\d*$"))
        expect(progress).to_contain_text(re.compile(r"时间预算 5 秒：最迟 \d\d:\d\d:\d\d 给出结果"))
        page.screenshot(path=f"{SHOTS}/walk-planner-whatif-progress.png", full_page=True)
        expect(page.locator("#standby-answer")).to_be_visible(timeout=30_000)
        job = Job.objects.get(kind="planning.storm_what_if")
        assert job.status == "done" and job.result["budget_seconds"] == 5
        if not job.result["complete"]:  # the budget ended first: it says what it established
            expect(page.locator("#whatif-partial")).to_contain_text("时间预算内")
        expect(page.locator("#whatif-result svg.chart")).to_have_count(2)
        expect(page.locator(".answer-text")).to_contain_text("名座席")
        page.screenshot(path=f"{SHOTS}/walk-planner-whatif.png", full_page=True)
    finally:
        worker.stopping.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert page.problems == []
