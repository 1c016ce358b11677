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
        self._register_channels()
        self._register_wallboard()
        self._register_desk()
        self._register_contact_parties()

    @staticmethod
    def _register_contact_parties() -> None:
        from hotline.calls import selectors
        from hotline.core import dispatch

        # Work orders link an order to a call only where it is the agent's own
        # (C2c): who answered or is ringing with the contact's calls, and the
        # centers of its queues, are known here.
        dispatch.subscribe("workorders.contact_parties", selectors.contact_parties)

    @staticmethod
    def _register_channels() -> None:
        from hotline.calls.channels import switch
        from hotline.core import channels

        # The desk's commands to the switch (C1a): written to the outbox with
        # their state change, sent by the worker to the source's AMI or ESL.
        channels.register(switch.CHANNEL)

    @staticmethod
    def _register_desk() -> None:
        from hotline.calls.desk import views as desk
        from hotline.organisation.models import Role
        from hotline.web import nav

        # The agent desk: its page, and on every other shell page of those who
        # take calls the state bar and the screen pop (C2a) — the intake page
        # above all, where agents record orders while talking (C2c).
        nav.register("desk", _("Agent desk"), "calls:desk", roles=[Role.AGENT], order=12)
        nav.register_widget("desk", "calls/desk/_widget.html", context=desk.widget_context, check=desk.takes_calls,
                            exclude=("calls:desk",), order=10)

    @staticmethod
    def _register_wallboard() -> None:
        from hotline.calls import wallboard
        from hotline.calls.views_wallboard import WALLBOARD_ROLES
        from hotline.web import nav

        wallboard.declare()  # its service-level and answer-rate targets (D0a)
        # The wallboards for shift leaders and directors (C4a); each opens full screen.
        nav.register("wallboard", _("Wallboard"), "calls:wallboard-index", roles=WALLBOARD_ROLES, order=35)
