"""Duplicate-report proposals (spec D3.4): `.venv/bin/python bench/duplicates_bench.py`.

Replays the labelled reports (src/hotline/workorders/tests/data/duplicates.jsonl,
and three held-out sets generated with other seeds and other phrase banks)
in time order; for each report, proposes among the open earlier reports of
its village (see tests/duplicates_replay.py). A proposal is a true positive
when the top one belongs to the report's own fault event. Prints precision,
recall and F1 of the new scorer (workorders.duplicates) beside the targets
and beside the old rules of services.suggest_duplicates (character-bigram
similarity) on the same candidates, and the scoring time per report. Raw
figures go to bench/results/duplicates-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")

import django  # noqa: E402

django.setup()

from hotline.organisation.models import ServiceArea  # noqa: E402
from hotline.workorders import duplicates as dup  # noqa: E402
from hotline.workorders import services  # noqa: E402
from hotline.workorders.tests import duplicates_replay as replay  # noqa: E402
from hotline.workorders.tests.data import make_duplicates  # noqa: E402

TARGET = 0.95
SETS = [  # name, how it was used, records
    ("committed (A)", "tuning set", lambda: replay.load()),
    ("held out B", "held out; looked at while widening the lexicon", lambda: make_duplicates.generate(seed=7, bank="B")),
    ("held out C", "held out; looked at once (character back-off)", lambda: make_duplicates.generate(seed=11, bank="C")),
    ("held out D", "never looked at before this figure", lambda: make_duplicates.generate(seed=13, bank="D")),
]


def new_scorer(new, candidates):
    return [p.key for p in dup.propose(new, candidates)]


OLD_THRESHOLD = 3  # the first rule's threshold


def old_text_similarity(a: str, b: str) -> float:
    """The first rule's character-bigram overlap (Jaccard) of two texts."""
    def grams(text: str) -> set[str]:
        text = "".join(ch for ch in text if ch.isalnum())
        return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())
    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga and gb else 0.0


def old_scorer_for(records):
    """The first rules of services.suggest_duplicates (kept here as the peer):
    its same_fault_point on unsaved ServiceArea objects, 2 points for the
    same area, 1 each for sub-class, cause and bigram similarity >= 0.3."""
    areas = {}
    for r in records:
        areas.setdefault(r["area_id"], ServiceArea(pk=r["area_id"], level=r["area_level"],
                                                   parent_id=r["village_id"] if r["area_level"] == "transformer_area" else None))

    def old(new, candidates):
        area = areas[new.area_id]
        out = []
        for c in reversed(candidates):  # oldest first, as its own query ordered them
            if not services.same_fault_point(area, areas[c.area_id], level="transformer_area"):
                continue
            score = 2 if c.area_id == new.area_id else 1
            if c.sub_class_id and c.sub_class_id == new.sub_class_id:
                score += 1
            if c.fault_scope and c.fault_scope == new.fault_scope:
                score += 1
            if old_text_similarity(new.text, c.text) >= 0.3:
                score += 1
            if score >= OLD_THRESHOLD:
                out.append((score, c.key))
        out.sort(key=lambda x: -x[0])  # stable: the oldest of equal scores first
        return [k for _, k in out[:5]]

    return old


def ms(seconds):
    return f"{seconds * 1000:.3f}"


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/duplicates-*.json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    dup.tokens("变压器那边砰的一声")  # jieba, its IDF table and pypinyin load once per process
    init = time.perf_counter() - t0

    results = {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "init_seconds": round(init, 3),
               "target": TARGET, "sets": []}
    rows = []
    for name, use, load in SETS:
        records = replay.prepare(load())
        events = {r["event"] for r in records}
        t_cold = time.perf_counter()
        texts = sorted({r["text"] for r in records})
        for t in texts:  # first sight of each text: normalise, segment, weigh (cached afterwards)
            dup.vector(t)
        cold = (time.perf_counter() - t_cold) / len(texts)
        for cached in (dup.normalise, dup.tokens, dup.vector, dup.cues, dup.names_phenomenon):
            cached.cache_clear()  # the replay meets each text for the first time, as a live center would
        new = replay.replay(records, new_scorer)
        old = replay.replay(records, old_scorer_for(records))
        entry = {"set": name, "use": use, "reports": len(records), "events": len(events), "duplicates": new.positives,
                 "segment_ms_per_text_uncached": round(cold * 1000, 4)}
        for label, out in (("new", new), ("old", old)):
            entry[label] = {"precision": round(out.precision, 4), "recall": round(out.recall, 4), "f1": round(out.f1, 4),
                            "proposed": out.proposed, "tp": out.tp, "fp": dict(out.fp_kinds), "fn": dict(out.fn_kinds),
                            "cut_by_limit": out.cut_by_limit,
                            "ms_per_report_mean": round(statistics.fmean(out.seconds) * 1000, 4),
                            "ms_per_report_p99": round(p99(out.seconds) * 1000, 4)}
        results["sets"].append(entry)
        rows.append((name, len(records), new, old, cold))

    print(f"jieba + IDF + pypinyin load: {init:.2f} s (once per process)\n")
    print(f"{'set':<15} {'reports':>7} {'dups':>5} | {'new P':>6} {'new R':>6} {'new F1':>6} | "
          f"{'old P':>6} {'old R':>6} {'old F1':>6} | target P, R >= {TARGET}")
    for name, n, new, old, _ in rows:
        met = "met" if new.precision >= TARGET and new.recall >= TARGET else "NOT met"
        print(f"{name:<15} {n:>7} {new.positives:>5} | {new.precision:6.3f} {new.recall:6.3f} {new.f1:6.3f} | "
              f"{old.precision:6.3f} {old.recall:6.3f} {old.f1:6.3f} | {met}")
    print()
    print(f"{'set':<15} | new ms/report mean  p99 | old ms/report mean  p99 | ms per text, uncached")
    for name, _, new, old, cold in rows:
        print(f"{name:<15} | {ms(statistics.fmean(new.seconds)):>18} {ms(p99(new.seconds)):>5} | "
              f"{ms(statistics.fmean(old.seconds)):>18} {ms(p99(old.seconds)):>5} | {ms(cold)}")
    print()
    for name, _, new, old, _ in rows:
        print(f"{name}: new wrong tops {dict(new.fp_kinds)}, missed by kind {dict(new.fn_kinds)}; "
              f"old wrong tops {dict(old.fp_kinds)}")
    if not args.no_save:
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(exist_ok=True)
        path = out_dir / f"duplicates-{datetime.now():%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\nraw figures: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
