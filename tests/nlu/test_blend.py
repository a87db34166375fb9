"""The NLU component that blends DIET's ranking with a TF-IDF logistic regression's."""
from __future__ import annotations

import pytest

from bot.nlu.blend import FILE_NAME, LinearIntentBlend, blend


def test_blend_weighs_both_rankings_and_counts_missing_intents_as_zero():
    previous = [{"name": "track_order", "confidence": 0.8}, {"name": "track_refund", "confidence": 0.2}]
    ranking = blend(previous, ["track_order", "track_refund", "refund_policy"], [0.1, 0.8, 0.1],
                    weight=0.5, length=10)
    assert [(r["name"], round(r["confidence"], 3)) for r in ranking] == [
        ("track_refund", 0.5), ("track_order", 0.45), ("refund_policy", 0.05)]
    assert len(blend(previous, ["a", "b", "c"], [0.2, 0.3, 0.5], 0.5, 2)) == 2
    # No previous ranking: the regression alone.
    assert blend([], ["a", "b"], [0.3, 0.7], 0.5, 10)[0] == {"name": "b", "confidence": 0.7}


@pytest.fixture
def storage(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    return (LocalModelStorage(tmp_path), Resource("blend"),
            ExecutionContext(GraphSchema({}), node_name="blend"))


ROWS = [("where is my parcel", "track_order"), ("has my order shipped", "track_order"),
        ("track my package please", "track_order"), ("where is my refund", "track_refund"),
        ("has my refund gone through", "track_refund"), ("refund status please", "track_refund"),
        ("how do refunds work", "refund_policy"), ("what is your refund policy", "refund_policy")]


@pytest.fixture(scope="module")
def counts():
    """Word counts standing in for the pipeline's CountVectorsFeaturizer."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer().fit([text for text, _ in ROWS] + ["any news on status"])


def featurized(counts, text, intent=None, ranking=None):
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text, **({"intent": intent} if intent else {})})
    message.add_features(Features(counts.transform([text]).tocoo(), "sentence", "text",
                                  "CountVectorsFeaturizer"))
    if ranking is not None:
        message.set("intent", ranking[0] if ranking else None)
        message.set("intent_ranking", ranking)
    return message


def training_data(counts):
    from rasa.shared.nlu.training_data.training_data import TrainingData

    return TrainingData([featurized(counts, text, intent) for text, intent in ROWS])


def parsed(text, ranking):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    message.set("intent", ranking[0] if ranking else None)
    message.set("intent_ranking", ranking)
    return message


def test_trains_persists_loads_and_blends(storage, counts):
    model_storage, resource, context = storage
    component = LinearIntentBlend.create({}, model_storage, resource, context)
    component.train(training_data(counts))
    loaded = LinearIntentBlend.load({}, model_storage, resource, context)
    assert loaded.pipeline is not None
    diet_says = [{"name": "track_order", "confidence": 0.55},
                 {"name": "track_refund", "confidence": 0.45}]
    message, = loaded.process([featurized(counts, "any news on my refund status", ranking=diet_says)])
    assert message.get("intent")["name"] == "track_refund"
    ranking = message.get("intent_ranking")
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6
    # weight 1.0 keeps DIET's answer
    only_diet = LinearIntentBlend.load({"weight": 1.0}, model_storage, resource, context)
    message, = only_diet.process([featurized(counts, "any news on my refund status",
                                             ranking=diet_says)])
    assert message.get("intent")["name"] == "track_order"


def test_without_sentence_features_it_says_what_is_missing(storage, counts):
    model_storage, resource, context = storage
    component = LinearIntentBlend.create({}, model_storage, resource, context)
    component.train(training_data(counts))
    with pytest.raises(ValueError, match="CountVectorsFeaturizer"):
        component.process([parsed("where is my parcel", [{"name": "track_order",
                                                          "confidence": 0.9}])])


def test_a_file_with_unexpected_types_is_not_loaded(storage):
    import skops.io as sio

    model_storage, resource, context = storage
    from collections import OrderedDict

    with model_storage.write_to(resource) as directory:
        sio.dump(OrderedDict(a=1), directory / FILE_NAME)  # a type we never trust
    loaded = LinearIntentBlend.load({}, model_storage, resource, context)
    assert loaded.pipeline is None
    message = parsed("where is my parcel", [{"name": "track_order", "confidence": 0.9}])
    assert loaded.process([message])[0].get("intent")["name"] == "track_order"


def test_untrained_component_leaves_messages_alone(storage):
    model_storage, resource, context = storage
    component = LinearIntentBlend.create({}, model_storage, resource, context)
    message = parsed("hello", [{"name": "greet", "confidence": 0.9}])
    assert component.process([message])[0].get("intent") == {"name": "greet", "confidence": 0.9}


@pytest.mark.parametrize("intents", [ROWS, [r for r in ROWS if r[1] != "refund_policy"][:6]])
def test_the_fast_probabilities_equal_scikit_learns(counts, intents):
    """Three classes (softmax) and two (one logistic score), on seen and unseen words."""
    import numpy as np

    from bot.nlu.blend import build_pipeline, probabilities

    pipeline = build_pipeline(LinearIntentBlend.get_default_config())
    pipeline.fit(counts.transform([t for t, _ in intents]), [i for _, i in intents])
    features = counts.transform(["where is my refund please", "status", "any news on status",
                                 "zzz", "refund refund refund status"]).tocsr()
    rows = [(features[i].indices, features[i].data.astype(float))
            for i in range(features.shape[0])]
    assert np.allclose(probabilities(pipeline, rows), pipeline.predict_proba(features))


def test_sentence_rows_put_the_featurizers_side_by_side(counts):
    from rasa.shared.nlu.training_data.features import Features
    from scipy.sparse import coo_matrix

    from bot.nlu.blend import sentence_rows, to_matrix

    message = featurized(counts, "where is my refund")
    message.add_features(Features(coo_matrix([[0.0, 2.0, 0.0]]), "sentence", "text", "Regex"))
    message.add_features(Features(coo_matrix([[5.0]]), "sequence", "text", "Lexical"))  # ignored
    rows, width = sentence_rows([message])
    assert width == len(counts.vocabulary_) + 3
    dense = to_matrix(rows, width).toarray()[0]
    assert list(dense[-3:]) == [0.0, 2.0, 0.0]
    assert dense[counts.vocabulary_["refund"]] == 1.0 and dense.sum() == 4 + 2
