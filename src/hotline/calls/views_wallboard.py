"""The wallboard pages (C4a, C4b): a chooser in the shell's navigation and,
per center and per queue, a full-screen board for a big screen or a TV
browser that follows the center without a reload.

- ``/calls/wallboard/`` — the centers and queues the user may put on a
  screen (shift leaders, directors, administrators);
- ``/calls/wallboard/<center>/[?queue=<queue>]`` — the full-screen board;
- ``/calls/wallboard/<center>/live/[?queue=<queue>]`` — its live part, an
  HTML fragment htmx fetches every second and swaps in (a handful of small
  queries, ``wallboard.board``). A fetch whose log-in lapsed or whose role
  no longer may see the board answers ``HX-Refresh``: the page reloads into
  the log-in page (and back to the board after it) instead of showing it
  inside the board.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from hotline.calls import policies, wallboard
from hotline.core import policy
from hotline.organisation.decorators import roles_required
from hotline.organisation.models import Role

# The roles the views let in (the nav entry in apps.py says the same; web's nav test checks they agree).
WALLBOARD_ROLES = (Role.SHIFT_LEADER, Role.DIRECTOR)
POLL_SECONDS = 1
MAX_QUEUE = 60


# --- how figures read from across a room ---------------------------------------------------

DASH = "—"


def percent(value: float | None) -> str:
    """A share as "93.1%"; "—" when there is nothing to divide (C5j)."""
    if value is None:
        return DASH
    return f"{formats.number_format(value * 100, 1)}%"


def duration(seconds: float | None) -> str:
    """Seconds as "m:ss" (or "h:mm:ss"); "—" when unknown."""
    if seconds is None:
        return DASH
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def state_labels() -> dict[str, str]:
    return {
        "ready": _("Ready"), "not_ready": _("Not ready"), "ringing": _("Ringing"), "talking": _("Talking"),
        "hold": _("On hold"), "wrap_up": _("After-call work"), "logged_out": _("Signed out"),
    }


def _present(b: wallboard.Board) -> dict:
    local = timezone.localtime(b.now)

    def rate(r: wallboard.Rate) -> dict:
        return {"text": percent(r.value), "target": None if r.target is None else percent(r.target),
                "flagged": r.flagged, "empty": r.value is None}

    labels = state_labels()
    return {
        "b": b,
        "clock": local.strftime("%H:%M:%S"), "now_ms": int(b.now.timestamp() * 1000),
        "date": formats.date_format(local, "Y-m-d l"),
        "longest_wait": duration(b.longest_wait_s),
        "stale_waiting_hours": f"{policy.get(policies.STALE_WAITING_HOURS):g}",
        "stale_talking_hours": f"{policy.get(policies.STALE_TALKING_HOURS):g}",
        "longest_wait_late": b.longest_wait_s is not None and b.longest_wait_s > b.T,
        "answer_rate": rate(b.answer_rate), "service_level": rate(b.service_level), "abandon_rate": rate(b.abandon_rate),
        "aht": duration(b.aht_s), "asa": duration(b.asa_s),
        "T": f"{b.T:g}",
        "agents": [{"state": state, "label": labels[state], "n": b.agents.get(state, 0)} for state in wallboard.AGENT_STATES],
        "logged_in": b.agents_logged_in,
    }


# --- views -------------------------------------------------------------------------------

def _queue(request: HttpRequest) -> str:
    queue = (request.GET.get("queue") or "").strip()
    if len(queue) > MAX_QUEUE:
        raise Http404
    return queue


def _center(request: HttpRequest, center_id: int):
    center = wallboard.center_for(request.user, center_id)
    if center is None:  # no such center, or outside the user's scope
        raise Http404
    queue = _queue(request)
    if queue and not wallboard.of_center(center, queue):  # another center's queue (C4a)
        raise Http404
    return center


@require_GET
@roles_required(*WALLBOARD_ROLES)
def index(request: HttpRequest) -> HttpResponse:
    """The boards the user may open: each center, and each queue of it; the
    queues no center's board counts (several centers, none set) named."""
    from hotline.calls import selectors

    centers = wallboard.centers_for(request.user)
    boards = [{"center": center, "queues": wallboard.queues(center=center)} for center in centers]
    unassigned = selectors.unassigned_queues([code for code, _name in wallboard.queues()]) if centers else []
    return render(request, "calls/wallboard/index.html", {"boards": boards, "unassigned": unassigned})


@require_GET
@roles_required(*WALLBOARD_ROLES)
def board(request: HttpRequest, center_id: int) -> HttpResponse:
    center = _center(request, center_id)
    queue = _queue(request)
    context = _present(wallboard.board(center=center, queue=queue))
    live_url = reverse("calls:wallboard-live", args=[center.pk])
    context.update(center=center, queue=queue, poll=POLL_SECONDS,
                   live_url=f"{live_url}?{urlencode({'queue': queue})}" if queue else live_url,
                   time_zone=timezone.get_current_timezone_name())
    return render(request, "calls/wallboard/board.html", context)


def _live_roles(view):
    """``roles_required`` for the live part, except that htmx's fetch of a
    user logged out (the session lapsed) or without the role any more gets
    ``HX-Refresh``: the page reloads into the log-in page or the refusal
    rather than swapping either into the board."""
    guarded = roles_required(*WALLBOARD_ROLES)(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if request.htmx and not (user.is_authenticated and (user.is_superuser or user.role in WALLBOARD_ROLES)):
            response = HttpResponse(status=401 if not user.is_authenticated else 403)
            response["HX-Refresh"] = "true"
            return response
        return guarded(request, *args, **kwargs)
    return wrapped


@require_GET
@_live_roles
def live(request: HttpRequest, center_id: int) -> HttpResponse:
    """The board's live part (htmx, every second)."""
    center = _center(request, center_id)
    response = render(request, "calls/wallboard/_live.html", _present(wallboard.board(center=center,
                                                                                      queue=_queue(request))))
    response["Cache-Control"] = "no-store"
    return response
