"""Marker lifetimes as RViz has them: a marker published again before its lifetime ends stays up.

A ``Clear`` once written cannot be taken back, so the lifetime's ``Clear`` is written late: each live
marker's expiry is kept per topic (in the pipeline's :class:`~rerun_bridge.convert.registry.SharedState`);
a later message of that topic that re-publishes the marker replaces its expiry, one that arrives past the
expiry writes the ``Clear`` at the expiry's times (the row carries them). What is still pending when the
stream ends is written by :meth:`rerun_bridge.pipeline.Pipeline.finish` (the live bridge also expires
them as its clock passes them, :meth:`~rerun_bridge.pipeline.Pipeline.expire`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rerun_bridge.convert.marker_entities import clear_row
from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import LOG_TIME

_Times = Mapping[str, int]


def _passed(expiry: _Times, now: _Times) -> bool:
    """Whether ``now`` is at or past ``expiry``, on log_time where both have it, else a shared timeline."""
    shared = [LOG_TIME] if LOG_TIME in expiry and LOG_TIME in now else sorted(set(expiry) & set(now))
    return bool(shared) and now[shared[0]] >= expiry[shared[0]]


def _under(entity_path: str, ancestor: str) -> bool:
    return entity_path == ancestor or entity_path.startswith(ancestor.rstrip("/") + "/")


class MarkerLifetimes:
    """Per topic, the expiry times (every timeline) of each live marker entity with a lifetime."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[str, _Times]] = {}

    def expires(self, topic: str, entity_path: str, expiry: _Times) -> None:
        """The marker on ``entity_path`` (re-)published: it now expires at ``expiry``, not before."""
        self._pending.setdefault(topic, {})[entity_path] = dict(expiry)

    def deleted(self, topic: str, entity_path: str, recursive: bool) -> None:
        """A DELETE (or a recursive DELETEALL) cleared these entities already: nothing left to expire."""
        pending = self._pending.get(topic, {})
        for path in [
            path for path in pending if (_under(path, entity_path) if recursive else path == entity_path)
        ]:
            del pending[path]

    def due(self, topic: str, now: _Times) -> list[Row]:
        """The Clears of ``topic``'s markers that expired by ``now``, each at its expiry, oldest first."""
        pending = self._pending.get(topic)
        if not pending:
            return []
        expired = [(path, expiry) for path, expiry in pending.items() if _passed(expiry, now)]
        for path, _expiry in expired:
            del pending[path]
        expired.sort(key=lambda item: sorted(item[1].items()))
        return [clear_row(path, recursive=False, times=expiry) for path, expiry in expired]

    def restore(self, topic: str, rows: list[Row]) -> None:
        """Clears taken by :meth:`due` but not written: pending again (unless re-published since)."""
        pending = self._pending.setdefault(topic, {})
        for row in rows:
            pending.setdefault(row.entity_path, row.times)

    def due_everywhere(self, now: _Times) -> dict[str, list[Row]]:
        """:meth:`due` of every topic (the live bridge's clock passing expiries), by topic."""
        found = {topic: self.due(topic, now) for topic in list(self._pending)}
        return {topic: rows for topic, rows in found.items() if rows}

    def at_stream_end(self) -> dict[str, list[Row]]:
        """Every pending Clear, by topic: nothing re-publishes these markers any more."""
        found = {topic: self.at_topic_end(topic) for topic in list(self._pending)}
        return {topic: rows for topic, rows in found.items() if rows}

    def at_topic_end(self, topic: str) -> list[Row]:
        """Every pending Clear of ``topic``, oldest first: nothing re-publishes its markers any more."""
        pending = self._pending.pop(topic, {})
        ordered = sorted(pending.items(), key=lambda item: sorted(item[1].items()))
        return [clear_row(path, recursive=False, times=expiry) for path, expiry in ordered]


def lifetime_rows(
    entity_path: str, lifetime: int, ctx: ConvertContext, times: Mapping[str, int]
) -> list[Row]:
    """A lifetime's end: kept as the entity's expiry in a pipeline (:mod:`marker_lifetimes`, written once
    a later message or the stream's end shows the marker was not re-published); outside one, at once, as a
    Clear ``lifetime`` after the message."""
    if lifetime <= 0:
        return []
    expiry = {name: value + lifetime for name, value in {**ctx.shared.message_times, **times}.items()}
    if ctx.shared.message_times:
        ctx.shared.get(MarkerLifetimes).expires(ctx.topic, entity_path, expiry)
        return []
    return [clear_row(entity_path, recursive=False, delay_ns=lifetime, times=expiry)]


def with_expiries(ctx: ConvertContext, convert: Callable[[], list[Row]]) -> list[Row]:
    """``convert()``'s rows after the Clears of this topic's markers whose lifetime ended before this
    message (at their expiry). Those are taken before ``convert`` re-publishes any marker, and kept pending
    when it fails (a bad message does not lose them)."""
    lifetimes = ctx.shared.get(MarkerLifetimes)
    due = lifetimes.due(ctx.topic, ctx.shared.message_times)
    try:
        return due + convert()
    except Exception:
        lifetimes.restore(ctx.topic, due)
        raise
