"""Task groups: the families task files name (``groups:``), so that one name runs, builds or ranks a family.

``--task`` takes a task name, a task file, a group name, ``all``, or a comma list of those. A task's own name
wins over a group of the same name (the ``chain`` task, the ``chain`` family), which is harmless while the
task is its family's only member.
"""
from __future__ import annotations

from fxbench.errors import FxbenchError, did_you_mean
from fxbench.task import available_tasks, load_task

ALL = "all"
UNGROUPED = "other"  # the family of a task file that names none
#: The families fxbench's own tasks use, in the order they are listed; any other group follows them.
FAMILIES = ("paper", "dynamics", "time", "modulation", "tone", "codec", "chain", "detect")


def task_groups() -> dict[str, list[str]]:
    """Group -> its tasks by name; the known families first, in ``FAMILIES`` order, then the others by name."""
    groups: dict[str, list[str]] = {}
    for name in available_tasks():
        for g in load_task(name).groups or (UNGROUPED,):
            groups.setdefault(g, []).append(name)
    rank = {g: i for i, g in enumerate(FAMILIES)}
    return dict(sorted(groups.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def family(name: str) -> str:
    """A task's own family: the first group its file names."""
    groups = load_task(name).groups
    return groups[0] if groups else UNGROUPED


def resolve_tasks(spec: str) -> list[str]:
    """The tasks ``--task SPEC`` means, in order, each once."""
    tasks = available_tasks()
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        raise FxbenchError("--task is empty; name a task, a group or all (see `fxbench tasks`)", exit_code=2)
    groups = task_groups() if any(i not in tasks and not i.endswith((".yaml", ".yml")) for i in items) else {}
    out: list[str] = []
    for item in items:
        if item in tasks or item.endswith((".yaml", ".yml")):
            names = [item]
        elif item == ALL:
            names = list(tasks)
        elif item in groups:
            names = groups[item]
        else:
            raise FxbenchError(f"unknown task or group {item!r}.{did_you_mean(item, [*tasks, *groups, ALL])}",
                               exit_code=2)
        for n in names:
            if n in out:
                raise FxbenchError(f"--task {spec} names task {n!r} twice; list each task or group once",
                                   exit_code=2)
            out.append(n)
    return out
