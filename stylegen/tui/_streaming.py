"""Helpers for the worker threads that write text: batching, and stopping.

A model writes one character per step; handing each one to the screen would flood the
event loop and stall the keyboard. `batched` joins the chunks and lets one batch through
every `interval` seconds (the first at once, so an answer starts appearing immediately).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Seconds between screen updates while text streams.
INTERVAL = 0.03


def batched(chunks: Iterable[str], stop: Callable[[], bool], interval: float = INTERVAL) -> Iterator[str]:
    """Join `chunks` into batches of about `interval` seconds.

    Once `stop()` is true nothing more is yielded, but `chunks` is still read to its end: the
    producer (a chat session, a generation stream) watches the same cancel event and ends
    within one step, and must be let finish (a chat session closes the turn it was writing).
    """
    buffer: list[str] = []
    last = 0.0
    for chunk in chunks:
        if stop():
            buffer.clear()
            continue
        buffer.append(chunk)
        now = time.monotonic()
        if now - last >= interval:
            yield "".join(buffer)
            buffer.clear()
            last = now
    if buffer and not stop():
        yield "".join(buffer)


def stopper(cancel: threading.Event) -> Callable[[], bool]:
    """A `stop()` for `batched`: true once `cancel` is set; the current Textual worker being
    cancelled (the app closing) sets `cancel` too, so the producer sees it."""
    from textual.worker import NoActiveWorker, get_current_worker

    try:
        worker: Any = get_current_worker()
    except NoActiveWorker:
        worker = None

    def stop() -> bool:
        if worker is not None and worker.is_cancelled:
            cancel.set()
        return cancel.is_set()

    return stop
