import math

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def pct(value, digits=1):
    """0.834 -> '83.4%'; blank for None/NaN."""
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(number):
        return "–"
    return f"{number * 100:.{int(digits)}f}%"


@register.filter
def svg(markup):
    """Charts from planning.charts: built and escaped in Python, so safe to embed."""
    return mark_safe(markup)  # noqa: S308 - every text in it is escaped by charts.chart()
