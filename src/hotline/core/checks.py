"""Refuse to run a production installation with the public development key."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core import checks

# Names that only this machine reaches; anything else means others can.
_LOCAL_HOSTS = {"localhost", ".localhost", "testserver"}


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or "*": reachable by whoever resolves it


def production_reasons(bind_host: str | None = None) -> list[str]:
    """Why this installation counts as production (empty: a local demo)."""
    reasons = []
    if getattr(settings, "HOTLINE_ENV", "") == "production":
        reasons.append("HOTLINE_ENV=production")
    public = [h for h in settings.ALLOWED_HOSTS if not is_loopback(h)]
    if public:
        reasons.append(f"HOTLINE_ALLOWED_HOSTS names {', '.join(public)}")
    if bind_host is not None and not is_loopback(bind_host):
        reasons.append(f"the web server binds {bind_host}")
    return reasons


def secret_key_problem(bind_host: str | None = None) -> str | None:
    if settings.SECRET_KEY != settings.DEVELOPMENT_SECRET_KEY:
        return None
    reasons = production_reasons(bind_host)
    if not reasons:
        return None
    return (f"HOTLINE_SECRET_KEY is not set, yet this installation runs in production ({'; '.join(reasons)}): "
            "sessions, CSRF tokens and password-reset links would be signed with the public development key. "
            "Set HOTLINE_SECRET_KEY to a long random value, e.g. the output of "
            "`python -c \"import secrets; print(secrets.token_urlsafe(50))\"`, the same for every web and "
            "worker process.")


@checks.register(checks.Tags.security)
def check_secret_key(app_configs, **kwargs):
    problem = secret_key_problem()
    return [checks.Error(problem, id="hotline.E001")] if problem else []
