"""Migration 0010 on needs logged by the old code: purchased_later becomes the status at asking
plus converted_at, unmet becomes unmet:not_stocked, except a need that was waiting for its size
(pending, for the worker to settle)."""
from datetime import datetime

from sqlalchemy import MetaData, Table, insert, select

from bot.store.db import make_engine
from bot.store.schema import upgrade

THEN = datetime(2026, 5, 1, 12, 0)
LATER = datetime(2026, 5, 3, 9, 0)


def test_old_statuses_are_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0009")
    engine = make_engine(url)
    old = [  # seq, status, product, category, size, matched ids
        (1, "purchased_later", "hiking boot", "footwear", '["9"]', "[1]"),
        (2, "purchased_later", "pogo stick", None, "[]", "[]"),
        (3, "unmet", "hiking boot", "footwear", "[]", "[]"),     # asked the size, no answer
        (4, "unmet", "hiking boot", "footwear", '["14"]', "[]"),  # had a size: nothing fitted
        (5, "unmet", "kettle", "kitchen", "[]", "[]"),            # no size asked in kitchen
        (6, "unmet", None, None, "[]", "[]"),                     # a gift without a product
        (7, "matched", "parka", "outerwear", "[]", "[3]"),
    ]
    try:
        needs = Table("needs", MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            for seq, status, product, category, size, matched in old:
                conn.execute(insert(needs).values(
                    conversation_id="c", need_seq=seq, turn=1, text="", last_message_key=str(seq),
                    product=product, category=category, attributes="[]", colour="[]",
                    size=size, confidence=0.9, matched_product_ids=matched, status=status,
                    extractor_version="old", created_at=THEN, updated_at=LATER))
        upgrade(url)
        needs = Table("needs", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            after = {seq: (status, converted) for seq, status, converted in conn.execute(
                select(needs.c.need_seq, needs.c.status, needs.c.converted_at))}
    finally:
        engine.dispose()
    assert after == {
        1: ("matched", LATER), 2: ("unmet:not_stocked", LATER), 3: ("pending", None),
        4: ("unmet:not_stocked", None), 5: ("unmet:not_stocked", None),
        6: ("unmet:not_stocked", None), 7: ("matched", None)}
