from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationConfig(AppConfig):
    name = "hotline.organisation"
    label = "organisation"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from hotline.core.cache import clear_on_change
        from hotline.organisation.models import ApiToken, ServiceArea, Unit, User

        # Tokens, service areas and units are cached per process.
        clear_on_change(ApiToken, ServiceArea, Unit)
        clear_on_change(User, ignore_fields=frozenset({"last_login"}))
