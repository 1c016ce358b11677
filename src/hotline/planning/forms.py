from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from hotline.planning.models import INTERVAL_CHOICES, Queue, StaffingTarget

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Interval statistics (CSV or xlsx)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        if not f.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return f


class QueueForm(forms.ModelForm):
    class Meta:
        model = Queue
        fields = ["name", "code"]


class TargetForm(forms.ModelForm):
    class Meta:
        model = StaffingTarget
        fields = ["service_level_pct", "answer_seconds", "max_asa_seconds", "max_abandon_pct", "max_occupancy_pct",
                  "shrinkage_pct", "patience_seconds"]


class NewScheduleForm(forms.Form):
    week_start = forms.DateField(label=_("Week starting"), widget=forms.DateInput(attrs={"type": "date"}))
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(), required=False,
                                   empty_label=_("All queues"))
    interval_minutes = forms.TypedChoiceField(label=_("Interval (min)"), choices=INTERVAL_CHOICES, coerce=int,
                                              initial=30)

    def clean_week_start(self):
        day = self.cleaned_data["week_start"]
        return day - dt.timedelta(days=day.weekday())


class WhatIfForm(forms.Form):
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(), empty_label=None)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("Storm from"), widget=forms.TimeInput(attrs={"type": "time", "step": 1800}))
    hours = forms.FloatField(label=_("For (hours)"), min_value=0.5, max_value=24, initial=4)
    factor = forms.FloatField(label=_("Calls multiplied by"), min_value=1, max_value=20, initial=3)
    target = forms.FloatField(label=_("Keep service level ≥ (%)"), min_value=1, max_value=99.9, initial=80)


class ForecastForm(forms.Form):
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.all(), empty_label=None)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
