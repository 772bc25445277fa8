"""SIGTERM during a build is handled like Ctrl-C: the same clean-up runs (temporary folder removed, worker
processes stopped), where the default action would kill the process and leave both behind."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM; a KeyboardInterrupt, so every clean-up for Ctrl-C covers it."""


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated``; the previous handler comes back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; a build in a thread keeps the process's own
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
