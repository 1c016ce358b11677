"""The JSON API: 401 for missing credentials, CSRF for sessions, a rate limit per token."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from hotline.organisation.services import issue_api_token
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counts live in the shared cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


def _post(c, url="/api/orders", body=None, **headers):
    return c.post(url, data=json.dumps(body or {}), content_type="application/json", headers=headers)


def _session(user, language=None) -> Client:
    c = Client(enforce_csrf_checks=True)
    assert c.login(username=user.username, password=PASSWORD)
    if language:
        c.cookies["django_language"] = language
    return c


@pytest.mark.rule("N4g")
def test_no_credentials_is_401_with_a_clear_message_not_a_csrf_complaint(world):
    r = _post(Client(enforce_csrf_checks=True))
    assert r.status_code == 401
    assert r.json()["detail"] == "需要身份认证：请在请求头发送 Authorization: Bearer <令牌>，或先登录。"
    assert r["WWW-Authenticate"].startswith("Bearer")
    english = Client(enforce_csrf_checks=True)
    english.cookies["django_language"] = "en"
    assert _post(english).json()["detail"] == "Authentication required: send Authorization: Bearer <token> or log in."
    assert Client().get("/api/orders").status_code == 401


@pytest.mark.rule("N4g")
def test_a_wrong_token_is_401_saying_the_token_is_not_valid(world):
    for headers in ({"Authorization": "Bearer not-a-token"}, {"X-Api-Token": "not-a-token"}):
        r = _post(Client(enforce_csrf_checks=True), **headers)
        assert r.status_code == 401 and "令牌无效" in r.json()["detail"], headers


@pytest.mark.rule("N4j")
def test_a_session_still_needs_its_csrf_token_for_unsafe_requests(world):
    c = _session(world.agent)
    r = _post(c)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert c.get("/api/orders").status_code == 200  # safe methods need none
    c.get("/intake/")  # sets the CSRF cookie, as the pages do
    r = _post(c, **{"X-CSRFToken": c.cookies["csrftoken"].value})
    assert r.status_code == 422  # past authentication and CSRF: the empty body is refused
    # A bearer token is not a cookie: no CSRF token needed.
    _token, key = issue_api_token(user=world.agent, name="t")
    assert _post(Client(enforce_csrf_checks=True), Authorization=f"Bearer {key}").status_code == 422


def _get(c, **headers):
    return c.get("/api/orders", headers=headers)


@pytest.mark.rule("N4i")
def test_each_token_has_its_own_rate_limit_answered_with_429_and_retry_after(world, frozen, settings):
    settings.HOTLINE = {**settings.HOTLINE, "API_RATE": (3, 60)}
    _t1, first = issue_api_token(user=world.agent, name="first")
    _t2, second = issue_api_token(user=world.agent, name="second")
    c = Client()
    assert [_get(c, Authorization=f"Bearer {first}").status_code for _ in range(3)] == [200] * 3
    r = _get(c, Authorization=f"Bearer {first}")
    assert r.status_code == 429 and r["Retry-After"] == "60"
    assert r.json()["detail"] == "请求过于频繁：每 60 秒最多 3 次。请在 60 秒后重试。"
    # The same user's other token, and the header form of it, count apart.
    assert _get(c, Authorization=f"Bearer {second}").status_code == 200
    assert _get(c, **{"X-Api-Token": second}).status_code == 200
    assert _get(c, **{"X-Api-Token": first}).status_code == 429

    frozen.advance(seconds=45)
    r = _get(c, Authorization=f"Bearer {first}")
    assert r.status_code == 429 and r["Retry-After"] == "15"
    frozen.advance(seconds=15)  # a new window
    assert _get(c, Authorization=f"Bearer {first}").status_code == 200


@pytest.mark.rule("N4i")
def test_session_users_are_limited_per_user_in_their_language(world, frozen, settings):
    settings.HOTLINE = {**settings.HOTLINE, "API_RATE": (2, 60)}
    agent = _session(world.agent, language="en")
    assert [_get(agent).status_code for _ in range(2)] == [200, 200]
    r = _get(agent)
    assert r.status_code == 429
    assert r.json()["detail"] == "Too many requests: at most 2 in 60 seconds. Try again in 60 seconds."
    # Another browser of the same user shares the count; another user does not.
    assert _get(_session(world.agent)).status_code == 429
    assert _get(_session(world.agent2)).status_code == 200


def test_the_default_rate_is_generous_and_zero_turns_it_off(world, settings):
    from hotline.settings import _api_rate

    assert _api_rate("600/minute") == (600, 60) and _api_rate("50/second") == (50, 1) and _api_rate("0") == (0, 60)
    settings.HOTLINE = {**settings.HOTLINE, "API_RATE": (0, 60)}
    _t, key = issue_api_token(user=world.agent, name="t")
    assert all(_get(Client(), Authorization=f"Bearer {key}").status_code == 200 for _ in range(5))
