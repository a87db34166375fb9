"""Normal forms of NEED fields, shared by the extractor and the evaluator.

Both sides of an evaluation go through the same functions, so "grandma" and "grandmother",
"football boots" and "football boot", "t shirt" and "t-shirt" compare equal.
"""
from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Callable

from bot.needs.vocab import NeedVocab, load_vocab

_DETERMINERS = frozenset({"a", "an", "the", "some", "any", "my", "our", "his", "her", "their",
                          "your", "new", "sum"})
_LETTER_SIZES = MappingProxyType({
    "xxs": "XXS", "xs": "XS", "s": "S", "m": "M", "l": "L", "xl": "XL", "xxl": "XXL",
    "3xl": "3XL", "xxxl": "3XL", "small": "S", "medium": "M", "med": "M", "large": "L",
    "extra small": "XS", "extra large": "XL", "x large": "XL", "extra extra large": "XXL",
})
_BED_SIZES = MappingProxyType({
    "king size": "king", "king": "king", "kingsize": "king", "super king": "super king",
    "superking": "super king", "double": "double", "small double": "small double",
    "single": "single", "queen": "king", "queen size": "king"})
_AGE_RE = re.compile(r"^(?:age|aged)\s*(\d{1,2})\+?$")
_AGE_RANGE_RE = re.compile(r"^(?:age|aged)\s*(\d{1,2})\s*-\s*(\d{1,2})$")
_YEARS_OLD_RE = re.compile(r"^(\d{1,2})\s*(?:year|yr)s?\s*olds?(?:\s+(boy|girl))?$")
_ORDINAL_RE = re.compile(r"^\d{1,3}(?:st|nd|rd|th)$")


@lru_cache(maxsize=1)
def _lemma_table():
    """spaCy's English lemma lookup table (keys are stored as hashes; use ``in`` and ``get``)."""
    from spacy.lookups import load_lookups

    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


@lru_cache(maxsize=1)
def _lemmas() -> frozenset[str]:
    return frozenset(v for v in _lemma_table().values() if isinstance(v, str))


# words shoppers use that the lemma table lacks (function words are spaCy's stop words)
_EVERYDAY_WORDS = frozenset({"hiya", "heya", "thanx", "thanks", "cheers", "pls", "plz", "please",
                             "ideally", "preferably", "asap", "tho", "gonna", "wanna", "gotta",
                             "okay", "hello", "morning", "evening", "below", "above", "under",
                             "within", "between", "around", "upwards", "cheaper", "pricier",
                             "skool", "skewl", "innit", "soz", "lol", "tbh", "thx", "ty",
                             "pressie", "pressies", "prezzie", "prezzies", "bday", "xmas"})


def is_known_word(word: str) -> bool:
    """An English word form (lemma table, stop words) or one of our product words: typo
    correction leaves these alone ("below" is not a misspelt "blow")."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return word in _lemma_table() or word in _lemmas() or word in STOP_WORDS \
        or word in _EVERYDAY_WORDS or word in _product_word_set()


@lru_cache(maxsize=1)
def _product_word_set() -> frozenset[str]:
    return load_vocab().product_words()


def squash(text: str) -> str:
    """Lower case, hyphens and underscores as spaces, single spaces."""
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def strip_determiners(words: list[str]) -> list[str]:
    while words and words[0] in _DETERMINERS:
        words = words[1:]
    return words


def singular(word: str, vocab: NeedVocab | None = None) -> str:
    vocab = vocab or load_vocab()
    if word in vocab.plural_only:
        return word
    products = _product_word_set()
    if word in products and not word.endswith("s"):
        return word  # "cleaner" of "vacuum cleaner" is not the adjective's "clean"
    if word.endswith("s"):  # a product word first: "cleaners" is "cleaner", not "clean"
        for stem in (word[:-1], word[:-2] if word.endswith("es") else None):
            if stem and len(stem) > 2 and stem in products:
                return stem
    lemma = _lemma_table().get(word) if word in _lemma_table() else None
    if isinstance(lemma, str) and lemma:
        return lemma
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=1)
def _product_forms() -> dict[str, str]:
    """What a misspelt product word is compared with -> the word or phrase it stands for:
    every product word and its plural, and each two- or three-word product phrase written as
    one word ("airfryer" -> "air fryer", "hairdryer" stays itself when it is a word we know)."""
    vocab = load_vocab()
    forms: dict[str, str] = {}
    for word in vocab.product_words():
        plurals = (word + "es",) if word.endswith(("ss", "x", "z", "ch", "sh")) else \
            () if word.endswith("s") else (word + "s",)
        for form in (word, *plurals):
            forms.setdefault(form, form)
    for phrase in vocab.product_phrases():
        words = phrase.replace("-", " ").split()
        if 1 < len(words) <= 3 and "".join(words).isalpha():
            forms.setdefault("".join(words), " ".join(words))
    return forms


def product_vocabulary() -> frozenset[str]:
    """What :func:`correct_word` may return for a product word."""
    return frozenset(_product_forms().values())


@lru_cache(maxsize=1)
def _describing_forms() -> dict[str, str]:
    """Single words of materials, colours and attributes -> the word they stand for."""
    vocab = load_vocab()
    forms: dict[str, str] = {}
    for table in (vocab.colours, vocab.attributes, {m: m for m in vocab.materials}):
        for said, value in table.items():
            if said.isalpha() and len(said) >= 5:
                forms.setdefault(said, said if value == said or " " in value else value)
    return forms


@lru_cache(maxsize=None)
def _choices(forms_of: Callable[[], dict[str, str]]) -> tuple[str, ...]:
    """The forms of a cached loader as rapidfuzz's choices (built once per loader)."""
    return tuple(forms_of())


def _same_start(word: str, form: str) -> bool:
    """Typos rarely touch the first letter: "vlogging" is not a misspelt "legging". A swap of
    the first two letters ("ehadphones") still counts."""
    return word[0] == form[0] or (word[:2] == form[1::-1] and len(form) > 1)


def closest_form(word: str, forms_of: Callable[[], dict[str, str]],
                 prefer: frozenset[str] = frozenset()) -> tuple[int, str | None]:
    """(edit distance, what the closest entry of the cached loader ``forms_of`` stands for);
    None when the word is known, too short, or no single entry is closest.

    rapidfuzz finds the entries within the optimal-string-alignment distance allowed (1 for
    words under 7 letters, else 2; a swap of two letters costs 1) that start like the word;
    among the nearest, the one most alike by rapidfuzz's ratio wins ("headphons" is one edit
    from "headphone" and from "headphones": the second is more alike), then one in ``prefer``
    ("jumpr": the product "jumper", not "jump" of "jump leads"); a tie left is no answer."""
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import OSA

    if len(word) < 5 or not word.isalpha() or is_known_word(word):
        return 0, None
    limit = 1 if len(word) < 7 else 2
    forms = forms_of()
    found = [(distance, form) for form, distance, _ in process.extract(
        word, _choices(forms_of), scorer=OSA.distance, score_cutoff=limit, limit=None)
        if _same_start(word, form)]
    if not found:
        return limit + 1, None
    nearest = min(distance for distance, _ in found)
    alike: dict[str, float] = {}
    for distance, form in found:
        if distance == nearest:
            value = forms[form]
            alike[value] = max(alike.get(value, 0.0), fuzz.ratio(word, form))
    best = max(alike.values())
    tied = {value for value, ratio in alike.items() if ratio == best}
    if len(tied) > 1 and prefer:
        tied = tied & prefer or tied
    return (nearest, next(iter(tied))) if len(tied) == 1 else (nearest, None)


@lru_cache(maxsize=1)
def _product_head_forms() -> frozenset[str]:
    """Product forms that end a product phrase ("jumper", "boots"), preferred in a tie."""
    vocab = load_vocab()
    heads = {p.replace("-", " ").split()[-1] for p in vocab.product_phrases() if p.strip()}
    return frozenset(f for f in product_vocabulary() if f in heads or f.rstrip("s") in heads
                     or f[:-2] in heads)


@lru_cache(maxsize=4096)
def correct_word(word: str) -> str:
    """A misspelt product word corrected against our product vocabulary ("jaket" -> "jacket",
    "tripood" -> "tripod", "airfryer" -> "air fryer").

    Only unknown words of 5+ letters are touched, only when one closest known product word
    exists (:func:`closest_form`), and not when a colour, material or attribute word is as
    close ("cordles" is "cordless", not "candles"), so ordinary words are never "corrected"
    into products.
    """
    distance, product = closest_form(word, _product_forms, _product_head_forms())
    if product is None:
        return word
    other, exact = closest_form(word, _describing_forms)
    if other == 0 and exact is not None:
        return word  # "bagless" is an attribute word, not a misspelt "bangle"
    return product if distance < other else word


@lru_cache(maxsize=4096)
def correct_describing_word(word: str) -> str:
    """A misspelt material, colour or attribute word ("lether", "wireles", "cordles")."""
    distance, fixed = closest_form(word, _describing_forms)
    if fixed is None:
        return word
    other, exact = closest_form(word, _product_forms)
    if other == 0 and exact is not None:
        return word
    return fixed if distance < other else word

def product_form(text: str, *, correct: bool = True) -> str:
    """A product phrase as we store it: lower case, typos fixed, singular head ("hiking boot")."""
    vocab = load_vocab()
    words = strip_determiners(text.lower().replace("’", "'").split())
    if correct:
        words = [correct_word(w) if correct_word(w) != w else correct_describing_word(w)
                 for w in words]
    if not words:
        return ""
    if words[-1].endswith("'s") and len(words[-1]) > 3:
        words[-1] = words[-1][:-2] + "s"  # "pj's", "dvd's": a plural written with an apostrophe
    words[-1] = singular(words[-1], vocab)
    return " ".join(words)


def product_key(text: str) -> str:
    return squash(product_form(squash(text), correct=False))


def colour_form(text: str) -> str:
    vocab = load_vocab()
    said = " ".join(text.lower().split())
    return vocab.colours.get(said, vocab.colours.get(squash(said), said))


def size_form(text: str) -> str:
    said = " ".join(text.lower().replace("size", " ").replace("sz", " ").split())
    said = re.sub(r"^(?:uk|eu|us)\s*", "", said)
    if said in _LETTER_SIZES:
        return _LETTER_SIZES[said]
    if said in _BED_SIZES:
        return _BED_SIZES[said]
    match = _AGE_RANGE_RE.match(said)
    if match:
        return f"{int(match.group(1))}-{int(match.group(2))} years"
    match = _AGE_RE.match(said)
    if match:
        return f"{int(match.group(1))} years"
    match = re.match(r"^(\d{1,2})\s*(?:years?|yrs?|y)$", said)
    if match:
        return f"{int(match.group(1))} years"
    return said.upper() if re.fullmatch(r"[\dx]*[a-z]{1,3}", said) and len(said) <= 4 else said


def recipient_form(text: str) -> str:
    vocab = load_vocab()
    words = strip_determiners(text.lower().replace("’", "'").split())
    said = " ".join(words)
    match = _YEARS_OLD_RE.match(said.replace("-", " "))
    if match:
        return match.group(2) or "child"
    if said in vocab.recipients:
        return vocab.recipients[said]
    if said.endswith("'s") and said[:-2] in vocab.recipients:
        return vocab.recipients[said[:-2]]
    return said


def occasion_form(text: str) -> str:
    vocab = load_vocab()
    full = " ".join(text.lower().replace("’", "'").split())
    if full in vocab.occasions:  # "new home", "new job": "new" is part of the occasion
        return vocab.occasions[full]
    said = " ".join(strip_determiners(full.split()))
    if _ORDINAL_RE.match(said) or said.endswith("birthday"):
        return "birthday"
    return vocab.occasions.get(said, said)


def attribute_form(text: str) -> str:
    vocab = load_vocab()
    said = " ".join(text.lower().split())
    return vocab.attributes.get(said, vocab.attributes.get(squash(said), said))


def brand_form(text: str) -> str:
    vocab = load_vocab()
    said = " ".join(text.split())
    return vocab.brands.get(said.lower(), said).lower()


FIELD_FORMS = MappingProxyType({
    "product": product_key,
    "colour": lambda v: squash(colour_form(v)),
    "size": lambda v: squash(size_form(v)),
    "attributes": lambda v: squash(attribute_form(v)),
    "recipient": lambda v: squash(recipient_form(v)),
    "occasion": lambda v: squash(occasion_form(v)),
    "brand": lambda v: squash(brand_form(v)),
})


def field_key(field: str, value) -> str | float:
    """The comparison key of one value of a NEED field (used by the evaluator)."""
    if field in FIELD_FORMS:
        return FIELD_FORMS[field](str(value))
    return float(value)


def category_of(product: str, vocab: NeedVocab | None = None) -> str | None:
    """The catalogue category slug of a product phrase (taxonomy types, synonyms, head words);
    None for a product no category holds ("printer toner", "tripod")."""
    vocab = vocab or load_vocab()
    phrase = product.lower().strip()
    if not phrase:
        return None
    words = phrase.split()
    # longest known suffix of the phrase: "kids wool winter coat" -> "winter coat"
    for start in range(len(words)):
        tail = " ".join(words[start:])
        forms = (tail, singular(tail, vocab) if " " not in tail else tail,
                 tail[:-1] if tail.endswith("s") else tail)  # "dumbbells": plural only here
        for form in forms:
            if form in vocab.uncatalogued:
                return None
            if form in vocab.product_types:
                return vocab.type_category[vocab.product_types[form]]
            if form in vocab.word_category:
                return vocab.word_category[form]
        if start == len(words) - 1:
            break
    head = words[-1]
    if any(w in _product_word_set() for w in words[:-1]):
        return None  # "barbecue cover" is not a duvet cover: two things, neither one known
    for ptype, slug in vocab.type_category.items():
        if ptype.split()[-1] in (head, singular(head, vocab)):
            return slug
    return None
