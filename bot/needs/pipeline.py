"""From a message to NEED records: the spaCy pipeline (trained NER + rule component) and the
extractor that runs it.

``NeedExtractor`` loads the pipeline once; ``extract(text)`` / ``extract_many(texts)`` return
lists of :class:`~bot.needs.need.Need`, assembled by :mod:`bot.needs.fields` from the product
spans of :mod:`bot.needs.spans`. Without a trained model the extractor still works from the
taxonomy vocabularies alone (products found by phrase matching), with lower recall.
"""
from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from bot.needs import rules
from bot.needs.fields import FOLLOW_UP_CUE, STRONG_NEED, needs_from_doc
from bot.needs.need import Need
from bot.needs.spans import find_vocab_products
from bot.needs.vocab import load_vocab

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "needs-1.0"
MAX_CHARS = 2000  # longer messages are cut: a need is stated in a sentence or two, not a novel
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_need_cue(text) -> bool:
    """The message says the shopper wants something ("looking for", "shame", "wish you had")."""
    return isinstance(text, str) and bool(STRONG_NEED.search(text[:MAX_CHARS]))


def has_follow_up_cue(text) -> bool:
    """The message says its detail goes with the need being talked about ("anything under
    30?", "it's for my nephew", "has to be waterproof")."""
    return isinstance(text, str) and bool(FOLLOW_UP_CUE.search(text[:MAX_CHARS]))


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
        return needs_from_doc(self.nlp(_clean_text(text)), self.vocab, self.today)

    def extract_many(self, texts: Iterable[str], batch_size: int = 256, *,
                     days: Iterable[date | None] | None = None) -> Iterator[list[Need]]:
        """The needs of each message, through ``nlp.pipe`` in batches. ``days``: the day each
        message was sent (dates such as "by Friday" are read from it; None: today)."""
        cleaned = (_clean_text(t) for t in texts)
        docs = self.nlp.pipe(cleaned, batch_size=batch_size)
        if days is None:
            for doc in docs:
                yield needs_from_doc(doc, self.vocab, self.today)
            return
        for doc, day in zip(docs, days):
            yield needs_from_doc(doc, self.vocab, day or self.today)


def _clean_text(text) -> str:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    return _CONTROL.sub(" ", text[:MAX_CHARS])
