"""The two public lookups (D7i), for the page and the API alike: input
checked (``BadQuery`` names the field, in the caller's language), the
answer read through ``selectors``, and the guard against guessing an
order's phone tail (``throttle``). Nothing here writes to the database."""

from __future__ import annotations

from django.utils.translation import gettext as _

from hotline.selfservice import selectors, throttle
from hotline.selfservice.selectors import BadQuery, OrderAnswer, OutageAnswer

__all__ = ["BadQuery", "order_not_found", "order_progress", "outage_lookup", "outage_not_found", "too_many_message"]


def outage_lookup(*, kind, query) -> OutageAnswer | None:
    """Outages over the place of an account, a phone or an address; None
    when nothing matches. Raises BadQuery."""
    return selectors.outage_lookup(selectors.parse_outage_query(kind, query))


def order_progress(*, number, phone_tail) -> OrderAnswer | None:
    """An order's progress, or None — alike for an unknown number, a wrong
    tail, a report and an order locked after too many wrong tails, so the
    answer never tells whether an order exists (no oracle). Raises BadQuery."""
    query = selectors.parse_order_query(number, phone_tail)
    if throttle.order_locked(query.number):
        return None
    order, matches = selectors.find_order(query)
    if order is None:
        return None
    if not matches:
        throttle.order_failure(query.number)
        return None
    return selectors.order_answer(order)


# --- what the page and the API say ------------------------------------------------

def too_many_message(verdict: throttle.Verdict) -> str:
    return (_("Too many lookups: at most %(limit)d in %(window)d seconds. Try again in %(wait)d seconds.")
            % {"limit": verdict.limit, "window": verdict.window, "wait": verdict.wait})


def outage_not_found(kind: str) -> str:
    return {"account": _("No account with this number."),
            "phone": _("No account is registered with this phone number."),
            }.get(kind, _("No service area matches this address; enter the township, village or community name."))


def order_not_found() -> str:
    return _("No order matches this number and phone tail. Check both, or call 95598.")
