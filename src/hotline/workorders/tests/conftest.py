import pytest

from hotline.testing import PASSWORD


@pytest.fixture
def english(client):
    """Pages in English for this test's client (survives login())."""
    client.hotline_language = "en"


@pytest.fixture
def login(client):
    """login(user) -> the test client, logged in as that user."""
    def _login(user):
        client.logout()
        assert client.login(username=user.username, password=PASSWORD)
        if getattr(client, "hotline_language", None):
            client.cookies["django_language"] = client.hotline_language
        return client
    return _login
