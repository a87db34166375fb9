"""Where captured needs wait while the shop database is down: one JSON line per record."""
from __future__ import annotations

import fcntl
import json
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError


class Outbox:
    """Need records waiting for the database: one JSON line each, guarded by a file lock."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps(record, default=str) + "\n")

    def pending(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def drain(self, write) -> int:
        """Call ``write(record)`` for each pending record; keep those that fail. Returns written."""
        if not self.path.exists():
            return 0
        with self.path.open("r+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            records = [json.loads(line) for line in handle if line.strip()]
            kept, written = [], 0
            for record in records:
                try:
                    write(record)
                    written += 1
                except SQLAlchemyError:
                    kept.append(record)
            handle.seek(0)
            handle.truncate()
            handle.write("".join(json.dumps(r, default=str) + "\n" for r in kept))
        return written
