"""Generated product images: safe SVG, colour from the product, written by the demo builder."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from sqlalchemy import func, select, update

from bot.demo import images
from bot.demo.build import build_demo_data
from bot.demo.fixtures import FIXTURE_NOW, fixture_rows, seed_fixture
from bot.store.catalogue import is_slug, product_image_path
from bot.store.db import make_engine, session_scope
from bot.store.models import Product

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_svg_is_the_initial_on_the_colour():
    root = parse(images.product_svg("fellrunner boot", "#7a4b2a"))
    assert root.tag == f"{SVG}svg"
    assert [e.tag for e in root] == [f"{SVG}rect", f"{SVG}text"]
    assert root[0].get("fill") == "#7a4b2a"
    assert root[1].text == "F" and root[1].get("fill") == "#ffffff"
    assert parse(images.product_svg("Cream Mug", "#f4ecd6"))[1].get("fill") == "#1b1f24"


@pytest.mark.parametrize("name, shown", [
    ("&Co. Tote", "C"),  # the first letter or digit, not punctuation
    ("<script>alert(1)</script>", "S"),
    ("4K Monitor", "4"),
    ("ñandú poncho", "Ñ"),
    ("!!!", "?"),
    ("", "?"),
])
def test_svg_text_is_one_escaped_character(name, shown):
    svg = images.product_svg(name, "#24292f")
    assert parse(svg)[1].text == shown
    assert "script" not in svg.lower() and "<style" not in svg and "href" not in svg


@pytest.mark.parametrize("colour", ["red", "#fff", "#FFFFFF", "#12345g", '#000000" onload="x'])
def test_svg_refuses_anything_but_a_hex_colour(colour):
    with pytest.raises(ValueError):
        images.product_svg("Mug", colour)


def test_colour_comes_from_the_colour_attribute_else_the_category():
    assert images.image_colour("Brown", "footwear") == images.COLOURS["brown"]
    assert images.image_colour("light blue", "kitchen") == images.COLOURS["light blue"]
    tone = images.image_colour(None, "electronics")
    assert tone in images.CATEGORY_TONES
    assert images.image_colour("chartreuse", "electronics") == tone  # unknown colour
    assert {images.image_colour(None, s) for s in ("footwear", "kitchen", "garden", "toys",
                                                      "electronics", "books")} != {tone}


def test_images_for_rows_and_write(tmp_path):
    rows = fixture_rows(FIXTURE_NOW)
    found = images.images_for_rows(rows)
    assert set(found) == {p["slug"] for p in rows["products"]}
    boot = parse(found["fellrunner-waterproof-hiking-boot"])
    assert boot[0].get("fill") == images.COLOURS["brown"] and boot[1].text == "F"
    assert images.images_for_rows(rows) == found  # deterministic
    assert images.write_images(found, tmp_path) == 3
    path = product_image_path(tmp_path, "fellrunner-waterproof-hiking-boot")
    assert path.read_text(encoding="utf-8") == found["fellrunner-waterproof-hiking-boot"]
    assert sorted(p.name for p in (tmp_path / "products").iterdir()) == sorted(
        f"{slug}.svg" for slug in found)  # no temporary files left behind


def test_rows_with_a_slug_the_storefront_would_refuse_get_no_image(tmp_path):
    rows = {"categories": [{"id": 1, "slug": "kitchen"}],
            "products": [{"id": 1, "slug": "mug", "name": "Mug", "category_id": 1},
                         {"id": 2, "slug": "../evil", "name": "Evil", "category_id": 1}],
            "product_attributes": []}
    assert images.add_images_to_rows(rows, tmp_path) == 1
    assert [p["image_url"] for p in rows["products"]] == ["/images/products/mug.svg", None]
    assert [p.name for p in (tmp_path / "products").iterdir()] == ["mug.svg"]
    assert not (tmp_path / "evil.svg").exists()


def test_fixture_products_carry_image_urls_and_files_on_request(engine, tmp_path):
    rows = fixture_rows(FIXTURE_NOW)
    assert all(p["image_url"] == f"/images/products/{p['slug']}.svg" for p in rows["products"])
    with session_scope(engine) as session:
        seed_fixture(session, FIXTURE_NOW, images_dir=tmp_path)
    assert len(list((tmp_path / "products").glob("*.svg"))) == 3


def _product_images(engine):
    with session_scope(engine) as s:
        return dict(s.execute(select(Product.slug, Product.image_url)).all())


def test_demo_build_writes_an_image_for_every_product(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = build_demo_data(url, seed=3, anchor=date(2026, 6, 15), customers=5,
                             images_dir=tmp_path / "img")
    engine = make_engine(url)
    try:
        urls = _product_images(engine)
    finally:
        engine.dispose()
    assert len(urls) >= 300 and all(is_slug(slug) for slug in urls)
    assert result.images == len(urls) and f"; {len(urls)} product images" in result.summary()
    for slug, image_url in urls.items():
        assert image_url == f"/images/products/{slug}.svg"
        parse(product_image_path(tmp_path / "img", slug).read_text(encoding="utf-8"))


def test_demo_build_without_an_images_dir_leaves_products_without_images(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    build_demo_data(url, seed=3, anchor=date(2026, 6, 15), customers=5)
    engine = make_engine(url)
    try:
        assert set(_product_images(engine).values()) == {None}
    finally:
        engine.dispose()


def test_if_missing_gives_an_existing_shop_the_images_it_lacks(shop, db_url, tmp_path):
    slugs = ["fellrunner-waterproof-hiking-boot", "copperfield-cast-iron-casserole-dish",
             "northvale-insulated-parka"]
    with session_scope(shop) as s:
        s.execute(update(Product).where(Product.id == 1).values(image_url=None))  # built before
        s.execute(update(Product).where(Product.id == 3)
                  .values(image_url="https://cdn.example/parka.jpg"))  # the shop's own image
    result = build_demo_data(db_url, customers=5, if_missing=True, images_dir=tmp_path)
    assert result.skipped and result.images == 2
    assert result.summary().endswith("wrote 2 missing product images")
    assert _product_images(shop) == {
        slugs[0]: f"/images/products/{slugs[0]}.svg", slugs[1]: f"/images/products/{slugs[1]}.svg",
        slugs[2]: "https://cdn.example/parka.jpg"}
    assert sorted(p.stem for p in (tmp_path / "products").iterdir()) == sorted(slugs[:2])
    with session_scope(shop) as s:
        assert s.execute(select(func.count()).select_from(Product)).scalar() == 3
    # A second run has nothing left to do.
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "products").iterdir()}
    again = build_demo_data(db_url, customers=5, if_missing=True, images_dir=tmp_path)
    assert again.images == 0 and again.summary().endswith("nothing to do")
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "products").iterdir()} == before
