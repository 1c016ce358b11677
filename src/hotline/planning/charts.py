"""Server-rendered SVG charts: no JavaScript, no chart library, no CDN.

``chart()`` draws one x axis of categories (intervals) with bar, line and
step series, optional shaded bands (e.g. under-coverage) and a dashed
reference line, and returns an ``<svg>`` string. Every text is escaped, so
the result is safe to mark safe in a template.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

PALETTE = {
    "brand": "#00706b",
    "ink": "#1d2733",
    "blue": "#1f5fbf",
    "orange": "#d97706",
    "red": "#c62828",
    "grey": "#9aa5b1",
    "green": "#1f8a4c",
    "purple": "#6236b3",
}
BAND_FILL = {"under": "#fde2e2", "over": "#fff3dc", "storm": "#e6effc", "ok": "#e4f5eb"}


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    kind: Literal["bar", "line", "step"] = "line"
    color: str = "brand"
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    start: int  # first category index
    stop: int  # one past the last
    kind: str = "under"


@dataclass(frozen=True)
class RefLine:
    value: float
    label: str
    color: str = "red"


@dataclass
class Chart:
    labels: Sequence[str]
    series: Sequence[Series]
    title: str = ""
    y_label: str = ""
    bands: Sequence[Band] = field(default_factory=list)
    band_labels: dict[str, str] = field(default_factory=dict)
    ref: RefLine | None = None
    y_max: float | None = None
    y_format: str = "{:g}"
    integer: bool = False  # whole-number ticks (agents, calls)
    width: int = 1000
    height: int = 300
    label_every: int | None = None


def _nice_step(span: float, ticks: int = 5, integer: bool = False) -> float:
    raw = span / max(ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        step = m * mag
        if raw <= step and not (integer and step != int(step)):
            return step
    return 10 * mag


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _color(name: str) -> str:
    return PALETTE.get(name, name)


def chart(c: Chart) -> str:
    """The chart as an ``<svg>`` element (a string of escaped, well-formed markup)."""
    n = len(c.labels)
    left, right, top, bottom = 52, 16, 34 if c.series else 12, 40
    w, h = c.width, c.height
    pw, ph = w - left - right, h - top - bottom
    values = [v for s in c.series for v in s.values if v is not None and math.isfinite(v)]
    if c.ref is not None:
        values.append(c.ref.value)
    top_value = c.y_max if c.y_max is not None else max(values + [1.0])
    step = _nice_step(top_value, integer=c.integer)
    y_top = step * math.ceil(top_value / step) if c.y_max is None else c.y_max
    y_top = y_top or 1.0
    slot = pw / max(n, 1)

    def x_at(i: float) -> float:
        return left + slot * i

    def y_at(v: float) -> float:
        return top + ph - ph * max(min(v, y_top), 0.0) / y_top

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(c.title)}" '
        f'font-family="sans-serif" font-size="11">',
        f"<title>{escape(c.title)}</title>",
        f'<rect x="{left}" y="{top}" width="{_f(pw)}" height="{ph}" fill="#ffffff"/>',
    ]
    for band in c.bands:
        fill = BAND_FILL.get(band.kind, "#eeeeee")
        out.append(f'<rect class="band band-{escape(band.kind)}" x="{_f(x_at(band.start))}" y="{top}" '
                   f'width="{_f(slot * (band.stop - band.start))}" height="{ph}" fill="{fill}"/>')
    # y grid and labels
    tick = _nice_step(y_top, integer=c.integer)
    v = 0.0
    while v <= y_top + 1e-9:
        y = y_at(v)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{_f(y)}" y2="{_f(y)}" stroke="#e3e7ec" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{_f(y + 4)}" text-anchor="end" fill="#4a5666">'
                   f"{escape(c.y_format.format(v))}</text>")
        v += tick
    if c.y_label:
        out.append(f'<text x="12" y="{_f(top + ph / 2)}" transform="rotate(-90 12 {_f(top + ph / 2)})" '
                   f'text-anchor="middle" fill="#4a5666">{escape(c.y_label)}</text>')
    # x labels
    every = c.label_every or max(1, math.ceil(n / 24))
    for i, label in enumerate(c.labels):
        if i % every == 0:
            x = x_at(i)
            out.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#9aa5b1"/>')
            out.append(f'<text x="{_f(x + 2)}" y="{top + ph + 16}" fill="#4a5666">{escape(label)}</text>')
    # series: bars first so lines stay on top
    bars = [s for s in c.series if s.kind == "bar"]
    bar_w = slot * 0.8 / max(len(bars), 1)
    for bi, s in enumerate(bars):
        color = _color(s.color)
        for i, val in enumerate(s.values):
            if val is None or not math.isfinite(val) or val <= 0:
                continue
            x = x_at(i) + slot * 0.1 + bar_w * bi
            y = y_at(val)
            out.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(max(bar_w, 0.5))}" height="{_f(top + ph - y)}" '
                       f'fill="{color}" fill-opacity="0.75"><title>{escape(c.labels[i])} {escape(s.label)}: '
                       f"{escape(c.y_format.format(val))}</title></rect>")
    for s in c.series:
        if s.kind == "bar":
            continue
        color = _color(s.color)
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        runs: list[list[str]] = [[]]
        for i, val in enumerate(s.values):
            if val is None or not math.isfinite(val):
                runs.append([])
                continue
            y = _f(y_at(val))
            if s.kind == "step":
                runs[-1].append(f"{_f(x_at(i))},{y} {_f(x_at(i + 1))},{y}")
            else:
                runs[-1].append(f"{_f(x_at(i + 0.5))},{y}")
        for run in runs:
            if run:
                out.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{color}" stroke-width="2" '
                           f'stroke-linejoin="round"{dash}/>')
    if c.ref is not None:
        y = _f(y_at(c.ref.value))
        color = _color(c.ref.color)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="1.5" '
                   f'stroke-dasharray="6 4"/>')
        out.append(f'<text x="{left + pw - 4}" y="{_f(float(y) - 5)}" text-anchor="end" fill="{color}">'
                   f"{escape(c.ref.label)}</text>")
    # axes
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#9aa5b1"/>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#9aa5b1"/>')
    # legend, top left
    lx = left
    for s in c.series:
        color = _color(s.color)
        if s.kind == "bar":
            out.append(f'<rect x="{lx}" y="10" width="12" height="10" fill="{color}" fill-opacity="0.75"/>')
        else:
            dash = ' stroke-dasharray="4 3"' if s.dashed else ""
            out.append(f'<line x1="{lx}" x2="{lx + 14}" y1="15" y2="15" stroke="{color}" stroke-width="2.5"{dash}/>')
        out.append(f'<text x="{lx + 18}" y="19" fill="#1d2733">{escape(s.label)}</text>')
        lx += 30 + 7 * _text_width(s.label)
    for kind, label in c.band_labels.items():
        out.append(f'<rect x="{lx}" y="9" width="12" height="12" fill="{BAND_FILL.get(kind, "#eeeeee")}" stroke="#d0d5db"/>')
        out.append(f'<text x="{lx + 18}" y="19" fill="#1d2733">{escape(label)}</text>')
        lx += 30 + 7 * _text_width(label)
    out.append("</svg>")
    return "".join(out)


def _text_width(text: str) -> float:
    """Rough width in units of a Latin character (CJK counts double)."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def runs_of(flags: Sequence[bool], kind: str) -> list[Band]:
    """Bands over consecutive True flags."""
    bands, start = [], None
    for i, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            bands.append(Band(start, i, kind))
            start = None
    return bands
