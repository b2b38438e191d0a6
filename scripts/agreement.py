#!/usr/bin/env python3
"""How far independent annotators agree with the corpus's writers, and where the model stands.

Usage: python3 scripts/agreement.py [--earshot target/release/earshot] [--check]
(The models are compiled into the binary: build it first, `cargo build --release`.)

`data/earshot/corpus/agreement/<set>-a<k>.jsonl` are rows of the corpus labelled again by annotator
k, who read the text and the guide (GUIDE.md) and never the writer's labels. For each set this
prints, per family (micro-F1 over its labels): each annotator against the writer, the annotators
against each other, and the annotators' majority against the writer; then each label's F1 of the
annotators against the writer (their mean). For a set drawn from a frozen test split (ids `t…`),
which no model learnt from, it also runs `earshot eval-signals` on the writer's rows, on each
annotator's and on the majority's, so the model is read against the same rows. With --check it
only checks the files (the rows are the corpus's, the same in every file of a set, each label one
the guide allows) and exits 1 on a fault.
"""
import argparse
import glob
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "data", "earshot", "corpus")
FAMILIES = ["context", "effort", "intent", "phase", "sarcasm"]
CONTEXTS = {"work", "family", "health", "money", "time_pressure", "travel", "life_event"}
INTENTS = {"complaint", "praise", "purchase_intent", "churn_risk", "switching", "prospect",
           "recommendation", "question", "support_request", "need"}
LABEL_FIELDS = {"context", "effort", "intents", "phase", "sarcasm", "moment"}
PHASES = {"awareness", "consideration", "purchase", "onboarding", "usage", "support", "loyalty",
          "churn"}


def faults(row):
    """What is wrong with an annotated row's labels, if anything."""
    out = []
    for field in ("context", "intents"):
        if not isinstance(row.get(field), list):
            return [f"{field} {row.get(field)!r}: expected a list"]
    if not set(row["context"]) <= CONTEXTS:
        out.append(f"context {row.get('context')}")
    effort = row.get("effort", "missing")
    if effort is not None and (not isinstance(effort, int) or not -5 <= effort <= 5):
        out.append(f"effort {effort}")
    if not set(row["intents"]) <= INTENTS:
        out.append(f"intents {row.get('intents')}")
    if row.get("phase", "missing") is not None and row.get("phase") not in PHASES:
        out.append(f"phase {row.get('phase')}")
    if row.get("sarcasm") not in (0, 1):
        out.append(f"sarcasm {row.get('sarcasm')}")
    return out


def labels(row):
    """The row's labels as `family:label` strings (effort by its sign)."""
    out = {f"context:{c}" for c in row.get("context") or []}
    effort = row.get("effort")
    if effort:
        out.add("effort:hard" if effort < 0 else "effort:easy")
    out |= {f"intent:{i}" for i in row.get("intents") or []}
    if row.get("phase"):
        out.add(f"phase:{row['phase']}")
    if row.get("sarcasm"):
        out.add("sarcasm")
    return out


def f1(reference, other, prefix):
    """F1 of `other` against `reference` over the labels starting with `prefix`, and the
    reference's count; 1.0 where neither gives any such label (they agree)."""
    tp = fp = fn = 0
    for a, b in zip(reference, other):
        a = {x for x in a if x.startswith(prefix)}
        b = {x for x in b if x.startswith(prefix)}
        tp += len(a & b)
        fp += len(b - a)
        fn += len(a - b)
    if tp + fp + fn == 0:
        return 1.0, 0
    return 2 * tp / (2 * tp + fp + fn), tp + fn


def majority(rows):
    """One row whose labels are those most of the annotators' `rows` give."""
    out = dict(rows[0])
    half = len(rows) / 2
    count = lambda f: sum(1 for r in rows if f(r))
    out["context"] = sorted({c for r in rows for c in r["context"]
                             if count(lambda r: c in r["context"]) > half})
    out["intents"] = sorted({i for r in rows for i in r["intents"]
                             if count(lambda r: i in r["intents"]) > half})
    phases = [r["phase"] for r in rows if r["phase"]]
    out["phase"] = next((p for p in phases if phases.count(p) > half), None)
    out["sarcasm"] = int(count(lambda r: r["sarcasm"]) > half)
    out["effort"] = None
    for sign in (-1, 1):
        told = sorted(r["effort"] for r in rows if r["effort"] and r["effort"] * sign > 0)
        if len(told) > half:
            out["effort"] = told[len(told) // 2]
    return out


def model_f1(earshot, rows):
    """`earshot eval-signals` on `rows`: micro-F1 per family."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    try:
        out = subprocess.run(
            [earshot, "eval-signals", "--catalog", os.path.join(CORPUS, "catalog.toml"), f.name],
            check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    got = {}
    for line in out.splitlines():
        m = re.match(r"(\w+) \(micro\)\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)", line)
        if m:
            got[m.group(1)] = float(m.group(2))
        m = re.match(r"sarcasm\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)", line)
        if m:
            got["sarcasm"] = float(m.group(1))
    return [got.get(f, float("nan")) for f in FAMILIES]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--earshot", default=os.path.join(HERE, "..", "target", "release", "earshot"))
    ap.add_argument("--check", action="store_true", help="only check the files")
    args = ap.parse_args()
    writer = {}
    for path in glob.glob(os.path.join(CORPUS, "batches", "*.jsonl")):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                row = json.loads(line)
                writer[row["id"]] = row
    sets = defaultdict(dict)
    for path in sorted(glob.glob(os.path.join(CORPUS, "agreement", "*-a*.jsonl"))):
        name, who = os.path.basename(path)[:-len(".jsonl")].rsplit("-", 1)
        sets[name][who] = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    if not sets:
        sys.exit("no annotation files in data/earshot/corpus/agreement/")
    for name, annotators in sets.items():
        ids = [r["id"] for r in next(iter(annotators.values()))]
        for who, rows in annotators.items():
            if [r["id"] for r in rows] != ids:
                sys.exit(f"{name}-{who}: the rows are not those of the set's other files")
        missing = [i for i in ids if i not in writer]
        if missing:
            sys.exit(f"{name}: rows not in the corpus: {missing[:5]}")
        bad = [f"{name}-{who}.jsonl:{k + 1}: {f}" for who, rows in annotators.items()
               for k, r in enumerate(rows) for f in faults(r)]
        # The message itself must be the writer's: the model reads the annotators' copies.
        bad += [f"{name}-{who}.jsonl:{k + 1}: {field} differs from the corpus row"
                for who, rows in annotators.items() for k, r in enumerate(rows)
                for field in sorted((set(r) | set(writer[r["id"]])) - LABEL_FIELDS)
                if r.get(field) != writer[r["id"]].get(field)]
        if bad:
            sys.exit("\n".join(bad))
        if args.check:
            print(f"{name}: {len(annotators)} annotators, {len(ids)} rows each, labels as the guide allows")
            continue
        written = [writer[i] for i in ids]
        agreed = [majority(list(rs)) for rs in zip(*annotators.values())]
        lab = {"writer": [labels(r) for r in written]}
        lab.update({who: [labels(r) for r in rows] for who, rows in annotators.items()})
        lab["majority"] = [labels(r) for r in agreed]
        who_all = sorted(annotators)
        print(f"\n{name}: {len(ids)} rows, {len(who_all)} annotators")
        print("micro-F1".ljust(22) + "".join(f.rjust(9) for f in FAMILIES))
        pairs = [("writer", w) for w in who_all] + list(itertools.combinations(who_all, 2))
        pairs.append(("writer", "majority"))
        for a, b in pairs:
            cells = "".join(f"{f1(lab[a], lab[b], f)[0]:9.3f}" for f in FAMILIES)
            print(f"{a} ~ {b}".ljust(22) + cells)
        if all(i.startswith("t") for i in ids):
            for ref, rows in [("writer", written)] + [(w, annotators[w]) for w in who_all] + [
                    ("majority", agreed)]:
                cells = "".join(f"{x:9.3f}" for x in model_f1(args.earshot, rows))
                print(f"model ~ {ref}".ljust(22) + cells)
        print("label".ljust(24) + "rows  annotators ~ writer (mean F1)")
        for label in sorted({x for s in lab["writer"] for x in s}):
            scores = [f1(lab["writer"], lab[w], label) for w in who_all]
            mean = sum(s[0] for s in scores) / len(scores)
            print(f"{label.ljust(24)}{scores[0][1]:4d}  {mean:.3f}")


if __name__ == "__main__":
    main()
