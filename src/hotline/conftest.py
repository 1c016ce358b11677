import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.core import clock


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
