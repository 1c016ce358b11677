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
