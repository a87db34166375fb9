"""Build the need NER from our annotated data: gold JSONL -> DocBin -> ``spacy train``.

The training records are ``train.jsonl`` (our single messages) followed by
``conversational_train.jsonl`` (the turns of our conversations); the held-out ``test.jsonl`` and
``conversational_test.jsonl`` are never trained on. Reproducible (fixed seed in the config, fixed
split) and incremental: a stamp next to the model holds the SHA-256 of everything the model is
built from (messages, conversations, gold files, config, this file), and :func:`is_stale`
compares it, so ``train --if-stale`` skips an up-to-date model.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from bot.needs.annotations import (CONVERSATIONS_TRAIN_PATH, CONVERSATIONS_TRAIN_SOURCE, DATA_DIR,
                                   MESSAGES_PATH, TEST_PATH, TRAIN_PATH, build_conversation_files,
                                   build_gold_files, read_jsonl)
from bot.settings import REPO_ROOT

log = logging.getLogger(__name__)

CONFIG_PATH = DATA_DIR / "config.cfg"
MODEL_ROOT = REPO_ROOT / "models" / "needs"
STAMP_NAME = "stamp.json"
DEV_EVERY = 8  # every 8th training message is the dev set spaCy picks the best model on


def model_dir(root: Path = MODEL_ROOT) -> Path:
    return root / "model-best"


def data_hash() -> str:
    digest = hashlib.sha256()
    for path in (MESSAGES_PATH, TRAIN_PATH, TEST_PATH, CONVERSATIONS_TRAIN_SOURCE,
                 CONVERSATIONS_TRAIN_PATH, CONFIG_PATH, Path(__file__)):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_stale(root: Path = MODEL_ROOT) -> bool:
    stamp = root / STAMP_NAME
    if not (model_dir(root) / "meta.json").exists() or not stamp.exists():
        return True
    try:
        return json.loads(stamp.read_text())["data_hash"] != data_hash()
    except (ValueError, KeyError):
        return True


def training_records() -> list[dict]:
    """What the NER learns from: our single messages, then the turns of our conversations."""
    return read_jsonl(TRAIN_PATH) + read_jsonl(CONVERSATIONS_TRAIN_PATH)


def to_docbin(records: list[dict], path: Path) -> int:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    docbin = DocBin()
    skipped = 0
    for record in records:
        doc = nlp.make_doc(record["text"])
        ents = []
        for span in record["spans"]:
            ent = doc.char_span(span["start"], span["end"], label=span["label"],
                                alignment_mode="contract")
            if ent is None:
                skipped += 1
                continue
            ents.append(ent)
        doc.ents = ents
        docbin.add(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(path)
    return skipped


def train(root: Path = MODEL_ROOT, *, force: bool = False) -> Path:
    """Train the NER into ``root/model-best`` unless it is up to date; returns the model dir."""
    from spacy.cli.train import train as spacy_train

    build_gold_files()
    build_conversation_files()
    if not force and not is_stale(root):
        log.info("need model is up to date: %s", model_dir(root))
        return model_dir(root)
    records = training_records()
    train_records = [r for n, r in enumerate(records, 1) if n % DEV_EVERY != 0]
    dev_records = [r for n, r in enumerate(records, 1) if n % DEV_EVERY == 0]
    corpus = root / "corpus"
    skipped = to_docbin(train_records, corpus / "train.spacy")
    skipped += to_docbin(dev_records, corpus / "dev.spacy")
    if skipped:
        log.warning("%d annotated spans did not align with tokens and were skipped", skipped)
    for old in ("model-best", "model-last"):
        shutil.rmtree(root / old, ignore_errors=True)
    spacy_train(CONFIG_PATH, root, use_gpu=-1, overrides={
        "paths.train": str(corpus / "train.spacy"), "paths.dev": str(corpus / "dev.spacy"),
    })
    (root / STAMP_NAME).write_text(json.dumps({"data_hash": data_hash()}, indent=2))
    return model_dir(root)
