"""Grids (网格): resolution of a place or GPS point, and the tier chain for escalation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, model_validator

from core.deps import ServiceAuth
from grids.registry import Registry, load_registry
from grids.resolver import Resolver, resolver_for

router = APIRouter(prefix="/api/v1/grids", tags=["grids"], dependencies=[ServiceAuth])

MAX_TEXT = 5000


def get_registry(request: Request) -> Registry:
    return load_registry(request.app.state.settings.data_dir / "grids")


def resolver_at(data_dir: Path) -> Resolver:
    """The place resolver of the grids and jieba dictionary under ``data_dir`` (built once)."""
    return resolver_for(load_registry(data_dir / "grids"), data_dir / "jieba" / "userdict.txt")


def get_resolver(request: Request) -> Resolver:
    return resolver_at(request.app.state.settings.data_dir)


RegistryDep = Annotated[Registry, Depends(get_registry)]
ResolverDep = Annotated[Resolver, Depends(get_resolver)]


class ResolveIn(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _something_to_resolve(self) -> ResolveIn:
        has_point = self.latitude is not None and self.longitude is not None
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("经纬度必须同时提供 latitude 和 longitude")
        if not has_point and not (self.text and self.text.strip()):
            raise ValueError("请提供地点描述 text，或经纬度 latitude/longitude")
        return self


@router.post("/resolve")
def resolve(body: ResolveIn, registry: RegistryDep, resolver: ResolverDep) -> dict[str, Any]:
    """Ranked grid candidates with scores and the matched span; GPS wins over text."""
    if body.latitude is not None and body.longitude is not None:
        result = resolver.resolve_point(body.longitude, body.latitude)
        source = "gps"
    else:
        result = resolver.resolve_text(body.text or "")
        source = "text"
    return {
        "status": result.status,
        "source": source,
        "candidates": [c.as_dict(registry) for c in result.candidates],
        "area": result.area_dict(registry),
    }


@router.get("")
def list_grids(registry: RegistryDep) -> list[dict[str, Any]]:
    return [
        {"code": g.code, "name": g.name, "full_name": registry.full_name(g.code)}
        for g in registry.grids.values()
    ]


@router.get("/{code}")
def grid_detail(code: str, registry: RegistryDep) -> dict[str, Any]:
    grid = registry.grids.get(code)
    if grid is None:
        raise HTTPException(status_code=404, detail=f"未找到网格 {code}")
    return {
        "code": grid.code,
        "name": grid.name,
        "worker_name": grid.worker_name,
        "worker_phone": grid.worker_phone,
        "households": grid.households,
        "boundary": [list(p) for p in grid.boundary],
        "chain": registry.chain(code),
    }
