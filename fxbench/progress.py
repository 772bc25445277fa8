"""Rich progress bars for the long steps (build, train, predict), silent when asked."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Optional

Advance = Callable[..., None]  # advance(n=1, info="loss 0.12", total=None)


def console():
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: Optional[int], enabled: bool = True) -> Iterator[Advance]:
    """Yield ``advance(n=1, info=None, total=None)``; draws on stderr so stdout stays parseable. A new
    ``total`` lets a step that ends short (a source with fewer clips than asked) finish its bar there."""
    if not enabled:
        yield lambda n=1, info=None, total=None: None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
    with Progress(*columns, console=console()) as bar:
        handle = bar.add_task(description, total=total, info="")

        def advance(n: int = 1, info: Optional[str] = None, total: Optional[int] = None) -> None:
            extra = {"info": info} if info is not None else {}
            bar.update(handle, advance=n, **extra, **({"total": total} if total is not None else {}))

        yield advance
