"""Charts as SVG made on the server (no JavaScript, no CDN).

The confusion matrix is drawn here by hand (a heat map of labelled cells); the dashboard's
bar and line charts come from pygal and are served as SVG images of their own
(``chart_response``): pygal styles its SVG with an inline ``<style>``, which the console's
Content-Security-Policy forbids inside pages, so each chart response carries its own policy.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pygal
from fastapi.responses import Response
from markupsafe import Markup
from pygal.style import Style

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


CHART_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#243b53",
    foreground_strong="#102a43",
    foreground_subtle="#9aa5b1",
    colors=("#2171b5", "#d64545", "#f5c542"),
    font_family="'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    title_font_size=14,
)
# An SVG image: its own inline style only; no scripts, nothing loaded.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _options(title: str, labels: list[str]) -> dict[str, Any]:
    rotate = 30 if len(labels) > 8 else 0
    return {
        "title": title, "style": CHART_STYLE, "js": [], "width": 680, "height": 300,
        "show_legend": False, "disable_xml_declaration": True, "x_label_rotation": rotate,
        "show_minor_x_labels": len(labels) <= 31, "truncate_label": 12, "print_values": False,
        "no_data_text": "该期间没有工单",
    }  # fmt: skip


def series_svg(title: str, points: list[tuple[str, int]]) -> str:
    """Counts over time (a bar per day, week or month)."""
    labels = [label for label, _ in points]
    chart = pygal.Bar(**_options(title, labels))
    chart.x_labels = labels
    if len(labels) > 31:
        chart.x_labels_major = labels[:: max(1, len(labels) // 12)]
    chart.add(title, [value for _, value in points])
    return str(chart.render(is_unicode=True))


def ranking_svg(title: str, items: list[tuple[str, int]]) -> str:
    """The largest items as horizontal bars, the largest on top."""
    top = items[:12][::-1]
    chart = pygal.HorizontalBar(**{**_options(title, []), "height": 80 + 26 * max(len(top), 1)})
    chart.x_labels = [label for label, _ in top]
    chart.add(title, [value for _, value in top])
    return str(chart.render(is_unicode=True))


def chart_response(svg: str) -> Response:
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": CHART_POLICY, "Cache-Control": "private, max-age=60"},
    )
