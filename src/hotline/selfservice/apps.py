from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfServiceConfig(AppConfig):
    name = "hotline.selfservice"
    label = "selfservice"
    verbose_name = _("Customer self-service")
