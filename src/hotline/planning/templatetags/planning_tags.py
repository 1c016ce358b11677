import math

from django import template
from django.template.defaultfilters import floatformat
from django.utils.safestring import mark_safe

from hotline.planning import labels

register = template.Library()

MISSING = "—"  # a number that does not exist (no calls, method could not run), never "nan"


def _finite(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@register.filter
def pct(value, digits=1):
    """0.834 -> '83.4%'; a dash for None/NaN."""
    number = _finite(value)
    if number is None:
        return MISSING
    return f"{number * 100:.{int(digits)}f}%"


@register.filter
def num(value, digits=0):
    """floatformat, with a dash for None/NaN/inf."""
    number = _finite(value)
    return MISSING if number is None else floatformat(number, digits)


register.filter("method_label", labels.method)
register.filter("forecast_note", labels.forecast_note)
register.filter("forecast_error", labels.forecast_error)
register.filter("solver_state", labels.solver_state)


@register.filter
def svg(markup):
    """Charts from planning.charts: built and escaped in Python, so safe to embed."""
    return mark_safe(markup)  # noqa: S308 - every text in it is escaped by charts.chart()
