from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkOrdersConfig(AppConfig):
    name = "hotline.workorders"
    label = "workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        from hotline.organisation.signals import unit_moved
        from hotline.timelimits import history
        from hotline.timelimits.services import SUBJECT
        from hotline.workorders.receivers import follow_moved_units
        from hotline.workorders.services import append_engine_events

        # The time-limit engine writes its notices into the orders' history.
        history.register(SUBJECT, append_engine_events)
        # Orders copy unit paths; a moved unit's orders follow in its transaction.
        unit_moved.connect(follow_moved_units, dispatch_uid="workorders-follow-moved-units")
