import pytest
from django.core.cache import cache

from hotline.testing import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Login-failure counts live in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def login(client):
    """login(user) -> the test client, logged in as that user."""
    def _login(user):
        client.logout()
        assert client.login(username=user.username, password=PASSWORD)
        return client
    return _login
