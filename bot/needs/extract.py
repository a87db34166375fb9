"""From a message to NEED records: the spaCy pipeline (trained NER + rule component) and the
assembler that groups product spans and rule mentions into needs.

``NeedExtractor`` loads the pipeline once; ``extract(text)`` / ``extract_many(texts)`` return
lists of :class:`Need`. Without a trained model the extractor still works from the taxonomy
vocabularies alone (products found by phrase matching), with lower recall.
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from bot.needs import normalise, rules
from bot.needs.vocab import NeedVocab, load_vocab

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "needs-1.0"
MAX_CHARS = 2000  # longer messages are cut: a need is stated in a sentence or two, not a novel
_STRONG_NEED = re.compile(
    r"\b(looking|lookin|searching|hunting|after (?:a|an|some|something)"
    r"(?! (?:week|day|month|year|while|few|couple|fortnight|bit|minute|hour)s?\b)|do (?:you|u|y'all|you guys) "
    r"(?:have|sell|stock|do|carry)|have you got|got any|any chance|wish (?:you|u) had|shame|"
    r"need (?:a|an|some|new|\d)|i want (?:a|an|some|\d)|would like|i'd like|i'd love|"
    r"recommend|gift|present)\b", re.I)
# "I'd like a refund", "I want to return", "need a replacement": the want is about an order
_SERVICE_REQUEST = re.compile(
    r"\b(?:like|want|need|get|have|wanna|request|after)\s+(?:a |an |my |to |to get a |some )?"
    r"(?:refund|refunds|replacement|exchange|return label|money back|"
    r"return|cancel|exchange|swap|complain|track|change my order|send (?:it|this|them) back)\b"
    r"|\bdo (?:you|u|y'all) (?:do|have|offer|give) (?:a |an |any )?(?:student |nhs |military |"
    r"blue light |first order )?(?:discount|promo|voucher|price match|gift wrap|next day|"
    r"free delivery|delivery|click and collect|returns)", re.I)
_GIFT_CUE = re.compile(r"\b(?:gift|gifts|present|presents|pressie|prezzie|something for|"
                       r"ideas? for|buy (?:for|something)|get (?:for|something))\b", re.I)
_SCALARS = ("price_min", "price_max", "currency", "quantity", "needed_by")
_LISTS = ("attributes", "colour", "size", "brand", "recipient", "occasion")
_LIST_TRIGGER = re.compile(r"(?:\bfor|\bmy|\bour|\bhis|\bher|\bfor the|\bfor a|\bfor an|\bmi|\bur|"
                           r"\bthe|\ba|\ban)\s+$", re.I)
# "walking the dog", "feeding the cat": the animal is not who the product is for
_NOT_RECIPIENT_BEFORE = re.compile(r"\b(?:walk|walking|walks|feed|feeding|take|taking|bath|bathing|"
                                   r"groom|grooming|with|like|than|and|when|at|is|was)\s+(?:the|a|an|my)\s+$",
                                   re.I)
# an activity word used as a verb on an object ("walking the dog", "running a bath")
_OCCASION_VERB_AFTER = re.compile(r"\s+(?:the|a|an|my|your|his|her|our|their|it|them)\b", re.I)
# product-phrase words that describe rather than name: dropped from the start of a phrase
_LEADING_ADJECTIVES = {"decent", "good", "nice", "plain", "proper", "simple", "basic", "cute",
                       "pretty", "lovely", "fancy", "quality", "great", "best", "cool", "little",
                       "big", "small", "cheap", "cheapest", "affordable", "budget", "good quality",
                       "high quality", "new", "another", "second", "spare", "extra", "couple",
                       "few", "similar", "dozen", "half", "pair", "two", "three", "four",
                       "five", "six", "ten", "different", "matching", "nice looking", "stylish",
                       "smart", "casual", "comfy", "comfortable", "sturdy", "reliable", "kids",
                       "kid's", "kids'", "children's", "mens", "men's", "womens", "women's",
                       "ladies", "ladies'", "boys", "boys'", "girls", "girls'"}
# trailing words a model may swallow into a product phrase ("cotton ideally")
_TRAILING_NOISE = {"ideally", "preferably", "please", "pls", "plz", "maybe", "perhaps", "too",
                   "asap", "thanks", "thx", "possibly", "ones", "one", "only", "again", "though"}
# nouns of shop service questions ("is there a student discount?", "what hours is the chat
# staffed?"): a phrase the model calls a product but that names no product
_SERVICE_NOUNS = {"discount", "discounts", "staff", "staffed", "hours", "delivery", "deliveries",
                  "shipping", "postage", "order", "orders", "refund", "refunds", "return", "returns",
                  "code", "codes", "voucher", "vouchers", "account", "password", "address",
                  "store", "shop", "website", "site", "app", "payment", "policy", "status",
                  "team", "service", "chat", "email", "number", "tracking", "parcel", "invoice",
                  "receipt", "basket", "checkout", "login", "newsletter", "branch", "price",
                  "prices", "sale", "offer", "offers", "promotion", "membership", "subscription",
                  "points", "loyalty", "collection", "slot", "manager", "complaint"}


def has_need_cue(text) -> bool:
    """The message says the shopper wants something ("looking for", "shame", "wish you had")."""
    return isinstance(text, str) and bool(_STRONG_NEED.search(text[:MAX_CHARS]))


@dataclass
class Need:
    product: str | None = None
    category: str | None = None
    attributes: list[str] = field(default_factory=list)
    colour: list[str] = field(default_factory=list)
    size: list[str] = field(default_factory=list)
    brand: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    currency: str | None = None
    quantity: int | None = None
    recipient: str | None = None
    occasion: str | None = None
    needed_by: str | None = None
    confidence: float = 0.0
    # character span of the product phrase in the message (not part of the NEED contract)
    span: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("span")
        return data


def _register_extensions() -> None:
    from spacy.tokens import Doc

    if not Doc.has_extension("need_mentions"):
        Doc.set_extension("need_mentions", default=None)


def _rules_component_factory():
    from spacy.language import Language

    if "need_rules" in Language.factories:
        return

    @Language.factory("need_rules", default_config={"vocab_products": False})
    def make_need_rules(nlp, name, vocab_products: bool):
        return NeedRules(vocab_products)


class NeedRules:
    """spaCy component: runs the rule extractors and stores their mentions on the doc."""

    def __init__(self, vocab_products: bool):
        self.vocab_products = vocab_products

    def __call__(self, doc):
        mentions = rules.find_all(doc.text)
        if self.vocab_products:
            mentions.extend(find_vocab_products(doc.text))
        doc._.need_mentions = mentions
        return doc


@lru_cache(maxsize=1)
def _product_table() -> dict[str, str]:
    vocab = load_vocab()
    table = {k: k for k in list(vocab.product_types) + list(vocab.word_category)}
    plural = {k + "s": k for k in table} | {k + "es": k for k in table}
    return {**plural, **table}


@lru_cache(maxsize=1)
def _order_talk_re(cues: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(c) for c in cues) + r")(?!\w)", re.I)


def find_vocab_products(text: str) -> list[rules.Mention]:
    """Product phrases named in the taxonomy / synonym vocabulary (the no-model fallback)."""
    found = rules._find_phrases(text, _product_table(), "product")
    for match in _WORD_RE.finditer(text):
        corrected = normalise.correct_word(match.group(0).lower())
        if corrected != match.group(0).lower() and corrected in normalise._product_forms():
            found.append(rules.Mention(match.start(), match.end(), "product", corrected))
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[rules.Mention] = []
    for mention in found:
        if not any(k.start <= mention.start < k.end for k in kept):
            kept.append(mention)
    return kept


_WORD_RE = re.compile(r"[A-Za-z]{4,}")
_NOT_PRODUCT_HEADS = {"one", "ones", "couple", "present", "gift", "version", "pack", "packs",
                      "something", "thing", "things", "stuff", "kind", "pair", "pairs", "set",
                      "mother", "father", "idea", "ideas", "option", "options", "size", "colour"}
_NOT_PRODUCT_HEADS |= _SERVICE_NOUNS | _TRAILING_NOISE


def build_pipeline(model_path: Path | None):
    """The spaCy pipeline: the trained NER when ``model_path`` exists, then the rule component."""
    import spacy

    _register_extensions()
    _rules_component_factory()
    if model_path is not None and (Path(model_path) / "meta.json").exists():
        nlp = spacy.load(model_path)
        nlp.add_pipe("need_rules", config={"vocab_products": True})
    else:
        if model_path is not None:
            log.warning("no trained need model at %s; using vocabulary rules only", model_path)
        nlp = spacy.blank("en")
        nlp.add_pipe("need_rules", config={"vocab_products": True})
    return nlp


def _inside(mention, span: tuple[int, int]) -> bool:
    return span[0] <= mention.start and mention.end <= span[1]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _product_spans(doc, vocab: NeedVocab) -> list[tuple[int, int]]:
    """Product phrases: the NER's spans reconciled with vocabulary matches.

    A vocabulary match inside or across an NER span fixes where the phrase ends (the model
    sometimes runs on into "suede" or "dishwasher safe"); an NER span with no known product word
    is kept unless its last word is clearly not a product; vocabulary matches the model missed
    are added. A product inside a material ("iron" in "cast iron") is not a product.
    """
    mentions = doc._.need_mentions or []
    materials = [(m.start, m.end) for m in mentions
                 if m.field == "attributes" and m.value in vocab.materials]
    known = [(m.start, m.end) for m in mentions if m.field == "product"
             and not any(s <= m.start and m.end <= e for s, e in materials)]
    not_heads = set(vocab.colours) | set(vocab.attributes) | set(vocab.recipients) \
        | set(vocab.occasions) | _NOT_PRODUCT_HEADS
    brands = [(m.start, m.end) for m in mentions if m.field == "brand"]
    brands += [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "BRAND"]
    described = [(m.start, m.end) for m in mentions if m.field in
                 ("attributes", "colour", "occasion", "recipient", "brand")
                 and (m.start, m.end) not in known]
    spans: list[tuple[int, int]] = []
    for ent in doc.ents:
        if ent.label_ != "PRODUCT":
            continue
        span = (ent.start_char, ent.end_char)
        hits = [k for k in known if _overlap(span, k)]
        if any(b[0] <= span[0] and span[1] <= b[1] for b in brands):
            continue  # "KONG" alone is the brand, not a product
        if hits:
            spans.append((min([span[0]] + [k[0] for k in hits]), max(k[1] for k in hits)))
        elif any(s <= span[0] and span[1] <= e for s, e in described):
            continue  # "high" of "high waisted", "cruelty-free": a description, not a product
        elif ent[-1].lower_ not in not_heads and normalise.singular(ent[-1].lower_, vocab) \
                not in not_heads and not ent[-1].is_stop and not ent[-1].like_num \
                and ent[-1].is_alpha:
            spans.append(span)
    for k in known:
        if not any(_overlap(k, s) for s in spans):
            spans.append(k)
    fixed: list[tuple[int, int]] = []
    text_lower = doc.text.lower()
    for start, end in sorted(set(spans)):
        # a material right before the product belongs to it ("wool" + "scarf")
        before = text_lower[:start].rstrip()
        for material in sorted(vocab.materials, key=len, reverse=True):
            if before.endswith(material) and (len(before) == len(material) or
                                              not before[-len(material) - 1].isalnum()):
                start = len(before) - len(material)
                break
        # drop leading colours / determiners / attributes / counts / brands / describing words
        # the model may have swallowed, and trailing "ideally", "please"
        words = doc.text[start:end].split(" ")
        while len(words) > 1:
            first = words[0].lower()
            rest = normalise.squash(" ".join(words[1:]))
            phrase_known = _known_product_phrase(normalise.squash(" ".join(words)), vocab)
            if phrase_known and not first.isdigit() and first not in normalise._DETERMINERS:
                break  # "bluetooth speaker", "smart speaker" are product types as a whole
            if not (first in vocab.colours or first in normalise._DETERMINERS or first.isdigit()
                    or (first in vocab.attributes and first not in vocab.materials)
                    or any(b[0] == start for b in brands)
                    or (first in _LEADING_ADJECTIVES and not phrase_known and rest)):
                break
            brand = next((b for b in brands if b[0] == start), None)
            cut = brand[1] - start + 1 if brand else len(words[0]) + 1
            if cut >= end - start:
                break
            start += cut
            words = doc.text[start:end].split(" ")
        while len(words) > 1 and words[-1].lower().strip(".,!?") in _TRAILING_NOISE:
            end -= len(words[-1]) + 1
            words = words[:-1]
        if any(_overlap((start, end), f) for f in fixed):
            continue
        fixed.append((start, end))
    return fixed


def _known_product_phrase(phrase: str, vocab: NeedVocab) -> bool:
    """The whole phrase is a product type or product word we know ("smart speaker")."""
    if not phrase:
        return False
    single = normalise.singular(phrase, vocab) if " " not in phrase else \
        phrase.rsplit(" ", 1)[0] + " " + normalise.singular(phrase.rsplit(" ", 1)[1], vocab)
    return any(p in vocab.product_types or p in vocab.word_category for p in (phrase, single))


def _quantity_before(doc, span: tuple[int, int], skip: list[tuple[int, int]]) -> int | None:
    """A count right before the product ("two sleeping bags"), skipping adjectives in between."""
    tokens = [t for t in doc if t.idx < span[0]]
    hops = 0
    i = len(tokens) - 1
    while i >= 0 and hops < 3:
        token = tokens[i]
        inside = next((s for s in skip if s[0] <= token.idx < s[1]), None)
        if inside is not None:
            while i >= 0 and tokens[i].idx >= inside[0]:
                i -= 1
            hops += 1
            continue
        value = rules._count(token.lower_) if token.lower_ not in ("one", "a") else None
        if value and value <= 100 and (i == 0 or tokens[i - 1].lower_ not in ("size", "age", "sz")):
            return value
        if token.is_alpha and token.lower_ in ("new", "more", "extra", "of"):
            i -= 1
            hops += 1
            continue
        return None
    return None


class NeedExtractor:
    """Loads the pipeline once; turns messages into needs."""

    def __init__(self, model_path: Path | None = None, *, today: date | None = None):
        from bot.needs.train import model_dir

        self.model_path = model_dir() if model_path is None else model_path
        self.nlp = build_pipeline(self.model_path)
        self.vocab = load_vocab()
        self.today = today
        self.version = EXTRACTOR_VERSION + ("+ner" if "ner" in self.nlp.pipe_names else "+rules")

    def extract(self, text: str) -> list[Need]:
        return next(iter(self.extract_many([text])))

    def extract_many(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[list[Need]]:
        cleaned = (_clean_text(t) for t in texts)
        for doc in self.nlp.pipe(cleaned, batch_size=batch_size):
            yield self.needs_from_doc(doc)

    def needs_from_doc(self, doc) -> list[Need]:
        text = doc.text
        if not text.strip():
            return []
        vocab = self.vocab
        mentions = [m for m in (doc._.need_mentions or []) if m.field != "product"]
        if self.today is not None:
            mentions = [m for m in mentions if m.field != "needed_by"] + rules.find_dates(
                text, self.today)
        products = _product_spans(doc, vocab)
        ents = [e for e in doc.ents if e.label_ != "PRODUCT"]
        lowered = text.lower()
        order_talk = bool(_order_talk_re(vocab.no_need_cues).search(lowered))
        strong = bool(_STRONG_NEED.search(text))
        if (order_talk and not strong) or _SERVICE_REQUEST.search(text):
            return []
        constraints = [m for m in mentions if m.field in ("price_max", "price_min", "size",
                                                           "colour", "attributes", "brand")]
        if not products:
            # a detail without a product ("in blue please", "under 100"): a partial need that a
            # conversation merges into its open need; or a gift with no product named yet
            # ("need a present for my nephew, he turns 8, between 30 and 45")
            gift = bool(_GIFT_CUE.search(text)) and any(
                m.field in ("recipient", "occasion") for m in mentions)
            if order_talk or not (gift or (constraints and len(doc) <= 14)):
                return []
            needs = [Need(confidence=0.5)]
        else:
            needs = [Need(span=s) for s in products]

        def owner(start: int) -> Need:
            if len(needs) == 1 or needs[0].span is None:
                return needs[0]
            return min(needs, key=lambda n: min(abs(start - n.span[0]), abs(start - n.span[1])))

        for need in needs:
            if need.span is None:
                continue
            said = text[need.span[0]:need.span[1]]
            need.product = normalise.product_form(said)
            need.category = normalise.category_of(need.product, vocab)
        vocab_spans = [(m.start, m.end) for m in mentions
                       if m.field in ("attributes", "colour", "recipient", "occasion", "brand")]
        recipients = set(vocab.recipients.values())
        occasions = set(vocab.occasions.values())
        for ent in ents:
            span = (ent.start_char, ent.end_char)
            if any(_overlaps(span, n.span) for n in needs if n.span):
                continue
            if any(_overlap(span, v) for v in vocab_spans):
                continue  # the vocabulary names it already, and normalises it better
            if ent.label_ == "RECIPIENT" and normalise.recipient_form(ent.text) not in recipients \
                    | {"boy", "girl", "child"}:
                continue
            if ent.label_ == "OCCASION" and normalise.occasion_form(ent.text) not in occasions \
                    and not ent[-1].lower_ in ("party", "day", "trip", "holiday", "club"):
                continue
            if ent.label_ == "ATTRIBUTE" and (ent.text.lower() in vocab.recipients
                                              or not _plausible_attribute(ent)):
                continue
            need = owner(ent.start_char)
            if ent.label_ == "ATTRIBUTE":
                _add(need.attributes, normalise.attribute_form(_attribute_text(ent)))
            elif ent.label_ == "BRAND":
                need.brand = need.brand or normalise.brand_form(ent.text)
            elif ent.label_ == "RECIPIENT":
                need.recipient = need.recipient or normalise.recipient_form(ent.text)
            elif ent.label_ == "OCCASION":
                need.occasion = need.occasion or normalise.occasion_form(ent.text)
        prices = [m for m in mentions if m.field in ("price_min", "price_max")]
        for mention in mentions:
            in_product = any(n.span and _inside(mention, n.span) for n in needs)
            need = owner(mention.start)
            if mention.field == "attributes":
                said = text[mention.start:mention.end].lower()
                if any(p.start <= mention.start and mention.end <= p.end for p in prices):
                    continue  # "cheaper" of "no cheaper than £100"
                if in_product and said not in vocab.materials and mention.value not in vocab.materials:
                    continue
                _add(need.attributes, str(mention.value))
            elif mention.field == "colour":
                if in_product:
                    continue
                _add(need.colour, str(mention.value))
            elif mention.field == "size":
                if not in_product:
                    _add(need.size, str(mention.value))
            elif mention.field == "brand":
                need.brand = need.brand or str(mention.value)
            elif mention.field == "recipient":
                said = text[mention.start:mention.end].lower()
                if in_product:
                    continue
                if not (_LIST_TRIGGER.search(text[:mention.start]) or said.endswith(("'s", "s'"))
                        or text[mention.end:mention.end + 2] in ("'s", "’s")):
                    continue
                if _NOT_RECIPIENT_BEFORE.search(text[:mention.start]):
                    continue
                need.recipient = need.recipient or str(mention.value)
            elif mention.field == "occasion":
                if in_product:
                    continue
                said = text[mention.start:mention.end].lower()
                if said.endswith("ing") and _OCCASION_VERB_AFTER.match(text, mention.end):
                    continue  # "walking the dog", "running a bath"
                if need.occasion in (None, "gift"):  # "birthday" says more than "gift"
                    need.occasion = str(mention.value)
            elif mention.field in _SCALARS:
                if getattr(need, mention.field) is None:
                    setattr(need, mention.field, mention.value)
        skip = [(m.start, m.end) for m in mentions if m.field in ("attributes", "colour")]
        skip += [(e.end_char - len(_attribute_text(e)), e.end_char) for e in ents
                 if e.label_ == "ATTRIBUTE"]
        for need in needs:
            if need.span and need.quantity is None:
                need.quantity = _quantity_before(doc, need.span, skip)
            need.confidence = _confidence(need, strong)
        return needs


_ATTRIBUTE_JUNK = {"poss", "possible", "ideally", "preferably", "nothing", "needs", "need", "to", "be",
                   "if", "always", "out", "she", "he", "they", "it", "its", "it's", "that", "this",
                   "something", "anything", "please", "pls", "maybe", "over", "under", "max",
                   "more", "less", "than", "ones", "one", "too", "very", "really", "quite",
                   "decent", "nice", "good", "lovely", "great", "proper"}


def _plausible_attribute(ent) -> bool:
    """An NER attribute that is a describing word, not "needs to", "if poss", "nothing over"."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = [t.lower_ for t in ent if not t.is_punct]
    if not words or all(w in STOP_WORDS or w in _ATTRIBUTE_JUNK or w.isdigit() for w in words):
        return False
    return words[0] not in _ATTRIBUTE_JUNK and words[-1] not in _ATTRIBUTE_JUNK


def _attribute_text(ent) -> str:
    """Strip a leading count ("4 stoneware" -> "stoneware")."""
    tokens = list(ent)
    while len(tokens) > 1 and (tokens[0].like_num or tokens[0].is_punct):
        tokens = tokens[1:]
    return ent.doc.text[tokens[0].idx:ent.end_char]


def _overlaps(a: tuple[int, int], b: tuple[int, int] | None) -> bool:
    return b is not None and a[0] < b[1] and b[0] < a[1]


def _add(values: list[str], value: str) -> None:
    if value and value not in values:
        values.append(value)


def _confidence(need: Need, strong_cue: bool) -> float:
    """A heuristic 0..1: how sure we are this is a real product need (not a calibrated p)."""
    score = 0.35 if need.product else 0.2
    score += 0.25 if need.category else 0.0
    score += 0.2 if strong_cue else 0.0
    details = sum(bool(v) for v in (need.attributes, need.colour, need.size, need.brand,
                                    need.price_max, need.price_min, need.recipient))
    score += min(0.2, 0.07 * details)
    return round(min(score, 1.0), 2)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(text) -> str:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    return _CONTROL.sub(" ", text[:MAX_CHARS])
