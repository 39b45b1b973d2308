"""The online store kept current at request time: each answered event's history row, written to Feast.

A history row is an entity's trailing-window aggregates *including* one event, known a
second after it (``features/engineering.py``). Materializing writes those rows only
for the data that has landed; an entity that comes back before its last event lands
would otherwise be served the history of the last materialization. ``FreshHistory``
closes that gap on the serving side:

* a **writer process** of its own keeps each entity's raw events of the trailing
  window (seeded from the landed batches when it starts, added to as the service
  answers), recomputes the entity's row over them after each answered event
  (``latest_history_values``: the window and aggregates of ``entity_history``, which
  builds the offline table, held to the same rows by a test), so an old event leaving
  the window leaves the aggregates too, and writes the rows with Feast's
  ``write_to_online_store``. A process, not a thread: computing and writing the rows
  was a third of the service process's time under load, and there it took the
  interpreter from the requests (``make bench-serving``: fresh rows on against off);
* an entity's requests take turns (a lock per entity, striped): the service takes the
  entity's turn before its feature lookup and hands it, with the answered event, to a
  relay thread (``hand_over``). The answer goes back at once; the relay sends the events
  waiting to the writer process, and gives their turns back only when it says the rows
  are written. So the row of one event is in the store before the same entity's next
  request reads it, and the write is on no request's path. ``record`` does the same
  and waits for it (tests, the benchmark).

The offline side needs no push: the served events land as weekly batches, and the
history table rebuilt from them holds the same rows (the parity test checks this
through the real service). ``features.fresh_online: false`` turns it off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import multiprocessing
import queue
import threading
import zlib
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any, cast

import numpy as np
import pandas as pd

from core.settings import Settings
from features.engineering import latest_history_values

logger = logging.getLogger(__name__)
STRIPES = 1024  # locks shared by entities: two entities wait on each other only if they hash alike
WRITE_BATCH = 256  # rows the writer puts in one write_to_online_store call, at most
START_SECONDS = 120.0  # the writer process's start: an interpreter, Feast, and the landed batches read

Event = tuple[str, pd.Timestamp, tuple[Any, ...]]  # entity, event time (UTC), its features.history values


@dataclasses.dataclass(frozen=True)
class _Answered:
    """An answered event waiting for its row to be written, and the entity's turn to give back after."""

    entity: str
    stamp: pd.Timestamp
    values: tuple[Any, ...]
    turn: threading.Lock


class EventWindows:
    """Each entity's events of the trailing window, and the history row they make: the writer process's state."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        schema = settings.schema_
        self.entity, self.timestamp = schema.entity, schema.timestamp
        self.fields = list(settings.features.history)
        self.window = pd.Timedelta(days=settings.features.window_days)
        self._events: dict[str, list[tuple[pd.Timestamp, tuple[Any, ...]]]] = {}
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

    def rows(self, events: Sequence[Event]) -> tuple[pd.DataFrame, list[str]]:
        """Each event's new history row, in one frame, and a message for each event whose row cannot be computed.

        A row that cannot be computed is left out (its event is answered and logged already:
        the row comes with the next materialization); the others are still written.
        """
        rows, failures = [], []
        for entity, stamp, values in events:
            try:
                rows.append(self._row(entity, stamp, values))
            except Exception as error:
                failures.append(f"could not compute {entity}'s history row: {type(error).__name__}: {error}")
        return pd.DataFrame(rows), failures  # one frame of plain values: a frame per row cost more than the arithmetic

    def _row(self, entity: str, stamp: pd.Timestamp, values: tuple[Any, ...]) -> dict[str, Any]:
        """The entity's history row including this event (column to value); the event joins the entity's window."""
        kept = [e for e in self._events.get(entity, []) if e[0] != stamp] + [(stamp, values)]
        newest = max(e[0] for e in kept)
        kept = [e for e in kept if e[0] > newest - self.window]
        numbers = np.array([[np.nan if v is None else v for v in e[1]] for e in kept], dtype="float64")
        row = latest_history_values(
            entity, [e[0] for e in kept], numbers, self.settings.schema_, self.settings.features
        )
        self._events[entity] = kept  # only once the row is computed: a bad value does not stay in the window
        return row


def _write_rows_forever(connection: Connection, settings: Settings, view: str) -> None:
    """The writer process: seed the windows, say so, then write each batch of events sent until told to stop.

    Each batch is answered with the rows written (or their count), the events whose rows
    could not be computed, and an error if the write itself failed. It stops on ``None``
    or when the service that started it is gone (the pipe closed).
    """
    from features.store import open_store

    windows = EventWindows(settings)
    store = open_store(settings)
    connection.send(("ready", windows.seeded))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        events, want_rows = message
        frame, failures = windows.rows(events)
        error = None
        try:
            if len(frame):
                store.write_to_online_store(view, frame)
        except Exception as failed:
            error = f"{type(failed).__name__}: {failed}"
        connection.send(("written", frame if want_rows else len(frame), failures, error))


class FreshHistory:
    """Answered events handed to the writer process, and each entity's turn given back once its row is online."""

    def __init__(self, settings: Settings, view: str) -> None:
        self.settings = settings
        self.view = view
        self.fields = list(settings.features.history)
        self._stripes = [threading.Lock() for _ in range(STRIPES)]
        self._write = threading.Lock()  # one exchange with the writer process at a time (one pipe)
        # Bounded without a limit of its own: every waiting event holds a different stripe.
        self._queue: queue.SimpleQueue[_Answered | None] = queue.SimpleQueue()
        self._relay: threading.Thread | None = None
        self._relay_start = threading.Lock()  # starting the relay, queueing, closing: never interleaved
        self._closed = False
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None
        self._seeded: int | None = None
        with self._write:
            self._start_process()  # in the background: the service loads its models meanwhile

    def _start_process(self) -> None:
        """A new writer process (seeding in the background); one that came before is ended first."""
        if self._pipe is not None:
            self._pipe.close()
        if self._process is not None and self._process.is_alive():
            self._process.terminate()  # its pipe broke: it cannot be trusted with a write
        if self._process is not None:
            self._process.join(10)
        # spawn: a fresh interpreter, not a fork of this one and its threads (BentoML's, the batcher's)
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_write_rows_forever,
            args=(theirs, self.settings, self.view),
            name="fresh-history-writer",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._process, self._pipe, self._seeded = process, ours, None

    def _ready_pipe(self) -> tuple[Connection, int]:
        """The pipe to a writer process that has seeded its windows, and how many events it seeded with.

        Waits for the writer the first time; called under ``_write``.
        """
        if self._pipe is None:
            raise RuntimeError("the fresh history writer is closed")
        if self._seeded is None:
            if not self._pipe.poll(START_SECONDS):
                raise RuntimeError(f"the fresh history writer did not start in {START_SECONDS:.0f} s")
            _, self._seeded = self._pipe.recv()
        return self._pipe, self._seeded

    @property
    def seeded(self) -> int:
        """The landed events the writer process's windows started from."""
        with self._write:
            return self._ready_pipe()[1]

    def _exchange(self, events: list[Event], want_rows: bool) -> pd.DataFrame | int:
        """Send ``events`` to the writer process, wait until their rows are written; a writer that died is replaced."""
        with self._write:
            try:
                pipe, _ = self._ready_pipe()
                pipe.send((events, want_rows))
                _, written, failures, error = pipe.recv()
            except (EOFError, OSError) as gone:
                # Its windows went with it: the new one starts from the landed batches, as a restarted service does.
                logger.error("the fresh history writer process stopped (%s); starting another", gone)
                self._start_process()
                raise RuntimeError(f"the fresh history writer stopped before writing {len(events)} rows") from gone
        for failure in failures:
            logger.error("%s", failure)
        if error is not None:
            raise RuntimeError(f"could not write {len(events) - len(failures)} history rows online: {error}")
        return cast(pd.DataFrame | int, written)  # the rows when asked for, else their count

    def take_turn(self, entity: str) -> threading.Lock:
        """Wait for ``entity``'s turn: its earlier event's row is online. Give it to ``hand_over`` (or release it)."""
        turn = self._stripes[zlib.crc32(entity.encode()) % STRIPES]
        turn.acquire()
        return turn

    def hand_over(
        self, turn: threading.Lock, entity: str, event_time: dt.datetime | None, values: Mapping[str, Any]
    ) -> None:
        """Queue an answered event for the writer, which gives ``turn`` back once the entity's row is online.

        After ``close`` (a request still in flight while the service shuts down) the writer
        is gone: the row is left to the next materialization, logged, and the turn given
        back, so no entity waits for a writer that is gone.
        """
        with self._relay_start:
            if not self._closed:
                if self._relay is None:
                    self._relay = threading.Thread(target=self._relay_loop, name="fresh-history-relay", daemon=True)
                    self._relay.start()
                self._queue.put(_Answered(entity, _utc(event_time), self._values(values), turn))
                return
        logger.warning("the service is stopping: %s's history row comes with the next materialization", entity)
        turn.release()

    def record(self, entity: str, event_time: dt.datetime | None, values: Mapping[str, Any]) -> pd.DataFrame:
        """Add an answered event and write the entity's new history row online, waiting for it; returns the row.

        ``event_time`` is the event's own time when the request carries it (the contract's
        timestamp), else now. The caller keeps the entity's events in order (``take_turn``).
        A row that cannot be computed is logged and not written, as in the relay.
        """
        return self.record_many([(entity, event_time, values)])

    def record_many(self, events: Sequence[tuple[str, dt.datetime | None, Mapping[str, Any]]]) -> pd.DataFrame:
        """``record`` for several answered events (entity, time, values): their rows in one write, as the relay's."""
        written = self._exchange([(entity, _utc(at), self._values(values)) for entity, at, values in events], True)
        return cast(pd.DataFrame, written)  # the rows, as asked for

    def close(self, seconds: float = 10.0) -> None:
        """Write what is waiting, then stop the relay and the writer process."""
        with self._relay_start:
            self._closed = True
            relay = self._relay
            if relay is not None:
                self._queue.put(None)  # after every queued event: the relay sends them all first
        if relay is not None:
            relay.join(seconds)
        with self._write:
            pipe, process, self._pipe = self._pipe, self._process, None
            if pipe is not None:
                with contextlib.suppress(OSError):  # gone already
                    pipe.send(None)
                pipe.close()
        if process is not None:
            process.join(seconds)
            if process.is_alive():
                process.terminate()
                process.join(seconds)

    def _values(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values.get(name) for name in self.fields)

    def _relay_loop(self) -> None:
        """Take what is waiting (up to ``WRITE_BATCH``), have it written, give the turns back; until ``close``."""
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
                self._exchange([(answered.entity, answered.stamp, answered.values) for answered in waiting], False)
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
