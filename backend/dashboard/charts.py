"""Inline SVG charts (no JavaScript, no library): a time series and horizontal bars, labels escaped."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H, PAD = 640, 180, 28


def _num(value: float | Decimal) -> str:
    return f"{float(value):,.0f}" if abs(float(value)) >= 100 else f"{float(value):,.2f}".rstrip("0").rstrip(".")


def line_chart(points: Sequence[tuple[str, float | Decimal]], label: str) -> SafeString:
    # Nothing but zeros is no chart (a flat line on a "1" axis): the page says so in words instead.
    if not any(float(v) for _, v in points):
        return mark_safe("")  # noqa: S308 - constant
    top = max(float(v) for _, v in points) or 1.0
    step = (W - 2 * PAD) / max(len(points) - 1, 1)
    xy = [(PAD + i * step, H - PAD - (float(v) / top) * (H - 2 * PAD)) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(xy))
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#29845a"/>' for x, y in xy)
    first, last = escape(points[0][0]), escape(points[-1][0])
    svg = (
        f'<svg viewBox="0 0 {W} {H}" width="100%" style="max-width:40rem" role="img" aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#e3e3e3"/>'
        f'<text x="{PAD}" y="{PAD - 10}">{_num(top)}</text>'
        f'<path d="{path}" fill="none" stroke="#29845a" stroke-width="2"/>{dots}'
        f'<text x="{PAD}" y="{H - 8}">{first}</text><text x="{W - PAD}" y="{H - 8}" text-anchor="end">{last}</text>'
        "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every interpolated text is escaped above


def bar_chart(bars: Sequence[tuple[str, float | Decimal]], label: str) -> SafeString:
    if not any(float(v) for _, v in bars):  # no histogram of zeros either
        return mark_safe("")  # noqa: S308 - constant
    top = max(float(v) for _, v in bars) or 1.0
    row, left = 26, 170
    height = row * len(bars) + 8
    parts = [f'<svg viewBox="0 0 {W} {height}" width="100%" style="max-width:40rem" role="img" '
             f'aria-label="{escape(label)}">']
    for i, (name, value) in enumerate(bars):
        y = 4 + i * row
        width = max((float(value) / top) * (W - left - 80), 0)
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(str(name)[:28])}</text>'
                     f'<rect x="{left}" y="{y + 3}" width="{width:.1f}" height="16" rx="3" fill="#4a8fd4"/>'
                     f'<text x="{left + width + 6:.1f}" y="{y + 15}">{_num(value)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
