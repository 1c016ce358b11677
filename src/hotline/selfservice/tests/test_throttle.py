"""D7i: the public lookups are limited per client address
(HOTLINE_PUBLIC_RATE, page and API together): over it, 429 with
Retry-After and a message in Chinese."""

import pytest

from hotline.selfservice.tests.conftest import LOOKUP, PROGRESS, api

pytestmark = [pytest.mark.django_db, pytest.mark.rule("D7i")]

BODY = {"kind": "account", "query": "t0001"}


@pytest.fixture
def three_a_minute(settings):
    settings.HOTLINE = {**settings.HOTLINE, "PUBLIC_RATE": (3, 60)}


def test_over_the_limit_the_api_answers_429_with_retry_after(world, frozen, anonymous, three_a_minute):
    assert [api(anonymous, LOOKUP, BODY).status_code for _ in range(3)] == [200] * 3
    r = api(anonymous, LOOKUP, BODY)
    assert r.status_code == 429 and r["Retry-After"] == "60"
    assert r.json()["detail"] == "查询过于频繁：每 60 秒最多 3 次。请在 60 秒后重试。"
    assert api(anonymous, PROGRESS, {"number": "GZ1", "phone_tail": "1"}).status_code == 429  # bad input counts too
    frozen.advance(seconds=45)
    assert api(anonymous, LOOKUP, BODY)["Retry-After"] == "15"
    frozen.advance(seconds=15)  # a new window
    assert api(anonymous, LOOKUP, BODY).status_code == 200


def test_the_page_and_the_api_share_the_clients_count(world, frozen, anonymous, three_a_minute):
    assert anonymous.post("/self-service/outages/", BODY).status_code == 200
    assert anonymous.post("/self-service/orders/", {"number": "GZ26111700001", "phone_tail": "1234"}).status_code == 200
    assert api(anonymous, LOOKUP, BODY).status_code == 200
    page = anonymous.post("/self-service/outages/", BODY)
    assert page.status_code == 429 and page["Retry-After"] == "60"
    html = page.content.decode()
    assert "查询过于频繁" in html and 'id="outage-answer"' not in html
    assert anonymous.get("/self-service/").status_code == 200  # the empty forms are not lookups


def test_each_client_address_has_its_own_count(world, frozen, anonymous, three_a_minute):
    for _ in range(3):
        api(anonymous, LOOKUP, BODY)
    assert api(anonymous, LOOKUP, BODY).status_code == 429
    assert api(anonymous, LOOKUP, BODY, REMOTE_ADDR="10.1.1.2").status_code == 200
    # A forwarded-for header from an untrusted peer is the client's to forge: it changes nothing.
    assert api(anonymous, LOOKUP, BODY, HTTP_X_FORWARDED_FOR="10.7.7.7").status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_counts_apart(world, frozen, anonymous, settings):
    settings.HOTLINE = {**settings.HOTLINE, "PUBLIC_RATE": (1, 60), "TRUSTED_PROXIES": ["10.0.0.0/24"]}
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    assert api(anonymous, LOOKUP, BODY, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 200
    assert api(anonymous, LOOKUP, BODY, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    assert api(anonymous, LOOKUP, BODY, HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy).status_code == 200


def test_zero_turns_the_limit_off(world, frozen, anonymous, settings):
    settings.HOTLINE = {**settings.HOTLINE, "PUBLIC_RATE": (0, 60)}
    assert {api(anonymous, LOOKUP, BODY).status_code for _ in range(40)} == {200}
