from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from hotline.core import clock
from hotline.planning import services
from hotline.planning.models import INTERVAL_CHOICES, Queue, StaffingTarget

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ISO_DATE = "%Y-%m-%d"


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Interval statistics (CSV or xlsx)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        if not f.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return f


class DateInput(forms.DateInput):
    """``<input type=date>``: its value is ISO ``YYYY-MM-DD`` in every locale (the
    browser shows it the user's way); Django's localised value (2026/03/16 in
    zh-hans) would render blank and block the form."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATE)


class DateField(forms.DateField):
    """A planning date, from ``YEARS_BACK`` years ago to ``YEARS_AHEAD`` years ahead:
    the history a center keeps and the weeks it plans; far dates are nobody's
    plan and overflow the forecast's date arithmetic near year 9999."""

    widget = DateInput
    input_formats = [ISO_DATE]  # what the browser sends, whatever the language
    YEARS_BACK, YEARS_AHEAD = 10, 2
    default_error_messages = {
        "required": _("Choose a date."),
        "invalid": _("Enter the date as year-month-day, e.g. 2026-03-16."),
    }

    def bounds(self) -> tuple[dt.date, dt.date]:
        today = clock.localnow().date()
        return today.replace(year=today.year - self.YEARS_BACK, day=min(today.day, 28)), \
            today.replace(year=today.year + self.YEARS_AHEAD, day=min(today.day, 28))

    def validate(self, value):
        super().validate(value)
        first, last = self.bounds()
        if value and not first <= value <= last:
            raise forms.ValidationError(_("Choose a date from %(first)s to %(last)s."), code="range",
                                        params={"first": first.isoformat(), "last": last.isoformat()})


class PlanningForm(forms.Form):
    """Date inputs carry today's bounds as min/max, so the browser's picker keeps to them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, DateField):
                first, last = field.bounds()
                field.widget.attrs.update(min=first.isoformat(), max=last.isoformat())


def _format(text, **values) -> str:
    return str(text) % {k: v if isinstance(v, (int, float)) else str(v) for k, v in values.items()}


_format_lazy = lazy(_format, str)  # formatted in the language of the request, not of the import


def _number_messages(low, high, what) -> dict:
    text = _format_lazy(_("%(what)s: enter a number from %(low)g to %(high)g."), what=what, low=low, high=high)
    return {"required": _format_lazy(_("%(what)s: required."), what=what), "invalid": text, "min_value": text,
            "max_value": text}


class QueueForm(forms.ModelForm):
    class Meta:
        model = Queue
        fields = ["name", "code"]


class TargetForm(forms.ModelForm):
    class Meta:
        model = StaffingTarget
        fields = ["service_level_pct", "answer_seconds", "max_asa_seconds", "max_abandon_pct", "max_occupancy_pct",
                  "shrinkage_pct", "patience_seconds"]


class NewScheduleForm(PlanningForm):
    week_start = DateField(label=_("Week starting"))
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(), required=False,
                                   empty_label=_("All queues"))
    interval_minutes = forms.TypedChoiceField(label=_("Interval (min)"), choices=INTERVAL_CHOICES, coerce=int,
                                              initial=30)

    def clean_week_start(self):
        day = self.cleaned_data["week_start"]
        return day - dt.timedelta(days=day.weekday())


class WhatIfForm(PlanningForm):
    """The storm what-if's inputs. Every bound is there so that no input can tie
    up a worker: hours and factor fix how many callers a run simulates,
    replications how many rows; the queue's own volume is checked against
    ``services.MAX_CALLS_PER_RUN`` in :meth:`clean` (past weeks' averages: quick),
    and the job's time budget caps the rest."""

    hours_min, hours_max = services.WHATIF_HOURS
    factor_min, factor_max = services.WHATIF_FACTOR
    target_min, target_max = services.WHATIF_TARGET_PCT
    reps_min, reps_max = services.WHATIF_REPLICATIONS

    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(), empty_label=None,
                                   error_messages={"required": _("Choose a queue."),
                                                   "invalid_choice": _("Choose one of the queues.")})
    day = DateField(label=_("Day"))
    start = forms.TimeField(label=_("Storm from"), input_formats=["%H:%M", "%H:%M:%S"],
                            widget=forms.TimeInput(format="%H:%M", attrs={"type": "time", "step": 1800}),
                            error_messages={"required": _("Enter the time the storm starts."),
                                            "invalid": _("Enter the time as hours:minutes, e.g. 14:00.")})
    hours = forms.FloatField(label=_("For (hours)"), min_value=hours_min, max_value=hours_max, initial=4,
                             widget=forms.NumberInput(attrs={"step": 0.5}),
                             help_text=_("Half an hour to a day: the simulation covers the day and the next."),
                             error_messages=_number_messages(hours_min, hours_max, _("Hours")))
    factor = forms.FloatField(label=_("Calls multiplied by"), min_value=factor_min, max_value=factor_max, initial=3,
                              widget=forms.NumberInput(attrs={"step": 0.1}),
                              help_text=_("1 to 20 times the usual calls; 20 is beyond any recorded storm."),
                              error_messages=_number_messages(factor_min, factor_max, _("Factor")))
    target = forms.FloatField(label=_("Keep service level ≥ (%)"), min_value=target_min, max_value=target_max,
                              initial=80, widget=forms.NumberInput(attrs={"step": 0.1}),
                              help_text=_("Below 100 %: a simulated level is proven with a confidence bound."),
                              error_messages=_number_messages(target_min, target_max, _("Service level")))
    replications = forms.IntegerField(label=_("Replications"), min_value=reps_min, max_value=reps_max, initial=40,
                                      help_text=_("10 to 200 simulated days per staffing level: more is surer and "
                                                  "slower."),
                                      error_messages=_number_messages(reps_min, reps_max, _("Replications")))

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                services.storm_load_check(queue=data["queue"], day=data["day"], start=data["start"],
                                          hours=data["hours"], factor=data["factor"],
                                          replications=data["replications"])
            except services.PlanningError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data

    def job_params(self) -> dict:
        d = self.cleaned_data
        return {"queue": d["queue"].pk, "day": d["day"].isoformat(), "start": d["start"].strftime("%H:%M"),
                "hours": d["hours"], "factor": d["factor"], "target": d["target"], "replications": d["replications"]}


class ForecastForm(PlanningForm):
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(), empty_label=None,
                                   error_messages={"invalid_choice": _("Choose one of the queues.")})
    day = DateField(label=_("Day"))
