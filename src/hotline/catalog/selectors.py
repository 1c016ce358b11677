"""Reads: which time-limit rules apply to an order."""

from __future__ import annotations

from hotline.catalog.models import BusinessType, PolicyVersion, SubClass, TimeLimitRule


def rules_for(*, version: PolicyVersion | int, business_type: BusinessType, sub_class: SubClass | None,
              priority: str, area_class: str) -> dict[str, TimeLimitRule]:
    """The most specific matching rule per metric.

    Sub-class rules also match orders of a child sub-class; the nearest
    ancestor wins over a farther one.
    """
    version_id = version if isinstance(version, int) else version.pk
    lineage = sub_class.lineage_ids() if sub_class is not None else []
    candidates = TimeLimitRule.objects.filter(version_id=version_id, business_type=business_type)
    best: dict[str, tuple[tuple, TimeLimitRule]] = {}
    for rule in candidates:
        if rule.sub_class_id and rule.sub_class_id not in lineage:
            continue
        if rule.priority and rule.priority != priority:
            continue
        if rule.area_class and rule.area_class != area_class:
            continue
        nearness = -lineage.index(rule.sub_class_id) if rule.sub_class_id else -99
        key = (rule.specificity(), nearness)
        if rule.metric not in best or key > best[rule.metric][0]:
            best[rule.metric] = (key, rule)
    return {metric: rule for metric, (_, rule) in best.items()}
