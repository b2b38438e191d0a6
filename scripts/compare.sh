#!/usr/bin/env bash
# earshot beside the tool a user would otherwise pick for sentiment, in the same run on the same
# machine: Python VADER 3.3.2 (vaderSentiment from PyPI, in a venv under target/) over the 4,200
# tweets of VADER's ground truth. Prints texts per second of each and their ratio, and the accuracy
# of each on both ground-truth sets (earshot eval-sentiment prints its own; VADER's is computed here
# the same way: gold positive at mean >= 0.5, negative at <= -0.5, predicted at compound +-0.05),
# then both on the held-out test splits (scripts/vader_eval.py splits rows as earshot does).
#
#   bash scripts/compare.sh [SECONDS]      (default 10 s per measured tool)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
venv=target/compare-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check vaderSentiment==3.3.2
cargo build -q --release --example speed
echo "== earshot (one core)"
target/release/examples/speed "$secs" | tee target/compare-earshot.txt
echo "== Python VADER 3.3.2 (one core)"
"$venv/bin/python" - "$secs" <<'PY' | tee target/compare-vader.txt
import sys, time, statistics
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
secs = float(sys.argv[1])
a = SentimentIntensityAnalyzer()
def rows(path):
    out = []
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            out.append((float(parts[1]), parts[2]))
    return out
tweets = rows("data/vader/tweets_GroundTruth.txt")
texts = [t for _, t in tweets]
for t in texts:
    a.polarity_scores(t)
best = 0.0
for _ in range(5):
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < secs / 5:
        for t in texts:
            a.polarity_scores(t)
        n += len(texts)
    best = max(best, n / (time.perf_counter() - start))
print(f"texts {len(texts)}")
print(f"sentiment_per_second {best:.0f}")
def label(x, pos, neg):
    return 1 if x >= pos else (-1 if x <= neg else 0)
for name, path in [("tweets", "data/vader/tweets_GroundTruth.txt"),
                   ("movies", "data/vader/movieReviewSnippets_GroundTruth.txt")]:
    data = rows(path)
    gold = [g for g, _ in data]
    pred = [a.polarity_scores(t)["compound"] for _, t in data]
    r = statistics.correlation(gold, pred)
    g = [label(x, 0.5, -0.5) for x in gold]
    p = [label(x, 0.05, -0.05) for x in pred]
    f1s = []
    for c in (1, 0, -1):
        tp = sum(1 for x, y in zip(g, p) if x == c and y == c)
        fp = sum(1 for x, y in zip(g, p) if x != c and y == c)
        fn = sum(1 for x, y in zip(g, p) if x == c and y != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    print(f"vader_{name} r {r:.4f} macro_f1 {sum(f1s) / 3:.4f}")
PY
e=$(awk '/sentiment_per_second/ {print $2}' target/compare-earshot.txt)
v=$(awk '/sentiment_per_second/ {print $2}' target/compare-vader.txt)
echo "== ratio"
awk -v e="$e" -v v="$v" 'BEGIN { printf "sentiment: earshot %d texts/s, Python VADER %d texts/s, ratio %.1f\n", e, v, e / v }'
w=$(awk '/sentiment_with_model_per_second/ {print $2}' target/compare-earshot.txt)
awk -v e="$w" -v v="$v" 'BEGIN { printf "sentiment with the learned model: earshot %d texts/s, ratio %.1f\n", e, e / v }'
echo "== accuracy on the held-out test splits (rows no model trained or tuned on)"
cargo build -q --release --bin earshot
target/release/earshot eval-sentiment --split test
"$venv/bin/python" scripts/vader_eval.py --split test data/vader/tweets_GroundTruth.txt \
  data/vader/movieReviewSnippets_GroundTruth.txt data/earshot/sentiment/batches
