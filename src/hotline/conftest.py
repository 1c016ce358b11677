import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.core import clock


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, a test database in a file of this run's own, not in memory.

    Django's in-memory test database is one shared-cache connection pool:
    SQLite locks its tables per connection and answers a second writer
    "database table is locked" at once, without the busy timeout or the
    IMMEDIATE transactions that queue writers on a real file. Tests whose
    threads write (job threads, the worker loop) then fail now and then."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    test = db.setdefault("TEST", {})
    if db["ENGINE"] == "django.db.backends.sqlite3" and not test.get("NAME"):
        test["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and before it is dropped, on
    PostgreSQL: any session still connected to it — a worker process or a
    thread a test left behind — is named on stderr (so the leak can be
    found) and ended, so that DROP DATABASE does not fail the whole run."""
    yield
    import sys

    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid, application_name, state, backend_start, left(query, 300) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            for pid, app, state, started, query in cursor.fetchall():
                print(f"\nleft connected to the test database at the end: pid {pid} ({app or 'no name'}, {state}, "
                      f"since {started:%H:%M:%S}), last query: {query}", file=sys.stderr)
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def world(db):
    from hotline.testing import build_world

    return build_world()


@pytest.fixture
def frozen():
    """A frozen clock at a fixed Tuesday morning; tests call .advance()."""
    with clock.frozen(dt.datetime(2026, 11, 17, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))) as c:
        yield c


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Real hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    # Tests create and edit configuration freely; no entry may outlive a test.
    from hotline.core import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    # The locale middleware activates each request's language in this thread
    # and nothing deactivates it: after a test that requested an English page,
    # a service's message in the next test came out in English. Every test
    # starts, and leaves, in the default language (zh-hans).
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def page(monkeypatch):
    """A Playwright page in Debian's chromium; script errors and CSP refusals
    collect in ``page.problems``."""
    from hotline import testing

    playwright_api = pytest.importorskip("playwright.sync_api")
    testing.served_requests.connect()
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the test makes between steps are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=testing.CHROMIUM, args=testing.BROWSER_ARGS)
        playwright_api.expect.set_options(timeout=15_000)
        page = testing.browser_page(browser)
        yield page
        # The flush after this test must not overlap a request the page left
        # running in the live server (close_browser waits for those).
        testing.close_browser(page)
        # While Playwright's event loop runs, Django keeps this thread's ORM
        # connections apart (asgiref's Local turns context-local), where the
        # test database teardown never sees them: close them here, or the
        # PostgreSQL test database cannot be dropped.
        from django.db import connections

        connections.close_all()
