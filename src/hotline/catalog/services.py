"""Writes for business types and time-limit policies."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from hotline.catalog import defaults
from hotline.catalog.lifecycle import parse_lifecycle
from hotline.catalog.models import BusinessType, PolicyVersion, SubClass, TimeLimitRule
from hotline.core import clock


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
        for i, (sub_code, sub_name) in enumerate(subs):
            SubClass.objects.create(business_type=bt, code=sub_code, name=sub_name, sort_order=i,
                                    routing_function=defaults.SUBCLASS_ROUTING.get((code, sub_code), ""))
    version = PolicyVersion.objects.create(number=1, note="national defaults", published_at=clock.now())
    types = {bt.code: bt for bt in BusinessType.objects.all()}
    subs = {(s.business_type.code, s.code): s for s in SubClass.objects.select_related("business_type")}
    for (code, sub, priority, area_class, metric, amount, unit, start_on, stop_on, responsible, repeat) in defaults.RULES:
        TimeLimitRule.objects.create(
            version=version, business_type=types[code], sub_class=subs[(code, sub)] if sub else None,
            priority=priority, area_class=area_class, metric=metric, amount=amount, unit=unit,
            start_on=start_on, stop_on=stop_on, responsible=responsible, repeat=repeat,
        )
    return True


def current_policy_version() -> PolicyVersion:
    from hotline.core import cache

    version = cache.get("policy-current", lambda: PolicyVersion.objects.filter(published_at__isnull=False).order_by("-number").first())
    if version is None:
        raise RuntimeError("no published time-limit policy; run migrations")
    return version


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
    return draft


@transaction.atomic
def publish_version(*, version: PolicyVersion, user=None) -> PolicyVersion:
    if version.published_at is not None:
        raise ValueError("this version is already published")
    version.published_at = clock.now()
    version.published_by = user
    version.save(update_fields=["published_at", "published_by"])
    return version
