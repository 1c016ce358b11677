from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "hotline.catalog"
    label = "catalog"
    verbose_name = _("Business types and time limits")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from hotline.catalog.signals import install_defaults_after_migrate

        post_migrate.connect(install_defaults_after_migrate, sender=self)

        from hotline.catalog.models import BusinessType, HandlingField, LifecycleVersion, PolicyVersion, SubClass, TimeLimitRule
        from hotline.core.cache import clear_on_change

        clear_on_change(BusinessType, SubClass, PolicyVersion, TimeLimitRule, LifecycleVersion, HandlingField)
