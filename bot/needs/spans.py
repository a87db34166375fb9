"""Where a message names a product: the NER's product spans reconciled with vocabulary matches,
plus the phrases nothing else finds (after a need cue, or opening a terse message), trimmed to
the product's name.

Also the vocabulary product finder the rule component runs (the no-model fallback) and the
small text helpers the field assembly shares with the span heuristics.
"""
from __future__ import annotations

import re
from functools import lru_cache

from bot.needs import normalise, rules
from bot.needs.vocab import NeedVocab, load_vocab, word_list

_LEADING_ADJECTIVES = word_list("leading_adjectives")
_TRAILING_NOISE = word_list("trailing_noise")
_NOT_PRODUCT_FIRST = word_list("not_product_first")
_NOT_PRODUCT_HEADS = (word_list("not_product_heads") | word_list("service_nouns")
                      | _TRAILING_NOISE | _NOT_PRODUCT_FIRST)
_COMPOUND_MODIFIERS = word_list("compound_modifiers")
_PHRASE_STOP = word_list("phrase_stop")
_GROUP_HEADS = word_list("group_heads")
_ACCESSORY_HEADS = word_list("accessory_heads")
_CHATTER = word_list("chatter_words")

_WORD_RE = re.compile(r"[A-Za-z]{4,}")
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
# where a product the vocabulary does not know is named: right after a need phrase
# ("do you sell ukuleles", "looking for a telescope", "any chess sets") or opening the message
_NEW_PRODUCT_BEFORE = re.compile(
    r"(?:^|[.!?,:]\s*|\b(?:looking for|lookin for|look for|searching for|hunting for|after|need|"
    r"needs|want|wants|wanna|buy|get|find|like|love|have you got|got|do you (?:have|sell|stock|do|"
    r"carry)|do u (?:have|sell|do)|any|sell|stock|recommend|wish you had|wish you sold|"
    r"you don't (?:have|sell|do)|no)\s+)"
    r"(?:(?:a|an|some|any|the|new|\d+|two|three|four|a few|a couple of|a pair of|pair of|"
    r"more)\s+)?(?:[\w'-]+\s+)?$", re.I)
# where it goes or what it fits: "a throw for the sofa", "a sofa bed for a studio flat", "ink
# for Canon printers" (not "looking for a tent")
_FOR_PLACE_BEFORE = re.compile(
    r"(?i:(?<!looking )(?<!lookin )(?<!searching )(?<!hunting )(?<!shopping )\bfor )"
    r"(?:(?i:the|my|our|his|her|their|your|a|an)\s+(?:[A-Z][\w'&-]*\s+)?|[A-Z][\w'&-]*\s+)$")
# "we're in a tiny flat", "I live in a bungalow": where the shopper lives, never a product
_LIVE_IN_BEFORE = re.compile(r"\b(?:we're|we are|i'm|im|i am|we live|i live|living|live|lives)"
                             r"\s+in\s+(?:a|an|the|my|our)\s+(?:[\w-]+\s+)?$", re.I)
_WITH_BEFORE = re.compile(r"\b(?:with|without|w/|incl\.?|including|plus|fits|fit|fitting|holds|"
                          r"hold|takes|converts to|converts into|turns into)\s+(?:a\s+|an\s+|"
                          r"the\s+|some\s+|its\s+own\s+|my\s+)?(?:[\w-]+\s+){0,2}$", re.I)
# where a shopper names the thing they want ("do you sell fish food", "I'm after a chess set")
_CUE_BEFORE_PRODUCT = re.compile(
    r"\b(?:looking for|lookin for|looking 4|lookin 4|searching for|hunting for|trying to find|"
    r"tryna find|after|need|needs|want|wanted|wanna|would like|i'd like|i'd love|would love|"
    r"do (?:you|u|y'all|you guys)(?: also| still| even)? (?:have|sell|stock|do|carry|make)|"
    r"have you got|got any|you got any|(?:^|\b(?:you|u|ya) )got|"
    r"wish (?:you|u) (?:had|sold|did|stocked)|"
    r"if you (?:have|sell|stock|do)|show me|recommend|buy|get me|find me)\s+"
    r"(?:a |an |some |any |the |new |a new |more |another |a few |a couple of |a pair of |"
    r"a set of |(?:\d{1,2}|two|three|four|five|six) )?", re.I)


def text_before(text: str, end: int, width: int = 100) -> str:
    """The text just before ``end`` for a ``...$`` pattern: the last ``width`` characters, cut at
    a space so that word boundaries are as in the whole text (none of the patterns it is used
    with reaches further back or looks behind); searching a whole long prefix is slow."""
    if end <= width:
        return text[:end]
    cut = text.find(" ", end - width, end)
    return text[:end] if cut < 0 else text[cut + 1:end]


def overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@lru_cache(maxsize=1)
def _product_table() -> dict[str, str]:
    vocab = load_vocab()
    table = {k: k for k in vocab.product_phrases()}
    plural = {k + "s": k for k in table} | {k + "es": k for k in table} | {
        k[:-1] + "ies": k for k in table if k.endswith("y") and k[-2:-1] not in "aeiou"}
    return {**plural, **table}


@lru_cache(maxsize=1)
def _product_tables() -> tuple[tuple[str, dict[str, str]], ...]:
    """The product table as :func:`rules.find_phrases_in` scans it."""
    return (("product", _product_table()),)


def find_vocab_products(text: str) -> list[rules.Mention]:
    """Product phrases named in the taxonomy / synonym vocabulary (the no-model fallback)."""
    found = rules.find_phrases_in(rules.read(text).words, _product_tables)[0]
    for match in _WORD_RE.finditer(text):
        if _proper_noun(text, match.start()):
            continue  # "Leeds" is a place, not misspelt "leads"
        corrected = normalise.correct_word(match.group(0).lower())
        if corrected != match.group(0).lower() and corrected in normalise.product_vocabulary():
            found.append(rules.Mention(match.start(), match.end(), "product", corrected))
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[rules.Mention] = []
    for mention in found:
        if not any(k.start <= mention.start < k.end for k in kept):
            kept.append(mention)
    return kept


def _proper_noun(text: str, start: int) -> bool:
    """Capitalised and not opening a sentence: a name, which typo correction leaves alone."""
    before = text[:start].rstrip()
    return text[start:start + 1].isupper() and bool(before) and before[-1] not in ".!?"


def plausible_brand(ent, vocab: NeedVocab, text: str | None = None) -> bool:
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


def product_spans(doc, vocab: NeedVocab, text: str | None = None) -> list[tuple[int, int]]:
    """Product phrases: the NER's spans reconciled with vocabulary matches.

    A vocabulary match inside or across an NER span fixes where the phrase ends (the model
    sometimes runs on into "suede" or "dishwasher safe"); an NER span with no known product word
    is kept unless its last word is clearly not a product; vocabulary matches the model missed
    are added. A product inside a material ("iron" in "cast iron") is not a product.
    """
    mentions = doc._.need_mentions or []
    text = doc.text if text is None else text  # doc.text joins the tokens on every access
    known = _known_spans(mentions, vocab)
    brands = [(m.start, m.end) for m in mentions if m.field == "brand"]
    doc_ents = list(doc.ents)  # each doc.ents access builds new spans
    brands += [(e.start_char, e.end_char) for e in doc_ents if e.label_ == "BRAND"
               and plausible_brand(e, vocab, text)]
    spans = _ner_spans(doc_ents, known, brands, mentions, vocab, text)
    for k in known:
        if not any(overlap(k, s) for s in spans):
            spans.append(k)
    for cue in _cue_products(mentions, vocab, text):
        inside = [s for s in spans if cue[0] < s[0] and s[1] == cue[1]]
        if len(inside) == 1 and inside[0] not in known and \
                _names_the_thing(text[cue[0]:inside[0][0]], vocab):
            spans[spans.index(inside[0])] = cue  # "do you sell [pogo] sticks": the NER's tail
        elif not any(overlap(cue, s) for s in spans):
            spans.append(cue)
    spans = _compounds(text, sorted(set(spans)), mentions)
    if not spans:
        spans = _leading_phrase(doc, mentions, vocab, text)
    # "a microwave with a grill", "a desk with drawers": a feature of the product before it;
    # "a throw for the sofa": where it goes
    spans = [s for s in spans if not ((_WITH_BEFORE.search(text_before(text, s[0]))
                                       or _FOR_PLACE_BEFORE.search(text_before(text, s[0])))
                                      and any(o[1] <= s[0] for o in spans if o != s))
             and not _LIVE_IN_BEFORE.search(text_before(text, s[0]))]
    devices = [(m.start, m.end) for m in mentions if m.field == "compat"]
    if devices:  # "a case for an iPhone 15": the phone is what it fits, not what is wanted
        outside = [s for s in spans if not any(overlap(s, d) for d in devices)]
        spans = outside or spans
    return _named_spans(text, spans, mentions, vocab, brands)


def _names_the_thing(words: str, vocab: NeedVocab) -> bool:
    """Words before a product's head that belong to its name ("pogo" of "pogo sticks"), not
    a description ("cheap", "blue", "wooden") or a brand."""
    said = words.lower().split()
    return bool(said) and not any(
        w in vocab.attributes or w in vocab.colours or w in _LEADING_ADJECTIVES
        or w in vocab.brands or w in vocab.materials or w in normalise._DETERMINERS
        for w in said)


def _known_spans(mentions, vocab: NeedVocab) -> list[tuple[int, int]]:
    """The vocabulary's product matches that are products here."""
    materials = [(m.start, m.end) for m in mentions
                 if m.field == "attributes" and m.value in vocab.materials]
    # a product word inside a longer description is not a product ("iron" in "cast iron",
    # "dishwasher" in "dishwasher safe")
    wider = [(m.start, m.end) for m in mentions if m.field == "attributes"]
    covering = [(m.start, m.end) for m in mentions
                if m.field in ("occasion", "recipient", "brand", "colour", "compat")]
    return [(m.start, m.end) for m in mentions if m.field == "product"
            and not any(s <= m.start and m.end <= e for s, e in materials)
            and not any(s <= m.start and m.end <= e and e - s > m.end - m.start
                        for s, e in wider)
            and not any(s <= m.start and m.end <= e for s, e in covering)]


def _ner_spans(doc_ents, known, brands, mentions, vocab: NeedVocab,
               text: str) -> list[tuple[int, int]]:
    """The NER's product spans, widened to the vocabulary matches across them; one without a
    match only when it looks like a product the vocabulary does not know."""
    counts = [(m.start, m.end) for m in mentions if m.field == "quantity"]
    not_heads = _not_heads()
    described = [(m.start, m.end) for m in mentions if m.field in
                 ("attributes", "colour", "occasion", "recipient", "brand")
                 and (m.start, m.end) not in known]
    spans: list[tuple[int, int]] = []
    for ent in doc_ents:
        if ent.label_ != "PRODUCT":
            continue
        span = (ent.start_char, ent.end_char)
        hits = [k for k in known if overlap(span, k)]
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
    return spans


def _named_spans(text: str, spans, mentions, vocab: NeedVocab,
                 brands) -> list[tuple[int, int]]:
    """Each span cut to the product's name: not a thing the shopper has, with its material and
    compound modifier, without leading descriptions and trailing noise; overlaps dropped."""
    fixed: list[tuple[int, int]] = []
    material_mentions = [m for m in mentions if m.field == "attributes"
                         and m.value in vocab.materials]
    leading = [m for m in mentions if m.field in ("attributes", "colour", "size", "recipient",
                                                  "occasion")
               and " " in text[m.start:m.end].strip() and m.value not in vocab.materials]
    text_lower = text.lower()
    for start, end in sorted(set(spans)):
        if _POSSESSIVE_BEFORE.search(text_before(text, start)):
            continue  # "the lid of my casserole dish": the shopper has that one
        start = _material_start(text_lower, start, material_mentions)
        start = _trim_leading(text, start, end, vocab, material_mentions, leading, brands)
        modifier = _compound_modifier(text, start, mentions)
        if modifier is not None:
            start = modifier  # "school trousers", "rain boots", "work shoes"
            if _POSSESSIVE_BEFORE.search(text_before(text, start)):
                continue  # "under my work trousers"
        end = _trim_trailing(text, start, end)
        if any(overlap((start, end), f) for f in fixed):
            continue
        fixed.append((start, end))
    return fixed


def _material_start(text_lower: str, start: int, material_mentions) -> int:
    """A material right before the product belongs to it ("wool" + "scarf"), and a material
    the span starts inside ("Organic" + "cotton dungarees")."""
    inside = next((m for m in material_mentions if m.start < start < m.end), None)
    if inside is not None:
        start = inside.start
    before = text_lower[:start].rstrip()
    for material in _materials_longest_first():
        if before.endswith(material) and (len(before) == len(material) or
                                          not before[-len(material) - 1].isalnum()):
            return len(before) - len(material)
    return start


def _trim_leading(text: str, start: int, end: int, vocab: NeedVocab, material_mentions,
                  leading, brands) -> int:
    """Drop leading colours / determiners / attributes / counts / brands / describing words the
    model may have swallowed; a known product type stays whole ("bluetooth speaker")."""
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
    return start


def _compound_modifier(text: str, start: int, mentions) -> int | None:
    """Where a noun right before the product that belongs to its name starts ("school" of
    "school trousers"), unless another field's mention holds it."""
    modifier = re.search(r"(?:^|[\s,])([A-Za-z]+) $", text[:start])
    if modifier and modifier.group(1).lower() in _COMPOUND_MODIFIERS and not any(
            m.start <= modifier.start(1) < m.end for m in mentions if m.field != "product"):
        return modifier.start(1)
    return None


def _trim_trailing(text: str, start: int, end: int) -> int:
    """Drop trailing words a model may swallow ("ideally", "please")."""
    words = text[start:end].split(" ")
    while len(words) > 1 and words[-1].lower().strip(".,!?") in _TRAILING_NOISE:
        end -= len(words[-1]) + 1
        words = words[:-1]
    return end


@lru_cache(maxsize=1)
def _product_heads() -> frozenset[str]:
    """The last word of every product phrase we know ("tin", "toy", "boot", "bag")."""
    vocab = load_vocab()
    return frozenset(p.replace("-", " ").split()[-1]
                     for p in vocab.product_phrases() if p.strip())


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


def _cue_products(mentions, vocab: NeedVocab, text: str) -> list[tuple[int, int]]:
    """Product phrases nothing else found: the words right after a need phrase ("do you sell
    [fish food]?", "I'm after a [chess set]"), up to a preposition, a detail or punctuation.
    The head must look like a thing (not a describing, service or function word)."""
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
                or _function_contraction(word) or (not words and word in _CHATTER) \
                or len(words) == 4 or any(s <= match.start() < e for s, e in details):
            break
        words.append((match.start(), match.end(), word))
        if match.end() < len(text) and text[match.end()] != " ":
            break
    _trim_phrase(words, not_heads, vocab)
    if not words or words[0][2] in _NOT_PRODUCT_FIRST or \
            all(normalise.singular(w, vocab) in vocab.attributes for _, _, w in words) or \
            _describing_phrase(" ".join(w for _, _, w in words), vocab) or \
            re.match(r"\s+ones?\b", text[words[-1][1]:], re.I):
        return []  # "floor one with a gauge": "floor" describes the one wanted
    return [(words[0][0], words[-1][1])]


def _function_contraction(word: str) -> bool:
    """"it's", "she'll", "i've", "what's": a function word with its contraction."""
    from spacy.lang.en.stop_words import STOP_WORDS

    head, apostrophe, _ = word.replace("’", "'").partition("'")
    return bool(apostrophe) and head in STOP_WORDS


def _describing_phrase(phrase: str, vocab: NeedVocab) -> bool:
    """The phrase is a describing word of the vocabulary ("stainless steel", "quick dry",
    "high waisted"): an attribute, never a product."""
    squashed = normalise.squash(phrase)
    return squashed in vocab.attributes or phrase in vocab.attributes or \
        squashed.replace(" ", "-") in vocab.attributes or squashed in vocab.colours


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
