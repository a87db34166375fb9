"""Rule extractors for the closed-vocabulary parts of a need: prices, quantities, sizes, dates,
colours, brands, attributes, recipients and occasions.

Each returns :class:`Mention` objects with character offsets, so the assembler can attach them to
the right product in a message that names several. Plain functions over text: easy to test.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Callable

from bot.needs import normalise
from bot.needs.vocab import load_vocab


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    field: str
    value: object


# Characters other than ASCII that shoppers type and that case-insensitive matching only ever
# matches as themselves (unlike "ſ", which re.I matches as "s", or the Kelvin sign as "k")
_UNUSUAL_CHAR = re.compile(r"[^\x00-\x7f£€’‘“”–—…]")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Reading:
    """What several extractors read from one message, worked out once per message."""
    lower: str
    words: tuple[tuple[str, int, int], ...]  # as from words_with_offsets
    has_digit: bool  # a match of \d
    may_have_amount: bool  # a digit or a number word: a price or count can be read
    plain: bool  # no unusual characters (see may_contain)

    def may_contain(self, *needles: str) -> bool:
        """Whether a lower-case needle may occur in the text in any case. False only when
        none does, which is then also true for a re.I pattern made of the needle."""
        return not self.plain or any(needle in self.lower for needle in needles)


@lru_cache(maxsize=8)
def read(text: str) -> Reading:
    """The reading of ``text``; the rule component's extractors all ask for the same text, so
    it is worked out once (cached for the last few texts)."""
    return Reading(lower=text.lower(), words=tuple(words_with_offsets(text)),
                   has_digit=_DIGIT.search(text) is not None,
                   may_have_amount=_MAY_HAVE_AMOUNT.search(text) is not None,
                   plain=_UNUSUAL_CHAR.search(text) is None)


NUMBER_WORDS = MappingProxyType({
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "a hundred": 100, "hundred": 100, "one hundred": 100, "a grand": 1000, "a tenner": 10,
    "tenner": 10, "a fiver": 5, "fiver": 5, "a score": 20,
})
_SLANG_GBP = frozenset({"a tenner", "tenner", "a fiver", "fiver"})
CURRENCIES = MappingProxyType({
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP", "p": "GBP",
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
})


def trie_pattern(phrases) -> str:
    """A regex matching exactly the given strings, factored by common prefixes.

    Same matches as the alternation of the strings longest first (at any position the strings
    that match are prefixes of one another, and both forms try them longest first), but re
    follows one branch per character instead of trying every string at every position."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items())
                    if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_NUM_WORDS_RE = "(?:" + trie_pattern(NUMBER_WORDS) + ")"
_UNIT = (r"(?:kg|g|l|ltr|litres?|liters?|ml|mah|cm|mm|m|metres?|meters?|inch(?:es)?|in|\"|ft|"
         r"years?|yrs?|y/?o|months?|mths?|pieces?|pcs?|person|people|seater|slices?|tog|"
         r"players?|packs?|pairs?|x|%|lbs?|oz|gb|tb|w|v|mp|st|nd|rd|th|sets?|boxes|bags|kids?)")
_AMOUNT = (
    r"(?P<{p}pre>[£$€]|gbp|usd|eur)?\s?"
    r"(?:(?P<{p}num>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d{{1,2}})?)(?P<{p}k>k)?(?![\d]|[.,]\d)"
    r"|(?P<{p}word>" + _NUM_WORDS_RE + r"))"
    r"(?:\s?(?P<{p}suf>£|€|\$|pounds?|quid|euros?|eur|dollars?|bucks|usd|gbp)(?![a-z]))?"
    r"(?!\s?-?" + _UNIT + r"\b)(?![\d])"
)


def _amount(p: str) -> str:
    return _AMOUNT.format(p=p)


_MAX_PRE = (r"under|below|less than|lower than|no more than|not more than|not over|nothing over|"
            r"nothing above|no higher than|not above|max(?:imum)?(?: of)?|up to|upto|at most|"
            r"cheaper than|within|budget(?: is| of)?(?: about| around)?|around|about|roughly|"
            r"approx(?:imately)?|~|<=?|for less than|beneath|tops")
_MAX_POST = r"max(?:imum)?|tops|or less|or under|or below|at most|at the most|budget|or cheaper"
_MIN_PRE = (r"over|above|more than|at least|min(?:imum)?(?: of)?|starting at|from|upwards of|"
            r"no less than|not less than|no cheaper than|not cheaper than|north of|in excess of|spend(?:ing)? at least")
_MIN_POST = r"or more|or above|or over|and up|and upwards|and above|plus|\+|upwards|minimum|min|at least"
_PATTERNS = (
    ("range", re.compile(
        r"\b(?P<cue>between|from)?\s*" + _amount("a") + r"\s*(?:and|to|-|–|—)\s*" + _amount("b"),
        re.I)),
    # "what about 5.5" asks about another option, not a price "about 5.5"
    ("max", re.compile(r"(?:(?<=\s)|^)(?<!what )(?<!how )(?P<cue>" + _MAX_PRE + r")\s+"
                       + _amount("a"), re.I)),
    ("max", re.compile(_amount("a") + r"\s*(?P<cue>" + _MAX_POST + r")\b", re.I)),
    ("min", re.compile(r"\b(?P<cue>" + _MIN_PRE + r")\s+" + _amount("a"), re.I)),
    ("minpost", re.compile(_amount("a") + r"\s*(?P<cue>" + _MIN_POST + r")(?!\w)", re.I)),
    ("bare", re.compile(_amount("a"), re.I)),
)


def _value(match: re.Match, p: str) -> float | None:
    if match.group(f"{p}num"):
        number = float(match.group(f"{p}num").replace(",", ""))
        if match.group(f"{p}k"):
            number *= 1000
        return number
    word = match.group(f"{p}word")
    return float(NUMBER_WORDS[word.lower()]) if word else None


def _currency(match: re.Match, p: str) -> str | None:
    for part in (f"{p}pre", f"{p}suf"):
        said = match.group(part)
        if said:
            return CURRENCIES.get(said.lower())
    word = match.group(f"{p}word")
    if word and word.lower() in _SLANG_GBP:
        return "GBP"
    return None


def _clean(number: float) -> float | int:
    return int(number) if float(number).is_integer() else round(number, 2)


# "it can't be over £250", "I don't want to spend more than 50": a ceiling, not a floor
_NEGATED_BEFORE = re.compile(
    r"(?:can't|cant|cannot|can not|mustn't|shouldn't|won't|wont|don't|dont|not|never|no)\s+"
    r"(?:be\s+|go\s+|spend\s+|pay\s+|want to spend\s+|want to pay\s+|wanna spend\s+|"
    r"going to spend\s+|looking to spend\s+|able to spend\s+)?(?:anything\s+)?$", re.I)


_MAY_HAVE_AMOUNT = re.compile(r"\d|" + _NUM_WORDS_RE, re.I)
_NOT_PRICE_BEFORE = re.compile(r"(?:size|sz|age|aged|uk|eu|us|x|pack of|set of)\s*$")
_NO_BEFORE = re.compile(r"\b(?:no|not)\s*$")
# What the text must hold for each pattern to give a mention (a pattern that cannot is not run:
# its matches would all be dropped, and a dropped match takes no room from the others): the
# currency said (symbol, code, word, or "a tenner"), which "range" may replace by its cue
# "between"/"from", and "bare" and "minpost" always need; or the cue after the amount.
_CURRENCY_SAID = ("£", "$", "€", "gbp", "usd", "eur", "pound", "quid", "dollar", "buck",
                  "tenner", "fiver")
_PATTERN_NEEDS = (_CURRENCY_SAID + ("between", "from"), None,
                  ("max", "tops", "or less", "or under", "or below", "at most", "at the most",
                   "budget", "or cheaper"),
                  None, _CURRENCY_SAID, _CURRENCY_SAID)


def find_prices(text: str) -> list[Mention]:
    """Price constraints: price_min / price_max mentions (and currency when stated)."""
    mentions: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    reading = read(text)
    if not reading.may_have_amount:
        return mentions  # no digit and no number word: nothing to read
    for (kind, pattern), needs in zip(_PATTERNS, _PATTERN_NEEDS):
        if needs is not None and not reading.may_contain(*needs):
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            if not free(start, end) or not text[start:end].strip():
                continue
            before = text[max(0, start - 12):start].lower()
            if _NOT_PRICE_BEFORE.search(before):
                continue
            if kind == "max" and match.group("cue").lower().startswith(("cheaper", "less", "lower")) and \
                    _NO_BEFORE.search(before):
                continue  # "no cheaper than £100" is a floor
            ceiling = kind == "min" and match.group("cue").lower() in ("over", "above", "more than") \
                and _NEGATED_BEFORE.search(text[max(0, start - 40):start])
            if kind == "range":
                low, high = _value(match, "a"), _value(match, "b")
                currency = _currency(match, "b") or _currency(match, "a")
                if low is None or high is None or low >= high:
                    continue
                if not (currency or match.group("cue")):
                    continue
                if match.group("aword") and not currency and match.group("cue") is None:
                    continue
                mentions.append(Mention(start, end, "price_min", _clean(low)))
                mentions.append(Mention(start, end, "price_max", _clean(high)))
            else:
                amount = _value(match, "a")
                currency = _currency(match, "a")
                if amount is None or amount <= 0:
                    continue
                if kind in ("bare", "minpost") and not currency:
                    continue  # "3 or more" is a count, "£30 or more" a price
                if kind == "min" and not currency and match.group("cue").lower() == "from":
                    continue
                if match.group("aword") and not currency and kind != "max":
                    continue
                field = "price_min" if kind in ("min", "minpost") and not ceiling else "price_max"
                mentions.append(Mention(start, end, field, _clean(amount)))
            if currency:
                mentions.append(Mention(start, end, "currency", currency))
            taken.append((start, end))
    return mentions


_QTY_RE = re.compile(
    r"\b(?:(?P<dozen>half a dozen|a dozen)|(?P<couple>a couple(?: of)?)|(?P<pairof>a pair of)"
    r"|(?:pack|set|box|bundle) of (?P<of>\d{1,3}|" + _NUM_WORDS_RE + r")"
    r"|x\s?(?P<x1>\d{1,3})\b|(?P<x2>\d{1,3})\s?x\b(?!\s?\d)"
    r"|(?P<n>\d{1,3}|" + _NUM_WORDS_RE + r")\s?(?:-\s?)?(?:packs?|pairs|boxes|bags|sets|bottles|units|of them)\b"
    r")", re.I)
_QTY_NUMBER_RE = re.compile(r"\b(?P<n>\d{1,3}|" + _NUM_WORDS_RE + r")\b(?![.,]\d)", re.I)


def _count(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    value = NUMBER_WORDS.get(word)
    return int(value) if value is not None and word not in _SLANG_GBP and value < 1000 else None


# a count said as a reply ("I need 6", "we'll take 2", "2 please", "just the 3 of them")
_COUNT_REPLY_RE = re.compile(
    r"(?:\b(?:need|want|get|take|have|like|order|buy)\s+(?:just\s+|only\s+)?"
    r"|^\s*(?:just\s+|only\s+)?)(?P<n>\d{1,2}|" + _NUM_WORDS_RE + r")(?![.,]\d)"
    r"(?=\s*(?:$|[,.!?]|(?:please|pls|plz|thanks|thx|ta|then|if|of them|of those|of these)\b))",
    re.I)


def find_quantities(text: str) -> list[Mention]:
    """Explicit quantities ("a dozen", "two packs", "x3", "pack of 6")."""
    mentions: list[Mention] = []
    reading = read(text)
    if not (reading.may_have_amount or reading.may_contain("dozen", "couple", "pair of")):
        return mentions  # every quantity pattern needs a number or one of these words
    for match in _QTY_RE.finditer(text):
        if match.group("dozen"):
            value = 6 if match.group("dozen").lower().startswith("half") else 12
        elif match.group("couple"):
            value = 2
        elif match.group("pairof"):
            value = 1
        else:
            said = next(match.group(g) for g in ("of", "x1", "x2", "n") if match.group(g))
            value = _count(said)
        if value and 0 < value <= 500:
            mentions.append(Mention(match.start(), match.end(), "quantity", value))
    if reading.may_have_amount:
        for match in _COUNT_REPLY_RE.finditer(text):
            value = _count(match.group("n"))
            start, end = match.span("n")
            if value and 1 < value <= 50 and not any(m.start < end and start < m.end
                                                     for m in mentions):
                mentions.append(Mention(start, end, "quantity", value))
    return mentions


def find_numbers(text: str) -> list[Mention]:
    """Bare counts ("2", "three") that may be a quantity when right before a product."""
    found = []
    for match in _QTY_NUMBER_RE.finditer(text):
        value = _count(match.group("n"))
        if value and value <= 100:
            found.append(Mention(match.start(), match.end(), "number", value))
    return found


_SIZE_TOKEN = (r"(?:uk|eu|us)?\s?(?:\d{1,2}(?:\.5)?(?:\s?-\s?\d{1,2}(?:\.5)?)?(?![\d.])[a-h]{0,2}"
               r"|xxs|xs|xxl|xxxl|3xl|xl|s|m|l|small|medium|large|petite|tall|plus)\b")


def _needs_digit(text: str, reading: Reading) -> bool:
    return reading.has_digit


def _needs_words(*needles: str):
    return lambda text, reading: reading.may_contain(*needles)


def _needs_capital_sml(text: str, reading: Reading) -> bool:
    return "S" in text or "M" in text or "L" in text


# each pattern with what a text must hold for it to match at all (most messages name no size,
# and the patterns that cannot match are not run)
_SIZE_RES = (
    (_needs_words("size", "sz"),
     re.compile(r"\b(?:sizes|size|sz)\b\s*:?\s*(?P<v>" + _SIZE_TOKEN + r")"
                r"(?:\s*(?:and|or|,|/|&)\s*(?:size\s*)?(?P<v2>" + _SIZE_TOKEN + r"))?", re.I)),
    (_needs_digit, re.compile(r"\b(?P<v>(?:uk|eu)\s?\d{1,2}(?:\.5)?)\b(?!\s?plug)", re.I)),
    (_needs_words("xs", "xl", "extra"),
     re.compile(r"\b(?P<v>xxs|xs|xxl|xxxl|3xl|xl|extra large|extra small)\b", re.I)),
    (_needs_digit, re.compile(r"\b(?P<v>(?:age|aged)\s?\d{1,2}(?:\s?-\s?\d{1,2})?)\b(?!\+)", re.I)),
    (_needs_digit, re.compile(r"\b(?:petite|tall|plus)\s(?P<v>\d{1,2})\b"
                              r"(?!\s?(?:-|years|yrs|months|cm|in))", re.I)),
    (_needs_digit, re.compile(r"\b(?P<v>\d{2}[RSL])\b")),  # suit jackets: 40R, 42L
    (_needs_digit, re.compile(r"\b(?P<v>\d{1,2}\s?-\s?\d{1,2}\s?(?:years|yrs|months|mths))\b", re.I)),
    (_needs_words("king", "double", "single", "queen size"),
     re.compile(r"\b(?P<v>super king|small double|king size|kingsize|king|double|single|"
                r"queen size)\b(?!\s?(?:room|cream|glazing|check))", re.I)),
    (_needs_words("petite", "plus size", "one size"),
     re.compile(r"\b(?P<v>petite|plus size|one size)\b", re.I)),
    (_needs_words("tall"), re.compile(r"\b(?P<v>tall)\s(?=sizes?\b)", re.I)),
    (_needs_words("tall"), re.compile(r"\bin\s(?P<v>tall)\b", re.I)),
    (_needs_words("medium", "large", "small"),
     re.compile(r"(?<!too )(?<!too\s\s)\b(?P<v>medium|large|small)\b(?!\s?(?:enough|size|double))",
                re.I)),
    # "tall jeans", "petite dresses": a fit said before the garment
    (_needs_words("tall", "petite"),
     re.compile(r"\b(?P<v>tall|petite)\s(?=(?:[a-z]+\s)?(?:jeans|trousers|leggings|dress(?:es)?|"
                r"coats?|jackets?|jumpsuits?|chinos|joggers|suits?|shirts?|skirts?)\b)", re.I)),
    (_needs_digit, re.compile(r"\bchest\s(?P<v>\d{2})\b", re.I)),
    # reading glasses strength ("+1.5", "+2.0")
    (_needs_digit, re.compile(r"(?<![\w£$€])(?P<v>\+\d(?:\.\d{1,2})?)(?![\d£$€])")),
    # bra sizes: band and cup ("34D", "32 DD")
    (_needs_digit, re.compile(r"\b(?P<v>(?:28|30|32|34|36|38|40|42|44|46)\s?"
                              r"(?:AA|A|B|C|DD|D|E|FF|F|GG|G|H))\b")),
    (_needs_digit, re.compile(r"\b(?P<v>\d{2})\s?(?:waist|regular|long|short|leg|inside leg)\b", re.I)),
    (_needs_digit, re.compile(r"\b(?P<v>\d{2,3}\s?x\s?\d{2,3})\b", re.I)),
    (_needs_digit, re.compile(r"\b(?P<v>\d{2,3}\s?cm)\s(?=wide|long|drop)", re.I)),
    # a size said of the wearer or asked for in a reply ("she's a 6", "I'm a 14", "he takes
    # a 9", "in a 12?", "got them in 8?"), and a half size on its own ("what about 5.5?"); not
    # "he's a 9 year old", "in a 4 man tent", "back in 10": the number must end the phrase
    (_needs_digit, re.compile(
        r"(?:(?:\b(?:she's|he's|i'm|im|i am|she is|he is|they're|they are)\s+an?"
        r"|\b(?:takes?|wears?)(?:\s+an?)?|\bin\s+an?|\b(?:it|them|one|ones|those|these)\s+in)"
        r"\s+(?:uk\s?)?(?P<v>\d{1,2}(?:\.5)?)"
        r"|(?<![\d.£$€+])(?P<v2>\d{1,2}\.5))"
        r"(?=\s*(?:$|[,.!?]|(?:please|pls|plz|if|or|and|ideally|thanks|thx|ta|would|then|"
        r"though|too|in)\b))", re.I)),
    # a letter on its own ("in M", "a L", "size S"), matched case-sensitively
    (_needs_capital_sml,
     re.compile(r"(?:(?:(?<=\bin )|(?<=\ba )|(?<=, )|(?<=\bsize ))(?P<v>[SML])\b(?!&|')"
                r"|(?<=\s)(?P<v2>[SML])(?=\s*(?:$|[?.!,])))")),
)


_BARE_SIZE_WORDS = frozenset({"small", "medium", "large"})
_NEXT_WORD_RE = re.compile(r"\s+([a-z]+)", re.I)
_SIZE_FOLLOWERS = frozenset({
    "size", "sizes", "one", "ones", "please", "pls", "plz", "if", "or", "and", "in", "for",
    "with", "is", "would", "will", "should", "thanks", "ideally", "preferably", "fit", "fitting",
    "but", "as", "too", "then", "x", "pack", "pair"})


@lru_cache(maxsize=1)
def _product_nouns() -> frozenset[str]:
    vocab = load_vocab()
    words = set()
    for phrase in vocab.product_phrases():
        last = phrase.split()[-1]
        words.update({last, last + "s", last + "es"})
    return frozenset(words)


def _describes_other_thing(text: str, end: int) -> bool:
    """"a small hallway", "a large family": the size word describes something not sold."""
    following = _NEXT_WORD_RE.match(text, end)
    if following is None:
        return False
    word = following.group(1).lower()
    vocab = load_vocab()
    return word not in _SIZE_FOLLOWERS and word not in _product_nouns() and \
        word not in vocab.colours and word not in vocab.attributes and \
        word not in vocab.recipients


def find_sizes(text: str) -> list[Mention]:
    mentions: list[Mention] = []
    taken: list[tuple[int, int]] = []
    reading = read(text)
    for needs, pattern in _SIZE_RES:
        if not needs(text, reading):
            continue
        for match in pattern.finditer(text):
            for group in ("v", "v2"):
                if group not in pattern.groupindex or not match.group(group):
                    continue
                start, end = match.span(group)
                if match.group(group).lower() in _BARE_SIZE_WORDS and \
                        _describes_other_thing(text, end):
                    continue
                if any(start < e and s < end for s, e in taken):
                    continue
                taken.append((start, end))
                mentions.append(Mention(start, end, "size", normalise.size_form(match.group(group))))
    return mentions


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_DATE_RE = re.compile(
    r"\b(?P<prep>by|before|for|until|on|next|this|in)?\s*(?P<what>tomorrow|tonight|asap|"
    r"next week|this weekend|the weekend|christmas|xmas|christmas eve|new year|easter|"
    r"(?:this |next )?(?:" + "|".join(_WEEKDAYS) + r")|"
    r"(?:the )?\d{1,2}(?:st|nd|rd|th)(?: of)?(?: (?:" + "|".join(_MONTHS) + r"))?|"
    r"(?:" + "|".join(_MONTHS) + r"))\b", re.I)


def _resolve_date(what: str, today: date) -> date | None:
    what = what.lower().replace("this ", "").replace("the ", "").strip()
    if what in ("tomorrow",):
        return today + timedelta(days=1)
    if what in ("tonight", "asap"):
        return today
    if what == "next week":
        return today + timedelta(days=7)
    if what == "weekend":
        return today + timedelta(days=(5 - today.weekday()) % 7)
    if what in ("christmas", "xmas", "christmas eve"):
        year = today.year if (today.month, today.day) <= (12, 24) else today.year + 1
        return date(year, 12, 24 if what == "christmas eve" else 25)
    if what == "new year":
        return date(today.year + 1, 1, 1)
    if what == "easter":
        return None
    name = what.replace("next ", "")
    if name in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(name) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead + (7 if what.startswith("next ") else 0))
    if name in _MONTHS:
        month = _MONTHS.index(name) + 1
        year = today.year if month >= today.month else today.year + 1
        return date(year, month, 1)
    match = re.match(r"(\d{1,2})(?:st|nd|rd|th)(?: of)?(?: (\w+))?", name)
    if match:
        day = int(match.group(1))
        month = _MONTHS.index(match.group(2)) + 1 if match.group(2) in _MONTHS else today.month
        year = today.year
        try:
            found = date(year, month, day)
            if found < today:
                found = date(year + (month == 12 or not match.group(2)), month, day) \
                    if match.group(2) else date(year + (month == 12), month % 12 + 1, day)
            return found
        except ValueError:
            return None
    return None


# a deadline names one of these or a day number ("the 14th")
_DATE_WORDS = ("tomorrow", "tonight", "asap", "week", "christmas", "xmas", "new year", "easter",
               *_WEEKDAYS, *_MONTHS)


def find_dates(text: str, today: date | None = None) -> list[Mention]:
    """Deadlines ("by Friday", "before Christmas", "tomorrow") resolved to dates."""
    reading = read(text)
    if not (reading.has_digit or reading.may_contain(*_DATE_WORDS)):
        return []  # before asking the clock for today, which is slower than the check
    today = today or date.today()
    mentions = []
    for match in _DATE_RE.finditer(text):
        prep = (match.group("prep") or "").lower()
        what = match.group("what").lower()
        # "for christmas" is an occasion and a deadline; a bare month needs a preposition
        if what in _MONTHS and prep not in ("by", "before", "in", "for", "until"):
            continue
        resolved = _resolve_date(what, today)
        if resolved:
            mentions.append(Mention(match.start(), match.end(), "needed_by", resolved.isoformat()))
    return mentions


_WORD_SPAN_RE = re.compile(r"[^\s\-–—,!?;:()\"/\[\]]+")


def _index(table: dict[str, str]) -> tuple[dict[str, str], dict[str, int]]:
    """Phrase lookup for ``table`` keyed by squashed form, and for each first word the longest
    phrase it starts."""
    index: dict[str, str] = {}
    for said, value in table.items():
        index.setdefault(normalise.squash(said.replace("’", "'")), value)
    starts: dict[str, int] = {}
    for key in index:
        parts = key.split(" ")
        starts[parts[0]] = max(starts.get(parts[0], 0), len(parts))
    return index, starts


def words_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Lower-case words split on spaces, hyphens and punctuation, with character offsets."""
    words = []
    for match in _WORD_SPAN_RE.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in ".'’":
            end -= 1
        if end > start:
            words.append((text[start:end].lower().replace("’", "'"), start, end))
    return words


@lru_cache(maxsize=None)
def _scan_index(tables_of: Callable[[], tuple]) -> tuple[tuple[dict[str, str], ...],
                                                         dict[str, tuple[int, ...]]]:
    """Each table's phrase lookup, and for every word that starts a phrase in any of them the
    longest phrase it starts in each table (0: none). Built once per loader: the loaders are
    cached, so their tables live, unchanged, as long as the process."""
    tables = tables_of()
    indexes = [_index(table) for _, table in tables]
    starters: dict[str, list[int]] = {}
    for k, (_, starts) in enumerate(indexes):
        for word, longest in starts.items():
            starters.setdefault(word, [0] * len(tables))[k] = longest
    return (tuple(index for index, _ in indexes),
            {word: tuple(longest) for word, longest in starters.items()})


def find_phrases_in(words, tables_of: Callable[[], tuple]) -> list[list[Mention]]:
    """For each ``(field, table)`` of ``tables_of()`` (a cached loader) the leftmost-longest,
    non-overlapping matches of the table's phrases in ``words`` (n-gram lookups, tried only
    from words that start a phrase).

    One pass for all tables, with the same result as one scan per table: a table's scan
    resumes after its own last match, and a word that starts no phrase of any table (most
    words) is looked up once instead of once per table."""
    tables = tables_of()
    indexes, starters = _scan_index(tables_of)
    said = [w for w, _, _ in words]
    found: list[list[Mention]] = [[] for _ in tables]
    resume = [0] * len(tables)
    for i, first in enumerate(said):
        longest = starters.get(first)
        if first.endswith("'s") and first[:-2] in starters:  # "grandma's"
            other = starters[first[:-2]]
            longest = other if longest is None else tuple(map(max, longest, other))
        if longest is None:
            continue
        for k, limit in enumerate(longest):
            if limit == 0 or i < resume[k]:
                continue
            index = indexes[k]
            for n in range(min(limit, len(said) - i), 0, -1):
                key = " ".join(said[i:i + n])
                if key not in index and key.endswith("'s") and key[:-2] in index:
                    key = key[:-2]  # "grandma's" -> "grandma"
                if key in index:
                    found[k].append(Mention(words[i][1], words[i + n - 1][2], tables[k][0],
                                            index[key]))
                    resume[k] = i + n
                    break
    return found


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, str]]:
    vocab = load_vocab()
    colliding = set(vocab.recipients) | set(vocab.occasions) | {"one size", "down", "tall"}
    attributes = {k: v for k, v in vocab.attributes.items()
                  if k not in colliding and k not in vocab.colours}
    brands = {k: k for k in vocab.brands if k not in vocab.ambiguous_brands}
    return {"colour": vocab.colours, "attributes": attributes, "brand": brands,
            "brand_cased": {k: k for k in vocab.ambiguous_brands},
            "recipient": {k: v for k, v in vocab.recipients.items()
                          if len(k) > 2 or (len(k) == 2 and k != "me")},
            "occasion": vocab.occasions}


@lru_cache(maxsize=1)
def _scanned_tables() -> tuple[tuple[str, dict[str, str]], ...]:
    """``_tables()`` as (field of the mentions, table); "brand_cased" finds brands."""
    return tuple(("brand" if field == "brand_cased" else field, table)
                 for field, table in _tables().items())


# "Ninja if you have it", "Apple ideally": a capitalised brand opening a reply
_BRAND_REPLY_AFTER = re.compile(r"\s*(?:(?:if (?:you|u)|ideally|preferably|maybe|please|"
                                r"pls|would be|one|ones|or [A-Z]|brand|for preference)\b)")


def find_vocabulary(text: str) -> list[Mention]:
    """Colours, attributes, brands, recipients and occasions named in the vocabularies."""
    mentions: list[Mention] = []
    words = read(text).words
    for field, found in zip(_tables(), find_phrases_in(words, _scanned_tables)):
        if field == "brand_cased":
            # "Apple", "Next", "Hunter": a brand only when capitalised and not opening a sentence
            for mention in found:
                said = text[mention.start:mention.end]
                before = text[:mention.start].rstrip()
                if (said[:1].isupper() and before and before[-1] not in ".!?") or \
                        (said.isupper() and len(said) > 2) or \
                        (said[:1].isupper() and not before and _BRAND_REPLY_AFTER.match(
                            text, mention.end)):
                    mentions.append(mention)
            continue
        mentions.extend(found)
    mentions.extend(_misspelt_descriptions(text, words, mentions))
    # a longer phrase of another field wins ("light blue" colour over "light" attribute)
    mentions.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[Mention] = []
    for mention in mentions:
        if any(k.start <= mention.start and mention.end <= k.end and
               (k.end - k.start) > (mention.end - mention.start) for k in kept):
            continue
        kept.append(mention)
    return kept


def _misspelt_descriptions(text: str, words, found: list[Mention]) -> list[Mention]:
    """Unknown words one or two edits from a colour, material or attribute ("wireles")."""
    vocab = load_vocab()
    tables = _tables()
    extra = []
    for word, start, end in words:
        if len(word) < 5 or any(m.start <= start < m.end for m in found):
            continue
        if text[start:start + 1].isupper() and text[:start].rstrip()[-1:] not in ("", ".", "!", "?"):
            continue  # a name ("Corby"), not a misspelt word
        fixed = normalise.correct_describing_word(word)
        if fixed == word:
            continue
        if fixed in tables["colour"]:
            extra.append(Mention(start, end, "colour", tables["colour"][fixed]))
        elif fixed in tables["attributes"]:
            extra.append(Mention(start, end, "attributes", tables["attributes"][fixed]))
        elif fixed in vocab.materials:
            extra.append(Mention(start, end, "attributes", fixed))
    return extra


_BRAND_AFTER_RE = re.compile(r"\b(?:from|by|made by|brand)\s+(?P<v>[A-Z][\w&'-]+(?:\s(?:&\s)?[A-Z][\w'-]+)?)")
_NOT_BRANDS = frozenset({w.capitalize() for w in _WEEKDAYS + _MONTHS}) | {
    "Christmas", "Xmas", "Easter", "Monday", "The", "UK", "EU", "US"}


def find_brand_phrases(text: str) -> list[Mention]:
    """Capitalised names after "from" / "by" ("headphones from Sony"): brands outside our list."""
    found = []
    for match in _BRAND_AFTER_RE.finditer(text):
        said = match.group("v")
        if said.split()[0] in _NOT_BRANDS:
            continue
        found.append(Mention(match.start("v"), match.end("v"), "brand", said.lower()))
    return found


_TURNS_RE = re.compile(r"\b(?:turns|turning|turned|will be|is going to be)\s+(?:\d{1,3}|"
                       + _NUM_WORDS_RE + r")\b(?!\s*(?:%|quid|pounds|dollars|euros|£|\$|€))", re.I)


def find_birthday_phrases(text: str) -> list[Mention]:
    """"he turns 8", "she's turning thirty": a birthday even when the word is not said."""
    if not read(text).may_have_amount:
        return []
    return [Mention(m.start(), m.end(), "occasion", "birthday") for m in _TURNS_RE.finditer(text)
            if not re.search(r"\b(?:it|this|that|order|parcel|price)\s*$", text[:m.start()], re.I)]


_ONES_RE = re.compile(r"\b(?P<v>(?:[a-z]{3,}[ -])?(?:[a-z]{3,}|aaa?))(?:-themed)?\s+ones\b",
                      re.I)
# words before "ones" that pick rather than describe ("the other ones", "cheaper ones")
_NOT_ONES_ATTRIBUTE = frozenset({"other", "new", "old", "little", "similar", "different", "same", "nice",
                       "good", "decent", "best", "better", "right", "wrong", "cute", "pretty",
                       "these", "those", "which", "any", "some", "the", "cheap", "cheaper",
                       "cheapest", "expensive", "pricey", "big", "bigger", "small", "smaller",
                       "large", "larger", "older", "younger", "grown", "young", "loved", "last",
                       "first", "few", "many", "most", "more", "less", "great", "lovely",
                       "proper", "fancy", "plain", "normal", "regular", "basic", "usual",
                       "ones", "real", "actual", "both", "all", "two", "three", "four"})


# "a scientific one", "manual one please": one, said after "a"/"the" or opening a reply
_ONE_RE = re.compile(r"(?:^\s*|\b(?:a|an|the)\s+)(?P<v>[a-z]{3,})\s+one\b(?!\s+(?:of|who)\b)",
                     re.I)


# words that pick one of several rather than describe it ("the first one", "that blue one")
_SAID_OF_CHOICE = frozenset({"first", "second", "third", "last", "next", "previous", "only",
                             "cheap", "expensive", "pricier", "dearer", "bigger", "smaller",
                             "larger", "nicer", "prettier", "lighter", "heavier", "longer",
                             "shorter", "better", "worse", "latest", "newer", "older", "whole",
                             "grey", "gray", "every", "each", "either", "neither", "any", "one",
                             "same", "exact", "original", "main", "usual", "favourite",
                             "favorite", "perfect", "lovely", "great", "cool", "fab", "ideal"})


def find_described_ones(text: str) -> list[Mention]:
    """"dinosaur ones", "unicorn-themed ones", "a scientific one": what the wanted kind of
    thing looks like."""
    from spacy.lang.en.stop_words import STOP_WORDS

    vocab = load_vocab()
    found: list[Mention] = []
    if not read(text).may_contain("one"):
        return found
    matches = list(_ONES_RE.finditer(text)) + list(_ONE_RE.finditer(text))
    for match in matches:
        if any(m.start < match.end("v") and match.start("v") < m.end for m in found):
            continue
        start = match.start("v")
        words = re.split(r"[ -]", match.group("v").lower())
        if len(words) == 2 and _ones_word_ok(words[0], vocab, STOP_WORDS) and \
                _ones_word_ok(words[1], vocab, STOP_WORDS):
            found.append(Mention(start, match.end("v"), "attributes", " ".join(words)))
            continue  # "anti blister ones"
        start = match.end("v") - len(words[-1])
        word = words[-1]
        if word in STOP_WORDS or word in _NOT_ONES_ATTRIBUTE or word in vocab.colours \
                or word in vocab.attributes or word in NUMBER_WORDS or word in vocab.recipients \
                or word in _SAID_OF_CHOICE or word in vocab.occasions:
            continue
        found.append(Mention(start, match.end("v"), "attributes", word))
    return found


def _ones_word_ok(word: str, vocab, stop_words) -> bool:
    return not (word in stop_words or word in _NOT_ONES_ATTRIBUTE or word in vocab.colours
                or word in vocab.attributes or word in NUMBER_WORDS or word in vocab.recipients
                or word in _SAID_OF_CHOICE or word in vocab.occasions)


# a device the product must fit ("a case for an iPhone 15", "a charger for my Galaxy S23")
_DEVICE_RE = re.compile(
    r"\b(?:for|fits?|fitting|compatible with|works? with|that works with|pairs with)\s+"
    r"(?:an?\s+|my\s+|the\s+|his\s+|her\s+)?"
    r"(?P<v>(?:iphone|ipad(?:\s(?:pro|air|mini))?|galaxy|samsung galaxy|samsung|pixel|"
    r"google pixel|macbook(?:\s(?:air|pro))?|kindle|ps[45]|playstation\s?[45]|"
    r"xbox(?:\sone|\sseries\s[xs])?|nintendo switch|switch|apple watch|airpods)"
    r"(?:\s?(?:\d{1,2}|[a-z]\d{1,2}|se|xr|xs|x)\b)?(?:\s(?:pro|plus|max|mini|ultra|fe|lite))*)",
    re.I)


_SHOPPING_FOR = re.compile(r"\b(?:looking|lookin|searching|hunting|shopping|out)\s*$", re.I)


# a brand's model the product must fit ("a strap for a Fitbit Charge 6", "a battery for my
# Dyson V8"): a brand we know right after "for", then the model's words
_BRAND_AFTER_FOR_RE = re.compile(
    r"\b(?:for|fits?|fitting|compatible with|works with|that works with|pairs with)\s+"
    r"(?:an?\s+|my\s+|the\s+|his\s+|her\s+|our\s+)?(?P<v>[A-Za-z][\w'&-]*(?:\s[A-Za-z][\w'&-]*)?)")
# a word of a model name: capitalised ("Paperwhite", "Charge") or with a digit ("V8", "S21", "6")
_MODEL_WORD_RE = re.compile(r"\s([A-Z][A-Za-z-]*|[A-Za-z-]*\d[\w.-]*)(?=$|[\s,.!?;:)])")


def _model_end(text: str, end: int) -> tuple[int, bool]:
    """Where the model words after ``end`` end, and whether there was one."""
    from spacy.lang.en.stop_words import STOP_WORDS

    found = False
    for _ in range(3):
        match = _MODEL_WORD_RE.match(text, end)
        if match is None or match.group(1).lower() in STOP_WORDS:
            break
        end, found = match.end(1), True
    return end, found


def find_compatibility(text: str) -> list[Mention]:
    """Field ``compat``: an attribute of the product it is said with, and never a product: a
    device ("for an iPhone 15", "for my Kindle Paperwhite") or a brand's model ("for a Fitbit
    Charge 6"), with the model words after it."""
    found: list[Mention] = []
    for match in _DEVICE_RE.finditer(text):
        if _SHOPPING_FOR.search(text[:match.start()]):
            continue
        end, _ = _model_end(text, match.end("v"))
        found.append(Mention(match.start("v"), end, "compat",
                             " ".join(text[match.start("v"):end].lower().split())))
    if not read(text).may_contain("for", "fit", "compatible", "works", "pairs"):
        return found
    brands = load_vocab().brands
    for match in _BRAND_AFTER_FOR_RE.finditer(text):
        start = match.start("v")
        if any(m.start <= start < m.end for m in found) or \
                _SHOPPING_FOR.search(text[:match.start()]):
            continue
        words = match.group("v").split()
        for size in (2, 1):  # "le creuset", "dyson"
            if len(words) >= size and " ".join(words[:size]).lower() in brands:
                brand_end = start + len(" ".join(words[:size]))
                end, model = _model_end(text, brand_end)
                if model:
                    found.append(Mention(start, end, "compat",
                                         " ".join(text[start:end].lower().split())))
                break
    return found


# a count of a part that describes the thing ("4 slice", "3 tier", "2 person", "4 man", "3 step")
_FEATURE_COUNT_RE = re.compile(
    r"\b(?P<v>\d{1,4}[ -](?:tier|slice|person|people|seater|step|player|burner|drawer|door|"
    r"shelf|shelves|wheel|speed|berth|man|ply|layer|piece|pocket|bulb|compartment|cup|egg|zone|"
    r"setting|season|way|seat)s?)\b", re.I)


def find_feature_counts(text: str) -> list[Mention]:
    """"a 4 slice toaster", "3 tier", "a 2 person tent": an attribute as said."""
    if not read(text).has_digit:
        return []
    return [Mention(m.start("v"), m.end("v"), "attributes",
                    normalise.attribute_form(m.group("v").replace("-", " ")))
            for m in _FEATURE_COUNT_RE.finditer(text)]


_TOG_RE = re.compile(r"\b(?P<v>\d{1,2}(?:\.\d)?\s?-?tog)\b", re.I)


def find_tog(text: str) -> list[Mention]:
    """Duvet and sleeping-bag warmth ("10.5 tog", "2.5 tog")."""
    if not read(text).has_digit:
        return []
    return [Mention(m.start("v"), m.end("v"), "attributes",
                    re.sub(r"\s?-?tog$", " tog", m.group("v").lower())) for m in _TOG_RE.finditer(text)]


_MEASURE_RE = re.compile(
    r"\b(?P<v>\d+(?:\.\d+)?\s?(?:litres?|liters?|ltr|l|ml|kg|mah|w|watts?|gb|tb|hz|denier|"
    r"seater|inch|\"|cm|mm|m|metres?|meters?|ft|foot|feet|lumens?|lm|psi|rpm|bar|v|volts?|"
    r"tog)|\d{1,2}\s?-?inch\b)(?![\w-])",
    re.I)


_LENGTH_SAID = re.compile(r"\d(?:in|\"|ft|foot|feet|m)$")
_HEIGHT_BEFORE = re.compile(r"\b(?:i'm|im|i am|he's|she's|he is|she is|tall|height)\s*$", re.I)


def find_measures(text: str, taken: list[Mention]) -> list[Mention]:
    """Capacity, weight, power, screen and length figures ("6 litre", "5kg", "144hz", "40
    denier", "30m"): attributes as said, unless a price, size or count already holds them."""
    found: list[Mention] = []
    if not read(text).has_digit:
        return found
    for match in _MEASURE_RE.finditer(text):
        start, end = match.span("v")
        if any(m.start < end and start < m.end for m in taken
               if m.field in ("price_min", "price_max", "size", "quantity", "attributes")):
            continue
        said = " ".join(match.group("v").lower().split())
        if _LENGTH_SAID.search(said.replace(" ", "")) and _HEIGHT_BEFORE.search(text[:start]):
            continue  # "I'm 6ft 4": the shopper's height
        found.append(Mention(start, end, "attributes", said))
    return found


_ORDINAL_BIRTHDAY_RE = re.compile(
    r"(?:'s|’s|\bhis|\bher|\bmy|\btheir|\bour|\bthe)\s+(?P<v>\d{1,3}(?:st|nd|rd|th))\b"
    r"(?!\s+(?:of\b|floor|time|place|anniversary|wedding|year|edition|century|gen))", re.I)


_HAS_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)\b", re.I)


def find_ordinal_birthdays(text: str) -> list[Mention]:
    """"my husband's 40th", "her 18th": a birthday."""
    if not _HAS_ORDINAL.search(text):
        return []
    return [Mention(m.start("v"), m.end("v"), "occasion", "birthday")
            for m in _ORDINAL_BIRTHDAY_RE.finditer(text)]


_SCENTED_RE = re.compile(r"\b(?P<v>[a-z]{3,}[ -]scented)\b", re.I)


def find_scents(text: str) -> list[Mention]:
    """"vanilla scented", "lavender-scented": the scent is the attribute."""
    from spacy.lang.en.stop_words import STOP_WORDS

    if not read(text).may_contain("scented"):
        return []
    return [Mention(m.start("v"), m.end("v"), "attributes",
                    m.group("v").lower().replace("-", " "))
            for m in _SCENTED_RE.finditer(text)
            if m.group("v").lower().split()[0].split("-")[0] not in STOP_WORDS]


_AGED_RECIPIENT_RE = re.compile(
    r"\b(?P<v>\d{1,2}[ -]?(?:year|yr)s?[ -]?old(?:[ -](?:boy|girl|son|daughter)s?)?)\b", re.I)


def find_aged_recipients(text: str) -> list[Mention]:
    """"a 5 year old girl", "my 10-year-old": who it is for (a trigger word is still needed)."""
    found: list[Mention] = []
    if not read(text).has_digit:
        return found
    for match in _AGED_RECIPIENT_RE.finditer(text):
        said = match.group("v").lower().replace("-", " ")
        value = "girl" if "girl" in said or "daughter" in said else \
            "boy" if "boy" in said or "son" in said else "child"
        found.append(Mention(match.start("v"), match.end("v"), "recipient", value))
    return found


def find_all(text: str, today: date | None = None) -> list[Mention]:
    found = (find_prices(text) + find_quantities(text) + find_sizes(text)
             + find_dates(text, today) + find_vocabulary(text) + find_brand_phrases(text)
             + find_birthday_phrases(text) + find_described_ones(text)
             + find_compatibility(text) + find_tog(text) + find_ordinal_birthdays(text)
             + find_scents(text) + find_aged_recipients(text) + find_feature_counts(text))
    found += find_measures(text, found)
    # a name holds no size or count: "a book by Stephen King", "a strap for a Fitbit Charge 6"
    names = [m for m in found if m.field == "compat" or (m.field == "brand" and " " in
                                                           text[m.start:m.end])]
    found = [m for m in found if m.field not in ("size", "quantity") or not any(
        n.start < m.end and m.start < n.end for n in names)]
    # within a field, a longer phrase wins ("vanilla scented" over "scented")
    by_field: dict[str, list[Mention]] = {}
    for mention in found:
        by_field.setdefault(mention.field, []).append(mention)
    kept = [m for m in found if m.field in ("price_min", "price_max", "currency", "needed_by")
            or not any(o is not m and o.start <= m.start and m.end <= o.end
                       and (o.end - o.start) > (m.end - m.start) for o in by_field[m.field])]
    # one mention per field and place: the vocabulary's "4-slice" and the count rule's "4 slice"
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for mention in kept:
        place = (mention.field, mention.start, mention.end)
        if place in seen and mention.field not in ("price_min", "price_max", "currency"):
            continue
        seen.add(place)
        unique.append(mention)
    return unique
