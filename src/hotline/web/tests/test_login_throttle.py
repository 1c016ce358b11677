"""Login throttling keyed on the account and the client address (N4n)."""

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import RequestFactory

from hotline.testing import PASSWORD
from hotline.web import throttle

pytestmark = [pytest.mark.django_db, pytest.mark.rule("N4n")]


def _post(client, username, password, ip="10.0.0.1", **headers):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def _ok(client, username, ip, **headers):
    response = _post(client, username, PASSWORD, ip, **headers)
    client.logout()
    return response.status_code == 302


def test_five_failures_lock_the_account_at_that_address_only(world, client):
    user = world.agent.username
    for _ in range(5):
        assert _post(client, user, "wrong").status_code == 200
    response = _post(client, user, PASSWORD)
    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # A refused attempt never reaches the password check.
    checked = []
    user_login_failed.connect(lambda **kw: checked.append(kw), weak=False, dispatch_uid="throttle-test")
    try:
        assert _post(client, user, "wrong-again").status_code == 429
    finally:
        user_login_failed.disconnect(dispatch_uid="throttle-test")
    assert checked == []
    # Whoever mistyped at one desk cannot lock the account out of the others,
    assert _ok(client, user, "10.0.0.2")
    # nor lock that desk's other users out.
    assert _ok(client, world.agent2.username, "10.0.0.1")


def test_password_spraying_from_one_address_hits_the_address_ceiling(world, client, settings):
    limit = settings.HOTLINE["LOGIN_ADDRESS_LIMIT"]
    for i in range(limit - 1):
        _post(client, f"staff{i:03}", "123456", ip="10.9.9.9")
    # A shared NAT address with some typos still lets its users in …
    assert _ok(client, world.agent.username, "10.9.9.9")
    _post(client, "staff999", "123456", ip="10.9.9.9")
    # … until it has failed on as many accounts as the ceiling allows.
    assert _post(client, world.agent2.username, PASSWORD, ip="10.9.9.9").status_code == 429
    assert _ok(client, world.agent2.username, "10.9.9.8")


def test_a_distributed_guess_at_one_account_hits_the_account_ceiling(world, client, settings):
    user, per_pair = world.agent.username, settings.HOTLINE["LOGIN_FAILURE_LIMIT"]
    limit = settings.HOTLINE["LOGIN_ACCOUNT_LIMIT"]
    assert limit > per_pair  # one address alone can never lock the account out
    ips = [f"10.5.{n // per_pair}.{n % per_pair}" for n in range(limit)]
    for ip in ips[:-1]:
        _post(client, user, "wrong", ip=ip)
    assert _ok(client, user, "10.6.0.1")
    _post(client, user, "wrong", ip=ips[-1])
    assert _post(client, user, PASSWORD, ip="10.6.0.2").status_code == 429
    assert _ok(client, world.agent2.username, "10.6.0.2")


def test_a_good_login_resets_only_its_own_pair(world, client):
    user = world.agent.username
    for _ in range(4):
        _post(client, user, "wrong")
    assert _ok(client, user, "10.0.0.1")
    for _ in range(4):
        _post(client, user, "wrong")
    assert _ok(client, user, "10.0.0.1")  # 4 + 4 never reached 5
    _post(client, user, "wrong")
    for _ in range(4):
        _post(client, user, "wrong")
    assert _post(client, user, PASSWORD).status_code == 429


@pytest.mark.parametrize("remote, forwarded, proxies, client_ip", [
    ("203.0.113.7", "", [], "203.0.113.7"),
    # Not from a trusted proxy: the header is the client's to forge.
    ("203.0.113.7", "10.1.1.1", [], "203.0.113.7"),
    ("203.0.113.7", "10.1.1.1", ["10.0.0.0/30"], "203.0.113.7"),
    # From the proxy: the right-most hop it did not write itself.
    ("10.0.0.1", "172.16.5.5", ["10.0.0.0/30"], "172.16.5.5"),
    ("10.0.0.1", "6.6.6.6, 172.16.5.5", ["10.0.0.0/30"], "172.16.5.5"),
    ("10.0.0.1", "6.6.6.6, 172.16.5.5, 10.0.0.2", ["10.0.0.1", "10.0.0.2"], "172.16.5.5"),
    ("10.0.0.1", "garbage, 10.0.0.2", ["10.0.0.0/30"], "10.0.0.2"),
    ("10.0.0.1", "", ["10.0.0.0/30"], "10.0.0.1"),
    ("fd00::1", "2001:db8::5", ["fd00::/64"], "2001:db8::5"),
])
def test_client_address_trusts_forwarded_for_only_from_configured_proxies(settings, remote, forwarded, proxies,
                                                                          client_ip):
    settings.HOTLINE = {**settings.HOTLINE, "TRUSTED_PROXIES": proxies}
    request = RequestFactory().post("/login/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert throttle.client_address(request) == client_ip


def test_behind_a_trusted_proxy_each_client_counts_on_its_own(world, client, settings):
    settings.HOTLINE = {**settings.HOTLINE, "TRUSTED_PROXIES": ["10.0.0.1"]}
    user = world.agent.username
    for _ in range(5):
        _post(client, user, "wrong", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="172.16.0.9")
    assert _post(client, user, PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="172.16.0.9").status_code == 429
    # Forging the header in front of the proxy does not escape the lock …
    assert _post(client, user, PASSWORD, ip="10.0.0.1",
                 HTTP_X_FORWARDED_FOR="172.16.0.10, 172.16.0.9").status_code == 429
    # … and the other desks behind the same proxy are not locked out.
    assert _ok(client, user, "10.0.0.1", HTTP_X_FORWARDED_FOR="172.16.0.10")


def test_without_a_trusted_proxy_a_forged_header_changes_nothing(world, client):
    user = world.agent.username
    for i in range(5):
        _post(client, user, "wrong", ip="10.7.0.1", HTTP_X_FORWARDED_FOR=f"172.16.1.{i}")
    assert _post(client, user, PASSWORD, ip="10.7.0.1", HTTP_X_FORWARDED_FOR="172.16.1.99").status_code == 429


def test_the_lock_is_timed(world, client):
    from django.core.cache import cache

    user = world.agent.username
    for _ in range(5):
        _post(client, user, "wrong")
    assert _post(client, user, PASSWORD).status_code == 429
    pair = throttle.keys(RequestFactory().post("/", REMOTE_ADDR="10.0.0.1"), user)[0]
    assert cache.get(pair.key + ":locked")
    cache.delete(pair.key + ":locked")  # what the lock's 15-minute expiry does
    assert _ok(client, user, "10.0.0.1")
