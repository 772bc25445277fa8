"""Imported first, and only, by the build's fork server, so that Ctrl-C leaves the CLI's one-line message alone.

- The server ignores SIGINT (a traceback from its torch import would print over the message; it ignores the
  signal once its imports are done anyway, and goes when the build's process does). The workers it forks
  restore Python's handler.
- A worker forked just as the build stops finds the pool's semaphores already removed and fails while
  unpickling them; the server prints that through ``sys.excepthook``. Nothing is lost (the build has
  ended), so that one failure is not printed; every other one still is.
"""
import os
import signal
import sys
import traceback

signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool_already_gone(exc_type, exc, tb) -> bool:
    """A FileNotFoundError raised while rebuilding a multiprocessing semaphore: the pool that sent it is gone."""
    if not issubclass(exc_type, FileNotFoundError) or tb is None:
        return False
    last = traceback.extract_tb(tb)[-1]
    return last.name == "__setstate__" and os.path.basename(last.filename) == "synchronize.py"


def _excepthook(exc_type, exc, tb) -> None:
    if not _pool_already_gone(exc_type, exc, tb):
        sys.__excepthook__(exc_type, exc, tb)


sys.excepthook = _excepthook
