"""A Rasa NLU component: DIET's intent ranking blended with a TF-IDF logistic regression's.

DIET (config.yml) learns from our sparse count features through a small network; a linear model
on the same counts, TF-IDF weighted (sublinear term frequency), makes different mistakes, so the
average of the two probability rankings is right more often than either (docs/nlu.md, the Bitext
dev split). The regression reads the sentence-level sparse features the pipeline's featurizers
already made (word 1-2 grams, character 1-4 grams, regexes), so a message costs one sparse
product more, not another featurization. It runs after DIET and before the FallbackClassifier,
which then judges the blended confidence.

Config: ``weight`` (DIET's share, default 0.5), ``C`` (the regression's inverse
regularisation), ``ranking_length``. The trained TF-IDF weights and regression are stored with
skops (as Rasa's own LogisticRegressionClassifier does), never pickle; loading refuses a file
holding types outside :data:`TRUSTED_TYPES`.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

log = logging.getLogger(__name__)

FILE_NAME = "blend.skops"
# The one type skops does not trust by default that a fitted TF-IDF + regression pipeline holds.
TRUSTED_TYPES = frozenset({"scipy.sparse._csr.csr_matrix"})


def build_pipeline(config: Dict[Text, Any]):
    """The untrained TF-IDF weighting + logistic regression (on sparse count features)."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    regression = LogisticRegression(C=config["C"], max_iter=3000,
                                    random_state=config["random_state"])
    return make_pipeline(TfidfTransformer(sublinear_tf=True), regression)


def sentence_rows(messages: List[Message]) -> tuple[list, int]:
    """Each message's sentence-level sparse text features as (columns, values), and the width.

    The featurizers' sentence features side by side, in pipeline order (as Rasa combines them),
    built from their coordinates: ``Message.get_sparse_features`` would also copy and stack every
    sequence feature, several times what the regression itself costs.
    """
    import numpy as np

    rows, width = [], 0
    for message in messages:
        columns, values, width = [], [], 0
        for feature in message.features:
            if feature.attribute != TEXT or feature.type != FEATURE_TYPE_SENTENCE \
                    or not feature.is_sparse():
                continue
            matrix = feature.features.tocoo()
            columns.append(matrix.col + width)
            values.append(matrix.data)
            width += matrix.shape[-1]
        if not width:
            raise ValueError("LinearIntentBlend needs sparse sentence features (a "
                             "CountVectorsFeaturizer) earlier in the pipeline")
        rows.append((np.concatenate(columns), np.concatenate(values).astype(float)))
    return rows, width


def to_matrix(rows: list, width: int):
    """The rows as one CSR matrix (for training)."""
    from scipy.sparse import csr_matrix, vstack

    return vstack([csr_matrix((values, columns, [0, len(columns)]), shape=(1, width))
                   for columns, values in rows], format="csr")


def probabilities(pipeline, rows: list) -> "np.ndarray":
    """``pipeline.predict_proba`` of the rows, without scikit-learn's per-call machinery.

    A message is a few hundred non-zero counts among tens of thousands of features, so the
    sublinear TF-IDF weighting, the L2 norm and the regression's scores are computed on the
    non-zero entries only (a fraction of a millisecond instead of several); the test checks the
    result equals ``predict_proba``.
    """
    import numpy as np

    tfidf, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
    idf, coef, intercept = tfidf.idf_, regression.coef_, regression.intercept_
    out = np.empty((len(rows), len(regression.classes_)))
    for i, (columns, counts) in enumerate(rows):
        values = (1.0 + np.log(counts)) * idf[columns]
        norm = np.sqrt(values @ values)
        if norm:
            values = values / norm
        scores = coef[:, columns] @ values + intercept
        if len(scores) == 1:  # two classes: one logistic score
            p = 1.0 / (1.0 + np.exp(-scores[0]))
            out[i] = (1.0 - p, p)
        else:
            scores = np.exp(scores - scores.max())
            out[i] = scores / scores.sum()
    return out


def blend(previous: List[Dict[Text, Any]], classes: List[Text], probabilities,
          weight: float, length: int) -> List[Dict[Text, Any]]:
    """``weight`` x the previous ranking + (1 - ``weight``) x the regression's, best first.

    An intent missing from the previous ranking (DIET keeps its top ten) counts as 0 there.
    """
    before = {item.get(INTENT_NAME_KEY): float(item.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
              for item in previous or ()}
    if not before:
        weight = 0.0
    scores = {name: (1 - weight) * float(p) for name, p in zip(classes, probabilities)}
    for name, confidence in before.items():
        scores[name] = scores.get(name, 0.0) + weight * confidence
    ranking = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    if length > 0:
        ranking = ranking[:length]
    return [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score} for name, score in ranking]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentBlend(GraphComponent, IntentClassifier):
    """Blends the previous classifier's intent ranking with a TF-IDF logistic regression's."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"weight": 0.5, "C": 5.0, "ranking_length": 10, "random_state": 42}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 pipeline=None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.pipeline = pipeline

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LinearIntentBlend":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            log.debug("LinearIntentBlend: fewer than two intents, nothing to train")
            return self._resource
        pipeline = build_pipeline(self.config)
        pipeline.fit(to_matrix(*sentence_rows(examples)), [m.get(INTENT) for m in examples])
        self.pipeline = pipeline
        self.persist()
        return self._resource

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self.pipeline, directory / FILE_NAME)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LinearIntentBlend":
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / FILE_NAME
                untrusted = set(sio.get_untrusted_types(file=path))
                if not untrusted <= TRUSTED_TYPES:
                    raise ValueError(f"untrusted types in {path}: {sorted(untrusted)}")
                pipeline = sio.load(path, trusted=sorted(untrusted))
        except (ValueError, FileNotFoundError) as exc:
            log.warning("LinearIntentBlend not loaded (%s): DIET's ranking is used alone", exc)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, pipeline)

    def process(self, messages: List[Message]) -> List[Message]:
        messages_with_text = [m for m in messages if m.get(TEXT)]
        if self.pipeline is None or not messages_with_text:
            return messages
        rows = probabilities(self.pipeline, sentence_rows(messages_with_text)[0])
        classes = list(self.pipeline.classes_)
        for message, row in zip(messages_with_text, rows):
            ranking = blend(message.get(INTENT_RANKING_KEY), classes, row,
                            float(self.config["weight"]), int(self.config["ranking_length"]))
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
