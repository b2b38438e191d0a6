#!/usr/bin/env python3
"""VADER 3.3.2 on the same ground truth and splits as `earshot eval-sentiment`, for the column beside
earshot's: Pearson r, macro-F1 and macro-recall (gold positive at a rating >= 0.5, negative at <= -0.5;
predicted at compound +-0.05). A folder is one set (its .tsv files). Rows are id<TAB>rating or label word<TAB>text; --split keeps the rows
whose id hashes (FNV-1a 64, modulo 10) into that split, as earshot splits them: 0-1 test, 2 dev.

    python3 scripts/vader_eval.py [--split test] FILE...   (needs vaderSentiment==3.3.2)
"""
import argparse
import os
import statistics

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from splits import split_of

WORDS = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}


def label(x, pos, neg):
    return 1 if x >= pos else (-1 if x <= neg else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="all")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    a = SentimentIntensityAnalyzer()
    print(f"{'ground truth (VADER 3.3.2)':<40} {'n':>6} | {'r':>7} {'macro-F1':>8} {'m.recall':>8}")
    for path in args.files:
        gold, pred = [], []
        parts_of = (
            sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".tsv"))
            if os.path.isdir(path)
            else [path]
        )
        lines = [line for p in parts_of for line in open(p, encoding="utf-8")]
        for line in lines:
            parts = line.rstrip("\r\n").split("\t", 2)
            if len(parts) < 3:
                continue
            if args.split != "all" and split_of(parts[0]) != args.split:
                continue
            r = WORDS.get(parts[1].strip().lower())
            gold.append(float(parts[1]) if r is None else r)
            pred.append(a.polarity_scores(parts[2])["compound"])
        g = [label(x, 0.5, -0.5) for x in gold]
        p = [label(x, 0.05, -0.05) for x in pred]
        f1s, recalls = [], []
        for c in (1, 0, -1):
            tp = sum(1 for x, y in zip(g, p) if x == c and y == c)
            fp = sum(1 for x, y in zip(g, p) if x != c and y == c)
            fn = sum(1 for x, y in zip(g, p) if x == c and y != c)
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
            recalls.append(tp / (tp + fn) if tp + fn else 0.0)
        r = statistics.correlation(gold, pred) if len(set(gold)) > 1 else 0.0
        name = path.rstrip("/").rsplit("/", 1)[-1]
        print(f"{name:<40} {len(gold):>6} | {r:>7.4f} {sum(f1s) / 3:>8.4f} {sum(recalls) / 3:>8.4f}")


if __name__ == "__main__":
    main()
