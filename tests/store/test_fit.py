"""The status of a need against a small hand-built catalogue (bot.store.fit.assess): one case
per reason, the order in which the reasons are decided, and what counts as the need's kind."""
import pytest

from bot.store import fit
from bot.store.fit import Candidate

TYPES = {"parka": "parka", "hiking boot": "hiking boot", "boot": "hiking boot",
         "hoover": "vacuum cleaner", "vacuum cleaner": "vacuum cleaner", "kettle": "kettle"}


def product(id, category, ptype, price, stock, *, brand="Acme", colours=(), sizes=(), name=None):
    return Candidate.of(id=id, category=category, product_type=ptype, brand=brand,
                        name=name or f"{brand} {ptype}", price=price, stock=stock,
                        colours=colours, sizes=sizes, card={"id": id})


# Cheapest first, as the catalogue hands them over.
CATALOGUE = (
    product(1, "footwear", "hiking boot", "59.00", 0, colours=("brown",), sizes=("8", "9")),
    product(2, "footwear", "hiking boot", "89.99", 12, colours=("brown", "black"),
            sizes=("9", "10"), brand="Fellrunner"),
    product(3, "outerwear", "parka", "149.00", 5, colours=("black",), sizes=("S", "M", "L")),
    product(4, "outerwear", "parka", "220.00", 0, colours=("navy",), sizes=("M",)),
    product(5, "household", "vacuum cleaner", "120.00", 3, colours=("grey",)),
    product(6, "kitchen", "kettle", "25.00", 4, colours=("white",),
            name="Copperfield Cordless Kettle"),
)


def assess(**need):
    return fit.assess(need, CATALOGUE, TYPES)


@pytest.mark.parametrize("need, status, ids", [
    # matched: the fitting products in stock, cheapest first
    ({"product": "hiking boots", "category": "footwear"}, fit.MATCHED, [2]),
    ({"product": "parka", "size": ["m"], "colour": "black"}, fit.MATCHED, [3]),
    ({"product": "hoover"}, fit.MATCHED, [5]),  # a synonym of the taxonomy type
    ({"product": "kettle", "size": ["10"]}, fit.MATCHED, [6]),  # sold without sizes: passes
    ({"category": "outerwear", "price_max": 150}, fit.MATCHED, [3]),  # a category alone
    ({"recipient": "son", "price_max": 30}, fit.MATCHED, [6]),  # no kind: anything in budget
    # not stocked: nothing of that kind (type, category, brand)
    ({"product": "pogo stick"}, fit.NOT_STOCKED, []),
    ({"product": "parka", "category": "footwear"}, fit.NOT_STOCKED, []),
    ({"product": "hiking boot", "brand": "Nike"}, fit.NOT_STOCKED, []),
    ({"category": "garden"}, fit.NOT_STOCKED, []),
    # size or colour: the kind exists, not in that size or colour
    ({"product": "parka", "colour": ["red"]}, fit.SIZE_OR_COLOUR, []),
    ({"product": "hiking boot", "size": ["12"]}, fit.SIZE_OR_COLOUR, []),
    ({"product": "parka", "size": ["S"], "colour": "navy"}, fit.SIZE_OR_COLOUR, []),
    # over budget: fits, but not in the stated price range (a floor too)
    ({"product": "parka", "price_max": 100}, fit.OVER_BUDGET, []),
    ({"product": "kettle", "price_min": 50}, fit.OVER_BUDGET, []),
    # out of stock: fits and in budget, none in stock
    ({"product": "parka", "colour": "navy"}, fit.OUT_OF_STOCK, []),
    ({"product": "hiking boot", "size": "8"}, fit.OUT_OF_STOCK, []),
    ({"product": "hiking boot", "price_max": 60}, fit.OUT_OF_STOCK, []),
])
def test_each_status(need, status, ids):
    result = assess(**need)
    assert (result.status, result.product_ids) == (status, ids)


def test_the_first_step_with_nothing_left_is_the_reason():
    # A navy parka exists only above the budget and out of stock: the budget fails first.
    assert assess(product="parka", colour="navy", price_max=200).status == fit.OVER_BUDGET
    # Red parkas don't exist at all: the colour fails before price or stock are looked at.
    assert assess(product="parka", colour="red", price_max=10).status == fit.SIZE_OR_COLOUR
    # A size 8 boot exists in budget but out of stock while others are in stock: out of stock.
    assert assess(product="boots", size="8", price_max=100).status == fit.OUT_OF_STOCK


def test_what_is_missing_for_size_or_colour():
    assert assess(product="parka", colour="red").missing == "colour"
    assert assess(product="parka", size="XL").missing == "size"
    assert assess(product="parka", colour="red", size="XL").missing == "size and colour"
    # Each exists, never together: both named.
    assert assess(product="parka", colour="navy", size="S").missing == "size and colour"
    assert assess(product="parka", colour="black", size="XL").missing == "size"


def test_limit_and_order():
    many = CATALOGUE + (product(7, "footwear", "hiking boot", "95.00", 2, colours=("brown",)),)
    result = fit.assess({"product": "hiking boot"}, many, TYPES, limit=1)
    assert result.product_ids == [2]
    assert fit.assess({"product": "hiking boot"}, many, TYPES).product_ids == [2, 7]


def test_kind_words():
    kind = fit.kind_of({"product": "Waterproof Hiking Boot", "brand": "Fellrunner"}, TYPES)
    assert (kind.stem, kind.ptype, kind.brand) == ("boot", "hiking boot", "fellrunner")
    assert fit.kind_of({"product": ""}, TYPES).stem == ""
    assert fit.is_unmet("unmet:over_budget") and not fit.is_unmet("pending")
    assert not fit.is_unmet(None) and not fit.is_unmet("matched")
