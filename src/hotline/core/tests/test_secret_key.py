"""A production installation refuses to start with the public development key."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.rule("N4m")

KEY = "a-long-random-production-key-0123456789-abcdefghijklmnop"


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "HOTLINE_SECRET_KEY", "HOTLINE_ENV", "HOTLINE_ALLOWED_HOSTS"}}
    env.update(HOTLINE_DATA_DIR=str(tmp_path), HOTLINE_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="hotline.settings")
    env.update(extra)
    return env


def _hotline(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotline", *args], env=env, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _refused(result: subprocess.CompletedProcess, reason: str) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Set HOTLINE_SECRET_KEY" in result.stderr and reason in result.stderr, result.stderr


def test_serve_on_a_public_address_without_a_key_refuses_to_start(tmp_path):
    result = _hotline("serve", "--host", "0.0.0.0", "--port", str(_free_port()), env=_env(tmp_path))
    _refused(result, "the web server binds 0.0.0.0")


def test_up_on_a_public_address_refuses_before_touching_the_database(tmp_path):
    result = _hotline("up", "--host", "0.0.0.0", "--port", str(_free_port()), env=_env(tmp_path))
    _refused(result, "the web server binds 0.0.0.0")
    assert not (tmp_path / "hotline.sqlite3").exists()


@pytest.mark.parametrize("extra, reason", [
    ({"HOTLINE_ENV": "production"}, "HOTLINE_ENV=production"),
    ({"HOTLINE_ALLOWED_HOSTS": "hotline.gd.sgcc.local"}, "HOTLINE_ALLOWED_HOSTS names hotline.gd.sgcc.local"),
])
def test_every_command_refuses_in_production_without_a_key(tmp_path, extra, reason):
    # The system check runs before migrate, worker, serve …; `check` shows it alone.
    _refused(_hotline("check", env=_env(tmp_path, **extra)), reason)
    _refused(_hotline("worker", "--max-seconds", "1", env=_env(tmp_path, **extra)), reason)
    assert _hotline("check", env=_env(tmp_path, HOTLINE_SECRET_KEY=KEY, **extra)).returncode == 0


def test_the_local_demo_needs_no_key(tmp_path):
    result = _hotline("check", env=_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_serve_on_a_public_address_with_a_key_starts(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "serve", "--host", "0.0.0.0", "--port", str(port),
                             "--processes", "1"], env=_env(tmp_path, HOTLINE_SECRET_KEY=KEY),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
