"""/api/docs works offline: every asset it loads is served by the installation (N1f)."""

import re

import pytest
from django.test import Client

from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.rule("N1f")
def test_api_docs_load_only_local_assets(world):
    c = Client()
    assert c.login(username=world.agent.username, password=PASSWORD)
    page = c.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
