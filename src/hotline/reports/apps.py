from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The center's KPIs that read more than one domain (orders, calls,
    outages, clocks) and its reports. Nothing imports this app."""

    name = "hotline.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        pass
