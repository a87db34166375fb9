"""The demo catalogue, built from the taxonomy: categories, products and their attributes.

Product names read like a shop's ("Fellrunner Waterproof Hiking Boot"): brand, one descriptor
(a feature or a material) and the product type. Some models come in several colours; each colour
is its own product (own SKU, stock and slug) named "<model>, <Colour>".
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from bot.demo.reference import CURRENCY
from bot.taxonomy import CategorySpec, Taxonomy

# Features that only make sense for some product types (others apply to the whole category).
FEATURE_TYPES: Mapping[str, frozenset[str]] = MappingProxyType(MappingProxyType({
    "4-slice": frozenset({"toaster"}), "2-slice": frozenset({"toaster"}),
    "2-person": frozenset({"tent"}), "4-person": frozenset({"tent"}), "3-season": frozenset({"tent", "sleeping bag"}),
    "10.5 tog": frozenset({"duvet"}), "4.5 tog": frozenset({"duvet"}),
    "27-inch": frozenset({"monitor"}), "24-inch": frozenset({"monitor"}), "4K": frozenset({"monitor"}),
    "non-stick": frozenset({"frying pan", "saucepan set", "air fryer", "casserole dish"}),
    "induction compatible": frozenset({"frying pan", "saucepan set", "casserole dish"}),
    "oven safe": frozenset({"casserole dish", "frying pan", "dinner set"}),
    "dishwasher safe": frozenset({"mug", "dinner set", "knife set", "saucepan set", "blender"}),
    "cordless": frozenset({"kettle", "blender", "vacuum cleaner", "drill", "lawn mower", "iron"}),
    "BPA-free": frozenset({"blender", "baby bottle"}),
    "noise-cancelling": frozenset({"headphones", "earbuds"}),
    "wireless": frozenset({"headphones", "earbuds", "keyboard", "mouse", "phone charger"}),
    "bluetooth": frozenset({"headphones", "earbuds", "bluetooth speaker", "smart speaker", "keyboard"}),
    "fast charging": frozenset({"phone charger", "power bank"}), "USB-C": frozenset({"phone charger", "power bank",
                                                                "laptop", "tablet", "monitor"}),
    "1000-piece": frozenset({"jigsaw puzzle"}), "age 3+": frozenset({"building blocks", "toy car", "teddy bear", "doll"}),
    "age 8+": frozenset({"board game", "craft kit", "remote control car", "building blocks"}),
    "battery-powered": frozenset({"remote control car", "toy car"}),
    "hardback": frozenset({"cookbook", "novel", "children's book", "notebook", "diary"}),
    "paperback": frozenset({"cookbook", "novel", "children's book", "colouring book"}),
    "illustrated": frozenset({"cookbook", "children's book", "colouring book"}),
    "A5": frozenset({"notebook", "diary"}), "A4": frozenset({"notebook", "colouring book"}),
    "dotted": frozenset({"notebook"}), "lined": frozenset({"notebook", "diary"}),
    "isofix": frozenset({"car seat"}), "anti-colic": frozenset({"baby bottle"}),
    "SPF 50": frozenset({"sun cream", "moisturiser"}), "sensitive skin": frozenset({"moisturiser", "sun cream",
                                                               "shampoo", "razor"}),
    "hard shell": frozenset({"suitcase", "carry-on suitcase"}), "4 wheels": frozenset({"suitcase", "carry-on suitcase"}),
    "cabin size": frozenset({"carry-on suitcase", "holdall", "backpack"}),
    "expandable": frozenset({"suitcase", "holdall", "garden hose"}),
    "anti-theft": frozenset({"backpack", "laptop bag", "handbag"}),
    "polarised": frozenset({"sunglasses"}), "one size": frozenset({"hat", "beanie", "scarf", "gloves"}),
    "gold plated": frozenset({"necklace", "earrings", "bracelet", "ring"}),
    "sterling silver": frozenset({"necklace", "earrings", "bracelet", "ring"}),
    "clumping": frozenset({"cat litter"}), "grain-free": frozenset({"dog food"}), "orthopaedic": frozenset({"dog bed"}),
    "reflective": frozenset({"dog lead"}), "non-iron": frozenset({"shirt"}),
    "slim fit": frozenset({"shirt", "jeans", "chinos", "suit jacket", "polo shirt"}),
    "regular fit": frozenset({"shirt", "jeans", "chinos", "polo shirt", "t-shirt"}),
    "crew neck": frozenset({"jumper", "t-shirt"}), "v-neck": frozenset({"jumper", "t-shirt"}),
    "high waisted": frozenset({"jeans", "trousers", "skirt", "leggings"}),
    "midi": frozenset({"dress", "skirt"}), "maxi": frozenset({"dress", "skirt"}), "wrap": frozenset({"dress", "skirt"}),
    "pleated": frozenset({"skirt", "dress", "trousers"}), "sleeveless": frozenset({"dress", "blouse", "jumpsuit"}),
    "long sleeve": frozenset({"dress", "blouse", "t-shirt", "shirt", "polo shirt"}),
    "memory foam": frozenset({"mattress", "mattress topper", "pillow"}),
    "cooling": frozenset({"mattress", "mattress topper", "pillow", "duvet"}),
    "Egyptian cotton": frozenset({"duvet cover", "fitted sheet", "bath towel"}),
    "blackout": frozenset({"curtains"}), "ergonomic": frozenset({"office chair", "keyboard", "mouse"}),
    "assembled": frozenset({"sofa", "armchair", "office chair"}),
    "flat-pack": frozenset({"desk", "bookcase", "coffee table"}), "solid wood": frozenset({"desk", "bookcase",
                                                                       "coffee table"}),
    "non-bio": frozenset({"laundry detergent"}), "bagless": frozenset({"vacuum cleaner"}),
    "refillable": frozenset({"washing up liquid", "laundry detergent"}),
    "rechargeable": frozenset({"head torch", "drill", "lawn mower", "electric toothbrush", "razor"}),
    "compact": frozenset({"camping stove", "camping chair", "head torch"}),
    "adjustable waist": frozenset({"school uniform", "joggers"}),
}))
# The same, for features whose meaning depends on the category ("waterproof" boots vs speakers).
CAT_FEATURE_TYPES: Mapping[tuple[str, str], frozenset[str]] = MappingProxyType(MappingProxyType({
    ("electronics", "waterproof"): frozenset({"bluetooth speaker", "earbuds", "headphones"}),
    ("jewellery-watches", "waterproof"): frozenset({"watch", "smartwatch"}),
    ("jewellery-watches", "adjustable"): frozenset({"bracelet", "ring", "necklace", "smartwatch"}),
    ("jewellery-watches", "hypoallergenic"): frozenset({"earrings", "ring", "necklace", "bracelet"}),
    ("sports", "insulated"): frozenset({"water bottle"}),
    ("sports", "foldable"): frozenset({"yoga mat"}),
    ("sports", "adjustable"): frozenset({"dumbbell", "resistance band", "sports bra"}),
    ("sports", "sweat-wicking"): frozenset({"sports bra", "running tights"}),
    ("sports", "non-slip"): frozenset({"yoga mat", "dumbbell"}),
    ("sports", "lightweight"): frozenset({"tennis racket", "gym bag", "football", "water bottle"}),
    ("home", "adjustable"): frozenset({"office chair", "desk", "lamp"}),
    ("home", "washable"): frozenset({"rug", "cushion", "curtains"}),
    ("household", "hypoallergenic"): frozenset({"laundry detergent", "washing up liquid"}),
    ("household", "unscented"): frozenset({"laundry detergent", "washing up liquid"}),
    ("household", "eco-friendly"): frozenset({"laundry detergent", "washing up liquid", "mop", "bin",
                                    "storage box"}),
    ("garden", "foldable"): frozenset({"garden furniture set", "barbecue"}),
    ("garden", "weatherproof"): frozenset({"garden furniture set", "barbecue", "bird feeder", "plant pot"}),
    ("garden", "rust-proof"): frozenset({"garden furniture set", "barbecue", "tool kit", "bird feeder"}),
    ("outdoor", "waterproof"): frozenset({"tent", "sleeping bag", "backpack", "head torch"}),
    ("outdoor", "lightweight"): frozenset({"tent", "sleeping bag", "backpack", "camping chair",
                                 "walking pole", "camping stove"}),
    ("outdoor", "packable"): frozenset({"sleeping bag", "backpack"}),
    ("pets", "washable"): frozenset({"dog bed", "pet carrier"}),
    ("pets", "durable"): frozenset({"chew toy", "dog lead", "cat tree", "pet carrier"}),
    ("toys-games", "wooden"): frozenset({"building blocks", "jigsaw puzzle", "toy car", "doll"}),
    ("toys-games", "educational"): frozenset({"board game", "jigsaw puzzle", "building blocks", "craft kit"}),
    ("toys-games", "family"): frozenset({"board game", "jigsaw puzzle"}),
    ("beauty", "fragrance-free"): frozenset({"moisturiser", "shampoo", "conditioner", "sun cream"}),
    ("beauty", "unscented"): frozenset({"moisturiser", "shampoo", "conditioner", "sun cream", "razor"}),
    ("baby", "foldable"): frozenset({"pushchair", "high chair", "cot"}),
    ("baby", "lightweight"): frozenset({"pushchair", "car seat", "nappy bag"}),
    ("baby", "organic cotton"): frozenset({"baby sleeping bag"}),
    ("accessories", "warm"): frozenset({"scarf", "hat", "gloves", "beanie"}),
    ("accessories", "windproof"): frozenset({"umbrella"}),
    ("accessories", "reversible"): frozenset({"scarf", "belt", "hat"}),
    ("womens-clothing", "stretch"): frozenset({"jeans", "trousers", "leggings", "skirt", "jumpsuit",
                                     "dress"}),
    ("bags-luggage", "lightweight"): frozenset({"suitcase", "carry-on suitcase", "backpack", "holdall"}),
}))
# Features of which a product has at most one.
EXCLUSIVE = (
    frozenset({"4-slice", "2-slice"}), frozenset({"2-person", "4-person"}), frozenset({"10.5 tog", "4.5 tog"}),
    frozenset({"27-inch", "24-inch"}), frozenset({"hardback", "paperback"}), frozenset({"A5", "A4"}), frozenset({"dotted", "lined"}),
    frozenset({"slim fit", "regular fit"}), frozenset({"crew neck", "v-neck"}), frozenset({"midi", "maxi"}),
    frozenset({"sleeveless", "long sleeve"}), frozenset({"age 3+", "age 8+"}), frozenset({"gold plated", "sterling silver"}),
    frozenset({"assembled", "flat-pack"}),
)

# Plausible materials per product type (None: no material row); categories give the default.
CATEGORY_MATERIALS: dict[str, tuple[str, ...]] = MappingProxyType({
    "womens-clothing": ("cotton", "organic cotton", "linen", "silk", "wool", "polyester"),
    "mens-clothing": ("cotton", "organic cotton", "linen", "merino wool", "wool"),
    "kids-clothing": ("cotton", "organic cotton", "polyester"),
    "outerwear": ("polyester", "nylon", "down", "wool"),
    "footwear": ("leather", "suede", "canvas", "rubber"),
    "outdoor": ("nylon", "polyester", "aluminium"),
    "bags-luggage": ("leather", "canvas", "nylon", "polyester"),
    "accessories": ("wool", "cashmere", "leather", "cotton", "silk"),
    "kitchen": ("stainless steel", "ceramic", "glass"),
    "home": ("oak", "pine", "rattan", "linen", "wool"),
    "bedding": ("cotton", "organic cotton", "linen", "bamboo"),
    "garden": ("aluminium", "stainless steel", "plastic"),
    "pets": ("fleece", "nylon", "cotton"),
})
TYPE_MATERIALS: dict[str, tuple[str, ...] | None] = MappingProxyType({
    "jeans": ("denim",), "denim jacket": ("denim",), "fleece jacket": ("fleece",),
    "dungarees": ("denim", "cotton"), "jumper": ("wool", "merino wool", "cashmere", "cotton"),
    "cardigan": ("wool", "merino wool", "cashmere"), "hoodie": ("cotton", "organic cotton"),
    "t-shirt": ("cotton", "organic cotton"), "leggings": ("cotton", "polyester"),
    "puffer jacket": ("down", "polyester"), "raincoat": ("nylon", "polyester"),
    "trench coat": ("cotton",), "winter coat": ("wool", "down", "polyester"),
    "trainer": ("canvas", "leather", "suede"), "running shoe": ("nylon", "polyester"),
    "hiking boot": ("leather", "suede"), "wellington boot": ("rubber",),
    "slipper": ("fleece", "wool", "suede"), "football boot": ("leather",),
    "yoga mat": ("rubber",), "dumbbell": ("cast iron",), "resistance band": ("rubber",),
    "water bottle": ("stainless steel", "plastic"), "tennis racket": ("aluminium",),
    "football": ("rubber",), "sports bra": ("polyester",), "running tights": ("polyester",),
    "gym bag": ("nylon", "polyester"), "tent": ("nylon", "polyester"),
    "sleeping bag": ("down", "polyester"), "camping stove": ("stainless steel", "aluminium"),
    "head torch": None, "cool box": ("plastic",), "walking pole": ("aluminium",),
    "suitcase": ("aluminium", "plastic", "polyester"), "carry-on suitcase": ("plastic",
                                                                              "aluminium"),
    "wallet": ("leather",), "handbag": ("leather", "suede", "canvas"),
    "sunglasses": ("plastic",), "umbrella": ("nylon", "polyester"), "belt": ("leather",),
    "watch": ("stainless steel", "leather"), "smartwatch": ("aluminium", "stainless steel"),
    "necklace": None, "earrings": None, "bracelet": ("leather", "stainless steel"), "ring": None,
    "casserole dish": ("cast iron", "ceramic"), "frying pan": ("cast iron", "stainless steel",
                                                                "aluminium"),
    "saucepan set": ("stainless steel", "aluminium"), "kettle": ("stainless steel", "glass"),
    "toaster": ("stainless steel",), "coffee machine": None, "knife set": ("stainless steel",),
    "dinner set": ("ceramic",), "blender": ("glass", "plastic"), "air fryer": None,
    "mug": ("ceramic", "glass"), "sofa": ("linen", "leather"), "armchair": ("linen", "leather",
                                                                           "rattan"),
    "coffee table": ("oak", "pine", "glass"), "desk": ("oak", "pine"),
    "office chair": None, "bookcase": ("oak", "pine"), "lamp": ("ceramic", "glass", "rattan"),
    "rug": ("wool", "cotton"), "mirror": ("glass",), "curtains": ("linen", "cotton"),
    "cushion": ("linen", "cotton", "wool"), "duvet": ("down", "polyester"),
    "pillow": ("down", "polyester"), "mattress": None, "mattress topper": None,
    "bath towel": ("cotton", "bamboo"), "bathrobe": ("cotton", "fleece"),
    "building blocks": ("plastic",), "toy car": ("plastic",), "doll": None,
    "teddy bear": ("cotton",), "jigsaw puzzle": None, "board game": None, "craft kit": None,
    "remote control car": ("plastic",), "plant pot": ("ceramic", "plastic"),
    "garden furniture set": ("rattan", "aluminium"), "garden hose": ("plastic",),
    "lawn mower": None, "drill": None, "tool kit": ("stainless steel",), "barbecue": (
        "stainless steel", "cast iron"), "bird feeder": ("pine", "stainless steel"),
    "dog bed": ("fleece", "cotton"), "cat litter": None, "dog food": None, "cat tree": None,
    "chew toy": ("rubber",), "dog lead": ("nylon", "leather"), "pet carrier": ("plastic", "nylon"),
    "bin": ("stainless steel", "plastic"), "storage box": ("plastic", "rattan"),
    "cot": ("pine", "oak"), "high chair": ("pine", "plastic"), "baby bottle": ("glass",
                                                                                "plastic"),
    "baby sleeping bag": ("organic cotton",), "nappy bag": ("canvas", "nylon"),
})
# Types sold without a colour choice.
NO_COLOUR = frozenset({
    "shampoo", "conditioner", "perfume", "sun cream", "moisturiser", "laundry detergent",
    "washing up liquid", "cat litter", "dog food", "cookbook", "novel", "children's book",
    "colouring book", "jigsaw puzzle", "board game", "craft kit",
})
# Colour palettes per category (default: every taxonomy colour).
PALETTES: dict[str, tuple[str, ...]] = MappingProxyType({
    "electronics": ("black", "white", "silver", "grey", "navy"),
    "kitchen": ("black", "white", "red", "cream", "silver", "grey", "blue", "green"),
    "jewellery-watches": ("gold", "silver", "black", "tan"),
    "household": ("white", "grey", "black", "blue"),
    "garden": ("green", "black", "grey", "silver"),
    "baby": ("grey", "navy", "black", "cream", "pink", "light blue"),
    "footwear": ("black", "brown", "tan", "navy", "white", "grey", "burgundy", "olive"),
    "outerwear": ("black", "navy", "khaki", "olive", "grey", "burgundy", "beige", "red"),
    "home": ("grey", "cream", "beige", "navy", "green", "tan", "white", "black"),
    "bedding": ("white", "cream", "grey", "navy", "pink", "light blue"),
})
# Size systems that apply only to some types of a category.
SIZED_TYPES: Mapping[str, frozenset[str]] = MappingProxyType(MappingProxyType({
    "sports": frozenset({"sports bra", "running tights"}),
    "pets": frozenset({"dog bed", "dog lead", "pet carrier"}),
    "bedding": frozenset({"duvet", "duvet cover", "fitted sheet", "mattress", "mattress topper"}),
}))
# Where a type sits in its category's price range: cheap end, dear end, or anywhere.
CHEAP = frozenset({
    "mug", "water bottle", "resistance band", "notebook", "pen set", "diary", "colouring book",
    "cat litter", "chew toy", "washing up liquid", "laundry detergent", "mop", "baby bottle",
    "bird feeder", "plant pot", "garden hose", "head torch", "wallet", "lipstick", "shampoo",
    "conditioner", "razor", "sun cream", "moisturiser", "phone charger", "mouse", "t-shirt",
    "beanie", "gloves", "cushion", "pillow", "bath towel", "toy car", "jigsaw puzzle", "football",
    "dog lead", "dog food", "slipper", "leggings", "earrings", "ring", "umbrella", "walking pole",
    "storage box", "bin", "fitted sheet", "teddy bear", "kettle", "toaster", "frying pan",
})
DEAR = frozenset({
    "sofa", "armchair", "mattress", "laptop", "monitor", "tablet", "lawn mower", "pushchair",
    "car seat", "cot", "coffee machine", "tent", "suitcase", "smartwatch", "watch", "barbecue",
    "garden furniture set", "vacuum cleaner", "winter coat", "parka", "desk", "office chair",
    "bookcase", "sleeping bag", "hiking boot", "tennis racket", "drill", "perfume",
    "electric toothbrush", "hair dryer", "air fryer", "cat tree", "remote control car",
})
SHOE_EU = MappingProxyType({"3": "36", "4": "37", "5": "38", "6": "39", "7": "41", "8": "42", "9": "43",
           "10": "44", "11": "45", "12": "46", "13": "47"})
KIDS_NAME = "Kids'"


def title(text: str) -> str:
    """Title-case a phrase without mangling "USB-C", "4K", "T-shirt", "10.5 tog"."""
    words = []
    for word in text.split(" "):
        parts = word.split("-")
        parts = [p if (p[:1].isdigit() or p.isupper()) else p[:1].upper() + p[1:] for p in parts]
        words.append("-".join(parts))
    return " ".join(words)


def slugify(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def shop_price(rng: random.Random, low: float, high: float) -> Decimal:
    """A price in [low, high] with a shop's endings (.99, .00, .50, .95; .49 for cheap items)."""
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    if value < 10:
        pounds = max(int(value), int(math.ceil(low)) - 1)
        ending = rng.choice((".49", ".99", ".99", ".50"))
    else:
        pounds = int(value)
        if pounds >= 100:  # dear things land on round-ish pounds: 125, 149, 480...
            pounds = pounds // 5 * 5 + rng.choice((0, 0, 4))
        ending = rng.choice((".99", ".99", ".99", ".00", ".00", ".50", ".95"))
    price = Decimal(f"{pounds}{ending}")
    # Pull strays back inside the range, keeping a shop ending (x.00 at the bottom, x.99 top).
    if price < Decimal(str(low)):
        price = Decimal(math.ceil(low)).quantize(Decimal("0.01"))
    if price > Decimal(str(high)):
        price = Decimal(math.floor(high)) - Decimal("0.01")
    return price


def _price_band(cat: CategorySpec, ptype: str) -> tuple[float, float]:
    low, high = cat.price
    span = math.log(high) - math.log(low)
    if ptype in CHEAP:
        return low, math.exp(math.log(low) + 0.35 * span)
    if ptype in DEAR:
        return math.exp(math.log(low) + 0.55 * span), high
    return math.exp(math.log(low) + 0.15 * span), math.exp(math.log(low) + 0.85 * span)


def _features(rng: random.Random, cat: CategorySpec, ptype: str) -> list[str]:
    allowed = [
        f for f in cat.features
        if ptype in CAT_FEATURE_TYPES.get((cat.slug, f), FEATURE_TYPES.get(f, {ptype}))
    ]
    rng.shuffle(allowed)
    chosen: list[str] = []
    for feature in allowed:
        if len(chosen) >= rng.choice((1, 1, 2, 2, 3)):
            break
        if any(feature in group and group & set(chosen) for group in EXCLUSIVE):
            continue
        chosen.append(feature)
    return chosen


def _sizes(rng: random.Random, taxonomy: Taxonomy, cat: CategorySpec, ptype: str,
           kids: bool) -> list[str]:
    if cat.slug in SIZED_TYPES and ptype not in SIZED_TYPES[cat.slug]:
        return []
    systems = [s for s in cat.sizes if s != "shoe_eu"]
    if cat.slug == "outerwear":
        systems = ["kids_age"] if kids else ["clothing"]
    sizes: list[str] = []
    for system in systems:
        values = list(taxonomy.size_systems[system])
        if system == "clothing_fit":
            sizes += [v for v in values if v == "regular" or rng.random() < 0.35]
            continue
        if system == "shoe_uk":
            start = rng.choice((0, 4, 6, 8, 10))  # women's-ish from 3, men's-ish from 6
            run = values[start : start + rng.randint(8, 12)]
            if rng.random() < 0.4:  # whole sizes only
                run = [v for v in run if "." not in v]
            sizes += run
            sizes += [f"EU {SHOE_EU[v]}" for v in run if v in SHOE_EU]
            continue
        length = len(values)
        start = rng.randint(0, max(0, length - 4))
        sizes += values[start : start + rng.randint(min(3, length), length)]
    return sizes


def generate_catalogue(
    rng: random.Random, taxonomy: Taxonomy, now: datetime, *, models_per_type: tuple = (1, 2)
) -> dict[str, list[dict]]:
    """Categories, products and product attribute rows for every taxonomy category."""
    categories, products, attributes = [], [], []
    names: set[str] = set()
    for cat_id, cat in enumerate(taxonomy.categories, start=1):
        categories.append({"id": cat_id, "slug": cat.slug, "name": cat.name, "parent_id": None})
        palette = PALETTES.get(cat.slug, taxonomy.colours)
        for ptype in cat.types:
            for _ in range(rng.randint(*models_per_type)):
                kids = cat.slug == "outerwear" and rng.random() < 0.2
                brand = rng.choice(cat.brands)
                features = _features(rng, cat, ptype)
                materials = TYPE_MATERIALS.get(ptype, CATEGORY_MATERIALS.get(cat.slug))
                material = rng.choice(materials) if materials else None
                # The descriptor in the name: a feature, or the material, or both.
                words = []
                named = [f for f in features if f.lower() not in ptype]
                if named and (material is None or rng.random() < 0.6):
                    words.append(title(named[0]))
                elif material:
                    words.append(title(material))
                model = " ".join([brand] + ([KIDS_NAME] if kids else []) + words + [title(ptype)])
                if model in names:
                    continue
                names.add(model)
                sizes = _sizes(rng, taxonomy, cat, ptype, kids)
                low, high = _price_band(cat, ptype)
                price = shop_price(rng, low, high)
                if ptype in NO_COLOUR:
                    colours: list[str | None] = [None]
                else:
                    n_colours = rng.choices((1, 2, 3), weights=(55, 30, 15))[0]
                    colours = rng.sample(list(palette), n_colours)
                for colour in colours:
                    pid = len(products) + 1
                    name = model if len(colours) == 1 else f"{model}, {colour.title()}"
                    stock = 0 if rng.random() < 0.08 else int(rng.paretovariate(1.2) * 6)
                    desc_bits = ", ".join(features + ([material] if material else []))
                    products.append({
                        "id": pid,
                        "sku": f"{cat.slug[:3].upper()}-{pid:05d}",
                        "name": name,
                        "slug": slugify(name),
                        "category_id": cat_id,
                        "product_type": ptype,
                        "brand": brand,
                        "price": price,
                        "currency": CURRENCY,
                        "stock": min(stock, 400),
                        "description": (f"{model} from {brand}"
                                        + (f": {desc_bits}." if desc_bits else ".")),
                        "active": True,
                        "created_at": now - timedelta(days=rng.randint(400, 1400)),
                    })
                    rows = [("colour", colour)] if colour else []
                    rows += [("size", s) for s in sizes]
                    rows += [("material", material)] if material else []
                    rows += [("feature", f) for f in features]
                    for attr_name, value in rows:
                        attributes.append({"id": len(attributes) + 1, "product_id": pid,
                                           "name": attr_name, "value": value})
    return {"categories": categories, "products": products, "product_attributes": attributes}
