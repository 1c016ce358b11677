"""The public self-service page (D7i): two forms, the answer below them.
No login, no JavaScript needed; the lookups are POSTed so numbers stay out
of URLs and browser history, and limited per client like the API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from hotline.selfservice import services, throttle
from hotline.selfservice.selectors import KINDS

TEMPLATE = "selfservice/index.html"
ECHO_MAX = 200  # at most this much of what was typed comes back into the form


def _page(request: HttpRequest, *, status: int = 200, **context) -> HttpResponse:
    context.setdefault("outage_form", {"kind": "account", "query": ""})
    context.setdefault("order_form", {"number": "", "phone_tail": ""})
    return render(request, TEMPLATE, {"kinds": KINDS, **context}, status=status)


def _throttled(request: HttpRequest, verdict: throttle.Verdict, **context) -> HttpResponse:
    response = _page(request, status=429, throttled=services.too_many_message(verdict), **context)
    response["Retry-After"] = str(verdict.wait)
    return response


@require_http_methods(["GET", "HEAD"])
def index(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_http_methods(["GET", "POST"])
def outages(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("selfservice:index")
    kind, query = request.POST.get("kind", ""), request.POST.get("query", "")
    # The input comes back only when it needs correcting; an answer echoes it masked.
    form = {"kind": kind if kind in KINDS else "account", "query": query[:ECHO_MAX]}
    verdict = throttle.hit(request)
    if not verdict.allowed:
        return _throttled(request, verdict, outage_form=form)
    try:
        answer = services.outage_lookup(kind=kind, query=query)
    except services.BadQuery as exc:
        return _page(request, outage_form={**form, "error": exc.message, "field": exc.field})
    if answer is None:
        return _page(request, outage_form=form, outage_missing=services.outage_not_found(form["kind"]))
    return _page(request, outage_form={"kind": form["kind"], "query": ""}, outage_answer=answer)


@require_http_methods(["GET", "POST"])
def order(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("selfservice:index")
    form = {key: request.POST.get(key, "")[:ECHO_MAX] for key in ("number", "phone_tail")}
    verdict = throttle.hit(request)
    if not verdict.allowed:
        return _throttled(request, verdict, order_form=form)
    try:
        answer = services.order_progress(number=form["number"], phone_tail=form["phone_tail"])
    except services.BadQuery as exc:
        return _page(request, order_form={**form, "error": exc.message, "field": exc.field})
    if answer is None:
        return _page(request, order_form=form, order_missing=services.order_not_found())
    return _page(request, order_answer=answer)
