"""A fake Rasa HTTP API for the console's delivery tests: a real HTTP server in a thread that
records what it is sent (``POST /conversations/{id}/tracker/events``) and answers with the
status (and after the delay) the test sets."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlparse


@dataclass
class Received:
    path: str
    query: dict
    headers: dict
    events: list


@dataclass
class FakeRasa:
    """What the fake API answers: ``status`` (HTTP code), after ``delay`` seconds."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    requests: list = field(default_factory=list)

    def events(self, conversation_id: str | None = None) -> list[dict]:
        return [e for r in self.requests
                if conversation_id is None or r.path.endswith(f"/{conversation_id}/tracker/events")
                for e in r.events]

    def custom(self, conversation_id: str | None = None) -> list[dict]:
        return [e["data"]["custom"] for e in self.events(conversation_id) if e["event"] == "bot"]


@contextmanager
def fake_rasa_server() -> Iterator[FakeRasa]:
    fake = FakeRasa()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if fake.delay:
                time.sleep(fake.delay)
            url = urlparse(self.path)
            if fake.status == 200:
                fake.requests.append(Received(url.path, parse_qs(url.query),
                                              dict(self.headers), json.loads(body)))
            out = json.dumps({"sender_id": "x", "events": []}).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
