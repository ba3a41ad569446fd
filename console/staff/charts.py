"""Charts as inline SVG (no JavaScript library, no CDN)."""

from __future__ import annotations

from html import escape
from typing import Any

from markupsafe import Markup

CELL = 26
LEFT = 110
TOP = 110


def confusion_svg(confusion: dict[str, Any], names: dict[str, str]) -> Markup:
    """A confusion matrix heat map: rows are the true category, columns the prediction."""
    labels: list[str] = list(confusion["labels"])
    matrix: list[list[int]] = confusion["matrix"]
    size = len(labels)
    width, height = LEFT + CELL * size + 10, TOP + CELL * size + 10
    peak = max((max(row) for row in matrix), default=1) or 1
    parts = [
        f'<svg class="confusion" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="混淆矩阵" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, label in enumerate(labels):
        name = escape(names.get(label, label))
        y = TOP + i * CELL + CELL * 0.65
        parts.append(f'<text x="{LEFT - 6}" y="{y:.0f}" text-anchor="end">{name}</text>')
        x = LEFT + i * CELL + CELL / 2
        turn = f"rotate(-60 {x:.0f} {TOP - 6})"
        parts.append(f'<text x="{x:.0f}" y="{TOP - 6}" transform="{turn}">{name}</text>')
    for r, row in enumerate(matrix):
        for c, value in enumerate(row):
            shade = value / peak
            colour = (
                f"rgba(29,111,216,{0.15 + 0.85 * shade:.2f})"
                if r == c
                else f"rgba(198,40,40,{0.1 + 0.9 * shade:.2f})"
            )
            if value == 0:
                colour = "#f5f7fa"
            x, y = LEFT + c * CELL, TOP + r * CELL
            gold, predicted = names.get(labels[r], labels[r]), names.get(labels[c], labels[c])
            title = f"{escape(gold)} → {escape(predicted)}：{value}"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{CELL - 1}" height="{CELL - 1}" fill="{colour}">'
                f"<title>{title}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text x="{x + CELL / 2:.0f}" y="{y + CELL * 0.65:.0f}" '
                    f'text-anchor="middle" class="n">{value}</text>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))
