from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DayOverride(models.Model):
    """An administrator's decision about one date, over the holiday library.

    The State Council publishes next year's holidays each winter; until the
    library catches up, the administrator enters them here.
    """

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=60, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")

    def __str__(self) -> str:
        return f"{self.date} {'work' if self.is_working_day else 'off'} {self.name}"


class YearNotice(models.Model):
    """A year's State Council notice as the administrator entered it.

    Once entered, the year's calendar is this notice alone (its holiday
    ranges off, its adjusted working days on, otherwise Monday to Friday),
    over both holiday libraries; single-date overrides still win.
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    reference = models.CharField(_("notice reference"), max_length=80, blank=True, default="")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   verbose_name=_("entered by"))
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        ordering = ["-year"]
        verbose_name = _("holiday notice")
        verbose_name_plural = _("holiday notices")

    def __str__(self) -> str:
        return f"{self.year} {self.reference}".strip()


class NoticeHoliday(models.Model):
    """One holiday range of a notice: every day from first to last is off."""

    notice = models.ForeignKey(YearNotice, on_delete=models.CASCADE, related_name="holidays",
                               verbose_name=_("holiday notice"))
    name = models.CharField(_("holiday name"), max_length=60)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))

    class Meta:
        ordering = ["first_day"]
        constraints = [models.CheckConstraint(condition=models.Q(first_day__lte=models.F("last_day")),
                                              name="calendars_holiday_range_ordered")]
        verbose_name = _("notice holiday")
        verbose_name_plural = _("notice holidays")

    def __str__(self) -> str:
        return f"{self.name} {self.first_day}–{self.last_day}"


class NoticeWorkday(models.Model):
    """A weekend day the notice makes a working day (调休上班)."""

    notice = models.ForeignKey(YearNotice, on_delete=models.CASCADE, related_name="workdays",
                               verbose_name=_("holiday notice"))
    date = models.DateField(_("date"), unique=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("adjusted working day")
        verbose_name_plural = _("adjusted working days")

    def __str__(self) -> str:
        return str(self.date)
