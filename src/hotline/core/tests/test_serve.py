"""`hotline serve` as users run it: real server processes on a real socket."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hotline(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotline", *args], env=env, check=True, capture_output=True, text=True,
                          timeout=300, **kw)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A migrated SQLite installation with one agent and an API token."""
    data = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(HOTLINE_DATA_DIR=str(data), HOTLINE_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="hotline.settings")
    _hotline("migrate", "--verbosity", "0", env=env)
    script = (
        "from hotline.organisation.services import create_unit, create_user, create_service_area;"
        "c = create_unit(name='县中心', code='c', kind='center');"
        "create_unit(name='调度台', code='d', kind='dispatch_desk', parent=c);"
        "u = create_user(username='a1', password='pw-12345678', role='agent', unit=c)"
    )
    _hotline("shell", "-c", script, env=env)
    token = _hotline("token", "a1", "test", env=env).stdout.strip().split()[-1]
    return env, token


def _start(env: dict, *args: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "serve", "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # No server process outlives the command.
    out = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert out == []


def _request(port: int, method: str, path: str, token: str = "", body: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


@pytest.mark.skipif(not hasattr(os, "fork"), reason="pre-forked servers need fork()")
@pytest.mark.parametrize("server", ["gunicorn", "waitress"])
def test_serve_answers_pages_and_api_and_stops_cleanly(site, server):
    env, token = site
    proc, port = _start(env, "--server", server, "--processes", "2")
    try:
        status, body = _request(port, "GET", "/login/")
        assert status == 200 and "登录".encode() in body
        assert _request(port, "GET", "/api/orders")[0] == 401
        # Several creates, so that both processes answer some.
        numbers = set()
        for i in range(6):
            status, body = _request(port, "POST", "/api/orders", token, {
                "business_type": "inquiry", "sub_class": "bill", "description": f"电费咨询 {i}", "caller_phone": "13800138000"})
            assert status == 201, body
            numbers.add(json.loads(body)["number"])
        assert len(numbers) == 6
        status, body = _request(port, "GET", "/api/orders?limit=50", token)
        assert status == 200 and numbers <= {o["number"] for o in json.loads(body)["items"]}
    finally:
        _stop(proc)
