"""Schema-driven fuzzing of the JSON API with schemathesis: every operation,
with each role's token and without one, answers no 5xx and nothing outside
the published OpenAPI (status, content type, body, headers).

Bounded and repeatable: a fixed number of examples per operation, each
with an identity drawn among them, derandomised (the same cases every
run). Calls go in-process
through the WSGI application into the test database.
``HOTLINE_FUZZ_EXAMPLES`` raises the count for a longer run (scripts/fuzz)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hotline.api import api

pytestmark = [pytest.mark.django_db]

EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "12"))  # per operation
IDENTITIES = ["anonymous", "agent", "leader", "director", "station", "admin"]


def _wsgi():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


# Every check runs. A request valid by the schema may still name a business
# type, a unit or an action that does not exist: the API refuses it with a
# documented 4xx (its body checked like any answer), so those count as
# handled for "valid data is accepted".
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]}}})
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"), config=CONFIG)
schema.app = _wsgi()


@pytest.fixture(scope="module")
def tokens(django_db_setup, django_db_blocker):
    """One world for every operation's test (building it is most of the
    time), rolled back at the end; each test runs in a savepoint inside."""
    from django.db import transaction
    from django.test import override_settings

    from hotline.organisation.services import issue_api_token
    from hotline.testing import build_world

    with django_db_blocker.unblock(), override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]), transaction.atomic():
        world = build_world()
        users = {"agent": world.agent, "leader": world.leader, "director": world.director,
                 "station": world.station_users[0], "admin": world.admin}
        yield {name: issue_api_token(user=user, name="fuzz")[1] for name, user in users.items()}
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # The per-token limit would turn most examples into 429s.
    settings.HOTLINE = {**settings.HOTLINE, "API_RATE": (0, 60), "PUBLIC_RATE": (0, 60)}


@pytest.fixture
def in_test_transaction():
    # The WSGI handler closes the connection at each request's end, which
    # would end the test's transaction; Django's test client does the same.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.rule("N3g")
@schema.parametrize()
@schema.given(identity=st.sampled_from(IDENTITIES))
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, identity, tokens, in_test_transaction):
    headers = {"Authorization": f"Bearer {tokens[identity]}"} if identity in tokens else {}
    case.call_and_validate(headers=headers)
