from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    name = "hotline.outages"
    label = "outages"
    verbose_name = _("Outage notices")

    def ready(self) -> None:
        from hotline.outages.access import READER_ROLES
        from hotline.web import nav

        # Agents answer callers from the notices; dispatch, stations and the
        # marketing department publish them (who may is outages.access).
        from hotline.outages import policies

        policies.declare()  # lead times and frequent-outage thresholds (D0a)
        self._subscribe()
        nav.register("outages", _("Outages"), "outages:list", roles=READER_ROLES, order=60, active_for=("outages:",))

    @staticmethod
    def _subscribe() -> None:
        from hotline.core import dispatch
        from hotline.outages import leadtimes, receivers
        from hotline.timelimits import history
        from hotline.timelimits import services as engine

        # Publication lead times (D7b–f) are clocks on the time-limit engine:
        # an outage is one of its subjects.
        dispatch.subscribe("outages.event", leadtimes.on_event)
        history.register(leadtimes.SUBJECT, leadtimes.write_history)
        engine.register_subject(leadtimes.SUBJECT, claim=leadtimes.claim_outages)
        # Intake classifies repair reports by published outages (D3.1d, D7k);
        # a fault notice guards returns (D3.5c).
        dispatch.subscribe("intake.facts", receivers.intake_facts)
        dispatch.subscribe("workorders.return_guard", receivers.return_guard)
