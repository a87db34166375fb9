"""Product images for the demo shop: one small SVG per product, its name's initial on a colour
(the product's colour attribute, else one picked from its category), written under
``Settings.images_dir`` for the storefront to serve at ``/images/products/<slug>.svg``.

The SVG holds a rectangle and one escaped character in a ``<text>`` element: no script, no
external reference, no style element, so it is safe to serve from the shop's own origin.
"""
from __future__ import annotations

from types import MappingProxyType

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Mapping
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.catalogue import is_slug, product_image_path, product_image_url
from bot.store.models import Category, Product, ProductAttribute

# The taxonomy's colours (bot/data/taxonomy.yml) as they look on a swatch.
COLOURS = MappingProxyType({
    "black": "#24292f", "white": "#f6f8fa", "grey": "#8c959f", "navy": "#1f2d4d",
    "blue": "#2f6fcf", "light blue": "#8cc4f0", "red": "#c62828", "burgundy": "#7b1e3a",
    "pink": "#f08cb4", "purple": "#7b4fb0", "green": "#2e7d4f", "olive": "#6b6b2e",
    "khaki": "#b5a86a", "yellow": "#f2c94c", "orange": "#ee7d2b", "brown": "#7a4b2a",
    "tan": "#c89f6d", "beige": "#e3d3b5", "cream": "#f4ecd6", "gold": "#c9a227",
    "silver": "#b8bec6", "multicolour": "#9b59b6",
})
# For products without a colour: muted tones, one per category (by a hash of its slug).
CATEGORY_TONES = ("#4f6d7a", "#6c8a5b", "#8a6d5b", "#5b6c8a", "#7a5b8a", "#8a5b6c",
                  "#5b8a85", "#8a805b", "#6b7280", "#4d7c8a")
_HEX = re.compile(r"#[0-9a-f]{6}")
SIZE = 240


def image_colour(colour: str | None, category_slug: str) -> str:
    """The swatch of a colour name we know, else the category's tone (stable across runs)."""
    known = COLOURS.get((colour or "").strip().lower())
    if known:
        return known
    digest = hashlib.sha256(category_slug.encode("utf-8")).digest()
    return CATEGORY_TONES[digest[0] % len(CATEGORY_TONES)]


def _text_colour(background: str) -> str:
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#1b1f24" if 0.299 * r + 0.587 * g + 0.114 * b > 160 else "#ffffff"


def product_svg(name: str, background: str) -> str:
    """The image of a product called ``name``: its initial, XML-escaped, on ``background``."""
    if not _HEX.fullmatch(background):
        raise ValueError(f"not a #rrggbb colour: {background!r}")
    initial = next((c for c in name if c.isalnum()), "?").upper()
    half = SIZE // 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}">'
        f'<rect width="{SIZE}" height="{SIZE}" fill="{background}"/>'
        f'<text x="{half}" y="{half}" dy="0.35em" text-anchor="middle" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
        f'font-size="{SIZE // 2}" font-weight="700" fill="{_text_colour(background)}">'
        f'{escape(initial, {chr(34): "&quot;", chr(39): "&apos;"})}</text></svg>\n'
    )


def images_for_rows(rows: Mapping[str, Iterable[dict]]) -> dict[str, str]:
    """``{slug: svg}`` for the products of generated rows (``categories``, ``products`` and
    ``product_attributes`` tables), skipping any slug the storefront would not serve."""
    categories = {c["id"]: c["slug"] for c in rows.get("categories", ())}
    colours: dict[int, str] = {}
    for attr in rows.get("product_attributes", ()):
        if attr["name"] == "colour":
            colours.setdefault(attr["product_id"], attr["value"])
    return {
        p["slug"]: product_svg(p["name"], image_colour(colours.get(p["id"]),
                                                       categories.get(p["category_id"], "")))
        for p in rows.get("products", ()) if is_slug(p["slug"])
    }


def write_images(images: Mapping[str, str], images_dir: Path) -> int:
    """Write each ``{slug: svg}`` to its file under ``images_dir``; returns how many.

    Each file is written beside its final name and renamed over it, so a storefront serving the
    folder meanwhile never sends half an image.
    """
    for slug, svg in images.items():
        path = product_image_path(images_dir, slug)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{slug}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(svg)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return len(images)


def add_images_to_rows(rows: Mapping[str, list[dict]], images_dir: Path) -> int:
    """Write the images of generated rows and point each product row's ``image_url`` at its own
    (null for a product whose slug got none). Returns how many images were written."""
    images = images_for_rows(rows)
    for product in rows.get("products", ()):
        product["image_url"] = product_image_url(product["slug"]) if product["slug"] in images \
            else None
    return write_images(images, images_dir)


def fill_missing_images(session: Session, images_dir: Path) -> int:
    """Give the products of an existing shop the images they lack: those without an image URL,
    and those pointing at a generated image whose file is missing. Returns how many written."""
    colour = (select(ProductAttribute.value)
              .where(ProductAttribute.product_id == Product.id, ProductAttribute.name == "colour")
              .order_by(ProductAttribute.id).limit(1).scalar_subquery())
    rows = session.execute(
        select(Product, Category.slug, colour).join(Product.category).order_by(Product.id)).all()
    images = {}
    for product, category_slug, colour_name in rows:
        if not is_slug(product.slug):
            continue
        ours = product_image_url(product.slug)
        if product.image_url not in (None, ours):
            continue  # an image of the shop's own
        if product.image_url == ours and product_image_path(images_dir, product.slug).exists():
            continue
        images[product.slug] = product_svg(product.name, image_colour(colour_name, category_slug))
        product.image_url = ours
    return write_images(images, images_dir)
