"""GET /account/export.json: only a browser signed in as the customer downloads their data."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot import audit
from bot.demo.fixtures import ALICE_ID, BEN_ID
from bot.identity import VERIFIED_KEY
from bot.services import Services
from bot.settings import PrivacySettings
from bot.store.db import session_scope
from bot.web.app import create_app
from tests.privacy.rasa_store import save_conversation


async def sign_in(client, customer_id):
    resp = await client.post("/account/signin", data={"customer_id": str(customer_id),
                                                      "next": "/"}, allow_redirects=False)
    assert resp.status == 303


@pytest.fixture
def tracker(tmp_path):
    """Rasa's store, written outside the test's event loop (the store runs its own)."""
    tracker = tmp_path / "tracker.db"
    save_conversation(tracker, "ben-1", [("my own words about a walrus kettle", "noted")],
                      start=1_780_000_000, metadata={VERIFIED_KEY: BEN_ID})
    save_conversation(tracker, "alice-1", [("alice talks about a teal scarf", "ok")],
                      start=1_780_000_000, metadata={VERIFIED_KEY: ALICE_ID})
    return tracker


@pytest.fixture
async def export_client(aiohttp_client, web_config, shop, tracker):
    settings = replace(web_config.settings,
                       privacy=PrivacySettings(tracker_url=f"sqlite:///{tracker}"))
    config = replace(web_config, settings=settings)
    return await aiohttp_client(create_app(config, Services(settings, engine=shop)))


async def test_signed_in_customer_downloads_own_data_only(export_client, shop):
    assert (await export_client.get("/account/export.json")).status == 403
    await sign_in(export_client, BEN_ID)
    resp = await export_client.get("/account/export.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    data = json.loads(await resp.text())
    assert data["customer"]["id"] == BEN_ID
    body = json.dumps(data)
    assert "walrus kettle" in body and "teal scarf" not in body
    with session_scope(shop) as s:
        [record] = audit.recent(s, action="data_exported")
    assert record.actor == f"customer:{BEN_ID}"


async def test_a_forged_cookie_gets_nothing(export_client):
    export_client.session.cookie_jar.update_cookies({"shop_session": "2.9999999999.forged"})
    resp = await export_client.get("/account/export.json")
    assert resp.status == 403 and "walrus" not in await resp.text()


async def test_an_erased_customer_can_no_longer_sign_in(export_client, shop):
    from bot.privacy.erasure import erase_customer
    from bot.services import Services
    from bot.settings import Settings

    services = Services(Settings(database_url=str(shop.url), identity_secret="x"), engine=shop)
    erase_customer(services, BEN_ID, actor="staff:test")
    html = await (await export_client.get("/")).text()
    assert f'value="{BEN_ID}"' not in html and "Okafor" not in html  # not in the switcher
    resp = await export_client.post("/account/signin", data={"customer_id": str(BEN_ID)},
                                    allow_redirects=False)
    assert resp.status == 400
