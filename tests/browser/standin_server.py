"""Stand-in chat server for widget-mechanics browser tests ONLY (reconnect, offline queue,
escaping, cards and buttons rendering): the real :class:`bot.web.channels.ShopSocketIOInput` in a
Sanic app, with a scripted bot in place of Rasa. The issue's end-to-end flows run against the real
Rasa and action servers (test_e2e.py). The channel verifies identity tokens with
``SHOP_IDENTITY_SECRET`` and counts its limits in ``DATABASE_URL``, as inside Rasa; ``/received``
shows what reached the "bot" (the verified metadata, never the token).

    python -m tests.browser.standin_server --port 5099 --origins http://127.0.0.1:8080
"""
from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict

from sanic import Sanic, response

from bot.web.channels import ShopSocketIOInput

CARDS = {"type": "product_cards", "products": [
    {"id": 1, "name": "Fellrunner Waterproof Hiking Boot", "price": 89.99, "currency": "GBP",
     "url": "/p/fellrunner-waterproof-hiking-boot", "image": None},
    {"id": 9, "name": "<img src=x onerror=\"window.__pwned=1\">", "price": "12.5",
     "currency": "GBP", "url": "javascript:window.__pwned=1", "image": "javascript:alert(1)"},
    # An image on the shop that serves the widget (resolved against the script's origin), one
    # that only looks local but leaves it, and one that fails to load.
    {"id": 3, "name": "Northvale Insulated Parka", "price": 149, "currency": "GBP",
     "url": "/p/northvale-insulated-parka",
     "image": "/images/products/northvale-insulated-parka.svg"},
    {"id": 4, "name": "Elsewhere Mug", "price": 5, "currency": "GBP", "url": "/p/elsewhere-mug",
     "image": "//evil.example/mug.png"},
    {"id": 5, "name": "Missing Image Mug", "price": 6, "currency": "GBP", "url": "/p/missing",
     "image": "/images/products/no-such-product.svg"},
]}


AGENT_LIVE = {"type": "agent_message", "id": 900001, "from": "Priya", "kind": "text",
              "text": "Live from the console <b>bold?</b>"}


def remote_image_cards(shop: str) -> dict:
    """Cards whose images are absolute URLs: on an origin the storefront allows
    (SHOP_IMAGE_ORIGINS: the same storefront reached as "localhost"), on one it does not, and a
    data: URL."""
    allowed = shop.replace("127.0.0.1", "localhost")
    return {"type": "product_cards", "products": [
        {"id": 3, "name": "Northvale Insulated Parka", "price": 149, "currency": "GBP",
         "url": "/p/northvale-insulated-parka",
         "image": f"{allowed}/images/products/northvale-insulated-parka.svg"},
        {"id": 6, "name": "Tracker Mug", "price": 7, "currency": "GBP", "url": "/p/tracker-mug",
         "image": "https://images.elsewhere.example/mug.svg"},
        {"id": 7, "name": "Data Mug", "price": 8, "currency": "GBP", "url": "/p/data-mug",
         "image": "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"},
    ]}


HOST_PAGE = """<!doctype html><html><head><title>Another site</title></head><body>
<h1>A blog that embeds the shop's widget</h1>
<script src="{shop}/widget/widget.js" defer data-server="{chat}" data-title="Help"
  data-image-origins="{images}"></script></body></html>"""


def build_app(origins: str, shop: str = "", image_origins: str = "") -> Sanic:
    app = Sanic("standin_chat")
    received: dict[str, list] = defaultdict(list)
    channel = ShopSocketIOInput.from_credentials({
        "session_persistence": True, "metadata_key": "customData", "cors_origins": origins,
        "rate_per_minute": 600, "address_rate_per_minute": 6000,
    })

    async def bot(message) -> None:
        out, sid, text = message.output_channel, message.sender_id, message.text
        received[sid].append({"text": text, "metadata": message.metadata})
        if text == "cards":
            await out.send_custom_json(sid, dict(CARDS))
        elif text == "remote images":
            await out.send_custom_json(sid, remote_image_cards(shop))
        elif text == "buttons":
            await out.send_text_with_buttons(sid, "Pick one", [
                {"title": "Yes please", "payload": "/affirm"},
                {"title": "No thanks", "payload": "/deny"},
            ])
        elif text == "slow":
            await asyncio.sleep(1.5)
            await out.send_text_message(sid, "done thinking")
        elif text == "agent live":
            # What Rasa's output channel emits for an agent message appended through its API
            # (bot.console.delivery); sent twice, as a retried delivery would.
            for _ in range(2):
                await out.send_custom_json(sid, dict(AGENT_LIVE))
        elif text == "link":
            await out.send_text_message(
                sid, "See [our returns page](https://shop.example/returns) or "
                     "[this](javascript:window.__pwned=1) or https://shop.example/help.")
        else:
            await out.send_text_message(sid, f"You said: {text}")

    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/socketio")

    @app.get("/received")
    async def show(request):
        return response.json(received.get(request.args.get("session", ""), []))

    @app.get("/health")
    async def health(request):
        return response.json({"status": "ok"})

    @app.get("/host")
    async def host(request):
        """A page of another site embedding the storefront's widget (its socket goes here)."""
        chat = f"{request.scheme}://{request.host}"
        return response.html(HOST_PAGE.format(shop=shop, chat=chat, images=image_origins))

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--origins", default="")
    parser.add_argument("--shop", default="", help="the storefront's origin (host page, cards)")
    parser.add_argument("--image-origins", default="")
    args = parser.parse_args()
    shop = args.shop or (args.origins.split(",")[0] if args.origins else "")
    build_app(args.origins, shop, args.image_origins).run(host="127.0.0.1", port=args.port,
                                                          access_log=False)


if __name__ == "__main__":
    main()
