"""Forms parse what the browser sent; the rules live in the services, whose
errors come back onto the field they name."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hotline.workorders import services
from hotline.workorders.errors import OrderError
from hotline.workorders.models import FaultScope

def add_service_error(form: forms.Form, exc: OrderError) -> None:
    """Put a service's error next to the field it names (else on top); the
    service said it in the request's language."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


class IntakeForm(forms.Form):
    customer_id = forms.IntegerField(required=False, min_value=1)
    caller_name = forms.CharField(required=False, max_length=100, label=_("Caller name"))
    caller_phone = forms.CharField(required=False, max_length=40, label=_("Caller phone"))
    address = forms.CharField(required=False, max_length=300, label=_("Address"))
    service_area_id = forms.IntegerField(required=False, min_value=1)
    business_type = forms.CharField(max_length=30, label=_("Business type"),
                                    error_messages={"required": _("Choose a business type.")})
    sub_class = forms.CharField(required=False, max_length=40, label=_("Sub-class"))
    priority = forms.CharField(required=False, max_length=20, label=_("Priority"))
    fault_scope = forms.CharField(required=False, max_length=20, label=_("Fault scope"))
    paid_service = forms.BooleanField(required=False, label=_("Paid service, customer told"))
    anonymous = forms.BooleanField(required=False, label=_("Anonymous"))
    reply_wanted = forms.BooleanField(required=False, initial=True, label=_("Reply wanted"))
    description = forms.CharField(required=False, max_length=services.MAX_DESCRIPTION, label=_("Description"))
    # The proposed master the agent kept (D3.4b); empty: a report of its own.
    merge_into = forms.CharField(required=False, max_length=24)

    def to_intake(self) -> services.Intake:
        d = self.cleaned_data
        is_repair = d["business_type"] == "repair"
        return services.Intake(
            business_type=d["business_type"], description=d["description"], sub_class=d["sub_class"],
            priority=d["priority"], customer_id=d["customer_id"], caller_name=d["caller_name"],
            caller_phone=d["caller_phone"], address=d["address"], service_area_id=d["service_area_id"],
            # The scope radios are only on the page for repairs.
            fault_scope=d["fault_scope"] if is_repair else "",
            paid_service=bool(d["paid_service"]) and d["fault_scope"] == FaultScope.CUSTOMER_INTERNAL,
            anonymous=bool(d["anonymous"]), reply_wanted=bool(d["reply_wanted"]), channel="phone",
            merge_into=(d.get("merge_into") or "").strip() if is_repair else "",
        )


class ActionForm(forms.Form):
    """One action on an order; which fields matter depends on the action."""

    action = forms.CharField(max_length=20)
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
        return payload


class NoteForm(forms.Form):
    note = forms.CharField(max_length=2000, error_messages={"required": _("Say what the customer is chasing.")})


class AnswerForm(forms.Form):
    answer = forms.CharField(max_length=500, error_messages={"required": _("Write the answer.")})
