"""From a processed message to NEED records: which product phrases it asks for, then one small
function per field that reads the field from the rule mentions and the NER entities.

Each field function attaches what it reads to the need whose product phrase is nearest (a
message may name several products); a message that names no product gives one partial need
when it states a detail or a gift, which the conversation merges into its open need.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from bot.needs import normalise, rules
from bot.needs.language import reads_foreign
from bot.needs.need import Need
from bot.needs.spans import overlap, plausible_brand, product_spans, text_before
from bot.needs.vocab import NeedVocab, word_list

STRONG_NEED = re.compile(
    r"\b(looking|lookin|searching|hunting|show me|what (?:have you got|do you have)|come in|"
    r"comes in|available in|in stock|still available|available|any left|"
    r"if you (?:have|sell|stock|do|carry)|would love|wish (?:you|u) (?:sold|did|stocked|made|"
    r"carried)|do (?:you|u) (?:also|still|even|currently|ever) (?:have|sell|stock|do|carry)|"
    r"(?:i'm|im|i am|we're|were|just|still|also|really) after\b|"
    r"(?:wanna|want to|need to|like to|looking to|hoping to) (?:get|buy|find|order|grab)\b|"
    r"after (?:a|an|some|something)"
    r"(?! (?:week|day|month|year|while|few|couple|fortnight|bit|minute|hour)s?\b)|"
    r"do (?:you|u|y'all|you guys) "
    r"(?:have|sell|stock|do|carry)|have you got|got any|any chance|wish (?:you|u) had|shame|"
    r"need (?:a|an|some|new|\d)|want (?:a|an|some|new|\d)|would like|i'd like|i'd love|"
    r"need (?:the|it|them|one|this|that|these|those)(?: \w+)? in|"
    r"(?:i|we|i'll|still|also|now|really|just|i really|i still|i also) need|"
    r"what i (?:actually |really )?(?:want|wanted|need|needed)|wanted (?:a|an|some)|"
    r"recommend|gift|present)\b", re.I)
# words that make a detail a follow-up to the need being talked about ("anything under 30?",
# "it's for my nephew", "has to be waterproof"), unlike "medium" answering an order form
FOLLOW_UP_CUE = re.compile(
    r"\b(?:anything|something|any|one|ones|if (?:you|u|poss|possible)|ideally|preferably|"
    r"has to be|have to be|needs? to be|must be|would be|should be|(?:it's|its|it is|they're|"
    r"theyre|they are|that's|thats) (?:a \w+ )?for|for (?:my|a|an|her|his|our|the)|budget|max|tops|"
    r"or less|or under|with|without|what about|how about)\b", re.I)
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
_RECIPIENT_DESCRIBERS = word_list("recipient_describers")
_LIST_TRIGGER = re.compile(r"(?:\bfor (?:a|an|my|the|our|his|her) (?:whole|entire)|\bthe whole|"
                           r"\bfor|\bmy|\bour|\bhis|\bher|\bfor the|\bfor a|\bfor an|\bmi|\bur|"
                           r"\bthe|\ba|\ban)\s+(?:(?:" + "|".join(sorted(_RECIPIENT_DESCRIBERS))
                           + r")\s+)?$", re.I)
# "it's for my nephew", "for a 2 year old", "they're for my twins": who a follow-up says it is for
_FOR_SOMEONE = re.compile(r"\bfor\s+(?:(?:a|an|my|the|our|his|her|their|your|me|mi)\s+)?"
                          r"(?:(?:" + "|".join(sorted(_RECIPIENT_DESCRIBERS)) + r")\s+)?$", re.I)
# "one with a camera", "something waterproof with a laptop sleeve": a feature of the open need's
# product, said with a word standing for it, not another product
_FEATURE_BEFORE = re.compile(
    r"(?:\b(?:one|ones|something|anything|any|it|them|those|these|model|version)"
    r"(?:\s+[a-z-]+)?\s+(?:with|that has|that have|which has|which have|that comes with|"
    r"that come with|with built in|with a built in)|^\s*(?:and\s+|but\s+)?with)"
    r"\s+(?:an?\s+|the\s+|some\s+|its own\s+)?$", re.I)
# "fits a 17 inch laptop", "that holds an A4 folder": what it must fit, neither a product nor
# a feature (the measure, if any, is read as an attribute)
_FITS_BEFORE = re.compile(r"(?:^|\b(?:one|ones|something|it|that|which))\s*(?:that\s+|to\s+)?"
                          r"(?:fits?|holds?|takes?)\s+(?:an?\s+|the\s+|my\s+)?"
                          r"(?:[\w-]+\s+){0,2}$", re.I)
_CHATTER = word_list("chatter_words")
_PRONOUN_BEFORE = re.compile(r"\b(?:i|you|we|they|he|she|i've|we've|you've|they've|i'd|we'd)"
                             r"\s+$", re.I)
_ATTRIBUTE_CHARS = re.compile(r"^[A-Za-z0-9][\w'’ .+/-]*$")
# "I've checked with the neighbours": a describing word right after its subject is a verb
_SUBJECT_BEFORE = re.compile(r"\b(?:i|you|we|they|he|she|it|i've|we've|you've|they've|i'd|we'd|"
                             r"i'll|we'll|has|have|had|was|were|been|is|are)\s+$", re.I)
# a follow-up short enough to be a reply ("wireless ones", "Ninja if you have it")
_TERSE_WORDS = 6
_NOT_DETAIL_WORDS = (word_list("not_product_first") | word_list("service_nouns")
                     | word_list("chatter_words"))
# "walking the dog", "feeding the cat": the animal is not who the product is for
_NOT_RECIPIENT_BEFORE = re.compile(r"\b(?:walk|walking|walks|feed|feeding|take|taking|bath|bathing|"
                                   r"had|having|expecting|before|after|until|since|once|"
                                   r"groom|grooming|with|like|than|and|when|at|is|was)\s+"
                                   r"(?:the|a|an|my)\s+$", re.I)
# an activity word used as a verb on an object ("walking the dog", "running a bath")
_OCCASION_VERB_AFTER = re.compile(r"\s+(?:the|a|an|my|your|his|her|our|their|it|them)\b", re.I)
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
# the taxonomy's size systems that are numbers: a bare number after such a product is a size
_NUMERIC_SIZE_SYSTEMS = frozenset({"clothing", "clothing_fit", "shoe_uk", "shoe_eu", "kids_age"})
_NEGATED_BEFORE = re.compile(r"\b(?:no|without|not|doesn't need|don't need|doesnt need|dont need|"
                             r"doesn't have to be|don't want|dont want|never)\s+"
                             r"(?:an?\s+|any\s+)?$", re.I)
# before an NER attribute: "for the hallway" (a place), "nothing fancy", "he's a big chewer"
# (says who someone is), "no logo"
_NOT_ATTRIBUTE_BEFORE = re.compile(
    r"(?:\bfor (?:the|a|an|my|our|his|her)\s+$|\b(?:nothing|not)(?:\s+too)?\s+$|"
    r"\b(?:he|she|they|we|he's|she's|they're|we're)(?:\s+(?:is|are|was|were|'s|'re))?\s+"
    r"(?:always\s+|really\s+|very\s+|so\s+)?(?:an?\s+)?(?:[a-z]+\s+)?$|"
    r"\b(?:no|without)\s+$|"
    r"\b(?:we're|we are|i'm|im|i am|we live|i live|live|living)\s+in\s+(?:a|an|the|my|our)\s+$)",
    re.I)  # "we're in a tiny flat": where they live
_LEADING_ADJECTIVES = word_list("leading_adjectives")
_PRENOMINAL_ATTRIBUTES = word_list("prenominal_attributes")
_GROUP_RECIPIENTS = word_list("group_recipients")
_ATTRIBUTE_JUNK = word_list("attribute_junk")
_PHRASE_STOP_WORDS = word_list("phrase_stop")
_OPENING_WORDS = word_list("opening_words")
# mentions whose span no NER entity may take: the vocabulary names it, and normalises it better
_VOCABULARY_FIELDS = ("attributes", "colour", "recipient", "occasion", "brand", "size",
                      "price_min", "price_max", "quantity", "compat")


def needs_from_doc(doc, vocab: NeedVocab, today: date | None = None) -> list[Need]:
    """The needs a message processed by the pipeline states (none for most service talk)."""
    text = doc.text
    if not text.strip() or _chatter(doc):
        return []
    mentions = [m for m in (doc._.need_mentions or []) if m.field != "product"]
    if today is not None:
        mentions = [m for m in mentions if m.field != "needed_by"] + rules.find_dates(
            text, today)
    products, features = _features(text, product_spans(doc, vocab, text))
    mentions = [m for m in mentions if m.field != "attributes" or not any(
        f.start <= m.start and m.end <= f.end for f in features)] + features  # "bamboo lids"
    mentions += _with_features(text, products, mentions, vocab)
    entities = [e for e in doc.ents if e.label_ != "PRODUCT"]
    order_talk = bool(_order_talk_re(vocab.no_need_cues).search(text.lower()))
    strong = bool(STRONG_NEED.search(text))
    if _SERVICE_REQUEST.search(text):
        return []
    products = _wanted_products(doc, text, vocab, mentions, products, strong, order_talk)
    if products is None:
        return []
    needs = [Need(span=s) for s in products] if products else _detail_need(
        doc, text, vocab, mentions, entities, strong, order_talk)
    if not needs:
        return []
    _product(needs, text, vocab)
    if not any(n.category for n in needs) and reads_foreign(text):
        # "Ich suche eine Jacke", "cerco una giacca": another language, where what the
        # English model and rules pick out is noise; a catalogue product still counts
        return []
    message = _Message.read(doc, text, vocab, mentions, entities, needs)
    for read_field in (_attributes, _colour, _size, _brand, _price, _quantity, _recipient,
                       _occasion, _needed_by, _number_after):
        read_field(message)
    needs = [n for n in needs if n.span is not None or _has_detail(n)]
    for need in needs:
        need.confidence = _confidence(need, strong)
    return needs


def _has_detail(need: Need) -> bool:
    """A partial need holds something to refine the open need with ("no wifi" holds nothing:
    the negated attribute was dropped)."""
    return any(value not in (None, [], "") for key, value in need.to_dict().items()
               if key not in ("confidence", "currency", "needed_by"))


# --- which products the message asks for --------------------------------------------------

@lru_cache(maxsize=1)
def _order_talk_re(cues: tuple[str, ...]) -> re.Pattern:
    # the cues as a prefix tree ("my (?:order|refund|...)"): the same strings, but re tries one
    # branch per character instead of every cue at every position (several times faster)
    return re.compile(r"(?<!\w)(?:" + rules.trie_pattern(c.lower() for c in cues) + r")(?!\w)",
                      re.I)


def _wanted_products(doc, text: str, vocab: NeedVocab, mentions, products, strong: bool,
                     order_talk: bool) -> list[tuple[int, int]] | None:
    """The product phrases the message asks for ([] when it names none); None when it names
    products but asks for none of them: the message states no need."""
    had_products = bool(products)
    products = _not_had(text, products, strong)
    if had_products and not products:
        return None  # every thing named is one the shopper has, or asks about
    if order_talk:
        products = _asked_beside_order_talk(text, vocab, products, strong)
        if not products:
            return None
    if len(products) == 1 and not strong and len(doc) <= 3 \
            and " " not in text[products[0][0]:products[0][1]].strip() \
            and not _known_product(text[products[0][0]:products[0][1]], vocab):
        products = []  # "hmm", "test", "Warranty": one unknown word is not a product
    constraints = [m for m in mentions if m.field in ("price_max", "price_min", "size",
                                                       "colour", "attributes", "brand")]
    if products and not strong and not constraints and len(doc) > 4 and not any(
            m.field in ("quantity", "occasion", "recipient", "compat") for m in mentions) \
            and not _opens_message(doc, products[0][0]) and not text.rstrip().endswith("?"):
        # a thing mentioned in passing, with no wish and no detail ("I'm sat at the table",
        # "'; DROP TABLE needs; --"), is not a need; a terse request opens with the thing
        return None
    return products


def _known_product(said: str, vocab: NeedVocab) -> bool:
    """A product of the catalogue's categories, or one we know no category holds ("tripod")."""
    product = normalise.product_form(said)
    return normalise.category_of(product, vocab) is not None or product in vocab.uncatalogued


def _not_had(text: str, products, strong: bool) -> list[tuple[int, int]]:
    """Drop verbs spelt like products, and things the shopper has or asks about ("the jumper I
    ordered", "the dress was perfect", "is the sofa easy to put together?")."""
    products = [s for s in products if not _VERB_BEFORE.search(text_before(text, s[0]))
                or " " in text[s[0]:s[1]].strip()]
    if not strong and _PRODUCT_QUESTION.match(text):
        products = [s for s in products
                    if not _DEFINITE_BEFORE.search(text_before(text, s[0]))]
    return [s for s in products if not _OWNED_AFTER.match(text, s[1]) and not (
        _DEFINITE_BEFORE.search(text_before(text, s[0])) and (
            _PAST_STATE_AFTER.match(text, s[1]) or
            (not strong and _STATE_AFTER.match(text, s[1]))))]


def _asked_beside_order_talk(text: str, vocab: NeedVocab, products,
                             strong: bool) -> list[tuple[int, int]]:
    """Talk about an order: a product counts only in a sentence that is not about the order
    ("the delivery guy was lovely. any leather gloves for my dad?") or that asks for something
    itself ("the one I bought was too small, I need the jacket in a 14"), and only when the
    message asks for something at all."""
    order_re = _order_talk_re(vocab.no_need_cues)
    kept = []
    for span in products:
        sentence = _sentence_at(text, span[0])
        if order_re.search(sentence.lower()) and not STRONG_NEED.search(sentence):
            continue
        if strong or sentence.rstrip().endswith("?"):
            kept.append(span)
    return kept


def _detail_need(doc, text: str, vocab: NeedVocab, mentions, entities, strong: bool,
                 order_talk: bool) -> list[Need]:
    """A detail without a product: a partial need that a conversation merges into its open
    need, or a gift with no product named yet ("need a present for my nephew, he turns 8,
    between 30 and 45").

    Prices, sizes and colours always count ("in blue please", "anything under 30?"). A
    describing word or a brand counts when said as a wish ("preferably waterproof", "has to be
    cordless", "anything by Terry Pratchett") or in a reply of a few words ("wireless ones",
    "Bosch if you have it"); so do a count ("I need 6", "2 packs") and an occasion ("end of
    term", "it's for a wedding"). Who it is for counts when said with "for" ("it's for my
    nephew", "for a 2 year old"). A describing word alone in a longer message ("which one is the
    classic?") refines nothing."""
    if order_talk:
        return []
    gift = bool(_GIFT_CUE.search(text)) and any(
        m.field in ("recipient", "occasion") for m in mentions)
    terse = _terse(doc)
    asking_about = not strong and bool(_PRODUCT_QUESTION.match(text))  # "is the label free?"
    opening = [m for m in mentions if m.field in ("attributes", "brand", "colour")
               and not text[:m.start].strip(" ,.!-")]  # "waterproof so he can take it away"
    wish = strong or bool(_PREFERENCE_CUE.search(text)) or (terse and not asking_about) \
        or (bool(opening) and not asking_about)
    details = [m for m in mentions if m.field in ("price_max", "price_min", "size", "colour")]
    if wish:
        details += [m for m in mentions if m.field in ("attributes", "brand", "compat")
                    and not _SUBJECT_BEFORE.search(text_before(text, m.start))]
        details += [e for e in entities if e.label_ in ("ATTRIBUTE", "BRAND")
                    and _plausible_attribute(e) and _reads_as_word(e, vocab)
                    and not _NOT_ATTRIBUTE_BEFORE.search(text_before(text, e.start_char))]
    details += [m for m in mentions if m.field == "recipient"
                and _FOR_SOMEONE.search(text_before(text, m.start))]
    details += [m for m in mentions if m.field == "occasion" and _wanted_occasion(text, m)
                and (terse or wish or _FOR_SOMEONE.search(text_before(text, m.start)))]
    if terse:
        details += [m for m in mentions if m.field == "quantity"]
    if not (gift or (details and len(doc) <= 16)):
        return []
    return [Need(confidence=0.5)]


def _reads_as_word(ent, vocab: NeedVocab) -> bool:
    """An NER attribute or brand that alone makes a follow-up: a describing word we know or a
    name ("dimmable", "Janome"), not a key-mash or a chat-box command ("asdfghjkl", "menu")."""
    said = ent.text.lower()
    if said in vocab.attributes or said in vocab.brands or said in vocab.colours:
        return True
    words = [t for t in ent if t.is_alpha]
    return bool(words) and all(
        (normalise.is_known_word(t.lower_) or t.text[:1].isupper())
        and t.lower_ not in _NOT_DETAIL_WORDS for t in words)


def _terse(doc) -> bool:
    """A reply of a few words ("wireless ones", "Bosch if you have it", "2 packs")."""
    return sum(1 for t in doc if not t.is_punct and not t.is_space) <= _TERSE_WORDS


def _chatter(doc) -> bool:
    """Thanks, praise, agreement and goodbyes ("perfect, I'll grab that one", "cool cool",
    "thanks that's lovely"): every word a chatter word or a function word, no digit."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = [t.lower_ for t in doc if not t.is_punct and not t.is_space]
    return bool(words) and all((w in _CHATTER or w in STOP_WORDS) and not any(
        c.isdigit() for c in w) for w in words)


def _features(text: str, products) -> tuple[list[tuple[int, int]], list]:
    """Product phrases said as a feature of the thing already talked about ("one with a
    [camera]", "something waterproof with a [laptop] sleeve") become attribute mentions."""
    kept, features, fits = [], [], 0
    for span in products:
        if _FITS_BEFORE.search(text_before(text, span[0])):
            fits += 1
            continue
        if not _FEATURE_BEFORE.search(text_before(text, span[0])):
            kept.append(span)
            continue
        end = span[1]
        following = re.match(r" ([a-z]+)\b", text[end:])
        if following and following.group(1) not in _PHRASE_STOP_WORDS:
            end += following.end()  # "laptop" + "sleeve"
        features.append(rules.Mention(span[0], end, "attributes",
                                      normalise.attribute_form(text[span[0]:end])))
    if not kept and (features or fits):
        return kept, features
    return products, []


# "with" after the thing, a word standing for it, a colour or describing word, or opening a
# reply: "a laundry hamper with a lid", "waterproof with a hood", "one with a filter"
_WITH_AFTER = re.compile(r"(?:^|\s)with\s+(?:an?\s+|some\s+|the\s+|its\s+own\s+|"
                         r"(?:a\s+)?built[- ]in\s+)?(?P<v>[a-z][a-z-]*(?:\s[a-z][a-z-]*)?)", re.I)
_VERB_BEFORE_WITH = re.compile(
    r"\b(?:checked|check|help|helped|go|goes|went|deal|dealt|come|comes|came|happy|pleased|"
    r"problem|problems|issue|issues|wrong|compatible|works?|pairs?|fits?|matches|match|along|"
    r"together|chat|speak|talk|spoke|talked|agree|agreed|sorted|done|fine|okay|ok|stuck|"
    r"bored|fed up|familiar|in love|obsessed|busy|playing|play|plays|share|sharing|live|"
    r"living|lives|stay|staying|travel|travelling|traveling)$", re.I)
_WITH_AFTER_WORDS = re.compile(r"(?:^|\b(?:one|ones|something|anything|any|it|them|those|"
                               r"these))\s*$", re.I)


def _with_features(text: str, products, mentions, vocab: NeedVocab) -> list:
    """A feature said with "with" right after the product or a word standing for it ("a
    laundry hamper with a [lid]", "silk tie navy with a [pattern]", "one with a [filter]", "with
    [drawers]"): an attribute, unless it is a detail already read, a person or a function word."""
    from spacy.lang.en.stop_words import STOP_WORDS

    found = []
    if "with" not in text.lower():
        return found
    described = [(m.start, m.end) for m in mentions if m.field in ("colour", "attributes")
                 and not _SUBJECT_BEFORE.search(text_before(text, m.start))]
    for match in _WITH_AFTER.finditer(text):
        start = match.start() + (1 if text[match.start()].isspace() else 0)
        before = text[:start].rstrip(" ,")
        if _VERB_BEFORE_WITH.search(before):
            continue  # "help with", "happy with", "compatible with"
        after_thing = any(abs(len(before) - s[1]) <= 0 for s in products) or any(
            abs(len(before) - e) <= 0 for _, e in described) or bool(
            _WITH_AFTER_WORDS.search(before))
        if not after_thing:
            continue
        words = []
        for word in match.group("v").split():
            lower = word.lower()
            if lower in STOP_WORDS or lower in _PHRASE_STOP_WORDS or lower in _CHATTER:
                break
            words.append(word)
        if not words:
            continue
        phrase_start = match.start("v")
        phrase_end = phrase_start + len(" ".join(words))
        phrase = " ".join(words).lower()
        if any(m.start < phrase_end and phrase_start < m.end for m in mentions
               if m.field != "attributes") or phrase in vocab.recipients \
                or phrase in vocab.colours or phrase in vocab.occasions:
            continue
        if any(m.start < phrase_end and phrase_start < m.end for m in mentions):
            continue  # a describing word the vocabulary already read ("with a hood")
        found.append(rules.Mention(phrase_start, phrase_end, "attributes",
                                   normalise.attribute_form(phrase)))
    return found


def _wanted_occasion(text: str, mention) -> bool:
    """"thank you" is an occasion only for a thank-you gift, not a shopper's thanks."""
    return mention.value != "thank you" or bool(_GIFT_CUE.search(text))


def _sentence_at(text: str, position: int) -> str:
    """The sentence of ``text`` that holds ``position``."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > position:
            return text[start:match.end()]
        start = match.end()
    return text[start:]


def _opens_message(doc, start: int) -> bool:
    """Only greetings, determiners and describing words come before the product phrase."""
    return all(t.lower_ in _OPENING_WORDS or t.lower_ in _LEADING_ADJECTIVES
               for t in doc if t.idx < start and not t.is_punct)


# --- the fields --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Message:
    """What every field function reads: the message, its rule mentions (no products), the NER
    entities left to the fields, and the needs being filled."""

    doc: object
    text: str
    vocab: NeedVocab
    mentions: list
    entities: list  # every NER entity but products
    kept_entities: list  # those no product phrase or vocabulary mention holds
    needs: list[Need]

    @classmethod
    def read(cls, doc, text: str, vocab: NeedVocab, mentions, entities,
             needs: list[Need]) -> _Message:
        vocab_spans = [(m.start, m.end) for m in mentions if m.field in _VOCABULARY_FIELDS]
        kept = [e for e in entities
                if not any(_overlaps((e.start_char, e.end_char), n.span) for n in needs if n.span)
                and not any(overlap((e.start_char, e.end_char), v) for v in vocab_spans)]
        return cls(doc, text, vocab, mentions, entities, kept, needs)

    def owner(self, start: int) -> Need:
        """The need a mention at ``start`` belongs to: the one whose product phrase is nearest."""
        needs = self.needs
        if len(needs) == 1 or needs[0].span is None:
            return needs[0]
        return min(needs, key=lambda n: min(abs(start - n.span[0]), abs(start - n.span[1])))

    def in_product(self, mention) -> bool:
        """The mention is part of a product phrase ("wool" of "wool scarf")."""
        return any(n.span and _inside(mention, n.span) for n in self.needs)

    def said(self, mention) -> str:
        return self.text[mention.start:mention.end].lower()

    def mentioned(self, field: str):
        return (m for m in self.mentions if m.field == field)

    def labelled(self, label: str):
        return (e for e in self.kept_entities if e.label_ == label)


def _product(needs: list[Need], text: str, vocab: NeedVocab) -> None:
    """The product as said, normalised, and its catalogue category."""
    for need in needs:
        if need.span is None:
            continue
        said = text[need.span[0]:need.span[1]]
        need.product = normalise.product_form(said)
        need.category = normalise.category_of(need.product, vocab)


def _attributes(message: _Message) -> None:
    """NER attributes that are describing words, then the rule mentions in order: a device the
    product fits, attributes not negated, and "family" before a product ("a family board
    game"); inside the product phrase only a material counts."""
    text, vocab = message.text, message.vocab
    for ent in message.labelled("ATTRIBUTE"):
        if ent.text.lower() in vocab.recipients or not _plausible_attribute(ent) \
                or _NOT_ATTRIBUTE_BEFORE.search(text[max(0, ent.start_char - 40):ent.start_char]):
            continue
        _add(message.owner(ent.start_char).attributes,
             normalise.attribute_form(_attribute_text(ent)))
    prices = [m for m in message.mentions if m.field in ("price_min", "price_max")]
    for mention in message.mentions:
        if mention.field == "compat":
            _add(message.owner(mention.start).attributes, str(mention.value))
        elif mention.field == "attributes" and _wanted_attribute(message, mention, prices):
            _add(message.owner(mention.start).attributes, str(mention.value))
        elif mention.field == "recipient" and _family_before_product(message, mention):
            _add(message.owner(mention.start).attributes, "family")


def _wanted_attribute(message: _Message, mention, prices) -> bool:
    text, vocab = message.text, message.vocab
    if any(p.start <= mention.start and mention.end <= p.end for p in prices):
        return False  # "cheaper" of "no cheaper than £100"
    if mention.value in _PRENOMINAL_ATTRIBUTES and not _before_product(
            text, mention.end, message.needs):
        return False
    in_product = message.in_product(mention)
    if not in_product and _NEGATED_BEFORE.search(text[max(0, mention.start - 30):mention.start]):
        return False  # "doesn't need wifi", "without a hood"
    said = message.said(mention)
    return not (in_product and said not in vocab.materials
                and mention.value not in vocab.materials)


def _family_before_product(message: _Message, mention) -> bool:
    """"a family board game": an attribute of the product, not who it is for."""
    return not message.in_product(mention) and mention.value == "family" and _before_product(
        message.text, mention.end, message.needs)


def _colour(message: _Message) -> None:
    """Colours said outside a product phrase ("navy" in "navy blue" of a product stays)."""
    for mention in message.mentioned("colour"):
        if not message.in_product(mention):
            _add(message.owner(mention.start).colour, str(mention.value))


def _size(message: _Message) -> None:
    for mention in message.mentioned("size"):
        if not message.in_product(mention):
            _add(message.owner(mention.start).size, str(mention.value))


def _brand(message: _Message) -> None:
    """The first brand: an NER brand we believe, else a rule mention that is not part of a
    device ("Samsung" of "a case for a Samsung Galaxy S23")."""
    for ent in message.labelled("BRAND"):
        if plausible_brand(ent, message.vocab, message.text):
            need = message.owner(ent.start_char)
            need.brand = need.brand or normalise.brand_form(ent.text)
    devices = list(message.mentioned("compat"))
    for mention in message.mentioned("brand"):
        if any(d.start <= mention.start and mention.end <= d.end for d in devices):
            continue
        need = message.owner(mention.start)
        need.brand = need.brand or str(mention.value)


def _first_mentioned(message: _Message, field: str) -> None:
    """A field of one value: the first mention of it for each need."""
    for mention in message.mentioned(field):
        need = message.owner(mention.start)
        if getattr(need, field) is None:
            setattr(need, field, mention.value)


def _price(message: _Message) -> None:
    for field in ("price_min", "price_max", "currency"):
        _first_mentioned(message, field)


def _needed_by(message: _Message) -> None:
    _first_mentioned(message, "needed_by")


def _quantity(message: _Message) -> None:
    """A stated quantity ("a dozen", "pack of 6"), else a count right before the product."""
    _first_mentioned(message, "quantity")
    skip = [(m.start, m.end) for m in message.mentions if m.field in ("attributes", "colour")]
    skip += [(e.end_char - len(_attribute_text(e)), e.end_char) for e in message.entities
             if e.label_ == "ATTRIBUTE"]
    for need in message.needs:
        if need.span and need.quantity is None:
            need.quantity = _quantity_before(message.doc, need.span, skip)


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


def _recipient(message: _Message) -> None:
    """Who it is for: an NER recipient we know, else a rule mention said as a recipient ("for
    my dad", "grandma's", "teacher gift"), not a product line ("men's coats") or an animal
    being walked or fed."""
    recipients = set(message.vocab.recipients.values())
    text = message.text
    # a follow-up with no product names who it is for with "for" ("it's for my nephew"), or
    # as a gift ("my mum's birthday present"); "the baby naps in the day" names nobody
    follow_up = all(n.span is None for n in message.needs)
    gift = bool(_GIFT_CUE.search(text)) or bool(re.search(
        r"\b(?:birthday|christmas|xmas|bday|anniversary)\b", text, re.I))
    for ent in message.labelled("RECIPIENT"):
        if follow_up and not (_FOR_SOMEONE.search(text_before(text, ent.start_char)) or gift):
            continue
        if normalise.recipient_form(ent.text) in recipients | {"boy", "girl", "child"}:
            need = message.owner(ent.start_char)
            need.recipient = need.recipient or normalise.recipient_form(ent.text)
    for mention in message.mentioned("recipient"):
        if message.in_product(mention) or _family_before_product(message, mention):
            continue
        if follow_up and not (_FOR_SOMEONE.search(text_before(text, mention.start)) or gift):
            continue
        said = message.said(mention)
        possessive = said.endswith(("'s", "s'", "’s")) or \
            text[mention.end:mention.end + 2] in ("'s", "’s")
        gift_after = re.match(r"\s+(?:gift|gifts|present|presents|pressie|prezzie)\b",
                              text[mention.end:], re.I)
        if not (_LIST_TRIGGER.search(text_before(text, mention.start)) or gift_after or
                (possessive and mention.value not in _GROUP_RECIPIENTS)):
            continue
        if _NOT_RECIPIENT_BEFORE.search(text_before(text, mention.start)):
            continue
        need = message.owner(mention.start)
        need.recipient = need.recipient or str(mention.value)


def _occasion(message: _Message) -> None:
    """An event bought for: an NER occasion we know (or a party), then rule mentions; a
    specific occasion ("birthday") replaces "gift"."""
    occasions = set(message.vocab.occasions.values())
    for ent in message.labelled("OCCASION"):
        if normalise.occasion_form(ent.text) not in occasions and ent[-1].lower_ != "party":
            continue  # an activity or a use ("camping", "the gym") is not an occasion
        if any(m.field == "occasion" and 0 <= m.start - ent.end_char <= 1
               for m in message.mentions):
            continue  # "40th" of "40th wedding anniversary"
        need = message.owner(ent.start_char)
        need.occasion = need.occasion or normalise.occasion_form(ent.text)
    for mention in message.mentioned("occasion"):
        if message.in_product(mention) or not _wanted_occasion(message.text, mention):
            continue
        if message.said(mention).endswith("ing") and _OCCASION_VERB_AFTER.match(
                message.text, mention.end):
            continue  # "walking the dog", "running a bath"
        need = message.owner(mention.start)
        if need.occasion in (None, "gift"):  # "birthday" says more than "gift"
            need.occasion = str(mention.value)


def _number_after(message: _Message) -> None:
    """A bare number right after the product: a size for clothes and shoes ("black ankle boots
    5"), else a count ("bath towels 6 in white"); only when no size was said."""
    for need in message.needs:
        if not need.span or need.size:
            continue
        match = _NUMBER_AFTER.match(message.text, need.span[1])
        if match is None or any(m.start < match.end("n") and match.start("n") < m.end
                                for m in message.mentions):
            continue
        said = match.group("n")
        systems = set(message.vocab.taxonomy.category(need.category).sizes) \
            if need.category else set()
        if systems & _NUMERIC_SIZE_SYSTEMS:
            need.size = [said]
        elif need.quantity is None and "." not in said and 1 < int(said) <= 50 \
                and need.category:
            need.quantity = int(said)


def _confidence(need: Need, strong_cue: bool) -> float:
    """A heuristic 0..1: how sure we are this is a real product need (not a calibrated p)."""
    score = 0.35 if need.product else 0.2
    score += 0.25 if need.category else 0.0
    score += 0.2 if strong_cue else 0.0
    details = sum(bool(v) for v in (need.attributes, need.colour, need.size, need.brand,
                                    need.price_max, need.price_min, need.recipient))
    score += min(0.2, 0.07 * details)
    return round(min(score, 1.0), 2)


# --- helpers -----------------------------------------------------------------------------

def _before_product(text: str, end: int, needs: list[Need]) -> bool:
    """The next word after ``end`` starts one of the needs' product phrases."""
    following = end + len(text[end:]) - len(text[end:].lstrip())
    return any(n.span and n.span[0] == following for n in needs)


def _plausible_attribute(ent) -> bool:
    """An NER attribute that is a describing word, not "needs to", "if poss", "nothing over"."""
    from spacy.lang.en.stop_words import STOP_WORDS

    from spacy.lang.en.stop_words import STOP_WORDS as stop_words

    words = [t.lower_ for t in ent if not t.is_punct]
    if ent.text.lower() in _ATTRIBUTE_JUNK or not _ATTRIBUTE_CHARS.match(ent.text):
        return False  # "Im" (the tokenizer splits it as "I" "m"), "<script"
    if words and words[-1] in stop_words:
        return False  # "converts to a"
    before = ent.doc.text[max(0, ent.start_char - 40):ent.start_char]
    if len(words) == 1 and _PRONOUN_BEFORE.search(re.sub(
            r"\b(?:just|really|also|only|never|always|already)\s+$", "", before)):
        return False  # "I just realised": a verb
    if not words or all(w in STOP_WORDS or w in _ATTRIBUTE_JUNK or w.isdigit() for w in words):
        return False
    return words[0] not in _ATTRIBUTE_JUNK and words[-1] not in _ATTRIBUTE_JUNK


def _attribute_text(ent) -> str:
    """Strip a leading count or "with" ("4 stoneware" -> "stoneware", "with drawers" ->
    "drawers")."""
    tokens = list(ent)
    while len(tokens) > 1 and (tokens[0].like_num or tokens[0].is_punct
                               or tokens[0].lower_ in ("with", "a", "an", "the")):
        tokens = tokens[1:]
    return ent.doc.text[tokens[0].idx:ent.end_char]


def _inside(mention, span: tuple[int, int]) -> bool:
    return span[0] <= mention.start and mention.end <= span[1]


def _overlaps(a: tuple[int, int], b: tuple[int, int] | None) -> bool:
    return b is not None and a[0] < b[1] and b[0] < a[1]


def _add(values: list[str], value: str) -> None:
    if value and value not in values:
        values.append(value)
