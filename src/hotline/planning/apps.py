from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "hotline.planning"
    label = "planning"
    verbose_name = _("Workforce planning")

    def ready(self) -> None:
        from hotline.core.cache import clear_on_change
        from hotline.organisation.models import Role
        from hotline.planning import jobs  # noqa: F401  (registers the job handlers)
        from hotline.planning.models import Queue
        from hotline.web import nav

        # A queue's center decides whose wallboard counts it: an edit reaches
        # every process's configuration cache within seconds.
        clear_on_change(Queue)

        # views.PLANNER_ROLES (web's nav test checks they agree); every planning page marks the entry.
        nav.register("planning", _("Planning"), "planning:home", roles=(Role.SHIFT_LEADER, Role.DIRECTOR, Role.ADMIN),
                     order=40, active_for=("planning:",))
