"""A small offline map of a grid: its polygon and its neighbours as inline SVG (no tiles)."""

from __future__ import annotations

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
