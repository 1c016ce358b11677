"""Business types, their sub-class trees and life-cycles, and versioned
time-limit policies. All of it is data an administrator edits."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
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
    sort_order = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort order"))

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("business type")
        verbose_name_plural = _("business types")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from hotline.catalog.lifecycle import LifecycleError, parse_lifecycle

        try:
            lifecycle = parse_lifecycle(self.lifecycle)
        except LifecycleError as exc:
            raise ValidationError({"lifecycle": str(exc)}) from exc
        if self.pk is None:
            return
        # The rules new orders will use must still name events of the new
        # life-cycle; published older versions keep the life-cycle they had.
        current = PolicyVersion.objects.filter(published_at__isnull=False).order_by("-number").values_list("pk", flat=True)[:1]
        live = TimeLimitRule.objects.filter(business_type=self).filter(
            models.Q(version__published_at__isnull=True) | models.Q(version__in=list(current))).select_related("version")
        events = lifecycle.events()
        for rule in live:
            missing = [e for e in [rule.start_on, *rule.stop_events()] if e not in events]
            if missing:
                raise ValidationError({"lifecycle": gettext(
                    "time-limit rule “%(rule)s” of policy %(version)s starts or stops on “%(events)s”, "
                    "which this life-cycle no longer has: change the rule first") % {
                    "rule": f"{self.code}/{rule.metric}", "version": rule.version, "events": ", ".join(missing)}})

    def priority_codes(self) -> list[str]:
        return [p[0] for p in self.priorities or []]


class SubClass(models.Model):
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="sub_classes",
                                      verbose_name=_("business type"))
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("parent"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    routing_function = models.CharField(_("department function"), max_length=40, blank=True, default="",
                                        help_text=_("Overrides the type's routing, e.g. conduct complaints go to discipline"))
    default_priority = models.CharField(_("default priority"), max_length=20, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort order"))

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


class FieldKind(models.TextChoices):
    TEXT = "text", _("Text")
    CHOICE = "choice", _("Choice from a list")
    DATETIME = "datetime", _("Date and time")
    BOOLEAN = "boolean", _("Yes or no")


class RecordAction(models.TextChoices):
    """The actions on which a handling unit records what it found and did."""

    RESOLVE = "resolve", _("Resolved")
    REPLY = "reply", _("Reply")


MAX_TEXT_LENGTH = 4000


class HandlingField(models.Model):
    """One item of the handling record (处理记录) a unit keeps when it
    resolves or replies to an order of the type: a repair's fault cause and
    measures, a complaint's findings and responsibility. Asked by the
    inbox and order pages and the API, checked by ``workorders.handling``,
    kept in the action's event and on the order. An item no longer wanted
    is deactivated: what was recorded keeps its label in the history."""

    business_type = models.ForeignKey(BusinessType, on_delete=models.CASCADE, related_name="handling_fields",
                                      verbose_name=_("business type"))
    action = models.CharField(_("asked on"), max_length=20, choices=RecordAction.choices, default=RecordAction.REPLY)
    code = models.SlugField(_("code"), max_length=40, help_text=_("The item's key in the record and the API (letters, digits, _ and -), e.g. customer_opinion"))
    label = models.CharField(_("label"), max_length=60, help_text=_("As the unit and the callback agent read it, e.g. 故障原因"))
    kind = models.CharField(_("kind"), max_length=10, choices=FieldKind.choices, default=FieldKind.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True,
                               help_text=_('A choice only: list of [code, label], e.g. [["tree", "树障"], ["lightning", "雷击"]]'))
    required = models.BooleanField(_("required"), default=True)
    max_length = models.PositiveSmallIntegerField(_("longest text"), default=500,
                                                  validators=[MinValueValidator(1), MaxValueValidator(MAX_TEXT_LENGTH)],
                                                  help_text=_("A text only: at most this many characters"))
    action_time = models.BooleanField(
        _("time of the action"), default=False,
        help_text=_("A date and time only: the time the action itself happened (a repair's restoration: the crew's "
                    "reported completion time, D3.6d); left empty it is the time of recording"))
    hint = models.CharField(_("hint"), max_length=200, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort order"))

    class Meta:
        ordering = ["business_type", "action", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["business_type", "code"], name="handling_field_code_unique",
                                               violation_error_message=_("this business type already has an item with this code"))]
        verbose_name = _("handling-record item")
        verbose_name_plural = _("handling-record items")

    def __str__(self) -> str:
        return self.label

    def choice_codes(self) -> list[str]:
        return [c[0] for c in self.choices or []]

    def choice_label(self, code: str) -> str:
        for c in self.choices or []:
            if c[0] == code:
                return c[1]
        return code

    def clean(self) -> None:
        """Refuse an item the services could not ask as meant (every message
        names its field)."""
        from hotline.catalog.lifecycle import LifecycleError, parse_lifecycle

        errors: dict[str, str] = {}
        if self.kind == FieldKind.CHOICE:
            problem = _choices_problem(self.choices)
            if problem:
                errors["choices"] = problem
        elif self.choices:
            errors["choices"] = gettext("only a choice has a list of choices: empty it or make the item a choice")
        if self.action_time and self.kind != FieldKind.DATETIME:
            errors["action_time"] = gettext("only a date and time can be the time of the action")
        bt = self.business_type if self.business_type_id else None
        if bt is not None:
            try:
                actions = parse_lifecycle(bt.lifecycle).actions()
            except LifecycleError:
                actions = None  # the business type's own validation reports it
            if actions is not None and self.action and self.action not in actions:
                errors["action"] = gettext("the %(type)s life-cycle has no action “%(action)s”") % {
                    "type": bt.name, "action": self.get_action_display()}
            if self.action_time and self.active:
                other = HandlingField.objects.filter(business_type=bt, action=self.action, action_time=True, active=True)
                if self.pk:
                    other = other.exclude(pk=self.pk)
                if other.exists():
                    errors["action_time"] = gettext("“%(action)s” already has an item for the time of the action") % {
                        "action": self.get_action_display()}
        if errors:
            raise ValidationError(errors)


def _choices_problem(choices: object) -> str | None:
    if not isinstance(choices, list) or not choices:
        return gettext('give the choices as a list of [code, label], e.g. [["tree", "树障"]]')
    seen = set()
    for i, item in enumerate(choices, start=1):
        if (not isinstance(item, (list, tuple)) or len(item) != 2 or not all(isinstance(x, str) and x.strip() for x in item)):
            return gettext("choice %(index)d must be [code, label], both filled in") % {"index": i}
        if item[0] in seen:
            return gettext("the code “%(code)s” appears twice") % {"code": item[0]}
        seen.add(item[0])
    return None


class LifecycleVersion(models.Model):
    """A business type's life-cycle as it was from ``created_at`` on. An
    order keeps the version it was created under (spec D0b). Immutable."""

    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="lifecycle_versions",
                                      verbose_name=_("business type"))
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("life-cycle"))
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))

    class Meta:
        ordering = ["business_type", "-number"]
        constraints = [models.UniqueConstraint(fields=["business_type", "number"], name="lifecycle_version_unique")]
        verbose_name = _("life-cycle version")
        verbose_name_plural = _("life-cycle versions")

    def __str__(self) -> str:
        return f"{self.business_type_id}/v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(gettext("a life-cycle version is never changed: edit the business type to record a new one"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(gettext("a life-cycle version is never deleted: orders were created under it"))


class PolicyVersion(models.Model):
    """A frozen set of time-limit rules. Orders keep the version they were
    created under; editing means publishing a new version."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     verbose_name=_("published by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-number"]
        verbose_name = _("time-limit policy version")
        verbose_name_plural = _("time-limit policy versions")

    def __str__(self) -> str:
        return f"v{self.number}" + ("" if self.published_at else " (draft)")

    def save(self, *args, **kwargs):
        # Published is final: only the publishing save itself writes it.
        if self.pk is not None and PolicyVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists():
            raise ValidationError(gettext("policy %(version)s is published and cannot change: draft a new version") % {
                "version": f"v{self.number}"})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if PolicyVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists():
            raise ValidationError(gettext("policy %(version)s is published and cannot be deleted") % {"version": f"v{self.number}"})
        return super().delete(*args, **kwargs)


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
    ESTIMATE = "estimate", _("Estimated restoration reported")
    PROGRESS_FIRST = "progress_first", _("First progress report of a long repair")
    PROGRESS = "progress", _("Progress report")


class Responsible(models.TextChoices):
    UNIT = "unit", _("Handling unit")
    CENTER = "center", _("Center")


class DurationUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    CALENDAR_DAYS = "calendar_days", _("calendar days")
    WORKING_DAYS = "working_days", _("working days")


class TimeLimitRule(models.Model):
    """One limit of one metric. Blank type/sub-class/priority/area class
    match anything; the most specific matching rule wins.

    Specificity is declared, not weighed, and total (``specificity_key``):
    first the sub-class (the order's own sub-class, then its parent, …,
    then no sub-class), then a matching priority over none, then a matching
    area class over none. Two rules of one version with the same type,
    metric, sub-class, priority and area class are refused on save, so two
    matching rules always differ in that order and never tie.
    """

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="rules",
                                verbose_name=_("policy version"))
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, related_name="time_limit_rules",
                                      verbose_name=_("business type"))
    sub_class = models.ForeignKey(SubClass, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("sub-class"))
    priority = models.CharField(_("priority"), max_length=20, blank=True, default="")
    area_class = models.CharField(_("area class"), max_length=10, blank=True, default="")
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    amount = models.PositiveIntegerField(_("amount"), validators=[MinValueValidator(1)])
    unit = models.CharField(_("unit"), max_length=20, choices=DurationUnit.choices)
    start_on = models.CharField(_("starts on event"), max_length=30)
    stop_on = models.CharField(_("stops on events"), max_length=120, help_text=_("Comma-separated event kinds"))
    responsible = models.CharField(_("responsible"), max_length=10, choices=Responsible.choices, default=Responsible.UNIT)
    warn_share = models.DecimalField(_("warning share"), max_digits=4, decimal_places=3, default=Decimal("0.8"),
                                     help_text=_("Share of the limit at which the warning is raised, between 0 and 1"))
    repeat = models.BooleanField(_("restarts each time"), default=False,
                                 help_text=_("A new clock each time the start event happens (e.g. re-dispatch after every return)"))
    escalation_levels = models.PositiveSmallIntegerField(_("escalation levels"), default=2,
                                                         help_text=_("Supervision notices after the first, each one level further up"))
    escalation_gap_minutes = models.PositiveIntegerField(
        _("escalation gap (minutes)"), null=True, blank=True, validators=[MinValueValidator(1)],
        help_text=_("Time between a supervision notice and the next escalation; empty: the limit's own length"))

    class Meta:
        ordering = ["version", "business_type", "metric"]
        constraints = [
            # One rule per (type, metric, sub-class, priority, area class) in a
            # version: a second would tie with it (see the class docstring).
            models.UniqueConstraint(
                "version", "business_type", "metric", Coalesce("sub_class", models.Value(0), output_field=models.BigIntegerField()), "priority", "area_class",
                name="time_limit_rule_unambiguous",
                violation_error_message=_("this version already has a rule for the same business type, metric, "
                                          "sub-class, priority and area class: edit that rule instead")),
        ]
        verbose_name = _("time-limit rule")
        verbose_name_plural = _("time-limit rules")

    def __str__(self) -> str:
        return f"{self.business_type.code}/{self.metric} {self.amount} {self.get_unit_display()}"

    def stop_events(self) -> list[str]:
        return [e.strip() for e in self.stop_on.split(",") if e.strip()]

    def specificity_key(self, lineage: list[int]) -> tuple[int, int, int]:
        """Larger is more specific; ``lineage`` is the order's sub-class and
        its ancestors, nearest first (``SubClass.lineage_ids``). Only for a
        rule that matches the order."""
        sub_rank = len(lineage) - lineage.index(self.sub_class_id) if self.sub_class_id in lineage else 0
        return (sub_rank, 1 if self.priority else 0, 1 if self.area_class else 0)

    def escalation_seconds(self, span_seconds: float) -> int:
        """Seconds between supervision notices of a clock whose limit lasts
        ``span_seconds``: the configured gap, else the limit's own length."""
        if self.escalation_gap_minutes:
            return self.escalation_gap_minutes * 60
        return max(60, int(span_seconds))

    def save(self, *args, **kwargs):
        if PolicyVersion.objects.filter(pk=self.version_id, published_at__isnull=False).exists():
            raise ValidationError(gettext("policy %(version)s is published and its rules cannot change: draft a new version") % {
                "version": self.version})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if PolicyVersion.objects.filter(pk=self.version_id, published_at__isnull=False).exists():
            raise ValidationError(gettext("policy %(version)s is published and its rules cannot change: draft a new version") % {
                "version": self.version})
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        """Refuse a rule the engine could not run as meant (every message
        names its field)."""
        from hotline.catalog.lifecycle import LifecycleError, parse_lifecycle
        from hotline.organisation.models import AreaClass

        errors: dict[str, str] = {}
        if self.version_id and self.version.published_at is not None:
            errors["version"] = gettext("policy %(version)s is published and its rules cannot change: draft a new version") % {
                "version": self.version}
        if self.amount is not None and self.amount <= 0:
            errors["amount"] = gettext("the limit must be longer than zero")
        if self.unit not in DurationUnit.values:
            errors["unit"] = gettext("must be one of: %(values)s") % {"values": ", ".join(DurationUnit.values)}
        if self.warn_share is None or not (Decimal(0) < Decimal(str(self.warn_share)) < Decimal(1)):
            errors["warn_share"] = gettext("the warning share must lie strictly between 0 and 1, e.g. 0.8")
        if self.area_class and self.area_class not in AreaClass.values:
            errors["area_class"] = gettext("must be empty or one of: %(values)s") % {"values": ", ".join(AreaClass.values)}
        bt = self.business_type if self.business_type_id else None
        if bt is not None:
            if self.priority and self.priority not in bt.priority_codes():
                errors["priority"] = (gettext("%(type)s has no priorities") % {"type": bt.name} if not bt.priority_codes()
                                      else gettext("must be empty or one of: %(values)s") % {"values": ", ".join(bt.priority_codes())})
            if self.sub_class_id and self.sub_class.business_type_id != bt.pk:
                errors["sub_class"] = gettext("“%(value)s” is not a sub-class of %(type)s") % {"value": self.sub_class, "type": bt.name}
            try:
                events = parse_lifecycle(bt.lifecycle).events()
            except LifecycleError:
                events = None  # the business type's own validation reports it
            if events is not None:
                allowed = ", ".join(sorted(events))
                if self.start_on not in events:
                    errors["start_on"] = gettext("“%(event)s” is no action of the %(type)s life-cycle; one of: %(allowed)s") % {
                        "event": self.start_on, "type": bt.name, "allowed": allowed}
                stops = self.stop_events()
                unknown = [e for e in stops if e not in events]
                if not stops:
                    errors["stop_on"] = gettext("name at least one event that stops the clock")
                elif unknown:
                    errors["stop_on"] = gettext("“%(event)s” is no action of the %(type)s life-cycle; one of: %(allowed)s") % {
                        "event": ", ".join(unknown), "type": bt.name, "allowed": allowed}
        if errors:
            raise ValidationError(errors)
