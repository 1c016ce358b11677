"""One round of the registered periodic tasks, outside a worker (scripts,
tests). The tasks themselves are registered by their apps in ``ready()``
(``core.periodic``); core knows none of them by name."""

from __future__ import annotations

from hotline.core import periodic


def run_periodic_tasks(*, only: list[str] | None = None, options: dict | None = None) -> dict[str, float | None]:
    """Run each due task once, claiming its slot as a worker would. Returns
    the delay each task asked for (0: more work is waiting); tasks another
    worker holds or that are not due are left out."""
    out: dict[str, float | None] = {}
    for task in periodic.tasks():
        if only and task.name not in only:
            continue
        ran, delay = periodic.run_once(task, options=options)
        if ran:
            out[task.name] = delay
    return out
