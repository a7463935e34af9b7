"""Small server-side SVG charts for the wallboard (no script, nothing from the internet).

Pure functions of the numbers: each returns an SVG document as text, every label escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 420, 180
LEFT, BOTTOM, TOP, RIGHT = 36, 22, 34, 8
COLOURS = ("#1f6feb", "#2da44e", "#9a6700", "#b42318", "#8250df", "#5b6675")


def _frame(title: str, body: list[str], top: float, unit: str) -> str:
    label = f"{top:g}{unit}"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" font-family="sans-serif" font-size="10" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title><rect width="100%" height="100%" fill="#fff"/>'
            f'<text x="{LEFT}" y="13" font-size="12" font-weight="600">{escape(title)}</text>'
            f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#8895a3"/>'
            f'<text x="{LEFT - 3}" y="{TOP + 4}" text-anchor="end">{escape(label)}</text>'
            f'<text x="{LEFT - 3}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>'
            + "".join(body) + "</svg>")


def _nice(top: float) -> float:
    if top <= 0:
        return 1.0
    for step in (1, 2, 2.5, 5):
        for scale in (0.001, 0.01, 0.1, 1, 10, 100, 1000, 10_000, 100_000):
            if step * scale >= top:
                return step * scale
    return top


def _x_labels(labels: Sequence[str], slot: float) -> list[str]:
    every = max(1, len(labels) // 12)
    return [f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(lab)}</text>'
            for i, lab in enumerate(labels) if i % every == 0]


def _legend(names: Sequence[str]) -> list[str]:
    out, x = [], WIDTH - RIGHT
    for i, name in reversed(list(enumerate(names))):
        x -= 8 + 6 * len(name) + 14
        out.append(f'<rect x="{x}" y="18" width="8" height="8" fill="{COLOURS[i % len(COLOURS)]}"/>'
                   f'<text x="{x + 11}" y="26">{escape(name)}</text>')
    return out


def bars(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], *, stacked: bool = False,
         unit: str = "") -> str:
    """Bars per label, one colour per series (side by side, or ``stacked``)."""
    names = list(series)
    n = len(labels)
    totals = [sum(series[s][i] for s in names) for i in range(n)] if stacked else \
        [max((series[s][i] for s in names), default=0) for i in range(n)]
    top = _nice(max(totals, default=0))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - RIGHT) / max(1, n)
    body: list[str] = []
    for i in range(n):
        base = 0.0
        for k, name in enumerate(names):
            value = float(series[name][i])
            h = plot_h * value / top
            if stacked:
                x, w, y = LEFT + slot * i + 1, slot - 2, HEIGHT - BOTTOM - plot_h * base / top - h
                base += value
            else:
                w = (slot - 2) / len(names)
                x, y = LEFT + slot * i + 1 + k * w, HEIGHT - BOTTOM - h
            if value > 0:
                body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{h:.1f}" '
                            f'fill="{COLOURS[k % len(COLOURS)]}" data-series="{escape(name)}" data-i="{i}">'
                            f'<title>{escape(labels[i])} {escape(name)}: {value:g}{escape(unit)}</title></rect>')
    return _frame(title, body + _x_labels(labels, slot) + _legend(names), top, unit)


def line(title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], *, unit: str = "",
         limit: float | None = None) -> str:
    """Lines through the points (``None``: no point), with an optional dashed ``limit``."""
    values = [v for s in series.values() for v in s if v is not None]
    top = _nice(max([*values, limit or 0.0], default=0))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    body: list[str] = []
    if limit is not None:
        y = HEIGHT - BOTTOM - plot_h * limit / top
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#b42318" '
                    f'stroke-dasharray="4 3"><title>limit {limit:g}{escape(unit)}</title></line>')
    for k, (name, points) in enumerate(series.items()):
        xy = [(LEFT + slot * (i + 0.5), HEIGHT - BOTTOM - plot_h * v / top) for i, v in enumerate(points)
              if v is not None]
        if xy:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            body.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS[k % len(COLOURS)]}" '
                        f'stroke-width="2" data-series="{escape(name)}"/>')
    return _frame(title, body + _x_labels(labels, slot) + _legend(list(series)), top, unit)
