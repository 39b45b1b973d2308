"""The online store kept current at request time: each answered event's history row, written to Feast.

A history row is an entity's trailing-window aggregates *including* one event, known a
second after it (``features/engineering.py``). Materializing writes those rows only
for the data that has landed; an entity that comes back before its last event lands
would otherwise be served the history of the last materialization. ``FreshHistory``
closes that gap on the serving side:

* it keeps each entity's raw events of the trailing window: seeded from the landed
  batches when the service starts, and added to as the service answers;
* after an event is answered it recomputes the entity's row over the entity's events
  in the window (``latest_history_values``: the window and aggregates of ``entity_history``,
  which builds the offline table, held to the same rows by a test), so an old event
  leaving the window leaves the aggregates too, and writes it with Feast's
  ``write_to_online_store``;
* an entity's requests take turns (a lock per entity, striped): the service takes the
  entity's turn before its feature lookup and hands it, with the answered event, to one
  writer thread (``hand_over``). The answer goes back at once; the writer computes the
  row, writes the rows waiting for it in one ``write_to_online_store`` call, and only
  then gives the turns back. So the row of one event is in the store before the same
  entity's next request reads it, and the write is not on any request's path.
  ``record`` does the same in the caller's thread (tests, the benchmark).

The offline side needs no push: the served events land as weekly batches, and the
history table rebuilt from them holds the same rows (the parity test checks this
through the real service). ``features.fresh_online: false`` turns it off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import queue
import threading
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.settings import Settings
from features.engineering import latest_history_values

if TYPE_CHECKING:
    from feast import FeatureStore

logger = logging.getLogger(__name__)
STRIPES = 1024  # locks shared by entities: two entities wait on each other only if they hash alike
WRITE_BATCH = 256  # rows the writer puts in one write_to_online_store call, at most


@dataclasses.dataclass(frozen=True)
class _Answered:
    """An answered event waiting for its row to be written, and the entity's turn to give back after."""

    entity: str
    stamp: pd.Timestamp
    values: tuple[Any, ...]
    turn: threading.Lock


class FreshHistory:
    """Each entity's recent raw events, and the online row they make, written as events are answered."""

    def __init__(self, settings: Settings, feature_store: FeatureStore, view: str) -> None:
        self.settings = settings
        self.store = feature_store
        self.view = view
        schema = settings.schema_
        self.entity, self.timestamp = schema.entity, schema.timestamp
        self.fields = list(settings.features.history)
        self.window = pd.Timedelta(days=settings.features.window_days)
        self._events: dict[str, list[tuple[pd.Timestamp, tuple[Any, ...]]]] = {}
        self._guard = threading.Lock()  # the dict of events
        self._stripes = [threading.Lock() for _ in range(STRIPES)]
        # One write at a time: Feast's SQLite online store shares one connection between
        # threads, and two transactions on it at once fail ("cannot commit - no transaction").
        self._write = threading.Lock()
        # Bounded without a limit of its own: every waiting event holds a different stripe.
        self._queue: queue.SimpleQueue[_Answered | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_start = threading.Lock()  # starting the writer, queueing, closing: never interleaved
        self._closed = False
        self.seeded = self._seed()

    def _seed(self) -> int:
        """The known events of the trailing window before the newest one; 0 when nothing has landed."""
        raw = known_events(self.settings)
        if raw.empty:
            logger.warning("no landed batches: fresh history rows start from the served events alone")
            return 0
        stamps = pd.to_datetime(raw[self.timestamp], utc=True)
        recent = raw.loc[stamps > stamps.max() - self.window, [self.entity, *self.fields]]
        for entity, stamp, values in zip(
            recent[self.entity].astype(str),
            stamps[recent.index],
            recent[self.fields].itertuples(index=False, name=None),
            strict=True,
        ):
            self._events.setdefault(entity, []).append((stamp, values))
        return len(recent)

    def _stripe(self, entity: str) -> threading.Lock:
        return self._stripes[zlib.crc32(entity.encode()) % STRIPES]

    def take_turn(self, entity: str) -> threading.Lock:
        """Wait for ``entity``'s turn: its earlier event's row is online. Give it to ``hand_over`` (or release it)."""
        turn = self._stripe(entity)
        turn.acquire()
        return turn

    def hand_over(
        self, turn: threading.Lock, entity: str, event_time: dt.datetime | None, values: Mapping[str, Any]
    ) -> None:
        """Queue an answered event for the writer, which gives ``turn`` back once the entity's row is online.

        After ``close`` (a request still in flight while the service shuts down) the row is
        written here instead, and the turn given back, so no entity waits for a writer that is gone.
        """
        with self._writer_start:
            if not self._closed:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_loop, name="fresh-history-writer", daemon=True)
                    self._writer.start()
                self._queue.put(_Answered(entity, _utc(event_time), self._values(values), turn))
                return
        try:
            self.record(entity, event_time, values)
        except Exception:  # answered and logged already: the row comes with the next materialization
            logger.exception("could not write %s's history row at shutdown", entity)
        finally:
            turn.release()

    def record(self, entity: str, event_time: dt.datetime | None, values: Mapping[str, Any]) -> pd.DataFrame:
        """Add an answered event and write the entity's new history row online, here; returns the row.

        ``event_time`` is the event's own time when the request carries it (the contract's
        timestamp), else now. The caller keeps the entity's events in order (``take_turn``).
        A row that cannot be computed is logged and not written, as in the writer thread.
        """
        return self.record_many([(entity, event_time, values)])

    def record_many(self, events: Sequence[tuple[str, dt.datetime | None, Mapping[str, Any]]]) -> pd.DataFrame:
        """``record`` for several answered events (entity, time, values): their rows in one write, as the writer."""
        return self._write_rows([(entity, _utc(at), self._values(values)) for entity, at, values in events])

    def _write_rows(self, events: list[tuple[str, pd.Timestamp, tuple[Any, ...]]]) -> pd.DataFrame:
        """Each event's new history row, computed, then all of them in one ``write_to_online_store`` call.

        A row that cannot be computed is left out and logged (its event is answered and logged
        already: the row comes with the next materialization); the others are still written.
        """
        rows = []
        for entity, stamp, values in events:
            try:
                rows.append(self._row(entity, stamp, values))
            except Exception:
                logger.exception("could not compute %s's history row", entity)
        frame = pd.DataFrame(rows)  # one frame of plain values: a frame per row cost more than the arithmetic
        if rows:
            with self._write:
                self.store.write_to_online_store(self.view, frame)
        return frame

    def close(self, seconds: float = 10.0) -> None:
        """Write what is waiting, then stop the writer; later hand-overs write their rows themselves."""
        with self._writer_start:
            self._closed = True
            writer = self._writer
            if writer is not None:
                self._queue.put(None)  # after every queued event: the writer writes them all first
        if writer is not None:
            writer.join(seconds)

    def _values(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values.get(name) for name in self.fields)

    def _row(self, entity: str, stamp: pd.Timestamp, values: tuple[Any, ...]) -> dict[str, Any]:
        """The entity's history row including this event (column to value); the event joins the entity's window."""
        with self._guard:
            kept = [e for e in self._events.get(entity, []) if e[0] != stamp] + [(stamp, values)]
            newest = max(e[0] for e in kept)
            kept = [e for e in kept if e[0] > newest - self.window]
            self._events[entity] = kept
        numbers = np.array([[np.nan if v is None else v for v in e[1]] for e in kept], dtype="float64")
        return latest_history_values(
            entity, [e[0] for e in kept], numbers, self.settings.schema_, self.settings.features
        )

    def _write_loop(self) -> None:
        """Take what is waiting (up to ``WRITE_BATCH``), write it in one call, give the turns back; until ``close``."""
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            waiting = [first]
            while len(waiting) < WRITE_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                waiting.append(item)
            try:
                self._write_rows([(answered.entity, answered.stamp, answered.values) for answered in waiting])
            except Exception:
                logger.exception("could not write %d history rows online", len(waiting))
            finally:
                for answered in waiting:
                    answered.turn.release()


def _utc(event_time: dt.datetime | None) -> pd.Timestamp:
    stamp = pd.Timestamp(event_time or dt.datetime.now(dt.UTC))
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def known_events(settings: Settings) -> pd.DataFrame:
    """Every event the platform holds: accepted batches (``data/raw``) and those landed since, not yet
    accepted by a training run; the entity, the time and the ``features.history`` columns, in event order."""
    from features import ingest

    schema = settings.schema_
    columns = list(dict.fromkeys([schema.entity, schema.timestamp, *settings.features.history]))
    tie = [schema.tie_breaker] if schema.duplicate_events.action == "keep" and schema.tie_breaker else []
    paths = [*ingest.accepted_batches(settings), *ingest.landed_batches(settings)]
    if not paths:
        return pd.DataFrame(columns=columns)
    frames = [pd.read_parquet(p, columns=list(dict.fromkeys([*columns, *tie]))) for p in paths]
    frame = pd.concat(frames, ignore_index=True)
    frame[schema.timestamp] = pd.to_datetime(frame[schema.timestamp], utc=True)
    frame = ingest.break_ties(frame.drop_duplicates(), schema)
    return frame.sort_values(schema.timestamp, kind="stable").reset_index(drop=True)[columns]
