"""The import's transform in worker processes (``--workers N``): :func:`lists.columnar.transform_columns`
on chunks, results in order."""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import pandas as pd

from lists.columnar import Transformed, transform_columns
from lists.reader import can_fork
from lists.record import Spec


class TransformPool:
    """Runs :func:`lists.columnar.transform_columns` on chunks in worker processes, results in order, a few chunks ahead."""

    def __init__(self, spec: Spec, workers: int | None = None) -> None:
        self.spec = spec
        n = workers or min(2, os.cpu_count() or 1)
        self.ahead = n + 1
        # fork: workers start in milliseconds with everything imported, and nothing re-runs the
        # caller's __main__. Create the pool before any thread or database connection is in use.
        ctx = multiprocessing.get_context("fork" if can_fork() else "spawn")
        self.pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=gc.disable)
        self.pool.submit(int).result()  # start the workers now

    def map(self, chunks: Iterable[tuple[object, pd.DataFrame, list[int]]]) -> Iterator[tuple[object, Transformed]]:
        """``(tag, frame, row numbers)`` in → ``(tag, transformed)`` out, in the same order."""
        pending: deque[tuple[object, Future]] = deque()
        for tag, frame, rownums in chunks:
            pending.append((tag, self.pool.submit(transform_columns, self.spec, frame, rownums, lists=False)))
            if len(pending) >= self.ahead:
                t, fut = pending.popleft()
                yield t, fut.result().materialised()
        while pending:
            t, fut = pending.popleft()
            yield t, fut.result().materialised()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
