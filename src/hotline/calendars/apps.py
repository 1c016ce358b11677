from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarsConfig(AppConfig):
    name = "hotline.calendars"
    label = "calendars"
    verbose_name = _("Calendars")

    def ready(self) -> None:
        from hotline.calendars.models import DayOverride, NoticeHoliday, NoticeWorkday, YearNotice
        from hotline.core.cache import clear_on_change

        clear_on_change(DayOverride, YearNotice, NoticeHoliday, NoticeWorkday)

        from hotline.calendars import sources
        from hotline.core import warmup

        warmup.register("calendars.sources", sources.warm)

        from hotline.organisation.models import Role
        from hotline.web import nav

        # The calendar pages are administrators' (views: roles_required(Role.ADMIN)).
        nav.register("calendars", _("Working-day calendars"), "calendars:years", roles=(Role.ADMIN,), order=80,
                     active_for=("calendars:",))
