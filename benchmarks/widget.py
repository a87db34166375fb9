"""Widget speed and size in headless Chromium (system chromium, Playwright).

Measures, against the real Rasa + action servers (trained model) or, with ``--standin``, the
stand-in chat server (channel + scripted bot, no NLU):

* page load -> widget ready: navigation start to the socket.io ``session_confirm`` (fresh browser
  context each load, so nothing is cached), p50/p95 over ``--loads`` loads;
* send -> first bot message: from the Send press to the first bot bubble in the page (timed in the
  page), p50/p95 over ``--messages`` messages, sent in sessions of 5 (the channel allows 30 a
  minute per conversation and 120 per client address);
* bytes the page downloads for the widget: script bundle and stylesheet, on the wire (gzip) and
  uncompressed.

    .venv/bin/python benchmarks/widget.py [--standin] [--loads 10] [--messages 20] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import servers as srv  # noqa: E402
from tests.browser import harness  # noqa: E402
from tests.browser.widget_page import open_widget  # noqa: E402

SECRET = "benchmark-secret"
MESSAGES = [
    "hi", "what delivery options do you have?", "how long does delivery take",
    "what payment methods do you take", "how do refunds work", "is there a fee to cancel",
    "can I pay with paypal?", "what's your phone number", "are you a bot?", "thanks!",
    "hello again", "how much is next day delivery", "do you accept apple pay",
    "how long do refunds take", "how do I create an account", "I forgot my password",
    "opening hours?", "how do I place an order by phone", "cheers", "bye",
]

TIME_TO_FIRST_REPLY = """async (text) => {
  const log = document.querySelector('.sc-log');
  const input = document.querySelector('.sc-input');
  const before = log.querySelectorAll('.sc-bot').length;
  let t0 = 0;
  const ms = await new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      if (log.querySelectorAll('.sc-bot').length > before) {
        obs.disconnect();
        resolve(performance.now() - t0);
      }
    });
    obs.observe(log, { childList: true });
    input.value = text;
    t0 = performance.now();
    input.form.requestSubmit();
  });
  return ms;
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(pct(values, 0.95), 1), "max_ms": round(max(values), 1)}


def measure(shop_url: str, browser, loads: int, messages: int) -> dict:
    ready, first_reply, sizes = [], [], {}
    sessions = max(1, -(-messages // 5))
    for i in range(max(loads, sessions)):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()

        def on_response(response):
            if "/widget/widget." in response.url and response.status == 200:
                s = response.request.sizes()
                sizes[response.url.split("/widget/")[1].split("?")[0]] = {
                    "wire_bytes": s["responseBodySize"] + s["responseHeadersSize"],
                    "body_bytes_wire": s["responseBodySize"],
                    "headers": dict(response.headers),
                }

        page.on("response", on_response)
        page.goto(shop_url)
        page.wait_for_selector(".sc-root[data-state=ready]", state="attached", timeout=60_000)
        ready.append(page.evaluate("() => window.shopChat.readyAt"))
        if i < sessions:
            open_widget(page)
            for text in MESSAGES[i * 5:(i + 1) * 5][: messages - len(first_reply)]:
                first_reply.append(page.evaluate(TIME_TO_FIRST_REPLY, text))
                page.wait_for_timeout(400)  # let multi-part replies finish before the next
        context.close()
    bundle = {}
    for name, info in sizes.items():
        bundle[name] = {"wire_bytes_incl_headers": info["wire_bytes"],
                        "gzip_body_bytes": info["body_bytes_wire"],
                        "content_encoding": info["headers"].get("content-encoding", "")}
    return {"page_load_to_widget_ready": summary(ready),
            "send_to_first_bot_message": summary(first_reply),
            "widget_download": bundle}


def uncompressed_sizes() -> dict:
    """Sizes of what the storefront serves (bundle = socket.io-client + our widget.js)."""
    import gzip

    from bot.web.bundle import STATIC_DIR, build_widget_css, build_widget_js

    js, css = build_widget_js(), build_widget_css()
    ours = (STATIC_DIR / "widget.js").read_bytes()
    return {"widget.js_bytes": len(js.body), "widget.js_gzip_bytes": len(js.gzipped),
            "our_widget_code_bytes": len(ours),
            "our_widget_code_gzip_bytes": len(gzip.compress(ours, 9)),
            "widget.css_bytes": len(css.body), "widget.css_gzip_bytes": len(css.gzipped)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--standin", action="store_true",
                        help="use the stand-in chat server instead of real Rasa (no NLU)")
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'shop.db'}"
        srv.seed_live_db(db_url)
        shop_port = srv.free_port()
        origin = f"http://127.0.0.1:{shop_port}"
        if args.standin:
            chat = harness.standin(work, srv.free_port(), origin, db_url=db_url,
                                   secret=SECRET).start()
            stack.callback(chat.stop)
            chat_url = chat.url
        else:
            chat_url = stack.enter_context(harness.real_chat_servers(work, db_url, SECRET, origin))
        shop = harness.storefront(work, shop_port, db_url, SECRET, chat_url,
                                  work / "images").start()
        stack.callback(shop.stop)
        browser = stack.enter_context(harness.chromium())
        result = measure(shop.url, browser, args.loads, args.messages)
    result["chat_server"] = "stand-in (no NLU)" if args.standin else "real Rasa + action server"
    result["bundle_sizes"] = uncompressed_sizes()
    result["seconds_total"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
