from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "hotline.planning"
    label = "planning"
    verbose_name = _("Workforce planning")

    def ready(self) -> None:
        from hotline.planning import jobs  # noqa: F401  (registers the job handlers)
