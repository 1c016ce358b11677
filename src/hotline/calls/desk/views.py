"""The agent desk's pages: the desk itself, the live region every shell
page of an agent polls (state bar and screen pop), and the two actions
(state, escalation). Thin: writes in ``desk.services``, reads in
``desk.selectors``.

The live region asks ``live/?v=<version>`` every POLL_MS: an unchanged
version is answered 204 from one primary-key read (htmx leaves the page as
it is); a changed one renders the region anew, so a ring reaches the page
within one poll interval and one render (C2b). Polling was chosen over a
held-open stream because the server is pre-forked sync workers (one
request at a time each): a stream per agent would hold a worker per agent.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from hotline.calls.desk import selectors, services
from hotline.calls.models import Call, EscalationTarget
from hotline.core import clock
from hotline.organisation.decorators import roles_required
from hotline.organisation.models import CENTER_ROLES

POLL_MS = 450


def _start_url(call: Call, customer=None) -> str:
    """The intake pre-filled with the caller (and the customer), linked to the call's contact."""
    params = {}
    if customer is not None:
        params["customer_id"] = customer.pk
    if call.contact_id:
        params["contact_id"] = call.contact_id
    if call.caller_number:
        params["caller_phone"] = call.caller_number
    return reverse("workorders:intake") + ("?" + urlencode(params) if params else "")


def live_context(request: HttpRequest, *, full: bool = False, error: str = "", done: str = "") -> dict:
    user = request.user
    agent_state = selectors.state(user)
    pop = selectors.pop(user, agent_state)
    if pop is not None:
        for facts in pop.customers:
            facts.start_url = _start_url(pop.call, facts.customer)
        pop.start_url = _start_url(pop.call)
    reason = agent_state.reason if agent_state else ""
    return {
        "agent_state": agent_state,
        "state_reason": services.reason_label(reason) if reason else "",
        "v": selectors.version_of(agent_state),
        "pop": pop,
        # What became of the agent's latest switch command (C1a, C2d).
        "switch": selectors.latest_command(user),
        "reasons": services.not_ready_reasons(),
        "targets": EscalationTarget.choices,
        "full": full,
        "history": _labelled(selectors.history(user)) if full else [],
        "poll_ms": POLL_MS,
        "error": error,
        "done": done,
        "now": clock.now(),
    }


def _labelled(history: list) -> list:
    for row in history:
        row.reason_label = services.reason_label(row.reason) if row.reason else ""
    return history


def widget_context(request: HttpRequest) -> dict | None:
    """The shell widget's context (web.nav.register_widget in calls.apps)."""
    if not services.may_use_desk(request.user):
        return None
    return live_context(request)


def takes_calls(user) -> bool:
    """Who gets the desk bar on every page: agents, and center staff with an agent number."""
    from hotline.organisation.models import Role

    return services.may_use_desk(user) and (user.role == Role.AGENT or bool(user.agent_number))


@require_GET
@roles_required(*CENTER_ROLES)
def desk(request: HttpRequest) -> HttpResponse:
    return render(request, "calls/desk/desk.html", live_context(request, full=True))


@require_GET
@roles_required(*CENTER_ROLES)
def live(request: HttpRequest) -> HttpResponse:
    if request.GET.get("v") == selectors.version(request.user):
        return HttpResponse(status=204)
    return render(request, "calls/desk/_live.html", live_context(request, full=request.GET.get("full") == "1"))


def _answer(request: HttpRequest, *, error: str = "", done: str = "") -> HttpResponse:
    if request.htmx:
        # htmx swaps only 2xx answers: a refusal comes back in the region, with why.
        return render(request, "calls/desk/_live.html", live_context(
            request, full=request.POST.get("full") == "1", error=error, done=done))
    (messages.error if error else messages.success)(request, error or done)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("calls:desk")
    return redirect(target)


@require_POST
@roles_required(*CENTER_ROLES)
def set_state(request: HttpRequest) -> HttpResponse:
    reason = request.POST.get("reason", "")[:60]
    # The reasons are the not-ready menu's buttons: a reason alone is a pause.
    action = request.POST.get("action", "")[:20] or (services.Action.NOT_READY if reason else "")
    try:
        services.set_state(user=request.user, action=action, reason=reason)
    except services.DeskError as exc:
        return _answer(request, error=exc.message)
    return _answer(request, done=gettext("State changed."))


@require_POST
@roles_required(*CENTER_ROLES)
def transfer(request: HttpRequest) -> HttpResponse:
    try:
        call_pk = int(request.POST.get("call", ""))
    except ValueError:
        return _answer(request, error=gettext("Which call? Escalate from the call's pop."))
    call = Call.objects.filter(pk=call_pk).first()
    if call is None:
        raise Http404
    try:
        escalation = services.escalate(user=request.user, call=call, target=request.POST.get("target", "")[:20],
                                       note=request.POST.get("note", "")[:400])
    except services.DeskError as exc:
        return _answer(request, error=exc.message)
    if escalation.command == "switch":
        return _answer(request, done=gettext("Escalation to %(target)s recorded; the transfer is sent to the "
                                             "switch.") % {"target": escalation.get_target_display()})
    return _answer(request, done=gettext("Escalation to %(target)s recorded: transfer the call on the phone.") % {
        "target": escalation.get_target_display()})
