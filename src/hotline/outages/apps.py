from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    name = "hotline.outages"
    label = "outages"
    verbose_name = _("Outage notices")

    def ready(self) -> None:
        from hotline.organisation.models import Role
        from hotline.web import nav

        # Outage notices are public information: every member of staff reads
        # them (agents answer callers from them); who may publish is
        # outages.access.
        nav.register("outages", _("Outages"), "outages:list", roles=[r.value for r in Role], order=50,
                     active_for=("outages:",))
