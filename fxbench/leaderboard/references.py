"""The paper's published numbers as unranked leaderboard rows: labelled with who measured them and on what
audio, so they orient rather than compete."""
from __future__ import annotations

from typing import Optional

from fxbench.task import Reference


def reference(task: str) -> Optional[Reference]:
    """The task's published numbers, or None for a task this install does not define (a custom task file
    no longer on the path): the records still render; any other problem with the task file is an error."""
    from fxbench.task import available_tasks, load_task

    return load_task(task).reference if task in available_tasks() else None


def _tag(ref: Reference) -> tuple[str, str]:
    """(who, audio) for a reference row's label: ("paper", "GuitarSet") for the paper's numbers."""
    who = "paper" if ref.source.lower().startswith("paper") else "published"
    return who, "GuitarSet" if "guitarset" in ref.source.lower() else ""


def table_rows(ref: Reference) -> list[dict[str, str]]:
    """One unranked row per published result, numbers as published (no invented digits)."""
    who, audio = _tag(ref)
    rows = []
    for res in ref.results:
        label = ", ".join(filter(None, [who, audio])) + (f" ({res.where})" if res.where else "")
        rows.append({"rank": "–", "model": f"*{label}: {res.model}*",
                     "test MAE": "" if res.test_mae is None else f"{res.test_mae:g}",
                     "test MSE": "" if res.test_mse is None else f"{res.test_mse:g}",
                     "test rows": "" if res.n_test is None else str(res.n_test)})
    return rows


def line(ref: Reference) -> Optional[str]:
    """Where the reference numbers come from and why they are not comparable, under the table."""
    source, note = ref.source.strip().rstrip("."), ref.note.strip().rstrip(".")
    text = ". ".join(filter(None, [source, note[:1].upper() + note[1:]]))
    if not text:
        return None
    return f"Reference rows: {text}." if ref.results else f"Reference (no rows): {text}."


def overview_cells(references: dict[str, Optional[Reference]]) -> dict[tuple[str, str], str]:
    """(row label, task) -> the published MAE as published; labels name who measured it and on what audio."""
    cells: dict[tuple[str, str], str] = {}
    for task, ref in references.items():
        if ref is None:
            continue
        who, audio = _tag(ref)
        for res in ref.results:
            label = f"*{who}{f' ({audio})' if audio else ''}: {res.model}*"
            cells.setdefault((label, task), "" if res.test_mae is None else f"{res.test_mae:g}")
    return cells
