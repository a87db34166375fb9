"""The staff console's live paths and its queue page, on the real servers.

    .venv/bin/python benchmarks/console.py [--messages 200] [--escalations 10000] [--json]

Starts the real action server, Rasa server (trained model, our socket.io channel) and storefront
on a fresh seeded SQLite shop database, signs an agent in, and has a shopper (a python-socketio client
on long-polling: the pinned engine.io client's websocket transport needs a newer aiohttp than Rasa
pins) ask for a person. Then, with the agent's takeover:

- agent -> widget: the time from the agent's POST of a message to the console until the
  shopper's socket.io client receives it (stored, appended to the conversation in Rasa, emitted);
- shopper -> console: the time from the shopper's socket.io message until the console's live
  stream (server-sent events) delivers it to the agent;
- the queue page (``GET /console/``, server-rendered, first page of 50) and its JSON
  (``/console/api/queue``) with ``--escalations`` escalations in the database.

Prints p50/p95 in milliseconds (targets: live paths p50 under 100 ms, queue page p95 under
200 ms).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import queue as queue_module
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
import socketio  # noqa: E402

from bot import servers as srv  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.staff import accounts  # noqa: E402
from bot.store.db import session_scope  # noqa: E402
from bot.store.models import Escalation  # noqa: E402
from tests.browser import harness  # noqa: E402

PASSWORD = "benchmark password 1"
AGENT = "bench.agent@example.test"
SECRET = "benchmark-identity-secret"


def stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
            "max_ms": round(ordered[-1], 1)}


def seed_escalations(services: Services, count: int) -> None:
    """``count`` escalations, mostly resolved, a few hundred open or claimed (a busy shop)."""
    now = services.now()
    rows = []
    for i in range(count):
        status = "open" if i % 40 == 0 else ("claimed" if i % 40 == 1 else "resolved")
        created = now - timedelta(minutes=count - i)
        rows.append({"conversation_id": f"bench-{i:06d}", "customer_id": 1 + i % 2 if i % 3 else None,
                     "reason": ("human_request", "fallback", "complaint")[i % 3],
                     "status": status, "summary": "- seeded", "created_at": created,
                     "updated_at": created, "last_message": f"seeded message {i}",
                     "paused": False,
                     "outcome": "solved" if status == "resolved" else None,
                     "resolved_at": created + timedelta(minutes=5) if status == "resolved" else None})
    with session_scope(services.engine) as s:
        s.bulk_insert_mappings(Escalation, rows)


class Shopper:
    """The widget's side of socket.io, in a thread with its own event loop."""

    def __init__(self, rasa_url: str, origin: str):
        self.received: "queue_module.Queue[tuple[float, dict]]" = queue_module.Queue()
        self.loop = asyncio.new_event_loop()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.session = ""
        confirmed = threading.Event()

        @self.sio.on("session_confirm")
        async def on_confirm(session_id):
            self.session = session_id
            confirmed.set()

        @self.sio.on("bot_uttered")
        async def on_bot(data):
            self.received.put((time.perf_counter(), data))

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.sio.connect(rasa_url, headers={"Origin": origin},
                                   transports=["polling"], socketio_path="/socket.io"))
        self.call(self.sio.emit("session_request", {"session_id": None}))
        if not confirmed.wait(20):
            raise RuntimeError("no session_confirm from the Rasa server")

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def say(self, text: str) -> float:
        start = time.perf_counter()
        self.call(self.sio.emit("user_uttered", {"message": text, "session_id": self.session}))
        return start

    def wait_for(self, predicate, timeout: float = 30) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("nothing arrived in the widget")
            at, data = self.received.get(timeout=left)
            if predicate(data):
                return at, data

    def drain(self) -> None:
        while not self.received.empty():
            self.received.get_nowait()

    def close(self) -> None:
        self.call(self.sio.disconnect())
        self.loop.call_soon_threadsafe(self.loop.stop)


def sign_in(shop_url: str) -> tuple[requests.Session, str]:
    agent = requests.Session()
    form = agent.get(f"{shop_url}/staff/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = agent.post(f"{shop_url}/staff/login", timeout=10, allow_redirects=False,
                          data={"email": AGENT, "password": PASSWORD, "csrf_token": token,
                                "next": "/console/"})
    if response.status_code != 303:
        raise RuntimeError(f"agent sign-in failed: {response.status_code}")
    csrf = agent.get(f"{shop_url}/staff/me.json", timeout=10).json()["csrf_token"]
    return agent, csrf


def agent_to_widget(shop_url, agent, csrf, shopper, escalation_id, messages) -> list[float]:
    samples = []
    for i in range(messages):
        text = f"agent message {i} {secrets.token_hex(3)}"
        shopper.drain()
        start = time.perf_counter()
        response = agent.post(f"{shop_url}/console/api/escalations/{escalation_id}/message",
                              json={"text": text}, headers={"X-CSRF-Token": csrf}, timeout=10)
        response.raise_for_status()
        at, _ = shopper.wait_for(lambda d: isinstance(d, dict) and d.get("text") == text)
        samples.append((at - start) * 1000)
    return samples


def shopper_to_console(shop_url, agent, shopper, conversation, messages) -> list[float]:
    """Follow the console's stream in a thread; time each shopper message until it arrives."""
    arrived: "queue_module.Queue[tuple[float, str]]" = queue_module.Queue()
    stop = threading.Event()
    after = agent.get(f"{shop_url}/console/api/c/{conversation}", timeout=10).json()["messages"]
    last = max((m["event_id"] for m in after), default=0)

    def follow():
        with agent.get(f"{shop_url}/console/api/c/{conversation}/stream?after={last}",
                       stream=True, timeout=60) as response:
            event = ""
            for line in response.iter_lines(decode_unicode=True):
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "messages":
                    now = time.perf_counter()
                    for message in json.loads(line[6:])["messages"]:
                        arrived.put((now, message["text"]))

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(1.0)  # the stream is open
    samples = []
    for i in range(messages):
        text = f"shopper message {i} {secrets.token_hex(3)}"
        start = shopper.say(text)
        deadline = time.monotonic() + 30
        while True:
            at, seen = arrived.get(timeout=max(0.1, deadline - time.monotonic()))
            if seen == text:
                samples.append((at - start) * 1000)
                break
    stop.set()
    return samples


def queue_page(shop_url, agent, runs: int) -> dict:
    out = {}
    for name, path in (("html", "/console/"), ("json", "/console/api/queue")):
        agent.get(shop_url + path, timeout=30).raise_for_status()  # warm
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            response = agent.get(shop_url + path, timeout=30)
            samples.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
        out[name] = stats(samples)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--escalations", type=int, default=10_000)
    parser.add_argument("--page-runs", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'shop.db'}"
        srv.seed_live_db(db_url)
        services = Services(Settings(database_url=db_url, identity_secret=SECRET))
        accounts.add(services, email=AGENT, name="Bench Agent", role="agent", password=PASSWORD)
        shop_port = srv.free_port()
        origin = f"http://127.0.0.1:{shop_port}"
        credentials = srv.write_credentials(work / "credentials.yml", **srv.UNLIMITED)
        env = {"DATABASE_URL": db_url, "SHOP_IDENTITY_SECRET": SECRET,
               "SHOP_CORS_ORIGINS": origin}
        with srv.action_server(work, env) as actions, \
                srv.rasa_server(work, harness.MODEL, env, urlparse(actions.url).port,
                                jwt_secret=harness.JWT_SECRET, credentials=credentials) as rasa:
            shop = harness.storefront(work, shop_port, db_url, SECRET, rasa.url, work,
                                      env=harness.console_env(work, rasa.url)).start()
            try:
                agent, csrf = sign_in(shop.url)
                shopper = Shopper(rasa.url, origin)
                shopper.say("I want to talk to a human please")
                shopper.wait_for(lambda d: "support team" in str(d.get("text", "")), timeout=60)
                with session_scope(services.engine) as s:
                    escalation_id = s.query(Escalation.id).filter(
                        Escalation.conversation_id == shopper.session).scalar()
                agent.post(f"{shop.url}/console/api/escalations/{escalation_id}/takeover",
                           json={}, headers={"X-CSRF-Token": csrf}, timeout=10).raise_for_status()
                shopper.wait_for(lambda d: "joined" in json.dumps(d))
                to_widget = agent_to_widget(shop.url, agent, csrf, shopper, escalation_id,
                                            args.messages)
                to_console = shopper_to_console(shop.url, agent, shopper, shopper.session,
                                                args.messages)
                shopper.close()
                seed_escalations(services, args.escalations)
                page = queue_page(shop.url, agent, args.page_runs)
            finally:
                shop.stop()
        services.close()
    result = {"agent_to_widget": stats(to_widget), "shopper_to_console": stats(to_console),
              "queue_page": page, "escalations": args.escalations + 1}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"agent -> widget      p50 {result['agent_to_widget']['p50_ms']} ms, "
              f"p95 {result['agent_to_widget']['p95_ms']} ms over {args.messages} messages")
        print(f"shopper -> console   p50 {result['shopper_to_console']['p50_ms']} ms, "
              f"p95 {result['shopper_to_console']['p95_ms']} ms over {args.messages} messages")
        for name, figures in page.items():
            print(f"queue page ({name})   p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms "
                  f"with {result['escalations']} escalations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
