"""Words the maths (``hotline.workforce``, no Django) writes in English --
forecast method names and notes, back-test errors, HiGHS solver states --
as the planner's language. Anything unknown gets a plain sentence, never
the English original."""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_lazy as _

METHODS = {
    "seasonal_naive": _("same interval last week (seasonal naive)"),
    "shape": _("day-type profile"),
    "holt_winters": _("exponential smoothing with weekly season"),
}

FORECAST_NOTES = {
    "history partly outside the years any holiday calendar knows: plain weekdays used there":
        _("Part of the history lies in years no holiday calendar knows: those days count as plain weekdays."),
    "horizon partly outside the years any holiday calendar knows: plain weekdays used there":
        _("Part of the forecast lies in years no holiday calendar knows: those days count as plain weekdays."),
    "no public holiday in the history: holidays forecast like Sundays":
        _("The history holds no public holiday: holidays are forecast like Sundays."),
}

# Why a method could not be back-tested (patterns over forecast.py's ValueErrors).
FORECAST_ERRORS = [
    (re.compile(r"^Holt-Winters needs at least two weeks"), _("Needs at least two weeks of history.")),
    (re.compile(r"^not enough history for the shape model"), _("Not enough complete days of each type in the history.")),
    (re.compile(r"^not enough complete ordinary days"), _("Not enough complete ordinary days to estimate the level.")),
    (re.compile(r"^no (observed )?history before the forecast start"), _("No history before the starting point.")),
    (re.compile(r"^history of \d+ days is too short"), _("The history is too short for this back-test.")),
]

SOLVER_STATES = {
    "Optimal": _("optimal"),
    "Time limit reached": _("time limit reached"),
    "Solution limit reached": _("solution limit reached"),
    "Iteration limit reached": _("iteration limit reached"),
    "Interrupted by user": _("interrupted"),
    "Interrupted by HiGHS": _("interrupted"),
    "Memory limit reached": _("memory limit reached"),
    "Infeasible": _("infeasible"),
    "Unbounded": _("unbounded"),
    "Primal infeasible or unbounded": _("infeasible"),
    "Bound on objective reached": _("objective bound reached"),
    "Target for objective reached": _("objective target reached"),
    "Empty": _("empty model"),
    "edited": _("edited by hand"),
}


def method(name: str) -> str:
    return str(METHODS.get(name, gettext("other method")))


def forecast_note(note: str) -> str:
    return str(FORECAST_NOTES.get(note, gettext("The forecast made an assumption the page cannot name.")))


def forecast_error(error: str) -> str:
    for pattern, text in FORECAST_ERRORS:
        if pattern.search(error):
            return str(text)
    return gettext("The method cannot run on this history.")


def solver_state(state: str | None) -> str:
    if not state:
        return "—"
    return str(SOLVER_STATES.get(state, gettext("other state")))
