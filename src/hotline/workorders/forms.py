"""Forms parse what the browser sent; the rules live in the services, whose
errors come back onto the field they name."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hotline.workorders import services
from hotline.workorders.errors import OrderError
from hotline.workorders.models import Channel, FaultScope, State

def add_service_error(form: forms.Form, exc: OrderError) -> None:
    """Put each of a service's errors next to the field it names (else on
    top); the service said them in the request's language."""
    for error in getattr(exc, "errors", None) or [exc]:
        form.add_error(error.field if error.field in form.fields else None, error.message)


# Django's own messages ("This field is required.") name no field; these do,
# in the request's language (forms are built per request).
FIELD_MESSAGES = {
    "required": _("Enter %(field)s."),
    "invalid": _("%(field)s: not a valid value."),
    "invalid_choice": _("%(field)s: choose one of the offered values."),
    "max_length": _("%(field)s: at most %%(limit_value)d characters (now %%(show_value)d)."),
    "min_length": _("%(field)s: at least %%(limit_value)d characters."),
    "min_value": _("%(field)s: at least %%(limit_value)s."),
    "max_value": _("%(field)s: at most %%(limit_value)s."),
    "max_digits": _("%(field)s: too many digits."),
}


class NamedErrorsForm(forms.Form):
    """A form whose messages name the field they are about. A message a
    field declares itself (``error_messages=``) is kept. Validators' codes
    (max_length, min_value…) take the field's message of that code too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            label = str(field.label or name)
            defaults: dict = {}
            for cls in reversed(type(field).__mro__):
                defaults.update(getattr(cls, "default_error_messages", {}))
            for key, template in FIELD_MESSAGES.items():
                if key in field.error_messages and field.error_messages[key] != defaults.get(key):
                    continue  # the field's own words
                field.error_messages[key] = str(template) % {"field": label}


class IntakeForm(NamedErrorsForm):
    customer_id = forms.IntegerField(required=False, min_value=1, label=_("Customer"))
    caller_name = forms.CharField(required=False, max_length=100, label=_("Caller name"))
    caller_phone = forms.CharField(required=False, max_length=40, label=_("Caller phone"))
    address = forms.CharField(required=False, max_length=300, label=_("Address"))
    service_area_id = forms.IntegerField(required=False, min_value=1, label=_("Service area"))
    # Required by the service (with every other problem at once), not here.
    business_type = forms.CharField(required=False, max_length=30, label=_("Business type"))
    sub_class = forms.CharField(required=False, max_length=40, label=_("Sub-class"))
    priority = forms.CharField(required=False, max_length=20, label=_("Priority"))
    fault_scope = forms.CharField(required=False, max_length=20, label=_("Fault scope"))
    paid_service = forms.BooleanField(required=False, label=_("Paid service, customer told"))
    anonymous = forms.BooleanField(required=False, label=_("Anonymous"))
    reply_wanted = forms.BooleanField(required=False, initial=True, label=_("Reply wanted"))
    description = forms.CharField(required=False, max_length=services.MAX_DESCRIPTION, label=_("Description"))
    # The proposed master the agent kept (D3.4b); empty: a report of its own.
    merge_into = forms.CharField(required=False, max_length=24, label=_("Master order"))
    # The agent confirms that an order no service area matches goes to the
    # county dispatch desk (the service asks for it then).
    desk_fallback = forms.BooleanField(required=False, label=_("Send to the county dispatch desk"))
    # The call the order is recorded during (the agent desk's pop passes its
    # contact): every order of that call links to it (C2c).
    contact_id = forms.IntegerField(required=False, min_value=1, label=_("Contact"))
    # Ticked when the service refused that link (not the agent's own recent
    # call): the order is saved without it, as a contact of its own.
    unlink_contact = forms.BooleanField(required=False, label=_("Save without the call"))

    def to_intake(self) -> services.Intake:
        """The intake from what parsed; a field that did not parse counts as
        empty (its error is on the form already)."""
        d = self.cleaned_data
        text = {k: d.get(k) or "" for k in ("business_type", "description", "sub_class", "priority", "caller_name",
                                             "caller_phone", "address", "fault_scope", "merge_into")}
        is_repair = text["business_type"] == "repair"
        return services.Intake(
            business_type=text["business_type"], description=text["description"], sub_class=text["sub_class"],
            priority=text["priority"], customer_id=d.get("customer_id"), caller_name=text["caller_name"],
            caller_phone=text["caller_phone"], address=text["address"], service_area_id=d.get("service_area_id"),
            # The scope radios are only on the page for repairs.
            fault_scope=text["fault_scope"] if is_repair else "",
            paid_service=bool(d.get("paid_service")) and text["fault_scope"] == FaultScope.CUSTOMER_INTERNAL,
            anonymous=bool(d.get("anonymous")), reply_wanted=bool(d.get("reply_wanted")), channel="phone",
            merge_into=text["merge_into"].strip() if is_repair else "",
            desk_fallback=bool(d.get("desk_fallback")),
            contact_id=None if d.get("unlink_contact") else d.get("contact_id"),
        )


# Form names of the handling record's items: record-cause, record-measures…
RECORD_PREFIX = "record-"


class ActionForm(forms.Form):
    """One action on an order; which fields matter depends on the action."""

    action = forms.CharField(max_length=20, error_messages={"required": _("Choose an action.")})
    reason = forms.CharField(required=False, max_length=500)
    note = forms.CharField(required=False, max_length=2000)
    unit_id = forms.IntegerField(required=False, min_value=1)
    master = forms.CharField(required=False, max_length=24)
    outcome = forms.CharField(required=False, max_length=30)
    # Read by the services, which say what is wrong with it (D3.6b).
    estimated_at = forms.CharField(required=False, max_length=40)

    def payload(self) -> dict:
        d = self.cleaned_data
        payload = {k: d[k].strip() for k in ("reason", "note", "master", "outcome", "estimated_at") if d.get(k)}
        if d.get("unit_id"):
            payload["unit_id"] = d["unit_id"]
        # The handling record's items (record-<code>), as the type declares
        # them; the services check them (workorders.handling).
        record = {key[len(RECORD_PREFIX):]: value for key, value in self.data.items() if key.startswith(RECORD_PREFIX)}
        if record:
            payload["record"] = record
        return payload


class NoteForm(forms.Form):
    note = forms.CharField(max_length=2000, error_messages={"required": _("Say what the customer is chasing.")})


class AnswerForm(forms.Form):
    answer = forms.CharField(max_length=500, error_messages={"required": _("Write the answer.")})


SORT_CHOICES = [
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
    ("due", _("Nearest limit first")),
    ("-closed", _("Latest closed first")),
    ("number", _("By number")),
]
OVERDUE_CHOICES = [("", _("Any")), ("yes", _("Past a limit")), ("no", _("Within every limit"))]


class SearchForm(NamedErrorsForm):
    """The order search's criteria (GET); each one optional."""

    number = forms.CharField(required=False, max_length=24, label=_("Order number"))
    phone = forms.CharField(required=False, max_length=40, label=_("Phone"))
    name = forms.CharField(required=False, max_length=100, label=_("Customer name"))
    account = forms.CharField(required=False, max_length=30, label=_("Account number"))
    address = forms.CharField(required=False, max_length=300, label=_("Address fragment"))
    business_type = forms.CharField(required=False, max_length=30, label=_("Business type"))
    sub_class = forms.CharField(required=False, max_length=40, label=_("Sub-class"))
    state = forms.CharField(required=False, max_length=12, label=_("State"))
    unit = forms.IntegerField(required=False, min_value=1, label=_("Handling unit"))
    channel = forms.CharField(required=False, max_length=10, label=_("Contact channel"))
    created_from = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label=_("Accepted from"))
    created_to = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label=_("Accepted until"))
    closed_from = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label=_("Closed from"))
    closed_to = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label=_("Closed until"))
    overdue = forms.ChoiceField(required=False, choices=OVERDUE_CHOICES, label=_("Time limits"))
    mine = forms.BooleanField(required=False, label=_("Only my orders"))
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label=_("Sort"))
    page = forms.IntegerField(required=False, min_value=1, max_value=100000, label=_("Page"))

    def clean_phone(self) -> str:
        from hotline.workorders.selectors import PHONE_TAIL_MIN

        raw = (self.cleaned_data.get("phone") or "").strip()
        if not raw:
            return ""
        compact = re.sub(r"[\s\-+()]", "", raw)
        if not compact.isdigit():
            raise forms.ValidationError(_("Phone: digits only (and - + spaces or brackets)."))
        if len(compact) < PHONE_TAIL_MIN:
            raise forms.ValidationError(_("Phone: at least %(n)d digits, e.g. the last four.") % {"n": PHONE_TAIL_MIN})
        return raw

    def clean_state(self) -> str:
        value = self.cleaned_data.get("state") or ""
        if value and value not in ("open", "closed", *State.values):
            raise forms.ValidationError(_("State: choose one of the offered values."))
        return value

    def clean_channel(self) -> str:
        value = self.cleaned_data.get("channel") or ""
        if value and value not in Channel.values:
            raise forms.ValidationError(_("Contact channel: choose one of the offered values."))
        return value

    def clean(self):
        d = super().clean()
        for lower, upper in (("created_from", "created_to"), ("closed_from", "closed_to")):
            if d.get(lower) and d.get(upper) and d[lower] > d[upper]:
                self.add_error(upper, _("%(field)s: not before the start of the range.") % {"field": self.fields[upper].label})
        return d

    def criteria(self, **extra):
        """The selectors' query; dates are whole local days."""
        from hotline.workorders.selectors import OrderQuery

        d = self.cleaned_data

        def day(value, *, after: bool = False):
            if not value:
                return None
            if after:
                value = value + dt.timedelta(days=1)
            return timezone.make_aware(dt.datetime.combine(value, dt.time.min))

        return OrderQuery(
            number=(d.get("number") or "").strip(), phone=d.get("phone") or "", name=(d.get("name") or "").strip(),
            account=(d.get("account") or "").strip(), address=(d.get("address") or "").strip(),
            business_type=d.get("business_type") or "", sub_class=d.get("sub_class") or "" if d.get("business_type") else "",
            state=d.get("state") or "", unit_id=d.get("unit"), channel=d.get("channel") or "",
            created_from=day(d.get("created_from")), created_to=day(d.get("created_to"), after=True),
            closed_from=day(d.get("closed_from")), closed_to=day(d.get("closed_to"), after=True),
            overdue=d.get("overdue") or "", mine=bool(d.get("mine")), sort=d.get("sort") or "-created", **extra)


BOARD_SORT_CHOICES = [
    ("overdue", _("Most past the limit first")),
    ("unit", _("By unit")),
    ("type", _("By business type")),
]
BOARD_TONE_CHOICES = [("", _("Near or past")), ("overdue", _("Past the limit")), ("near", _("Near the limit"))]


class BoardForm(NamedErrorsForm):
    """The board's filters and sort (GET)."""

    unit = forms.IntegerField(required=False, min_value=1, label=_("Unit"))
    type = forms.CharField(required=False, max_length=30, label=_("Business type"))
    metric = forms.CharField(required=False, max_length=20, label=_("Time limit"))
    tone = forms.ChoiceField(required=False, choices=BOARD_TONE_CHOICES, label=_("Limit status"))
    sort = forms.ChoiceField(required=False, choices=BOARD_SORT_CHOICES, label=_("Sort"))
    page = forms.IntegerField(required=False, min_value=1, max_value=100000, label=_("Page"))
    npage = forms.IntegerField(required=False, min_value=1, max_value=100000, label=_("Page"))

    def query(self):
        from hotline.workorders.selectors import BoardQuery

        d = self.cleaned_data if self.is_valid() else {}
        return BoardQuery(unit_id=d.get("unit"), type_code=d.get("type") or "", metric=d.get("metric") or "",
                          tone=d.get("tone") or "", sort=d.get("sort") or "overdue", page=d.get("page") or 1,
                          notice_page=d.get("npage") or 1)


BOARD_ACTIONS = ("reassign", "remind", "escalate")


class BoardActionForm(NamedErrorsForm):
    action = forms.ChoiceField(choices=[(a, a) for a in BOARD_ACTIONS], label=_("Action"))
    unit_id = forms.IntegerField(required=False, min_value=1, label=_("Unit"))
    reason = forms.CharField(required=False, max_length=500, label=_("Reason"))
    text = forms.CharField(required=False, max_length=300, label=_("Text"))
