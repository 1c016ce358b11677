"""The State Council notice form: holiday ranges and adjusted working days.

The forms only read what was typed; the rules of a notice are
services.validate_notice, whose problems land on the fields they name.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.calendars import services

SPARE_ROWS = 3
MAX_ROWS = 20
_SEPARATORS = re.compile(r"[\s,，、;；]+")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class HolidayRangeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Holiday name"), max_length=60, required=False)
    first_day = forms.DateField(label=gettext_lazy("First day"), required=False, widget=DateInput())
    last_day = forms.DateField(label=gettext_lazy("Last day"), required=False, widget=DateInput())

    def __init__(self, *args, row: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.row = row
        for name, field in self.fields.items():
            named = {"row": row, "field": field.label}
            field.error_messages["invalid"] = _("Holiday %(row)d, %(field)s: enter a date as YYYY-MM-DD.") % named
            field.error_messages["max_length"] = (
                _("Holiday %(row)d, %(field)s: at most %(max)d characters.") % {**named, "max": 60})

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        filled = [name for name in self.fields if data.get(name) not in (None, "")]
        if filled:
            for name in self.fields:
                if name not in filled:
                    self.add_error(name, _("Holiday %(row)d, %(field)s: required when the row is filled.")
                                   % {"row": self.row, "field": self.fields[name].label})
        return data

    def holiday(self) -> services.HolidayRange | None:
        data = self.cleaned_data
        if not data.get("first_day") and not data.get("last_day") and not data.get("name"):
            return None
        return services.HolidayRange(data["name"].strip(), data["first_day"], data["last_day"])


class BaseHolidayFormSet(forms.BaseFormSet):
    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_many_forms": gettext_lazy("Holidays: at most %(num)d rows."),
    }

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "row": (index or 0) + 1}


HolidayFormSet = forms.formset_factory(HolidayRangeForm, formset=BaseHolidayFormSet, extra=SPARE_ROWS,
                                       max_num=MAX_ROWS, validate_max=True)


def holiday_formset(*, data=None, initial: list[services.HolidayRange] | None = None):
    rows = [{"name": h.name, "first_day": h.first_day, "last_day": h.last_day} for h in initial or []]
    return HolidayFormSet(data, initial=rows or None, prefix="holiday")


class NoticeForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("Notice reference"), max_length=80, required=False,
                                help_text=gettext_lazy("e.g. 国办发明电〔2026〕7号"))
    workdays = forms.CharField(
        label=gettext_lazy("Adjusted working days"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "YYYY-MM-DD"}),
        help_text=gettext_lazy("The Saturdays and Sundays the notice makes working days, one date (YYYY-MM-DD) "
                               "a line or separated by commas."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference"].error_messages["max_length"] = (
            _("%(field)s: at most %(max)d characters.") % {"field": self.fields["reference"].label, "max": 80})

    def clean_workdays(self) -> list[dt.date]:
        days, bad = [], []
        for token in _SEPARATORS.split(self.cleaned_data.get("workdays") or ""):
            if not token:
                continue
            try:
                days.append(dt.date.fromisoformat(token))
            except ValueError:
                bad.append(token)
        if bad:
            raise forms.ValidationError(
                [_("%(field)s: “%(value)s” is not a date (YYYY-MM-DD).")
                 % {"field": self.fields["workdays"].label, "value": token} for token in bad])
        return days


def notice_initial(data: services.NoticeData) -> dict:
    return {"reference": data.reference, "workdays": "\n".join(day.isoformat() for day in sorted(data.workdays))}


class NoticeEntry:
    """The notice form and its holiday rows, read and checked together."""

    def __init__(self, *, year: int, data=None, initial: services.NoticeData | None = None):
        self.year = year
        self.form = NoticeForm(data, initial=notice_initial(initial) if initial else None)
        self.holidays = holiday_formset(data=data, initial=initial.holidays if initial else None)
        self.notice: services.NoticeData | None = None

    def is_valid(self) -> bool:
        form_ok, rows_ok = self.form.is_valid(), self.holidays.is_valid()
        if not (form_ok and rows_ok):
            return False
        rows = [(form.row, form.holiday()) for form in self.holidays.forms]
        filled = [(row, holiday) for row, holiday in rows if holiday is not None]
        notice = services.NoticeData(self.year, [holiday for _, holiday in filled], self.form.cleaned_data["workdays"],
                                     self.form.cleaned_data["reference"])
        problems = services.validate_notice(notice, row_numbers=[row for row, _ in filled])
        for problem in problems:
            if problem.field == "holidays" and problem.index is not None:
                self.holidays.forms[filled[problem.index][0] - 1].add_error(problem.part, problem.message)
            elif problem.field == "workdays":
                self.form.add_error("workdays", problem.message)
            else:
                self.form.add_error(None, problem.message)
        if problems:
            return False
        self.notice = notice
        return True

    def errors(self) -> list[str]:
        """Every message, for the summary above the form (each names its field)."""
        out = [str(e) for e in self.form.non_field_errors()]
        out += [str(e) for e in self.holidays.non_form_errors()]
        for name in self.form.fields:
            out += [str(e) for e in self.form.errors.get(name, [])]
        for form in self.holidays.forms:
            for name in form.fields:
                out += [str(e) for e in form.errors.get(name, [])]
        return out
