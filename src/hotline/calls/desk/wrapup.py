"""The desk's wrap-up of answered calls that gave no order (C3y): the
agent's recent answered calls without an order or a mark, each to mark
"无需工单" with a reason or to link to the order it was about. A page of
its own and, on the desk, a panel loaded into it (htmx). Writes in
``calls.dispositions``."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from hotline.calls import dispositions
from hotline.calls.models import Call
from hotline.organisation.decorators import roles_required
from hotline.organisation.models import CENTER_ROLES


def _context(request: HttpRequest, *, error: str = "", done: str = "") -> dict:
    return {"open_calls": dispositions.open_calls(request.user), "recent": dispositions.recent(request.user),
            "reasons": dispositions.reasons(), "existing_order": dispositions.EXISTING_ORDER,
            "error": error, "done": done}


def _answer(request: HttpRequest, *, error: str = "", done: str = "") -> HttpResponse:
    if request.htmx:
        return render(request, "calls/desk/_wrapup.html", _context(request, error=error, done=done))
    (messages.error if error else messages.success)(request, error or done)
    return redirect(reverse("calls:desk-wrapup"))


@require_http_methods(["GET", "POST"])
@roles_required(*CENTER_ROLES)
def wrapup(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        template = "calls/desk/_wrapup.html" if request.htmx else "calls/desk/wrapup.html"
        return render(request, template, _context(request))
    try:
        call_pk = int(request.POST.get("call", ""))
    except ValueError:
        return _answer(request, error=gettext("Which call? Mark it from its row."))
    call = Call.objects.filter(pk=call_pk).first()
    if call is None:  # a stale row, or a number typed by hand: say so, in the panel
        return _answer(request, error=gettext("No such call to wrap up; reload the list."))
    try:
        dispositions.mark(user=request.user, call=call, reason=request.POST.get("reason", "")[:60],
                          order_number=request.POST.get("order", "")[:30], note=request.POST.get("note", "")[:400])
    except dispositions.DispositionError as exc:
        return _answer(request, error=exc.message)
    return _answer(request, done=gettext("Marked: the call needs no new order."))
