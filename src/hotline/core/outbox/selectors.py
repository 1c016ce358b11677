"""Reads of the outbox for the administrator's pages."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from hotline.core.models import OutboxMessage, OutboxState
from hotline.core.outbox.services import ACTIVE


def with_blocker(queryset):
    """Annotate ``blocked_by``: for a pending or sending message with an
    ordering key, the oldest older message of its key still pending or
    sending — what the claim waits for (``delivery``). One index probe a row
    (core_outbox_order_idx); NULL for every other message."""
    older = (OutboxMessage.objects.filter(order_key__isnull=False, order_key=OuterRef("order_key"),
                                          state__in=ACTIVE, id__lt=OuterRef("id"))
             .order_by("id").values("id")[:1])
    return queryset.annotate(blocked_by=Subquery(older))


def blocked_reason(message: OutboxMessage) -> str:
    """Why a message waits though it is due, in words ("" when it does not)."""
    if message.state not in ACTIVE or not message.order_key:
        return ""
    blocker_id = getattr(message, "blocked_by", None)
    if blocker_id is None and not hasattr(message, "blocked_by"):
        blocker_id = with_blocker(OutboxMessage.objects.filter(pk=message.pk)).values_list(
            "blocked_by", flat=True).first()
    if blocker_id is None:
        return ""
    blocker = OutboxMessage.objects.filter(pk=blocker_id).only("state", "attempts", "next_attempt_at").first()
    if blocker is None:
        return ""
    if blocker.state == OutboxState.SENDING:
        what = _("being sent")
    elif blocker.attempts:
        what = _("waiting for its retry after %(n)d failed attempts") % {"n": blocker.attempts}
    else:
        what = _("not sent yet")
    return _("Waits for message #%(id)d of the same ordering key (%(what)s): messages of one key go one at a "
             "time, oldest first.") % {"id": blocker_id, "what": what}
