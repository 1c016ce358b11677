"""The shell's template tags: the main navigation and the role names in the
top bar. Work-order display helpers are workorders_tags."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

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


@register.simple_tag(takes_context=True)
def shell_widgets(context) -> str:
    """The widgets the apps registered for this user and page (web.nav),
    each its app's template with its app's context."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if request is None or user is None:
        return ""
    match = getattr(request, "resolver_match", None)
    parts = []
    for widget in nav.widgets_for(user, match.view_name if match else None):
        extra = widget.context(request) if widget.context is not None else {}
        if extra is None:  # nothing to show this time
            continue
        parts.append(render_to_string(widget.template, extra, request=request))
    return mark_safe("".join(parts))
