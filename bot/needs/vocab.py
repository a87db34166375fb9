"""The vocabularies the rules and normalisers use: the shop taxonomy plus ``vocab.yml``, and the
word lists of the extractor's heuristics (``wordlists.yml``)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml

from bot.taxonomy import Taxonomy, load_taxonomy

VOCAB_PATH = Path(__file__).parent / "vocab.yml"
WORD_LISTS_PATH = Path(__file__).parent / "wordlists.yml"


@dataclass(frozen=True)
class NeedVocab:
    taxonomy: Taxonomy
    colours: dict[str, str]  # said (lower) -> normal form
    materials: frozenset[str]
    attributes: dict[str, str]  # said (lower) -> normal form (features, materials, extras)
    recipients: dict[str, str]
    occasions: dict[str, str]
    brands: dict[str, str]  # lower -> as the catalogue spells it
    product_types: dict[str, str]  # type or synonym (lower) -> taxonomy type
    type_category: dict[str, str]  # taxonomy type -> category slug (first category wins)
    word_category: dict[str, str]  # non-type product word -> category slug
    plural_only: frozenset[str]
    need_cues: tuple[str, ...]
    no_need_cues: tuple[str, ...]
    # brands that are also ordinary words: brands only when capitalised mid-sentence
    ambiguous_brands: frozenset[str] = frozenset()
    # products no catalogue category holds ("tripod", "printer ink"): products, category None
    uncatalogued: frozenset[str] = frozenset()

    def product_phrases(self) -> tuple[str, ...]:
        """Every product phrase we know: taxonomy types and synonyms, words of a category, and
        the uncatalogued products."""
        return tuple(self.product_types) + tuple(self.word_category) + tuple(
            sorted(self.uncatalogued))

    def product_words(self) -> frozenset[str]:
        """Every single word of a known product phrase (for typo correction)."""
        words: set[str] = set()
        for phrase in self.product_phrases():
            words.update(phrase.replace("-", " ").split())
        return frozenset(w for w in words if len(w) > 2)


@lru_cache(maxsize=None)
def load_vocab(path: Path = VOCAB_PATH) -> NeedVocab:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    taxonomy = load_taxonomy()
    colours = {c.lower(): c.lower() for c in taxonomy.colours}
    colours.update({c: c for c in raw["extra_colours"]})
    colours.update({k.lower(): v.lower() for k, v in raw["colour_synonyms"].items()})
    extra_materials = [str(m).lower() for m in raw.get("extra_materials") or []]
    attributes = {m.lower(): m.lower() for m in list(taxonomy.materials) + extra_materials}
    for cat in taxonomy.categories:
        attributes.update({f.lower(): f.lower() for f in cat.features})
    attributes.update({str(k).lower(): str(v).lower() for k, v in raw["attribute_synonyms"].items()})
    recipients = {r: r for r in raw["recipients"]}
    recipients.update({k.lower(): v for k, v in raw["recipient_synonyms"].items()})
    occasions = {o: o for o in raw["occasions"]}
    occasions.update({k.lower(): v for k, v in raw["occasion_synonyms"].items()})
    brands: dict[str, str] = {}
    type_category: dict[str, str] = {}
    product_types: dict[str, str] = {}
    for cat in taxonomy.categories:
        for brand in cat.brands:
            brands.setdefault(brand.lower(), brand)
        for ptype in cat.types:
            type_category.setdefault(ptype, cat.slug)
            product_types.setdefault(ptype.lower(), ptype)
    for brand in raw.get("brands") or []:
        brands.setdefault(str(brand).lower(), str(brand).lower())
    for said, ptype in raw["product_synonyms"].items():
        if ptype not in type_category:
            raise ValueError(f"vocab.yml: {said!r} maps to unknown type {ptype!r}")
        product_types.setdefault(str(said).lower(), ptype)
    categories = {c.slug for c in taxonomy.categories}
    for word, slug in raw["product_categories"].items():
        if slug not in categories:
            raise ValueError(f"vocab.yml: {word!r} maps to unknown category {slug!r}")
    return NeedVocab(
        taxonomy=taxonomy,
        colours=colours,
        materials=frozenset(m.lower() for m in taxonomy.materials) | {"merino", "velvet",
                                                                       "sheepskin", "bamboo"}
        | frozenset(extra_materials),
        attributes=attributes,
        recipients=recipients,
        occasions=occasions,
        brands=brands,
        product_types=product_types,
        type_category=type_category,
        word_category={str(k).lower(): v for k, v in raw["product_categories"].items()},
        plural_only=frozenset(raw["plural_only"]),
        need_cues=tuple(raw["need_cues"]),
        no_need_cues=tuple(raw["no_need_cues"]),
        ambiguous_brands=frozenset(str(b).lower() for b in raw.get("ambiguous_brands") or []),
        uncatalogued=frozenset(str(p).lower() for p in raw.get("uncatalogued_products") or []),
    )


@lru_cache(maxsize=None)
def load_word_lists(path: Path = WORD_LISTS_PATH) -> MappingProxyType[str, frozenset[str]]:
    """Every list of ``wordlists.yml`` as a frozenset: data kept out of the code, read once."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    lists: dict[str, frozenset[str]] = {}
    for name, words in raw.items():
        # a bare yes/no/on/off is a YAML boolean: fail here rather than match nothing later
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{path.name}: {name!r} must be a list of strings "
                             "(quote yes, no, on and off)")
        lists[name] = frozenset(words)
    return MappingProxyType(lists)


def word_list(name: str) -> frozenset[str]:
    """One list of ``wordlists.yml`` ("leading_adjectives", "phrase_stop", ...)."""
    return load_word_lists()[name]
