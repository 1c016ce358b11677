from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimeLimitsConfig(AppConfig):
    name = "hotline.timelimits"
    label = "timelimits"
    verbose_name = _("Time limits and supervision")
