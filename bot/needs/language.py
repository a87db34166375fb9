"""Whether a message is written in another language than English.

The NER and the rules are English: in "Ich suche eine Jacke" or "cerco una giacca" what they pick
out is noise, so a message that reads as another language states no need unless it names a
catalogue product.
"""
from __future__ import annotations

import re
from functools import lru_cache

from bot.needs import normalise
from bot.needs.vocab import load_vocab

_LETTERS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _foreign_function_words() -> frozenset[str]:
    """Stop words of other languages shoppers write in (spaCy's lists) that are no English
    word ("ideal", "die", "son" are), no single letter ("u") and no word of our vocabularies."""
    vocab = load_vocab()
    ours = {word for table in (vocab.colours, vocab.attributes, vocab.recipients,
                               vocab.occasions, vocab.brands)
            for phrase in table for word in phrase.split()}
    words: set[str] = set()
    for lang in ("de", "fr", "es", "it", "pt", "nl"):
        words |= _stop_words(lang)
    # is_known_word covers English stop words, English word forms and every product word
    return frozenset(w for w in words - ours if len(w) > 1 and not normalise.is_known_word(w))


def _stop_words(lang: str) -> set[str]:
    """spaCy's stop list of ``lang``, read from its module file alone: importing
    ``spacy.lang.<lang>.stop_words`` would import the language's package first, and French's
    compiles its tokenizer exceptions (about 5 s, on the first message that needed the list)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("spacy.lang")
    path = Path(next(iter(spec.submodule_search_locations))) / lang / "stop_words.py"
    module_spec = importlib.util.spec_from_file_location(f"_shop_stop_words_{lang}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return set(module.STOP_WORDS)


def reads_foreign(text: str) -> bool:
    """Whether the message reads as another language: it has another language's function
    words ("eine", "una", "des") and not one English one."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = [w.lower() for w in _LETTERS.findall(text)]
    foreign = _foreign_function_words()
    return any(w in foreign for w in words) and not any(w in STOP_WORDS for w in words)
