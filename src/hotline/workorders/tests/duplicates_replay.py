"""Replay of the labelled duplicate reports (tests/data/duplicates.jsonl),
shared by the quality test and bench/duplicates_bench.py.

Reports arrive in time order. For each one the candidates are what
``services.suggest_duplicates``' query returns, widened to the whole
village so that the scorer itself must keep neighbouring transformer areas
apart (the query asks only for the report's own area and its village's,
except at village merge level): open, unmerged repair reports of the
village created within the window before it, the newest 50. The
agent then decides by the ground truth: a report whose fault already has an
open master in the village merges into it (and is no candidate afterwards),
any other becomes a master. So every scorer sees the same candidates.

A report counts as a true positive when the top proposal belongs to its own
fault event; precision = TP / reports with a proposal, recall = TP / reports
whose fault had an open master among the candidates.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hotline.workorders.duplicates import TRANSFORMER_AREA, Report

DATA = Path(__file__).resolve().parent / "data" / "duplicates.jsonl"
QUERY_LIMIT = 50  # suggest_duplicates' newest [:50]


def load(path: Path = DATA) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def prepare(records: list[dict]) -> list[dict]:
    """Parse times and attach a Report to every record (in place)."""
    for r in records:
        for k in ("created_at", "closed_at"):
            if isinstance(r[k], str):
                r[k] = dt.datetime.fromisoformat(r[k])
        r["report"] = Report(area_id=r["area_id"], area_level=r["area_level"], village_id=r["village_id"],
                             sub_class_id=r["sub_class_id"], fault_scope=r["fault_scope"], text=r["text"],
                             created_at=r["created_at"], line=r["line"], key=r["id"])
    records.sort(key=lambda r: (r["created_at"], r["id"]))
    return records


@dataclass
class Outcome:
    reports: int = 0
    positives: int = 0  # reports whose fault had an open master among the candidates
    proposed: int = 0
    tp: int = 0
    fp_kinds: Counter = field(default_factory=Counter)  # why the top proposal was wrong
    fn_kinds: Counter = field(default_factory=Counter)  # missed duplicates by event kind
    cut_by_limit: int = 0  # duplicates whose master the query's limit of 50 left out
    seconds: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / self.proposed if self.proposed else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


# A scorer: the new report, the candidate reports -> the candidates' keys proposed, best first.
Scorer = Callable[[Report, list[Report]], list]


def replay(records: list[dict], scorer: Scorer, *, window: dt.timedelta = dt.timedelta(hours=24)) -> Outcome:
    by_id = {r["id"]: r for r in records}
    children: dict[int, set[int]] = {}
    for r in records:
        if r["area_level"] == TRANSFORMER_AREA:
            children.setdefault(r["village_id"], set()).add(r["area_id"])
    masters_at: dict[int, list[dict]] = {}  # area -> open-or-closed masters, in time order
    out = Outcome()
    for r in records:
        now, village = r["created_at"], r["village_id"]
        areas = {village, *children.get(village, ())}
        pool = sorted((m for a in areas for m in masters_at.get(a, ())
                       if now - window <= m["created_at"] <= now and m["closed_at"] > now),
                      key=lambda m: (m["created_at"], m["id"]), reverse=True)
        candidates = pool[:QUERY_LIMIT]  # the newest, as the query orders them
        t0 = time.perf_counter()
        keys = scorer(r["report"], [m["report"] for m in candidates])
        out.seconds.append(time.perf_counter() - t0)
        own = [m for m in pool if m["event"] == r["event"]]
        out.reports += 1
        if own:
            out.positives += 1
            if not any(m["event"] == r["event"] for m in candidates):
                out.cut_by_limit += 1
        if keys:
            out.proposed += 1
            top = by_id[keys[0]]
            if top["event"] == r["event"]:
                out.tp += 1
            else:
                same_area = top["true_area_id"] == r["true_area_id"]
                reason = ("recurrence" if top["kind"] == r["kind"] else "other fault") if same_area else "neighbour area"
                out.fp_kinds[reason] += 1
        if own and not (keys and by_id[keys[0]]["event"] == r["event"]):
            out.fn_kinds[r["kind"]] += 1
        if not own:  # the agent keeps it apart: a master for later callers of its fault
            masters_at.setdefault(r["area_id"], []).append(r)
    return out
