"""The planning pages in Debian's chromium (Chinese, the default): no script or CSP errors, and screenshots."""

import datetime as dt

import pytest

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
    from hotline.core import jobs

    assert jobs.run_next() is not None  # this test is the worker
    expect(page.locator("#standby-answer")).to_be_visible(timeout=15000)
    expect(page.locator("#whatif-result svg.chart")).to_have_count(2)
    expect(page.locator("#whatif-partial")).to_have_count(0)
    page.screenshot(path=f"{SHOTS}/planning-whatif.png", full_page=True)

    page.goto(f"{base}/planning/")
    page.screenshot(path=f"{SHOTS}/planning-home.png", full_page=True)
    # Solving a week in Chinese: the date field shows its value, and submits.
    assert page.input_value("#id_week_start") != ""
    page.fill("#id_week_start", WEEK.isoformat())
    page.click(".solve-form button[type=submit]")
    expect(page.locator("#job-status")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/planning-job.png", full_page=True)
    assert jobs.run_next() is not None  # this test is the worker
    newest = Schedule.objects.order_by("-id").first()
    expect(page).to_have_url(f"{base}/planning/schedules/{newest.pk}/", timeout=15000)
    page.goto(f"{base}/planning/schedules/{schedule.pk}/edit/")
    page.screenshot(path=f"{SHOTS}/planning-edit.png", full_page=False)
    assert page.problems == []
