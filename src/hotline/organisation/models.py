"""Organisation tree, users and roles, service areas and customers."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Right
from django.utils.translation import gettext_lazy as _

from hotline.core import clock


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("Province company")
    CITY = "city", _("City company")
    COUNTY = "county", _("County company")
    CENTER = "center", _("Customer service center")
    DISPATCH_DESK = "dispatch_desk", _("Dispatch desk")
    STATION = "station", _("Supply station")
    CREW = "crew", _("Repair crew")
    DEPARTMENT = "department", _("Department")


class Unit(models.Model):
    """A node of the organisation tree.

    ``path`` is a materialised path ("/1/4/9/") so that "this unit and
    everything under it" is one indexed prefix query on both databases.
    """

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent"))
    path = models.CharField(max_length=255, db_index=True, editable=False, default="", verbose_name=_("tree path"))
    depth = models.PositiveSmallIntegerField(default=0, editable=False, verbose_name=_("depth"))
    # Department function, used by routing ("marketing", "discipline", "metering", ...).
    function = models.CharField(_("function"), max_length=40, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=40, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Unit]:
        ids = [int(x) for x in self.path.strip("/").split("/") if x][:-1]
        by_id = {u.id: u for u in Unit.objects.filter(id__in=ids)}
        return [by_id[i] for i in ids if i in by_id]

    def is_within(self, other: Unit) -> bool:
        """True if self is other or below it."""
        return self.path.startswith(other.path)


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    SHIFT_LEADER = "shift_leader", _("Shift leader")
    DIRECTOR = "director", _("Center director")
    EXPERT = "expert", _("Expert")
    UNIT_STAFF = "unit_staff", _("Unit staff")
    INSPECTOR = "inspector", _("Quality inspector")
    ADMIN = "admin", _("Administrator")


CENTER_ROLES = frozenset({Role.AGENT, Role.SHIFT_LEADER, Role.DIRECTOR})


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("unit"),
                             help_text=_("The user sees this unit and everything below it."))
    display_name = models.CharField(_("display name"), max_length=60, blank=True, default="")
    agent_number = models.CharField(_("agent number"), max_length=20, blank=True, default="")
    stars = models.PositiveSmallIntegerField(_("star rating"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_center_role(self) -> bool:
        return self.role in CENTER_ROLES


class AreaLevel(models.TextChoices):
    TOWNSHIP = "township", _("Township")
    VILLAGE = "village", _("Village")
    TRANSFORMER_AREA = "transformer_area", _("Transformer area")


class AreaClass(models.TextChoices):
    URBAN = "urban", _("Urban")
    RURAL = "rural", _("Rural")
    REMOTE = "remote", _("Remote")


class ServiceArea(models.Model):
    """Geography a unit serves: township → village → transformer area."""

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True)
    level = models.CharField(_("level"), max_length=20, choices=AreaLevel.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent"))
    area_class = models.CharField(_("area class"), max_length=10, choices=AreaClass.choices, default=AreaClass.URBAN)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="service_areas", verbose_name=_("responsible unit"))
    full_name = models.CharField(_("full name"), max_length=300, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("service area")
        verbose_name_plural = _("service areas")

    def __str__(self) -> str:
        return self.full_name or self.name


class SpecialMark(models.TextChoices):
    NONE = "", _("None")
    MALICIOUS = "malicious", _("Malicious caller")
    THEFT = "theft", _("Electricity theft")
    ARREARS = "arrears", _("Arrears")


class Customer(models.Model):
    account_number = models.CharField(_("account number"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=300)
    service_area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, null=True, blank=True, related_name="customers", verbose_name=_("service area"))
    special_mark = models.CharField(_("special mark"), max_length=20, choices=SpecialMark.choices, blank=True, default="")
    created_at = models.DateTimeField(default=clock.now, editable=False, verbose_name=_("created at"))

    class Meta:
        ordering = ["account_number"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["address"], name="customer_address_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"


class CustomerPhone(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones", verbose_name=_("customer"))
    number = models.CharField(_("number"), max_length=20, db_index=True, help_text=_("Normalised"))
    extension = models.CharField(_("extension"), max_length=8, blank=True, default="")
    raw = models.CharField(_("as entered"), max_length=40, blank=True, default="")
    # The last four digits, kept by the database: a lookup by a phone tail is
    # an indexed equality (then a suffix test on the few rows it finds).
    tail = models.GeneratedField(expression=Right("number", 4), output_field=models.CharField(max_length=4), db_persist=True,
                                 db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "number", "extension"], name="customer_phone_unique")]
        verbose_name = _("customer phone")
        verbose_name_plural = _("customer phones")

    def __str__(self) -> str:
        return f"{self.number}-{self.extension}" if self.extension else self.number


class MarkedNumber(models.Model):
    """A phone number marked (e.g. harassing) so the next call shows a warning."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    mark = models.CharField(_("mark"), max_length=20, choices=SpecialMark.choices)
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("reviewed by"))
    created_at = models.DateTimeField(default=clock.now, editable=False, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("marked number")
        verbose_name_plural = _("marked numbers")


class ApiToken(models.Model):
    """Bearer token for the JSON API. Only a hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=60)
    key_hash = models.CharField(max_length=64, unique=True, verbose_name=_("key hash"))
    prefix = models.CharField(max_length=8, verbose_name=_("prefix"))
    created_at = models.DateTimeField(default=clock.now, editable=False, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    revoked = models.BooleanField(default=False, verbose_name=_("revoked"))

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
