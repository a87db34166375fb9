import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bot.store.models import (
    Base,
    Category,
    Customer,
    DeliveryOption,
    Event,
    Need,
    Order,
    OrderLine,
    Product,
)
from propensity.explain import reason_text
from propensity.features import FEATURE_NAMES
from propensity.history import load_events_from_db
from propensity.policy import (
    ALTERNATIVES_AND_NOTICE,
    BACK_IN_STOCK_NOTICE,
    BEST_MATCH_FIRST,
    NO_OFFER,
    offer_for,
)
from propensity.registry import CURRENT_FILE, Registry
from propensity.scoring import PropensityService
from propensity.serve import (
    ANONYMOUS,
    NO_MODEL,
    TOO_LITTLE_HISTORY,
    UNAVAILABLE,
    UNKNOWN_CUSTOMER,
    NoScore,
    Score,
    Scorer,
)

NOW = dt.datetime(2024, 6, 1)


def register(root, model, version, *, current=True) -> Registry:
    """Write ``model`` into the registry at ``root`` as ``version`` (and make it current)."""
    reg = Registry(root)
    (reg.root / version).mkdir(parents=True)
    model.save(reg.root / version)
    reg.write_meta(version, {"version": version})
    if current:
        (reg.root / CURRENT_FILE).write_text(version + "\n")
    return reg


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """A tiny shop: customer 1 buys every ~10 days, 2 bought once long ago, 3 only browsed."""
    url = f"sqlite:///{tmp_path_factory.mktemp('shop') / 'shop.db'}"
    eng = create_engine(url, future=True)
    Base.metadata.create_all(eng)
    t0 = dt.datetime(2024, 1, 1)
    with Session(eng) as s, s.begin():
        s.add(Category(id=1, slug="boots", name="Boots"))
        s.add(Product(id=1, sku="B1", name="Trail boot", slug="trail-boot", category_id=1,
                      product_type="boot", brand="Acme", price=80, created_at=t0))
        s.add(DeliveryOption(id=1, code="std", name="Standard", price=3, min_days=2, max_days=4))
        for cid in (1, 2, 3):
            s.add(Customer(id=cid, email=f"c{cid}@example.com", first_name="A", last_name="B",
                           created_at=t0))
        n = 0

        def order(cid, when, status="delivered"):
            nonlocal n
            n += 1
            s.add(Order(id=n, number=f"SH-{100000 + n}", customer_id=cid, email="x@example.com",
                        status=status, placed_at=when, updated_at=when, subtotal=80,
                        shipping_cost=0, total=80, delivery_option_id=1, shipping_address="1 St"))
            s.add(OrderLine(order_id=n, product_id=1, quantity=1, unit_price=80))

        for k in range(14):
            order(1, t0 + dt.timedelta(days=10 * k + 3))
        order(1, NOW + dt.timedelta(days=1))  # in the future of NOW: must be ignored
        order(2, t0 + dt.timedelta(days=2))
        order(2, t0 + dt.timedelta(days=20), status="cancelled")
        s.add(Event(customer_id=3, product_id=1, event_type="view", occurred_at=NOW - dt.timedelta(days=1)))
        s.add(Event(customer_id=1, product_id=1, event_type="cart", occurred_at=NOW - dt.timedelta(days=2)))
        for seq, (status, cat) in enumerate([("unmet", "boots"), ("matched", "spaceships")]):
            s.add(Need(conversation_id="c1", need_seq=seq, customer_id=1, turn=1,
                       last_message_key=f"k{seq}", category=cat, status=status,
                       extractor_version="t", created_at=NOW - dt.timedelta(days=3),
                       updated_at=NOW - dt.timedelta(days=3)))
    return eng


@pytest.fixture(scope="module")
def registry(experiment, tmp_path_factory):
    return register(tmp_path_factory.mktemp("registry"), experiment.model, "test-v1")


@pytest.fixture(scope="module")
def service(engine, registry):
    return PropensityService(engine, registry)


@pytest.fixture(scope="module")
def scorer(service):
    return service.current()


def test_db_loader_skips_cancelled_and_future_orders(engine):
    ev = load_events_from_db(engine, until=NOW)
    assert sorted(ev.loc[ev.event_type == "purchase", "customer_id"].value_counts().items()) == [
        ("1", 14), ("2", 1)]
    assert ev["category"].dropna().unique().tolist() == ["boots"]


def test_needs_log_feeds_the_need_features(service):
    from propensity.features import FEATURE_INDEX

    x, ok = service.customer_features(1, NOW)
    assert ok
    assert x[FEATURE_INDEX["needs_30d"]] == 2
    assert x[FEATURE_INDEX["unmet_needs_30d"]] == 1
    assert x[FEATURE_INDEX["catalogue_needs_30d"]] == 1  # "spaceships" is not a category we sell


def test_scores_a_shopper_with_band_version_and_three_plain_reasons(service, scorer):
    res = service.score_customer(1, NOW)
    assert isinstance(res, Score)
    assert 0 < res.probability < 1 and res.band in ("low", "medium", "high")
    assert res.band == scorer.model.band(res.probability)
    assert res.model_version == "test-v1"
    assert len(res.reasons) == 3
    for text in res.reason_texts:
        assert re.fullmatch(r"[a-z][a-z0-9 ,.+%-]*", text), text  # words, not feature names
        assert "_" not in text


def test_single_customer_path_matches_batch_scoring(service):
    batch = service.score_all(NOW).set_index("customer_id")
    for cid in (1, 2):
        one = service.score_customer(cid, NOW)
        assert one.probability == pytest.approx(batch.loc[str(cid), "probability"], abs=1e-9)
    assert "3" not in batch.index  # one view is too little history


@pytest.mark.parametrize("cid, reason", [
    (None, ANONYMOUS), ("", ANONYMOUS), ("   ", ANONYMOUS),
    ("'; DROP TABLE orders; --", UNKNOWN_CUSTOMER), ("<b>1</b>", UNKNOWN_CUSTOMER),
    ("🛒", UNKNOWN_CUSTOMER), ("9" * 5000, UNKNOWN_CUSTOMER), (-4, UNKNOWN_CUSTOMER),
    (3, TOO_LITTLE_HISTORY), (424242, TOO_LITTLE_HISTORY),
])
def test_no_score_instead_of_a_guess_or_a_crash(service, cid, reason):
    res = service.score_customer(cid, NOW)
    assert isinstance(res, NoScore) and res.reason == reason
    assert res.band is None and res.probability is None


def test_no_model_means_no_score(engine, tmp_path):
    service = PropensityService(engine, Registry(tmp_path / "empty"))
    assert service.current() is None
    with pytest.raises(RuntimeError, match="no current propensity model"):
        service.score_all(NOW)
    res = service.score_customer(1, NOW)
    assert isinstance(res, NoScore) and res.reason == NO_MODEL


def test_store_down_is_a_no_score_not_a_traceback(registry, tmp_path):
    broken = create_engine(f"sqlite:///{tmp_path / 'nothing-here.db'}", future=True)
    service = PropensityService(broken, registry)
    service.warm()  # logs, does not raise; the model is loaded all the same
    assert service.current() is not None
    res = service.score_customer(1, NOW)
    assert isinstance(res, NoScore) and res.reason == UNAVAILABLE
    assert res.model_version == "test-v1"


def test_the_service_follows_the_registry_pointer_and_keeps_a_model_that_fails_to_load(
        engine, experiment, tmp_path):
    reg = register(tmp_path / "reg", experiment.model, "v1")
    register(tmp_path / "reg", experiment.model, "v2", current=False)
    (reg.root / "v3").mkdir()
    reg.write_meta("v3", {"version": "v3"})  # registered, but its model files are missing
    service = PropensityService(engine, reg, reload_seconds=0)
    first = service.current()
    assert first.version == "v1" and service.current() is first  # loaded once
    (reg.root / CURRENT_FILE).write_text("v2\n")
    assert service.current().version == "v2"
    (reg.root / CURRENT_FILE).write_text("v3\n")
    assert service.current().version == "v2"  # v3 does not load: v2 stays
    assert service.score_customer(1, NOW).model_version == "v2"
    (reg.root / CURRENT_FILE).write_text("\n")
    assert service.current() is None  # nothing promoted: nothing served
    # The pointer is re-read at most every reload_seconds.
    (reg.root / CURRENT_FILE).write_text("v1\n")
    patient = PropensityService(engine, reg, reload_seconds=3600)
    assert patient.current().version == "v1"
    (reg.root / CURRENT_FILE).write_text("v2\n")
    assert patient.current().version == "v1"


def test_statements_are_built_once_per_service_by_warm_or_the_first_of_many_threads(
        engine, registry, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import propensity.scoring as scoring

    built = []
    real = scoring.HistoryQueries
    monkeypatch.setattr(scoring, "HistoryQueries", lambda eng: built.append(eng) or real(eng))
    warmed = PropensityService(engine, registry)
    warmed.warm()
    assert built == [engine] and warmed.current() is not None
    warmed.score_customer(1, NOW)
    assert len(built) == 1

    service = PropensityService(engine, registry)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda cid: service.score_customer(cid, NOW), [1, 2, 3] * 8))
    assert len(built) == 2  # one more for the second service, whatever the threads did
    expected = {cid: warmed.score_customer(cid, NOW) for cid in (1, 2, 3)}
    for res in results:
        assert res == expected[int(res.customer_id)]


def test_reason_sentences():
    idx = {n: i for i, n in enumerate(FEATURE_NAMES)}
    assert reason_text(idx["orders_60d"], 3) == "bought 3 times in the last 60 days"
    assert reason_text(idx["orders_60d"], 1) == "bought once in the last 60 days"
    assert reason_text(idx["orders_30d"], 0) == "has not bought in the last 30 days"
    assert reason_text(idx["days_since_last_purchase"], 12.4) == "last bought 12 days ago"
    assert reason_text(idx["spend_90d"], 0) == "has not spent anything in the last 90 days"
    assert reason_text(idx["order_trend_90d"], -2) == (
        "bought 2 times fewer in the last 90 days than in the 90 before")


def test_policy_uses_the_band():
    high = offer_for("high", "matched")
    assert high.kind == BEST_MATCH_FIRST and high.lead_with_delivery_date and high.max_products == 1
    low_unmet = offer_for("low", "unmet")
    assert low_unmet.kind == BACK_IN_STOCK_NOTICE and low_unmet.offer_back_in_stock
    assert not low_unmet.offer_alternatives
    assert offer_for("high", "unmet").kind == ALTERNATIVES_AND_NOTICE
    assert offer_for("low", "matched").offer_save_for_later
    assert not offer_for("medium", "matched").offer_save_for_later
    # Unscored shoppers (anonymous, no history) get the neutral rows; nonsense never raises.
    assert offer_for(None, "matched").max_products == 3
    assert offer_for("🙂", "matched") == offer_for(None, "matched")
    assert offer_for("high", None).kind == NO_OFFER


def test_every_feature_has_a_plain_words_sentence():
    for i, name in enumerate(FEATURE_NAMES):
        for v in (0, 1, 2.5, 12, -3, 0.3, 730, -730):
            text = reason_text(i, v)
            assert re.fullmatch(r"[a-z][a-z0-9 ,.+%-]*", text), (name, v, text)
            assert "_" not in text and "{" not in text


def test_shop_wide_product_buyers_from_the_db_match_the_batch_path(engine, registry):
    from propensity.features import EventArrays, ProductStats

    cutoff = int(pd.Timestamp(NOW).value)
    batch = ProductStats.from_events(EventArrays.from_frame(load_events_from_db(engine)), cutoff)
    service = PropensityService(engine, registry, product_stats_max_age=dt.timedelta(0))
    db = service.product_stats(NOW)
    for pid in batch.ids:
        i, j = batch.ids.get_loc(pid), db.ids.get_loc(pid)
        assert (db.buyers_recent[j], db.buyers_before[j]) == (
            batch.buyers_recent[i], batch.buyers_before[i])
    # Customer 1 bought product 1 every 10 days up to NOW (the order after NOW never counts).
    assert db.buyers_recent[db.ids.get_loc("1")] == 1


def test_product_stats_are_reused_for_a_while_and_never_from_the_future(engine, registry):
    service = PropensityService(engine, registry)
    first = service.product_stats(NOW)
    assert service.product_stats(NOW + dt.timedelta(minutes=5)) is first
    later = service.product_stats(NOW + dt.timedelta(minutes=11))
    assert later is not first
    # An earlier "now" than the cached one must not reuse counts that saw later orders.
    assert service.product_stats(NOW) is not later
    # Counts belong to one service: another one (another shop DB) computes its own.
    assert PropensityService(engine, registry).product_stats(NOW) is not service.product_stats(NOW)


def test_a_model_trained_on_an_older_feature_list_reads_its_columns_by_name(experiment, events,
                                                                             cutoffs):
    from propensity.model import PropensityModel

    m = experiment.model
    unused = [i for i in range(len(FEATURE_NAMES)) if i not in m.used]
    assert unused  # the synthetic shop has no needs log: those features are constant
    # The same net, saved when the list lacked the unused features (as an older model would).
    keep = [i for i in range(len(FEATURE_NAMES)) if i not in unused[:3]]
    old = PropensityModel([FEATURE_NAMES[i] for i in keep], [keep.index(i) for i in m.used],
                          m.mlp, m.platt_a, m.platt_b, m.bands,
                          [m.baseline_values[i] for i in keep])
    x = np.abs(np.random.default_rng(0).normal(size=len(FEATURE_NAMES))) * 5
    new, s = Scorer(m, "new").score_row("1", x), Scorer(old, "old").score_row("1", x)
    assert s.probability == pytest.approx(new.probability, abs=1e-12)
    assert [r.feature for r in s.reasons] == [r.feature for r in new.reasons]
    for r in s.reasons:
        assert r.value == x[FEATURE_NAMES.index(r.feature)]
    # Promotion evaluates the current (possibly older) model on today's features the same way.
    from propensity.train import evaluate_model

    assert evaluate_model(old, events, cutoffs[1]) == evaluate_model(m, events, cutoffs[1])


@pytest.fixture(scope="module")
def browsing_shop(tmp_path_factory):
    """A seeded shop in SQLite: 60 customers with orders over a year and long browsing
    histories (views and cart adds, many older than 30 days, some customers browse only)."""
    rng = np.random.default_rng(5)
    url = f"sqlite:///{tmp_path_factory.mktemp('browse') / 'shop.db'}"
    eng = create_engine(url, future=True)
    Base.metadata.create_all(eng)
    t0 = NOW - dt.timedelta(days=365)
    with Session(eng) as s, s.begin():
        for c in range(1, 4):
            s.add(Category(id=c, slug=f"c{c}", name=f"C{c}"))
        for p in range(1, 16):
            s.add(Product(id=p, sku=f"S{p}", name=f"P{p}", slug=f"p{p}", category_id=p % 3 + 1,
                          product_type="thing", brand="B", price=10 + p, created_at=t0))
        s.add(DeliveryOption(id=1, code="std", name="Standard", price=3, min_days=2, max_days=4))
        n = 0
        for cid in range(1, 61):
            s.add(Customer(id=cid, email=f"b{cid}@example.com", first_name="A", last_name="B",
                           created_at=t0))
            for _ in range(int(rng.poisson(4)) if cid % 5 else 0):  # every 5th only browses
                n += 1
                when = t0 + dt.timedelta(days=float(rng.uniform(0, 375)))  # some after NOW
                s.add(Order(id=n, number=f"SH-{200000 + n}", customer_id=cid, email="x@e.com",
                            status="cancelled" if rng.random() < 0.1 else "delivered",
                            placed_at=when, updated_at=when, subtotal=20, shipping_cost=0,
                            total=20, delivery_option_id=1, shipping_address="1 St"))
                for p in rng.choice(np.arange(1, 16), int(rng.integers(1, 4)), replace=False):
                    s.add(OrderLine(order_id=n, product_id=int(p), quantity=int(rng.integers(1, 3)),
                                    unit_price=10 + int(p)))
            for _ in range(int(rng.integers(0, 40))):
                kind = "view" if rng.random() < 0.8 else "cart"
                s.add(Event(customer_id=cid, product_id=int(rng.integers(1, 16)), event_type=kind,
                            occurred_at=t0 + dt.timedelta(days=float(rng.uniform(0, 370)))))
        # Browsers with only old events, at the edge of "enough history": 3 views, 2 views,
        # 3 cart adds, all more than 30 days ago.
        for cid, kinds in ((61, ["view"] * 3), (62, ["view"] * 2), (63, ["cart"] * 3)):
            s.add(Customer(id=cid, email=f"b{cid}@example.com", first_name="A", last_name="B",
                           created_at=t0))
            for k, kind in enumerate(kinds):
                s.add(Event(customer_id=cid, product_id=1, event_type=kind,
                            occurred_at=NOW - dt.timedelta(days=40 + 20 * k)))
    return eng


def test_one_customer_from_the_db_gets_the_batch_features(browsing_shop, tmp_path):
    """The serving query fetches only what the behaviour features read (recent events, the
    oldest, the latest view, a few latest) and shop-wide product counts by aggregate: the
    features must equal those built from every row, for every customer."""
    from propensity.features import build_features

    service = PropensityService(browsing_shop, Registry(tmp_path / "no-model"))

    batch = build_features(load_events_from_db(browsing_shop, until=NOW), NOW,
                           eligible_only=False)
    assert len(batch) >= 50
    eligible = build_features(load_events_from_db(browsing_shop, until=NOW), NOW).index
    assert {"61", "63"} <= set(eligible) and "62" not in eligible
    for cid in range(1, 64):
        x, ok = service.customer_features(cid, NOW)
        assert ok == (str(cid) in eligible), f"customer {cid}"
        if str(cid) in batch.index:
            np.testing.assert_allclose(x, batch.loc[str(cid), list(FEATURE_NAMES)].to_numpy(float),
                                       rtol=1e-12, atol=1e-9, err_msg=f"customer {cid}")


def test_cli_score_and_score_all_on_the_shop_db(engine, registry, service, tmp_path, capsys):
    import json

    from propensity.cli import main

    url = engine.url.render_as_string(hide_password=False)
    common = ["--registry", str(registry.root)]
    assert main(common + ["score", "--customer", "1", "--database-url", url,
                          "--now", NOW.isoformat()]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = service.score_customer(1, NOW)
    assert out["probability"] == round(expected.probability, 4)
    assert out["reasons"] == expected.reason_texts and out["model_version"] == "test-v1"
    assert main(common + ["score", "--customer", "3", "--database-url", url,
                          "--now", NOW.isoformat()]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == TOO_LITTLE_HISTORY
    scores = tmp_path / "scores.csv"
    assert main(common + ["score-all", "--database-url", url, "--output", str(scores)]) == 0
    assert set(pd.read_csv(scores)["customer_id"].astype(str)) == {"1", "2"}
    assert main(["--registry", str(tmp_path / "empty"), "score-all", "--database-url", url]) == 2
