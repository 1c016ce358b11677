"""The daily operations report's pages (C4c–C4e): the report of a center
and a day (yesterday unless asked), and the same as xlsx and PDF."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from hotline.organisation.decorators import roles_required
from hotline.organisation.models import Role
from hotline.reports import exports, selectors

# The roles the views let in (apps.py registers the nav entry for the same; web's nav test checks they agree).
REPORT_ROLES = (Role.DIRECTOR, Role.SHIFT_LEADER)
OLDEST_DAY = dt.date(2000, 1, 1)


def _centers(user) -> list:
    from hotline.calls.wallboard import centers_for

    return centers_for(user)


def _choice(request: HttpRequest) -> tuple[list, object, dt.date, str]:
    """The centers the user may report on, the one asked (else the first),
    the day asked (else yesterday) and a problem with what was asked."""
    centers = _centers(request.user)
    if not centers:
        raise Http404
    center, error = centers[0], ""
    raw_center = request.GET.get("center", "")
    if raw_center:
        center = next((c for c in centers if str(c.pk) == raw_center), None)
        if center is None:  # no such center, or outside the user's scope
            raise Http404
    latest = selectors.yesterday()
    day = latest
    raw_day = (request.GET.get("day") or "").strip()
    if raw_day:
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError:
            error = _("“%(value)s” is not a date (YYYY-MM-DD): yesterday's report is shown.") % {"value": raw_day[:20]}
        else:
            if not OLDEST_DAY <= day <= latest + dt.timedelta(days=1):
                error = _("Reports cover past days up to today: yesterday's report is shown.")
                day = latest
    return centers, center, day, error


@require_GET
@roles_required(*REPORT_ROLES)
def daily(request: HttpRequest) -> HttpResponse:
    centers, center, day, error = _choice(request)
    report = selectors.daily_report(center, day)
    query = f"center={center.pk}&day={day.isoformat()}"
    return render(request, "reports/daily.html", {
        "r": report, "centers": centers, "error": error, "query": query,
        "previous_day": (day - dt.timedelta(days=1)).isoformat(), "next_day": (day + dt.timedelta(days=1)).isoformat(),
        "has_next": day < selectors.yesterday(), "title": exports.title(report)})


def _download(report, content: bytes, content_type: str, ext: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(report, ext)}"'
    return response


@require_GET
@roles_required(*REPORT_ROLES)
def daily_xlsx(request: HttpRequest) -> HttpResponse:
    _, center, day, _ = _choice(request)
    report = selectors.daily_report(center, day)
    return _download(report, exports.xlsx(report), exports.XLSX_TYPE, "xlsx")


@require_GET
@roles_required(*REPORT_ROLES)
def daily_pdf(request: HttpRequest) -> HttpResponse:
    _, center, day, _ = _choice(request)
    report = selectors.daily_report(center, day)
    return _download(report, exports.pdf(report), exports.PDF_TYPE, "pdf")


@require_GET
@roles_required(*REPORT_ROLES)
def score(request: HttpRequest) -> HttpResponse:
    """The monthly center score (C4g) of a month (this month so far unless asked)."""
    from hotline.reports import scoring

    centers, center, _day, _error = _choice(request)
    month, error = scoring.this_month(), ""
    raw = (request.GET.get("month") or "").strip()
    if raw:
        try:
            month = dt.date.fromisoformat(f"{raw}-01")
        except ValueError:
            error = _("“%(value)s” is not a month (YYYY-MM): this month is shown.") % {"value": raw[:20]}
    result = scoring.monthly_score(center, month)
    return render(request, "reports/score.html", {"s": result, "centers": centers, "error": error})
