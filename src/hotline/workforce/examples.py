"""Reference demand curves shared by tests and benchmarks."""

from __future__ import annotations

import numpy as np

from hotline.workforce.staffing import StaffingTargets, required_agents


def center_requirement(peak_erlangs: float = 17.0, shrinkage: float = 0.15) -> np.ndarray:
    """Gross agents per 15-minute interval for a 95598-like week: morning and
    afternoon peaks, an evening shoulder, quiet nights, weekends at 80 %."""
    hour = np.arange(96) / 4.0
    shape = (
        0.06
        + np.exp(-0.5 * ((hour - 9.5) / 1.6) ** 2)
        + 0.85 * np.exp(-0.5 * ((hour - 15.0) / 1.8) ** 2)
        + 0.35 * np.exp(-0.5 * ((hour - 20.0) / 1.5) ** 2)
    )
    week = np.concatenate([shape * (0.8 if d >= 5 else 1.0) for d in range(7)])
    erlangs = week / week.max() * peak_erlangs
    net = required_agents(erlangs / 300.0, 300.0, StaffingTargets(0.8, 20.0)).agents
    return np.ceil(net / (1 - shrinkage) - 1e-9).astype(np.int64)
