"""Build the demo shop database: migrate, generate, bulk insert, report counts."""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.demo.generate import DEFAULT_CUSTOMERS, anchor_now, generate_shop
from bot.demo.images import add_images_to_rows, fill_missing_images
from bot.demo.needs import DEFAULT_MESSAGES, HistoryResult, add_need_history, has_demo_needs
from bot.demo.writer import write_rows
from bot.store.db import make_engine, session_scope
from bot.store.models import Order, Product
from bot.store.schema import upgrade

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    skipped: bool
    counts: dict[str, int]  # rows written per table
    seconds: float
    images: int = 0  # product images written
    needs: HistoryResult | None = None  # the demo's year of logged needs, when built now

    def summary(self) -> str:
        needs = ""
        if self.needs is not None:
            h = self.needs
            needs = (f"; {h.needs} logged needs from {h.messages} demo messages "
                     f"({h.converted} converted) in {h.seconds:.1f}s")
        if self.skipped:
            done = [f"wrote {self.images} missing product images"] if self.images else []
            done += [needs[2:]] if needs else []
            return ("demo data already present (products exist); "
                    + ("; ".join(done) if done else "nothing to do"))
        parts = ", ".join(f"{n} {t}" for t, n in self.counts.items() if t != "needs")
        images = f"; {self.images} product images" if self.images else ""
        return f"demo data built in {self.seconds:.1f}s: {parts}{images}{needs}"


class DatabaseNotEmpty(Exception):
    """The shop database already holds products (demo data is only built into an empty shop)."""


def build_demo_data(
    url: str,
    *,
    seed: int = 7,
    anchor: date | None = None,
    customers: int = DEFAULT_CUSTOMERS,
    if_missing: bool = False,
    images_dir: Path | None = None,
    need_history: bool = False,
    need_messages: int = DEFAULT_MESSAGES,
    extractor=None,
) -> BuildResult:
    """Migrate the DB at ``url`` and fill it with the demo shop for ``seed`` and ``anchor``.

    With ``images_dir`` every product gets a generated image written there (and its
    ``image_url``); without it products have no image. With ``if_missing`` an existing shop is
    kept, only given the generated images its products lack (a shop built before images) and,
    with ``need_history``, the year of logged needs when it has no demo needs yet (ending
    where its orders end). ``need_history``: about ``need_messages`` demo messages through the
    need extractor (``extractor``, else the trained one is loaded) into logged needs
    (:mod:`bot.demo.needs`).
    """
    started = time.perf_counter()
    given_anchor = anchor is not None
    anchor = anchor or date.today()
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            has_products = session.execute(select(func.count()).select_from(Product)).scalar()
        if has_products:
            if if_missing:
                added = 0
                if images_dir is not None:
                    with session_scope(engine) as session:
                        added = fill_missing_images(session, images_dir)
                history = None
                if need_history:
                    with session_scope(engine) as session:
                        wanted = not has_demo_needs(session)
                        last = session.execute(select(func.max(Order.placed_at))).scalar()
                    if wanted:
                        shop_anchor = anchor if given_anchor else (
                            last.date() + timedelta(days=1) if last else anchor)
                        history = add_need_history(engine, seed=seed,
                                                   now=anchor_now(shop_anchor),
                                                   extractor=extractor, count=need_messages)
                return BuildResult(True, {}, time.perf_counter() - started, added, history)
            raise DatabaseNotEmpty(
                "the shop database already has products; use --if-missing to keep it, or point "
                "--database-url at an empty database"
            )
        rows = generate_shop(random.Random(seed), anchor, customers)
        log.info("generated rows in %.1fs", time.perf_counter() - started)
        images = add_images_to_rows(rows, images_dir) if images_dir is not None else 0
        with session_scope(engine) as session:
            counts = write_rows(session, rows)
        history = None
        if need_history:
            history = add_need_history(engine, seed=seed, now=anchor_now(anchor),
                                       extractor=extractor, count=need_messages)
            counts["needs"] = history.needs
    finally:
        engine.dispose()
    return BuildResult(False, counts, time.perf_counter() - started, images, history)
