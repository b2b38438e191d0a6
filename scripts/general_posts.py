#!/usr/bin/env python3
"""How often brand-directed intents and a journey phase fire on general posts that name no brand
and tag no account: the signals issue's "general tweets" (target: brand-directed intents on under
2% of them). Reads the sentiment batches and their frozen test batch, with the labels of which
posts name a brand (data/earshot/names/), runs them through `earshot file` and prints, per group,
the posts that name no brand and tag no account and how many got a brand-directed intent or a
phase; the posts that name a brand are printed apart (there a reading is expected).

    python3 scripts/general_posts.py [target/release/earshot] [-- extra earshot file arguments]

Groups: the batches' splits (train, dev, test, by the same hash of the id as the models; the names
model trains on train and sets its threshold on dev, so test is the held-out figure) and st1.
"""
import json
import os
import subprocess
import sys
import tempfile

from splits import split_of

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BRAND_DIRECTED = {"complaint", "praise", "purchase_intent", "churn_risk", "switching", "prospect",
                  "recommendation"}


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    binary = args[0] if args else os.path.join(ROOT, "target/release/earshot")
    names = {}
    for f in ("general", "st1"):
        with open(os.path.join(ROOT, f"data/earshot/names/{f}.tsv"), encoding="utf-8") as fh:
            for line in fh:
                cols = line.rstrip("\n").split("\t")
                names[cols[0]] = cols[1] == "1"
    rows = []
    batches = os.path.join(ROOT, "data/earshot/sentiment/batches")
    for f in sorted(os.listdir(batches)):
        with open(os.path.join(batches, f), encoding="utf-8") as fh:
            for line in fh:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 3:
                    rows.append((f"batches {split_of(cols[0])}", cols[0], cols[-1]))
    with open(os.path.join(ROOT, "data/earshot/sentiment/test/st1.tsv"), encoding="utf-8") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 3:
                rows.append(("st1 (frozen)", cols[0], cols[-1]))
    with tempfile.TemporaryDirectory() as tmp:
        posts, out = os.path.join(tmp, "posts.jsonl"), os.path.join(tmp, "out.jsonl")
        with open(posts, "w", encoding="utf-8") as fh:
            for n, (_, post_id, text) in enumerate(rows):
                fh.write(json.dumps({"kind": "social_post", "platform": "twitter", "id": post_id,
                                     "created_at": "2026-11-20T10:00:00Z",
                                     "author": {"id": f"u{n}", "handle": f"u{n}"},
                                     "text": text}) + "\n")
        env = dict(os.environ, EARSHOT_PRIVACY_KEY="general-posts-measure-key")
        subprocess.run([binary, "file", posts, "--output", out] + extra, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        with open(out, encoding="utf-8") as fh:
            events = [json.loads(line) for line in fh]
    if len(events) != len(rows):
        sys.exit(f"{len(events)} insights for {len(rows)} posts")
    counts = {}
    for (group, post_id, text), e in zip(rows, events):
        if "@" in text:
            continue
        key = (group, "names a brand" if names[post_id] else "names none")
        c = counts.setdefault(key, [0, 0, 0])
        c[0] += 1
        c[1] += any(i["label"] in BRAND_DIRECTED for i in e.get("intents") or [])
        c[2] += bool(e.get("journey_phase"))
    print(f"{'posts tagging no account':<36} {'posts':>6} {'brand-directed':>16} {'phase':>14}")
    for (group, kind), (n, bd, ph) in sorted(counts.items()):
        print(f"{group + ', ' + kind:<36} {n:>6} {bd:>7} ({100 * bd / n:5.2f}%) {ph:>5} ({100 * ph / n:5.2f}%)")


if __name__ == "__main__":
    main()
