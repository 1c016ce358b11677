"""The shell's template tags: the main navigation and the role names in the
top bar. Work-order display helpers are workorders_tags."""

from __future__ import annotations

from django import template

from hotline.organisation.models import Role
from hotline.web import nav

register = template.Library()

ROLES = dict(Role.choices)


@register.filter
def role_label(code: str) -> str:
    return str(ROLES.get(code, code))


@register.simple_tag(takes_context=True)
def main_nav(context) -> list[dict]:
    """The nav entries the user may see; the current page's marked active."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if user is None:
        return []
    match = getattr(request, "resolver_match", None)
    return nav.entries_for(user, match.view_name if match else None)
