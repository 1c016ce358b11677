"""Calendar pages: the years and their sources, and the State Council
notice form (enter, preview the whole year, save). Administrators only."""

from __future__ import annotations

import hashlib
import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods

from hotline.calendars import forms, selectors, services
from hotline.core import clock
from hotline.organisation.decorators import roles_required
from hotline.organisation.models import Role

WEEKDAY_HEADS = (pgettext_lazy("weekday", "Mon"), pgettext_lazy("weekday", "Tue"), pgettext_lazy("weekday", "Wed"),
                 pgettext_lazy("weekday", "Thu"), pgettext_lazy("weekday", "Fri"), pgettext_lazy("weekday", "Sat"),
                 pgettext_lazy("weekday", "Sun"))


def _digest(notice: services.NoticeData) -> str:
    # Ties a save to the preview the administrator saw: edited after, previewed again.
    return hashlib.sha256(json.dumps(notice.as_detail(), sort_keys=True).encode()).hexdigest()[:32]


def _year_row(year: int) -> dict:
    return {"year": year, "status": services.year_status(year), "source": services.year_source(year)}


@roles_required(Role.ADMIN)
def years(request: HttpRequest) -> HttpResponse:
    today = clock.localnow().date()
    return render(request, "calendars/years.html", {
        "rows": [_year_row(year) for year in range(today.year - 1, today.year + 3)],
        "needed": services.provisional_years(today),
    })


@require_http_methods(["GET", "POST"])
@roles_required(Role.ADMIN)
def notice(request: HttpRequest, year: int) -> HttpResponse:
    if not services.YEAR_RANGE[0] <= year <= services.YEAR_RANGE[1]:
        raise Http404
    context = {"year": year, "row": _year_row(year), "holidays_has_notice": services.sources.holidays_has_notice(year),
               "overrides": selectors.overrides_in(year), "weekday_heads": WEEKDAY_HEADS}
    if request.method == "GET":
        entry = forms.NoticeEntry(year=year, initial=services.suggested_notice(year))
        return render(request, "calendars/notice.html", {
            **context, "entry": entry, "grid": selectors.current_year(year), "mode": "current"})

    entry = forms.NoticeEntry(year=year, data=request.POST)
    if not entry.is_valid():
        return render(request, "calendars/notice.html", {
            **context, "entry": entry, "grid": selectors.current_year(year), "mode": "current"}, status=400)
    digest = _digest(entry.notice)
    if request.POST.get("action") == "save":
        if request.POST.get("digest") != digest:
            messages.warning(request, _("The notice changed after its preview: check the new preview, then save."))
        else:
            services.save_notice(user=request.user, data=entry.notice)
            messages.success(request, _("The %(year)d notice is saved; working-day limits now follow it.")
                             % {"year": year})
            return redirect("calendars:notice", year=year)
    return render(request, "calendars/notice.html", {
        **context, "entry": entry, "grid": selectors.notice_preview(entry.notice), "mode": "preview",
        "digest": digest})
