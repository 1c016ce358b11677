"""The main navigation and each role's home page, assembled from what the
apps register in their ``AppConfig.ready()``; the shell knows no domain app.

    nav.register("intake", _("Intake"), "workorders:intake", roles=CENTER_ROLES, order=10)
    nav.register_home("workorders:intake", roles=[Role.AGENT])

Widgets are what an app adds to every shell page of the users it names
(the agent desk's state bar and screen pop on the intake page and beside):
a template of the app's own and a function giving its context, rendered by
``base.html`` under the top bar.

    nav.register_widget("desk", "calls/desk/_widget.html", context=desk_context, check=takes_calls,
                        exclude=("calls:desk",))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class Entry:
    key: str
    label: str  # lazy translation, rendered in the request's language
    url_name: str
    roles: frozenset[str]
    order: int
    # View names that mark the entry current, besides its own; "planning:"
    # (a trailing colon) stands for every page of that namespace.
    active_for: tuple[str, ...] = ()
    # Replaces the role test (the admin link follows is_staff, not a role).
    check: Callable | None = None

    def visible_to(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if self.check is not None:
            return bool(self.check(user))
        return user.is_superuser or user.role in self.roles

    def is_active(self, view_name: str | None) -> bool:
        if not view_name:
            return False
        return any(view_name == name or (name.endswith(":") and view_name.startswith(name))
                   for name in (self.url_name, *self.active_for))


_entries: dict[str, Entry] = {}
_homes: dict[str, str] = {}


def register(key: str, label, url_name: str, roles: Iterable[str] = (), order: int = 100, *,
             active_for: Iterable[str] = (), check: Callable | None = None) -> None:
    """Add (or, for the same key, replace: ready() may run twice) an entry."""
    _entries[key] = Entry(key=key, label=label, url_name=url_name, roles=frozenset(roles), order=order,
                          active_for=tuple(active_for), check=check)


def register_home(url_name: str, roles: Iterable[str]) -> None:
    """The page ``/`` sends users of ``roles`` to."""
    for role in roles:
        _homes[role] = url_name


def entries() -> list[Entry]:
    return sorted(_entries.values(), key=lambda e: (e.order, e.key))


def entries_for(user, view_name: str | None = None) -> list[dict]:
    """The entries ``user`` may see, in order, each with its URL and whether
    it is the current page's."""
    return [{"key": e.key, "label": e.label, "url": reverse(e.url_name), "active": e.is_active(view_name)}
            for e in entries() if e.visible_to(user)]


def home_for(user) -> str | None:
    """URL name of the user's workspace; administrators without one get the admin."""
    target = _homes.get(user.role)
    if target is None and user.is_superuser:
        target = "admin:index"
    return target


# --- widgets ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Widget:
    key: str
    template: str
    context: Callable | None  # (request) -> dict, or None for the request's own context
    roles: frozenset[str]
    check: Callable | None  # (user) -> bool, instead of the roles
    order: int
    # View names (or "namespace:") where the widget is not shown: a page
    # that shows the same in its own content.
    exclude: tuple[str, ...] = ()

    def shown(self, user, view_name: str | None) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if view_name and any(view_name == n or (n.endswith(":") and view_name.startswith(n)) for n in self.exclude):
            return False
        if self.check is not None:
            return bool(self.check(user))
        return user.is_superuser or user.role in self.roles


_widgets: dict[str, Widget] = {}


def register_widget(key: str, template: str, *, context: Callable | None = None, roles: Iterable[str] = (),
                    check: Callable | None = None, order: int = 100, exclude: Iterable[str] = ()) -> None:
    """Add (or, for the same key, replace) a widget of every shell page."""
    _widgets[key] = Widget(key=key, template=template, context=context, roles=frozenset(roles), check=check,
                           order=order, exclude=tuple(exclude))


def widgets_for(user, view_name: str | None = None) -> list[Widget]:
    return [w for w in sorted(_widgets.values(), key=lambda w: (w.order, w.key)) if w.shown(user, view_name)]
