"""The catalogue taxonomy (``bot/data/taxonomy.yml``), loaded once and shared."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

TAXONOMY_PATH = Path(__file__).parent / "data" / "taxonomy.yml"


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    types: tuple[str, ...]
    brands: tuple[str, ...]
    features: tuple[str, ...]
    sizes: tuple[str, ...]  # size systems used by the category
    price: tuple[float, float]


@dataclass(frozen=True)
class Taxonomy:
    colours: tuple[str, ...]
    materials: tuple[str, ...]
    size_systems: dict[str, tuple[str, ...]]
    categories: tuple[CategorySpec, ...] = field(default_factory=tuple)

    def category(self, slug: str) -> CategorySpec:
        for cat in self.categories:
            if cat.slug == slug:
                return cat
        raise KeyError(slug)


@lru_cache(maxsize=None)
def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Taxonomy(
        colours=tuple(raw["colours"]),
        materials=tuple(raw["materials"]),
        size_systems={k: tuple(str(v) for v in vs) for k, vs in raw["size_systems"].items()},
        categories=tuple(
            CategorySpec(
                slug=c["slug"],
                name=c["name"],
                types=tuple(c["types"]),
                brands=tuple(c["brands"]),
                features=tuple(c.get("features", ())),
                sizes=tuple(c.get("sizes", ())),
                price=(float(c["price"][0]), float(c["price"][1])),
            )
            for c in raw["categories"]
        ),
    )
