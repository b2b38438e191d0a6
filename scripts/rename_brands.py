#!/usr/bin/env python3
"""Copies the earshot corpus with every brand renamed to an invented name no model has read.

The hidden sets the signals are measured on are about brands outside the corpus's catalog. A copy of
the corpus whose 60 brands carry other names (in the text, the handles, the hashtags, the catalog's
ids, names and queries alike) shows how much a model leans on the names it learnt:

    python3 scripts/rename_brands.py /tmp/renamed --seed 1
    earshot eval-signals --catalog /tmp/renamed/catalog.toml /tmp/renamed/batches/t01.jsonl

With --per-batch every training batch (b*) gets names of its own and the catalog holds all of
them, so in leave-one-batch-out the batch left out always names brands the model never read:

    python3 scripts/rename_brands.py /tmp/renamed-lobo --per-batch
    earshot train-signals --cross-batches --across 0 --corpus /tmp/renamed-lobo

A brand's root word (its id, `cobalt` for Cobalt Savings, and the product `emberfall`) is replaced
wherever it starts a word, keeping its case (lower, Capitalised or UPPER). The same seed gives the
same names.
"""

import argparse
import pathlib
import random
import re
import sys
import tomllib

CORPUS = pathlib.Path(__file__).resolve().parent.parent / "data" / "earshot" / "corpus"

ONSETS = "br v z qu tr pl gr sn dr m k fl st j w th cr h b n sp pr cl g".split()
NUCLEI = "a e i o u ai ou ee ya oa io".split()
CODAS = "x rn nd lk sk m v rt nt z l ck ph sh lt r d g mb st".split()
ENDS = ["", "n", "r", "x", "l", "t", "s"]


def roots(catalog):
    """The words that name a brand or a product whose id does not hold its brand's."""
    out = []
    for b in catalog["brand"]:
        root = "cobalt" if b["id"].startswith("cobalt") else b["id"]
        out.append(root)
        for p in b.get("product", []):
            if root not in p["id"]:
                out.append(p["id"])
    return out


def names(rng, count, used):
    out = []
    while len(out) < count:
        n = rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS) + rng.choice(NUCLEI)
        n += rng.choice(ENDS)
        if len(n) >= 5 and n not in used:
            used.add(n)
            out.append(n)
    return out


def renamer(pattern, mapping):
    def sub(m):
        w = m.group(0)
        n = mapping[w.lower()]
        if w.isupper() and len(w) > 1:
            return n.upper()
        if w[0].isupper():
            return n[0].upper() + n[1:]
        return n

    return lambda text: pattern.sub(sub, text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=pathlib.Path, help="the folder to write (catalog.toml, batches/)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-batch", action="store_true",
                    help="every training batch its own names (for leave-one-batch-out)")
    ap.add_argument("--corpus", type=pathlib.Path, default=CORPUS)
    a = ap.parse_args()

    catalog_text = (a.corpus / "catalog.toml").read_text(encoding="utf-8")
    words = roots(tomllib.loads(catalog_text))
    pattern = re.compile(
        r"(?<![A-Za-z])(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + ")",
        re.I,
    )
    rng = random.Random(a.seed)
    used = set(words)
    (a.out / "batches").mkdir(parents=True, exist_ok=True)
    batches = sorted((a.corpus / "batches").glob("*.jsonl"))
    if a.per_batch:
        batches = [b for b in batches if b.name.startswith("b")]
        groups = [[b] for b in batches]
    else:
        groups = [batches]
    catalogs = []
    for group in groups:
        rename = renamer(pattern, dict(zip(words, names(rng, len(words), used))))
        for b in group:
            (a.out / "batches" / b.name).write_text(rename(b.read_text(encoding="utf-8")),
                                                    encoding="utf-8")
        catalogs.append(rename(catalog_text))
    (a.out / "catalog.toml").write_text("\n".join(catalogs), encoding="utf-8")
    print(f"{len(batches)} batches, {len(used) - len(words)} invented names -> {a.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
