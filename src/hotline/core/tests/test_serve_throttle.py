"""Login failures and API requests count across the web processes of one `hotline serve`."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
import urllib.parse

import pytest

from hotline.core.tests.test_serve import _start, _stop



def _hotline(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "hotline", *args], env=env, check=True, capture_output=True, timeout=300)


def _login(port: int, username: str, password: str) -> int:
    # A fresh connection each time: the kernel hands it to whichever process accepts.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login/")
    resp = conn.getresponse()
    html = resp.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", resp.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    conn.request("POST", "/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}"})
    status = conn.getresponse().status
    conn.close()
    return status


def _api(port: int, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/orders", headers={"Authorization": f"Bearer {token}"})
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.mark.rule("N4n")
@pytest.mark.rule("N4i")
def test_login_and_api_limits_hold_across_web_processes(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(HOTLINE_DATA_DIR=str(tmp_path), HOTLINE_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="hotline.settings",
               HOTLINE_API_RATE="6/hour")
    _hotline("migrate", "--verbosity", "0", env=env)
    _hotline("createcachetable", env=env)
    _hotline("shell", "-c", "from hotline.organisation.services import create_unit, create_user;"
             "c = create_unit(name='县中心', code='c', kind='center');"
             "create_user(username='a1', password='pw-12345678', role='agent', unit=c)", env=env)
    token = subprocess.run([sys.executable, "-m", "hotline", "token", "a1", "t"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip().split()[-1]
    proc, port = _start(env, "--processes", "3")
    try:
        statuses = [_login(port, "a1", "wrong") for _ in range(5)]
        assert statuses == [200] * 5
        # Whichever process answers has seen all five failures.
        assert [_login(port, "a1", "pw-12345678") for _ in range(3)] == [429] * 3
        if (left := 3600 - time.time() % 3600) < 30:
            time.sleep(left + 1)  # all eight requests in one hourly window
        assert [_api(port, token) for _ in range(8)] == [200] * 6 + [429] * 2
    finally:
        _stop(proc)
