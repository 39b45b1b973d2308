"""The shared prediction log (team profile): JSON-line segments on the S3-compatible store.

With ``loop_store`` set (``s3://bucket/prefix``), every replica writes its answered
requests as immutable objects under ``<loop_store>/<project>/predictions/<day>/`` (the
project's own folder: two teams share one store, never a log), one segment per
``serving.log_segment_rows`` records or ``serving.log_flush_seconds`` seconds, whichever
comes first, and the rest on shutdown. The monitor lists and reads every replica's
segments. Without it, the log is the local day files of ``serving/prediction_log.py``,
exactly as before (``open_log``, ``scan_log`` choose).

Why segments on the object store: it is the store the team stack already runs for MLflow's
artifacts and the DVC remote (no new server), an object is written whole or not at all
(no torn lines, no locks between replicas), and fsspec's s3fs is the client DVC already
uses, reading its credentials and endpoint from the environment (``AWS_*``).

The loss window: a request is answered before its record is uploaded. A hard kill
(SIGKILL, out of memory, the machine lost) loses the records not yet written: at most
``log_flush_seconds`` of traffic (and at most ``log_segment_rows`` records once that many
queue). A clean shutdown writes them. A failed upload keeps its records for the next try.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from typing import Any

from core import loop_store
from core.settings import Settings
from serving.prediction_log import LogScan, PredictionLog, json_line, parse_lines

logger = logging.getLogger(__name__)

PREDICTIONS = "predictions"


class SegmentLog:
    """Buffers records in memory; a writer thread uploads them as segments, off the request path."""

    def __init__(self, filesystem: Any, root: str, rows: int, seconds: float) -> None:
        self.filesystem, self.root, self.rows, self.seconds = filesystem, root, rows, seconds
        # Unique per process: replicas and workers never write the same key.
        self.writer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._buffer: list[tuple[dt.datetime, str]] = []
        self._lock = threading.Lock()  # the buffer
        self._uploading = threading.Lock()  # one flush at a time: segments leave in order
        self._full = threading.Event()
        self._stop = threading.Event()
        self._sequence = 0
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()

    def append(self, record: dict[str, Any]) -> None:
        self.append_many([record])

    def append_many(self, records: list[dict[str, Any]]) -> None:
        now = dt.datetime.now(dt.UTC)
        lines = [(now, json_line(now, record)) for record in records]
        with self._lock:
            self._buffer.extend(lines)
            if len(self._buffer) >= self.rows:
                self._full.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._full.wait(self._due())
            self._full.clear()
            if self._stop.is_set():
                break
            with self._lock:
                oldest = self._buffer[0][0] if self._buffer else None
            aged = oldest is not None and (dt.datetime.now(dt.UTC) - oldest).total_seconds() >= self.seconds
            if (aged or self.pending() >= self.rows) and not self.flush(full_only=not aged) and self.pending():
                self._stop.wait(self.seconds)  # the store refused: try again later, not in a loop

    def _due(self) -> float:
        """Seconds until the oldest buffered record has waited ``seconds``."""
        with self._lock:
            if not self._buffer:
                return self.seconds
            waited = (dt.datetime.now(dt.UTC) - self._buffer[0][0]).total_seconds()
        return max(0.01, self.seconds - waited)

    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def flush(self, full_only: bool = False) -> int:
        """Upload what is buffered, a segment per ``rows`` records (only full ones if ``full_only``).

        Returns how many records were written.
        """
        with self._uploading:
            return self._flush(full_only)

    def _flush(self, full_only: bool) -> int:
        written = 0
        while True:
            with self._lock:
                if full_only and len(self._buffer) < self.rows:
                    return written
                taken, self._buffer = self._buffer[: self.rows], self._buffer[self.rows :]
                self._sequence += 1
                sequence = self._sequence
            if not taken:
                return written
            first = taken[0][0]
            key = (
                f"{self.root}/{PREDICTIONS}/{first:%Y-%m-%d}/{first:%Y%m%dT%H%M%S%f}-{self.writer}-{sequence:06d}.jsonl"
            )
            try:
                self.filesystem.makedirs(key.rsplit("/", 1)[0], exist_ok=True)  # a no-op on S3
                self.filesystem.pipe_file(key, "".join(line + "\n" for _, line in taken).encode("utf-8"))
            except Exception:
                with self._lock:  # kept, in order, for the next flush
                    self._buffer[:0] = taken
                logger.exception(
                    "could not write a prediction-log segment; %d records kept for the next try", len(taken)
                )
                return written
            written += len(taken)

    def close(self) -> None:
        """Stop the writer and upload everything still buffered (the service's shutdown)."""
        self._stop.set()
        self._full.set()
        self._thread.join(timeout=30)
        for attempt in range(3):
            self.flush()
            if not self.pending():
                return
            time.sleep(0.5 * (attempt + 1))
        logger.error("%d prediction-log records could not be written at shutdown", self.pending())


def open_log(settings: Settings) -> PredictionLog | SegmentLog:
    """The service's log: local day files, or segments on ``loop_store``."""
    if settings.loop_store is None:
        return PredictionLog(settings.predictions_dir)
    filesystem, root = loop_store.filesystem(settings)
    return SegmentLog(filesystem, root, settings.serving.log_segment_rows, settings.serving.log_flush_seconds)


def scan_segments(filesystem: Any, root: str) -> LogScan:
    """Every segment of every writer, in key order (by first record's time); a bad line is damage."""
    found = LogScan()
    folder = f"{root}/{PREDICTIONS}"
    filesystem.invalidate_cache()  # s3fs caches every folder it listed; other replicas keep writing
    keys = sorted(k for k in filesystem.find(folder) if k.endswith(".jsonl"))
    contents = filesystem.cat(keys) if keys else {}  # a list: a dict back, fetched concurrently by s3fs
    for key in keys:
        # A segment is written whole: there is no torn last line, only damage.
        parse_lines(key.rsplit("/", 1)[-1], contents[key].decode("utf-8").splitlines(), found, torn_possible=False)
    return found


def scan_log(settings: Settings) -> LogScan:
    """Every logged prediction, wherever the settings keep the log."""
    if settings.loop_store is None:
        from serving.prediction_log import scan

        return scan(settings.predictions_dir)
    return scan_segments(*loop_store.filesystem(settings))


def wait_until_logged(settings: Settings, request_ids: list[str], seconds: float | None = None) -> bool:
    """Whether every one of these answers is readable in the log, waiting for the shared log's segments.

    Local files hold each answer before it leaves: no wait. The shared log writes within
    ``serving.log_flush_seconds``, so whoever sent the traffic (the loop, before its monitor
    runs) waits that long, and a little more, at most.
    """
    if settings.loop_store is None or not request_ids:
        return True
    wanted = set(request_ids)
    deadline = time.monotonic() + (seconds if seconds is not None else 2 * settings.serving.log_flush_seconds + 10)
    while True:
        seen = {entry.get("request_id") for entry in scan_log(settings).entries}
        if wanted <= seen:
            return True
        if time.monotonic() >= deadline:
            logger.warning("%d answered requests not yet in the shared log", len(wanted - seen))
            return False
        time.sleep(min(0.5, settings.serving.log_flush_seconds / 4))
