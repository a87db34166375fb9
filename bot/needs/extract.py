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
    r"\b(looking|lookin|searching|hunting|show me|what (?:have you got|do you have)|come in|"
    r"comes in|available in|in stock|still available|available|any left|"
    r"if you (?:have|sell|stock|do|carry)|would love|wish (?:you|u) (?:sold|did|stocked|made|"
    r"carried)|do (?:you|u) (?:also|still|even|currently|ever) (?:have|sell|stock|do|carry)|"
    r"after (?:a|an|some|something)"
    r"(?! (?:week|day|month|year|while|few|couple|fortnight|bit|minute|hour)s?\b)|do (?:you|u|y'all|you guys) "
    r"(?:have|sell|stock|do|carry)|have you got|got any|any chance|wish (?:you|u) had|shame|"
    r"need (?:a|an|some|new|\d)|want (?:a|an|some|new|\d)|would like|i'd like|i'd love|"
    r"need (?:the|it|them|one|this|that|these|those)(?: \w+)? in|"
    r"(?:i|we|i'll|still|also|now|really|just|i really|i still|i also) need|"
    r"what i (?:actually |really )?(?:want|wanted|need|needed)|wanted (?:a|an|some)|"
    r"recommend|gift|present)\b", re.I)
# "I'd like a refund", "I want to return", "need a replacement": the want is about an order
_SERVICE_REQUEST = re.compile(
    r"\b(?:like|want|need|get|have|wanna|request|after)\s+(?:a |an |my |to |to get a |some )?"
    r"(?:refund|refunds|replacement|exchange|return label|money back|"
    r"return|cancel|exchange|swap|complain|track|change my order|send (?:it|this|them) back)\b"
    r"|\bdo (?:you|u|y'all) (?:do|have|offer|give) (?:a |an |any )?(?:student |nhs |military |"
    r"blue light |first order )?(?:discount|promo|voucher|price match|gift wrap|next day|"
    r"free delivery|delivery|click and collect|returns)", re.I)
_PREFERENCE_CUE = re.compile(r"\b(?:prefer|preferably|ideally|has to be|have to be|needs? to be|"
                             r"must be|should be|something|one that|ones that|make it|with|"
                             r"without|if possible|if poss|in)\b", re.I)
_GIFT_CUE = re.compile(r"\b(?:gift|gifts|present|presents|pressie|prezzie|something for|"
                       r"ideas? for|buy (?:for|something)|get (?:for|something))\b", re.I)
_SCALARS = ("price_min", "price_max", "currency", "quantity", "needed_by")
_LISTS = ("attributes", "colour", "size", "brand", "recipient", "occasion")
_LIST_TRIGGER = re.compile(r"(?:\bfor (?:a|an|my|the|our|his|her) (?:whole|entire)|\bthe whole|"
                           r"\bfor|\bmy|\bour|\bhis|\bher|\bfor the|\bfor a|\bfor an|\bmi|\bur|"
                           r"\bthe|\ba|\ban)\s+$", re.I)
# "walking the dog", "feeding the cat": the animal is not who the product is for
_NOT_RECIPIENT_BEFORE = re.compile(r"\b(?:walk|walking|walks|feed|feeding|take|taking|bath|bathing|"
                                   r"had|having|expecting|before|after|until|since|once|"
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
                  "points", "loyalty", "collection", "slot", "manager", "complaint", "scheme",
                  "programme", "program", "plan", "option", "service", "services", "warranty",
                  "guarantee", "insurance", "link", "outlet", "helpline", "hotline", "contact",
                  "time", "times", "day", "days", "slots", "guide", "catalogue", "catalog",
                  "brochure", "deal", "deals", "update", "updates", "news", "idea", "chance",
                  "way", "luck", "help", "reason", "info", "information", "details", "agent",
                  "advice", "confirmation", "reply", "response", "answer", "refill", "delay"}


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
        text = doc.text
        mentions = rules.find_all(text)
        if self.vocab_products:
            mentions.extend(find_vocab_products(text))
        doc._.need_mentions = mentions
        return doc


@lru_cache(maxsize=1)
def _product_table() -> dict[str, str]:
    vocab = load_vocab()
    table = {k: k for k in list(vocab.product_types) + list(vocab.word_category)}
    plural = {k + "s": k for k in table} | {k + "es": k for k in table} | {
        k[:-1] + "ies": k for k in table if k.endswith("y") and k[-2:-1] not in "aeiou"}
    return {**plural, **table}


@lru_cache(maxsize=1)
def _order_talk_re(cues: tuple[str, ...]) -> re.Pattern:
    # the cues as a prefix tree ("my (?:order|refund|...)"): the same strings, but re tries one
    # branch per character instead of every cue at every position (several times faster)
    return re.compile(r"(?<!\w)(?:" + rules.trie_pattern(c.lower() for c in cues) + r")(?!\w)",
                      re.I)


def find_vocab_products(text: str) -> list[rules.Mention]:
    """Product phrases named in the taxonomy / synonym vocabulary (the no-model fallback)."""
    found = rules._find_phrases(text, _product_table(), "product")
    for match in _WORD_RE.finditer(text):
        if _proper_noun(text, match.start()):
            continue  # "Leeds" is a place, not misspelt "leads"
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


def _proper_noun(text: str, start: int) -> bool:
    """Capitalised and not opening a sentence: a name, which typo correction leaves alone."""
    before = text[:start].rstrip()
    return text[start:start + 1].isupper() and bool(before) and before[-1] not in ".!?"
_NOT_PRODUCT_HEADS = {"one", "ones", "couple", "present", "gift", "version", "pack", "packs",
                      "something", "thing", "things", "stuff", "kind", "pair", "pairs", "set",
                      "mother", "father", "idea", "ideas", "option", "options", "size", "colour"}
_NOT_PRODUCT_HEADS |= _SERVICE_NOUNS | _TRAILING_NOISE
# nouns that make a compound with the product after them and belong to its name
_COMPOUND_MODIFIERS = {"school", "work", "rain", "snow", "summer", "beach", "gym", "running",
                       "hiking", "walking", "football", "rugby", "tennis", "golf", "ski", "swim",
                       "swimming", "garden", "gardening", "kitchen", "bathroom", "bedroom",
                       "travel", "dog", "cat", "pet", "bath", "camping", "cycling", "riding",
                       "fishing", "picnic", "desk", "car", "bike", "office", "patio", "toddler",
                       "nursery", "dance", "ballet", "yoga", "climbing", "sports", "sport",
                       "evening", "maternity", "nursing", "ankle", "knee", "trail", "night",
                       "tea", "ice", "roller", "sippy", "wine", "coffee", "bread", "cake",
                       "cheese", "pizza", "salad", "soup", "rice", "egg", "milk", "shower",
                       "door", "window", "wall", "floor", "ceiling", "table", "bedside", "book",
                       "photo", "picture", "key", "shoe", "hair", "nail", "face", "eye", "lip",
                       "hand", "foot", "neck", "bird", "fish", "horse", "storage", "laundry",
                       "cleaning", "plant", "flower", "jump", "lunch", "pencil", "drinks",
                       "drink", "ski", "snowboard", "surf", "paddle", "trekking", "compression",
                       "protein", "advent", "hot", "cool", "ironing", "washing", "toilet",
                       "tooth", "beard", "makeup", "cosmetic", "jewellery", "jewelry", "watch",
                       "phone", "laptop", "tablet", "camera", "tv", "gaming", "music", "guitar"}
# greetings and pronoun phrases a model may call a product ("hiya", "nothing fancy")
_NOT_PRODUCT_FIRST = {"hi", "hiya", "hey", "heya", "hello", "yo", "morning", "afternoon",
                      "need", "needs", "want", "wants", "looking", "deliver", "delivers",
                      "shame", "pity", "wish", "gutted", "sadly", "unfortunately", "annoying",
                      "disappointed", "gutting", "typical", "ugh", "argh", "oh", "ah",
                      "delivered", "help", "menu", "start", "way",
                      "human", "person", "agent", "someone", "anyone", "advisor", "adviser",
                      "test", "testing", "hmm", "hmmm", "umm", "erm", "problem", "issue",
                      "question", "query",
                      "evening", "thanks", "thank", "cheers", "nothing", "something", "anything",
                      "everything", "whatever", "ok", "okay", "lol", "please", "pls"}
_NOT_PRODUCT_HEADS |= _NOT_PRODUCT_FIRST
# "my kettle", "our sofa": a thing the shopper already has, not one they want
_POSSESSIVE_BEFORE = re.compile(
    r"\b(?:my|our)\s+(?:old\s+|current\s+|existing\s+|new\s+)?$"
    r"|\b(?:my|our)\s+[a-z]+(?:'s|’s|s')\s+(?:old\s+|new\s+)?$"
    # "he loves football", "she's into gardening": what they like, not what is wanted
    r"|\b(?:loves?|loving|likes?|into|plays?|playing|watch(?:es)?|obsessed with|mad about|"
    r"fan of|big on|keen on)\s+(?:the\s+)?$"
    # "I returned the blender", "cancel the kettle I ordered": the order's item
    r"|\b(?:returned|returning|ordered|bought|purchased|received|cancelled|canceled|cancel|"
    r"sent back|send back|exchanged|refund(?: for| on)?)\s+(?:the\s+|my\s+|a\s+|an\s+|"
    r"this\s+|that\s+|these\s+|those\s+)?$", re.I)
# "the dress was perfect", "the cushions have gone flat": said of a thing the shopper has
_STATE_AFTER = re.compile(
    r"\s+(?:i\s+got\s+|you\s+sent\s+|i\s+bought\s+)?(?:was|were|is|are|has|have|had|came|"
    r"arrived|broke|fits|fit|keeps|kept|stopped|turned up|got|went|looks|looked|smells|"
    r"isn't|wasn't|aren't|weren't|doesn't|didn't|don't|won't|hasn't|haven't)\b", re.I)
_DEFINITE_BEFORE = re.compile(r"\b(?:the|this|that|these|those|your)\s+(?:[a-z]+\s+)?$", re.I)
# past states say the thing is already here even in a message that also asks for something
_PAST_STATE_AFTER = re.compile(
    r"\s+(?:\w+\s+)?(?:leaked|leaks|squeaks|squeaky|rattles|wobbles|smashed|cracked|ripped|tore|"
    r"snapped|burnt|melted|shrank|shrunk)\b|"
    r"\s+(?:was|were|came|arrived|broke|didn't|doesn't|won't|hasn't|haven't|wasn't|isn't|"
    r"aren't|weren't|keeps|kept|stopped|fell|went|has gone|have gone|turned up)\b", re.I)
# "the jumper I ordered", "the kettle I got", "the mug you sent": the order's item
_OWNED_AFTER = re.compile(
    r"\s+(?:that\s+|which\s+)?(?:(?:i|we)\s+(?:just\s+|recently\s+|already\s+)?(?:ordered|"
    r"bought|got|received|returned|purchased|had|own)|(?:i|we)'ve\s+(?:got|ordered|bought|had)|"
    r"you\s+(?:sent|delivered)|from\s+(?:you|your\s+(?:shop|store|site|website)))\b", re.I)
# "is the sofa easy to put together?", "how big is the large suitcase?": about one product
_PRODUCT_QUESTION = re.compile(
    r"\s*(?:is|are|does|do|did|can|will|would|could|has|have|how (?:big|long|heavy|much|wide|"
    r"tall|deep|high|warm|many)|what(?:'s| is| are| does| do)|which)\b", re.I)
# "so I can watch the dog", "I iron my shirts": a verb, not the product of the same spelling
_VERB_BEFORE = re.compile(r"\b(?:to|can|could|will|would|i|you|we|they|he|she|don't|didn't|cannot|"
                          r"can't|won't|never|always)\s+$", re.I)
_SENTENCE_END = re.compile(r"[.!?;]+(?=\s|$)|\n")
_NUMBER_AFTER = re.compile(
    r"\s+(?P<n>\d{1,2}(?:\.5)?)(?=\s*(?:$|[,.!?]|\s(?:in|please|pls|plz|if|and|or|for|thanks|"
    r"thx|ta)\b))", re.I)
_NUMERIC_SIZE_SYSTEMS = {"clothing", "clothing_fit", "shoe_uk", "shoe_eu", "kids_age"}
# describing words that count only right before the product ("gaming monitor", "gas barbecue";
# not "he likes gaming")
_PRENOMINAL_ATTRIBUTES = {"gaming", "gas"}
_NEGATED_BEFORE = re.compile(r"\b(?:no|without|not|doesn't need|don't need|doesnt need|dont need|"
                             r"doesn't have to be|don't want|dont want|never)\s+(?:an?\s+|any\s+)?$",
                             re.I)
# before an NER attribute: "for the hallway" (a place), "nothing fancy", "he's a big chewer"
# (says who someone is), "no logo"
_NOT_ATTRIBUTE_BEFORE = re.compile(
    r"(?:\bfor (?:the|a|an|my|our|his|her)\s+$|\b(?:nothing|not)(?:\s+too)?\s+$|"
    r"\b(?:he|she|they|we|he's|she's|they're|we're)(?:\s+(?:is|are|was|were|'s|'re))?\s+"
    r"(?:always\s+|really\s+|very\s+|so\s+)?(?:an?\s+)?(?:[a-z]+\s+)?$|"
    r"\b(?:no|without)\s+$)", re.I)
# "men's coats", "kids' gloves": the product line, not who it is for
_GROUP_RECIPIENTS = {"men", "women", "kids", "child", "boy", "girl", "adults", "baby"}


def _plausible_brand(ent, vocab: NeedVocab, text: str | None = None) -> bool:
    """An NER brand we believe: a brand we know, or a name that is not an ordinary word at the
    start of a sentence ("Birthday present for...", "Gardening gloves" are not brands)."""
    said = ent.text.lower()
    if said in vocab.brands or normalise.brand_form(ent.text) in vocab.brands:
        return True
    words = [t.lower_ for t in ent if t.is_alpha]
    if not words:
        return False
    ordinary = all(normalise.is_known_word(w) for w in words)
    if not ordinary:
        return True
    if said in vocab.occasions or said in vocab.attributes or said in vocab.colours \
            or said in vocab.recipients or said in _product_table():
        return False
    first = ent[0]
    before = (ent.doc.text if text is None else text)[:ent.start_char].rstrip()
    mid_sentence = bool(before) and before[-1] not in ".!?"
    return first.text[:1].isupper() and mid_sentence


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


@lru_cache(maxsize=1)
def _not_heads() -> frozenset[str]:
    """Words that cannot end an NER product phrase."""
    vocab = load_vocab()
    return frozenset(set(vocab.colours) | set(vocab.attributes) | set(vocab.recipients)
                     | set(vocab.occasions) | _NOT_PRODUCT_HEADS)


@lru_cache(maxsize=1)
def _not_phrase_heads() -> frozenset[str]:
    """Words that cannot end a product phrase found after a need cue or opening a message."""
    from spacy.lang.en.stop_words import STOP_WORDS

    vocab = load_vocab()
    return frozenset(set(vocab.colours) | set(vocab.recipients) | set(vocab.occasions)
                     | _NOT_PRODUCT_HEADS | set(STOP_WORDS))


@lru_cache(maxsize=1)
def _materials_longest_first() -> tuple[str, ...]:
    return tuple(sorted(load_vocab().materials, key=len, reverse=True))


def _product_spans(doc, vocab: NeedVocab, text: str | None = None) -> list[tuple[int, int]]:
    """Product phrases: the NER's spans reconciled with vocabulary matches.

    A vocabulary match inside or across an NER span fixes where the phrase ends (the model
    sometimes runs on into "suede" or "dishwasher safe"); an NER span with no known product word
    is kept unless its last word is clearly not a product; vocabulary matches the model missed
    are added. A product inside a material ("iron" in "cast iron") is not a product.
    """
    mentions = doc._.need_mentions or []
    text = doc.text if text is None else text  # doc.text joins the tokens on every access
    materials = [(m.start, m.end) for m in mentions
                 if m.field == "attributes" and m.value in vocab.materials]
    # a product word inside a longer description is not a product ("iron" in "cast iron",
    # "dishwasher" in "dishwasher safe")
    wider = [(m.start, m.end) for m in mentions if m.field == "attributes"]
    covering = [(m.start, m.end) for m in mentions
                if m.field in ("occasion", "recipient", "brand", "colour", "compat")]
    known = [(m.start, m.end) for m in mentions if m.field == "product"
             and not any(s <= m.start and m.end <= e for s, e in materials)
             and not any(s <= m.start and m.end <= e and e - s > m.end - m.start
                         for s, e in wider)
             and not any(s <= m.start and m.end <= e for s, e in covering)]
    counts = [(m.start, m.end) for m in mentions if m.field == "quantity"]
    not_heads = _not_heads()
    brands = [(m.start, m.end) for m in mentions if m.field == "brand"]
    doc_ents = list(doc.ents)  # each doc.ents access builds new spans
    brands += [(e.start_char, e.end_char) for e in doc_ents if e.label_ == "BRAND"
               and _plausible_brand(e, vocab, text)]
    described = [(m.start, m.end) for m in mentions if m.field in
                 ("attributes", "colour", "occasion", "recipient", "brand")
                 and (m.start, m.end) not in known]
    spans: list[tuple[int, int]] = []
    for ent in doc_ents:
        if ent.label_ != "PRODUCT":
            continue
        span = (ent.start_char, ent.end_char)
        hits = [k for k in known if _overlap(span, k)]
        if any(b[0] <= span[0] and span[1] <= b[1] for b in brands):
            continue  # "KONG" alone is the brand, not a product
        if not hits and ent[0].lower_ in _NOT_PRODUCT_FIRST:
            continue  # "hiya", "nothing fancy"
        if not hits and any(s <= span[0] and span[1] <= e for s, e in counts):
            continue  # "bags" of "two bags"
        if hits:
            spans.append((min([span[0]] + [k[0] for k in hits]), max(k[1] for k in hits)))
        elif any(s <= span[0] and span[1] <= e for s, e in described):
            continue  # "high" of "high waisted", "cruelty-free": a description, not a product
        elif ent[-1].lower_ not in not_heads and normalise.singular(ent[-1].lower_, vocab) \
                not in not_heads and not ent[-1].is_stop and not ent[-1].like_num \
                and ent[-1].is_alpha and _plausible_new_product(ent, vocab, text):
            spans.append(_run_on(text, span, mentions))
    for k in known:
        if not any(_overlap(k, s) for s in spans):
            spans.append(k)
    spans += [c for c in _cue_products(doc, mentions, vocab, text)
              if not any(_overlap(c, s) for s in spans)]
    spans = _compounds(text, sorted(set(spans)), mentions)
    if not spans:
        spans = _leading_phrase(doc, mentions, vocab, text)
    # "a microwave with a grill", "a desk with drawers": a feature of the product before it;
    # "a throw for the sofa": where it goes
    spans = [s for s in spans if not ((_WITH_BEFORE.search(_before(text, s[0]))
                                       or _FOR_PLACE_BEFORE.search(_before(text, s[0])))
                                      and any(o[1] <= s[0] for o in spans if o != s))]
    devices = [(m.start, m.end) for m in mentions if m.field == "compat"]
    if devices:  # "a case for an iPhone 15": the phone is what it fits, not what is wanted
        outside = [s for s in spans if not any(_overlap(s, d) for d in devices)]
        spans = outside or spans
    fixed: list[tuple[int, int]] = []
    text_lower = text.lower()
    material_mentions = [m for m in mentions if m.field == "attributes"
                         and m.value in vocab.materials]
    leading = [m for m in mentions if m.field in ("attributes", "colour", "size", "recipient",
                                                  "occasion")
               and " " in text[m.start:m.end].strip() and m.value not in vocab.materials]
    for start, end in sorted(set(spans)):
        if _POSSESSIVE_BEFORE.search(_before(text, start)):
            continue  # "the lid of my casserole dish": the shopper has that one
        # a material right before the product belongs to it ("wool" + "scarf"), and a material
        # the span starts inside ("Organic" + "cotton dungarees")
        inside = next((m for m in material_mentions if m.start < start < m.end), None)
        if inside is not None:
            start = inside.start
        before = text_lower[:start].rstrip()
        for material in _materials_longest_first():
            if before.endswith(material) and (len(before) == len(material) or
                                              not before[-len(material) - 1].isalnum()):
                start = len(before) - len(material)
                break
        # drop leading colours / determiners / attributes / counts / brands / describing words
        # the model may have swallowed, and trailing "ideally", "please"
        words = text[start:end].split(" ")
        while len(words) > 1:
            if any(m.start == start for m in material_mentions):
                break  # "organic cotton dungarees": the material stays in the product
            lead = next((m for m in leading if m.start <= start < m.end and m.end < end), None)
            if lead is not None and not _known_product_phrase(
                    normalise.squash(text[start:end]), vocab):
                start = lead.end + (len(text[lead.end:end]) -
                                    len(text[lead.end:end].lstrip()))
                words = text[start:end].split(" ")
                continue  # "high waisted" + "jeans"
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
            words = text[start:end].split(" ")
        modifier = re.search(r"(?:^|[\s,])([A-Za-z]+) $", text[:start])
        if modifier and modifier.group(1).lower() in _COMPOUND_MODIFIERS and not any(
                m.start <= modifier.start(1) < m.end for m in mentions if m.field != "product"):
            start = modifier.start(1)  # "school trousers", "rain boots", "work shoes"
            words = text[start:end].split(" ")
            if _POSSESSIVE_BEFORE.search(_before(text, start)):
                continue  # "under my work trousers"
        while len(words) > 1 and words[-1].lower().strip(".,!?") in _TRAILING_NOISE:
            end -= len(words[-1]) + 1
            words = words[:-1]
        if any(_overlap((start, end), f) for f in fixed):
            continue
        fixed.append((start, end))
    return fixed


# where a product the vocabulary does not know is named: right after a need phrase
# ("do you sell ukuleles", "looking for a telescope", "any chess sets") or opening the message
_NEW_PRODUCT_BEFORE = re.compile(
    r"(?:^|[.!?,:]\s*|\b(?:looking for|lookin for|look for|searching for|hunting for|after|need|"
    r"needs|want|wants|wanna|buy|get|find|like|love|have you got|got|do you (?:have|sell|stock|do|"
    r"carry)|do u (?:have|sell|do)|any|sell|stock|recommend|wish you had|wish you sold|"
    r"you don't (?:have|sell|do)|no)\s+)"
    r"(?:(?:a|an|some|any|the|new|\d+|two|three|four|a few|a couple of|a pair of|pair of|"
    r"more)\s+)?(?:[\w'-]+\s+)?$", re.I)


@lru_cache(maxsize=1)
def _product_heads() -> frozenset[str]:
    """The last word of every product phrase we know ("tin", "toy", "boot", "bag")."""
    vocab = load_vocab()
    return frozenset(p.replace("-", " ").split()[-1]
                     for p in list(vocab.product_types) + list(vocab.word_category) if p.strip())


def _run_on(text: str, span: tuple[int, int], mentions) -> tuple[int, int]:
    """An NER product cut short before its head noun ("hamster" of "hamster tunnel please")."""
    from spacy.lang.en.stop_words import STOP_WORDS

    following = re.match(r" ([a-z]+)\b", text[span[1]:])
    if following is None:
        return span
    word = following.group(1)
    if word in _PHRASE_STOP or word in STOP_WORDS or word in _NOT_PRODUCT_HEADS or \
            word.endswith("ly") or any(m.start <= span[1] + 1 < m.end for m in mentions):
        return span
    return span[0], span[1] + following.end()


def _plausible_new_product(ent, vocab: NeedVocab, text: str) -> bool:
    """An NER product with no vocabulary match: believe it when one of its words is a product
    word we know ("birthday cake tin"), or it is named where shoppers name what they want;
    "such a pity", "a weird noise", "I'm a nurse", "he's a keen..." are not products."""
    heads = _product_heads()
    if any(t.lower_ in heads or normalise.singular(t.lower_, vocab) in heads for t in ent):
        return True
    return bool(_NEW_PRODUCT_BEFORE.search(text[:ent.start_char]))


_FOR_PLACE_BEFORE = re.compile(r"\bfor (?:the|my|our|his|her|their|your)\s+$", re.I)
_WITH_BEFORE = re.compile(r"\b(?:with|without|w/|incl\.?|including|plus|fits|fit|fitting|holds|"
                          r"hold|takes|converts to|converts into|turns into)\s+(?:a\s+|an\s+|"
                          r"the\s+|some\s+|its\s+own\s+|my\s+)?(?:[\w-]+\s+){0,2}$", re.I)
# where a shopper names the thing they want ("do you sell fish food", "I'm after a chess set")
_CUE_BEFORE_PRODUCT = re.compile(
    r"\b(?:looking for|lookin for|looking 4|lookin 4|searching for|hunting for|trying to find|"
    r"tryna find|after|need|needs|want|wanted|wanna|would like|i'd like|i'd love|would love|"
    r"do (?:you|u|y'all|you guys)(?: also| still| even)? (?:have|sell|stock|do|carry|make)|"
    r"have you got|got any|you got any|wish (?:you|u) (?:had|sold|did|stocked)|"
    r"if you (?:have|sell|stock|do)|show me|recommend|buy|get me|find me)\s+"
    r"(?:a |an |some |any |the |new |a new |more |another |a few |a couple of |a pair of |"
    r"a set of |(?:\d{1,2}|two|three|four|five|six) )?", re.I)
_PHRASE_STOP = {"for", "with", "in", "that", "that's", "thats", "which", "who", "under", "below",
                "over", "above", "between", "size", "sz", "from", "by", "and", "or", "to",
                "please", "pls", "plz", "ideally", "preferably", "if", "at", "on", "as", "like",
                "so", "but", "because", "cos", "maybe", "too", "without", "than", "max", "upto",
                "up", "around", "about", "is", "are", "was", "were", "i", "you", "we", "he",
                "she", "they", "it", "my", "your", "our", "their", "his", "her", "asap", "thanks",
                "thx", "cheers", "then", "now", "today", "tomorrow", "anymore", "again", "there",
                "here", "this", "these", "those", "one", "ones", "of", "no", "not", "x", "etc"}


def _cue_products(doc, mentions, vocab: NeedVocab, text: str) -> list[tuple[int, int]]:
    """Product phrases nothing else found: the words right after a need phrase ("do you sell
    [fish food]?", "I'm after a [chess set]"), up to a preposition, a detail or punctuation.
    The head must look like a thing (not a describing, service or function word)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    details = [(m.start, m.end) for m in mentions
               if m.field not in ("product", "attributes")]
    not_heads = _not_phrase_heads()
    found = []
    for cue in _CUE_BEFORE_PRODUCT.finditer(text):
        words = []
        for match in re.finditer(r"[A-Za-z][A-Za-z'-]*|[^\sA-Za-z]", text[cue.end():]):
            start, end = cue.end() + match.start(), cue.end() + match.end()
            word = match.group(0).lower()
            if not word[0].isalpha() or word in _PHRASE_STOP or len(words) == 4 or \
                    any(s <= start < e for s, e in details):
                break
            words.append((start, end, word))
            if end < len(text) and text[end] not in " ":
                break  # "chess set," "fish food?" end the phrase
        _trim_phrase(words, not_heads, vocab)
        if words and words[0][2] not in _NOT_PRODUCT_FIRST:
            found.append((words[0][0], words[-1][1]))
    return found


_GROUP_HEADS = {"set", "sets", "kit", "kits", "pack", "packs"}


def _trim_phrase(words: list, not_heads: set, vocab: NeedVocab) -> None:
    """Drop trailing words that cannot end a product name ("a chess set" keeps "set")."""
    while words:
        last = words[-1][2]
        if last in _GROUP_HEADS and len(words) > 1:
            return
        if last in not_heads or last in vocab.attributes or last.endswith("ly") \
                or normalise.singular(last, vocab) in not_heads:
            words.pop()
            continue
        return


def _leading_phrase(doc, mentions, vocab: NeedVocab, text: str) -> list[tuple[int, int]]:
    """A terse message that opens with the thing ("enamel pie dish please", "hamster wheel
    that's silent", "pizza oven for the garden, under £400"): its first words, when the
    message also gives a detail or a "please"."""
    from spacy.lang.en.stop_words import STOP_WORDS

    if len(doc) > 12:
        return []
    signals = [m for m in mentions if m.field in ("price_min", "price_max", "size", "colour",
                                                  "attributes", "quantity", "brand", "occasion")]
    if not signals and not re.search(r"\b(?:please|pls|plz)\b", text, re.I):
        return []
    details = [(m.start, m.end) for m in mentions if m.field not in ("product", "attributes")]
    not_heads = _not_phrase_heads()
    words = []
    for match in re.finditer(r"[A-Za-z][A-Za-z'-]*|[^\sA-Za-z]", text):
        word = match.group(0).lower()
        if not words and word in ("a", "an", "some"):
            continue
        if not word[0].isalpha() or word in _PHRASE_STOP or word in STOP_WORDS \
                or len(words) == 4 or any(s <= match.start() < e for s, e in details):
            break
        words.append((match.start(), match.end(), word))
        if match.end() < len(text) and text[match.end()] != " ":
            break
    _trim_phrase(words, not_heads, vocab)
    if not words or words[0][2] in _NOT_PRODUCT_FIRST or \
            all(normalise.singular(w, vocab) in vocab.attributes for _, _, w in words):
        return []
    return [(words[0][0], words[-1][1])]


# nouns that name a thing made for the product before them ("hose reel", "bike rack",
# "sleeping bag liner", "shoe storage", "bbq tools")
_ACCESSORY_HEADS = {"rack", "racks", "reel", "reels", "holder", "holders", "stand", "stands",
                    "cover", "covers", "case", "cases", "liner", "liners", "storage", "organiser",
                    "organizer", "tool", "tools", "kit", "kits", "set", "sets", "mat", "mats",
                    "protector", "protectors", "strap", "straps", "hook", "hooks", "hanger",
                    "hangers", "basket", "baskets", "tray", "trays", "tin", "tins", "pump",
                    "pumps", "lock", "locks", "bell", "seat", "seats", "refill", "refills",
                    "brush", "brushes", "cleaner", "polish", "clip", "clips", "pad", "pads",
                    "shelf", "shelves", "rail", "rails", "frame", "frames", "mount", "mounts",
                    "dock", "adapter", "adaptor", "bag", "bags", "box", "boxes", "lid", "lids",
                    "charger", "cable", "guard", "guards", "stool", "stools", "cushion",
                    "topper", "warmer", "heater", "light", "lights", "lamp", "bowl", "bowls"}


def _compounds(text: str, spans: list[tuple[int, int]], mentions) -> list[tuple[int, int]]:
    """Two product words in a row are one product ("coat hangers", "phone holder"), and a
    product followed by an accessory noun is that accessory ("hose reel", "bike rack")."""
    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged and text[merged[-1][1]:span[0]] == " ":
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    taken = [(m.start, m.end) for m in mentions if m.field not in ("product",)]
    out = []
    for start, end in merged:
        following = re.match(r" ([A-Za-z]+)\b", text[end:])
        if following and following.group(1).lower() in _ACCESSORY_HEADS and not any(
                s <= end + 1 < e for s, e in taken):
            end += following.end()
        out.append((start, end))
    return out


def _known_product_phrase(phrase: str, vocab: NeedVocab) -> bool:
    """The whole phrase is a product type or product word we know ("smart speaker")."""
    if not phrase:
        return False
    single = normalise.singular(phrase, vocab) if " " not in phrase else \
        phrase.rsplit(" ", 1)[0] + " " + normalise.singular(phrase.rsplit(" ", 1)[1], vocab)
    return any(p in vocab.product_types or p in vocab.word_category or p in _product_table()
               for p in (phrase, single))


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
        # Load the lemma table (several seconds) and build the lookup indexes now, so that the
        # first shopper's message is not the one that waits for them.
        self.extract("hi, looking for wireles hedphones or a jaket, size 9, under £50, for my "
                     "mum's 40th")

    def extract(self, text: str) -> list[Need]:
        # one message: call the pipeline directly, which skips nlp.pipe's batching generators
        # (about 0.3 ms of a 3 ms message); the same components run in the same order
        return self.needs_from_doc(self.nlp(_clean_text(text)))

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
        products = _product_spans(doc, vocab, text)
        ents = [e for e in doc.ents if e.label_ != "PRODUCT"]
        lowered = text.lower()
        order_talk = bool(_order_talk_re(vocab.no_need_cues).search(lowered))
        strong = bool(_STRONG_NEED.search(text))
        if _SERVICE_REQUEST.search(text):
            return []
        had_products = bool(products)
        products = [s for s in products if not _VERB_BEFORE.search(_before(text, s[0]))
                    or " " in text[s[0]:s[1]].strip()]
        if not strong and _PRODUCT_QUESTION.match(text):
            products = [s for s in products if not _DEFINITE_BEFORE.search(_before(text, s[0]))]
        products = [s for s in products if not _OWNED_AFTER.match(text, s[1]) and not (
            _DEFINITE_BEFORE.search(_before(text, s[0])) and (
                _PAST_STATE_AFTER.match(text, s[1]) or
                (not strong and _STATE_AFTER.match(text, s[1]))))]
        if had_products and not products:
            return []  # every thing named is one the shopper has, or asks about
        if order_talk:
            # Talk about an order: a product counts only in a sentence that is not about the
            # order ("the delivery guy was lovely. any leather gloves for my dad?") or that
            # asks for something itself ("the one I bought was too small, I need the jacket in
            # a 14"), and only when the message asks for something at all.
            order_re = _order_talk_re(vocab.no_need_cues)
            kept = []
            for span in products:
                sentence = _sentence_at(text, span[0])
                if order_re.search(sentence.lower()) and not _STRONG_NEED.search(sentence):
                    continue
                if strong or sentence.rstrip().endswith("?"):
                    kept.append(span)
            if not kept:
                return []
            products = kept
        if len(products) == 1 and not strong and len(doc) <= 3 \
                and " " not in text[products[0][0]:products[0][1]].strip() \
                and normalise.category_of(normalise.product_form(
                    text[products[0][0]:products[0][1]]), vocab) is None:
            products = []  # "hmm", "test", "Warranty": one unknown word is not a product
        constraints = [m for m in mentions if m.field in ("price_max", "price_min", "size",
                                                           "colour", "attributes", "brand")]
        if products and not strong and not constraints and len(doc) > 4 and not any(
                m.field in ("quantity", "occasion", "recipient", "compat") for m in mentions) \
                and not _opens_message(doc, products[0][0]) and not text.rstrip().endswith("?"):
            # a thing mentioned in passing, with no wish and no detail ("I'm sat at the table",
            # "'; DROP TABLE needs; --"), is not a need; a terse request opens with the thing
            return []
        if not products:
            # a detail without a product ("in blue please", "under 100"): a partial need that a
            # conversation merges into its open need; or a gift with no product named yet
            # ("need a present for my nephew, he turns 8, between 30 and 45")
            gift = bool(_GIFT_CUE.search(text)) and any(
                m.field in ("recipient", "occasion") for m in mentions)
            # a describing word alone ("which one is the classic?") refines nothing unless
            # said as a wish ("preferably waterproof", "has to be cordless")
            details = [m for m in constraints if m.field not in ("attributes", "brand")] or (
                constraints if _PREFERENCE_CUE.search(text) or strong else [])
            if order_talk or not (gift or (details and len(doc) <= 14)):
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
        if not any(n.category for n in needs) and _reads_foreign(text):
            # "Ich suche eine Jacke", "cerco una giacca": another language, where what the
            # English model and rules pick out is noise; a catalogue product still counts
            return []
        vocab_spans = [(m.start, m.end) for m in mentions
                       if m.field in ("attributes", "colour", "recipient", "occasion", "brand",
                                      "size", "price_min", "price_max", "quantity", "compat")]
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
                    and ent[-1].lower_ != "party":
                continue  # an activity or a use ("camping", "the gym") is not an occasion
            if ent.label_ == "OCCASION" and any(
                    m.field == "occasion" and 0 <= m.start - ent.end_char <= 1 for m in mentions):
                continue  # "40th" of "40th wedding anniversary"
            if ent.label_ == "BRAND" and not _plausible_brand(ent, vocab, text):
                continue
            if ent.label_ == "ATTRIBUTE" and (ent.text.lower() in vocab.recipients
                                              or not _plausible_attribute(ent)
                                              or _NOT_ATTRIBUTE_BEFORE.search(
                                                  text[max(0, ent.start_char - 40):ent.start_char])):
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
            if mention.field == "compat":
                _add(need.attributes, str(mention.value))
            elif mention.field == "attributes":
                said = text[mention.start:mention.end].lower()
                if any(p.start <= mention.start and mention.end <= p.end for p in prices):
                    continue  # "cheaper" of "no cheaper than £100"
                if mention.value in _PRENOMINAL_ATTRIBUTES and not _before_product(
                        text, mention.end, needs):
                    continue
                if not in_product and _NEGATED_BEFORE.search(
                        text[max(0, mention.start - 30):mention.start]):
                    continue  # "doesn't need wifi", "without a hood"
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
                if any(d.start <= mention.start and mention.end <= d.end for d in mentions
                       if d.field == "compat"):
                    continue  # "Samsung" of "a case for a Samsung Galaxy S23"
                need.brand = need.brand or str(mention.value)
            elif mention.field == "recipient":
                said = text[mention.start:mention.end].lower()
                if in_product:
                    continue
                if mention.value == "family" and _before_product(text, mention.end, needs):
                    _add(need.attributes, "family")  # "a family board game"
                    continue
                possessive = said.endswith(("'s", "s'", "’s")) or \
                    text[mention.end:mention.end + 2] in ("'s", "’s")
                gift_after = re.match(r"\s+(?:gift|gifts|present|presents|pressie|prezzie)\b",
                                      text[mention.end:], re.I)
                if not (_LIST_TRIGGER.search(_before(text, mention.start)) or gift_after or
                        (possessive and mention.value not in _GROUP_RECIPIENTS)):
                    continue
                if _NOT_RECIPIENT_BEFORE.search(_before(text, mention.start)):
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
            if need.span and not need.size:
                self._number_after(text, need, mentions)
            need.confidence = _confidence(need, strong)
        return needs

    def _number_after(self, text: str, need: Need, mentions) -> None:
        """A bare number right after the product: a size for clothes and shoes ("black ankle
        boots 5"), else a count ("bath towels 6 in white")."""
        match = _NUMBER_AFTER.match(text, need.span[1])
        if match is None or any(m.start < match.end("n") and match.start("n") < m.end
                                for m in mentions):
            return
        said = match.group("n")
        systems = set(self.vocab.taxonomy.category(need.category).sizes) if need.category else set()
        if systems & _NUMERIC_SIZE_SYSTEMS:
            need.size = [said]
        elif need.quantity is None and "." not in said and 1 < int(said) <= 50 and need.category:
            need.quantity = int(said)


_ATTRIBUTE_JUNK = {"poss", "possible", "ideally", "preferably", "nothing", "needs", "need", "to", "be",
                   "if", "always", "out", "she", "he", "they", "it", "its", "it's", "that", "this",
                   "something", "anything", "please", "pls", "maybe", "over", "under", "max",
                   "more", "less", "than", "ones", "one", "too", "very", "really", "quite",
                   "decent", "nice", "good", "lovely", "great", "proper"}


_OPENING_WORDS = {"a", "an", "some", "the", "any", "new", "hi", "hello", "hey", "hiya", "yo",
                  "morning", "afternoon", "evening", "please", "pls", "ok", "okay", "so", "and",
                  "also", "oh", "um", "erm", "right"}


_LETTERS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _foreign_function_words() -> frozenset[str]:
    """Stop words of other languages shoppers write in (spaCy's lists) that are no English
    word ("ideal", "die", "son" are), no single letter ("u") and no word of our vocabularies."""
    import importlib

    vocab = load_vocab()
    ours = {word for table in (vocab.colours, vocab.attributes, vocab.recipients,
                               vocab.occasions, vocab.brands)
            for phrase in table for word in phrase.split()}
    words: set[str] = set()
    for lang in ("de", "fr", "es", "it", "pt", "nl"):
        words |= importlib.import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS
    # is_known_word covers English stop words, English word forms and every product word
    return frozenset(w for w in words - ours if len(w) > 1 and not normalise.is_known_word(w))


def _reads_foreign(text: str) -> bool:
    """Whether the message reads as another language: it has another language's function
    words ("eine", "una", "des") and not one English one."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = [w.lower() for w in _LETTERS.findall(text)]
    foreign = _foreign_function_words()
    return any(w in foreign for w in words) and not any(w in STOP_WORDS for w in words)


def _before(text: str, end: int, width: int = 100) -> str:
    """The text just before ``end`` for a ``...$`` pattern: the last ``width`` characters, cut at
    a space so that word boundaries are as in the whole text (none of the patterns it is used
    with reaches further back or looks behind); searching a whole long prefix is slow."""
    if end <= width:
        return text[:end]
    cut = text.find(" ", end - width, end)
    return text[:end] if cut < 0 else text[cut + 1:end]


def _opens_message(doc, start: int) -> bool:
    """Only greetings, determiners and describing words come before the product phrase."""
    return all(t.lower_ in _OPENING_WORDS or t.lower_ in _LEADING_ADJECTIVES
               for t in doc if t.idx < start and not t.is_punct)


def _sentence_at(text: str, position: int) -> str:
    """The sentence of ``text`` that holds ``position``."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > position:
            return text[start:match.end()]
        start = match.end()
    return text[start:]


def _before_product(text: str, end: int, needs: list[Need]) -> bool:
    """The next word after ``end`` starts one of the needs' product phrases."""
    following = end + len(text[end:]) - len(text[end:].lstrip())
    return any(n.span and n.span[0] == following for n in needs)


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
