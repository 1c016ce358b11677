from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "hotline.web"
    label = "web"
    verbose_name = _("Web pages")

    def ready(self) -> None:
        from hotline.organisation.models import Role
        from hotline.web import nav

        # The shell's own: Django's admin, for staff (not a role).
        nav.register("admin", _("Administration"), "admin:index", order=90, check=lambda user: user.is_staff)
        nav.register_home("admin:index", roles=[Role.ADMIN])
