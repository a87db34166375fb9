"""Where captured needs wait while the shop database is down: an append-only file of JSON lines
that a background drainer imports, and that can neither lose a record nor block a chat turn.

Files, all next to the outbox path (``var/needs_outbox.jsonl`` by default):

- ``needs_outbox.jsonl``: appended to by chat turns (and the needs follower). One record per
  line; each append takes a short exclusive lock (``flock``) on the file, writes the whole line,
  and ``fsync``s before it returns, so a record that was reported queued survives a crash.
- ``needs_outbox.jsonl.<time>-<pid>.segment``: what a drain is importing. The drainer *renames*
  the outbox to a segment (``os.replace``, atomic), so new appends go to a fresh file at once,
  and deletes a segment only after every line of it is in the database or in quarantine. A crash
  leaves the segment behind; the next drain finishes it first. ``<segment>.done`` holds how many
  of its lines are already handled (written after each one), so a resumed drain starts there;
  a record imported but not yet counted is imported again, which changes nothing (needs are
  idempotent on their message key).
- ``needs_outbox.quarantine.jsonl``: lines that cannot be imported (not JSON, not a need record,
  refused by the database as invalid), one JSON object each with the raw line and the reason.
  They never block the lines after them. ``needs_outbox.quarantine.reported`` counts how many of
  them staff have been told about (an ``outbox_quarantine`` audit record).
- ``needs_outbox.jsonl.drain.lock``: one drainer at a time (several processes share the file).

An appender that opened the file just before the drainer renamed it notices (its open file is no
longer the one at the path, checked under the lock) and appends to the new file instead; the
drainer takes the same lock on the segment before reading it, so a line is never written into a
segment that is already being read.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

# An append retries this often when the drainer renames the file between open and lock.
_APPEND_TRIES = 20


class BadRecord(Exception):
    """Raised by a drain's ``write`` for a record that can never be imported (quarantined)."""


@dataclass
class DrainResult:
    imported: int = 0
    quarantined: int = 0
    segments_done: int = 0
    busy: bool = False  # another drainer holds the lock: nothing done this time
    stopped: str | None = None  # why the drain stopped early (database unavailable...)
    errors: list[str] = field(default_factory=list)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Outbox:
    """Need records waiting for the database (module docstring)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    # --- paths -------------------------------------------------------------------------------

    @property
    def quarantine_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.quarantine.jsonl")

    @property
    def _reported_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.quarantine.reported")

    @property
    def _lock_path(self) -> Path:
        return self.path.with_name(f"{self.path.name}.drain.lock")

    def segments(self) -> list[Path]:
        """Segments waiting to be (or being) imported, oldest first."""
        found = self.path.parent.glob(f"{self.path.name}.*.segment")
        return sorted(found, key=lambda p: p.name)

    @staticmethod
    def _progress_path(segment: Path) -> Path:
        return segment.with_name(segment.name + ".done")

    # --- appending (chat turns) --------------------------------------------------------------

    def append(self, record: dict) -> None:
        """Add one record durably (fsync) under a short lock; never reads the other records."""
        data = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(_APPEND_TRIES):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    continue  # renamed by a drain after we opened it: open the new file
                mine = os.fstat(fd)
                if (mine.st_dev, mine.st_ino) != (current.st_dev, current.st_ino):
                    continue
                _write_all(fd, data)
                os.fsync(fd)
                if mine.st_size == 0:  # a new file: make its directory entry durable too
                    _fsync_dir(self.path.parent)
                return
            finally:
                os.close(fd)  # also releases the lock
        raise OSError(f"could not append to {self.path}: it kept being renamed")

    # --- reading -----------------------------------------------------------------------------

    def _files(self) -> list[Path]:
        return [*self.segments(), *([self.path] if self.path.exists() else [])]

    @staticmethod
    def _lines(path: Path) -> list[str]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        return [line for line in raw.decode("utf-8", errors="replace").split("\n")
                if line.strip()]

    def pending(self) -> list[dict]:
        """The records still waiting (segments first, then the outbox); corrupt lines are
        skipped here (a drain quarantines them)."""
        records = []
        for path in self._files():
            lines = self._lines(path)
            start = self._progress(path) if path != self.path else 0
            for line in lines[start:]:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
        return records

    def quarantined(self) -> int:
        return len(self._lines(self.quarantine_path))

    def status(self) -> dict:
        """Counts for the ``needs outbox status`` command."""
        waiting = sum(len(self._lines(p)) - (self._progress(p) if p != self.path else 0)
                      for p in self._files())
        return {"pending": waiting, "segments": len(self.segments()),
                "quarantined": self.quarantined(), "unreported": self.unreported_quarantine()}

    # --- quarantine --------------------------------------------------------------------------

    def _quarantine(self, line: str, reason: str, source: Path) -> None:
        entry = {"quarantined_at": datetime.utcnow().isoformat(timespec="seconds"),
                 "reason": reason[:300], "source": source.name, "line": line}
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.quarantine_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        log.warning("needs outbox: quarantined a line of %s (%s)", source.name, reason[:120])

    def _reported(self) -> int:
        try:
            return int(self._reported_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def unreported_quarantine(self) -> int:
        """Quarantined lines staff have not been told about yet."""
        return max(self.quarantined() - self._reported(), 0)

    def mark_reported(self, count: int) -> None:
        """``count`` more quarantined lines have been reported."""
        tmp = self._reported_path.with_name(self._reported_path.name + ".tmp")
        tmp.write_text(str(self._reported() + count))
        os.replace(tmp, self._reported_path)

    # --- draining (background task / command, never a chat turn) ----------------------------

    def _progress(self, segment: Path) -> int:
        try:
            return int(self._progress_path(segment).read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _save_progress(self, segment: Path, handled: int) -> None:
        fd = os.open(self._progress_path(segment), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, 0)
            _write_all(fd, f"{handled:>12}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def _rotate(self) -> None:
        """Turn the outbox into a segment (atomic rename): appends go on into a fresh file."""
        try:
            if self.path.stat().st_size == 0:
                return
        except FileNotFoundError:
            return
        segment = self.path.with_name(f"{self.path.name}.{time.time_ns():020d}-{os.getpid()}"
                                      ".segment")
        os.replace(self.path, segment)
        _fsync_dir(self.path.parent)
        # Wait for an append that had the old file locked; later ones see the rename.
        fd = os.open(segment, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            os.close(fd)

    def _remove(self, segment: Path) -> None:
        segment.unlink()
        self._progress_path(segment).unlink(missing_ok=True)
        _fsync_dir(self.path.parent)

    def drain(self, write: Callable[[dict], object]) -> DrainResult:
        """Import every waiting record with ``write(record)`` (one database transaction each).

        ``write`` raises :class:`BadRecord` for a record that can never be imported (it is
        quarantined and the drain goes on); any other exception stops the drain with nothing
        lost (the segment stays, to be resumed by the next drain).
        """
        result = DrainResult()
        if not self.path.exists() and not self.segments():
            return result
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                result.busy = True
                return result
            self._rotate()
            for segment in self.segments():
                if not self._drain_segment(segment, write, result):
                    break
            return result
        finally:
            os.close(lock)

    def _drain_segment(self, segment: Path, write, result: DrainResult) -> bool:
        lines = self._lines(segment)
        handled = self._progress(segment)
        for index in range(handled, len(lines)):
            line = lines[index]
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise BadRecord("not a JSON object")
                write(record)
                result.imported += 1
            except (ValueError, BadRecord) as err:  # JSON errors are ValueErrors
                self._quarantine(line, f"{err.__class__.__name__}: {err}", segment)
                result.quarantined += 1
            except Exception as err:  # noqa: BLE001 - database down or unknown: keep the rest
                result.stopped = err.__class__.__name__
                result.errors.append(str(err)[:200])
                self._save_progress(segment, index)
                log.warning("needs outbox: drain stopped at line %s of %s (%s); kept",
                            index + 1, segment.name, err.__class__.__name__)
                return False
            self._save_progress(segment, index + 1)
        self._remove(segment)
        result.segments_done += 1
        return True

