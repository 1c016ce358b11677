from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "hotline.calls"
    label = "calls"
    verbose_name = _("Calls and agents")

    def ready(self) -> None:
        from hotline.calls import policies, services
        from hotline.core import periodic

        policies.declare()  # service level T, short abandon S, ring limits and cycle (D0a)
        # Events that could not be placed yet (an agent not known, an end
        # before its queue entry) are tried again; none is dropped (C1i).
        periodic.register("calls.retry", interval=60.0, func=services.retry_task, lease_seconds=300)
        self._register_wallboard()

    @staticmethod
    def _register_wallboard() -> None:
        from hotline.calls import wallboard
        from hotline.calls.views_wallboard import WALLBOARD_ROLES
        from hotline.web import nav

        wallboard.declare()  # its service-level and answer-rate targets (D0a)
        # The wallboards for shift leaders and directors (C4a); each opens full screen.
        nav.register("wallboard", _("Wallboard"), "calls:wallboard-index", roles=WALLBOARD_ROLES, order=35)
