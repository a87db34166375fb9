"""The action server drains the needs outbox in the background (chat turns only append)."""
import asyncio
from dataclasses import replace

from sqlalchemy import func, select

from actions.server import create_app
from bot.demo.fixtures import FIXTURE_NOW
from bot.needs.service import capture
from bot.services import Services
from bot.store.db import make_engine, session_scope
from bot.store.models import Need


async def test_the_action_server_drains_the_outbox_while_it_runs(services, tmp_path, extractor):
    down_path = tmp_path / "down.db"
    down_path.mkdir()
    down = make_engine(f"sqlite:///{down_path}")
    queued = capture("c1", None, 1, "need hiking boots size 9", engine=down, extractor=extractor,
                     outbox=services.outbox, now=FIXTURE_NOW)
    down.dispose()
    assert queued.queued and len(services.outbox.pending()) == 1
    fast = Services(replace(services.settings, outbox_drain_seconds=0.05),
                    engine=services.engine, clock=services.clock, extractor=extractor)
    app = create_app(fast, name="drainer_test")
    server = await app.create_server(host="127.0.0.1", port=0, return_asyncio_server=True)
    await server.startup()
    await server.after_start()
    try:
        for _ in range(100):
            if not fast.outbox.pending():
                break
            await asyncio.sleep(0.05)
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
    assert fast.outbox.pending() == []
    with session_scope(services.engine) as s:
        assert s.execute(select(func.count()).select_from(Need)).scalar() == 1
