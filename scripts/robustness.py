#!/usr/bin/env python3
"""How the readings hold when a stream does to a text what streams do.

Writes copies of the dev splits with one change made to every text (a link appended, a retweet's
credit put before it, every handle written `@user` as TweetEval writes them, lower case, no
apostrophes, ...) and prints what `earshot eval-sentiment` and `earshot eval-signals` read on each
copy beside the unchanged one. A reading that moves far under a change that says nothing new about
the writer's meaning has learnt something of how the training texts happened to be written, not of
what they say.

    python3 scripts/robustness.py                   # the dev splits, every change
    python3 scripts/robustness.py --split test      # the held-out splits instead
    python3 scripts/robustness.py --only none,link  # some of the changes

The copies are made in a temporary folder; the binary is target/release/earshot (build it first).
Texts: VADER's rated tweets and the sentiment batches (sentiment), and the corpus's batches
(sentiment and signals; a ticket's subject and customer messages are changed too, agent replies
are not). The signal model learns from every row of the training batches, their dev rows too, so
its dev figures flatter it: read the differences between the rows, not the figures themselves
(or use --split test).
"""
import argparse
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "earshot")


def elongate(t, rng):
    words = t.split(" ")
    for i, w in enumerate(words):
        m = re.search(r"[aeiouy]", w)
        if len(w) > 3 and w.isalpha() and m and rng.random() < 0.15:
            j = m.start()
            words[i] = w[:j] + w[j] * 3 + w[j + 1:]
    return " ".join(words)


def swap_letters(t, rng):
    words = t.split(" ")
    for i, w in enumerate(words):
        if len(w) > 4 and w.isalpha() and rng.random() < 0.15:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


# name -> (what it does, the change)
CHANGES = {
    "none": ("the text as written", lambda t, rng: t),
    "link": ("a link appended", lambda t, rng: t + " https://t.co/Xb7Lq2ZkPa"),
    "retweet": ("a retweet's credit before it", lambda t, rng: "RT @maya_k22: " + t),
    "user": ("every handle @user (TweetEval)", lambda t, rng: re.sub(r"@\w+", "@user", t)),
    "lower": ("lower case", lambda t, rng: t.lower()),
    "upper": ("capitals", lambda t, rng: t.upper()),
    "apostrophe": ("no apostrophes (dont)", lambda t, rng: re.sub(r"(\w)'(\w)", r"\1\2", t)),
    "hashtag": ("no # before hashtags", lambda t, rng: re.sub(r"#(\w)", r"\1", t)),
    "punctuation": ("no . , ! ? ; : but in links", lambda t, rng: " ".join(
        w if "/" in w or w.lower().startswith("www.") else re.sub(r"[.,!?;:]", "", w)
        for w in t.split(" "))),
    "elongation": ("a vowel tripled in 15% of words", elongate),
    "typo": ("two letters swapped in 15% of words", swap_letters),
}


def copy_tsv(src, dst, change, rng):
    with open(src, encoding="utf-8") as i, open(dst, "w", encoding="utf-8") as o:
        for line in i:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                parts[-1] = change(parts[-1], rng)
            o.write("\t".join(parts) + "\n")


def copy_corpus(src, dst, change, rng):
    with open(src, encoding="utf-8") as i, open(dst, "w", encoding="utf-8") as o:
        for line in i:
            row = json.loads(line)
            row["text"] = change(row["text"], rng)
            if row.get("subject"):
                row["subject"] = change(row["subject"], rng)
            for m in row.get("messages") or []:
                if m.get("from") == "customer":
                    m["text"] = change(m["text"], rng)
            o.write(json.dumps(row, ensure_ascii=False) + "\n")


def run(args):
    out = subprocess.run([BIN] + args, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"earshot {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--only", help="comma-separated changes (default: all)")
    a = p.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    names = a.only.split(",") if a.only else list(CHANGES)
    for n in names:
        if n not in CHANGES:
            sys.exit(f"unknown change {n}; known: {', '.join(CHANGES)}")
    tmp = tempfile.mkdtemp(prefix="earshot-robustness-")
    try:
        print(f"split {a.split}; sentiment: the model's macro-F1 (r), the corpus's macro-F1; signals: micro-F1 context / effort / "
              "intents / phase, sarcasm F1")
        print(f"{'change':<12} {'VADER tweets':>14} {'sentiment batches':>18} {'corpus':>7}  signals")
        for n in names:
            what, change = CHANGES[n]
            d = os.path.join(tmp, n)
            os.makedirs(os.path.join(d, "batches"))
            os.makedirs(os.path.join(d, "corpus", "batches"))
            rng = random.Random(1)
            tweets = os.path.join(d, "tweets_GroundTruth.txt")
            copy_tsv(os.path.join(ROOT, "data/vader/tweets_GroundTruth.txt"), tweets, change, rng)
            for s in sorted(glob.glob(os.path.join(ROOT, "data/earshot/sentiment/batches/*.tsv"))):
                copy_tsv(s, os.path.join(d, "batches", os.path.basename(s)), change, rng)
            shutil.copy(os.path.join(ROOT, "data/earshot/corpus/catalog.toml"),
                        os.path.join(d, "corpus", "catalog.toml"))
            pattern = "b*.jsonl" if a.split == "dev" else "t*.jsonl"
            corpus = []
            for s in sorted(glob.glob(os.path.join(ROOT, "data/earshot/corpus/batches", pattern))):
                dst = os.path.join(d, "corpus", "batches", os.path.basename(s))
                copy_corpus(s, dst, change, rng)
                corpus.append(dst)
            split = ["--split", a.split]
            sent = run(["eval-sentiment"] + split + [tweets, os.path.join(d, "batches")])
            cells = {}
            for line in sent.splitlines():
                m = re.match(r"(\S+)\s+\d+ \|\s+(\S+)\s+(\S+)\s+(\S+) \|", line)
                if m:
                    cells[m.group(1)] = f"{float(m.group(3)):.3f} ({float(m.group(2)):.3f})"
            # The corpus's own splits: dev rows of the training batches, or the test batches whole.
            folder = os.path.join(d, "corpus", "batches")
            corpus_cell = "-"
            for line in run(["eval-sentiment", "--split", a.split, folder]).splitlines():
                m = re.match(r"batches\s+\d+ \|\s+(\S+)\s+(\S+)\s+(\S+) \|", line)
                if m:
                    corpus_cell = f"{float(m.group(2)):.3f}"
            sig = run(["eval-signals"] + (split if a.split == "dev" else []) + corpus)
            fam = {}
            for line in sig.splitlines():
                m = re.match(r"(context|effort|intent|phase) \(micro\)\s+\d+\s+\S+\s+\S+\s+(\S+)", line)
                if m:
                    fam[m.group(1)] = m.group(2)
                m = re.match(r"sarcasm\s+\d+\s+\S+\s+\S+\s+(\S+)", line)
                if m:
                    fam["sarcasm"] = m.group(1)
            signals = " / ".join(fam.get(k, "-") for k in ("context", "effort", "intent", "phase"))
            print(f"{n:<12} {cells.get('tweets_GroundTruth.txt', '-'):>14} "
                  f"{cells.get('batches', '-'):>18} {corpus_cell:>7}  {signals}; "
                  f"{fam.get('sarcasm', '-')}   ({what})")
            shutil.rmtree(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
