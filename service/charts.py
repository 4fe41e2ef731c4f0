"""Server-side SVG bar charts: a page shows a ranked chart without any script or foreign asset.

A chart is an accessible image: ``role="img"`` named by its ``<title>`` and described by its
``<desc>``; every bar carries its label and its number as text (the length is never the only
way to read a value, and no meaning rides on colour). The page puts the same numbers in a
table beside it. Colours are KRDS tokens, given as presentation attributes so that the file
also stands alone; a stylesheet may override them through the classes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FONT_SIZE = 14
ROW = 30
BAR = 18
TOP = 30
BOTTOM = 12
GAP = 10
VALUE_SPACE = 72
BAR_FILL = "#256ef4"  # KRDS --krds-color-light-primary-50 (contrast 4.6:1 on white)
TEXT_FILL = "#1e2124"  # KRDS --krds-color-light-gray-90
SUBTLE_FILL = "#464c53"  # KRDS --krds-color-light-gray-70
GRID_STROKE = "#cdd1d5"  # KRDS --krds-color-light-gray-20
FONT = "Pretendard GOV, NanumGothic, Nanum Gothic, Noto Sans KR, sans-serif"
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, and an optional key (a code) kept as a data attribute."""

    label: str
    value: int
    key: str | None = None


def text_width(text: str, size: int = FONT_SIZE) -> float:
    """An estimate of the rendered width: Hangul and other wide characters a full em, the rest about half."""
    wide = sum(1 for ch in text if ord(ch) >= 0x1100)
    return (wide * 1.0 + (len(text) - wide) * 0.58) * size


def nice_step(maximum: int, ticks: int = 5) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving at most ``ticks`` intervals."""
    if maximum <= ticks:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    id_prefix: str,
    value_format: str = "{value}",
    width: int = 760,
) -> str:
    """A horizontal bar chart, one row per bar in the given order (rank them first), as SVG markup.

    ``value_format`` writes each value beside its bar (``"{value}건"``); ``id_prefix`` keeps the
    ids of the title and description unique on the page.
    """
    if not _ID.match(id_prefix):
        raise ValueError(f"not an id: {id_prefix!r}")
    ranks = [f"{i}." for i in range(1, len(bars) + 1)]
    rank_w = max((text_width(r) for r in ranks), default=0)
    label_w = max((text_width(b.label) for b in bars), default=0)
    plot_x = math.ceil(rank_w + GAP + label_w + GAP)
    plot_w = max(width - plot_x - VALUE_SPACE, 80)
    height = TOP + ROW * max(len(bars), 1) + BOTTOM
    maximum = max((b.value for b in bars), default=0)
    step = nice_step(maximum)
    top_tick = max(step * math.ceil(maximum / step), step)
    scale = plot_w / top_tick
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="desk-chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'font-family={quoteattr(FONT)} font-size="{FONT_SIZE}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        '<g class="chart-axis" aria-hidden="true">',
    ]
    for tick in range(0, top_tick + 1, step):
        x = plot_x + tick * scale
        out.append(
            f'<line class="chart-grid" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - BOTTOM}" '
            f'stroke="{GRID_STROKE}" stroke-width="1"/>'
            f'<text class="chart-tick" x="{x:.1f}" y="{TOP - 12}" text-anchor="middle" fill="{SUBTLE_FILL}" '
            f'font-size="{FONT_SIZE - 2}">{tick}</text>'
        )
    out.append("</g>")
    for index, (bar, rank) in enumerate(zip(bars, ranks, strict=True)):
        y = TOP + index * ROW
        middle = y + ROW / 2 + FONT_SIZE * 0.35
        length = bar.value * scale
        value_text = escape(value_format.format(value=bar.value))
        key = f" data-key={quoteattr(bar.key)}" if bar.key else ""
        out.append(f'<g class="chart-row" data-value="{bar.value}"{key}>')
        out.append(f"<title>{escape(bar.label)}: {value_text}</title>")
        out.append(
            f'<text class="chart-rank" x="{rank_w:.1f}" y="{middle:.1f}" text-anchor="end" '
            f'fill="{SUBTLE_FILL}">{rank}</text>'
            f'<text class="chart-label" x="{plot_x - GAP}" y="{middle:.1f}" text-anchor="end" '
            f'fill="{TEXT_FILL}">{escape(bar.label)}</text>'
        )
        if bar.value > 0:
            out.append(
                f'<rect class="chart-bar" x="{plot_x}" y="{y + (ROW - BAR) / 2:.1f}" width="{max(length, 2):.1f}" '
                f'height="{BAR}" rx="2" fill="{BAR_FILL}"/>'
            )
        out.append(
            f'<text class="chart-value" x="{plot_x + length + 6:.1f}" y="{middle:.1f}" '
            f'fill="{TEXT_FILL}">{value_text}</text>'
        )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
