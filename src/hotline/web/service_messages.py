"""The fixed messages the domain services raise, marked for translation.

The services raise plain English; the pages pass a message through gettext
so that the Chinese catalogue can carry it. Listing them here keeps
makemessages from dropping them. Messages with values in them (f-strings)
are shown as raised.
"""

from django.utils.translation import gettext_noop

MESSAGES = [
    gettext_noop("your account belongs to no unit"),
    gettext_noop("no unit serves this address and no county dispatch desk is configured"),
    gettext_noop("chase-up orders are raised from the order they chase"),
    gettext_noop("choose a sub-class"),
    gettext_noop("describe the request"),
    gettext_noop("no such customer"),
    gettext_noop("no such service area"),
    gettext_noop("classify the fault scope of a repair report"),
    gettext_noop("only repair reports have a fault scope"),
    gettext_noop("a phone number or a customer is required"),
    gettext_noop("only center staff record work orders"),
    gettext_noop("no such order"),
    gettext_noop("only repair reports merge, into a repair report"),
    gettext_noop("the master order is already archived"),
    gettext_noop("no such active unit"),
    gettext_noop("that unit is outside this center's county"),
    gettext_noop("a repair order may only be returned as outside_area or missing_information"),
    gettext_noop("merge into a master order, not into itself or a sub-order"),
    gettext_noop("one of satisfied, basically_satisfied, dissatisfied, unreachable, not_rated"),
    gettext_noop("record the customer's words"),
    gettext_noop("say what the customer is chasing"),
    gettext_noop("only center staff raise chase-ups"),
    gettext_noop("this order belongs to another center"),
    gettext_noop("a closed, merged or cancelled order cannot be chased"),
    gettext_noop("chase the original order, not a chase-up"),
    gettext_noop("you may not see the reporter's identity"),
    gettext_noop("only the handling unit's staff can do this"),
    gettext_noop("this order is not assigned to your unit"),
    gettext_noop("only center staff can do this"),
    gettext_noop("only a shift leader can do this"),
    gettext_noop("an answer text is required"),
    gettext_noop("this notice has already been answered"),
    gettext_noop("warnings need no answer"),
    gettext_noop("this notice is not addressed to your unit"),
    gettext_noop("return needs a reason"),
    gettext_noop("cancel needs a reason"),
    gettext_noop("rework needs a reason"),
    gettext_noop("reopen needs a reason"),
]
