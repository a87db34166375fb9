"""The catalogue read model over the fixture shop: storefront reads, word search, need matching,
cards and image URLs."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from bot.store import catalogue
from bot.store.catalogue import CatalogueNotFound, ProductView
from bot.store.db import session_scope
from bot.store.models import Product

BOOT = "fellrunner-waterproof-hiking-boot"
DISH = "copperfield-cast-iron-casserole-dish"
PARKA = "northvale-insulated-parka"
BOOT_CARD = {"id": 1, "name": "Fellrunner Waterproof Hiking Boot", "price": 89.99,
             "currency": "GBP", "url": f"/p/{BOOT}", "image": f"/images/products/{BOOT}.svg"}
# What need matching reads from the need vocabulary: the product types and their synonyms.
VOCAB = SimpleNamespace(product_types={
    "hiking boot": "hiking boot", "boot": "hiking boot", "walking boot": "hiking boot",
    "parka": "parka", "coat": "parka", "casserole dish": "casserole dish"})


def read(engine, fn, *args, **kwargs):
    with session_scope(engine) as session:
        return fn(session, *args, **kwargs)


def match(engine, need, limit=3):
    return read(engine, catalogue.match_products, need, VOCAB, limit)


# --- storefront ------------------------------------------------------------------------------

def test_categories_count_active_products(shop):
    with session_scope(shop) as s:
        s.execute(update(Product).where(Product.id == 2).values(active=False))
    cats = {c.slug: c for c in read(shop, catalogue.list_categories)}
    assert (cats["footwear"].name, cats["footwear"].product_count) == ("Shoes & Boots", 1)
    assert cats["kitchen"].product_count == 0  # its only product is inactive


def test_list_products_all_or_one_category(shop):
    everything = read(shop, catalogue.list_products)
    assert [p.slug for p in everything] == [DISH, BOOT, PARKA]  # by name
    assert all(isinstance(p, ProductView) and p.image_url for p in everything)
    assert [p.slug for p in read(shop, catalogue.list_products, "outerwear")] == [PARKA]
    assert len(read(shop, catalogue.list_products, limit=2)) == 2
    with pytest.raises(CatalogueNotFound):
        read(shop, catalogue.list_products, "nope")


def test_get_product_with_attributes(shop):
    boot = read(shop, catalogue.get_product, BOOT)
    assert (boot.name, boot.brand, boot.price, boot.stock) == (
        "Fellrunner Waterproof Hiking Boot", "Fellrunner", Decimal("89.99"), 12)
    assert (boot.category_slug, boot.category_name) == ("footwear", "Shoes & Boots")
    assert ("colour", "brown") in boot.attributes and ("size", "9") in boot.attributes
    assert boot.attributes == tuple(sorted(boot.attributes))
    assert boot.image_url == f"/images/products/{BOOT}.svg" and boot.url == f"/p/{BOOT}"
    assert boot.in_stock and not read(shop, catalogue.get_product, DISH).in_stock


def test_inactive_or_unknown_product_is_not_found(shop):
    with session_scope(shop) as s:
        s.execute(update(Product).where(Product.id == 1).values(active=False))
    for slug in (BOOT, "nope", ""):
        with pytest.raises(CatalogueNotFound):
            read(shop, catalogue.get_product, slug)
    assert BOOT not in [p.slug for p in read(shop, catalogue.list_products)]


# --- word search -----------------------------------------------------------------------------

@pytest.mark.parametrize("words, expected", [
    (["boot"], [BOOT]),
    (["waterproof", "boot"], [BOOT]),
    (["FELLRUNNER"], [BOOT]),  # brand, any case
    (["casserole", "dish"], [DISH]),  # the product type
    (["insulated"], [PARKA]),
    (["boot", "parka"], []),  # every word must match
    (["spaceship"], []),
])
def test_search_products_matches_every_word(shop, words, expected):
    assert [p.slug for p in read(shop, catalogue.search_products, words)] == expected


def test_search_products_lists_in_stock_first_then_by_name(shop):
    found = read(shop, catalogue.search_products, [], 10)  # no words: everything active
    assert [p.slug for p in found] == [BOOT, PARKA, DISH]  # the dish is out of stock
    assert [p.slug for p in read(shop, catalogue.search_products, [], 1)] == [BOOT]
    with session_scope(shop) as s:
        s.execute(update(Product).where(Product.id == 1).values(active=False))
    assert read(shop, catalogue.search_products, ["boot"]) == []


# --- need matching ---------------------------------------------------------------------------

@pytest.mark.parametrize("need, expected", [
    ({"product": "hiking boots", "size": ["9"], "price_max": 100}, [1]),
    ({"product": "walking boot"}, [1]),  # a synonym of the taxonomy type
    ({"product": "boots"}, [1]),  # the head word, plural
    ({"product": "hiking boots", "price_max": 80}, []),
    ({"product": "hiking boots", "price_min": 90}, []),
    ({"product": "hiking boots", "size": ["14"]}, []),
    ({"product": "hiking boots", "colour": "brown"}, [1]),  # one colour or a list
    ({"product": "hiking boots", "colour": ["black", "BROWN"]}, [1]),
    ({"product": "hiking boots", "colour": ["black"]}, []),
    ({"product": "hiking boots", "brand": "fellrunner"}, [1]),
    ({"product": "hiking boots", "brand": "Northvale"}, []),
    ({"product": "hiking boots", "category": "outerwear"}, []),
    ({"product": "casserole dish"}, []),  # out of stock
    ({"product": "coat", "size": ["M"]}, [3]),
    ({"category": "outerwear"}, [3]),
    ({}, [1, 3]),  # everything in stock, cheapest first
    ({"product": "spaceship"}, []),
])
def test_match_products(shop, need, expected):
    assert [c["id"] for c in match(shop, need, limit=10)] == expected


def test_match_products_gives_cards_cheapest_first_up_to_the_limit(shop):
    assert match(shop, {"product": "hiking boot", "size": "9"}) == [BOOT_CARD]
    assert [c["id"] for c in match(shop, {}, limit=1)] == [1]


def test_products_without_sizes_pass_a_size_filter(shop):
    with session_scope(shop) as s:
        s.execute(update(Product).where(Product.id == 2).values(stock=3))
    assert [c["id"] for c in match(shop, {"product": "casserole dish", "size": ["L"]})] == [2]


# --- cards and image URLs --------------------------------------------------------------------

def _view(**changes) -> ProductView:
    base = {"id": 7, "slug": "trail-mug", "name": "Trail Mug", "brand": "Ostler",
            "product_type": "mug", "price": Decimal("12.50"), "currency": "GBP", "stock": 3,
            "category_slug": "kitchen", "category_name": "Kitchen", "description": "",
            "image_url": "/images/products/trail-mug.svg"}
    return ProductView(**{**base, **changes})


def test_card_is_the_widget_format():
    assert catalogue.card(_view()) == {
        "id": 7, "name": "Trail Mug", "price": 12.5, "currency": "GBP", "url": "/p/trail-mug",
        "image": "/images/products/trail-mug.svg"}
    assert isinstance(catalogue.card(_view())["price"], float)
    assert catalogue.card(_view(image_url="https://img.example/mug.png"))["image"] == \
        "https://img.example/mug.png"


@pytest.mark.parametrize("url", [None, "", "javascript:alert(1)", "data:image/svg+xml,<svg/>",
                                 "//evil.example/x.png", "/\\evil.example/x.png", "img/x.png"])
def test_card_drops_images_the_widget_must_not_load(url):
    assert catalogue.card(_view(image_url=url))["image"] is None


def test_card_of_a_product_without_an_image(shop):
    with session_scope(shop) as s:
        s.execute(update(Product).where(Product.id == 1).values(image_url=None))
    assert match(shop, {"product": "boot"})[0]["image"] is None
    assert read(shop, catalogue.get_product, BOOT).image_url is None


@pytest.mark.parametrize("slug", ["a", "trail-mug", "4k-monitor-27", "x" * 220])
def test_valid_slugs_have_an_image_url_and_path(slug):
    assert catalogue.is_slug(slug)
    assert catalogue.product_image_url(slug) == f"/images/products/{slug}.svg"
    assert catalogue.product_image_path(Path("/srv/img"), slug) == \
        Path("/srv/img/products") / f"{slug}.svg"


@pytest.mark.parametrize("slug", ["", "..", "../etc/passwd", "a/b", "a\\b", "Trail-Mug", "-a",
                                  "a-", "a--b", "a.svg", "a b", "é", "x" * 221, None, 7])
def test_other_slugs_have_no_image(slug):
    assert not catalogue.is_slug(slug)
    with pytest.raises(ValueError):
        catalogue.product_image_url(slug)
    with pytest.raises(ValueError):
        catalogue.product_image_path(Path("/srv/img"), slug)
