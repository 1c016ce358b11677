import re

import pytest
from django.test import Client

from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.testing import PASSWORD

LOOKUP = "/api/public/outages/lookup"
PROGRESS = "/api/public/orders/progress"


@pytest.fixture
def desk(world):
    """A dispatcher at the county's dispatch desk: publishes production outages county-wide."""
    return org.create_user(username="t-ss-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk,
                           display_name="调度员")


@pytest.fixture
def neighbour_t(world):
    """A transformer area beside 南街1号台区 (张伟's) in the same village."""
    return org.create_service_area(name="南街2号台区", code="t-ss-a0t2", level="transformer_area",
                                   unit=world.stations[0], parent=world.areas["v0"])


@pytest.fixture
def anonymous():
    """A caller who never logged in (the public lookups need no login)."""
    return Client()


def api(client: Client, path: str, body: dict | str, **extra):
    data = body if isinstance(body, str) else __import__("json").dumps(body)
    return client.post(path, data, content_type="application/json", **extra)


def result_html(response) -> str:
    """The answer part of the page (below the forms)."""
    html = response.content.decode()
    m = re.search(r'<section id="result".*?</section>', html, re.DOTALL)
    assert m, "no result section"
    return m.group(0)
