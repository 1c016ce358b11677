from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkOrdersConfig(AppConfig):
    name = "hotline.workorders"
    label = "workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        from hotline.organisation.signals import unit_moved
        from hotline.timelimits import history
        from hotline.timelimits import services as engine
        from hotline.timelimits.models import WORK_ORDER
        from hotline.workorders.clocks import claim_orders, lock_order
        from hotline.workorders.receivers import follow_moved_units
        from hotline.workorders.services import append_engine_events

        # Work orders are a subject of the time-limit engine: it writes their
        # notices into the orders' history and locks an order before its
        # clocks, as transitions do.
        history.register(WORK_ORDER, append_engine_events)
        engine.register_subject(WORK_ORDER, claim=claim_orders, lock=lock_order)
        from hotline.workorders import policies

        policies.declare()  # the numbers an administrator may change (D0a)
        from hotline.core import warmup
        from hotline.workorders import duplicates

        warmup.register("workorders.duplicates", duplicates.warm)
        # Orders copy unit paths; a moved unit's orders follow in its transaction.
        unit_moved.connect(follow_moved_units, dispatch_uid="workorders-follow-moved-units")
        self._register_pages()

    @staticmethod
    def _register_pages() -> None:
        from hotline.organisation.models import CENTER_ROLES, Role
        from hotline.web import nav

        # The roles the views let in (views.BOARD_ROLES; web's nav test checks they agree).
        BOARD_ROLES = (Role.SHIFT_LEADER, Role.DIRECTOR)
        nav.register("intake", _("Intake"), "workorders:intake", roles=CENTER_ROLES, order=10)
        nav.register("my-orders", _("My orders"), "workorders:my-orders", roles=CENTER_ROLES, order=20)
        # views.SEARCH_ROLES: the center's roles, inspectors and experts.
        nav.register("search", _("Order search"), "workorders:search", roles=[*CENTER_ROLES, Role.INSPECTOR, Role.EXPERT],
                     order=25)
        nav.register("board", _("Supervision board"), "workorders:board", roles=BOARD_ROLES, order=30)
        nav.register("inbox", _("Unit inbox"), "workorders:inbox", roles=[Role.UNIT_STAFF], order=50)
        nav.register_home("workorders:intake", roles=[Role.AGENT])
        nav.register_home("workorders:board", roles=BOARD_ROLES)
        nav.register_home("workorders:inbox", roles=[Role.UNIT_STAFF])
        # Until their own work pages exist, inspectors and experts start from
        # the orders of their scope (the search lists them, newest first).
        nav.register_home("workorders:search", roles=[Role.INSPECTOR, Role.EXPERT])
