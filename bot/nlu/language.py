"""Is a message written in a language other than English? Decided from function words and script.

The assistant speaks English only. A message in another language should get a polite answer
saying so (``utter_english_only``), never a guess at an English topic and never the fallback
that ends with a hand-over. DIET learns ``other_language`` from our examples, but a classifier
trained on English words is unsure of a sentence full of words it never saw, so
:class:`~bot.nlu.language_guard.LanguageGuard` asks :func:`foreign_language` first.

How: a message whose letters are mostly of another script than Latin (Cyrillic, Greek, Arabic,
Hebrew, CJK, Hangul, Thai, Devanagari...) is foreign. In Latin script we count the function words
of other languages (spaCy's stop-word lists) that are no English word form (an English stop word
or a form in spaCy's English lemma table: "die", "son", "come", "no" are English too) and
words with letters English does not use (ñ, ß, ł, ş, ø, ...). The message is foreign when that
evidence is clear and it holds no English function word, or when the evidence outweighs the
English words more than two to one. So "bonjour, où est ma commande ?" is French, while "any Le
Creuset pans in blue?" and "hola, where's my order" are English.
"""
from __future__ import annotations

import importlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

# Languages whose function words we look for (spaCy language code -> name).
LANGUAGES = MappingProxyType({
    "fr": "French", "es": "Spanish", "de": "German", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "pl": "Polish", "tr": "Turkish", "sv": "Swedish", "da": "Danish",
    "cs": "Czech", "ro": "Romanian", "nb": "Norwegian", "fi": "Finnish", "hu": "Hungarian",
})
# Letters English writing does not use (accents of loanwords such as café, naïve are left out).
_FOREIGN_LETTERS = frozenset("ñßłśźżćńąęőűřěůčšžğışøåæœãõâêîôûùìòàäöü")
_WORDS = re.compile(r"[^\W\d_]+")
# Addresses and links are no language: "jo.bloggs@example.com" is not Hungarian.
_NOT_PROSE = re.compile(r"\S*@\S+|\S+://\S+|www\.\S+|\S+\.(?:com|net|org|co\.uk|uk|io)\b",
                        re.IGNORECASE)
_MIN_EVIDENCE = 2


@dataclass(frozen=True)
class Verdict:
    foreign: bool
    language: str | None = None  # a name ("French") when one language's words stand out
    evidence: int = 0  # foreign function words and foreign-letter words found
    english: int = 0  # English function words found


@lru_cache(maxsize=1)
def _english_stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@lru_cache(maxsize=1)
def _lemma_table():
    """spaCy's English lemma lookup table (spacy-lookups-data): inflected form -> lemma."""
    from spacy.lookups import load_lookups

    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


@lru_cache(maxsize=1)
def _english_lemmas() -> frozenset[str]:
    """The lemmas of the table: base forms ("die", "car") are values, not keys."""
    return frozenset(str(lemma).lower() for lemma in _lemma_table().values())


def _is_english_form(word: str) -> bool:
    return word in _english_stop_words() or word in _english_lemmas() or word in _lemma_table()


@lru_cache(maxsize=1)
def _function_words() -> MappingProxyType:
    """word -> the languages (codes) whose stop-word lists hold it, English word forms left out."""
    owners: dict[str, set[str]] = {}
    for code in LANGUAGES:
        words = importlib.import_module(f"spacy.lang.{code}.stop_words").STOP_WORDS
        for word in words:
            word = word.lower()
            if len(word) > 1 and not _is_english_form(word):
                owners.setdefault(word, set()).add(code)
    return MappingProxyType({word: frozenset(codes) for word, codes in owners.items()})


def _latin_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    return latin / len(letters)


def foreign_language(text: object) -> Verdict:
    """Whether ``text`` reads as written in another language than English (see module doc)."""
    if not isinstance(text, str):
        return Verdict(False)
    text = _NOT_PROSE.sub(" ", text)
    if not text.strip():
        return Verdict(False)
    if sum(ch.isalpha() for ch in text) >= 2 and _latin_share(text) < 0.5:
        return Verdict(True, None, evidence=sum(ch.isalpha() for ch in text))
    words = [w.lower() for w in _WORDS.findall(text)]
    english = sum(1 for w in words if w in _english_stop_words())
    function_words = _function_words()
    votes: dict[str, float] = {}
    evidence = 0
    for word in dict.fromkeys(words):  # a word said three times is one piece of evidence
        owners = function_words.get(word)
        if owners or any(ch in _FOREIGN_LETTERS for ch in word):
            evidence += 1
        for code in owners or ():
            # a word several languages share says less about which one it is
            votes[code] = votes.get(code, 0.0) + 1 / len(owners)
    foreign = (evidence >= _MIN_EVIDENCE and english == 0) or (
        evidence >= _MIN_EVIDENCE + 1 and evidence > 2 * english)
    language = None
    if foreign and votes:
        ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            language = LANGUAGES[ranked[0][0]]
    return Verdict(foreign, language, evidence, english)
