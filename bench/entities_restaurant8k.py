"""Entity extraction quality on RESTAURANTS-8K (PolyAI, CC BY 4.0; Coope et al. 2020, "Span-ConveRT"): span F1
per slot (date, time, people, first_name, last_name) and averaged over the five slots (macro).

The five slots are passed to `backend.ai.understanding.entities.extract_entities` as context fields — date (type
date), time (time), people (number, "number of people"), first_name, last_name — with `requested` from the item's
`context.requestedSlots`. Nothing learns from the data: the extractor is rules only. The rules were developed
against the development split (items whose index % 5 != 0, `--split dev`); the held-out split (index % 5 == 0)
was not looked at while developing. `--errors` prints false positives / negatives, for the development split
only unless `--errors-split` says otherwise.

Two scores per slot:
- exact: a predicted span is a true positive when it equals a gold span of the slot (the published metric;
  Span-ConveRT ≈ 96 averaged, trained on all 8,198 examples).
- overlap: a predicted span is a true positive when it overlaps a gold span of the slot; recall counts the
  gold spans overlapped by a prediction.

Usage: python bench/entities_restaurant8k.py [--file ../shared/eval-data/restaurant8k/train_0.json]
       [--limit N] [--split heldout|dev|all] [--errors N] [--slot time]
The last line printed is one JSON object: {"bench": "entities_restaurant8k", ...} for the held-out split (or the
one chosen), with the whole-file figures under "whole_file" (for the held-out split; `--split dev` reports the
development split alone, so that developing never shows held-out figures).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.ai.types import FieldSpec  # noqa: E402
from backend.ai.understanding.entities import extract_entities  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "eval-data" / "restaurant8k" / "train_0.json"
SLOTS = ("date", "time", "people", "first_name", "last_name")
FIELDS = (
    FieldSpec("date", "date"),
    FieldSpec("time", "time"),
    FieldSpec("people", "number", "number of people"),
    FieldSpec("first_name", "first_name"),
    FieldSpec("last_name", "last_name"),
)
# The data set was collected in 2018 for London restaurants; the spans do not depend on the clock.
NOW = datetime(2018, 8, 1, 12, 0, tzinfo=timezone.utc)
TZ = "Europe/London"
REGION = "GB"


def load(path: Path, limit: int | None) -> list[tuple[int, dict]]:
    items = json.loads(path.read_text(encoding="utf-8"))
    indexed = list(enumerate(items))
    return indexed[:limit] if limit else indexed


def in_split(index: int, split: str) -> bool:
    if split == "all":
        return True
    held = index % 5 == 0
    return held if split == "heldout" else not held


def gold_spans(item: dict) -> dict[str, set[tuple[int, int]]]:
    out: dict[str, set[tuple[int, int]]] = {s: set() for s in SLOTS}
    for label in item.get("labels", []) or []:
        span = label.get("valueSpan", {})
        out.setdefault(label["slot"], set()).add((int(span.get("startIndex", 0)), int(span["endIndex"])))
    return out


class Score:
    def __init__(self) -> None:
        self.c = {s: {"n_pred": 0, "n_gold": 0, "exact_tp": 0, "ov_tp_pred": 0, "ov_tp_gold": 0} for s in SLOTS}

    def add(self, slot: str, pred: set[tuple[int, int]], gold: set[tuple[int, int]]) -> None:
        c = self.c[slot]
        c["n_pred"] += len(pred)
        c["n_gold"] += len(gold)
        c["exact_tp"] += len(pred & gold)
        c["ov_tp_pred"] += sum(1 for p in pred if any(p[0] < g[1] and g[0] < p[1] for g in gold))
        c["ov_tp_gold"] += sum(1 for g in gold if any(p[0] < g[1] and g[0] < p[1] for p in pred))

    def table(self) -> dict[str, dict[str, float]]:
        out = {}
        for s, c in self.c.items():
            ep = c["exact_tp"] / c["n_pred"] if c["n_pred"] else 0.0
            er = c["exact_tp"] / c["n_gold"] if c["n_gold"] else 0.0
            op = c["ov_tp_pred"] / c["n_pred"] if c["n_pred"] else 0.0
            orr = c["ov_tp_gold"] / c["n_gold"] if c["n_gold"] else 0.0
            out[s] = {"exact_p": ep, "exact_r": er, "exact_f1": _f1(ep, er), "overlap_p": op, "overlap_r": orr,
                      "overlap_f1": _f1(op, orr), "n_gold": c["n_gold"], "n_pred": c["n_pred"]}
        return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def run(items: list[tuple[int, dict]], split: str, errors: list | None) -> tuple[Score, list[float], int]:
    score = Score()
    times: list[float] = []
    n = 0
    for index, item in items:
        if not in_split(index, split):
            continue
        n += 1
        text = item["userInput"]["text"]
        requested = tuple((item.get("context") or {}).get("requestedSlots") or ())
        t0 = time.perf_counter()
        ents = extract_entities(text, now=NOW, timezone=TZ, fields=FIELDS, requested=requested,
                                phone_region=REGION)
        times.append((time.perf_counter() - t0) * 1000)
        gold = gold_spans(item)
        for slot in SLOTS:
            pred = {(e.start, e.end) for e in ents if e.field == slot}
            score.add(slot, pred, gold.get(slot, set()))
            if errors is not None:
                fp = [p for p in pred if not any(p[0] < g[1] and g[0] < p[1] for g in gold[slot])]
                fn = [g for g in gold[slot] if not any(p[0] < g[1] and g[0] < p[1] for p in pred)]
                ex = [p for p in pred if p not in gold[slot] and p not in fp]
                for kind, spans in (("FP", fp), ("FN", fn), ("SPAN", ex)):
                    for s, e in spans:
                        errors.append((slot, kind, index, requested, text, text[s:e],
                                       {k: [text[a:b] for a, b in v] for k, v in gold.items() if v}))
    return score, times, n


def summarize(score: Score, times: list[float], n: int, split: str) -> dict:
    table = score.table()
    per_slot = {s: {"exact_f1": round(v["exact_f1"], 4), "overlap_f1": round(v["overlap_f1"], 4),
                    "overlap_p": round(v["overlap_p"], 4), "overlap_r": round(v["overlap_r"], 4)}
                for s, v in table.items()}
    ts = sorted(times)
    return {
        "split": split, "n": n,
        "overlap_f1": round(statistics.mean(v["overlap_f1"] for v in table.values()), 4),
        "exact_f1": round(statistics.mean(v["exact_f1"] for v in table.values()), 4),
        "per_slot": per_slot,
        "mean_ms": round(statistics.mean(ts), 3) if ts else 0.0,
        "p50_ms": round(ts[len(ts) // 2], 3) if ts else 0.0,
        "p95_ms": round(ts[int(len(ts) * 0.95)], 3) if ts else 0.0,
        "_table": table,
    }


def print_table(s: dict) -> None:
    print(f"\n== split {s['split']} (n={s['n']}) ==")
    print(f"{'slot':<11} {'n_gold':>6} {'n_pred':>6} {'exact P':>8} {'exact R':>8} {'exact F1':>8} "
          f"{'ovl P':>7} {'ovl R':>7} {'ovl F1':>7}")
    for slot, v in s["_table"].items():
        print(f"{slot:<11} {v['n_gold']:>6} {v['n_pred']:>6} {v['exact_p']:>8.3f} {v['exact_r']:>8.3f} "
              f"{v['exact_f1']:>8.3f} {v['overlap_p']:>7.3f} {v['overlap_r']:>7.3f} {v['overlap_f1']:>7.3f}")
    print(f"{'macro':<11} {'':>6} {'':>6} {'':>8} {'':>8} {s['exact_f1']:>8.3f} {'':>7} {'':>7} "
          f"{s['overlap_f1']:>7.3f}")
    print(f"latency per message: mean {s['mean_ms']:.2f} ms, p50 {s['p50_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--limit", type=int, default=None, help="only the first N items of the file")
    ap.add_argument("--split", choices=("heldout", "dev", "all"), default="heldout",
                    help="the split reported in the JSON line (the whole file is always reported too)")
    ap.add_argument("--errors", type=int, default=0, help="print up to N sampled errors per slot and kind")
    ap.add_argument("--errors-split", choices=("dev", "heldout", "all"), default="dev")
    ap.add_argument("--slot", choices=SLOTS, default=None, help="only print errors for this slot")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    items = load(args.file, args.limit)
    extract_entities("warm up at 7pm tomorrow for 2", now=NOW, timezone=TZ, fields=FIELDS)

    primary_score, primary_times, primary_n = run(items, args.split, None)
    primary = summarize(primary_score, primary_times, primary_n, args.split)
    print_table(primary)
    whole = primary
    if args.split == "heldout":
        whole_score, whole_times, whole_n = run(items, "all", None)
        whole = summarize(whole_score, whole_times, whole_n, "all")
        print_table(whole)

    if args.errors:
        errs: list = []
        run(items, args.errors_split, errs)
        rng = random.Random(args.seed)
        for slot in SLOTS:
            if args.slot and slot != args.slot:
                continue
            for kind in ("FP", "FN", "SPAN"):
                sel = [e for e in errs if e[0] == slot and e[1] == kind]
                if not sel:
                    continue
                print(f"\n-- {slot} {kind}: {len(sel)} ({args.errors_split}) --")
                for e in rng.sample(sel, min(args.errors, len(sel))):
                    _, _, index, requested, text, span, gold = e
                    print(f"  [{index}] {list(requested)} {text!r}  pred/gold={span!r}  gold={gold}")

    out = {k: v for k, v in primary.items() if not k.startswith("_")}
    out["whole_file"] = {k: v for k, v in whole.items() if not k.startswith("_") and k != "split"}
    print(json.dumps({"bench": "entities_restaurant8k", **out}))


if __name__ == "__main__":
    main()
