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
