from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkOrdersConfig(AppConfig):
    name = "hotline.workorders"
    label = "workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        from hotline.organisation.signals import unit_moved
        from hotline.workorders.receivers import follow_moved_units

        unit_moved.connect(follow_moved_units, dispatch_uid="workorders-follow-moved-units")
