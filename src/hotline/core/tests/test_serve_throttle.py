"""Login failures count across the web processes of one `hotline serve`."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from hotline.core.tests.test_serve import _start, _stop

pytestmark = pytest.mark.rule("N4n")


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


def test_the_failure_limit_holds_across_web_processes(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(HOTLINE_DATA_DIR=str(tmp_path), HOTLINE_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="hotline.settings")
    _hotline("migrate", "--verbosity", "0", env=env)
    _hotline("createcachetable", env=env)
    _hotline("shell", "-c", "from hotline.organisation.services import create_unit, create_user;"
             "c = create_unit(name='县中心', code='c', kind='center');"
             "create_user(username='a1', password='pw-12345678', role='agent', unit=c)", env=env)
    proc, port = _start(env, "--processes", "3")
    try:
        statuses = [_login(port, "a1", "wrong") for _ in range(5)]
        assert statuses == [200] * 5
        # Whichever process answers has seen all five failures.
        assert [_login(port, "a1", "pw-12345678") for _ in range(3)] == [429] * 3
    finally:
        _stop(proc)
