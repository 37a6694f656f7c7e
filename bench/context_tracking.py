"""Context tracking on the Schema-Guided Dialogue subset (../shared/eval-data/sgd-dev, CC BY-SA 4.0): each
service becomes a context schema, each dialogue a conversation through `simulate`, and the tracked context at
the end of the dialogue is compared with what the customer stated.

Schemas are built only from the service's slots: name → key, description → description, categorical slots →
choice fields with the slot's possible values as options; free-text slots get a type guessed generically from
their name and description (`guess_type`: money words, phone, e-mail, address, "date", "time", "number of …",
else text), and a free-text slot's listed values are appended to its description as examples ("… (for example
Mexican, Chinese)"), the way an owner would write them. Every dialogue runs through `simulate.run` with
`--context-only` (the same parsing, tracker and extractor as `python -m backend simulate`): USER turns as
customer turns, SYSTEM turns as assistant turns, "now" = 1 March 2019 in America/Los_Angeles (the dataset's
"today": its dialogues say "1st of this month | today").

Scoring, per dialogue, on the final context:
- gold: each slot's latest value in the customer turns' dialogue states (SGD drops a finished task's slots
  from the state when the customer starts another, e.g. a balance check after a transfer; the customer did state
  them, and a context keeps them).
- scored slots: categorical slots always; a free-text slot when one of its gold surface forms appears in a
  customer turn (compared case-insensitively after normalising whitespace and punctuation). A "dontcare" value
  is scored too, and always missed: a schema has no value for it.
- a predicted value is right when it, or its evidence, matches a gold surface form under the same
  normalisation; typed values (date, time, number, money) also match when a gold form reads as the same typed
  value (the gold form put through the same field's extractor: "March 14th" and "the 14th" are 2019-03-14).
  The figures without that typed equivalence are printed too ("surface only").
- precision = right / (predictions on scored slots + predictions on slots absent from the gold state);
  predictions on gold slots that are not scored (a value only the assistant said) are left out of both.
- recall = right / scored slots; joint accuracy = dialogues with every scored slot right and nothing extra.
- extraction time per customer message (ms), as `simulate` measures it around the extractor.

Avoiding overfitting: the extractor knows nothing of these services. Its rules read a field through generic
English (option names, the field's own words, "how many", prepositions of place, yes / no, confirmations) and
the packaged MiniLM; no slot name, option or value of these six services is written in its code or its tables
(words any business uses for a field, such as city, date, time or address, are in the generic tables; the unit
tests use other businesses' schemas: a letting agent, a salon, a law office, a gym, a removals firm, a clinic).
The rules were developed looking at errors of three services only (Homes_1, Restaurants_1, Banks_1: `--split
dev --errors N` prints only theirs); the other three (Services_2, Services_3, Events_1) are the held-out check,
reported separately, whose errors were never printed (a few of their utterances were read once, before any
rule was written, to learn the data's format). Thresholds (meaning similarity, confidence bands, answer length)
are global, never per field. One generic rule was prompted by a development service: two fields sharing
options are told apart by direction words ("to" ↔ a recipient / destination field, "from" ↔ a source / origin
field), as a transfer's two accounts are. `guess_type` uses the project's existing field-word hints
(backend.ai.understanding.entities.field_kind) after its own generic tests.

Usage: python bench/context_tracking.py [--data ../shared/eval-data/sgd-dev] [--split all|dev|heldout]
       [--errors N] [--limit N]
The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.ai import simulate  # noqa: E402
from backend.ai.types import FieldSpec  # noqa: E402
from backend.ai.understanding.context_extraction import ContextField, extract_context  # noqa: E402
from backend.ai.understanding.entities import field_kind  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "eval-data" / "sgd-dev"
DEV = ("Homes_1", "Restaurants_1", "Banks_1")
HELDOUT = ("Services_2", "Services_3", "Events_1")
TIMEZONE = "America/Los_Angeles"
NOW = datetime(2019, 3, 1, 10, 0, tzinfo=ZoneInfo(TIMEZONE))
TYPED = ("date", "time", "datetime", "number", "money", "percent", "duration", "rating")


def guess_type(name: str, description: str) -> str:
    """A free-text slot's type from its words, as an owner would pick it; generic, never per slot."""
    words = f"{name.replace('_', ' ')} {description}".lower()
    if re.search(r"(?:^|_)name$", name):
        return "person_name" if re.search(r"\b(?:who|whom|person|people|recipient|customer|contact|patient|guest)\b",
                                          words) else "text"
    if re.search(r"\b(?:amount of money|price|cost|fee|budget|salary|payment)\b", words):
        return "money"
    if re.search(r"\b(?:phone|telephone|contact number|mobile)\b", words):
        return "phone"
    if re.search(r"\be-?mail\b", words):
        return "email"
    if re.search(r"\b(?:website|url|web address)\b", words):
        return "url"
    if re.search(r"\baddress\b", words) and not re.search(r"\be-?mail\b", words):
        return "address"
    if re.search(r"\bdate\b", words):
        return "date"
    if re.search(r"\btime\b", words) and not re.search(r"\bat a given time\b", words):
        return "time"
    if re.search(r"\b(?:number of|how many|count of|rating)\b", words):
        return "number"
    # the project's generic hints for field words ("rent" → money, "guests" → a count …)
    hinted = field_kind(FieldSpec(name, "text", description))
    return {"count": "number", "first_name": "person_name", "last_name": "person_name"}.get(
        hinted, hinted if hinted in ("money", "person_name", "email", "phone", "url", "date", "time") else "text")


def build_schema(service: dict) -> dict:
    fields = []
    for slot in service["slots"]:
        values = slot.get("possible_values") or []
        if slot.get("is_categorical"):
            fields.append({"key": slot["name"], "label": slot["name"].replace("_", " ").capitalize(),
                           "type": "choice", "description": slot["description"], "options": values})
            continue
        description = slot["description"]
        if values:
            description += f" (for example {', '.join(values)})"
        fields.append({"key": slot["name"], "label": slot["name"].replace("_", " ").capitalize(),
                       "type": guess_type(slot["name"], slot["description"]), "description": description})
    return {"key": service["service_name"].lower(), "name": service["service_name"],
            "description": service.get("description", ""), "fields": fields}


def norm(text: str) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", str(text).lower())  # "1,630" is 1630
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]|_", " ", text)).strip()


def gold_of(dialogue: dict) -> dict[str, list[str]]:
    gold: dict[str, list[str]] = {}
    for turn in dialogue["turns"]:
        if turn["speaker"] == "USER":
            for key, values in turn["frames"][0]["state"]["slot_values"].items():
                gold[key] = values
    return gold


def scored_slots(dialogue: dict, gold: dict[str, list[str]], categorical: set[str]) -> set[str]:
    said = [f" {norm(t['utterance'])} " for t in dialogue["turns"] if t["speaker"] == "USER"]
    out = set()
    for key, values in gold.items():
        if key in categorical or any(norm(v) and f" {norm(v)} " in u for v in values for u in said):
            out.add(key)
    return out


class Matcher:
    """Whether a predicted context value is one of the gold surface forms."""

    def __init__(self, fields: dict[str, ContextField]):
        self.fields = fields
        self.cache: dict[tuple[str, str], object] = {}

    def typed(self, key: str, surface: str):
        if (key, surface) not in self.cache:
            values = extract_context(surface, [self.fields[key]], now=NOW, timezone=TIMEZONE, requested=[key],
                                     embed=None)
            self.cache[(key, surface)] = values[0].value if values else None
        return self.cache[(key, surface)]

    def right(self, key: str, predicted: dict, gold: list[str], strict: bool = False) -> bool:
        forms = {norm(g) for g in gold}
        value = predicted["value"]
        shown = value["amount"] if isinstance(value, dict) and "amount" in value else value
        if norm(shown) in forms or norm(predicted["evidence"]) in forms:
            return True
        if not strict and self.fields[key].value_type in TYPED:
            return any(self.typed(key, g) == value for g in gold)
        return False


def evaluate(dialogues: list[dict], schema_json: list[dict], errors: int) -> dict:
    services = {s["service_name"]: s for s in schema_json}
    schemas = {name: build_schema(s) for name, s in services.items()}
    workspace = {"name": "SGD bench", "timezone": TIMEZONE, "context_schemas": list(schemas.values())}
    with tempfile.TemporaryDirectory(prefix="ctx-bench-") as tmp:
        ws, inp, out = Path(tmp) / "ws.json", Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        ws.write_text(json.dumps(workspace))
        with inp.open("w") as f:
            for d in dialogues:
                turns = [{"role": "customer" if t["speaker"] == "USER" else "assistant", "text": t["utterance"]}
                         for t in d["turns"]]
                f.write(json.dumps({"id": d["dialogue_id"], "now": NOW.isoformat(),
                                    "schema": schemas[d["services"][0]]["key"], "turns": turns}) + "\n")
        summary = simulate.run(ws, inp, out, context_only=True)
        results = {line["id"]: line for line in map(json.loads, out.read_text().splitlines())}

    per = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "joint": 0, "dialogues": 0})
    strict = {"tp": 0, "fp": 0, "fn": 0, "joint": 0, "dialogues": 0}
    shown = 0
    for d in dialogues:
        service = d["services"][0]
        categorical = {s["name"] for s in services[service]["slots"] if s.get("is_categorical")}
        fields = {f["key"]: ContextField(key=f["key"], label=f["label"], type=f["type"],
                                         description=f["description"], options=tuple(f.get("options", ())))
                  for f in schemas[service]["fields"]}
        matcher = Matcher(fields)
        gold = gold_of(d)
        scored = scored_slots(d, gold, categorical)
        context = results[d["dialogue_id"]]["turns"][-1]["context"]
        tp = fp = fn = 0
        wrong = []
        for key in scored:
            if key in context and matcher.right(key, context[key], gold[key]):
                tp += 1
            else:
                fn += 1
                if key in context:
                    fp += 1
                wrong.append((key, gold[key], context.get(key)))
        for key, predicted in context.items():
            if key not in gold:
                fp += 1
                wrong.append((key, None, predicted))
        strict_tp = sum(1 for key in scored if key in context and matcher.right(key, context[key], gold[key], True))
        strict["tp"] += strict_tp
        strict["fn"] += len(scored) - strict_tp
        strict["fp"] += fp + (tp - strict_tp)
        strict["dialogues"] += 1
        strict["joint"] += int(strict_tp == len(scored) and fp == 0)
        p = per[service]
        p["tp"] += tp
        p["fp"] += fp
        p["fn"] += fn
        p["dialogues"] += 1
        p["joint"] += int(fn == 0 and fp == 0)
        if wrong and shown < errors and service in DEV:
            shown += 1
            print(f"--- {d['dialogue_id']} ({service})")
            for t in d["turns"]:
                print(f"   {'U' if t['speaker'] == 'USER' else 'S'}: {t['utterance']}")
            for key, g, pr in wrong:
                print(f"   ✗ {key}: gold {g} · predicted {pr}")
    return {"per": per, "strict": strict, "extract_ms": summary["extract_ms"]}


def figures(counts: dict) -> dict:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
            "joint_accuracy": round(counts["joint"] / counts["dialogues"], 4) if counts["dialogues"] else 0.0,
            "dialogues": counts["dialogues"], "slots": tp + fn}


def total(per: dict, names) -> dict:
    out = {"tp": 0, "fp": 0, "fn": 0, "joint": 0, "dialogues": 0}
    for n in names:
        for k in out:
            out[k] += per[n][k] if n in per else 0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    parser.add_argument("--errors", type=int, default=0, help="print N dialogues with errors (dev services only)")
    parser.add_argument("--limit", type=int, default=0, help="dialogues per service (0: all)")
    args = parser.parse_args()
    data = Path(args.data)
    schema_json = json.loads((data / "schema.json").read_text())
    dialogues = json.loads((data / "dialogues.json").read_text())
    wanted = {"all": DEV + HELDOUT, "dev": DEV, "heldout": HELDOUT}[args.split]
    dialogues = [d for d in dialogues if d["services"][0] in wanted]
    if args.limit:
        taken: dict[str, int] = defaultdict(int)
        kept = []
        for d in dialogues:
            if taken[d["services"][0]] < args.limit:
                taken[d["services"][0]] += 1
                kept.append(d)
        dialogues = kept
    result = evaluate(dialogues, schema_json, args.errors)
    per = result["per"]
    ms = sorted(result["extract_ms"])
    p50 = statistics.median(ms) if ms else 0.0
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))] if ms else 0.0
    overall = figures(total(per, wanted))
    print(f"{'service':<16}{'P':>8}{'R':>8}{'F1':>8}{'joint':>8}{'slots':>7}")
    for name in wanted:
        if name in per:
            f = figures(per[name])
            print(f"{name:<16}{f['precision']:>8.3f}{f['recall']:>8.3f}{f['f1']:>8.3f}{f['joint_accuracy']:>8.3f}"
                  f"{f['slots']:>7}")
    groups = {}
    for label, names in (("dev", DEV), ("heldout", HELDOUT)):
        if any(n in per for n in names):
            groups[label] = figures(total(per, [n for n in names if n in wanted]))
            g = groups[label]
            print(f"{label:<16}{g['precision']:>8.3f}{g['recall']:>8.3f}{g['f1']:>8.3f}{g['joint_accuracy']:>8.3f}"
                  f"{g['slots']:>7}")
    print(f"{'overall':<16}{overall['precision']:>8.3f}{overall['recall']:>8.3f}{overall['f1']:>8.3f}"
          f"{overall['joint_accuracy']:>8.3f}{overall['slots']:>7}")
    surface = figures(result["strict"])
    print(f"{'surface only':<16}{surface['precision']:>8.3f}{surface['recall']:>8.3f}{surface['f1']:>8.3f}"
          f"{surface['joint_accuracy']:>8.3f}{surface['slots']:>7}   (no typed equivalence: \"the 14th\" ≠ 2019-03-14)")
    print(f"extraction per customer message: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(ms)} messages)")
    print(json.dumps({"bench": "context_tracking", "split": args.split, **overall,
                      "surface_only": {k: surface[k] for k in ("precision", "recall", "f1", "joint_accuracy")},
                      "groups": groups, "per_service": {n: figures(per[n]) for n in wanted if n in per},
                      "extract_ms_p50": round(p50, 2), "extract_ms_p95": round(p95, 2), "messages": len(ms)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
