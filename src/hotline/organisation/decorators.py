"""View decorators on the user's role, for every app's pages (here, beside
the roles, so domain apps need not import another app's views)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def roles_required(*roles: str):
    """Logged in and of one of ``roles`` (administrators pass), else 403."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if request.user.role not in roles and not request.user.is_superuser:
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return wrapped
    return decorator
