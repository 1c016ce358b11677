"""Writes for business types, life-cycle versions and time-limit policies.

Every administrator's change goes through here and leaves an entry in the
audit trail (``hotline.core.audit``) in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from hotline.catalog import defaults
from hotline.catalog.lifecycle import parse_lifecycle
from hotline.catalog.models import BusinessType, HandlingField, LifecycleVersion, PolicyVersion, SubClass, TimeLimitRule
from hotline.core import clock
from hotline.core.audit import record as audit


@transaction.atomic
def install_defaults() -> bool:
    """Load the national default catalogue into an empty database."""
    if BusinessType.objects.exists():
        return False
    for order, (code, name, prefix, priorities, routing, function, callback, mergeable, restricted, options, subs) in enumerate(defaults.TYPES):
        lifecycle = defaults.lifecycle_for(code, callback, options)
        parse_lifecycle(lifecycle)
        bt = BusinessType.objects.create(
            code=code, name=name, number_prefix=prefix, priorities=priorities, routing=routing,
            routing_function=function, callback=callback, mergeable=mergeable, restricted_reporter=restricted,
            lifecycle=lifecycle, sort_order=order,
        )
        record_lifecycle_version(business_type=bt)
        for i, (sub_code, sub_name) in enumerate(subs):
            SubClass.objects.create(business_type=bt, code=sub_code, name=sub_name, sort_order=i,
                                    routing_function=defaults.SUBCLASS_ROUTING.get((code, sub_code), ""))
        for row in defaults.handling_field_rows(code):
            item = HandlingField(business_type=bt, **row)
            item.full_clean()
            item.save()
    # Rules go into a draft, checked, and the version is published last.
    version = PolicyVersion.objects.create(number=1, note="national defaults")
    types = {bt.code: bt for bt in BusinessType.objects.all()}
    subs = {(s.business_type.code, s.code): s for s in SubClass.objects.select_related("business_type")}
    rules = []
    for (code, sub, priority, area_class, metric, amount, unit, start_on, stop_on, responsible, repeat) in defaults.RULES:
        rule = TimeLimitRule(
            version=version, business_type=types[code], sub_class=subs[(code, sub)] if sub else None,
            priority=priority, area_class=area_class, metric=metric, amount=amount, unit=unit,
            start_on=start_on, stop_on=stop_on, responsible=responsible, repeat=repeat,
        )
        rule.clean()
        rules.append(rule)
    TimeLimitRule.objects.bulk_create(rules)  # the unique constraint refuses ambiguous defaults
    version.published_at = clock.now()
    version.save(update_fields=["published_at"])
    return True


def current_policy_version() -> PolicyVersion:
    from hotline.core import cache

    version = cache.get("policy-current", lambda: PolicyVersion.objects.filter(published_at__isnull=False).order_by("-number").first())
    if version is None:
        raise RuntimeError("no published time-limit policy; run migrations")
    return version


# --- life-cycle versions -------------------------------------------------------

@transaction.atomic
def record_lifecycle_version(*, business_type: BusinessType, user=None) -> LifecycleVersion:
    """The latest version of ``business_type``'s life-cycle, recording a new
    one first if the type's life-cycle differs from it (spec D0b)."""
    # Nearly always the latest version is the type's life-cycle: read it
    # without a lock. This runs inside an order's create the first time a
    # process needs it; a row lock on the type taken there would hold up
    # every other create's foreign-key check on the type while this one waits
    # for the day's number counter, a deadlock (seen at a web server's start).
    latest = LifecycleVersion.objects.filter(business_type_id=business_type.pk).order_by("-number").first()
    current = BusinessType.objects.values_list("lifecycle", flat=True).get(pk=business_type.pk)
    if latest is not None and latest.definition == current:
        return latest
    # The type's row lock serialises two processes recording at once; FOR NO
    # KEY UPDATE leaves the foreign-key checks of orders of the type free.
    locked = BusinessType.objects.select_for_update(no_key=True).only("pk", "lifecycle").get(pk=business_type.pk)
    latest = LifecycleVersion.objects.filter(business_type=locked).order_by("-number").first()
    if latest is not None and latest.definition == locked.lifecycle:
        return latest
    parse_lifecycle(locked.lifecycle)
    version = LifecycleVersion.objects.create(business_type=locked, number=(latest.number + 1) if latest else 1,
                                              definition=locked.lifecycle, created_at=clock.now(),
                                              created_by=user if getattr(user, "pk", None) else None)
    if user is not None:
        audit(user=user, action="lifecycle_version", obj=business_type,
              detail={"code": business_type.code, "version": version.number})
    return version


# --- business types and sub-classes (the admin's saves) ------------------------

def _plain(value: Any) -> Any:
    """A JSON-safe picture of a field value for the audit detail."""
    if isinstance(value, models.Model):
        return {"id": value.pk, "name": str(value)}
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)


def _changes(obj: models.Model, before: models.Model | None, fields: list[str]) -> dict[str, dict]:
    out = {}
    for name in fields:
        old = getattr(before, name) if before is not None else None
        new = getattr(obj, name)
        if before is None or old != new:
            out[name] = {"before": _plain(old), "after": _plain(new)}
    return out


def _before(obj: models.Model) -> models.Model | None:
    return type(obj).objects.filter(pk=obj.pk).first() if obj.pk else None


def _fields(obj: models.Model) -> list[str]:
    return [f.name for f in obj._meta.concrete_fields if f.name != "id"]


@transaction.atomic
def save_business_type(*, business_type: BusinessType, user) -> BusinessType:
    """Validate and save a business type; a changed life-cycle becomes a new
    life-cycle version; the change is audited with before and after."""
    business_type.full_clean()
    before = _before(business_type)
    business_type.save()
    changes = _changes(business_type, before, _fields(business_type))
    audit(user=user, action="business_type_add" if before is None else "business_type_change", obj=business_type,
          detail={"code": business_type.code, "changes": changes})
    record_lifecycle_version(business_type=business_type, user=user)
    return business_type


@transaction.atomic
def delete_business_type(*, business_type: BusinessType, user) -> None:
    audit(user=user, action="business_type_delete", obj=business_type, detail={"code": business_type.code, "name": business_type.name})
    # Orders and recorded life-cycle versions protect a type (PROTECT): the
    # admin shows them and offers nothing to delete; deactivate it instead.
    business_type.delete()


@transaction.atomic
def save_sub_class(*, sub_class: SubClass, user) -> SubClass:
    sub_class.full_clean()
    before = _before(sub_class)
    sub_class.save()
    audit(user=user, action="sub_class_add" if before is None else "sub_class_change", obj=sub_class,
          detail={"business_type": sub_class.business_type.code, "code": sub_class.code,
                  "changes": _changes(sub_class, before, _fields(sub_class))})
    return sub_class


@transaction.atomic
def delete_sub_class(*, sub_class: SubClass, user) -> None:
    audit(user=user, action="sub_class_delete", obj=sub_class,
          detail={"business_type": sub_class.business_type.code, "code": sub_class.code, "name": sub_class.name})
    sub_class.delete()


# --- handling-record items ------------------------------------------------------

@transaction.atomic
def save_handling_field(*, field: HandlingField, user) -> HandlingField:
    """Validate and save one item of a type's handling record; audited."""
    field.full_clean()
    before = _before(field)
    field.save()
    audit(user=user, action="handling_field_add" if before is None else "handling_field_change", obj=field,
          detail={"business_type": field.business_type.code, "code": field.code,
                  "changes": _changes(field, before, _fields(field))})
    return field


@transaction.atomic
def delete_handling_field(*, field: HandlingField, user) -> None:
    """Records made with the item keep its label (they carry it); a center
    that wants the item no longer asked usually deactivates it instead."""
    audit(user=user, action="handling_field_delete", obj=field,
          detail={"business_type": field.business_type.code, "code": field.code, "label": field.label})
    field.delete()


# --- time-limit policies ---------------------------------------------------------

def validate_rule(rule: TimeLimitRule) -> None:
    """Everything a rule must satisfy before it is saved (fields, life-cycle
    events, warning share, no ambiguous duplicate); raises ValidationError
    naming the field."""
    rule.full_clean()


@transaction.atomic
def save_rule(*, rule: TimeLimitRule, user) -> TimeLimitRule:
    validate_rule(rule)
    before = _before(rule)
    rule.save()
    audit(user=user, action="rule_add" if before is None else "rule_change", obj=rule,
          detail={"version": rule.version.number, "rule": f"{rule.business_type.code}/{rule.metric}",
                  "changes": _changes(rule, before, _fields(rule))})
    return rule


@transaction.atomic
def delete_rule(*, rule: TimeLimitRule, user) -> None:
    audit(user=user, action="rule_delete", obj=rule,
          detail={"version": rule.version.number, "rule": f"{rule.business_type.code}/{rule.metric}",
                  "amount": rule.amount, "unit": rule.unit})
    rule.delete()


@transaction.atomic
def save_version_note(*, version: PolicyVersion, note: str, user) -> PolicyVersion:
    before = version.note
    version.note = note
    version.save(update_fields=["note"])
    audit(user=user, action="policy_note", obj=version, detail={"number": version.number, "note": {"before": before, "after": note}})
    return version


@transaction.atomic
def delete_draft(*, version: PolicyVersion, user) -> None:
    if version.published_at is not None:
        raise ValidationError(_("policy %(version)s is published and cannot be deleted") % {"version": version})
    audit(user=user, action="policy_delete_draft", obj=version, detail={"number": version.number})
    version.delete()


@transaction.atomic
def draft_new_version(*, note: str = "", user=None) -> PolicyVersion:
    """Copy the current rules into a new, unpublished version for editing."""
    base = current_policy_version()
    number = (PolicyVersion.objects.aggregate(m=Max("number"))["m"] or 0) + 1
    draft = PolicyVersion.objects.create(number=number, note=note)
    rules = list(base.rules.all())
    for rule in rules:
        rule.pk = None
        rule.version = draft
    TimeLimitRule.objects.bulk_create(rules)
    audit(user=user, action="policy_draft", obj=draft, detail={"number": number, "from_version": base.number, "note": note,
                                                               "rules": len(rules)})
    return draft


@transaction.atomic
def publish_version(*, version: PolicyVersion, user=None) -> PolicyVersion:
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if version.published_at is not None:
        raise ValueError(_("policy %(version)s is already published") % {"version": f"v{version.number}"})
    # Rules may have been edited by other means than save_rule: check them all.
    problems = []
    for rule in version.rules.select_related("business_type", "sub_class", "version"):
        try:
            rule.clean()
        except ValidationError as exc:
            problems.append(f"{rule.business_type.code}/{rule.metric}: " + "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()))
    if problems:
        raise ValidationError(_("policy %(version)s cannot be published: %(problems)s") % {
            "version": f"v{version.number}", "problems": " | ".join(problems)})
    version.published_at = clock.now()
    version.published_by = user if getattr(user, "pk", None) else None
    version.save(update_fields=["published_at", "published_by"])
    audit(user=user, action="policy_publish", obj=version, detail={"number": version.number, "rules": version.rules.count()})
    return version
