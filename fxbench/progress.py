"""Rich progress bars for the long steps (build, train, predict), silent when asked.

A line fits 80 columns with its elapsed time and eta whole: those and the counts have fixed widths, the bar is
short, a long description is cut, and the step's info (losses) takes what is left.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

Advance = Callable[..., None]  # advance(n=1, info="loss 0.12", total=None)

DESCRIPTION_WIDTH = 20
BAR_WIDTH = 10


def console():
    from rich.console import Console

    return Console(stderr=True)


def _clock(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _columns() -> list:
    from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, SpinnerColumn, TextColumn
    from rich.table import Column
    from rich.text import Text

    class Times(ProgressColumn):
        """``elapsed eta remaining`` in one short cell."""

        def render(self, task: Any) -> Text:
            remaining = 0 if task.finished else task.time_remaining
            return Text(f"{_clock(task.elapsed or 0)} eta {_clock(remaining)}", style="progress.elapsed")

    class Info(ProgressColumn):
        """The step's own text, cut to one line: the only cell that yields when the line is too narrow."""

        def render(self, task: Any) -> Text:
            return Text(task.fields.get("info", ""), no_wrap=True, overflow="ellipsis")

    fixed = dict(no_wrap=True)  # a column rich may not squeeze
    return [SpinnerColumn(table_column=Column(**fixed)),
            TextColumn("[bold]{task.description}",
                       table_column=Column(max_width=DESCRIPTION_WIDTH, overflow="ellipsis", **fixed)),
            BarColumn(bar_width=BAR_WIDTH, table_column=Column(**fixed)),
            MofNCompleteColumn(table_column=Column(**fixed)),
            Times(table_column=Column(**fixed)),
            Info()]


@contextmanager
def progress_bar(description: str, total: Optional[int], enabled: bool = True,
                 to: Any = None) -> Iterator[Advance]:
    """Yield ``advance(n=1, info=None, total=None)``; draws on stderr (or the rich Console ``to``) so stdout
    stays parseable. A new ``total`` lets a step that ends short (a source with fewer clips than asked) finish
    its bar there."""
    if not enabled:
        yield lambda n=1, info=None, total=None: None
        return
    from rich.progress import Progress

    with Progress(*_columns(), console=to or console()) as bar:
        handle = bar.add_task(description, total=total, info="")

        def advance(n: int = 1, info: Optional[str] = None, total: Optional[int] = None) -> None:
            extra = {"info": info} if info is not None else {}
            bar.update(handle, advance=n, **extra, **({"total": total} if total is not None else {}))

        yield advance
