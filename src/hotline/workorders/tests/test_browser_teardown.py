"""A browser test's teardown does not cut off a request its page left
running in the live server.

The intake's duplicate check is sent by htmx on ``load`` and on changes; a
test may end, and its browser close, while the server still serves one. The
test database is flushed right after: the request had read the session and
the user, then read the user's unit from an empty database (in the access
policy: ``Unit.DoesNotExist`` raised while handling ``KeyError: 'unit'``,
which was the intermittent failure). ``close_browser`` (the ``page``
fixture's teardown) now waits for those requests."""

import threading
import time

from django.core.management import call_command
from django.core.signals import got_request_exception

from hotline import testing
from hotline.catalog import selectors as catalog_selectors
from hotline.workorders.tests.test_browser import log_in

pytestmark = testing.BROWSER_MARKS


def test_the_flush_after_a_browser_test_waits_for_the_request_its_page_left_running(live_server, world, monkeypatch):
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    testing.served_requests.connect()
    # A busy server: the duplicate check has loaded its user, then takes a
    # while before it reads the user's unit (the access policy, after the
    # business type).
    inside = threading.Event()
    business_type = catalog_selectors.business_type

    def slow_business_type(code):
        found = business_type(code)
        if threading.current_thread() is not threading.main_thread():
            inside.set()
            time.sleep(2.0)
        return found

    monkeypatch.setattr(catalog_selectors, "business_type", slow_business_type)
    errors = []

    def record(sender, request=None, **kwargs):
        import sys

        exc = sys.exc_info()[1]
        errors.append(f"{exc!r}, raised while handling {exc.__context__!r}")

    got_request_exception.connect(record, dispatch_uid="test-teardown-errors")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=testing.CHROMIUM, args=testing.BROWSER_ARGS)
            page = testing.browser_page(browser)
            log_in(page, live_server.url, world.agent)
            area = world.areas[next(iter(world.areas))]
            page.evaluate("url => { fetch(url); }", f"/intake/duplicates/?business_type=repair&service_area_id={area.pk}")
            assert inside.wait(10), "the duplicate check never reached the server"
            testing.close_browser(page)  # the page fixture's teardown
            # What the test database's teardown does next.
            call_command("flush", interactive=False, verbosity=0)
            assert testing.served_requests.wait_idle(10)
        connections.close_all()
    finally:
        got_request_exception.disconnect(dispatch_uid="test-teardown-errors")
    assert errors == []
