from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from hotline.organisation.models import ServiceArea, Unit, User
from hotline.outages import access, imports
from hotline.outages.models import OutageClass, OutageStatus

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def add_service_error(form: forms.Form, exc) -> None:
    """Put a service's error next to the field it names (else on top); the
    service said it in the request's language."""
    name = {"area_ids": "areas", "new_end": "new_end"}.get(exc.field, exc.field)
    form.add_error(name if name in form.fields else None, exc.message)


def _when(label, required: bool = True, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(label=label, required=required, help_text=help_text, input_formats=[DATETIME_LOCAL],
                               widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL))


class AreaChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: ServiceArea) -> str:
        return f"{obj} ({obj.code})"


def areas_for(user: User):
    """The areas ``user`` publishes for (outages.access)."""
    path = access.operating_path(user)
    qs = ServiceArea.objects.order_by("code")
    if path is not None:
        qs = qs.filter(unit_id__in=Unit.objects.filter(path__startswith=path).values("id"))
    return qs


class OutageForm(forms.Form):
    outage_class = forms.ChoiceField(label=_("Outage class"), choices=OutageClass.choices)
    areas = AreaChoices(label=_("Affected service areas"), queryset=ServiceArea.objects.none(),
                        help_text=_("A township or village covers every area below it."),
                        widget=forms.SelectMultiple(attrs={"size": 8}))
    planned_start = _when(_("Planned start"), required=False,
                          help_text=_("A grid fault's defaults to its trip time."))
    planned_end = _when(_("Planned end"))
    occurred_at = _when(_("Trip time"), required=False, help_text=_("Grid fault outages only."))
    reason = forms.CharField(label=pgettext_lazy("outage", "Reason"), max_length=imports.MAX_REASON, widget=forms.Textarea(attrs={"rows": 2}))
    scope = forms.CharField(label=_("Scope"), max_length=imports.MAX_SCOPE, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}),
                            help_text=_("Streets, villages or customers affected, as the public is told."))
    lines = forms.CharField(label=_("Lines"), max_length=4000, required=False,
                            help_text=_("Names or codes, separated by ; or 、"))
    transformers = forms.CharField(label=_("Transformers"), max_length=4000, required=False,
                                   help_text=_("Names or codes, separated by ; or 、"))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["areas"].queryset = areas_for(user)
        choices = [(c.value, c.label) for c in OutageClass if access.may_publish(user, c.value)]
        self.fields["outage_class"].choices = choices

    def service_values(self) -> dict:
        d = self.cleaned_data
        return {"outage_class": d["outage_class"], "area_ids": [a.pk for a in d["areas"]],
                "planned_start": d.get("planned_start"), "planned_end": d.get("planned_end"),
                "occurred_at": d.get("occurred_at"), "reason": d["reason"], "scope": d.get("scope", ""),
                "lines": imports.split_list(d.get("lines", "")),
                "transformers": imports.split_list(d.get("transformers", ""))}


class NewOutageForm(OutageForm):
    number = forms.CharField(label=pgettext_lazy("outage", "Number"), max_length=40, required=False,
                             help_text=_("Dispatch's number; leave empty and the system gives one."))
    publish = forms.BooleanField(label=_("Publish at once"), required=False, initial=True)


class ReviseForm(OutageForm):
    note = forms.CharField(label=pgettext_lazy("outage", "Note"), max_length=500, required=False)

    def __init__(self, *args, outage, **kwargs):
        super().__init__(*args, **kwargs)
        if outage.status != OutageStatus.DRAFT:
            # Only a draft's class may change; a published outage keeps its own.
            self.fields["outage_class"].choices = [(outage.outage_class, outage.get_outage_class_display())]


class StartForm(forms.Form):
    actual_start = _when(_("Actual start"), required=False, help_text=_("Empty: now (a fault: its trip time)."))


class DelayForm(forms.Form):
    new_end = _when(_("New planned end"))
    reason = forms.CharField(label=_("Reason for the delay"), max_length=imports.MAX_REASON)


class RestoreForm(forms.Form):
    actual_restoration = _when(_("Actual restoration"), required=False, help_text=_("Empty: now."))
    actual_start = _when(_("Actual start"), required=False,
                         help_text=_("Only when the outage was never marked as started."))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=imports.MAX_REASON)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Outage plan (CSV or xlsx)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        if not f.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return f


class FilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All")), ("active", _("In force"))] + list(OutageStatus.choices))
    outage_class = forms.ChoiceField(label=_("Outage class"), required=False,
                                     choices=[("", _("All"))] + list(OutageClass.choices))
    area = forms.CharField(label=_("Area"), required=False, max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("Code or name")}))
    day = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
