"""Offline maps as inline SVG (no tiles): a grid with its neighbours on the ticket page, and
the dashboard's grids of a district shaded by volume or overdue count."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from grids.registry import Grid, Registry

WIDTH = 320
HEIGHT = 220
PAD = 12


def grid_svg(registry: Registry, grid_code: str, point: tuple[float, float] | None) -> Markup:
    """The grid (highlighted), the other grids of its community, and the reported point."""
    grid = registry.grids[grid_code]
    shown: list[Grid] = [g for g in registry.grids.values() if g.community == grid.community]
    xs = [x for g in shown for x, _ in g.boundary]
    ys = [y for g in shown for _, y in g.boundary]
    if point:
        xs.append(point[0])
        ys.append(point[1])
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    scale = min(
        (WIDTH - 2 * PAD) / max(max_x - min_x, 1e-9), (HEIGHT - 2 * PAD) / max(max_y - min_y, 1e-9)
    )

    def project(lon: float, lat: float) -> str:
        return f"{PAD + (lon - min_x) * scale:.1f},{HEIGHT - PAD - (lat - min_y) * scale:.1f}"

    parts = [
        f'<svg class="grid-map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(grid.name)}网格示意图" xmlns="http://www.w3.org/2000/svg">'
    ]
    for other in shown:
        points = " ".join(project(x, y) for x, y in other.boundary)
        css = "grid-self" if other.code == grid.code else "grid-other"
        title = f"<title>{escape(other.name)}</title>"
        parts.append(f'<polygon class="{css}" points="{points}">{title}</polygon>')
        cx = sum(x for x, _ in other.boundary) / len(other.boundary)
        cy = sum(y for _, y in other.boundary) / len(other.boundary)
        x, y = project(cx, cy).split(",")
        label = _short_name(registry, other)
        parts.append(f'<text x="{x}" y="{y}" class="{css}-label">{escape(label)}</text>')
    if point:
        x, y = project(*point).split(",")
        parts.append(
            f'<circle class="report-point" cx="{x}" cy="{y}" r="5"><title>反映位置</title></circle>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short_name(registry: Registry, grid: Grid) -> str:
    """ "玉林北路社区第一网格" → "第一网格": the community is the map's context."""
    unit = registry.units.get(grid.community)
    if unit and grid.name.startswith(unit.name) and len(grid.name) > len(unit.name):
        return grid.name[len(unit.name) :]
    return grid.name


MAP_WIDTH = 640
MAP_HEIGHT = 420


@dataclass(frozen=True)
class Shade:  # one grid on the dashboard's map
    code: str
    value: int
    level: str  # the CSS class: "s0" (none) to "s4" (most), or the overdue colours
    link: str


def shaded_map(registry: Registry, shades: list[Shade], what: str) -> Markup:
    """The grids of one district shaded by a figure (volume or overdue count), each a link to
    its tickets; ``what`` names the figure in each grid's tooltip."""
    grids = [registry.grids[s.code] for s in shades]
    if not grids:
        return Markup("")
    xs = [x for g in grids for x, _ in g.boundary]
    ys = [y for g in grids for _, y in g.boundary]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    scale = min(
        (MAP_WIDTH - 2 * PAD) / max(max_x - min_x, 1e-9),
        (MAP_HEIGHT - 2 * PAD) / max(max_y - min_y, 1e-9),
    )
    height = (max_y - min_y) * scale + 2 * PAD

    def project(lon: float, lat: float) -> tuple[float, float]:
        return PAD + (lon - min_x) * scale, height - PAD - (lat - min_y) * scale

    parts = [
        f'<svg class="volume-map" id="grid-map" viewBox="0 0 {MAP_WIDTH} {height:.0f}" '
        f'role="img" aria-label="网格{escape(what)}分布图" xmlns="http://www.w3.org/2000/svg">'
    ]
    for shade, grid in zip(shades, grids, strict=True):
        points = " ".join("{:.1f},{:.1f}".format(*project(x, y)) for x, y in grid.boundary)
        title = f"{registry.full_name(grid.code)}：{what} {shade.value} 件"
        parts.append(
            f'<a href="{escape(shade.link)}" data-grid="{escape(grid.code)}" '
            f'data-value="{shade.value}"><polygon class="{shade.level}" points="{points}">'
            f"<title>{escape(title)}</title></polygon></a>"
        )
    for grid in grids:  # labels on top of every polygon
        cx = sum(x for x, _ in grid.boundary) / len(grid.boundary)
        cy = sum(y for _, y in grid.boundary) / len(grid.boundary)
        x, y = project(cx, cy)
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}">{escape(_short_name(registry, grid))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
