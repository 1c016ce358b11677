"""Reads: business types, life-cycles and the time-limit rules that apply
to an order."""

from __future__ import annotations

from hotline.catalog.lifecycle import Lifecycle, parse_lifecycle
from hotline.catalog.models import BusinessType, HandlingField, LifecycleVersion, PolicyVersion, SubClass, TimeLimitRule
from hotline.core import cache

# The cache keys' first parts, one per kind of answer (hotline.core.cache
# empties them all on every configuration save). Module constants: a key's
# name is not a rule, so mutation testing leaves them alone.
_K_TYPE = "business-type"
_K_SUB_CLASS = "sub-class"
_K_HAS_SUB_CLASSES = "has-sub-classes"
_K_HANDLING = "handling-fields"
_K_LIFECYCLE = "lifecycle"
_K_LIFECYCLE_VERSION = "lifecycle-version"
_K_LIFECYCLE_OF_VERSION = "lifecycle-of-version"
_K_RULES = "rules"
_K_PUBLISHED = "version-published"


def business_type(code: str) -> BusinessType | None:
    """An active business type by code (cached a few seconds)."""
    return cache.get((_K_TYPE, code), lambda: BusinessType.objects.filter(code=code, active=True).first())


def sub_class(business_type_id: int, code: str) -> SubClass | None:
    return cache.get((_K_SUB_CLASS, business_type_id, code), lambda: SubClass.objects.select_related("parent").filter(
        business_type_id=business_type_id, code=code, active=True).first())


def has_sub_classes(business_type_id: int) -> bool:
    return cache.get((_K_HAS_SUB_CLASSES, business_type_id),
                     lambda: SubClass.objects.filter(business_type_id=business_type_id, active=True).exists())


def handling_fields(business_type_id: int, action: str | None = None) -> list[HandlingField]:
    """The active items of a type's handling record, in the order asked;
    only those asked on ``action`` when given (cached like the types)."""
    items = cache.get((_K_HANDLING, business_type_id), lambda: list(
        HandlingField.objects.filter(business_type_id=business_type_id, active=True).order_by("action", "sort_order", "id")))
    return items if action is None else [f for f in items if f.action == action]


def lifecycle(bt: BusinessType) -> Lifecycle:
    return cache.get((_K_LIFECYCLE, bt.pk, repr(bt.lifecycle)), lambda: parse_lifecycle(bt.lifecycle))


def current_lifecycle_version(bt: BusinessType) -> LifecycleVersion:
    """The version of ``bt``'s life-cycle a new order is created under.

    Admin saves and ``install_defaults`` record a version whenever the
    life-cycle changes; one changed some other way (a shell, a script) gets
    its version here, the first time an order needs it. Versions never
    change, so the answer for a given life-cycle is kept for good.
    """
    from hotline.catalog import services

    key = (_K_LIFECYCLE_VERSION, bt.pk, repr(bt.lifecycle))
    return cache.get(key, lambda: services.record_lifecycle_version(business_type=bt), ttl=None)


def lifecycle_of_version(version_id: int) -> Lifecycle:
    """The parsed life-cycle of one recorded version (immutable: cached for good)."""
    def load():
        return parse_lifecycle(LifecycleVersion.objects.values_list("definition", flat=True).get(pk=version_id))
    return cache.get((_K_LIFECYCLE_OF_VERSION, version_id), load, ttl=None)


def _version_rules(version_id: int, business_type_id: int) -> list[TimeLimitRule]:
    key = (_K_RULES, version_id, business_type_id)
    def load():
        return list(TimeLimitRule.objects.filter(version_id=version_id, business_type_id=business_type_id))
    published = cache.get((_K_PUBLISHED, version_id), lambda: PolicyVersion.objects.filter(
        pk=version_id, published_at__isnull=False).exists())
    # A published version is frozen, so its rules can be kept for good.
    return cache.get(key, load, ttl=None if published else cache.TTL_SECONDS)


def rules_for(*, version: PolicyVersion | int, business_type: BusinessType, sub_class: SubClass | None,
              priority: str, area_class: str) -> dict[str, TimeLimitRule]:
    """The most specific matching rule per metric, by the declared order of
    ``TimeLimitRule.specificity_key``: the nearest sub-class (a rule for a
    parent sub-class also matches its children), then priority, then area
    class. Duplicates are refused on save, so no two matches ever tie.
    """
    version_id = version if isinstance(version, int) else version.pk
    lineage = sub_class.lineage_ids() if sub_class is not None else []
    best: dict[str, tuple[tuple[int, int, int], TimeLimitRule]] = {}
    for rule in _version_rules(version_id, business_type.pk):
        if rule.sub_class_id and rule.sub_class_id not in lineage:
            continue
        if rule.priority and rule.priority != priority:
            continue
        if rule.area_class and rule.area_class != area_class:
            continue
        key = rule.specificity_key(lineage)
        if rule.metric not in best or key > best[rule.metric][0]:
            best[rule.metric] = (key, rule)
    return {metric: rule for metric, (_, rule) in best.items()}
