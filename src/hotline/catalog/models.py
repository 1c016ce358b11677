"""Business types, their sub-class trees and life-cycles, and versioned
time-limit policies. All of it is data an administrator edits."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Routing(models.TextChoices):
    AREA = "area", _("Unit serving the address")
    FUNCTION = "function", _("Department by function")
    NONE = "none", _("Stays with the agent")


class CallbackRule(models.TextChoices):
    ALWAYS = "always", _("Always")
    IF_WANTED = "if_wanted", _("If the customer wants one")
    NEVER = "never", _("Never")


class BusinessType(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    number_prefix = models.CharField(_("number prefix"), max_length=4, help_text=_("Leading letters of order numbers"))
    priorities = models.JSONField(_("priorities"), default=list, blank=True,
                                  help_text=_('List of [code, label], most urgent first, e.g. [["urgent", "紧急"], ["normal", "一般"]]'))
    routing = models.CharField(_("routing"), max_length=10, choices=Routing.choices, default=Routing.AREA)
    routing_function = models.CharField(_("department function"), max_length=40, blank=True, default="")
    callback = models.CharField(_("callback"), max_length=10, choices=CallbackRule.choices, default=CallbackRule.ALWAYS)
    mergeable = models.BooleanField(_("duplicates merge"), default=False)
    restricted_reporter = models.BooleanField(_("reporter identity restricted"), default=False)
    lifecycle = models.JSONField(_("life-cycle"), help_text=_("Transitions: list of {action, from, to, by}"))
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("business type")
        verbose_name_plural = _("business types")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from hotline.catalog.lifecycle import LifecycleError, parse_lifecycle

        try:
            parse_lifecycle(self.lifecycle)
        except LifecycleError as exc:
            raise ValidationError({"lifecycle": str(exc)}) from exc

    def priority_codes(self) -> list[str]:
        return [p[0] for p in self.priorities or []]


class SubClass(models.Model):
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="sub_classes", verbose_name=_("business type"))
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    routing_function = models.CharField(_("department function"), max_length=40, blank=True, default="",
                                        help_text=_("Overrides the type's routing, e.g. conduct complaints go to discipline"))
    default_priority = models.CharField(_("default priority"), max_length=20, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["business_type", "sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["business_type", "code"], name="subclass_code_unique")]
        verbose_name = _("sub-class")
        verbose_name_plural = _("sub-classes")

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    def lineage_ids(self) -> list[int]:
        ids, node = [], self
        while node is not None:
            ids.append(node.id)
            node = node.parent
        return ids


class PolicyVersion(models.Model):
    """A frozen set of time-limit rules. Orders keep the version they were
    created under; editing means publishing a new version."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("time-limit policy version")
        verbose_name_plural = _("time-limit policy versions")

    def __str__(self) -> str:
        return f"v{self.number}" + ("" if self.published_at else " (draft)")


class Metric(models.TextChoices):
    DISPATCH = "dispatch", _("Dispatch")
    ACCEPT = "accept", _("Unit accepts")
    REDISPATCH = "redispatch", _("Re-dispatch after return")
    ARRIVAL = "arrival", _("Arrival on site")
    RESTORATION = "restoration", _("Restoration")
    CONTACT = "contact", _("Contact the customer")
    REPLY = "reply", _("Reply")
    CALLBACK = "callback", _("Callback")
    REVIEW = "review", _("Center review")


class Responsible(models.TextChoices):
    UNIT = "unit", _("Handling unit")
    CENTER = "center", _("Center")


class TimeLimitRule(models.Model):
    """One limit of one metric. Blank type/sub-class/priority/area class
    match anything; the most specific matching rule wins."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="rules")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="time_limit_rules")
    sub_class = models.ForeignKey(SubClass, on_delete=models.PROTECT, null=True, blank=True)
    priority = models.CharField(_("priority"), max_length=20, blank=True, default="")
    area_class = models.CharField(_("area class"), max_length=10, blank=True, default="")
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    amount = models.PositiveIntegerField(_("amount"))
    unit = models.CharField(_("unit"), max_length=20, choices=[
        ("minutes", _("minutes")), ("hours", _("hours")), ("calendar_days", _("calendar days")), ("working_days", _("working days"))])
    start_on = models.CharField(_("starts on event"), max_length=30)
    stop_on = models.CharField(_("stops on events"), max_length=120, help_text=_("Comma-separated event kinds"))
    responsible = models.CharField(_("responsible"), max_length=10, choices=Responsible.choices, default=Responsible.UNIT)
    warn_share = models.DecimalField(_("warning share"), max_digits=4, decimal_places=3, default=0.8)
    repeat = models.BooleanField(_("restarts each time"), default=False,
                                 help_text=_("A new clock each time the start event happens (e.g. re-dispatch after every return)"))
    escalation_levels = models.PositiveSmallIntegerField(_("escalation levels"), default=2,
                                                         help_text=_("Supervision notices after the first, each one level further up"))

    class Meta:
        ordering = ["version", "business_type", "metric"]
        verbose_name = _("time-limit rule")
        verbose_name_plural = _("time-limit rules")

    def __str__(self) -> str:
        return f"{self.business_type.code}/{self.metric} {self.amount} {self.unit}"

    def stop_events(self) -> list[str]:
        return [e.strip() for e in self.stop_on.split(",") if e.strip()]

    def specificity(self) -> int:
        return (8 if self.sub_class_id else 0) + (4 if self.priority else 0) + (2 if self.area_class else 0)
