from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "hotline.core"
    label = "core"
    verbose_name = _("System")

    def ready(self):
        from hotline.core import checks  # noqa: F401  registers the system checks
        from hotline.core import periodic
        from hotline.core.outbox import checks as outbox_checks  # noqa: F401  registers the settings check
        from hotline.core.outbox import conf as outbox_conf
        from hotline.core.outbox.delivery import delivery_task

        # Outbox delivery shares its rows out with SKIP LOCKED: up to eight
        # workers may drain a backlog side by side.
        periodic.register("outbox", interval=outbox_conf.load().interval, func=delivery_task, concurrency=8,
                          lease_seconds=300)
        from hotline.core import ratelimit

        periodic.register("core.ratelimit", interval=600.0, func=ratelimit.cleanup_task)
