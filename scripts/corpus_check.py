#!/usr/bin/env python3
"""Checks rows of the earshot corpus (data/earshot/corpus/) against GUIDE.md and prints the rates.

Usage: python3 scripts/corpus_check.py FILE.jsonl [FILE.jsonl ...]
Exit status 1 when a row breaks the format; the rates are printed for the writer to compare with
the guide's targets.
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "data", "earshot", "corpus", "catalog.toml")

CONTEXTS = {"work", "family", "health", "money", "time_pressure", "travel", "life_event"}
BRAND_DIRECTED = {"complaint", "praise", "purchase_intent", "churn_risk", "switching", "prospect",
                  "recommendation"}
OTHER_INTENTS = {"question", "support_request", "need"}
INTENTS = BRAND_DIRECTED | OTHER_INTENTS
PHASES = {"awareness", "consideration", "purchase", "onboarding", "usage", "support", "loyalty",
          "churn"}
SENTIMENTS = {"positive", "negative", "neutral"}
POST_PLATFORMS = {"twitter", "reddit", "forum", "review", "facebook", "instagram", "appstore"}
TICKET_CHANNELS = {"email", "chat", "web", "phone_transcript"}
FIELDS = {"id", "kind", "platform", "text", "subject", "messages", "to_brand", "product", "addressed",
          "reply_to", "language", "sentiment", "context", "moment", "effort", "intents", "phase", "sarcasm",
          "mentions"}
MOMENTS = {"hard", "happy"}


def catalog():
    brands, products = set(), {}
    current = None
    with open(CATALOG, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line == "[[brand]]":
                current = "brand"
            elif line == "[[brand.product]]":
                current = "product"
            m = re.match(r'^id = "([^"]+)"$', line)
            if m:
                if current == "brand":
                    brands.add(m.group(1))
                    last_brand = m.group(1)
                else:
                    products[m.group(1)] = last_brand
    return brands, products


def check(path, brands, products, seen, stats):
    errors = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"

            def bad(msg):
                nonlocal errors
                errors += 1
                print(f"{where}: {msg}")

            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                bad(f"not JSON: {e}")
                continue
            extra = set(r) - FIELDS
            if extra:
                bad(f"unknown fields {sorted(extra)}")
            rid = r.get("id")
            if not isinstance(rid, str) or not re.match(r"^[a-z0-9]+-\d{4}$", rid or ""):
                bad(f"id {rid!r} is not <batch>-<4 digits>")
            elif rid in seen:
                bad(f"duplicate id {rid}")
            seen.add(rid)
            kind = r.get("kind")
            if kind not in ("post", "ticket"):
                bad(f"kind {kind!r}")
            if not isinstance(r.get("text"), str) or not r["text"].strip():
                bad("text missing")
            plat = r.get("platform")
            if kind == "post" and plat not in POST_PLATFORMS:
                bad(f"post platform {plat!r} not in {sorted(POST_PLATFORMS)}")
            if kind == "ticket":
                if plat not in TICKET_CHANNELS:
                    bad(f"ticket platform {plat!r} not in {sorted(TICKET_CHANNELS)}")
                if r.get("to_brand") not in brands:
                    bad(f"ticket to_brand {r.get('to_brand')!r} is not a catalog brand")
                if r.get("product") is not None and r["product"] not in products:
                    bad(f"product {r['product']!r} is not a catalog product")
                if "reply_to" in r:
                    bad("a ticket has no reply_to")
                for m in r.get("messages") or []:
                    if set(m) != {"from", "text"} or m["from"] not in ("customer", "agent"):
                        bad(f"message {m!r}")
            else:
                for k in ("subject", "messages", "to_brand", "product"):
                    if k in r:
                        bad(f"a post has no {k}")
                if r.get("addressed") is not None and r["addressed"] not in brands:
                    bad(f"addressed {r['addressed']!r} is not a catalog brand")
                # The account whose post this one replies to, as the platform gives it beside
                # the text: a handle without its '@'.
                if "reply_to" in r and not re.match(r"^[A-Za-z0-9_]{1,30}$", str(r["reply_to"])):
                    bad(f"reply_to {r['reply_to']!r} is not a handle without '@'")
            if r.get("sentiment") not in SENTIMENTS:
                bad(f"sentiment {r.get('sentiment')!r}")
            ctx = r.get("context")
            if not isinstance(ctx, list) or set(ctx) - CONTEXTS:
                bad(f"context {ctx!r}")
                ctx = []
            # A life event's moment: on every one of the training batches; the frozen test splits
            # (ids t...) predate the field and carry none.
            moment = r.get("moment")
            if "life_event" in ctx and not str(r.get("id", "")).startswith("t"):
                if moment not in MOMENTS:
                    bad(f"moment {moment!r}: a life event is hard or happy")
            elif moment is not None:
                bad(f"moment {moment!r} without a life event (or on a frozen test split)")
            eff = r.get("effort", "missing")
            if eff is not None and (not isinstance(eff, int) or isinstance(eff, bool)
                                    or not -5 <= eff <= 5 or eff == 0):
                bad(f"effort {eff!r} (null or a non-zero integer -5..5)")
            intents = r.get("intents")
            if not isinstance(intents, list) or set(intents) - INTENTS:
                bad(f"intents {intents!r}")
                intents = []
            phase = r.get("phase", "missing")
            if phase is not None and phase not in PHASES:
                bad(f"phase {phase!r}")
            if r.get("sarcasm") not in (0, 1):
                bad(f"sarcasm {r.get('sarcasm')!r}")
            mentions = r.get("mentions")
            if not isinstance(mentions, list):
                bad("mentions must be a list")
                mentions = []
            mention_intents = set()
            for m in mentions:
                if not isinstance(m, dict) or set(m) - {"brand", "product", "sentiment", "intents", "phase"}:
                    bad(f"mention {m!r}")
                    continue
                if m.get("brand") not in brands:
                    bad(f"mention brand {m.get('brand')!r} is not a catalog brand id")
                if m.get("product") is not None:
                    if m["product"] not in products:
                        bad(f"mention product {m['product']!r} is not a catalog product id")
                    elif products[m["product"]] != m.get("brand"):
                        bad(f"product {m['product']} belongs to {products[m['product']]}")
                if m.get("sentiment") not in SENTIMENTS:
                    bad(f"mention sentiment {m.get('sentiment')!r}")
                mi = m.get("intents")
                if not isinstance(mi, list) or set(mi) - INTENTS:
                    bad(f"mention intents {mi!r}")
                else:
                    mention_intents |= set(mi)
                if m.get("phase") is not None and m["phase"] not in PHASES:
                    bad(f"mention phase {m.get('phase')!r}")
            target = mentions or r.get("to_brand") or r.get("addressed")
            directed = set(intents) & BRAND_DIRECTED
            if directed and not target:
                bad(f"brand-directed intents {sorted(directed)} with no brand target")
            if not target and phase is not None:
                bad("a phase with no brand target")
            if mention_intents - set(intents):
                bad(f"mention intents {sorted(mention_intents - set(intents))} missing from the message's intents")
            stats["rows"] += 1
            stats["ticket"] += kind == "ticket"
            stats["context"] += bool(ctx)
            stats["effort"] += eff is not None
            stats["sarcasm"] += r.get("sarcasm") == 1
            stats["no_target"] += not target
            stats["multi_brand"] += len({m.get("brand") for m in mentions if isinstance(m, dict)}) >= 2
            stats["sent_" + str(r.get("sentiment"))] += 1
    return errors


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    brands, products = catalog()
    seen, stats = set(), Counter()
    errors = sum(check(p, brands, products, seen, stats) for p in sys.argv[1:])
    n = stats["rows"] or 1
    print(f"{stats['rows']} rows, {errors} errors")
    for k in ("ticket", "context", "effort", "sarcasm", "no_target", "multi_brand",
              "sent_positive", "sent_negative", "sent_neutral"):
        print(f"  {k:14} {stats[k]:5}  {stats[k] / n:.0%}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
