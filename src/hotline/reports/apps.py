from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The center's KPIs that read more than one domain (orders, calls,
    outages, clocks) and its reports. Nothing imports this app."""

    name = "hotline.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from hotline.core import periodic
        from hotline.reports import policies, services
        from hotline.reports.views import REPORT_ROLES
        from hotline.web import nav

        policies.declare()  # the daily report's targets and schedule (D0a, C4d)
        nav.register("daily-report", _("Daily operations report"), "reports:daily", roles=REPORT_ROLES, order=38,
                     active_for=("reports:",))
        # Yesterday's report to each center's directors and shift leaders, once a
        # morning: one slot for the installation, each mail once by its key (C4e).
        periodic.register("reports.daily", interval=300.0, func=services.daily_task, lease_seconds=600)
